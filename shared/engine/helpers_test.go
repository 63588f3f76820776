package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/memstore"
)

// t0 is the start of every test's clock.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var (
	roleGA    = domain.RoleTarget(domain.RoleGlobalAdministrator, domain.TenantScope)
	roleOther = domain.RoleTarget("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", domain.TenantScope) // Application Administrator
)

// fixture is one engine on a fresh in-memory store and fake directory, with
// an injected clock.
type fixture struct {
	t          testing.TB
	ctx        context.Context
	store      *memstore.Store
	dir        *fakedir.Dir
	eng        *engine.Engine
	cfg        engine.Config
	now        time.Time
	admin      domain.ObjectID // member of cfg.AdminGroupID
	adminGroup domain.ObjectID
	breakGlass domain.ObjectID

	mu  sync.Mutex
	seq int
	inv int
}

func newFixture(t testing.TB, mods ...func(*engine.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), store: memstore.New(), dir: fakedir.New(), now: t0}
	f.adminGroup = f.newID()
	f.breakGlass = f.newUser()
	f.admin = f.newUser()
	f.dir.AddMember(f.adminGroup, f.admin)
	cfg := engine.DefaultConfig()
	cfg.AdminGroupID = f.adminGroup
	cfg.BreakGlass = []domain.ObjectID{f.breakGlass}
	for _, m := range mods {
		m(&cfg)
	}
	f.cfg = cfg
	f.eng = engine.New(f.store, f.dir, cfg)
	return f
}

// newID returns a fresh object id (a GUID).
func (f *fixture) newID() domain.ObjectID {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return domain.ObjectID(fmt.Sprintf("00000000-0000-4000-8000-%012x", f.seq))
}

// newUser adds an enabled account to the directory.
func (f *fixture) newUser() domain.ObjectID {
	id := f.newID()
	f.dir.AddUser(domain.User{ID: id, UserPrincipalName: string(id) + "@contoso.example", DisplayName: "user " + string(id), Enabled: true})
	return id
}

func (f *fixture) advance(d time.Duration) { f.now = f.now.Add(d) }

// mfa is a fresh MFA sign-in at the fixture's now.
func (f *fixture) mfa() domain.AuthEvidence {
	return domain.AuthEvidence{MFA: true, AuthenticatedAt: f.now}
}

func (f *fixture) callAuth(id domain.ObjectID, auth domain.AuthEvidence) *engine.Call {
	f.mu.Lock()
	f.inv++
	inv := fmt.Sprintf("inv-%d", f.inv)
	f.mu.Unlock()
	return engine.NewCall(f.now, inv, engine.Caller{ID: id, Auth: auth}, nil)
}

// call is a call by id signed in with fresh MFA.
func (f *fixture) call(id domain.ObjectID) *engine.Call { return f.callAuth(id, f.mfa()) }

func (f *fixture) system() *engine.Call {
	return f.callAuth(engine.SystemActor, domain.AuthEvidence{})
}

func (f *fixture) submit(caller domain.ObjectID, in engine.Submission) (domain.Request, error) {
	return f.eng.Submit(f.ctx, f.call(caller), in)
}

func (f *fixture) mustSubmit(caller domain.ObjectID, in engine.Submission) domain.Request {
	f.t.Helper()
	r, err := f.submit(caller, in)
	if err != nil {
		f.t.Fatalf("Submit %s by %s: %v", in.Action, caller, err)
	}
	return r
}

func eligibilitySub(user domain.ObjectID, t domain.Target, s domain.ScheduleInfo) engine.Submission {
	return engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminAssign, PrincipalID: user, Target: t,
		Justification: "on-call rota", Schedule: s}
}

func permanent() domain.ScheduleInfo { return domain.ScheduleInfo{ExpirationType: domain.ExpireNever} }

func lasting(d time.Duration) domain.ScheduleInfo {
	return domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: d}
}

// makeEligible has the admin give user a permanent eligibility.
func (f *fixture) makeEligible(user domain.ObjectID, t domain.Target) domain.Request {
	f.t.Helper()
	r := f.mustSubmit(f.admin, eligibilitySub(user, t, permanent()))
	if r.Status != domain.StatusProvisioned {
		f.t.Fatalf("eligibility request is %s (%s), want Provisioned", r.Status, r.StatusReason)
	}
	return r
}

func activationSub(user domain.ObjectID, t domain.Target, d time.Duration) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: user, Target: t,
		Justification: "INC-4711 tenant outage", Schedule: lasting(d)}
}

func (f *fixture) activate(user domain.ObjectID, t domain.Target, d time.Duration) (domain.Request, error) {
	return f.submit(user, activationSub(user, t, d))
}

func deactivationSub(user domain.ObjectID, t domain.Target) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfDeactivate, PrincipalID: user, Target: t}
}

// assignSub is an admin's active assignment.
func assignSub(user domain.ObjectID, t domain.Target, d time.Duration) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminAssign, PrincipalID: user, Target: t,
		Justification: "project work", Schedule: lasting(d)}
}

func (f *fixture) sweep() engine.SweepResult {
	f.t.Helper()
	res, err := f.eng.Sweep(f.ctx, f.system())
	if err != nil {
		f.t.Fatalf("Sweep: %v", err)
	}
	return res
}

// setPolicy changes the policy id as the admin.
func (f *fixture) setPolicy(id string, change func(*domain.Policy)) domain.Policy {
	f.t.Helper()
	p, err := f.eng.UpdatePolicy(f.ctx, f.call(f.admin), id, func(p *domain.Policy) error { change(p); return nil })
	if err != nil {
		f.t.Fatalf("UpdatePolicy %s: %v", id, err)
	}
	return p
}

// requireApproval makes activation of t need one stage decided by approvers.
func (f *fixture) requireApproval(t domain.Target, approvers ...domain.Approver) {
	f.t.Helper()
	f.setPolicy(domain.PolicyID(t), func(p *domain.Policy) {
		p.Activation.ApprovalRequired = true
		p.Activation.ApprovalMode = domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: approvers}}
	})
}

func userApprover(id domain.ObjectID) domain.Approver {
	return domain.Approver{Kind: domain.ApproverUser, ID: id}
}
func groupApprover(id domain.ObjectID) domain.Approver {
	return domain.Approver{Kind: domain.ApproverGroup, ID: id}
}

func (f *fixture) decide(approver domain.ObjectID, id, stage, result string) (domain.Request, error) {
	return f.eng.Decide(f.ctx, f.call(approver), id, engine.Decision{StageID: stage, Result: result, Justification: "ok"})
}

// audits returns the audit records with action, oldest first.
func (f *fixture) audits(action string) []domain.AuditRecord {
	f.t.Helper()
	p, err := f.store.ListAudit(f.ctx, domain.AuditQuery{Limit: 1 << 20})
	if err != nil {
		f.t.Fatalf("ListAudit: %v", err)
	}
	var out []domain.AuditRecord
	for i := len(p.Items) - 1; i >= 0; i-- {
		if action == "" || p.Items[i].Action == action {
			out = append(out, p.Items[i])
		}
	}
	return out
}

// auditsFor filters audits by action and principal.
func (f *fixture) auditsFor(action string, principal domain.ObjectID) []domain.AuditRecord {
	var out []domain.AuditRecord
	for _, r := range f.audits(action) {
		if r.PrincipalID == principal {
			out = append(out, r)
		}
	}
	return out
}

func (f *fixture) getRequest(id string) domain.Request {
	f.t.Helper()
	r, err := f.store.GetRequest(f.ctx, id)
	if err != nil {
		f.t.Fatalf("GetRequest %s: %v", id, err)
	}
	return r
}

func (f *fixture) getSchedule(id string) domain.Schedule {
	f.t.Helper()
	s, err := f.store.GetSchedule(f.ctx, id)
	if err != nil {
		f.t.Fatalf("GetSchedule %s: %v", id, err)
	}
	return s
}

// grant returns the stored grant of user on t.
func (f *fixture) grant(user domain.ObjectID, t domain.Target) (domain.Grant, bool) {
	f.t.Helper()
	g, err := f.store.GetGrant(f.ctx, domain.GrantKey(user, t))
	if domain.IsCode(err, domain.CodeNotFound) {
		return g, false
	} else if err != nil {
		f.t.Fatalf("GetGrant: %v", err)
	}
	return g, true
}

// requestsOf lists every request of principal.
func (f *fixture) requestsOf(principal domain.ObjectID) []domain.Request {
	f.t.Helper()
	p, err := f.store.ListRequests(f.ctx, domain.RequestQuery{PrincipalID: principal, Limit: 1 << 20})
	if err != nil {
		f.t.Fatalf("ListRequests: %v", err)
	}
	return p.Items
}

// schedulesOf lists every schedule of principal, ended ones included.
func (f *fixture) schedulesOf(principal domain.ObjectID, kind domain.RequestKind) []domain.Schedule {
	f.t.Helper()
	p, err := f.store.ListSchedules(f.ctx, domain.ScheduleQuery{Kind: kind, PrincipalID: principal, IncludeEnded: true, Limit: 1 << 20})
	if err != nil {
		f.t.Fatalf("ListSchedules: %v", err)
	}
	return p.Items
}

func (f *fixture) hasRole(user domain.ObjectID, t domain.Target) bool {
	return f.dir.HasRole(user, t.RoleDefinitionID, t.DirectoryScopeID)
}

// writes is a snapshot of every counter that moves when something is written.
type writes struct {
	store map[string]int
	dir   map[string]int
	audit int
}

var storeWriteOps = []string{"CreateRequest", "UpdateRequest", "CreateSchedule", "UpdateSchedule", "PutGrant", "PutPolicy", "AppendAudit"}
var dirWriteOps = []string{"AddRoleAssignment", "RemoveRoleAssignment", "AddGroupMember", "RemoveGroupMember"}

func (f *fixture) snapshot() writes {
	w := writes{store: map[string]int{}, dir: map[string]int{}, audit: len(f.audits(""))}
	sc, dc := f.store.Calls(), f.dir.Calls()
	for _, op := range storeWriteOps {
		w.store[op] = sc[op]
	}
	for _, op := range dirWriteOps {
		w.dir[op] = dc[op]
	}
	return w
}

// assertNoWrites fails when anything was written to the store or changed
// in the directory since before.
func (f *fixture) assertNoWrites(t testing.TB, before writes) {
	t.Helper()
	after := f.snapshot()
	for _, op := range storeWriteOps {
		if after.store[op] != before.store[op] {
			t.Errorf("store.%s called %d times by a refused request", op, after.store[op]-before.store[op])
		}
	}
	for _, op := range dirWriteOps {
		if after.dir[op] != before.dir[op] {
			t.Errorf("directory %s called %d times by a refused request", op, after.dir[op]-before.dir[op])
		}
	}
	if after.audit != before.audit {
		t.Errorf("%d audit records written by a refused request", after.audit-before.audit)
	}
}

func wantCode(t testing.TB, err error, code domain.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("got %s (%v), want %s", got, err, code)
	}
}

func wantStatus(t testing.TB, r domain.Request, s domain.Status) {
	t.Helper()
	if r.Status != s {
		t.Fatalf("request %s is %s (reason %q), want %s", r.ID, r.Status, r.StatusReason, s)
	}
}

func wantContains(t testing.TB, err error, sub string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Fatalf("error %v does not say %q", err, sub)
	}
}
