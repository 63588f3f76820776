package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// addHolder records that schedule h needs principal's access to target. With
// exclusive set it refuses when another activation is still running, so
// that concurrent activations of one eligibility give one grant. The
// grant's version makes this check-and-add atomic.
func (e *Engine) addHolder(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target, h domain.Holder, exclusive bool) error {
	return Retry(func() error {
		g, found, err := e.grant(ctx, c, principal, t)
		if err != nil {
			return err
		}
		if !found {
			g = domain.Grant{PrincipalID: principal, Target: t}
		}
		if g.HasHolder(h.ScheduleID) {
			return nil
		}
		if exclusive {
			if other, ok := g.LiveActivation(c.Now); ok {
				return domain.Errorf(domain.CodeConflict, "%s is already active until %s; deactivate it first or wait for it to end",
					t, other.End.UTC().Format(time.RFC3339))
			}
		}
		g.Holders = append(g.Holders, h)
		g.ModifiedAt = c.Now
		return Stale(e.putGrant(ctx, c, &g))
	})
}

// removeHolder drops a schedule from the grant; the directory follows in
// reconcile. removed reports whether this call dropped it: of concurrent
// callers only one does. A holder that keep (if given) says to keep stays
// (kept).
func (e *Engine) removeHolder(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target, scheduleID string,
	keep func(domain.Holder) (bool, error)) (removed, kept bool, err error) {
	err = Retry(func() error {
		removed, kept = false, false
		g, found, err := e.grant(ctx, c, principal, t)
		if err != nil || !found {
			return err
		}
		for _, h := range g.Holders {
			if h.ScheduleID == scheduleID && keep != nil {
				if kept, err = keep(h); err != nil || kept {
					return err
				}
			}
		}
		if !g.RemoveHolder(scheduleID) {
			return nil
		}
		g.ModifiedAt = c.Now
		if err := e.putGrant(ctx, c, &g); err != nil {
			return Stale(err)
		}
		removed = true
		return nil
	})
	return removed, kept, err
}

// reconcile makes the directory match the grant's holders: it grants when
// someone holds the grant, and revokes when nobody does. The directory call
// comes first and the "applied" mark second, conditionally; a lost race
// means another caller changed the holders meanwhile, so the directory call
// is made again for what they now want: whoever writes last has made the
// directory match what was stored when they read it. A failed call is
// recorded with a backoff for the sweep to retry, never marked done.
func (e *Engine) reconcile(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target) error {
	return e.reconcileGrant(ctx, c, principal, t, false)
}

// reconcileGrant is reconcile; with force it calls the directory even when
// the grant says it already matches. Cleanups after a failed provisioning
// use it: the failed attempt may have changed the directory without
// recording it (the call landed, the write after it did not).
func (e *Engine) reconcileGrant(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target, force bool) error {
	raced := force
	for i := 0; i < 10; i++ {
		g, found, err := e.grant(ctx, c, principal, t)
		if err != nil || !found {
			return err
		}
		want := g.Wanted()
		if g.Applied == want && !raced {
			return nil
		}
		if !want && e.isBreakGlass(g.PrincipalID) {
			// Defence in depth: the engine never grants break-glass accounts, so this is a bug or tampering.
			c.Log.ErrorContext(ctx, "refusing to revoke a break-glass account", "principal_id", g.PrincipalID, "target", t.Key())
			return domain.Errorf(domain.CodeForbidden, "jitpim never revokes a break-glass account")
		}
		dirErr := e.applyDirectory(ctx, c, &g, want)
		if dirErr != nil {
			if force && g.Applied == want {
				// The directory's state is unknown: leave the grant unsettled, so the sweep retries.
				g.Applied = !want
			}
			g.FailedAttempts++
			g.LastError = domain.Clip(dirErr.Error(), 1000) // bounded: it is stored with the grant
			g.NextAttempt = c.Now.Add(domain.RetryBackoff(g.FailedAttempts))
			g.ModifiedAt = c.Now
			verb := "grant"
			if !want {
				verb = "revoke"
			}
			rec := e.Stamp(c, domain.AuditRecord{Action: "grant." + verb, Target: t, PrincipalID: principal, Outcome: "failure",
				Reason: dirErr.Error(), Details: map[string]string{"attempt": fmt.Sprint(g.FailedAttempts)}})
			if err := e.putGrant(ctx, c, &g, rec); domain.IsCode(err, domain.CodeConflict) {
				// Another caller changed the grant meanwhile and records its own outcome.
			} else if err != nil {
				c.Log.ErrorContext(ctx, "recording a failed directory change failed", "target", t.Key(), "error", err)
			}
			return domain.Wrap(domain.ErrorCode(dirErr), dirErr, "the directory refused to %s %s for %s", verb, e.Names().Target(ctx, t), e.Names().Person(ctx, principal))
		}
		wasApplied := g.Applied
		g.Applied = want
		g.FailedAttempts, g.LastError, g.NextAttempt = 0, "", time.Time{}
		if !want {
			g.DirectoryID = ""
		}
		g.ModifiedAt = c.Now
		// The record goes with the write that marks the directory change
		// done: if that write loses, the loop calls the directory again and
		// records then.
		var recs []domain.AuditRecord
		if wasApplied != want {
			action := "grant.add"
			if !want {
				action = "grant.remove"
			}
			recs = append(recs, e.Stamp(c, domain.AuditRecord{Action: action, Target: t, PrincipalID: principal}))
		}
		if err := e.putGrant(ctx, c, &g, recs...); domain.IsCode(err, domain.CodeConflict) {
			raced = true
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
	return domain.Errorf(domain.CodeConflict, "too many concurrent changes to %s for %s; the sweep will finish it", e.Names().Target(ctx, t), e.Names().Person(ctx, principal))
}

// applyDirectory performs the directory (or Azure Resource Manager) call;
// both directions are idempotent.
func (e *Engine) applyDirectory(ctx context.Context, c *Call, g *domain.Grant, want bool) error {
	t := g.Target
	switch {
	case t.Kind == domain.TargetAzureRole:
		return e.applyAzure(ctx, c, g, want)
	case t.Kind == domain.TargetRole && want:
		id, created, err := e.dir.AddRoleAssignment(ctx, g.PrincipalID, t.RoleDefinitionID, t.DirectoryScopeID)
		if err != nil {
			return err
		}
		if !created && !g.Applied {
			// It existed before: made outside jitpim, or by an attempt of ours cut short.
			// Either way jitpim now manages it and removes it when the last holder ends.
			c.Log.WarnContext(ctx, "role assignment already existed; jitpim now manages it", "target", t.Key(), "principal_id", g.PrincipalID)
		}
		g.DirectoryID = id
		return nil
	case t.Kind == domain.TargetRole:
		id := g.DirectoryID
		if id == "" {
			ras, err := e.dir.ListRoleAssignments(ctx, g.PrincipalID)
			if err != nil {
				return err
			}
			for _, ra := range ras {
				if ra.RoleDefinitionID == t.RoleDefinitionID && ra.DirectoryScopeID == t.DirectoryScopeID {
					id = ra.ID
				}
			}
			if id == "" {
				return nil
			}
		}
		return e.dir.RemoveRoleAssignment(ctx, id)
	case want:
		_, err := e.dir.AddGroupMember(ctx, t.GroupID, t.AccessID, g.PrincipalID)
		return err
	default:
		return e.dir.RemoveGroupMember(ctx, t.GroupID, t.AccessID, g.PrincipalID)
	}
}

// refuseOutsideAccess refuses to grant what the directory already gives the
// principal outside jitpim: a role assignment or group membership made in
// Entra directly. Taking it over would mean removing it when jitpim's own
// window ends, and jitpim never removes access it did not grant (Entra PIM
// refuses such an activation too). A grant jitpim already holds is shared by
// its holders, so that is no refusal.
func (e *Engine) refuseOutsideAccess(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target) error {
	g, found, err := e.grant(ctx, c, principal, t)
	switch {
	case err != nil:
		return err
	case found && (g.Applied || g.Wanted()):
		return nil // jitpim's own grant (or one it is making right now)
	}
	switch t.Kind {
	case domain.TargetRole:
		ras, err := e.dir.ListRoleAssignments(ctx, principal)
		if err != nil {
			return err
		}
		for _, ra := range ras {
			if domain.RoleTarget(ra.RoleDefinitionID, ra.DirectoryScopeID) == t { // RoleTarget reads an empty scope as the tenant
				return domain.Errorf(domain.CodeConflict, "%s already holds %s through a role assignment made outside jitpim (assignment %s); "+
					"jitpim never takes over or removes access it did not grant: remove that assignment in Entra first, or keep using it",
					e.Names().Person(ctx, principal), e.Names().Target(ctx, t), ra.ID)
			}
		}
	case domain.TargetAzureRole:
		return e.refuseOutsideAzure(ctx, principal, t)
	case domain.TargetGroup:
		has, err := e.dir.HasGroupAccess(ctx, t.GroupID, t.AccessID, principal)
		if err != nil {
			return err
		}
		if has {
			return domain.Errorf(domain.CodeConflict, "%s is already %s through a membership made outside jitpim; "+
				"jitpim never takes over or removes access it did not grant: remove it in Entra first, or keep using it",
				e.Names().Person(ctx, principal), e.Names().Target(ctx, t))
		}
	}
	return nil
}

// RevokeOutside takes away an assignment made outside jitpim through the
// normal revoke path: the grant record is made to say the directory holds
// it and nobody needs it, and reconcile removes it (the sweep retries when
// the directory refuses). The alert service calls it only when removal of
// outside assignments is switched on; why is recorded in the audit trail.
func (e *Engine) RevokeOutside(ctx context.Context, c *Call, ra domain.RoleAssignment, t domain.Target, why string, details map[string]string) error {
	if e.isBreakGlass(ra.PrincipalID) {
		return domain.Errorf(domain.CodeForbidden, "jitpim never revokes a break-glass account")
	}
	err := Retry(func() error {
		g, found, err := e.grant(ctx, c, ra.PrincipalID, t)
		if err != nil {
			return err
		}
		if !found {
			g = domain.Grant{PrincipalID: ra.PrincipalID, Target: t}
		}
		if g.Wanted() {
			return domain.Errorf(domain.CodeConflict, "jitpim granted %s to %s meanwhile; left in place", e.Names().Target(ctx, t), e.Names().Person(ctx, ra.PrincipalID))
		}
		g.Applied, g.DirectoryID, g.External, g.ModifiedAt = true, ra.ID, false, c.Now
		rec := e.Stamp(c, domain.AuditRecord{Action: "alert.remediate", Target: t, PrincipalID: ra.PrincipalID, Reason: why, Details: details})
		return Stale(e.putGrant(ctx, c, &g, rec))
	})
	if err != nil {
		return err
	}
	return e.reconcile(ctx, c, ra.PrincipalID, t)
}

// Remove carries out an adminRemove request made by jitpim itself (an
// access review's denied item) through the normal removal path.
func (e *Engine) Remove(ctx context.Context, c *Call, r *domain.Request) error {
	return e.remove(ctx, c, r, false)
}
