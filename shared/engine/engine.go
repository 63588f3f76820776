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
	"github.com/jitpim/jitpim/shared/names"
	"github.com/jitpim/jitpim/shared/notify"
	"github.com/jitpim/jitpim/shared/outbox"
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
	// AdminRecipients get the policies' "Admin" notifications and alert mail.
	AdminRecipients []string
	// Names bounds the cache of display names (zero: shared/names defaults).
	Names names.Options
}

// DefaultConfig is the configuration used when a setting is not given.
func DefaultConfig() Config {
	return Config{MFAFreshness: 15 * time.Minute, MinActivation: domain.DefaultMinActivation, AdminMFA: true, ApproverMFA: true, SweepBatch: 500, StuckAfter: 2 * time.Minute}
}

// Kernel is what every jitpim service shares: the store, the directory,
// the audit trail, the mail outbox and the answer to "is this caller an
// administrator". The request engine embeds it; access reviews and alerts
// use it. It is built first because the alert service, which the engine
// raises alerts through, needs it too.
type Kernel struct {
	store domain.Store
	dir   domain.Directory
	mail  *outbox.Outbox
	names *names.Resolver
	cfg   Config
}

// NewKernel builds the kernel; mailer may be nil (mail stays queued), and
// so may azure, which names Azure subscriptions (nil: they show by id).
func NewKernel(store domain.Store, dir domain.Directory, azure names.Azure, mailer domain.Mailer, cfg Config) *Kernel {
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
	return &Kernel{store: store, dir: dir, mail: outbox.New(store, mailer, cfg.SweepBatch), names: names.New(dir, azure, cfg.Names), cfg: cfg}
}

// Notifier tells people what happened to requests and assignments
// (shared/notices implements it; nil tells nobody).
type Notifier interface {
	Provisioned(ctx context.Context, c *Call, r domain.Request)
	Decision(ctx context.Context, c *Call, r domain.Request, kind notify.Kind, reason string)
	Approvers(ctx context.Context, c *Call, r domain.Request)
	Expired(ctx context.Context, c *Call, s domain.Schedule)
	TicketNote(ctx context.Context, c *Call, r domain.Request, note string)
	Pending(ctx context.Context, c *Call, r domain.Request)
}

// Deps are the engine's outside collaborators besides the kernel's; each
// may be nil: no ticket system (tickets are free text), no alarm (failing
// revokes are only logged), no notifier (nobody is told), no Azure
// (requests for Azure resource roles are refused).
type Deps struct {
	Tickets domain.TicketSystem
	Alarm   domain.Alarm
	Notices Notifier
	Azure   domain.AzureRBAC
}

// Engine runs the request use cases: submitting, approving, cancelling and
// sweeping schedule requests, and policies. It is safe for concurrent use.
type Engine struct {
	*Kernel
	tickets domain.TicketSystem
	alarm   domain.Alarm
	notices Notifier
	azure   domain.AzureRBAC
}

// New builds an engine on a kernel.
func New(k *Kernel, deps Deps) *Engine {
	return &Engine{Kernel: k, tickets: deps.Tickets, alarm: deps.Alarm, notices: deps.Notices, azure: deps.Azure}
}

// Config returns the settings the kernel runs with, defaults filled in.
func (k *Kernel) Config() Config { return k.cfg }

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
	// grants holds each grant as this call last read or wrote it (see
	// grantmemo.go), so a step does not read back what the previous one
	// just saw; every write of one stays conditional on its version.
	grants map[string]knownGrant
}

// NewCall builds a Call; log may be nil.
func NewCall(now time.Time, invocationID string, caller Caller, log *slog.Logger) *Call {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Call{Now: now.UTC(), InvocationID: invocationID, Caller: caller,
		Log: log.With("invocation_id", invocationID, "principal_id", caller.ID)}
}

func (k *Kernel) isBreakGlass(id domain.ObjectID) bool {
	return k.cfg.BreakGlass.Protects(id)
}

// IsAdmin reports whether the caller is a jitpim administrator: a member of
// the admin group, or an active Global or Privileged Role Administrator. The
// answer is kept for the rest of the call.
func (k *Kernel) IsAdmin(ctx context.Context, c *Call) (bool, error) {
	if c.admin != nil {
		return *c.admin, nil
	}
	ok, err := k.holdsAdminRole(ctx, c.Caller.ID)
	if err != nil {
		return false, err
	}
	c.admin = &ok
	return ok, nil
}

func (k *Kernel) holdsAdminRole(ctx context.Context, id domain.ObjectID) (bool, error) {
	if id == "" || id == SystemActor {
		return false, nil
	}
	if k.cfg.AdminGroupID != "" {
		in, err := k.dir.IsMemberOf(ctx, id, k.cfg.AdminGroupID)
		if err != nil {
			return false, err
		}
		if in {
			return true, nil
		}
	}
	ras, err := k.dir.ListRoleAssignments(ctx, id)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ras, domain.GrantsTenantAdmin), nil
}

// RequireAdmin refuses a caller who is not a jitpim administrator; what
// names the action in the refusal.
func (k *Kernel) RequireAdmin(ctx context.Context, c *Call, what string) error {
	ok, err := k.IsAdmin(ctx, c)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeForbidden, "%s needs a jitpim administrator", what)
	}
	return nil
}

// RequireAdminWrite is RequireAdmin for a change: with AdminMFA on (the
// default) the administrator must also have signed in with MFA recently.
func (k *Kernel) RequireAdminWrite(ctx context.Context, c *Call, what string) error {
	if err := k.RequireAdmin(ctx, c, what); err != nil {
		return err
	}
	if !k.cfg.AdminMFA {
		return nil
	}
	return domain.CheckAdminWrite(what, c.Caller.Auth, c.Now, k.cfg.MFAFreshness)
}

// Stamp completes an audit record with what every record carries: a fresh
// id, the call's time, actor and invocation, and the defaults of outcome
// and category. A change's records go to the store with the write that
// makes the change (the store writes both or neither).
func (k *Kernel) Stamp(c *Call, rec domain.AuditRecord) domain.AuditRecord {
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
	return rec
}

// Audit durably records a record that goes with no store write (a refusal,
// a directory call, a timer's summary). A record that cannot be written is
// an error the caller returns: jitpim never carries on as if it had been
// recorded.
func (k *Kernel) Audit(ctx context.Context, c *Call, rec domain.AuditRecord) error {
	rec = k.Stamp(c, rec)
	if err := k.store.AppendAudit(ctx, &rec); err != nil {
		c.Log.ErrorContext(ctx, "audit append failed", "action", rec.Action, "request_id", rec.RequestID, "error", err)
		return domain.Wrap(domain.ErrorCode(err), err, "recording %s in the audit log", rec.Action)
	}
	return nil
}

// ChainAudit links the audit records written since the last run into the
// hash chain, off the request path; the expirySweep timer runs it after
// the sweep. Readers never wait for it: listing the audit log links what
// is pending first.
func (k *Kernel) ChainAudit(ctx context.Context, c *Call) (int, error) {
	n, err := k.store.ChainAudit(ctx)
	if err != nil {
		c.Log.ErrorContext(ctx, "linking audit records failed; the next run retries", "linked", n, "error", err)
	}
	return n, err
}

// ErrStale marks a conditional write that lost to another writer.
var ErrStale = errors.New("stale version")

// Stale turns a store's write conflict into ErrStale, so retry loops tell a
// lost race (read again and decide again) from a refusal.
func Stale(err error) error {
	if domain.IsCode(err, domain.CodeConflict) {
		return ErrStale
	}
	return err
}

// Retry runs f again while it loses races (returns ErrStale), up to a
// bound: the read-decide-write loop of every conditional change.
func Retry(f func() error) error {
	for i := 0; i < 10; i++ {
		if err := f(); !errors.Is(err, ErrStale) {
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

// Fork makes a call for one of several parallel workers of this call: same
// time, caller and logger, its own mail list (merged back by Join) and no
// shared cache.
func (c *Call) Fork() *Call {
	return &Call{Now: c.Now, InvocationID: c.InvocationID, Caller: c.Caller, Log: c.Log}
}

// Join takes the mail a forked call queued, so FlushMail sends it too.
// Not safe for concurrent use: join the forks after they finished.
func (c *Call) Join(forks ...*Call) {
	for _, f := range forks {
		c.queued = append(c.queued, f.queued...)
	}
}
