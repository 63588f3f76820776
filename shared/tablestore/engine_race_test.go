package tablestore_test

// Engine races against the Table Storage store on Azurite: the guarantees
// the memstore-based engine tests prove (one winner, one grant, one audit
// record) must hold when the conditional writes are real ETags over HTTP.
// Run with -race.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// roleApp is the role users activate (Application Administrator); the
// admin holds Global Administrator, so the two never mix in the directory.
var roleApp = domain.RoleTarget("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", domain.TenantScope)

// engFix is one engine on a fresh set of tables and a fake directory, with
// an injected clock. The admin holds Global Administrator in the directory.
type engFix struct {
	t     testing.TB
	ctx   context.Context
	store *tablestore.Store
	dir   *fakedir.Dir
	eng   *engine.Engine
	admin domain.ObjectID

	mu  sync.Mutex
	now time.Time
	inv int
}

// newEngFix builds a fixture; opts.TablePrefix is fresh unless given.
func newEngFix(t testing.TB, conn string, opts tablestore.Options, mods ...func(*engine.Config)) *engFix {
	t.Helper()
	f := &engFix{t: t, ctx: context.Background(), dir: fakedir.New(),
		now: time.Now().UTC().Truncate(time.Millisecond)}
	if opts.TablePrefix == "" {
		opts.TablePrefix = prefix()
	}
	f.store = newStore(t, conn, opts)
	f.admin = f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, f.admin, domain.RoleGlobalAdministrator, domain.TenantScope); err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultConfig()
	for _, m := range mods {
		m(&cfg)
	}
	f.eng = engine.New(f.store, f.dir, cfg)
	return f
}

func (f *engFix) newUser() domain.ObjectID {
	id := domain.ObjectID(uuid.NewString())
	f.dir.AddUser(domain.User{ID: id, UserPrincipalName: string(id) + "@contoso.example", DisplayName: "user " + string(id), Enabled: true})
	return id
}

func (f *engFix) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *engFix) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// call is a call by id at the fixture's now, signed in with fresh MFA.
func (f *engFix) call(id domain.ObjectID) *engine.Call {
	f.mu.Lock()
	f.inv++
	now, inv := f.now, fmt.Sprintf("inv-%d", f.inv)
	f.mu.Unlock()
	auth := domain.AuthEvidence{MFA: true, AuthenticatedAt: now}
	if id == engine.SystemActor {
		auth = domain.AuthEvidence{}
	}
	return engine.NewCall(now, inv, engine.Caller{ID: id, Auth: auth}, nil)
}

func (f *engFix) submit(caller domain.ObjectID, in engine.Submission) (domain.Request, error) {
	return f.eng.Submit(f.ctx, f.call(caller), in)
}

// makeEligible has the admin give user a permanent eligibility through the engine.
func (f *engFix) makeEligible(user domain.ObjectID, t domain.Target) {
	f.t.Helper()
	r, err := f.submit(f.admin, engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminAssign, PrincipalID: user,
		Target: t, Justification: "on-call rota", Schedule: domain.ScheduleInfo{ExpirationType: domain.ExpireNever}})
	if err != nil || r.Status != domain.StatusProvisioned {
		f.t.Fatalf("eligibility for %s: %+v %v", user, r.Status, err)
	}
}

// seedEligible stores a permanent eligibility directly, as a migration
// would: three round trips instead of an engine request. end may be zero.
func (f *engFix) seedEligible(user domain.ObjectID, t domain.Target, end time.Time) {
	f.t.Helper()
	now := f.clock()
	s := domain.Schedule{ID: uuid.NewString(), Kind: domain.KindEligibility, PrincipalID: user, Target: t,
		AssignmentType: domain.AssignmentAssigned, MemberType: domain.MemberDirect, Start: now.Add(-time.Hour), End: end,
		Status: domain.ScheduleProvisioned, CreatedAt: now, ModifiedAt: now}
	if err := f.store.CreateSchedule(f.ctx, &s); err != nil {
		f.t.Fatalf("seeding an eligibility: %v", err)
	}
}

func activation(user domain.ObjectID, t domain.Target, d time.Duration) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: user, Target: t,
		Justification: "INC-4711 tenant outage", Schedule: domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: d}}
}

func deactivation(user domain.ObjectID, t domain.Target) engine.Submission {
	return engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfDeactivate, PrincipalID: user, Target: t}
}

func (f *engFix) activate(user domain.ObjectID, t domain.Target, d time.Duration) (domain.Request, error) {
	return f.submit(user, activation(user, t, d))
}

func (f *engFix) mustActivate(user domain.ObjectID, t domain.Target, d time.Duration) domain.Request {
	f.t.Helper()
	r, err := f.activate(user, t, d)
	if err != nil || r.Status != domain.StatusProvisioned {
		f.t.Fatalf("activation by %s: %s (%s) %v", user, r.Status, r.StatusReason, err)
	}
	return r
}

// requireApproval makes activation of t need one stage decided by approvers.
func (f *engFix) requireApproval(t domain.Target, approvers ...domain.Approver) {
	f.t.Helper()
	_, err := f.eng.UpdatePolicy(f.ctx, f.call(f.admin), domain.PolicyID(t), func(p *domain.Policy) error {
		p.Activation.ApprovalRequired = true
		p.Activation.ApprovalMode = domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: approvers}}
		return nil
	})
	if err != nil {
		f.t.Fatalf("UpdatePolicy: %v", err)
	}
}

func (f *engFix) sweep() engine.SweepResult {
	f.t.Helper()
	res, err := f.eng.Sweep(f.ctx, f.call(engine.SystemActor))
	if err != nil {
		f.t.Fatalf("Sweep: %v", err)
	}
	return res
}

// audits returns every audit record with action ("" for all), oldest first.
func (f *engFix) audits(action string) []domain.AuditRecord {
	f.t.Helper()
	var all []domain.AuditRecord
	q := domain.AuditQuery{Limit: 999}
	for {
		p, err := f.store.ListAudit(f.ctx, q)
		if err != nil {
			f.t.Fatalf("ListAudit: %v", err)
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

func (f *engFix) auditsFor(action string, principal domain.ObjectID) []domain.AuditRecord {
	var out []domain.AuditRecord
	for _, r := range f.audits(action) {
		if r.PrincipalID == principal {
			out = append(out, r)
		}
	}
	return out
}

func (f *engFix) verifyChain() {
	f.t.Helper()
	recs := f.audits("")
	if i := domain.VerifyChain(recs); i >= 0 {
		f.t.Fatalf("audit chain broken at record %d of %d", i, len(recs))
	}
}

func (f *engFix) getRequest(id string) (domain.Request, bool) {
	f.t.Helper()
	r, err := f.store.GetRequest(f.ctx, id)
	if domain.IsCode(err, domain.CodeNotFound) {
		return r, false
	} else if err != nil {
		f.t.Fatalf("GetRequest %s: %v", id, err)
	}
	return r, true
}

func (f *engFix) grant(user domain.ObjectID, t domain.Target) (domain.Grant, bool) {
	f.t.Helper()
	g, err := f.store.GetGrant(f.ctx, domain.GrantKey(user, t))
	if domain.IsCode(err, domain.CodeNotFound) {
		return g, false
	} else if err != nil {
		f.t.Fatalf("GetGrant: %v", err)
	}
	return g, true
}

func (f *engFix) requestsOf(user domain.ObjectID) []domain.Request {
	f.t.Helper()
	var out []domain.Request
	q := domain.RequestQuery{PrincipalID: user, Limit: 500}
	for {
		p, err := f.store.ListRequests(f.ctx, q)
		if err != nil {
			f.t.Fatalf("ListRequests: %v", err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

func (f *engFix) schedulesOf(user domain.ObjectID, kind domain.RequestKind) []domain.Schedule {
	f.t.Helper()
	var out []domain.Schedule
	q := domain.ScheduleQuery{Kind: kind, PrincipalID: user, IncludeEnded: true, Limit: 500}
	for {
		p, err := f.store.ListSchedules(f.ctx, q)
		if err != nil {
			f.t.Fatalf("ListSchedules: %v", err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

func (f *engFix) liveActivations(user domain.ObjectID, t domain.Target) []domain.Schedule {
	var live []domain.Schedule
	now := f.clock()
	for _, s := range f.schedulesOf(user, domain.KindAssignment) {
		if s.Target == t && s.Live(now) {
			live = append(live, s)
		}
	}
	return live
}

func (f *engFix) hasRole(user domain.ObjectID, t domain.Target) bool {
	return f.dir.HasRole(user, t.RoleDefinitionID, t.DirectoryScopeID)
}

// stampede runs fn on n goroutines released at once and returns their results.
func stampede[T any](n int, fn func(i int) T) []T {
	out := make([]T, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

type submitted struct {
	r   domain.Request
	err error
}

const racers = 50

// TestEngineRaceDecide: 50 approvers (members of the approver group)
// approve one pending activation at once. Exactly one decision wins, the
// other 49 are conflicts, and the role is assigned once.
func TestEngineRaceDecide(t *testing.T) {
	conn := azuritetest.Start(t)
	f := newEngFix(t, conn, tablestore.Options{})
	alice := f.newUser()
	group := domain.ObjectID(uuid.NewString())
	approvers := make([]domain.ObjectID, racers)
	for i := range approvers {
		approvers[i] = f.newUser()
		f.dir.AddMember(group, approvers[i])
	}
	f.requireApproval(roleApp, domain.Approver{Kind: domain.ApproverGroup, ID: group})
	f.makeEligible(alice, roleApp)
	pending, err := f.activate(alice, roleApp, time.Hour)
	if err != nil || pending.Status != domain.StatusPendingApproval || pending.Approval == nil {
		t.Fatalf("activation: %s %v, want PendingApproval", pending.Status, err)
	}
	stage := pending.Approval.Stages[0].ID
	f.advance(time.Minute)
	roles, adds := f.dir.RoleCount(), f.dir.Calls()["AddRoleAssignment"]

	res := stampede(racers, func(i int) submitted {
		r, err := f.eng.Decide(f.ctx, f.call(approvers[i]), pending.ID, engine.Decision{StageID: stage, Result: "Approve", Justification: "ok"})
		return submitted{r, err}
	})
	wins, conflicts := 0, 0
	var winner domain.Request
	for _, o := range res {
		switch {
		case o.err == nil:
			wins++
			winner = o.r
		case domain.IsCode(o.err, domain.CodeConflict):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", o.err)
		}
	}
	if wins != 1 || conflicts != racers-1 {
		t.Fatalf("%d successes and %d conflicts, want 1 and %d", wins, conflicts, racers-1)
	}
	if winner.Status != domain.StatusProvisioned {
		t.Fatalf("winning decision returned %s (%s), want Provisioned", winner.Status, winner.StatusReason)
	}
	if r, _ := f.getRequest(pending.ID); r.Status != domain.StatusProvisioned {
		t.Fatalf("stored request is %s (%s), want Provisioned", r.Status, r.StatusReason)
	}
	if n := f.dir.RoleCount() - roles; n != 1 || !f.hasRole(alice, roleApp) {
		t.Fatalf("%d new role assignments, want alice's one", n)
	}
	if n := f.dir.Calls()["AddRoleAssignment"] - adds; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
	if n := len(f.audits("grant.add")); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	if a := f.audits("approval.decide"); len(a) != 1 || a[0].ActorID != winner.Approval.Stages[0].ReviewedBy {
		t.Fatalf("approval.decide records %+v, want one by the winner", a)
	}
	if s := f.schedulesOf(alice, domain.KindAssignment); len(s) != 1 || s[0].ID != pending.ID || !s[0].Live(f.clock()) {
		t.Fatalf("activation schedules %+v, want one live %s", s, pending.ID)
	}
	if g, _ := f.grant(alice, roleApp); len(g.Holders) != 1 || !g.HasHolder(pending.ID) || !g.Applied {
		t.Fatalf("grant %+v, want the request as only holder, applied", g)
	}
	f.verifyChain()
}

// TestEngineRaceSelfActivate: 50 activations of one eligibility at once,
// each its own submission. One is provisioned; the others are refused or
// fail; no loser leaves a live schedule or a grant holder.
func TestEngineRaceSelfActivate(t *testing.T) {
	conn := azuritetest.Start(t)
	f := newEngFix(t, conn, tablestore.Options{})
	alice := f.newUser()
	f.makeEligible(alice, roleApp)
	roles, adds := f.dir.RoleCount(), f.dir.Calls()["AddRoleAssignment"]

	res := stampede(racers, func(i int) submitted {
		r, err := f.activate(alice, roleApp, time.Hour)
		return submitted{r, err}
	})
	provisioned, failed, refused := 0, 0, 0
	var winner domain.Request
	for _, o := range res {
		switch {
		case o.err != nil:
			if !domain.IsCode(o.err, domain.CodeConflict) {
				t.Errorf("unexpected error: %v", o.err)
			}
			refused++
		case o.r.Status == domain.StatusProvisioned:
			provisioned++
			winner = o.r
		default:
			// A loser hears 409, never "201 Failed": it lost a race.
			t.Errorf("a caller got status %s (%s) without an error, want Provisioned or 409", o.r.Status, o.r.StatusReason)
		}
	}
	t.Logf("%d provisioned, %d failed, %d refused", provisioned, failed, refused)
	if provisioned != 1 || provisioned+failed+refused != racers {
		t.Fatalf("%d provisioned, %d failed, %d refused; want exactly one provisioned", provisioned, failed, refused)
	}
	stored := 0
	for _, r := range f.requestsOf(alice) {
		if r.Action != domain.ActionSelfActivate {
			continue
		}
		stored++
		if r.ID == winner.ID && r.Status != domain.StatusProvisioned {
			t.Fatalf("the winner %s is stored as %s", r.ID, r.Status)
		}
		if r.ID != winner.ID && r.Status != domain.StatusFailed {
			t.Fatalf("losing request %s is %s, want Failed", r.ID, r.Status)
		}
	}
	// Losers refused after their request was stored (the grant race) leave it Failed.
	if stored < 1 || stored > provisioned+refused {
		t.Fatalf("%d activation requests stored, want 1 to %d", stored, provisioned+refused)
	}
	if n := f.dir.RoleCount() - roles; n != 1 || !f.hasRole(alice, roleApp) {
		t.Fatalf("%d new role assignments, want alice's one", n)
	}
	if n := f.dir.Calls()["AddRoleAssignment"] - adds; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
	if n := len(f.audits("grant.add")); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	g, _ := f.grant(alice, roleApp)
	if len(g.Holders) != 1 || !g.HasHolder(winner.ID) || !g.Applied {
		t.Fatalf("grant %+v: want the winner as only holder, applied", g)
	}
	if live := f.liveActivations(alice, roleApp); len(live) != 1 || live[0].ID != winner.ID {
		t.Fatalf("live activation schedules %+v, want just the winner's", live)
	}
	f.verifyChain()

	// The one activation still ends on time and takes the role with it.
	f.advance(time.Hour + time.Minute)
	if res := f.sweep(); res.Expired != 1 || res.Errors != 0 {
		t.Fatalf("sweep %+v, want 1 expired", res)
	}
	if f.hasRole(alice, roleApp) {
		t.Fatal("the role outlived the activation")
	}
}

// TestEngineRaceIdempotentSubmit: 50 submissions of one selfActivate with
// one Idempotency-Key at once: all get the same request back, one request
// is stored, one grant is made.
func TestEngineRaceIdempotentSubmit(t *testing.T) {
	conn := azuritetest.Start(t)
	f := newEngFix(t, conn, tablestore.Options{})
	alice := f.newUser()
	f.makeEligible(alice, roleApp)
	in := activation(alice, roleApp, time.Hour)
	in.IdempotencyKey = "double-click-" + uuid.NewString()
	want := engine.RequestID(alice, in.IdempotencyKey)
	roles, adds := f.dir.RoleCount(), f.dir.Calls()["AddRoleAssignment"]

	res := stampede(racers, func(i int) submitted {
		r, err := f.submit(alice, in)
		return submitted{r, err}
	})
	for i, o := range res {
		if o.err != nil {
			t.Fatalf("submission %d: %v", i, o.err)
		}
		if o.r.ID != want {
			t.Fatalf("submission %d returned request %s, want %s", i, o.r.ID, want)
		}
		if o.r.Status == domain.StatusFailed {
			t.Fatalf("submission %d: request failed: %s", i, o.r.StatusReason)
		}
	}
	if r, _ := f.getRequest(want); r.Status != domain.StatusProvisioned {
		t.Fatalf("stored request is %s (%s), want Provisioned", r.Status, r.StatusReason)
	}
	n := 0
	for _, r := range f.requestsOf(alice) {
		if r.Action == domain.ActionSelfActivate {
			n++
			if r.ID != want {
				t.Fatalf("a second activation request %s was stored", r.ID)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d activation requests stored, want 1", n)
	}
	if s := f.schedulesOf(alice, domain.KindAssignment); len(s) != 1 || s[0].ID != want {
		t.Fatalf("activation schedules %+v, want just %s", s, want)
	}
	if n := f.dir.RoleCount() - roles; n != 1 || !f.hasRole(alice, roleApp) {
		t.Fatalf("%d new role assignments, want alice's one", n)
	}
	if n := f.dir.Calls()["AddRoleAssignment"] - adds; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
	if n := len(f.audits("grant.add")); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	if n := len(f.auditsFor("request.create", alice)); n != 2 { // the eligibility and the one activation
		t.Fatalf("%d request.create records for alice, want 2", n)
	}
	if g, _ := f.grant(alice, roleApp); len(g.Holders) != 1 || !g.HasHolder(want) || !g.Applied {
		t.Fatalf("grant %+v: want one holder %s, applied", g, want)
	}
	f.verifyChain()
}

// writeFault is a transport that fails the nth write (any method but GET
// and HEAD) after it is armed, once, then passes everything through.
// With after set, the write is sent first, so it lands and only its answer
// is lost.
type writeFault struct {
	mu     sync.Mutex
	armed  bool
	n      int // 0: count only
	status int
	after  bool
	writes int
	hit    string
}

func (w *writeFault) arm(n, status int, after bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.n, w.status, w.after, w.writes, w.hit = true, n, status, after, 0, ""
}

func (w *writeFault) disarm() (writes int, hit string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	return w.writes, w.hit
}

func (w *writeFault) Do(req *http.Request) (*http.Response, error) {
	fire := false
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.mu.Lock()
		if w.armed {
			w.writes++
			if w.writes == w.n {
				fire = true
				w.hit = req.Method + " " + req.URL.Path
			}
		}
		w.mu.Unlock()
	}
	if !fire {
		return http.DefaultTransport.RoundTrip(req)
	}
	if w.after {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		resp.Body.Close()
	}
	return injected(req, w.status), nil
}

// TestEngineActivationStorageFault fails one write of an activation, each
// write in turn: with 503 (nothing written) and with 500 after the write
// landed (the answer is lost), once with the store's own retries and once
// with retries off so that the engine sees the failure. Whatever the
// engine answers, right away there is never directory access without a
// live schedule holding the grant, never two holders or live activations;
// and after the sweep has had its chance the request is either
// provisioned with everything in place or failed (or never stored) with
// no holder, no live schedule and no access left.
func TestEngineActivationStorageFault(t *testing.T) {
	conn := azuritetest.Start(t)
	modes := []struct {
		name        string
		status      int
		after       bool
		maxAttempts int
	}{
		{"503/retried", http.StatusServiceUnavailable, false, 0},
		{"503/surfaced", http.StatusServiceUnavailable, false, 1},
		{"500-landed/retried", http.StatusInternalServerError, true, 0},
		{"500-landed/surfaced", http.StatusInternalServerError, true, 1},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			wf := &writeFault{}
			f := newEngFix(t, conn, tablestore.Options{Client: &policy.ClientOptions{Transport: wf},
				MaxAttempts: m.maxAttempts, RetryDelay: time.Millisecond},
				func(c *engine.Config) { c.StuckAfter = time.Second })
			f.sweep() // warm the audit head, so every run writes the same sequence

			// A clean activation tells how many writes one makes.
			probe := f.newUser()
			f.makeEligible(probe, roleApp)
			wf.arm(0, 0, false)
			f.mustActivate(probe, roleApp, time.Hour)
			writes, _ := wf.disarm()
			if writes < 5 {
				t.Fatalf("a clean activation made %d writes", writes)
			}
			completed, failed := 0, 0
			for n := 1; n <= writes; n++ {
				user := f.newUser()
				f.makeEligible(user, roleApp)
				wf.arm(n, m.status, m.after)
				r, err := f.activate(user, roleApp, time.Hour)
				_, hit := wf.disarm()
				if hit == "" {
					continue // this run made fewer writes (parallel index writes may merge differently)
				}
				if err == nil && r.Status != domain.StatusProvisioned && r.Status != domain.StatusFailed {
					t.Fatalf("write %d (%s): Submit returned %s without an error", n, hit, r.Status)
				}
				if m.maxAttempts == 0 && (err != nil || r.Status != domain.StatusProvisioned) {
					t.Errorf("write %d (%s): one retried fault should be invisible, got %s (%s) %v", n, hit, r.Status, r.StatusReason, err)
				}
				f.checkActivationState(fmt.Sprintf("write %d (%s), right after", n, hit), user, roleApp)
				// Let the sweep resume or settle whatever was left.
				f.advance(2 * time.Second)
				f.sweep()
				if f.checkActivationState(fmt.Sprintf("write %d (%s), after the sweep", n, hit), user, roleApp) {
					completed++
				} else {
					failed++
				}
				t.Logf("write %d %-70s Submit: %-12s err=%v", n, hit, r.Status, err != nil)
			}
			t.Logf("%d writes per activation; %d completed, %d failed cleanly", writes, completed, failed)
			f.verifyChain()
		})
	}
}

// checkActivationState checks user's activation of t and reports whether
// it is provisioned. Access or a holder always comes with a live
// activation schedule; there is at most one of each; a request that is
// not provisioned has left nothing behind once the sweep has run.
func (f *engFix) checkActivationState(when string, user domain.ObjectID, t domain.Target) (provisioned bool) {
	f.t.Helper()
	live := f.liveActivations(user, t)
	g, _ := f.grant(user, t)
	role := f.hasRole(user, t)
	var reqs []domain.Request
	for _, r := range f.requestsOf(user) {
		if r.Action == domain.ActionSelfActivate {
			reqs = append(reqs, r)
		}
	}
	state := fmt.Sprintf("%s: %d live activations, grant holders %+v applied=%v, role=%v, requests %v",
		when, len(live), g.Holders, g.Applied, role, statuses(reqs))
	if len(live) > 1 || len(g.Holders) > 1 || len(reqs) > 1 {
		f.t.Fatalf("%s: more than one", state)
	}
	if role && (len(live) != 1 || len(g.Holders) != 1) {
		f.t.Fatalf("%s: access without a live schedule holding it", state)
	}
	for _, h := range g.Holders {
		if len(live) != 1 || live[0].ID != h.ScheduleID {
			f.t.Fatalf("%s: a holder without its live schedule", state)
		}
	}
	if len(reqs) == 1 && reqs[0].Status == domain.StatusProvisioned {
		if !role || len(live) != 1 || live[0].ID != reqs[0].ID || !g.Applied || !g.HasHolder(reqs[0].ID) {
			f.t.Fatalf("%s: provisioned but incomplete", state)
		}
		return true
	}
	if strings.HasSuffix(when, "after the sweep") {
		if len(reqs) == 1 && reqs[0].Status != domain.StatusFailed {
			f.t.Fatalf("%s: neither provisioned nor failed", state)
		}
		if role || len(live) != 0 || len(g.Holders) != 0 || !g.Settled() {
			f.t.Fatalf("%s: a failed activation left something behind", state)
		}
	}
	return false
}

func statuses(rs []domain.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Status))
	}
	return out
}

// TestEngineRaceSweep runs the expiry sweep twice at once over 20 due
// activations: each is revoked once, every schedule ends Expired, every
// grant settles with nobody holding it.
func TestEngineRaceSweep(t *testing.T) {
	conn := azuritetest.Start(t)
	f := newEngFix(t, conn, tablestore.Options{})
	const due = 20
	users := make([]domain.ObjectID, due)
	ids := make([]string, due)
	for i := range users {
		users[i] = f.newUser()
		f.makeEligible(users[i], roleApp)
		ids[i] = f.mustActivate(users[i], roleApp, time.Hour).ID
	}
	roles := f.dir.RoleCount()
	removes := f.dir.Calls()["RemoveRoleAssignment"]
	f.advance(time.Hour + time.Minute)

	res := stampede(2, func(int) submitted {
		_, err := f.eng.Sweep(f.ctx, f.call(engine.SystemActor))
		return submitted{err: err}
	})
	for _, o := range res {
		if o.err != nil {
			t.Fatalf("Sweep: %v", o.err)
		}
	}
	if n := f.dir.Calls()["RemoveRoleAssignment"] - removes; n != due {
		t.Errorf("RemoveRoleAssignment called %d times, want %d", n, due)
	}
	if n := roles - f.dir.RoleCount(); n != due {
		t.Errorf("%d role assignments removed, want %d", n, due)
	}
	for i, u := range users {
		if f.hasRole(u, roleApp) {
			t.Errorf("user %d still holds the role", i)
		}
		s, err := f.store.GetSchedule(f.ctx, ids[i])
		if err != nil || s.Status != domain.ScheduleExpired {
			t.Errorf("schedule %d: %s %v, want Expired", i, s.Status, err)
		}
		if g, _ := f.grant(u, roleApp); len(g.Holders) != 0 || g.Applied || !g.Settled() {
			t.Errorf("grant %d: %+v, want settled with no holder", i, g)
		}
		if n := len(f.auditsFor("grant.remove", u)); n != 1 {
			t.Errorf("user %d: %d grant.remove records, want 1", i, n)
		}
		if n := len(f.auditsFor("schedule.expire", u)); n != 1 {
			t.Errorf("user %d: %d schedule.expire records, want 1", i, n)
		}
	}
	if g, err := f.store.UnsettledGrants(f.ctx, 0); err != nil || len(g) != 0 {
		t.Errorf("unsettled grants %+v %v, want none", g, err)
	}
	f.verifyChain()
}
