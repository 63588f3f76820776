package engine

import (
	"context"
	"errors"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// provision turns a Granted request into access: it re-checks the account
// and the eligibility, writes the schedule (which puts it in the expiry
// index before any access exists), adds the grant holder, and makes the
// directory match. Each step is idempotent, so a retry, a concurrent
// approval or the sweep can run it again safely.
func (e *Engine) provision(ctx context.Context, c *Call, r *domain.Request) error {
	if r.Action == domain.ActionSelfExtend {
		return e.extend(ctx, c, r) // moves an existing schedule's end; creates nothing
	}
	fail := func(cause error) error {
		msg := cause.Error()
		var de *domain.Error
		if ok := errors.As(cause, &de); ok {
			msg = de.Message
		}
		rec := e.Stamp(c, domain.AuditRecord{Action: "request.fail", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID, Outcome: "failure", Reason: msg})
		if err := e.transition(ctx, c, r, domain.EvFail, msg, rec); err != nil {
			return err
		}
		e.notify().TicketNote(ctx, c, *r, "refused: "+msg)
		c.Log.WarnContext(ctx, "request failed", "reason", msg)
		return nil
	}
	fresh := c.checked[r.ID] // verified moments ago in this call
	if !fresh {
		if err := e.checkPrincipal(ctx, r); err != nil {
			if domain.IsCode(err, domain.CodeTransient) {
				return err
			}
			return fail(err)
		}
	}
	if !r.EndAt.IsZero() && !r.EndAt.After(c.Now) {
		// Approved or resumed after the requested window: granting now would give access no live schedule covers.
		return fail(domain.Errorf(domain.CodeConflict, "the requested window ended at %s, before it could be granted", r.EndAt.UTC().Format(time.RFC3339)))
	}
	sc := domain.Schedule{
		ID: r.ID, Kind: r.Kind, PrincipalID: r.PrincipalID, PrincipalKind: r.PrincipalKind, Target: r.Target, MemberType: domain.MemberDirect,
		Start: r.StartAt, End: r.EndAt, Status: domain.ScheduleProvisioned, CreatedUsing: r.ID,
		EligibilityScheduleID: r.EligibilityScheduleID, CreatedAt: c.Now, ModifiedAt: c.Now,
	}
	activation := r.Action == domain.ActionSelfActivate
	if r.Kind == domain.KindAssignment {
		sc.AssignmentType = domain.AssignmentAssigned
		if activation {
			sc.AssignmentType = domain.AssignmentActivated
		}
		if activation && !fresh {
			elig, err := e.eligibilityNow(ctx, c, r.PrincipalID, r.Target)
			if err != nil {
				if domain.IsCode(err, domain.CodeTransient) {
					return err
				}
				return fail(err)
			}
			if !elig.End.IsZero() && sc.End.After(elig.End) {
				return fail(domain.Errorf(domain.CodeForbidden, "the eligibility now ends at %s, before the activation would", elig.End.UTC().Format(time.RFC3339)))
			}
			sc.EligibilityScheduleID = elig.ID
		}
	}
	if r.Kind == domain.KindAssignment && !fresh {
		// Approved later: the directory may have gained an outside assignment meanwhile.
		if err := e.refuseOutsideAccess(ctx, c, r.PrincipalID, r.Target); err != nil {
			if domain.IsCode(err, domain.CodeTransient) {
				return err
			}
			return fail(err)
		}
	}
	if r.StartAt.After(c.Now) {
		return e.scheduleLater(ctx, c, r, sc)
	}
	awaiting := false
	if err := e.store.CreateSchedule(ctx, &sc); domain.IsCode(err, domain.CodeConflict) {
		// Stored before: by a crashed attempt, or as scheduled access whose start has come.
		cur, err := e.store.GetSchedule(ctx, sc.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ScheduleProvisioned {
			return fail(domain.Errorf(domain.CodeConflict, "the schedule of this request ended (%s) before its access was granted", cur.Status))
		}
		awaiting = cur.AwaitingStart
	} else if err != nil {
		return err
	}
	if r.Kind == domain.KindAssignment {
		h := domain.Holder{ScheduleID: sc.ID, AssignmentType: sc.AssignmentType, End: sc.End}
		if err := e.addHolder(ctx, c, r.PrincipalID, r.Target, h, activation); err != nil {
			if domain.IsCode(err, domain.CodeConflict) {
				e.endScheduleRecord(ctx, c, sc.ID, domain.ScheduleRevoked)
				if ferr := fail(err); ferr != nil || !fresh {
					return ferr
				}
				// A concurrent activation of the same eligibility won: the
				// caller lost a race and hears so (409), not "201 Failed".
				return err
			}
			return err
		}
		if err := e.reconcile(ctx, c, r.PrincipalID, r.Target); err != nil {
			// Access did not arrive, whatever the directory's reason: take the claim back so
			// nothing is granted later (by the sweep's retry) on a request marked Failed.
			_, _, _ = e.removeHolder(ctx, c, r.PrincipalID, r.Target, sc.ID, nil)
			_ = e.reconcileGrant(ctx, c, r.PrincipalID, r.Target, true)
			e.endScheduleRecord(ctx, c, sc.ID, domain.ScheduleRevoked)
			return fail(err)
		}
	}
	if awaiting {
		if err := e.markStarted(ctx, c, r, sc.ID); err != nil {
			return err
		}
	}
	err := e.transition(ctx, c, r, domain.EvProvisioned, "")
	if domain.IsCode(err, domain.CodeConflict) && r.Status == domain.StatusProvisioned {
		return nil // someone else finished it
	}
	if err == nil {
		e.notify().Provisioned(ctx, c, *r)
		e.notify().TicketNote(ctx, c, *r, "granted "+e.Names().Target(ctx, r.Target)+" until "+fmtEnd(r.EndAt))
	}
	return err
}
