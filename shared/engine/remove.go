package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// endScheduleRecord marks a schedule ended without touching grants; used to
// retire a schedule whose holder was never added.
func (e *Engine) endScheduleRecord(ctx context.Context, c *Call, id, status string) {
	err := Retry(func() error {
		s, err := e.store.GetSchedule(ctx, id)
		if err != nil || s.Status != domain.ScheduleProvisioned {
			return err
		}
		s.Status, s.EndedAt, s.ModifiedAt = status, c.Now, c.Now
		if s.End.IsZero() || s.End.After(c.Now) {
			s.End = c.Now
		}
		return Stale(e.store.UpdateSchedule(ctx, &s))
	})
	if err != nil {
		c.Log.ErrorContext(ctx, "could not retire schedule", "schedule_id", id, "error", err)
	}
}

// EndSchedule ends a live schedule: the grant holder goes first and the
// directory follows, then the schedule leaves the expiry index. That order
// means a crash half-way leaves the schedule due, so the next sweep finishes
// the revoke instead of losing it. Ending an eligibility ends the
// activations drawn on it. When the directory has not confirmed the revoke,
// the schedule stays (due now) and a later sweep ends it once the directory
// has: what jitpim lists is what the directory holds.
func (e *Engine) EndSchedule(ctx context.Context, c *Call, s domain.Schedule, status, reason string) error {
	pending, err := e.endSchedule(ctx, c, s, status, reason)
	if pending && err == nil {
		c.Log.WarnContext(ctx, "the directory has not confirmed the revoke; the sweep retries", "schedule_id", s.ID, "target", s.Target.Key())
	}
	return err
}

// endSchedule is EndSchedule; pending reports that the directory still
// holds access for the schedule (a failed or concurrent revoke), so the
// schedule was left live, due now, for the sweep.
func (e *Engine) endSchedule(ctx context.Context, c *Call, s domain.Schedule, status, reason string) (pending bool, err error) {
	if s.Status != domain.ScheduleProvisioned {
		return false, nil
	}
	if e.isBreakGlass(s.PrincipalID) {
		return false, domain.Errorf(domain.CodeForbidden, "jitpim never revokes a break-glass account")
	}
	if s.AwaitingStart && s.CreatedUsing != "" {
		if err := e.claimUnstarted(ctx, c, s, reason); err != nil {
			return false, err
		}
	}
	if status == domain.ScheduleExpired && s.Kind == domain.KindEligibility {
		if cur, err := e.store.GetSchedule(ctx, s.ID); err != nil || cur.Live(c.Now) {
			return false, err // extended since the sweep found it due
		}
	}
	var revokeErr error
	if s.Kind == domain.KindAssignment {
		var keep func(domain.Holder) (bool, error)
		if status == domain.ScheduleExpired {
			keep = e.extendedSince(ctx, c, s.ID)
		}
		removed, extended, err := e.removeHolder(ctx, c, s.PrincipalID, s.Target, s.ID, keep)
		if err != nil || extended {
			return false, err // extended since the sweep read it: not due any more
		}
		// When a concurrent caller dropped the holder, it makes the directory call: a second
		// one would revoke twice (and if it crashed, the grant is unsettled: the sweep retries).
		if removed {
			revokeErr = e.reconcile(ctx, c, s.PrincipalID, s.Target)
		}
		// When this call's own revoke succeeded the directory has confirmed;
		// otherwise the grant tells whether it still holds the access.
		held := false
		if !removed || revokeErr != nil {
			if held, err = e.revokePending(ctx, s.PrincipalID, s.Target); err != nil {
				return false, err
			}
		}
		if held {
			// The directory still holds the access nobody needs: keep the schedule
			// visible, ending now, until the revoke is confirmed.
			if revokeErr != nil {
				c.Log.ErrorContext(ctx, "revoke failed; the sweep will retry", "target", s.Target.Key(), "error", revokeErr)
			}
			return true, e.dueNow(ctx, c, s.ID)
		}
	} else {
		q := domain.ScheduleQuery{Kind: domain.KindAssignment, PrincipalID: s.PrincipalID, TargetKey: s.Target.Key(), Limit: 100}
		p, err := e.store.ListSchedules(ctx, q)
		if err != nil {
			return false, err
		}
		for _, a := range p.Items {
			if a.EligibilityScheduleID == s.ID && a.Status == domain.ScheduleProvisioned {
				if err := e.EndSchedule(ctx, c, a, domain.ScheduleRevoked, "its eligibility ended"); err != nil {
					return false, err
				}
			}
		}
	}
	action := "schedule.revoke"
	if status == domain.ScheduleExpired {
		action = "schedule.expire"
	}
	ended := false // else a concurrent caller ended it, and audited it
	// The first try writes over the schedule as the caller read it (the
	// write is conditional on its version); a lost race reads it again.
	known := s.Version != ""
	err = Retry(func() error {
		cur := s
		if !known {
			var err error
			if cur, err = e.store.GetSchedule(ctx, s.ID); err != nil {
				return err
			}
		}
		known = false
		if cur.Status != domain.ScheduleProvisioned || (status == domain.ScheduleExpired && cur.Live(c.Now)) {
			return nil // ended by someone else, or extended since it was found due
		}
		cur.Status, cur.EndedAt, cur.ModifiedAt = status, c.Now, c.Now
		if cur.End.IsZero() || cur.End.After(c.Now) {
			cur.End = c.Now
		}
		rec := e.Stamp(c, domain.AuditRecord{Action: action, Target: s.Target, PrincipalID: s.PrincipalID, RequestID: s.CreatedUsing, Reason: reason,
			Details: map[string]string{"schedule_id": s.ID, "kind": string(s.Kind)}})
		if err := e.store.UpdateSchedule(ctx, &cur, rec); err != nil {
			return Stale(err)
		}
		ended = true
		return nil
	})
	if err != nil {
		return false, err
	}
	if status == domain.ScheduleExpired && ended { // only the caller that ended it announces it
		e.notify().Expired(ctx, c, s)
	}
	if ended && status == domain.ScheduleRevoked && s.CreatedUsing != "" {
		r, err := e.store.GetRequest(ctx, s.CreatedUsing)
		if err == nil && r.Status == domain.StatusProvisioned {
			if err := e.transition(ctx, c, &r, domain.EvRevoke, reason); err != nil && !domain.IsCode(err, domain.CodeConflict) {
				c.Log.WarnContext(ctx, "could not mark the creating request revoked", "error", err)
			}
		}
	}
	return false, nil
}

// revokePending reports whether the directory still holds access that no
// live schedule needs: the grant is applied and has no holder left.
func (e *Engine) revokePending(ctx context.Context, principal domain.ObjectID, t domain.Target) (bool, error) {
	g, err := e.store.GetGrant(ctx, domain.GrantKey(principal, t))
	if domain.IsCode(err, domain.CodeNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return g.Applied && !g.Wanted(), nil
}

// dueNow moves a live schedule's end to now (when later), so the expiry
// sweep picks it up at its next run.
func (e *Engine) dueNow(ctx context.Context, c *Call, id string) error {
	return Retry(func() error {
		cur, err := e.store.GetSchedule(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != domain.ScheduleProvisioned || (!cur.End.IsZero() && !cur.End.After(c.Now)) {
			return nil
		}
		cur.End, cur.ModifiedAt = c.Now, c.Now
		return Stale(e.store.UpdateSchedule(ctx, &cur))
	})
}

// remove handles selfDeactivate and adminRemove.
func (e *Engine) remove(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	const status = domain.ScheduleRevoked
	var s domain.Schedule
	var err error
	if r.TargetScheduleID != "" {
		s, err = e.store.GetSchedule(ctx, r.TargetScheduleID)
		if domain.IsCode(err, domain.CodeNotFound) || (err == nil && (s.PrincipalID != r.PrincipalID || s.Target != r.Target || s.Kind != r.Kind || !s.Live(c.Now))) {
			return domain.Errorf(domain.CodeNotFound, "targetScheduleId %s is not a live schedule of this principal and target", r.TargetScheduleID)
		}
	} else {
		var ok bool
		s, ok, err = e.liveSchedule(ctx, c, r.Kind, r.PrincipalID, r.Target, r.Action == domain.ActionSelfDeactivate)
		if err == nil && !ok {
			what := "an active assignment"
			if r.Kind == domain.KindEligibility {
				what = "an eligibility"
			} else if r.Action == domain.ActionSelfDeactivate {
				what = "an active activation"
			}
			return domain.Errorf(domain.CodeNotFound, "%s has no %s for %s to remove", e.Names().Person(ctx, r.PrincipalID), what, e.Names().Target(ctx, r.Target))
		}
	}
	if err != nil {
		return err
	}
	if r.Action == domain.ActionSelfDeactivate && r.Kind == domain.KindAssignment && s.AssignmentType != domain.AssignmentActivated {
		return domain.Errorf(domain.CodeForbidden, "an assignment given by an administrator can only be removed by one")
	}
	r.TargetScheduleID, r.PrincipalKind = s.ID, s.PrincipalKind
	if validationOnly {
		return r.Apply(domain.EvRemoved, c.Now, "")
	}
	// The request is stored as pending first and says Revoked only once the
	// directory no longer holds the access: a crash or a failing revoke
	// leaves it PendingProvisioning for the sweep to finish, never a claim.
	if err := r.Apply(domain.EvRemovalStart, c.Now, ""); err != nil {
		return err
	}
	if err := e.create(ctx, c, r); err != nil {
		return err
	}
	return e.finishRemoval(ctx, c, r, s, status)
}

// finishRemoval ends the schedule a removal request names and, once the
// directory has confirmed, marks the request Revoked. While the revoke is
// pending the request stays PendingProvisioning (audited as such); the sweep
// calls this again.
func (e *Engine) finishRemoval(ctx context.Context, c *Call, r *domain.Request, s domain.Schedule, status string) error {
	reason := string(r.Action)
	if r.Justification != "" {
		reason += ": " + r.Justification
	}
	pending, err := e.endSchedule(ctx, c, s, status, reason)
	if err != nil {
		return err
	}
	if pending {
		return e.Audit(ctx, c, domain.AuditRecord{Action: "request.removalPending", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Outcome: "pending", Reason: "the directory has not confirmed the removal yet; jitpim retries until it does",
			Details: map[string]string{"schedule_id": s.ID}})
	}
	if err := e.transition(ctx, c, r, domain.EvRemoved, ""); err != nil && !(domain.IsCode(err, domain.CodeConflict) && r.Status == domain.StatusRevoked) {
		return err
	}
	return nil
}

// ResumeRemoval is the sweep's step for a removal request still pending:
// it retries ending its schedule.
func (e *Engine) ResumeRemoval(ctx context.Context, c *Call, r *domain.Request) error {
	s, err := e.store.GetSchedule(ctx, r.TargetScheduleID)
	if err != nil {
		return err
	}
	return e.finishRemoval(ctx, c, r, s, domain.ScheduleRevoked)
}
