package engine

import (
	"context"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func (e *Engine) adminRules(p domain.Policy, kind domain.RequestKind) domain.AdminRules {
	if kind == domain.KindEligibility {
		return p.Eligible
	}
	return p.Active
}

// adminAssign handles adminAssign and adminRenew: a new eligibility or
// active assignment.
func (e *Engine) adminAssign(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	if err := e.checkPrincipal(ctx, r); err != nil {
		return err
	}
	c.markChecked(r.ID)
	p, err := e.policyFor(ctx, r.Target)
	if err != nil {
		return err
	}
	start, end := r.Schedule.Window(c.Now)
	if err := domain.CheckAdminAssignment(domain.AdminCheck{Rules: e.adminRules(p, r.Kind), Kind: r.Kind, Now: c.Now, MinDuration: e.cfg.MinActivation, Start: start, End: end,
		Justification: r.Justification, Ticket: r.Ticket, MFA: c.Caller.Auth.MFA}); err != nil {
		return err
	}
	if s, ok, err := e.liveSchedule(ctx, c, r.Kind, r.PrincipalID, r.Target, false); err != nil {
		return err
	} else if ok {
		until := "permanently"
		if !s.End.IsZero() {
			until = "until " + s.End.UTC().Format(time.RFC3339)
		}
		return domain.Errorf(domain.CodeConflict, "%s already has this %s %s (schedule %s): use adminUpdate or adminExtend", e.principalName(ctx, r), kindWord(r.Kind), until, s.ID)
	}
	if r.Kind == domain.KindAssignment {
		if err := e.refuseOutsideAccess(ctx, c, r.PrincipalID, r.Target); err != nil {
			return err
		}
	}
	r.StartAt, r.EndAt = start, end
	if stored, err := e.accept(ctx, c, r, domain.EvGrant, validationOnly); !stored {
		return err
	}
	return e.provision(ctx, c, r)
}

func kindWord(k domain.RequestKind) string {
	if k == domain.KindEligibility {
		return "eligibility"
	}
	return "active assignment"
}

// adminUpdate handles adminUpdate and adminExtend: a new end for a live schedule.
func (e *Engine) adminUpdate(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	s, err := e.targetSchedule(ctx, c, r, "use adminAssign or adminRenew")
	if err != nil {
		return err
	}
	r.PrincipalKind = s.PrincipalKind
	if !s.Live(c.Now) {
		return domain.Errorf(domain.CodeConflict, "schedule %s has ended: use adminRenew", s.ID)
	}
	if s.AssignmentType == domain.AssignmentActivated {
		return domain.Errorf(domain.CodeForbidden, "an activation cannot be changed by an administrator; it ends by itself or by selfDeactivate or adminRemove")
	}
	p, err := e.policyFor(ctx, r.Target)
	if err != nil {
		return err
	}
	_, end := r.Schedule.Window(s.Start)
	if r.Action == domain.ActionAdminExtend && !s.End.IsZero() && !end.IsZero() && !end.After(s.End) {
		return domain.Invalid("scheduleInfo.expiration", "an extension must end after the current end %s", s.End.UTC().Format(time.RFC3339))
	}
	if err := domain.CheckAdminAssignment(domain.AdminCheck{Rules: e.adminRules(p, r.Kind), Kind: r.Kind, Now: c.Now, MinDuration: e.cfg.MinActivation, Start: s.Start, End: end,
		Justification: r.Justification, Ticket: r.Ticket, MFA: c.Caller.Auth.MFA}); err != nil {
		return err
	}
	r.TargetScheduleID, r.StartAt, r.EndAt = s.ID, s.Start, end
	if stored, err := e.accept(ctx, c, r, domain.EvGrant, validationOnly); !stored {
		return err
	}
	if err := Retry(func() error {
		cur, err := e.store.GetSchedule(ctx, s.ID)
		if err != nil {
			return err
		}
		if !cur.Live(c.Now) {
			return domain.Errorf(domain.CodeConflict, "schedule %s ended meanwhile", s.ID)
		}
		cur.End, cur.ModifiedAt = end, c.Now
		rec := e.Stamp(c, domain.AuditRecord{Action: "schedule.update", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Details: map[string]string{"schedule_id": s.ID, "end": fmtEnd(end)}})
		return Stale(e.store.UpdateSchedule(ctx, &cur, rec))
	}); err != nil {
		_ = e.transition(ctx, c, r, domain.EvFail, err.Error())
		return err
	}
	if r.Kind == domain.KindAssignment {
		if _, err := e.moveHolderEnd(ctx, c, r.PrincipalID, r.Target, s.ID, end); err != nil {
			return err
		}
	}
	return e.transition(ctx, c, r, domain.EvProvisioned, "")
}

func fmtEnd(t time.Time) string {
	if t.IsZero() {
		return "permanent"
	}
	return t.UTC().Format(time.RFC3339)
}
