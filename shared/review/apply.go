package review

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/notify"
)

// applyInstance carries out the final Deny decisions of an Applying
// instance: each one is an adminRemove request by jitpim, with an id
// derived from the item, so a repeated or concurrent apply removes once.
// Items already applied are skipped; failures stay for the next run. The
// instance becomes Applied when every removal has landed.
func (svc *Service) applyInstance(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, res *RunResult) error {
	if in.Status != domain.ReviewApplying {
		return nil
	}
	var todo []domain.ReviewDecision
	defaulted, removedBefore := 0, 0
	if err := allItems(ctx, svc.reviews, in.ID, func(it domain.ReviewDecision) {
		if it.Final(in.Settings) != domain.ReviewDeny {
			return
		}
		if it.Defaulted() {
			defaulted++
		}
		switch it.ApplyResult {
		case domain.ApplySuccess, domain.ApplyNotFound, domain.ApplyNotSupported:
			removedBefore++
		default:
			todo = append(todo, it)
		}
	}); err != nil {
		return err
	}
	if defaulted > 0 {
		total := removedBefore + len(todo)
		text := fmt.Sprintf("%d assignment(s) are removed: %d because nobody answered (default %s) and %d denied by reviewers.",
			total, defaulted, in.Settings.DefaultDecision, total-defaulted)
		svc.reviewAlarm(ctx, c, in, notify.ReviewApplying, "applying", text)
	}
	var removed, failed atomic.Int64
	forks := make([]*engine.Call, len(todo))
	err := parallel(len(todo), applyWorkers, func(i int) error {
		forks[i] = c.Fork()
		ok, err := svc.applyItem(ctx, forks[i], in, todo[i])
		if err != nil {
			return err
		}
		if ok {
			removed.Add(1)
		} else {
			failed.Add(1)
		}
		return nil
	})
	for _, f := range forks {
		if f != nil {
			c.Join(f)
		}
	}
	if res != nil {
		res.Removed += int(removed.Load())
		res.ApplyFailures += int(failed.Load())
	}
	if err != nil {
		return err
	}
	if failed.Load() > 0 {
		return domain.Errorf(domain.CodeTransient, "%d removal(s) failed; the next run retries them", failed.Load())
	}
	applied := false
	err = engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewInstance(ctx, in.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ReviewApplying {
			*in = cur
			return nil
		}
		cur.Status, cur.AppliedAt = domain.ReviewApplied, c.Now
		cur.Removed, cur.ApplyFailures = removedBefore+int(removed.Load()), 0
		if err := svc.reviews.UpdateReviewInstance(ctx, &cur); err != nil {
			return engine.Stale(err)
		}
		*in, applied = cur, true
		return nil
	})
	if err != nil || !applied {
		return err
	}
	if res != nil {
		res.Applied++
	}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "review.apply", Category: "Governance", Details: map[string]string{
		"instance_id": in.ID, "definition_id": in.DefinitionID, "name": in.DisplayName, "removed": strconv.Itoa(in.Removed),
		"defaulted_to_deny": strconv.Itoa(defaulted), "default_decision": in.Settings.DefaultDecision}}); err != nil {
		return err
	}
	c.Log.InfoContext(ctx, "access review applied", "instance_id", in.ID, "removed", in.Removed)
	return nil
}

// applyItem removes one denied assignment through the request path and
// records the outcome on the item. It reports false for a removal that
// failed (recorded, retried by the next run); err is a failure to read or
// record.
func (svc *Service) applyItem(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, it domain.ReviewDecision) (bool, error) {
	result, reqID, applyErr := domain.ApplySuccess, engine.RequestID(engine.SystemActor, "review:"+in.ID+":"+it.ID), ""
	why := "denied by " + svc.eng.Names().Person(ctx, it.ReviewedBy)
	if it.Defaulted() {
		why = "nobody answered; the default decision is " + in.Settings.DefaultDecision
		if in.Settings.DefaultDecision == domain.DefaultRecommendation {
			why += " (" + it.RecommendationReason + ")"
		}
	}
	reason := fmt.Sprintf("access review %q: %s", in.DisplayName, why)
	if svc.breakGlass.Protects(it.PrincipalID) || it.ViaGroupID != "" {
		// A group member's access is the group's: removing the group's
		// assignment would take it from everyone in the group, so a denied
		// member is left to the group's own membership review.
		result = domain.ApplyNotSupported
	} else {
		r := domain.Request{ID: reqID, Kind: it.Kind, Action: domain.ActionAdminRemove, PrincipalID: it.PrincipalID, Target: it.Target,
			Justification: domain.Clip(reason, domain.MaxJustification), Status: domain.StatusNew, CreatedBy: engine.SystemActor, CreatedAt: c.Now, TargetScheduleID: it.ScheduleID}
		err := svc.eng.Remove(ctx, c, &r)
		switch {
		case err == nil:
		case domain.IsCode(err, domain.CodeConflict) || domain.IsCode(err, domain.CodeNotFound):
			// A run before this one (or beside it) made the request; make sure its removal finished.
			prev, gerr := svc.store.GetRequest(ctx, reqID)
			if domain.IsCode(gerr, domain.CodeNotFound) {
				if domain.IsCode(err, domain.CodeNotFound) {
					result = domain.ApplyNotFound // the assignment had already ended
					break
				}
				return false, err
			} else if gerr != nil {
				return false, gerr
			}
			if prev.Status == domain.StatusPendingProvisioning {
				// The other run's removal waits for the directory: help it finish;
				// if the directory still has not confirmed, the sweep completes it.
				if err := svc.eng.ResumeRemoval(ctx, c, &prev); err != nil {
					result, applyErr = domain.ApplyFailed, err.Error()
				}
				break
			}
			if prev.Status != domain.StatusRevoked {
				result, applyErr = domain.ApplyFailed, "the removal request is "+string(prev.Status)
				break
			}
			if s, serr := svc.store.GetSchedule(ctx, it.ScheduleID); serr == nil && s.Status == domain.ScheduleProvisioned {
				if err := svc.eng.EndSchedule(ctx, c, s, domain.ScheduleRevoked, reason); err != nil {
					result, applyErr = domain.ApplyFailed, err.Error()
				}
			} else if serr != nil && !domain.IsCode(serr, domain.CodeNotFound) {
				return false, serr
			}
		default:
			result, applyErr = domain.ApplyFailed, err.Error()
		}
	}
	err := engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewDecision(ctx, in.ID, it.ID)
		if err != nil {
			return err
		}
		if cur.ApplyResult == domain.ApplySuccess || cur.ApplyResult == domain.ApplyNotFound {
			return nil // a concurrent apply recorded it
		}
		cur.ApplyResult, cur.AppliedAt, cur.ApplyRequestID, cur.ApplyError = result, c.Now, reqID, domain.Clip(applyErr, 1000)
		if result == domain.ApplyNotSupported || result == domain.ApplyNotFound {
			cur.ApplyRequestID = ""
		}
		return engine.Stale(svc.reviews.UpdateReviewDecision(ctx, &cur))
	})
	if err != nil {
		return false, err
	}
	if result == domain.ApplyFailed {
		c.Log.WarnContext(ctx, "access review removal failed; the next run retries", "item_id", it.ID, "error", applyErr)
		return false, nil
	}
	if result == domain.ApplySuccess {
		addr, name := svc.eng.AddressOf(ctx, it.PrincipalID)
		svc.eng.QueueMail(ctx, c, "review:"+in.ID+":removed:"+it.ID, []string{addr}, notify.Data{Kind: notify.ReviewAccessRemoved,
			PrincipalName: name, TargetName: svc.eng.Names().Target(ctx, it.Target), Actor: in.DisplayName, Reason: capitalize(why) + "."})
	}
	return true, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
