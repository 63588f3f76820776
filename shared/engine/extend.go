package engine

import (
	"context"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// selfExtend records a holder's request for more time (selfExtend: the
// assignment still runs, within its last 14 days) or for the assignment
// again (selfRenew: it has ended). An administrator decides it through
// the request's approval; nothing changes until then.
func (e *Engine) selfExtend(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	if err := e.activeUser(ctx, r.PrincipalID); err != nil {
		return err
	}
	if strings.TrimSpace(r.Justification) == "" {
		return domain.Invalid("justification", "say why the assignment should be extended")
	}
	check := e.checkExtend
	if r.Action == domain.ActionSelfRenew {
		check = e.checkRenew
	}
	if err := check(ctx, c, r); err != nil {
		return err
	}
	r.Approval = domain.NewAdminDecision(c.Now)
	if stored, err := e.accept(ctx, c, r, domain.EvNeedAdminDecision, validationOnly); !stored {
		return err
	}
	e.notify().Approvers(ctx, c, *r) // the admins who decide
	e.notify().Pending(ctx, c, *r)
	return nil
}

// checkExtend finds the live schedule a selfExtend asks to lengthen and
// resolves the requested end from its start, as adminExtend does.
func (e *Engine) checkExtend(ctx context.Context, c *Call, r *domain.Request) error {
	s, err := e.targetSchedule(ctx, c, r, "ask for selfRenew")
	if err != nil {
		return err
	}
	if err := domain.CheckSelfExtend(s, c.Now); err != nil {
		return err
	}
	rules, err := e.holderRules(ctx, r)
	if err != nil {
		return err
	}
	_, end := r.Schedule.Window(s.Start)
	if r.Schedule.ExpirationType == "" {
		end = domain.DefaultExtensionEnd(s, rules)
	}
	if !end.IsZero() && !end.After(s.End) {
		return domain.Invalid("scheduleInfo.expiration", "an extension must end after the current end %s", s.End.UTC().Format(time.RFC3339))
	}
	if err := domain.CheckAdminAssignment(domain.AdminCheck{Rules: rules, Kind: r.Kind, Now: c.Now, MinDuration: e.cfg.MinActivation, Start: s.Start, End: end,
		Justification: r.Justification, Ticket: r.Ticket}); err != nil {
		return err
	}
	r.TargetScheduleID, r.StartAt, r.EndAt = s.ID, s.Start, end
	return nil
}

// checkRenew refuses a selfRenew while the assignment still runs: only an
// ended one is renewed, from now.
func (e *Engine) checkRenew(ctx context.Context, c *Call, r *domain.Request) error {
	if s, ok, err := e.liveSchedule(ctx, c, r.Kind, r.PrincipalID, r.Target, false); err != nil {
		return err
	} else if ok {
		return domain.Invalid("action", "%s still holds this %s (until %s): ask for selfExtend in its last %d days",
			e.Names().Person(ctx, r.PrincipalID), kindWord(r.Kind), fmtEnd(s.End), int(domain.ExtendWindow/(24*time.Hour)))
	}
	rules, err := e.holderRules(ctx, r)
	if err != nil {
		return err
	}
	start, end := r.Schedule.Window(c.Now)
	if r.Schedule.ExpirationType == "" {
		end = domain.DefaultRenewalEnd(start, rules)
	}
	if err := domain.CheckAdminAssignment(domain.AdminCheck{Rules: rules, Kind: r.Kind, Now: c.Now, MinDuration: e.cfg.MinActivation, Start: start, End: end,
		Justification: r.Justification, Ticket: r.Ticket}); err != nil {
		return err
	}
	r.StartAt, r.EndAt = start, end
	return nil
}

// holderRules are the policy's admin-assignment rules of r's kind, for
// what a holder asks for, so an administrator is never shown a request the
// policy would refuse them; justification and MFA are the deciding
// admin's, checked at the decision.
func (e *Engine) holderRules(ctx context.Context, r *domain.Request) (domain.AdminRules, error) {
	p, err := e.policyFor(ctx, r.Target)
	rules := e.adminRules(p, r.Kind)
	rules.RequireJustification, rules.RequireMFA = false, false
	return rules, err
}

// targetSchedule is the schedule an extension or update names
// (targetScheduleId), or else the principal's live one of the kind, not
// an activation; hint says what to ask for when there is none.
func (e *Engine) targetSchedule(ctx context.Context, c *Call, r *domain.Request, hint string) (domain.Schedule, error) {
	if r.TargetScheduleID != "" {
		s, err := e.store.GetSchedule(ctx, r.TargetScheduleID)
		if domain.IsCode(err, domain.CodeNotFound) || (err == nil && (s.PrincipalID != r.PrincipalID || s.Target != r.Target || s.Kind != r.Kind)) {
			return s, domain.Errorf(domain.CodeNotFound, "targetScheduleId %s is not a schedule of this principal and target", r.TargetScheduleID)
		}
		return s, err
	}
	s, ok, err := e.liveSchedule(ctx, c, r.Kind, r.PrincipalID, r.Target, false)
	if err == nil && !ok {
		return s, domain.Errorf(domain.CodeNotFound, "%s has no live %s for %s: %s", e.Names().Person(ctx, r.PrincipalID), kindWord(r.Kind), e.Names().Target(ctx, r.Target), hint)
	}
	return s, err
}

// extend carries out an approved selfExtend: the schedule's end moves
// first (which moves it in the due index), then the grant holder's, for an
// active assignment. Against a concurrent expiry sweep, whichever writes
// first wins: the sweep leaves a schedule it finds extended, and when the
// sweep took the holder first, extend ends the schedule too and the
// request fails with a conflict, so what jitpim lists is what the
// directory holds.
func (e *Engine) extend(ctx context.Context, c *Call, r *domain.Request) error {
	const ended = "the assignment ended before the extension was carried out"
	fail := func() error {
		rec := e.Stamp(c, domain.AuditRecord{Action: "request.fail", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID, Outcome: "failure", Reason: ended})
		if err := e.transition(ctx, c, r, domain.EvFail, ended, rec); err != nil {
			return err
		}
		return domain.Errorf(domain.CodeConflict, "%s", ended)
	}
	var previous time.Time
	if err := Retry(func() error {
		cur, err := e.store.GetSchedule(ctx, r.TargetScheduleID)
		if err != nil {
			return err
		}
		if cur.Status == domain.ScheduleProvisioned && cur.End.Equal(r.EndAt) {
			return nil // a retry of this extension already wrote it
		}
		if !cur.Live(c.Now) {
			return domain.Errorf(domain.CodeConflict, ended)
		}
		previous = cur.End
		cur.End, cur.ModifiedAt = r.EndAt, c.Now
		rec := e.Stamp(c, domain.AuditRecord{Action: "schedule.update", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Details: map[string]string{"schedule_id": cur.ID, "end": fmtEnd(r.EndAt), "previous_end": fmtEnd(previous), "action": string(r.Action)}})
		return Stale(e.store.UpdateSchedule(ctx, &cur, rec))
	}); domain.IsCode(err, domain.CodeConflict) {
		return fail()
	} else if err != nil {
		return err
	}
	if r.Kind == domain.KindAssignment {
		held, err := e.moveHolderEnd(ctx, c, r.PrincipalID, r.Target, r.TargetScheduleID, r.EndAt)
		if err != nil {
			return err
		}
		if !held {
			// The sweep removed the holder (and the directory's assignment)
			// before the new end landed: end the schedule it left live.
			e.endScheduleRecord(ctx, c, r.TargetScheduleID, domain.ScheduleExpired)
			return fail()
		}
	}
	err := e.transition(ctx, c, r, domain.EvProvisioned, "")
	if domain.IsCode(err, domain.CodeConflict) && r.Status == domain.StatusProvisioned {
		return nil // a concurrent resume finished it
	}
	return err
}

// moveHolderEnd sets the end of the grant holder for scheduleID; held is
// false when the holder is gone (the assignment ended).
func (e *Engine) moveHolderEnd(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target, scheduleID string, end time.Time) (held bool, err error) {
	err = Retry(func() error {
		held = false
		g, found, err := e.grant(ctx, c, principal, t)
		if err != nil || !found {
			return err
		}
		for i := range g.Holders {
			if g.Holders[i].ScheduleID == scheduleID {
				held = true
				g.Holders[i].End, g.ModifiedAt = end, c.Now
				return Stale(e.putGrant(ctx, c, &g))
			}
		}
		return nil
	})
	return held, err
}

// extendedSince tells expiry which holder of schedule id to keep: one
// whose end lies past now was moved by an extension, whose schedule write
// came first, so it stays when the schedule reads live again. A holder
// later than a schedule still due is out of step and goes.
func (e *Engine) extendedSince(ctx context.Context, c *Call, id string) func(domain.Holder) (bool, error) {
	return func(h domain.Holder) (bool, error) {
		if !h.End.IsZero() && !h.End.After(c.Now) {
			return false, nil
		}
		s, err := e.store.GetSchedule(ctx, id)
		return err == nil && s.Live(c.Now), err
	}
}

// adminDecisionGrant is what an administrator's approval of a selfExtend
// or selfRenew leads to. A renewal runs for its requested length from the
// approval, as an approved activation does, and fails when the holder has
// the assignment again meanwhile (an admin gave it).
func (e *Engine) adminDecisionGrant(ctx context.Context, c *Call, r *domain.Request) (domain.Event, string, error) {
	if r.Action != domain.ActionSelfRenew {
		return domain.EvGrant, "", nil
	}
	if s, ok, err := e.liveSchedule(ctx, c, r.Kind, r.PrincipalID, r.Target, false); err != nil {
		return "", "", err
	} else if ok {
		return domain.EvFail, "the assignment was given again (schedule " + s.ID + ") before the renewal was decided", nil
	}
	if r.Schedule.Start.IsZero() {
		if !r.EndAt.IsZero() {
			r.EndAt = c.Now.Add(r.EndAt.Sub(r.StartAt))
		}
		r.StartAt = c.Now
	}
	return domain.EvGrant, "", nil
}
