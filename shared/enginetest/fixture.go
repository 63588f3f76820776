package enginetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakearm"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/notices"
	"github.com/jitpim/jitpim/shared/policy"
)

// Setup is what a test may change before the fixture builds the engine:
// its settings and the collaborators the memory store and fake directory
// do not stand in for.
type Setup struct {
	Config  engine.Config
	Mailer  domain.Mailer
	Tickets domain.TicketSystem
	Links   notices.Links
}

// newEngine is the one place the suite builds the services, as
// functions/main.go does: the kernel, the alert write path the engine
// raises through (when the store keeps alerts), the engine and policies.
func (f *Fixture) newEngine(store domain.Store, s Setup) {
	f.Kernel = engine.NewKernel(f.Store, f.Dir, f.ARM, s.Mailer, s.Config)
	f.Notices = notices.New(f.Kernel, f.Store, s.Tickets, s.Links)
	deps := engine.Deps{Tickets: s.Tickets, Notices: f.Notices, Azure: f.ARM}
	if as, ok := store.(domain.AlertStore); ok {
		f.Alarms = alert.NewAlarms(f.Kernel, as, nil)
		deps.Alarm = f.Alarms
	}
	f.Eng = engine.New(f.Kernel, deps)
	f.Policies = policy.New(f.Eng, f.Store)
}

// T0 is the start of every fixture's clock.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// RoleGA and RoleOther are the tenant-wide roles the tests activate:
// Global Administrator and Application Administrator.
var (
	RoleGA    = domain.RoleTarget(domain.RoleGlobalAdministrator, domain.TenantScope)
	RoleOther = domain.RoleTarget("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", domain.TenantScope)
)

// Stage1 is the id the engine gives a policy's first approval stage.
const Stage1 = "stage-1"

// Stage2 is the id of the second stage.
const Stage2 = "stage-2"

// Fixture is one engine on a store, a fake directory and an injected
// clock, with an administrator (a member of the admin group) and a
// break-glass account already made.
type Fixture struct {
	T   testing.TB
	Ctx context.Context
	// Store is the store under test, wrapped to count the calls made to it
	// (see Snapshot); the engine uses it too.
	Store domain.Store
	Dir   *fakedir.Dir
	// ARM is Azure RBAC: the subscriptions, resource groups and resources
	// Azure resource roles are granted at.
	ARM *fakearm.RBAC
	// Kernel, Eng and Policies are the services under test; Alarms is the
	// alert write path they raise through (nil on a store without alerts).
	Kernel   *engine.Kernel
	Eng      *engine.Engine
	Policies *policy.Service
	Notices  *notices.Notices
	Alarms   *alert.Alarms
	Cfg      engine.Config
	// Now is the clock: every call is made at Now. Advance moves it, never
	// while calls are running.
	Now        time.Time
	Admin      domain.ObjectID // member of Cfg.AdminGroupID
	AdminGroup domain.ObjectID
	BreakGlass domain.ObjectID

	counted *countingStore
	raw     domain.Store // the store under the counter
	setup   Setup
	mu      sync.Mutex
	seq     int
	inv     int
}

// NewFixture builds a fixture on store, which should be empty; mods change
// the setup before the engine is built.
func NewFixture(t testing.TB, store domain.Store, mods ...func(*Setup)) *Fixture {
	t.Helper()
	counted := newCountingStore(store)
	f := &Fixture{T: t, Ctx: context.Background(), Store: counted, counted: counted, Dir: fakedir.New(), ARM: fakearm.New(), Now: T0}
	f.AdminGroup = f.NewID()
	f.BreakGlass = f.NewUser()
	f.Admin = f.NewUser()
	f.Dir.AddMember(f.AdminGroup, f.Admin)
	s := Setup{Config: engine.DefaultConfig()}
	s.Config.AdminGroupID = f.AdminGroup
	s.Config.BreakGlass = []domain.ObjectID{f.BreakGlass}
	for _, m := range mods {
		m(&s)
	}
	f.Cfg, f.raw, f.setup = s.Config, store, s
	f.newEngine(store, s)
	return f
}

// Restart builds the services again on the same store and directory, with
// Cfg as the test left it: nothing survives but what is stored.
func (f *Fixture) Restart() {
	f.setup.Config = f.Cfg
	f.newEngine(f.raw, f.setup)
}

// NewID returns a fresh object id (a GUID).
func (f *Fixture) NewID() domain.ObjectID {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return domain.CanonicalID(fmt.Sprintf("00000000-0000-4000-8000-%012x", f.seq))
}

// UPN is the user principal name, and the mail address, NewUser gives id.
func UPN(id domain.ObjectID) string { return string(id) + "@contoso.example" }

// NewUser adds an enabled account to the directory.
func (f *Fixture) NewUser() domain.ObjectID {
	id := f.NewID()
	f.Dir.AddUser(domain.User{ID: id, UserPrincipalName: UPN(id), DisplayName: "user " + string(id), Enabled: true})
	return id
}

// Advance moves the clock.
func (f *Fixture) Advance(d time.Duration) { f.Now = f.Now.Add(d) }

// MFA is a fresh MFA sign-in at the fixture's now.
func (f *Fixture) MFA() domain.AuthEvidence {
	return domain.AuthEvidence{MFA: true, AuthenticatedAt: f.Now}
}

// CallAuth is a call by id at now, signed in as auth says.
func (f *Fixture) CallAuth(id domain.ObjectID, auth domain.AuthEvidence) *engine.Call {
	f.mu.Lock()
	f.inv++
	inv := fmt.Sprintf("inv-%d", f.inv)
	f.mu.Unlock()
	return engine.NewCall(f.Now, inv, engine.Caller{ID: id, Auth: auth}, nil)
}

// Call is a call by id signed in with fresh MFA.
func (f *Fixture) Call(id domain.ObjectID) *engine.Call { return f.CallAuth(id, f.MFA()) }

// System is a call by the timers.
func (f *Fixture) System() *engine.Call {
	return f.CallAuth(engine.SystemActor, domain.AuthEvidence{})
}

// Submit submits in as caller.
func (f *Fixture) Submit(caller domain.ObjectID, in engine.Submission) (domain.Request, error) {
	return f.Eng.Submit(f.Ctx, f.Call(caller), in)
}

// MustSubmit is Submit failing the test on an error.
func (f *Fixture) MustSubmit(caller domain.ObjectID, in engine.Submission) domain.Request {
	f.T.Helper()
	r, err := f.Submit(caller, in)
	if err != nil {
		f.T.Fatalf("Submit %s by %s: %v", in.Action, caller, err)
	}
	return r
}

// EligibilitySub is an admin's eligibility for user.
func EligibilitySub(user domain.ObjectID, t domain.Target, s domain.ScheduleInfo) engine.Submission {
	return engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminAssign, PrincipalID: user, Target: t,
		Justification: "on-call rota", Schedule: s}
}

// Permanent is a schedule that never ends.
func Permanent() domain.ScheduleInfo { return domain.ScheduleInfo{ExpirationType: domain.ExpireNever} }

// Lasting is a schedule that ends d after its start.
func Lasting(d time.Duration) domain.ScheduleInfo {
	return domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: d}
}

// MakeEligible has the admin give user a permanent eligibility.
func (f *Fixture) MakeEligible(user domain.ObjectID, t domain.Target) domain.Request {
	f.T.Helper()
	r := f.MustSubmit(f.Admin, EligibilitySub(user, t, Permanent()))
	if r.Status != domain.StatusProvisioned {
		f.T.Fatalf("eligibility request is %s (%s), want Provisioned", r.Status, r.StatusReason)
	}
	return r
}

// SeedEligible stores a live eligibility of user directly, as a migration
// would: a few writes instead of an engine request. end may be zero.
func (f *Fixture) SeedEligible(user domain.ObjectID, t domain.Target, end time.Time) domain.Schedule {
	f.T.Helper()
	s := domain.Schedule{ID: string(f.NewID()), Kind: domain.KindEligibility, PrincipalID: user, Target: t,
		AssignmentType: domain.AssignmentAssigned, MemberType: domain.MemberDirect, Start: f.Now.Add(-time.Hour), End: end,
		Status: domain.ScheduleProvisioned, CreatedAt: f.Now, ModifiedAt: f.Now}
	if err := f.Store.CreateSchedule(f.Ctx, &s); err != nil {
		f.T.Fatalf("seeding an eligibility: %v", err)
	}
	return s
}

// ActivationSub is user's own activation of t for d.
func ActivationSub(user domain.ObjectID, t domain.Target, d time.Duration) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: user, Target: t,
		Justification: "INC-4711 tenant outage", Schedule: Lasting(d)}
}

// Activate has user activate t for d.
func (f *Fixture) Activate(user domain.ObjectID, t domain.Target, d time.Duration) (domain.Request, error) {
	return f.Submit(user, ActivationSub(user, t, d))
}

// MustActivate is Activate failing the test unless the activation is
// provisioned.
func (f *Fixture) MustActivate(user domain.ObjectID, t domain.Target, d time.Duration) domain.Request {
	f.T.Helper()
	r, err := f.Activate(user, t, d)
	if err != nil || r.Status != domain.StatusProvisioned {
		f.T.Fatalf("activation by %s: %s (%s) %v", user, r.Status, r.StatusReason, err)
	}
	return r
}

// DeactivationSub is user's own deactivation of t.
func DeactivationSub(user domain.ObjectID, t domain.Target) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfDeactivate, PrincipalID: user, Target: t}
}

// AssignSub is an admin's active assignment.
func AssignSub(user domain.ObjectID, t domain.Target, d time.Duration) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminAssign, PrincipalID: user, Target: t,
		Justification: "project work", Schedule: Lasting(d)}
}

// Sweep runs the sweep timer.
func (f *Fixture) Sweep() engine.SweepResult {
	f.T.Helper()
	res, err := f.Eng.Sweep(f.Ctx, f.System())
	if err != nil {
		f.T.Fatalf("Sweep: %v", err)
	}
	return res
}

// SetPolicy changes the policy id as the admin.
func (f *Fixture) SetPolicy(id string, change func(*domain.Policy)) domain.Policy {
	f.T.Helper()
	p, err := f.Policies.UpdatePolicy(f.Ctx, f.Call(f.Admin), id, func(p *domain.Policy) error { change(p); return nil })
	if err != nil {
		f.T.Fatalf("UpdatePolicy %s: %v", id, err)
	}
	return p
}

// RequireApproval makes activation of t need one stage decided by approvers.
func (f *Fixture) RequireApproval(t domain.Target, approvers ...domain.Approver) {
	f.T.Helper()
	f.SetPolicy(domain.PolicyID(t), func(p *domain.Policy) {
		p.Activation.ApprovalRequired = true
		p.Activation.ApprovalMode = domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: approvers}}
	})
}

// UserApprover names a user as approver.
func UserApprover(id domain.ObjectID) domain.Approver {
	return domain.Approver{Kind: domain.ApproverUser, ID: id}
}

// GroupApprover names a group's members as approvers.
func GroupApprover(id domain.ObjectID) domain.Approver {
	return domain.Approver{Kind: domain.ApproverGroup, ID: id}
}

// Decide has approver decide a stage of request id with result.
func (f *Fixture) Decide(approver domain.ObjectID, id, stage, result string) (domain.Request, error) {
	return f.Eng.Decide(f.Ctx, f.Call(approver), id, engine.Decision{StageID: stage, Result: result, Justification: "ok"})
}

// PendingActivation makes user eligible for t and submits an activation
// that must wait for approval.
func (f *Fixture) PendingActivation(user domain.ObjectID, t domain.Target) domain.Request {
	f.T.Helper()
	f.MakeEligible(user, t)
	r, err := f.Activate(user, t, time.Hour)
	if err != nil {
		f.T.Fatalf("selfActivate: %v", err)
	}
	if r.Status != domain.StatusPendingApproval || r.Approval == nil {
		f.T.Fatalf("activation is %s (approval %v), want PendingApproval", r.Status, r.Approval)
	}
	return r
}

// Audits returns the audit records with action ("" for all), oldest first.
func (f *Fixture) Audits(action string) []domain.AuditRecord {
	f.T.Helper()
	var all []domain.AuditRecord
	q := domain.AuditQuery{Limit: 999}
	for {
		p, err := f.Store.ListAudit(f.Ctx, q)
		if err != nil {
			f.T.Fatalf("ListAudit: %v", err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	var out []domain.AuditRecord
	for i := len(all) - 1; i >= 0; i-- {
		if action == "" || all[i].Action == action {
			out = append(out, all[i])
		}
	}
	return out
}

// AuditsFor filters Audits by principal.
func (f *Fixture) AuditsFor(action string, principal domain.ObjectID) []domain.AuditRecord {
	var out []domain.AuditRecord
	for _, r := range f.Audits(action) {
		if r.PrincipalID == principal {
			out = append(out, r)
		}
	}
	return out
}

// VerifyAuditChain checks the hash chain of every audit record.
func (f *Fixture) VerifyAuditChain() error {
	recs := f.Audits("")
	if i := domain.VerifyChain(recs); i >= 0 {
		return fmt.Errorf("audit chain broken at record %d of %d", i, len(recs))
	}
	return nil
}

// GetRequest returns the stored request id.
func (f *Fixture) GetRequest(id string) domain.Request {
	f.T.Helper()
	r, err := f.Store.GetRequest(f.Ctx, id)
	if err != nil {
		f.T.Fatalf("GetRequest %s: %v", id, err)
	}
	return r
}

// GetSchedule returns the stored schedule id.
func (f *Fixture) GetSchedule(id string) domain.Schedule {
	f.T.Helper()
	s, err := f.Store.GetSchedule(f.Ctx, id)
	if err != nil {
		f.T.Fatalf("GetSchedule %s: %v", id, err)
	}
	return s
}

// Grant returns the stored grant of user on t.
func (f *Fixture) Grant(user domain.ObjectID, t domain.Target) (domain.Grant, bool) {
	f.T.Helper()
	g, err := f.Store.GetGrant(f.Ctx, domain.GrantKey(user, t))
	if domain.IsCode(err, domain.CodeNotFound) {
		return g, false
	} else if err != nil {
		f.T.Fatalf("GetGrant: %v", err)
	}
	return g, true
}

// RequestsOf lists every request of principal.
func (f *Fixture) RequestsOf(principal domain.ObjectID) []domain.Request {
	f.T.Helper()
	var out []domain.Request
	q := domain.RequestQuery{PrincipalID: principal, Limit: 500}
	for {
		p, err := f.Store.ListRequests(f.Ctx, q)
		if err != nil {
			f.T.Fatalf("ListRequests: %v", err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

// SchedulesOf lists every schedule of principal, ended ones included.
func (f *Fixture) SchedulesOf(principal domain.ObjectID, kind domain.RequestKind) []domain.Schedule {
	f.T.Helper()
	var out []domain.Schedule
	q := domain.ScheduleQuery{Kind: kind, PrincipalID: principal, IncludeEnded: true, Limit: 500}
	for {
		p, err := f.Store.ListSchedules(f.Ctx, q)
		if err != nil {
			f.T.Fatalf("ListSchedules: %v", err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

// LiveActivations lists user's live assignment schedules of t.
func (f *Fixture) LiveActivations(user domain.ObjectID, t domain.Target) []domain.Schedule {
	f.T.Helper()
	var live []domain.Schedule
	for _, s := range f.SchedulesOf(user, domain.KindAssignment) {
		if s.Target == t && s.Live(f.Now) {
			live = append(live, s)
		}
	}
	return live
}

// HasRole reports whether the directory holds user's role assignment of t.
func (f *Fixture) HasRole(user domain.ObjectID, t domain.Target) bool {
	return f.Dir.HasRole(user, t.RoleDefinitionID, t.DirectoryScopeID)
}

// AssertNoAccess checks the directory and the grant give user nothing on tg.
func (f *Fixture) AssertNoAccess(t testing.TB, user domain.ObjectID, tg domain.Target) {
	t.Helper()
	if tg.Kind == domain.TargetRole && f.HasRole(user, tg) {
		t.Fatal("the directory holds the role")
	}
	if tg.Kind == domain.TargetGroup && f.Dir.InGroup(tg.GroupID, tg.AccessID, user) {
		t.Fatal("the directory holds the membership")
	}
	if tg.Kind == domain.TargetAzureRole && f.ARM.Has(user, tg.RoleDefinitionID, tg.ResourceScope) {
		t.Fatal("Azure holds the role assignment")
	}
	if g, ok := f.Grant(user, tg); ok && (g.Wanted() || g.Applied) {
		t.Fatalf("grant %+v: want no holder and not applied", g)
	}
}

// Writes is a snapshot of every counter that moves when something is written.
type Writes struct {
	Store map[string]int
	Dir   map[string]int
	ARM   map[string]int
	Audit int
}

var (
	storeWriteOps = []string{"CreateRequest", "UpdateRequest", "CreateSchedule", "UpdateSchedule", "PutGrant", "PutPolicy", "AppendAudit"}
	dirWriteOps   = []string{"AddRoleAssignment", "RemoveRoleAssignment", "AddGroupMember", "RemoveGroupMember"}
	armWriteOps   = []string{"AddRoleAssignment", "RemoveRoleAssignment"}
)

// Snapshot takes the write counters, for AssertNoWrites.
func (f *Fixture) Snapshot() Writes {
	w := Writes{Store: map[string]int{}, Dir: map[string]int{}, ARM: map[string]int{}, Audit: len(f.Audits(""))}
	sc, dc, ac := f.counted.calls(), f.Dir.Calls(), f.ARM.Calls()
	for _, op := range armWriteOps {
		w.ARM[op] = ac[op]
	}
	for _, op := range storeWriteOps {
		w.Store[op] = sc[op]
	}
	for _, op := range dirWriteOps {
		w.Dir[op] = dc[op]
	}
	return w
}

// AssertNoWrites fails when anything was written to the store or changed
// in the directory since before.
func (f *Fixture) AssertNoWrites(t testing.TB, before Writes) {
	t.Helper()
	after := f.Snapshot()
	for _, op := range storeWriteOps {
		if after.Store[op] != before.Store[op] {
			t.Errorf("store.%s called %d times by a refused request", op, after.Store[op]-before.Store[op])
		}
	}
	for _, op := range dirWriteOps {
		if after.Dir[op] != before.Dir[op] {
			t.Errorf("directory %s called %d times by a refused request", op, after.Dir[op]-before.Dir[op])
		}
	}
	for _, op := range armWriteOps {
		if after.ARM[op] != before.ARM[op] {
			t.Errorf("Azure %s called %d times by a refused request", op, after.ARM[op]-before.ARM[op])
		}
	}
	if after.Audit != before.Audit {
		t.Errorf("%d audit records written by a refused request", after.Audit-before.Audit)
	}
}

// WantCode fails unless err has code.
func WantCode(t testing.TB, err error, code domain.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("got %s (%v), want %s", got, err, code)
	}
}

// WantStatus fails unless r has status s.
func WantStatus(t testing.TB, r domain.Request, s domain.Status) {
	t.Helper()
	if r.Status != s {
		t.Fatalf("request %s is %s (reason %q), want %s", r.ID, r.Status, r.StatusReason, s)
	}
}

// WantContains fails unless err says sub.
func WantContains(t testing.TB, err error, sub string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Fatalf("error %v does not say %q", err, sub)
	}
}
