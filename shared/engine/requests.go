package engine

import (
	"context"
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
	// RequestName is the request id the caller chose, as Azure Resource
	// Manager's API has clients name their requests (a GUID). A repeated
	// submission under the name returns the first result; a name another
	// caller or another request holds is a conflict.
	RequestName string
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
	if in.Target.Kind == domain.TargetAzureRole && e.azure == nil {
		return domain.Request{}, domain.Invalid("scope", "Azure resource roles are not set up in this jitpim (no Azure Resource Manager access configured)")
	}
	id := uuid.NewString()
	if in.RequestName != "" {
		if in.IdempotencyKey != "" {
			return domain.Request{}, domain.Invalid("Idempotency-Key", "a named request is its own idempotency key: send one or the other")
		}
		if !domain.IsGUID(in.RequestName) {
			return domain.Request{}, domain.Invalid("name", "a request name must be a GUID, got %q", in.RequestName)
		}
		id = strings.ToLower(in.RequestName)
		prev, err := e.store.GetRequest(ctx, id)
		if err == nil {
			if prev.CreatedBy != c.Caller.ID || prev.Action != in.Action || prev.PrincipalID != in.PrincipalID || prev.Target != in.Target || prev.Kind != in.Kind {
				return domain.Request{}, domain.Errorf(domain.CodeConflict, "a different request is already named %s", id)
			}
			return prev, nil
		} else if !domain.IsCode(err, domain.CodeNotFound) {
			return domain.Request{}, err
		}
	}
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
		return domain.Request{}, domain.Errorf(domain.CodeForbidden, "%s is a break-glass account: jitpim never manages its access", e.Names().Person(ctx, in.PrincipalID))
	}
	if in.Action.IsAdmin() {
		check := e.RequireAdminWrite
		if in.ValidationOnly {
			check = e.RequireAdmin // changes nothing
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
		return domain.Invalid("principalId", "must be the object id (a GUID) of a user or a role-assignable group, got %q", in.PrincipalID)
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

// activeUser refuses a disabled or unknown account. It always asks the
// directory (an account disabled a minute ago must not activate) and hands
// the entry to the name cache, which names and mails the user next.
func (e *Engine) activeUser(ctx context.Context, id domain.ObjectID) error {
	u, err := e.dir.GetUser(ctx, id)
	if domain.IsCode(err, domain.CodeNotFound) {
		return domain.Errorf(domain.CodeNotFound, "principal %s does not exist in the directory", id)
	} else if err != nil {
		return err
	}
	e.Names().Remember(id, u)
	if !u.Enabled {
		return domain.Errorf(domain.CodeForbidden, "the account of %s is disabled", domain.PersonName(u))
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
		return s, domain.Errorf(domain.CodeForbidden, "%s is not eligible for %s", e.Names().Person(ctx, principal), e.Names().Target(ctx, t))
	}
	return s, nil
}

// accept applies a new request's first event and, unless the caller only
// validates, stores it (audited). stored says whether the caller goes on
// to carry the request out.
func (e *Engine) accept(ctx context.Context, c *Call, r *domain.Request, ev domain.Event, validationOnly bool) (stored bool, err error) {
	if err := r.Apply(ev, c.Now, ""); err != nil || validationOnly {
		return false, err
	}
	if err := e.create(ctx, c, r); err != nil {
		return false, err
	}
	return true, nil
}

// create stores a new request and audits it.
func (e *Engine) create(ctx context.Context, c *Call, r *domain.Request) error {
	details := map[string]string{"action": string(r.Action), "status": string(r.Status)}
	if r.Ticket.Number != "" {
		details["ticket"] = r.Ticket.System + ":" + r.Ticket.Number
	}
	if !r.EndAt.IsZero() {
		details["end"] = r.EndAt.UTC().Format(time.RFC3339)
	}
	rec := e.Stamp(c, domain.AuditRecord{Action: "request.create", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
		Reason: r.Justification, Details: details})
	if err := e.store.CreateRequest(ctx, r, rec); err != nil {
		if domain.IsCode(err, domain.CodeConflict) {
			// Same idempotency key submitted concurrently: the first submission carries the
			// request out (a second one provisioning it too would call the directory again);
			// Submit answers this one with the stored request.
			return domain.Wrap(domain.CodeConflict, err, "request %s was submitted concurrently", r.ID)
		}
		return err
	}
	c.Log.InfoContext(ctx, "request created", "action", r.Action, "status", r.Status, "target", r.Target.Key())
	return nil
}

// transition applies ev to the stored request with a conditional write,
// re-reading on a lost race. It returns the request as stored. audit, if
// given, is written with the change.
func (e *Engine) transition(ctx context.Context, c *Call, r *domain.Request, ev domain.Event, reason string, audit ...domain.AuditRecord) error {
	first := true
	return Retry(func() error {
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
		return Stale(e.store.UpdateRequest(ctx, r, audit...))
	})
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
		if err := e.RequireAdmin(ctx, c, "listing other people's requests"); err != nil {
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
		if err := e.RequireAdminWrite(ctx, c, "cancelling someone else's request"); err != nil {
			return r, err
		}
	}
	rec := e.Stamp(c, domain.AuditRecord{Action: "request.cancel", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID})
	reason, was := "canceled by "+e.Names().Person(ctx, c.Caller.ID), r.Status
	if err := e.transition(ctx, c, &r, domain.EvCancel, reason, rec); err != nil {
		return r, err
	}
	if was == domain.StatusScheduleCreated {
		// Scheduled access canceled before its start: its schedule goes too (the
		// sweep would retire it anyway, finding the request canceled).
		if s, err := e.store.GetSchedule(ctx, r.ID); err == nil && s.AwaitingStart {
			if err := e.EndSchedule(ctx, c, s, domain.ScheduleRevoked, reason); err != nil {
				c.Log.WarnContext(ctx, "could not retire the canceled request's schedule; the sweep will", "error", err)
			}
		}
	}
	return r, nil
}
