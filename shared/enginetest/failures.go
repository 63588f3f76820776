package enginetest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// failOn makes the fake directory refuse op with code until cleared.
type failOn struct {
	mu   sync.Mutex
	ops  map[string]domain.Code
	hits int
}

func (x *failOn) set(op string, code domain.Code) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ops == nil {
		x.ops = map[string]domain.Code{}
	}
	x.ops[op] = code
}

func (x *failOn) clear() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ops = nil
}

func (x *failOn) fn(op string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if code, ok := x.ops[op]; ok {
		x.hits++
		return domain.Errorf(code, "graph said no to %s", op)
	}
	return nil
}

func (f *Fixture) failures() *failOn {
	x := &failOn{}
	f.Dir.Fail = x.fn
	return x
}

// assertActivationFailedClean checks a failed activation left nothing that
// could give access later.
func assertActivationFailedClean(t *testing.T, f *Fixture, user domain.ObjectID, r domain.Request) {
	t.Helper()
	WantStatus(t, r, domain.StatusFailed)
	WantStatus(t, f.GetRequest(r.ID), domain.StatusFailed)
	if r.StatusReason == "" {
		t.Fatal("a failed request must say why")
	}
	f.AssertNoAccess(t, user, RoleGA)
	for _, s := range f.SchedulesOf(user, domain.KindAssignment) {
		if s.Live(f.Now) {
			t.Fatalf("failed activation left live schedule %+v", s)
		}
	}
	if g, ok := f.Grant(user, RoleGA); ok && g.HasHolder(r.ID) {
		t.Fatalf("failed activation left a grant holder: %+v", g)
	}
	if a := f.AuditsFor("request.fail", user); len(a) != 1 || a[0].RequestID != r.ID {
		t.Fatalf("request.fail records %+v", a)
	}
	if a := f.AuditsFor("grant.grant", user); len(a) != 1 || a[0].Outcome != "failure" {
		t.Fatalf("grant.grant failure records %+v", a)
	}
}

// testGrantFailsAtActivation: the directory refuses the role assignment.
// The request fails, says why, and nothing grants it behind the user's back
// once the directory recovers.
func testGrantFailsAtActivation(t *testing.T, su suite) {
	for _, code := range []domain.Code{domain.CodeTransient, domain.CodeForbidden, domain.CodeInternal} {
		t.Run(string(code), func(t *testing.T) {
			f := su.fixture(t)
			alice := f.NewUser()
			f.MakeEligible(alice, RoleGA)
			fail := f.failures()
			fail.set("AddRoleAssignment", code)

			r, err := f.Activate(alice, RoleGA, time.Hour)
			if err != nil {
				t.Fatalf("activation with a failing directory: %v", err)
			}
			assertActivationFailedClean(t, f, alice, r)
			WantContains(t, errorOf(r.StatusReason), "directory refused")
			if fail.hits != 1 {
				t.Fatalf("AddRoleAssignment attempted %d times", fail.hits)
			}

			fail.clear()
			for _, step := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour} {
				f.Advance(step)
				f.Sweep()
			}
			if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
				t.Fatalf("after recovery AddRoleAssignment was called %d times in all, want only the failed one", n)
			}
			f.AssertNoAccess(t, alice, RoleGA)
			if u, err := f.Store.UnsettledGrants(f.Ctx, 0); err != nil || len(u) != 0 {
				t.Fatalf("unsettled grants %+v %v", u, err)
			}

			// A fresh activation works once the directory is back.
			again, err := f.Activate(alice, RoleGA, time.Hour)
			if err != nil || again.Status != domain.StatusProvisioned || !f.HasRole(alice, RoleGA) {
				t.Fatalf("activation after recovery: %+v %v", again, err)
			}
		})
	}
}

// testRevokeFailsAtExpiry: the directory refuses to remove the role when the
// activation expires. The schedule still ends, the grant stays unsettled
// and audited as failing, never recorded as removed, and a later sweep
// (respecting the backoff) removes the role.
func testRevokeFailsAtExpiry(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	act, err := f.Activate(alice, RoleGA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fail := f.failures()
	fail.set("RemoveRoleAssignment", domain.CodeTransient)

	f.Advance(time.Hour + time.Minute)
	res := f.Sweep()
	if res.Expired != 0 || res.RevokesPending != 1 {
		t.Fatalf("sweep: %+v, want the expiry pending on the directory", res)
	}
	// What the API lists is what the directory holds: the schedule stays live
	// (ending) until the revoke is confirmed.
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("schedule is %s, want still Provisioned while the directory holds the role", s.Status)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("the fake directory refused the removal, yet the role is gone")
	}
	unsettled := func() []domain.Grant {
		u, err := f.Store.UnsettledGrants(f.Ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := unsettled()
	if len(u) != 1 || u[0].PrincipalID != alice || u[0].Wanted() || !u[0].Applied || u[0].FailedAttempts != 1 || u[0].LastError == "" {
		t.Fatalf("unsettled grants %+v: want alice's, no holder, still applied, one failed attempt", u)
	}
	firstRetry := u[0].NextAttempt
	if !firstRetry.After(f.Now) {
		t.Fatalf("NextAttempt %s is not after now %s", firstRetry, f.Now)
	}
	if a := f.AuditsFor("grant.revoke", alice); len(a) != 1 || a[0].Outcome != "failure" {
		t.Fatalf("grant.revoke records %+v: want one failure", a)
	}
	if n := len(f.AuditsFor("grant.remove", alice)); n != 0 {
		t.Fatalf("the role was recorded removed %d times while the removal failed", n)
	}

	// Before NextAttempt a sweep leaves the directory alone, failing or not.
	fail.clear()
	f.Advance(firstRetry.Sub(f.Now) - time.Second)
	dirBefore := f.Dir.Calls()
	if res := f.Sweep(); res.GrantsRetried != 0 || res.GrantsFailing != 1 {
		t.Fatalf("sweep before NextAttempt: %+v", res)
	}
	if after := f.Dir.Calls(); !sameCounts(dirBefore, after) {
		t.Fatalf("sweep before NextAttempt called the directory: %v -> %v", dirBefore, after)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("role removed before NextAttempt")
	}

	// At NextAttempt, failing again: backoff grows, still not recorded removed.
	fail.set("RemoveRoleAssignment", domain.CodeTransient)
	f.Advance(time.Second)
	if res := f.Sweep(); res.GrantsRetried != 1 || res.GrantsFailing != 1 {
		t.Fatalf("retry sweep: %+v", res)
	}
	u = unsettled()
	if len(u) != 1 || u[0].FailedAttempts != 2 || !u[0].NextAttempt.After(f.Now.Add(time.Minute)) {
		t.Fatalf("after a second failure %+v: want 2 attempts and a longer backoff", u)
	}
	if n := len(f.AuditsFor("grant.revoke", alice)); n != 2 {
		t.Fatalf("%d grant.revoke failure records, want 2", n)
	}
	if n := len(f.AuditsFor("grant.remove", alice)); n != 0 {
		t.Fatal("recorded removed while failing")
	}

	// The directory recovers; the next due sweep removes the role.
	fail.clear()
	f.Advance(u[0].NextAttempt.Sub(f.Now))
	if res := f.Sweep(); res.GrantsRetried != 1 || res.GrantsFailing != 0 || res.Expired != 1 || res.RevokesPending != 0 {
		t.Fatalf("recovery sweep: %+v", res)
	}
	if f.HasRole(alice, RoleGA) {
		t.Fatal("the role survived the recovered retry")
	}
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("schedule is %s after the confirmed revoke, want Expired", s.Status)
	}
	if u := unsettled(); len(u) != 0 {
		t.Fatalf("still unsettled: %+v", u)
	}
	if a := f.AuditsFor("grant.remove", alice); len(a) != 1 || a[0].Outcome != "success" {
		t.Fatalf("grant.remove records %+v", a)
	}
	dirBefore = f.Dir.Calls()
	f.Advance(time.Hour)
	if res := f.Sweep(); res != (engine.SweepResult{}) {
		t.Fatalf("sweep with nothing to do: %+v", res)
	}
	if !sameCounts(dirBefore, f.Dir.Calls()) {
		t.Fatal("idle sweep called the directory")
	}
}

// testRevokeFailsAtDeactivate: a failed removal on selfDeactivate says so
// (PendingProvisioning, the activation still listed) instead of claiming
// Revoked, and the sweep finishes the removal and then says Revoked.
func testRevokeFailsAtDeactivate(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	act, err := f.Activate(alice, RoleGA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fail := f.failures()
	fail.set("RemoveRoleAssignment", domain.CodeTransient)
	deact := f.MustSubmit(alice, DeactivationSub(alice, RoleGA))
	WantStatus(t, deact, domain.StatusPendingProvisioning)
	WantStatus(t, f.GetRequest(act.ID), domain.StatusProvisioned)
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("the activation's schedule is %s while the directory still holds the role", s.Status)
	}
	if n := len(f.AuditsFor("request.removalPending", alice)); n != 1 {
		t.Fatalf("%d request.removalPending records, want 1", n)
	}
	if n := len(f.AuditsFor("grant.remove", alice)); n != 0 {
		t.Fatal("recorded removed while failing")
	}
	fail.clear()
	f.Advance(2 * time.Minute)
	f.Sweep()
	if f.HasRole(alice, RoleGA) {
		t.Fatal("the sweep did not finish the removal")
	}
	WantStatus(t, f.GetRequest(deact.ID), domain.StatusRevoked)
	WantStatus(t, f.GetRequest(act.ID), domain.StatusRevoked)
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleRevoked {
		t.Fatalf("the activation's schedule is %s, want Revoked", s.Status)
	}
	// A new activation is possible: the failed removal does not block it.
	if r, err := f.Activate(alice, RoleGA, time.Hour); err != nil || r.Status != domain.StatusProvisioned {
		t.Fatalf("reactivation: %+v %v", r, err)
	}
}

// stuckRequest stores a Granted activation as if the process died between
// granting and provisioning it.
func stuckRequest(t *testing.T, f *Fixture, user domain.ObjectID, elig domain.Request, age time.Duration) domain.Request {
	t.Helper()
	created := f.Now.Add(-age)
	r := domain.Request{ID: uuid.NewString(), Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: user,
		Target: RoleGA, Justification: "INC-9", Schedule: Lasting(time.Hour), Status: domain.StatusGranted, CreatedBy: user,
		CreatedAt: created, StartAt: created, EndAt: created.Add(time.Hour), EligibilityScheduleID: elig.ID}
	if err := f.Store.CreateRequest(f.Ctx, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// testSweepResumesStuckRequest: a crash left a Granted request unprovisioned;
// the sweep provisions it exactly once, and a second sweep changes nothing.
func testSweepResumesStuckRequest(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	elig := f.MakeEligible(alice, RoleGA)
	f.Advance(10 * time.Minute)

	young := stuckRequest(t, f, f.NewUser(), elig, f.Cfg.StuckAfter/2) // still in flight: left alone
	r := stuckRequest(t, f, alice, elig, f.Cfg.StuckAfter+time.Second)

	res := f.Sweep()
	if res.RequestsResumed != 1 || res.Errors != 0 {
		t.Fatalf("sweep: %+v, want one resumed", res)
	}
	WantStatus(t, f.GetRequest(r.ID), domain.StatusProvisioned)
	WantStatus(t, f.GetRequest(young.ID), domain.StatusGranted)
	if !f.HasRole(alice, RoleGA) || f.Dir.RoleCount() != 1 {
		t.Fatalf("role held %v, %d assignments", f.HasRole(alice, RoleGA), f.Dir.RoleCount())
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
	s := f.GetSchedule(r.ID)
	if s.Status != domain.ScheduleProvisioned || !s.End.Equal(r.EndAt) || s.AssignmentType != domain.AssignmentActivated || s.EligibilityScheduleID != elig.ID {
		t.Fatalf("schedule %+v", s)
	}

	before := f.Snapshot()
	dirBefore := f.Dir.Calls()
	res = f.Sweep()
	if res.RequestsResumed != 0 || res.Expired != 0 || res.GrantsRetried != 0 {
		t.Fatalf("second sweep: %+v", res)
	}
	f.AssertNoWrites(t, before)
	if !sameCounts(dirBefore, f.Dir.Calls()) {
		t.Fatal("second sweep called the directory")
	}
	if n := len(f.AuditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records", n)
	}
	// It still expires on time.
	f.Advance(time.Hour)
	f.Sweep()
	if f.HasRole(alice, RoleGA) {
		t.Fatal("the resumed activation did not expire")
	}
}

// testSweepResumesHalfProvisioned: the crash came after the schedule and the
// grant holder were written but before the directory call.
func testSweepResumesHalfProvisioned(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	elig := f.MakeEligible(alice, RoleGA)
	f.Advance(10 * time.Minute)
	r := stuckRequest(t, f, alice, elig, 5*time.Minute)
	sc := domain.Schedule{ID: r.ID, Kind: r.Kind, PrincipalID: alice, Target: RoleGA, AssignmentType: domain.AssignmentActivated,
		MemberType: domain.MemberDirect, Start: r.StartAt, End: r.EndAt, Status: domain.ScheduleProvisioned, CreatedUsing: r.ID,
		EligibilityScheduleID: elig.ID, CreatedAt: r.CreatedAt, ModifiedAt: r.CreatedAt}
	if err := f.Store.CreateSchedule(f.Ctx, &sc); err != nil {
		t.Fatal(err)
	}
	g := domain.Grant{PrincipalID: alice, Target: RoleGA, Holders: []domain.Holder{{ScheduleID: r.ID, AssignmentType: domain.AssignmentActivated, End: r.EndAt}}}
	if err := f.Store.PutGrant(f.Ctx, &g); err != nil {
		t.Fatal(err)
	}

	// Several timers at once must still grant once.
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Eng.Sweep(f.Ctx, f.System()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	WantStatus(t, f.GetRequest(r.ID), domain.StatusProvisioned)
	if !f.HasRole(alice, RoleGA) || f.Dir.RoleCount() != 1 {
		t.Fatalf("role held %v, %d assignments", f.HasRole(alice, RoleGA), f.Dir.RoleCount())
	}
	if n := len(f.AuditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	if s := f.SchedulesOf(alice, domain.KindAssignment); len(s) != 1 {
		t.Fatalf("%d schedules", len(s))
	}
	if u, _ := f.Store.UnsettledGrants(f.Ctx, 0); len(u) != 0 {
		t.Fatalf("unsettled: %+v", u)
	}
}

// testSweepDoesNotResumeIntoEndedWindow: a request stuck past its own end
// fails instead of granting access nobody is covered for.
func testSweepDoesNotResumeIntoEndedWindow(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	elig := f.MakeEligible(alice, RoleGA)
	f.Advance(3 * time.Hour)
	r := stuckRequest(t, f, alice, elig, 2*time.Hour)
	f.Sweep()
	WantStatus(t, f.GetRequest(r.ID), domain.StatusFailed)
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
