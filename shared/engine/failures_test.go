package engine_test

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

func (f *fixture) failures() *failOn {
	x := &failOn{}
	f.dir.Fail = x.fn
	return x
}

// assertActivationFailedClean checks a failed activation left nothing that
// could give access later.
func assertActivationFailedClean(t *testing.T, f *fixture, user domain.ObjectID, r domain.Request) {
	t.Helper()
	wantStatus(t, r, domain.StatusFailed)
	wantStatus(t, f.getRequest(r.ID), domain.StatusFailed)
	if r.StatusReason == "" {
		t.Fatal("a failed request must say why")
	}
	f.assertNoAccess(t, user, roleGA)
	for _, s := range f.schedulesOf(user, domain.KindAssignment) {
		if s.Live(f.now) {
			t.Fatalf("failed activation left live schedule %+v", s)
		}
	}
	if g, ok := f.grant(user, roleGA); ok && g.HasHolder(r.ID) {
		t.Fatalf("failed activation left a grant holder: %+v", g)
	}
	if a := f.auditsFor("request.fail", user); len(a) != 1 || a[0].RequestID != r.ID {
		t.Fatalf("request.fail records %+v", a)
	}
	if a := f.auditsFor("grant.grant", user); len(a) != 1 || a[0].Outcome != "failure" {
		t.Fatalf("grant.grant failure records %+v", a)
	}
}

// TestGrantFailsAtActivation: the directory refuses the role assignment.
// The request fails, says why, and nothing grants it behind the user's back
// once the directory recovers.
func TestGrantFailsAtActivation(t *testing.T) {
	for _, code := range []domain.Code{domain.CodeTransient, domain.CodeForbidden, domain.CodeInternal} {
		t.Run(string(code), func(t *testing.T) {
			f := newFixture(t)
			alice := f.newUser()
			f.makeEligible(alice, roleGA)
			fail := f.failures()
			fail.set("AddRoleAssignment", code)

			r, err := f.activate(alice, roleGA, time.Hour)
			if err != nil {
				t.Fatalf("activation with a failing directory: %v", err)
			}
			assertActivationFailedClean(t, f, alice, r)
			wantContains(t, errorOf(r.StatusReason), "directory refused")
			if fail.hits != 1 {
				t.Fatalf("AddRoleAssignment attempted %d times", fail.hits)
			}

			fail.clear()
			for _, step := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour} {
				f.advance(step)
				f.sweep()
			}
			if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
				t.Fatalf("after recovery AddRoleAssignment was called %d times in all, want only the failed one", n)
			}
			f.assertNoAccess(t, alice, roleGA)
			if u, err := f.store.UnsettledGrants(f.ctx, 0); err != nil || len(u) != 0 {
				t.Fatalf("unsettled grants %+v %v", u, err)
			}

			// A fresh activation works once the directory is back.
			again, err := f.activate(alice, roleGA, time.Hour)
			if err != nil || again.Status != domain.StatusProvisioned || !f.hasRole(alice, roleGA) {
				t.Fatalf("activation after recovery: %+v %v", again, err)
			}
		})
	}
}

// TestRevokeFailsAtExpiry: the directory refuses to remove the role when the
// activation expires. The schedule still ends, the grant stays unsettled
// and audited as failing, never recorded as removed, and a later sweep
// (respecting the backoff) removes the role.
func TestRevokeFailsAtExpiry(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.makeEligible(alice, roleGA)
	act, err := f.activate(alice, roleGA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fail := f.failures()
	fail.set("RemoveRoleAssignment", domain.CodeTransient)

	f.advance(time.Hour + time.Minute)
	res := f.sweep()
	if res.Expired != 0 || res.RevokesPending != 1 {
		t.Fatalf("sweep: %+v, want the expiry pending on the directory", res)
	}
	// What the API lists is what the directory holds: the schedule stays live
	// (ending) until the revoke is confirmed.
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("schedule is %s, want still Provisioned while the directory holds the role", s.Status)
	}
	if !f.hasRole(alice, roleGA) {
		t.Fatal("the fake directory refused the removal, yet the role is gone")
	}
	unsettled := func() []domain.Grant {
		u, err := f.store.UnsettledGrants(f.ctx, 0)
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
	if !firstRetry.After(f.now) {
		t.Fatalf("NextAttempt %s is not after now %s", firstRetry, f.now)
	}
	if a := f.auditsFor("grant.revoke", alice); len(a) != 1 || a[0].Outcome != "failure" {
		t.Fatalf("grant.revoke records %+v: want one failure", a)
	}
	if n := len(f.auditsFor("grant.remove", alice)); n != 0 {
		t.Fatalf("the role was recorded removed %d times while the removal failed", n)
	}

	// Before NextAttempt a sweep leaves the directory alone, failing or not.
	fail.clear()
	f.advance(firstRetry.Sub(f.now) - time.Second)
	dirBefore := f.dir.Calls()
	if res := f.sweep(); res.GrantsRetried != 0 || res.GrantsFailing != 1 {
		t.Fatalf("sweep before NextAttempt: %+v", res)
	}
	if after := f.dir.Calls(); !sameCounts(dirBefore, after) {
		t.Fatalf("sweep before NextAttempt called the directory: %v -> %v", dirBefore, after)
	}
	if !f.hasRole(alice, roleGA) {
		t.Fatal("role removed before NextAttempt")
	}

	// At NextAttempt, failing again: backoff grows, still not recorded removed.
	fail.set("RemoveRoleAssignment", domain.CodeTransient)
	f.advance(time.Second)
	if res := f.sweep(); res.GrantsRetried != 1 || res.GrantsFailing != 1 {
		t.Fatalf("retry sweep: %+v", res)
	}
	u = unsettled()
	if len(u) != 1 || u[0].FailedAttempts != 2 || !u[0].NextAttempt.After(f.now.Add(time.Minute)) {
		t.Fatalf("after a second failure %+v: want 2 attempts and a longer backoff", u)
	}
	if n := len(f.auditsFor("grant.revoke", alice)); n != 2 {
		t.Fatalf("%d grant.revoke failure records, want 2", n)
	}
	if n := len(f.auditsFor("grant.remove", alice)); n != 0 {
		t.Fatal("recorded removed while failing")
	}

	// The directory recovers; the next due sweep removes the role.
	fail.clear()
	f.advance(u[0].NextAttempt.Sub(f.now))
	if res := f.sweep(); res.GrantsRetried != 1 || res.GrantsFailing != 0 || res.Expired != 1 || res.RevokesPending != 0 {
		t.Fatalf("recovery sweep: %+v", res)
	}
	if f.hasRole(alice, roleGA) {
		t.Fatal("the role survived the recovered retry")
	}
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("schedule is %s after the confirmed revoke, want Expired", s.Status)
	}
	if u := unsettled(); len(u) != 0 {
		t.Fatalf("still unsettled: %+v", u)
	}
	if a := f.auditsFor("grant.remove", alice); len(a) != 1 || a[0].Outcome != "success" {
		t.Fatalf("grant.remove records %+v", a)
	}
	dirBefore = f.dir.Calls()
	f.advance(time.Hour)
	if res := f.sweep(); res != (engine.SweepResult{}) {
		t.Fatalf("sweep with nothing to do: %+v", res)
	}
	if !sameCounts(dirBefore, f.dir.Calls()) {
		t.Fatal("idle sweep called the directory")
	}
}

// TestRevokeFailsAtDeactivate: a failed removal on selfDeactivate says so
// (PendingProvisioning, the activation still listed) instead of claiming
// Revoked, and the sweep finishes the removal and then says Revoked.
func TestRevokeFailsAtDeactivate(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.makeEligible(alice, roleGA)
	act, err := f.activate(alice, roleGA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fail := f.failures()
	fail.set("RemoveRoleAssignment", domain.CodeTransient)
	deact := f.mustSubmit(alice, deactivationSub(alice, roleGA))
	wantStatus(t, deact, domain.StatusPendingProvisioning)
	wantStatus(t, f.getRequest(act.ID), domain.StatusProvisioned)
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("the activation's schedule is %s while the directory still holds the role", s.Status)
	}
	if n := len(f.auditsFor("request.removalPending", alice)); n != 1 {
		t.Fatalf("%d request.removalPending records, want 1", n)
	}
	if n := len(f.auditsFor("grant.remove", alice)); n != 0 {
		t.Fatal("recorded removed while failing")
	}
	fail.clear()
	f.advance(2 * time.Minute)
	f.sweep()
	if f.hasRole(alice, roleGA) {
		t.Fatal("the sweep did not finish the removal")
	}
	wantStatus(t, f.getRequest(deact.ID), domain.StatusRevoked)
	wantStatus(t, f.getRequest(act.ID), domain.StatusRevoked)
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleRevoked {
		t.Fatalf("the activation's schedule is %s, want Revoked", s.Status)
	}
	// A new activation is possible: the failed removal does not block it.
	if r, err := f.activate(alice, roleGA, time.Hour); err != nil || r.Status != domain.StatusProvisioned {
		t.Fatalf("reactivation: %+v %v", r, err)
	}
}

// stuckRequest stores a Granted activation as if the process died between
// granting and provisioning it.
func stuckRequest(t *testing.T, f *fixture, user domain.ObjectID, elig domain.Request, age time.Duration) domain.Request {
	t.Helper()
	created := f.now.Add(-age)
	r := domain.Request{ID: uuid.NewString(), Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: user,
		Target: roleGA, Justification: "INC-9", Schedule: lasting(time.Hour), Status: domain.StatusGranted, CreatedBy: user,
		CreatedAt: created, StartAt: created, EndAt: created.Add(time.Hour), EligibilityScheduleID: elig.ID}
	if err := f.store.CreateRequest(f.ctx, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSweepResumesStuckRequest: a crash left a Granted request unprovisioned;
// the sweep provisions it exactly once, and a second sweep changes nothing.
func TestSweepResumesStuckRequest(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	elig := f.makeEligible(alice, roleGA)
	f.advance(10 * time.Minute)

	young := stuckRequest(t, f, f.newUser(), elig, f.cfg.StuckAfter/2) // still in flight: left alone
	r := stuckRequest(t, f, alice, elig, f.cfg.StuckAfter+time.Second)

	res := f.sweep()
	if res.RequestsResumed != 1 || res.Errors != 0 {
		t.Fatalf("sweep: %+v, want one resumed", res)
	}
	wantStatus(t, f.getRequest(r.ID), domain.StatusProvisioned)
	wantStatus(t, f.getRequest(young.ID), domain.StatusGranted)
	if !f.hasRole(alice, roleGA) || f.dir.RoleCount() != 1 {
		t.Fatalf("role held %v, %d assignments", f.hasRole(alice, roleGA), f.dir.RoleCount())
	}
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
	s := f.getSchedule(r.ID)
	if s.Status != domain.ScheduleProvisioned || !s.End.Equal(r.EndAt) || s.AssignmentType != domain.AssignmentActivated || s.EligibilityScheduleID != elig.ID {
		t.Fatalf("schedule %+v", s)
	}

	before := f.snapshot()
	dirBefore := f.dir.Calls()
	res = f.sweep()
	if res.RequestsResumed != 0 || res.Expired != 0 || res.GrantsRetried != 0 {
		t.Fatalf("second sweep: %+v", res)
	}
	f.assertNoWrites(t, before)
	if !sameCounts(dirBefore, f.dir.Calls()) {
		t.Fatal("second sweep called the directory")
	}
	if n := len(f.auditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records", n)
	}
	// It still expires on time.
	f.advance(time.Hour)
	f.sweep()
	if f.hasRole(alice, roleGA) {
		t.Fatal("the resumed activation did not expire")
	}
}

// TestSweepResumesHalfProvisioned: the crash came after the schedule and the
// grant holder were written but before the directory call.
func TestSweepResumesHalfProvisioned(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	elig := f.makeEligible(alice, roleGA)
	f.advance(10 * time.Minute)
	r := stuckRequest(t, f, alice, elig, 5*time.Minute)
	sc := domain.Schedule{ID: r.ID, Kind: r.Kind, PrincipalID: alice, Target: roleGA, AssignmentType: domain.AssignmentActivated,
		MemberType: domain.MemberDirect, Start: r.StartAt, End: r.EndAt, Status: domain.ScheduleProvisioned, CreatedUsing: r.ID,
		EligibilityScheduleID: elig.ID, CreatedAt: r.CreatedAt, ModifiedAt: r.CreatedAt}
	if err := f.store.CreateSchedule(f.ctx, &sc); err != nil {
		t.Fatal(err)
	}
	g := domain.Grant{PrincipalID: alice, Target: roleGA, Holders: []domain.Holder{{ScheduleID: r.ID, AssignmentType: domain.AssignmentActivated, End: r.EndAt}}}
	if err := f.store.PutGrant(f.ctx, &g); err != nil {
		t.Fatal(err)
	}

	// Several timers at once must still grant once.
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.eng.Sweep(f.ctx, f.system()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	wantStatus(t, f.getRequest(r.ID), domain.StatusProvisioned)
	if !f.hasRole(alice, roleGA) || f.dir.RoleCount() != 1 {
		t.Fatalf("role held %v, %d assignments", f.hasRole(alice, roleGA), f.dir.RoleCount())
	}
	if n := len(f.auditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	if s := f.schedulesOf(alice, domain.KindAssignment); len(s) != 1 {
		t.Fatalf("%d schedules", len(s))
	}
	if u, _ := f.store.UnsettledGrants(f.ctx, 0); len(u) != 0 {
		t.Fatalf("unsettled: %+v", u)
	}
}

// TestSweepDoesNotResumeIntoEndedWindow: a request stuck past its own end
// fails instead of granting access nobody is covered for.
func TestSweepDoesNotResumeIntoEndedWindow(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	elig := f.makeEligible(alice, roleGA)
	f.advance(3 * time.Hour)
	r := stuckRequest(t, f, alice, elig, 2*time.Hour)
	f.sweep()
	wantStatus(t, f.getRequest(r.ID), domain.StatusFailed)
	f.assertNoAccess(t, alice, roleGA)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
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
