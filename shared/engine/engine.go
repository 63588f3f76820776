// Package engine holds jitpim's use cases: submitting, approving, cancelling
// and sweeping schedule requests, and reading and changing policies. The
// HTTP API and the timer functions call it; it talks to the outside only
// through the domain's Store and Directory ports.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
)

// Config holds the engine's settings.
type Config struct {
	// AdminGroupID is the group whose members are jitpim administrators, in
	// addition to active Global and Privileged Role Administrators.
	AdminGroupID domain.ObjectID
	// BreakGlass lists emergency account object ids: jitpim never grants,
	// revokes or reviews them.
	BreakGlass domain.BreakGlass
	// MFAFreshness is how old the sign-in behind an activation may be.
	MFAFreshness time.Duration
	// MinActivation is the shortest activation or active assignment granted.
	MinActivation time.Duration
	// AdminMFA makes every administrator write (assignments, policies,
	// review definitions, alert changes) need an MFA sign-in within
	// MFAFreshness.
	AdminMFA bool
	// ApproverMFA makes approvers sign in with MFA to decide.
	ApproverMFA bool
	// SweepBatch bounds the work of one sweep step.
	SweepBatch int
	// StuckAfter is how long a granted request may wait for provisioning,
	// or a grant (with no failed attempt recorded) for its directory call,
	// before the sweep drives it again.
	StuckAfter time.Duration
	// Reader, SignIns and Alerts serve the governance timers (alerts,
	// break-glass checks, access reviews); nil turns those off.
	Reader  domain.DirectoryReader
	SignIns domain.SignInLog
	Alerts  domain.AlertStore
	// AlertSettings holds the alert thresholds and the break-glass check's
	// windows (alerts.go); zero fields take the defaults.
	AlertSettings AlertSettings
	// Tickets validates tickets and takes work notes; nil = tickets are free text.
	Tickets domain.TicketSystem
	// Mailer delivers notifications; nil leaves them queued.
	Mailer domain.Mailer
	// AdminRecipients get the policies' "Admin" notifications.
	AdminRecipients []string
	// ApprovalLink makes the personal link an approver's mail carries.
	ApprovalLink func(requestID, stageID string, approverID domain.ObjectID, expires time.Time) (string, error)
}

// DefaultConfig is the configuration used when a setting is not given.
func DefaultConfig() Config {
	return Config{MFAFreshness: 15 * time.Minute, MinActivation: domain.DefaultMinActivation, AdminMFA: true, ApproverMFA: true, SweepBatch: 500, StuckAfter: 2 * time.Minute}
}

// Engine runs the use cases. It is safe for concurrent use.
type Engine struct {
	store domain.Store
	dir   domain.Directory
	cfg   Config
}

// New builds an engine.
func New(store domain.Store, dir domain.Directory, cfg Config) *Engine {
	d := DefaultConfig()
	if cfg.SweepBatch <= 0 {
		cfg.SweepBatch = d.SweepBatch
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = d.StuckAfter
	}
	if cfg.MinActivation <= 0 {
		cfg.MinActivation = d.MinActivation
	}
	return &Engine{store: store, dir: dir, cfg: cfg}
}

// SystemActor is the actor id recorded for work the timers do.
const SystemActor domain.ObjectID = "jitpim"

// Caller is who is calling, as a verified token says.
type Caller struct {
	ID   domain.ObjectID // object id; SystemActor for timers
	Name string
	Auth domain.AuthEvidence
}

// Call carries one invocation: the time, taken once, the caller, and a logger
// already holding the invocation and request ids.
type Call struct {
	Now          time.Time
	InvocationID string
	Caller       Caller
	Log          *slog.Logger
	admin        *bool
	queued       []string // mail ids queued during this call
	// checked holds requests whose account and eligibility this call has
	// just verified, so provisioning them in the same call need not ask
	// again; approvals and the sweep provision in later calls and re-check.
	checked map[string]bool
}

// NewCall builds a Call; log may be nil.
func NewCall(now time.Time, invocationID string, caller Caller, log *slog.Logger) *Call {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Call{Now: now.UTC(), InvocationID: invocationID, Caller: caller,
		Log: log.With("invocation_id", invocationID, "principal_id", caller.ID)}
}

func (e *Engine) isBreakGlass(id domain.ObjectID) bool {
	return e.cfg.BreakGlass.Protects(id)
}

// IsAdmin reports whether the caller is a jitpim administrator: a member of
// the admin group, or an active Global or Privileged Role Administrator. The
// answer is kept for the rest of the call.
func (e *Engine) IsAdmin(ctx context.Context, c *Call) (bool, error) {
	if c.admin != nil {
		return *c.admin, nil
	}
	ok, err := e.holdsAdminRole(ctx, c.Caller.ID)
	if err != nil {
		return false, err
	}
	c.admin = &ok
	return ok, nil
}

func (e *Engine) holdsAdminRole(ctx context.Context, id domain.ObjectID) (bool, error) {
	if id == "" || id == SystemActor {
		return false, nil
	}
	if e.cfg.AdminGroupID != "" {
		in, err := e.dir.IsMemberOf(ctx, id, e.cfg.AdminGroupID)
		if err != nil {
			return false, err
		}
		if in {
			return true, nil
		}
	}
	ras, err := e.dir.ListRoleAssignments(ctx, id)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ras, domain.GrantsTenantAdmin), nil
}

func (e *Engine) requireAdmin(ctx context.Context, c *Call, what string) error {
	ok, err := e.IsAdmin(ctx, c)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeForbidden, "%s needs a jitpim administrator", what)
	}
	return nil
}

// requireAdminWrite is requireAdmin for a change: with AdminMFA on (the
// default) the administrator must also have signed in with MFA recently.
func (e *Engine) requireAdminWrite(ctx context.Context, c *Call, what string) error {
	if err := e.requireAdmin(ctx, c, what); err != nil {
		return err
	}
	if !e.cfg.AdminMFA {
		return nil
	}
	return domain.CheckAdminWrite(what, c.Caller.Auth, c.Now, e.cfg.MFAFreshness)
}

// audit appends a record. A failed append is logged and reported, but never
// undoes the state change it describes: the state is the truth.
func (e *Engine) audit(ctx context.Context, c *Call, rec domain.AuditRecord) {
	rec.ID = uuid.NewString()
	rec.Time = c.Now
	if rec.ActorID == "" {
		rec.ActorID = c.Caller.ID
	}
	rec.InvocationID = c.InvocationID
	if rec.Outcome == "" {
		rec.Outcome = "success"
	}
	if rec.Category == "" {
		rec.Category = "RoleManagement"
		if rec.Target.Kind == domain.TargetGroup {
			rec.Category = "GroupManagement"
		}
	}
	if err := e.store.AppendAudit(ctx, &rec); err != nil {
		c.Log.ErrorContext(ctx, "audit append failed", "action", rec.Action, "request_id", rec.RequestID, "error", err)
	}
}

// errStale marks a conditional write that lost to another writer.
var errStale = errors.New("stale version")

// stale turns a store's write conflict into errStale, so retry loops tell a
// lost race (read again and decide again) from a refusal.
func stale(err error) error {
	if domain.IsCode(err, domain.CodeConflict) {
		return errStale
	}
	return err
}

// retry runs f again while it loses races, up to a bound.
func retry(f func() error) error {
	for i := 0; i < 10; i++ {
		if err := f(); !errors.Is(err, errStale) {
			return err
		}
	}
	return domain.Errorf(domain.CodeConflict, "too many concurrent changes; try again")
}

func (c *Call) markChecked(requestID string) {
	if c.checked == nil {
		c.checked = map[string]bool{}
	}
	c.checked[requestID] = true
}
