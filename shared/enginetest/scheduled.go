package enginetest

import (
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// ScheduledSub is user's activation of t for d starting at start.
func ScheduledSub(user domain.ObjectID, t domain.Target, start time.Time, d time.Duration) engine.Submission {
	in := ActivationSub(user, t, d)
	in.Schedule.Start = start
	return in
}

// scheduled submits in and fails unless it is ScheduleCreated with its
// schedule stored awaiting its start and nothing granted.
func (f *Fixture) scheduled(t *testing.T, caller domain.ObjectID, in engine.Submission) domain.Request {
	t.Helper()
	r, err := f.Submit(caller, in)
	if err != nil {
		t.Fatalf("scheduled %s: %v", in.Action, err)
	}
	WantStatus(t, r, domain.StatusScheduleCreated)
	s := f.GetSchedule(r.ID)
	if !s.AwaitingStart || !s.Start.Equal(in.Schedule.Start) || !s.Upcoming(f.Now) || !s.DueAt().Equal(in.Schedule.Start) {
		t.Fatalf("schedule %+v, want one awaiting its start %s", s, in.Schedule.Start)
	}
	return r
}

// testScheduledActivation: a future start is accepted, grants nothing, is
// listed as a schedule but not an instance, and the sweep grants it at its
// start (audited, notified) and ends it at its end.
func testScheduledActivation(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	start := f.Now.Add(2 * time.Hour)
	r := f.scheduled(t, alice, ScheduledSub(alice, RoleGA, start, time.Hour))
	if !r.StartAt.Equal(start) || !r.EndAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("window %s..%s, want %s..+1h", r.StartAt, r.EndAt, start)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	list := func(instances bool) int {
		p, err := f.Eng.ListSchedules(f.Ctx, f.Call(alice), engine.ScheduleFilter{Kind: domain.KindAssignment, PrincipalID: alice, InstancesOnly: instances})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}
	if s, i := list(false), list(true); s != 1 || i != 0 {
		t.Fatalf("listed as %d schedules and %d instances, want 1 and 0", s, i)
	}

	f.Advance(2*time.Hour - time.Second)
	if res := f.Sweep(); res.Started != 0 {
		t.Fatalf("sweep a second early started %d", res.Started)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("%d directory grants before the start", n)
	}

	f.Advance(time.Second)
	if res := f.Sweep(); res.Started != 1 || res.Errors != 0 {
		t.Fatalf("sweep at the start: %+v, want 1 started", res)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("the role was not granted at the start")
	}
	WantStatus(t, f.GetRequest(r.ID), domain.StatusProvisioned)
	if s := f.GetSchedule(r.ID); s.AwaitingStart || !s.DueAt().Equal(start.Add(time.Hour)) || s.Upcoming(f.Now) {
		t.Fatalf("started schedule %+v, want due at its end", s)
	}
	if s, i := list(false), list(true); s != 1 || i != 1 {
		t.Fatalf("after the start: %d schedules and %d instances, want 1 and 1", s, i)
	}
	if len(f.AuditsFor("schedule.start", alice)) != 1 || len(f.AuditsFor("grant.add", alice)) != 1 {
		t.Fatal("the start is not audited once as schedule.start and grant.add")
	}
	if res := f.Sweep(); res.Started != 0 {
		t.Fatalf("a second sweep started it again: %+v", res)
	}

	f.Advance(time.Hour - time.Second)
	f.Sweep()
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("ended before its end")
	}
	f.Advance(time.Second)
	if res := f.Sweep(); res.Expired != 1 {
		t.Fatalf("sweep at the end: %+v, want 1 expired", res)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	if err := f.VerifyAuditChain(); err != nil {
		t.Fatal(err)
	}
}

// testScheduledCancel: canceled before its start, a scheduled activation
// never grants, and its schedule is gone.
func testScheduledCancel(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	r := f.scheduled(t, alice, ScheduledSub(alice, RoleGA, f.Now.Add(time.Hour), time.Hour))
	got, err := f.Eng.Cancel(f.Ctx, f.Call(alice), domain.KindAssignment, r.ID)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	WantStatus(t, got, domain.StatusCanceled)
	if s := f.GetSchedule(r.ID); s.Status != domain.ScheduleRevoked || s.Live(f.Now) {
		t.Fatalf("schedule after cancel: %+v", s)
	}
	f.Advance(time.Hour)
	if res := f.Sweep(); res.Started != 0 {
		t.Fatalf("sweep started a canceled request: %+v", res)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("%d directory grants for a canceled request", n)
	}
	if _, err := f.Eng.Cancel(f.Ctx, f.Call(alice), domain.KindAssignment, r.ID); !domain.IsCode(err, domain.CodeConflict) {
		t.Fatalf("second cancel: %v, want a conflict", err)
	}
}

// testScheduledCancelRacesSweep: a cancel and the sweep's start racing:
// either the cancel wins and nothing is ever granted, or the start wins,
// the cancel gets a conflict, and the grant is whole. Never both, never
// half.
func testScheduledCancelRacesSweep(t *testing.T, su suite) {
	f := su.fixture(t)
	for round := range 6 {
		alice := f.NewUser()
		f.MakeEligible(alice, RoleGA)
		r := f.scheduled(t, alice, ScheduledSub(alice, RoleGA, f.Now.Add(time.Minute), 10*time.Minute))
		f.Advance(time.Minute)
		var wg sync.WaitGroup
		var cancelErr error
		wg.Go(func() { _, cancelErr = f.Eng.Cancel(f.Ctx, f.Call(alice), domain.KindAssignment, r.ID) })
		wg.Go(func() { _, _ = f.Eng.Sweep(f.Ctx, f.System()) })
		wg.Wait()
		f.Sweep() // whatever was left half-way
		got := f.GetRequest(r.ID)
		switch {
		case cancelErr == nil:
			WantStatus(t, got, domain.StatusCanceled)
			f.AssertNoAccess(t, alice, RoleGA)
			if s := f.GetSchedule(r.ID); s.Live(f.Now) {
				t.Fatalf("round %d: canceled, but its schedule is live: %+v", round, s)
			}
		case domain.IsCode(cancelErr, domain.CodeConflict):
			WantStatus(t, got, domain.StatusProvisioned)
			if !f.HasRole(alice, RoleGA) {
				t.Fatalf("round %d: the start won, but the role is not held", round)
			}
		default:
			t.Fatalf("round %d: cancel: %v", round, cancelErr)
		}
		f.Advance(20 * time.Minute)
		f.Sweep()
	}
}

// testScheduledApprovalKeepsWindow: approving a scheduled activation
// grants its window from the scheduled start, not from the approval.
func testScheduledApprovalKeepsWindow(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol := f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol))
	f.MakeEligible(alice, RoleGA)
	start := f.Now.Add(3 * time.Hour)
	r, err := f.Submit(alice, ScheduledSub(alice, RoleGA, start, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	WantStatus(t, r, domain.StatusPendingApproval)
	f.Advance(time.Hour)
	got, err := f.Decide(carol, r.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	WantStatus(t, got, domain.StatusScheduleCreated)
	if !got.StartAt.Equal(start) || !got.EndAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("approved window %s..%s, want %s..%s", got.StartAt, got.EndAt, start, start.Add(time.Hour))
	}
	f.AssertNoAccess(t, alice, RoleGA)
	f.Advance(2 * time.Hour)
	if res := f.Sweep(); res.Started != 1 {
		t.Fatalf("sweep at the start: %+v", res)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("not granted at the scheduled start")
	}
	if s := f.GetSchedule(r.ID); !s.Start.Equal(start) || !s.End.Equal(start.Add(time.Hour)) {
		t.Fatalf("schedule %s..%s, want the scheduled window", s.Start, s.End)
	}
	f.Advance(time.Hour)
	f.Sweep()
	f.AssertNoAccess(t, alice, RoleGA)
}

// testScheduledAdminAssignments: an admin's future-dated eligible and
// active assignments start on time; before, the eligibility cannot be
// activated and the active one grants nothing.
func testScheduledAdminAssignments(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, bob := f.NewUser(), f.NewUser()
	start := f.Now.Add(time.Hour)
	elig := EligibilitySub(alice, RoleGA, domain.ScheduleInfo{Start: start, ExpirationType: domain.ExpireAfterDuration, Duration: 30 * 24 * time.Hour})
	er := f.scheduled(t, f.Admin, elig)
	active := AssignSub(bob, RoleGA, 2*time.Hour)
	active.Schedule.Start = start
	ar := f.scheduled(t, f.Admin, active)
	if _, err := f.Activate(alice, RoleGA, time.Hour); !domain.IsCode(err, domain.CodeForbidden) {
		t.Fatalf("activation before the eligibility starts: %v, want forbidden", err)
	}
	f.AssertNoAccess(t, bob, RoleGA)

	f.Advance(time.Hour)
	if res := f.Sweep(); res.Started != 2 {
		t.Fatalf("sweep at the start: %+v, want 2 started", res)
	}
	WantStatus(t, f.GetRequest(er.ID), domain.StatusProvisioned)
	WantStatus(t, f.GetRequest(ar.ID), domain.StatusProvisioned)
	if !f.HasRole(bob, RoleGA) {
		t.Fatal("the active assignment was not granted at its start")
	}
	f.MustActivate(alice, RoleGA, time.Hour)
	f.Advance(2 * time.Hour)
	f.Sweep()
	f.AssertNoAccess(t, bob, RoleGA)
	f.AssertNoAccess(t, alice, RoleGA)
}

// testScheduledRemovedOrRefusedBeforeStart: a scheduled activation
// deactivated before its start, or whose account is disabled by its
// start, never grants.
func testScheduledRemovedOrRefusedBeforeStart(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, bob := f.NewUser(), f.NewUser()
	f.MakeEligible(alice, RoleGA)
	f.MakeEligible(bob, RoleGA)
	ra := f.scheduled(t, alice, ScheduledSub(alice, RoleGA, f.Now.Add(time.Hour), time.Hour))
	rb := f.scheduled(t, bob, ScheduledSub(bob, RoleGA, f.Now.Add(time.Hour), time.Hour))
	if _, err := f.Submit(alice, DeactivationSub(alice, RoleGA)); err != nil {
		t.Fatalf("deactivate before the start: %v", err)
	}
	WantStatus(t, f.GetRequest(ra.ID), domain.StatusRevoked)
	f.Dir.SetEnabled(bob, false)
	f.Advance(time.Hour)
	f.Sweep()
	WantStatus(t, f.GetRequest(rb.ID), domain.StatusFailed)
	for _, u := range []domain.ObjectID{alice, bob} {
		f.AssertNoAccess(t, u, RoleGA)
		for _, s := range f.SchedulesOf(u, domain.KindAssignment) {
			if s.Live(f.Now) || s.Status != domain.ScheduleRevoked {
				t.Errorf("schedule %s is %s, want Revoked", s.ID, s.Status)
			}
		}
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("%d directory grants", n)
	}
	if res := f.Sweep(); res.Started != 0 || res.Errors != 0 {
		t.Fatalf("a later sweep: %+v", res)
	}
}

// testScheduledOverlapRefused: a scheduled activation overlapping another
// (scheduled or running) of the same role is refused up front.
func testScheduledOverlapRefused(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	f.scheduled(t, alice, ScheduledSub(alice, RoleGA, f.Now.Add(2*time.Hour), time.Hour))
	_, err := f.Submit(alice, ScheduledSub(alice, RoleGA, f.Now.Add(150*time.Minute), time.Hour))
	WantCode(t, err, domain.CodeConflict)
	WantContains(t, err, "overlap")
	f.scheduled(t, alice, ScheduledSub(alice, RoleGA, f.Now.Add(3*time.Hour), time.Hour)) // right after: fine
}

// testScheduledCanceledButScheduleLeft: a cancel that stopped after its
// status change (its schedule still awaiting the start, as after a crash)
// still grants nothing: the sweep finds the request canceled at the start
// and retires the schedule.
func testScheduledCanceledButScheduleLeft(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	r := f.scheduled(t, alice, ScheduledSub(alice, RoleGA, f.Now.Add(time.Hour), time.Hour))
	if err := r.Apply(domain.EvCancel, f.Now, "canceled, then the process died"); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.UpdateRequest(f.Ctx, &r); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Hour)
	if res := f.Sweep(); res.Started != 0 || res.Errors != 0 {
		t.Fatalf("sweep: %+v, want nothing started", res)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("%d directory grants for a canceled request", n)
	}
	if s := f.GetSchedule(r.ID); s.Status != domain.ScheduleRevoked {
		t.Fatalf("schedule %s, want Revoked", s.Status)
	}
	WantStatus(t, f.GetRequest(r.ID), domain.StatusCanceled)
}
