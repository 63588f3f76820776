package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
)

// Submission is a schedule request as a caller sends it.
type Submission struct {
	Kind             domain.RequestKind
	Action           domain.Action
	PrincipalID      domain.ObjectID
	Target           domain.Target
	Justification    string
	Schedule         domain.ScheduleInfo
	Ticket           domain.TicketInfo
	TargetScheduleID string
	ValidationOnly   bool
	// IdempotencyKey makes a repeated submission return the first result.
	IdempotencyKey string
}

// idempotencyNamespace scopes request ids derived from idempotency keys.
var idempotencyNamespace = uuid.MustParse("8f4f5a1e-2b0c-4c6e-9a57-6a1d3e0b9c11")

// RequestID derives the request id for an idempotency key: the same caller
// and key always give the same id, so the store's create-if-absent makes a
// retried submission find the first one.
func RequestID(callerID domain.ObjectID, key string) string {
	return uuid.NewSHA1(idempotencyNamespace, []byte(string(callerID)+"\x00"+key)).String()
}

// Submit validates and carries out a schedule request.
func (e *Engine) Submit(ctx context.Context, c *Call, in Submission) (domain.Request, error) {
	if err := validateSubmission(in); err != nil {
		return domain.Request{}, err
	}
	if err := domain.CheckStart(in.Schedule.Start, c.Now); err != nil {
		return domain.Request{}, err
	}
	id := uuid.NewString()
	if in.IdempotencyKey != "" {
		if len(in.IdempotencyKey) > 200 {
			return domain.Request{}, domain.Invalid("Idempotency-Key", "at most 200 characters")
		}
		id = RequestID(c.Caller.ID, in.IdempotencyKey)
		prev, err := e.store.GetRequest(ctx, id)
		if err == nil {
			if prev.Action != in.Action || prev.PrincipalID != in.PrincipalID || prev.Target != in.Target || prev.Kind != in.Kind {
				return domain.Request{}, domain.Errorf(domain.CodeConflict, "this Idempotency-Key was already used for a different request")
			}
			return prev, nil
		} else if !domain.IsCode(err, domain.CodeNotFound) {
			return domain.Request{}, err
		}
	}
	if e.isBreakGlass(in.PrincipalID) {
		return domain.Request{}, domain.Errorf(domain.CodeForbidden, "%s is a break-glass account: jitpim never manages its access", in.PrincipalID)
	}
	if in.Action.IsAdmin() {
		check := e.requireAdminWrite
		if in.ValidationOnly {
			check = e.requireAdmin // changes nothing
		}
		if err := check(ctx, c, string(in.Action)); err != nil {
			return domain.Request{}, err
		}
	} else if in.PrincipalID != c.Caller.ID {
		return domain.Request{}, domain.Errorf(domain.CodeForbidden, "%s acts on your own access only: principalId must be your object id", in.Action)
	}
	r := domain.Request{
		ID: id, Kind: in.Kind, Action: in.Action, PrincipalID: in.PrincipalID, Target: in.Target,
		Justification: in.Justification, Schedule: in.Schedule, Ticket: in.Ticket, Status: domain.StatusNew,
		CreatedBy: c.Caller.ID, CreatedAt: c.Now, TargetScheduleID: in.TargetScheduleID,
	}
	c.Log = c.Log.With("request_id", r.ID)
	var err error
	switch in.Action {
	case domain.ActionSelfActivate:
		err = e.selfActivate(ctx, c, &r, in.ValidationOnly)
	case domain.ActionSelfDeactivate:
		err = e.remove(ctx, c, &r, in.ValidationOnly)
	case domain.ActionSelfExtend, domain.ActionSelfRenew:
		err = e.selfExtend(ctx, c, &r, in.ValidationOnly)
	case domain.ActionAdminAssign, domain.ActionAdminRenew:
		err = e.adminAssign(ctx, c, &r, in.ValidationOnly)
	case domain.ActionAdminUpdate, domain.ActionAdminExtend:
		err = e.adminUpdate(ctx, c, &r, in.ValidationOnly)
	case domain.ActionAdminRemove:
		err = e.remove(ctx, c, &r, in.ValidationOnly)
	}
	if err != nil {
		if in.IdempotencyKey != "" {
			// A concurrent submission with this key may have won the race after our first look
			// (its activation then refuses ours as "already active"): answer with its request.
			if prev, gerr := e.store.GetRequest(ctx, id); gerr == nil && prev.Action == in.Action &&
				prev.PrincipalID == in.PrincipalID && prev.Target == in.Target && prev.Kind == in.Kind {
				return prev, nil
			}
		}
		return domain.Request{}, err
	}
	return r, nil
}

func validateSubmission(in Submission) error {
	if in.Kind != domain.KindAssignment && in.Kind != domain.KindEligibility {
		return domain.Invalid("kind", "unknown request kind %q", in.Kind)
	}
	if _, ok := domain.ParseAction(string(in.Action)); !ok {
		return domain.Invalid("action", "unknown action %q", in.Action)
	}
	if in.Kind == domain.KindEligibility && in.Action == domain.ActionSelfActivate {
		return domain.Invalid("action", "selfActivate is an assignment request: post it to roleAssignmentScheduleRequests (or group assignmentScheduleRequests)")
	}
	if !in.PrincipalID.Valid() {
		return domain.Invalid("principalId", "must be a user object id (a GUID), got %q", in.PrincipalID)
	}
	if err := in.Target.Validate(); err != nil {
		return err
	}
	s := in.Schedule
	switch s.ExpirationType {
	case "", domain.ExpireNever:
	case domain.ExpireAfterDateTime:
		if s.End.IsZero() {
			return domain.Invalid("scheduleInfo.expiration.endDateTime", "is required with type afterDateTime")
		}
	case domain.ExpireAfterDuration:
		if s.Duration <= 0 {
			return domain.Invalid("scheduleInfo.expiration.duration", "is required with type afterDuration and must be positive")
		}
	default:
		return domain.Invalid("scheduleInfo.expiration.type", "must be noExpiration, afterDateTime or afterDuration")
	}
	return nil
}

// policyFor returns the effective policy of a target.
func (e *Engine) policyFor(ctx context.Context, t domain.Target) (domain.Policy, error) {
	return e.EffectivePolicy(ctx, t)
}

// activeUser refuses a disabled or unknown account.
func (e *Engine) activeUser(ctx context.Context, id domain.ObjectID) error {
	u, err := e.dir.GetUser(ctx, id)
	if domain.IsCode(err, domain.CodeNotFound) {
		return domain.Errorf(domain.CodeNotFound, "principal %s does not exist in the directory", id)
	} else if err != nil {
		return err
	}
	if !u.Enabled {
		return domain.Errorf(domain.CodeForbidden, "the account %s is disabled", id)
	}
	return nil
}

// liveSchedule finds a principal's live schedule of a kind on a target at
// now; with activated set, only activations, else only others.
func (e *Engine) liveSchedule(ctx context.Context, c *Call, kind domain.RequestKind, principal domain.ObjectID, t domain.Target, activated bool) (domain.Schedule, bool, error) {
	q := domain.ScheduleQuery{Kind: kind, PrincipalID: principal, TargetKey: t.Key(), Limit: 100}
	for {
		p, err := e.store.ListSchedules(ctx, q)
		if err != nil {
			return domain.Schedule{}, false, err
		}
		for _, s := range p.Items {
			if s.Live(c.Now) && (kind == domain.KindEligibility || (s.AssignmentType == domain.AssignmentActivated) == activated) {
				return s, true, nil
			}
		}
		if p.Next == "" {
			return domain.Schedule{}, false, nil
		}
		q.Cursor = p.Next
	}
}

// eligibilityNow finds an eligibility in force now.
func (e *Engine) eligibilityNow(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target) (domain.Schedule, error) {
	s, ok, err := e.liveSchedule(ctx, c, domain.KindEligibility, principal, t, false)
	if err != nil {
		return s, err
	}
	if !ok || !s.ActiveAt(c.Now) {
		return s, domain.Errorf(domain.CodeForbidden, "%s is not eligible for %s", principal, t)
	}
	return s, nil
}

func (e *Engine) selfActivate(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	p, err := e.prepareActivation(ctx, c, r, c.Caller.Auth, false)
	if err != nil {
		return err
	}
	return e.openActivation(ctx, c, r, p, validationOnly, false)
}

// prepareActivation runs every activation check: account, eligibility,
// policy rules, ticket, and no activation already running. With
// deferStepUp the sign-in rule is left for the requester's confirmation (a
// ticket-originated request has no sign-in yet).
func (e *Engine) prepareActivation(ctx context.Context, c *Call, r *domain.Request, auth domain.AuthEvidence, deferStepUp bool) (domain.Policy, error) {
	if err := e.activeUser(ctx, r.PrincipalID); err != nil {
		return domain.Policy{}, err
	}
	elig, err := e.eligibilityNow(ctx, c, r.PrincipalID, r.Target)
	if err != nil {
		return domain.Policy{}, err
	}
	// Before the rules: "you already hold this outside jitpim" is the answer
	// that matters, whatever else the request lacks.
	if err := e.refuseOutsideAccess(ctx, r.PrincipalID, r.Target); err != nil {
		return domain.Policy{}, err
	}
	p, err := e.policyFor(ctx, r.Target)
	if err != nil {
		return domain.Policy{}, err
	}
	checked := p
	if deferStepUp {
		checked.Activation.RequireMFA, checked.Activation.AuthContext = false, ""
	}
	start, end := r.Schedule.Window(c.Now)
	if err := domain.CheckActivation(domain.ActivationCheck{
		Policy: checked, Now: c.Now, Start: start, End: end, Justification: r.Justification, Ticket: r.Ticket,
		Auth: auth, MFAFreshness: e.cfg.MFAFreshness, EligibleUntil: elig.End, MinDuration: e.cfg.MinActivation,
	}); err != nil {
		return domain.Policy{}, err
	}
	if err := e.validateTicket(ctx, r, p, start, end, deferStepUp); err != nil {
		return domain.Policy{}, err
	}
	if g, err := e.store.GetGrant(ctx, domain.GrantKey(r.PrincipalID, r.Target)); err == nil {
		if h, ok := g.LiveActivation(c.Now); ok {
			return domain.Policy{}, domain.Errorf(domain.CodeConflict, "%s is already active until %s; deactivate it first or wait for it to end",
				r.Target, h.End.UTC().Format(time.RFC3339))
		}
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return domain.Policy{}, err
	}
	r.StartAt, r.EndAt, r.EligibilityScheduleID = start, end, elig.ID
	c.markChecked(r.ID)
	return p, nil
}

// openActivation stores a checked activation and moves it on: to the
// requester's confirmation, to approval, or straight to the grant.
func (e *Engine) openActivation(ctx context.Context, c *Call, r *domain.Request, p domain.Policy, validationOnly, confirm bool) error {
	switch {
	case confirm:
		r.Approval = confirmationApproval(p, r.PrincipalID, c.Now)
		if err := r.Apply(domain.EvNeedApproval, c.Now, ""); err != nil {
			return err
		}
	case p.Activation.ApprovalRequired:
		r.Approval = domain.NewApproval(p, c.Now)
		if err := r.Apply(domain.EvNeedApproval, c.Now, ""); err != nil {
			return err
		}
	default:
		if err := r.Apply(domain.EvGrant, c.Now, ""); err != nil {
			return err
		}
	}
	if validationOnly {
		return nil
	}
	if err := e.create(ctx, c, r); err != nil {
		return err
	}
	if r.Status == domain.StatusGranted {
		return e.provision(ctx, c, r)
	}
	e.notifyApprovers(ctx, c, *r)
	e.ticketNote(ctx, c, *r, e.pendingNote(ctx, *r))
	return nil
}

// create stores a new request and audits it.
func (e *Engine) create(ctx context.Context, c *Call, r *domain.Request) error {
	if err := e.store.CreateRequest(ctx, r); err != nil {
		if domain.IsCode(err, domain.CodeConflict) {
			// Same idempotency key submitted concurrently: the first submission carries the
			// request out (a second one provisioning it too would call the directory again);
			// Submit answers this one with the stored request.
			return domain.Wrap(domain.CodeConflict, err, "request %s was submitted concurrently", r.ID)
		}
		return err
	}
	details := map[string]string{"action": string(r.Action), "status": string(r.Status)}
	if r.Ticket.Number != "" {
		details["ticket"] = r.Ticket.System + ":" + r.Ticket.Number
	}
	if !r.EndAt.IsZero() {
		details["end"] = r.EndAt.UTC().Format(time.RFC3339)
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "request.create", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
		Reason: r.Justification, Details: details})
	c.Log.InfoContext(ctx, "request created", "action", r.Action, "status", r.Status, "target", r.Target.Key())
	return nil
}

// transition applies ev to the stored request with a conditional write,
// re-reading on a lost race. It returns the request as stored.
func (e *Engine) transition(ctx context.Context, c *Call, r *domain.Request, ev domain.Event, reason string) error {
	first := true
	return retry(func() error {
		if !first {
			cur, err := e.store.GetRequest(ctx, r.ID)
			if err != nil {
				return err
			}
			*r = cur
		}
		first = false
		if err := r.Apply(ev, c.Now, reason); err != nil {
			return err
		}
		return stale(e.store.UpdateRequest(ctx, r))
	})
}

// provision turns a Granted request into access: it re-checks the account
// and the eligibility, writes the schedule (which puts it in the expiry
// index before any access exists), adds the grant holder, and makes the
// directory match. Each step is idempotent, so a retry, a concurrent
// approval or the sweep can run it again safely.
func (e *Engine) provision(ctx context.Context, c *Call, r *domain.Request) error {
	fail := func(cause error) error {
		msg := cause.Error()
		var de *domain.Error
		if ok := errors.As(cause, &de); ok {
			msg = de.Message
		}
		if err := e.transition(ctx, c, r, domain.EvFail, msg); err != nil {
			return err
		}
		e.audit(ctx, c, domain.AuditRecord{Action: "request.fail", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID, Outcome: "failure", Reason: msg})
		e.ticketNote(ctx, c, *r, "refused: "+msg)
		c.Log.WarnContext(ctx, "request failed", "reason", msg)
		return nil
	}
	fresh := c.checked[r.ID] // verified moments ago in this call
	if !fresh {
		if err := e.activeUser(ctx, r.PrincipalID); err != nil {
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
		ID: r.ID, Kind: r.Kind, PrincipalID: r.PrincipalID, Target: r.Target, MemberType: domain.MemberDirect,
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
		if err := e.refuseOutsideAccess(ctx, r.PrincipalID, r.Target); err != nil {
			if domain.IsCode(err, domain.CodeTransient) {
				return err
			}
			return fail(err)
		}
	}
	if err := e.store.CreateSchedule(ctx, &sc); err != nil && !domain.IsCode(err, domain.CodeConflict) {
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
			_, _ = e.removeHolder(ctx, c, r.PrincipalID, r.Target, sc.ID)
			_ = e.reconcileGrant(ctx, c, r.PrincipalID, r.Target, true)
			e.endScheduleRecord(ctx, c, sc.ID, domain.ScheduleRevoked)
			return fail(err)
		}
	}
	err := e.transition(ctx, c, r, domain.EvProvisioned, "")
	if domain.IsCode(err, domain.CodeConflict) && r.Status == domain.StatusProvisioned {
		return nil // someone else finished it
	}
	if err == nil {
		e.notifyProvisioned(ctx, c, *r)
		e.ticketNote(ctx, c, *r, "granted "+domain.TargetName(r.Target)+" until "+fmtEnd(r.EndAt))
	}
	return err
}

// endScheduleRecord marks a schedule ended without touching grants; used to
// retire a schedule whose holder was never added.
func (e *Engine) endScheduleRecord(ctx context.Context, c *Call, id, status string) {
	err := retry(func() error {
		s, err := e.store.GetSchedule(ctx, id)
		if err != nil || s.Status != domain.ScheduleProvisioned {
			return err
		}
		s.Status, s.EndedAt, s.ModifiedAt = status, c.Now, c.Now
		if s.End.IsZero() || s.End.After(c.Now) {
			s.End = c.Now
		}
		return stale(e.store.UpdateSchedule(ctx, &s))
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
	var revokeErr error
	if s.Kind == domain.KindAssignment {
		removed, err := e.removeHolder(ctx, c, s.PrincipalID, s.Target, s.ID)
		if err != nil {
			return false, err
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
	ended := false
	err = retry(func() error {
		cur, err := e.store.GetSchedule(ctx, s.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ScheduleProvisioned {
			return nil
		}
		cur.Status, cur.EndedAt, cur.ModifiedAt = status, c.Now, c.Now
		if cur.End.IsZero() || cur.End.After(c.Now) {
			cur.End = c.Now
		}
		if err := e.store.UpdateSchedule(ctx, &cur); err != nil {
			return stale(err)
		}
		ended = true
		return nil
	})
	if err != nil {
		return false, err
	}
	action := "schedule.revoke"
	if status == domain.ScheduleExpired {
		action = "schedule.expire"
		if ended { // only the caller that ended it announces it
			e.notifyExpired(ctx, c, s)
		}
	}
	if ended { // else a concurrent caller ended it, and audits it
		e.audit(ctx, c, domain.AuditRecord{Action: action, Target: s.Target, PrincipalID: s.PrincipalID, RequestID: s.CreatedUsing, Reason: reason,
			Details: map[string]string{"schedule_id": s.ID, "kind": string(s.Kind)}})
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
	return retry(func() error {
		cur, err := e.store.GetSchedule(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != domain.ScheduleProvisioned || (!cur.End.IsZero() && !cur.End.After(c.Now)) {
			return nil
		}
		cur.End, cur.ModifiedAt = c.Now, c.Now
		return stale(e.store.UpdateSchedule(ctx, &cur))
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
			return domain.Errorf(domain.CodeNotFound, "%s has no %s for %s to remove", r.PrincipalID, what, r.Target)
		}
	}
	if err != nil {
		return err
	}
	if r.Action == domain.ActionSelfDeactivate && r.Kind == domain.KindAssignment && s.AssignmentType != domain.AssignmentActivated {
		return domain.Errorf(domain.CodeForbidden, "an assignment given by an administrator can only be removed by one")
	}
	r.TargetScheduleID = s.ID
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
		e.audit(ctx, c, domain.AuditRecord{Action: "request.removalPending", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Outcome: "pending", Reason: "the directory has not confirmed the removal yet; jitpim retries until it does",
			Details: map[string]string{"schedule_id": s.ID}})
		return nil
	}
	if err := e.transition(ctx, c, r, domain.EvRemoved, ""); err != nil && !(domain.IsCode(err, domain.CodeConflict) && r.Status == domain.StatusRevoked) {
		return err
	}
	return nil
}

// resumeRemoval is the sweep's step for a removal request still pending:
// it retries ending its schedule.
func (e *Engine) resumeRemoval(ctx context.Context, c *Call, r *domain.Request) error {
	s, err := e.store.GetSchedule(ctx, r.TargetScheduleID)
	if err != nil {
		return err
	}
	return e.finishRemoval(ctx, c, r, s, domain.ScheduleRevoked)
}

// selfExtend records a request for an administrator to extend or renew.
func (e *Engine) selfExtend(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	if err := e.activeUser(ctx, r.PrincipalID); err != nil {
		return err
	}
	if strings.TrimSpace(r.Justification) == "" {
		return domain.Invalid("justification", "say why the assignment should be extended")
	}
	if err := r.Apply(domain.EvNeedAdminDecision, c.Now, ""); err != nil {
		return err
	}
	if validationOnly {
		return nil
	}
	return e.create(ctx, c, r)
}

func (e *Engine) adminRules(p domain.Policy, kind domain.RequestKind) domain.AdminRules {
	if kind == domain.KindEligibility {
		return p.Eligible
	}
	return p.Active
}

// adminAssign handles adminAssign and adminRenew: a new eligibility or
// active assignment.
func (e *Engine) adminAssign(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	if err := e.activeUser(ctx, r.PrincipalID); err != nil {
		return err
	}
	c.markChecked(r.ID)
	p, err := e.policyFor(ctx, r.Target)
	if err != nil {
		return err
	}
	start, end := r.Schedule.Window(c.Now)
	if r.Kind == domain.KindAssignment && start.After(c.Now.Add(5*time.Minute)) {
		return domain.Invalid("scheduleInfo.startDateTime", "active assignments start now; a start in the future is not supported")
	}
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
		return domain.Errorf(domain.CodeConflict, "%s already has this %s %s (schedule %s): use adminUpdate or adminExtend", r.PrincipalID, kindWord(r.Kind), until, s.ID)
	}
	if r.Kind == domain.KindAssignment {
		if err := e.refuseOutsideAccess(ctx, r.PrincipalID, r.Target); err != nil {
			return err
		}
	}
	r.StartAt, r.EndAt = start, end
	if err := r.Apply(domain.EvGrant, c.Now, ""); err != nil {
		return err
	}
	if validationOnly {
		return nil
	}
	if err := e.create(ctx, c, r); err != nil {
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
	var s domain.Schedule
	var err error
	if r.TargetScheduleID != "" {
		s, err = e.store.GetSchedule(ctx, r.TargetScheduleID)
		if domain.IsCode(err, domain.CodeNotFound) || (err == nil && (s.PrincipalID != r.PrincipalID || s.Target != r.Target || s.Kind != r.Kind)) {
			return domain.Errorf(domain.CodeNotFound, "targetScheduleId %s is not a schedule of this principal and target", r.TargetScheduleID)
		}
	} else {
		var ok bool
		s, ok, err = e.liveSchedule(ctx, c, r.Kind, r.PrincipalID, r.Target, false)
		if err == nil && !ok {
			return domain.Errorf(domain.CodeNotFound, "%s has no live %s for %s: use adminAssign or adminRenew", r.PrincipalID, kindWord(r.Kind), r.Target)
		}
	}
	if err != nil {
		return err
	}
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
	if err := r.Apply(domain.EvGrant, c.Now, ""); err != nil {
		return err
	}
	if validationOnly {
		return nil
	}
	if err := e.create(ctx, c, r); err != nil {
		return err
	}
	if err := retry(func() error {
		cur, err := e.store.GetSchedule(ctx, s.ID)
		if err != nil {
			return err
		}
		if !cur.Live(c.Now) {
			return domain.Errorf(domain.CodeConflict, "schedule %s ended meanwhile", s.ID)
		}
		cur.End, cur.ModifiedAt = end, c.Now
		return stale(e.store.UpdateSchedule(ctx, &cur))
	}); err != nil {
		_ = e.transition(ctx, c, r, domain.EvFail, err.Error())
		return err
	}
	if r.Kind == domain.KindAssignment {
		if err := e.setHolderEnd(ctx, c, r.PrincipalID, r.Target, s.ID, end); err != nil && !domain.IsCode(err, domain.CodeNotFound) {
			return err
		}
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "schedule.update", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
		Details: map[string]string{"schedule_id": s.ID, "end": fmtEnd(end)}})
	return e.transition(ctx, c, r, domain.EvProvisioned, "")
}

func fmtEnd(t time.Time) string {
	if t.IsZero() {
		return "permanent"
	}
	return t.UTC().Format(time.RFC3339)
}

// GetRequest returns a request the caller may see: their own, or any for an admin.
func (e *Engine) GetRequest(ctx context.Context, c *Call, kind domain.RequestKind, id string) (domain.Request, error) {
	r, err := e.store.GetRequest(ctx, id)
	if err != nil || r.Kind != kind {
		return domain.Request{}, domain.Errorf(domain.CodeNotFound, "request %s does not exist", id)
	}
	if r.PrincipalID != c.Caller.ID && r.CreatedBy != c.Caller.ID {
		if ok, err := e.IsAdmin(ctx, c); err != nil {
			return domain.Request{}, err
		} else if !ok && !e.isApproverOfAny(ctx, c, r) {
			return domain.Request{}, domain.Errorf(domain.CodeNotFound, "request %s does not exist", id)
		}
	}
	return r, nil
}

// ListRequests lists requests; callers who are not admins see only their own.
func (e *Engine) ListRequests(ctx context.Context, c *Call, q domain.RequestQuery) (domain.Page[domain.Request], error) {
	if q.PrincipalID != c.Caller.ID {
		if err := e.requireAdmin(ctx, c, "listing other people's requests"); err != nil {
			return domain.Page[domain.Request]{}, err
		}
	}
	return e.store.ListRequests(ctx, q)
}

// Cancel withdraws a pending request; only its requester or an admin may.
func (e *Engine) Cancel(ctx context.Context, c *Call, kind domain.RequestKind, id string) (domain.Request, error) {
	r, err := e.GetRequest(ctx, c, kind, id)
	if err != nil {
		return r, err
	}
	if r.CreatedBy != c.Caller.ID && r.PrincipalID != c.Caller.ID {
		if err := e.requireAdminWrite(ctx, c, "cancelling someone else's request"); err != nil {
			return r, err
		}
	}
	if err := e.transition(ctx, c, &r, domain.EvCancel, "canceled by "+string(c.Caller.ID)); err != nil {
		return r, err
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "request.cancel", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID})
	return r, nil
}
