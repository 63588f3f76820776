package enginetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// StageAdmin is the stage of a selfExtend or selfRenew request.
const StageAdmin = "admin"

// selfExtendSub is user's request to extend their kind of t to end
// d after its start.
func selfExtendSub(user domain.ObjectID, kind domain.RequestKind, t domain.Target, d time.Duration) engine.Submission {
	return engine.Submission{Kind: kind, Action: domain.ActionSelfExtend, PrincipalID: user, Target: t,
		Justification: "the migration runs another month", Schedule: Lasting(d)}
}

// decideAdmin has admin decide the admin stage of request id.
func (f *Fixture) decideAdmin(admin domain.ObjectID, id, result string) (domain.Request, error) {
	return f.Eng.Decide(f.Ctx, f.Call(admin), id, engine.Decision{StageID: StageAdmin, Result: result, Justification: "checked with the team lead"})
}

// dueAt reports whether schedule id is in the store's due index at now.
func (f *Fixture) dueAt(now time.Time, id string) bool {
	f.T.Helper()
	due, err := f.Store.SchedulesDueBy(f.Ctx, now, 1000)
	if err != nil {
		f.T.Fatalf("SchedulesDueBy: %v", err)
	}
	for _, s := range due {
		if s.ID == id {
			return true
		}
	}
	return false
}

// testExtendOfferedOnlyInLastDays: Entra's rule, on the request.
func testExtendOfferedOnlyInLastDays(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	e := f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(30*24*time.Hour)))
	before := f.Snapshot()
	_, err := f.Submit(u, selfExtendSub(u, domain.KindEligibility, RoleGA, 60*24*time.Hour))
	WantCode(t, err, domain.CodeInvalid)
	WantContains(t, err, "action")
	WantContains(t, err, "last 14 days")
	f.AssertNoWrites(t, before)

	f.Advance(16*24*time.Hour + time.Hour) // 13 days less an hour before the end
	r := f.MustSubmit(u, selfExtendSub(u, domain.KindEligibility, RoleGA, 60*24*time.Hour))
	WantStatus(t, r, domain.StatusPendingAdminDecision)
	if r.TargetScheduleID != e.ID || !r.EndAt.Equal(T0.Add(60*24*time.Hour)) {
		t.Fatalf("request names schedule %q until %s, want %s until %s", r.TargetScheduleID, r.EndAt, e.ID, T0.Add(60*24*time.Hour))
	}
	if r.Approval == nil || len(r.Approval.Stages) != 1 || !r.Approval.Stages[0].AdminDecision {
		t.Fatalf("approval %+v, want one admin stage", r.Approval)
	}

	// A permanent assignment and an activation cannot be extended; an
	// end not after the current one is refused naming the expiration.
	p := f.NewUser()
	f.MakeEligible(p, RoleOther)
	_, err = f.Submit(p, selfExtendSub(p, domain.KindEligibility, RoleOther, time.Hour))
	WantCode(t, err, domain.CodeInvalid)
	WantContains(t, err, "permanent")
	f.MustActivate(p, RoleOther, time.Hour)
	_, err = f.Submit(p, selfExtendSub(p, domain.KindAssignment, RoleOther, 2*time.Hour))
	WantCode(t, err, domain.CodeNotFound) // an activation is not an assignment to extend
	q := f.NewUser()
	f.MustSubmit(f.Admin, EligibilitySub(q, RoleOther, Lasting(48*time.Hour)))
	_, err = f.Submit(q, selfExtendSub(q, domain.KindEligibility, RoleOther, 24*time.Hour))
	WantCode(t, err, domain.CodeInvalid)
	WantContains(t, err, "must end after")
}

// testExtendApprovedMovesEnd: an admin's approval moves an active
// assignment's end in the schedule, the grant and the due index, so the
// sweep ends it at the new end and not the old; audited and notified.
func testExtendApprovedMovesEnd(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	u := f.NewUser()
	a := f.MustSubmit(f.Admin, AssignSub(u, RoleOther, 10*24*time.Hour))
	oldEnd, newEnd := T0.Add(10*24*time.Hour), T0.Add(20*24*time.Hour)
	r := f.MustSubmit(u, selfExtendSub(u, domain.KindAssignment, RoleOther, 20*24*time.Hour))
	WantStatus(t, r, domain.StatusPendingAdminDecision)
	if _, err := f.Kernel.DeliverMail(f.Ctx, f.System()); err != nil {
		t.Fatal(err)
	}
	if got := m.to(UPN(f.Admin)); len(got) != 1 || !strings.Contains(got[0].html, "the migration runs another month") {
		t.Fatalf("the admins were not asked to decide: %+v", got)
	}

	// Admins see it among the approvals they may decide; the requester does not.
	if p, err := f.Eng.PendingApprovals(f.Ctx, f.Call(f.Admin), domain.KindAssignment); err != nil || len(p) != 1 || p[0].ID != r.ID {
		t.Fatalf("admin's pending approvals: %v %v", p, err)
	}
	if p, err := f.Eng.PendingApprovals(f.Ctx, f.Call(u), domain.KindAssignment); err != nil || len(p) != 0 {
		t.Fatalf("requester's pending approvals: %v %v", p, err)
	}
	// Refusals change nothing: not an admin, no MFA, no reason, own request.
	before := f.Snapshot()
	_, err := f.decideAdmin(f.NewUser(), r.ID, "Approve")
	WantCode(t, err, domain.CodeForbidden)
	_, err = f.Eng.Decide(f.Ctx, f.CallAuth(f.Admin, domain.AuthEvidence{}), r.ID, engine.Decision{StageID: StageAdmin, Result: "Approve", Justification: "ok"})
	WantCode(t, err, domain.CodeForbidden)
	_, err = f.Eng.Decide(f.Ctx, f.Call(f.Admin), r.ID, engine.Decision{StageID: StageAdmin, Result: "Approve"})
	WantCode(t, err, domain.CodeInvalid)
	WantContains(t, err, "justification")
	f.AssertNoWrites(t, before)

	f.Advance(time.Hour)
	got, err := f.decideAdmin(f.Admin, r.ID, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	if s := f.GetSchedule(a.ID); !s.End.Equal(newEnd) || s.Status != domain.ScheduleProvisioned {
		t.Fatalf("schedule after the approved extension: end %s status %s, want %s", s.End, s.Status, newEnd)
	}
	if g, _ := f.Grant(u, RoleOther); len(g.Holders) != 1 || !g.Holders[0].End.Equal(newEnd) {
		t.Fatalf("grant holders %+v, want one ending %s", g.Holders, newEnd)
	}
	if f.dueAt(oldEnd.Add(time.Minute), a.ID) || !f.dueAt(newEnd, a.ID) {
		t.Fatal("the due index still has the old end")
	}
	if n := len(f.AuditsFor("schedule.update", u)); n != 1 {
		t.Fatalf("%d schedule.update records, want 1", n)
	}
	if a := f.AuditsFor("approval.decide", u); len(a) != 1 || a[0].ActorID != f.Admin || a[0].Reason == "" {
		t.Fatalf("approval.decide records %+v", a)
	}
	if _, err := f.Kernel.DeliverMail(f.Ctx, f.System()); err != nil {
		t.Fatal(err)
	}
	if n := m.about(UPN(u), "Approved"); n != 1 {
		t.Fatalf("%d approval mails to the requester, want 1", n)
	}

	f.Now = oldEnd.Add(time.Minute)
	if res := f.Sweep(); res.Expired != 0 || !f.HasRole(u, RoleOther) {
		t.Fatalf("sweep past the old end: %+v, role held %v", res, f.HasRole(u, RoleOther))
	}
	f.Now = newEnd.Add(time.Minute)
	if res := f.Sweep(); res.Expired != 1 || f.HasRole(u, RoleOther) {
		t.Fatalf("sweep past the new end: %+v, role held %v", res, f.HasRole(u, RoleOther))
	}
}

// testExtendDeniedLeavesIt: a denial changes no schedule, grant or
// directory; it is audited and the requester told; a second decision is
// a conflict.
func testExtendDeniedLeavesIt(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	u := f.NewUser()
	e := f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(5*24*time.Hour)))
	r := f.MustSubmit(u, selfExtendSub(u, domain.KindEligibility, RoleGA, 30*24*time.Hour))
	got, err := f.decideAdmin(f.Admin, r.ID, "Deny")
	if err != nil {
		t.Fatalf("deny: %v", err)
	}
	WantStatus(t, got, domain.StatusDenied)
	if s := f.GetSchedule(e.ID); !s.End.Equal(T0.Add(5 * 24 * time.Hour)) {
		t.Fatalf("a denial moved the end to %s", s.End)
	}
	if n := len(f.AuditsFor("schedule.update", u)); n != 0 {
		t.Fatalf("%d schedule.update records after a denial", n)
	}
	if a := f.AuditsFor("approval.decide", u); len(a) != 1 {
		t.Fatalf("approval.decide records %+v", a)
	}
	if _, err := f.Kernel.DeliverMail(f.Ctx, f.System()); err != nil {
		t.Fatal(err)
	}
	if n := m.about(UPN(u), "Denied"); n != 1 {
		t.Fatalf("%d denial mails, want 1", n)
	}
	admin2 := f.NewUser()
	f.Dir.AddMember(f.AdminGroup, admin2)
	_, err = f.decideAdmin(admin2, r.ID, "Approve")
	WantCode(t, err, domain.CodeConflict)
	f.Now = T0.Add(5*24*time.Hour + time.Minute)
	if res := f.Sweep(); res.Expired != 1 {
		t.Fatalf("the eligibility did not end at its own end: %+v", res)
	}
}

// testRenewApproved: an ended eligibility is renewed from the approval.
func testRenewApproved(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(24*time.Hour)))
	renew := engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionSelfRenew, PrincipalID: u, Target: RoleGA,
		Justification: "back on the rota", Schedule: Lasting(30 * 24 * time.Hour)}
	_, err := f.Submit(u, renew)
	WantCode(t, err, domain.CodeInvalid) // still running: that is an extension
	WantContains(t, err, "selfExtend")
	f.Advance(25 * time.Hour)
	f.Sweep()
	r := f.MustSubmit(u, renew)
	WantStatus(t, r, domain.StatusPendingAdminDecision)
	f.Advance(2 * time.Hour)
	got, err := f.decideAdmin(f.Admin, r.ID, "Approve")
	if err != nil {
		t.Fatalf("approve renewal: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	s := f.GetSchedule(r.ID)
	if !s.Live(f.Now) || !s.Start.Equal(f.Now) || !s.End.Equal(f.Now.Add(30*24*time.Hour)) {
		t.Fatalf("renewed schedule %+v, want %s for 30 days", s, f.Now)
	}
}

// testConcurrentExtendDecisions: admins deciding one extension at once:
// one wins, the others get a conflict, and the end moves once.
func testConcurrentExtendDecisions(t *testing.T, su suite) {
	for round := 0; round < 3; round++ {
		f := su.fixture(t)
		u := f.NewUser()
		a := f.MustSubmit(f.Admin, AssignSub(u, RoleOther, 3*24*time.Hour))
		r := f.MustSubmit(u, selfExtendSub(u, domain.KindAssignment, RoleOther, 6*24*time.Hour))
		admins := make([]domain.ObjectID, racers)
		for i := range admins {
			admins[i] = f.NewUser()
			f.Dir.AddMember(f.AdminGroup, admins[i])
		}
		res := race(racers, func(i int) outcome {
			result := "Approve"
			if i%2 == 1 {
				result = "Deny"
			}
			got, err := f.decideAdmin(admins[i], r.ID, result)
			return outcome{got, err}
		})
		wins := 0
		var winner domain.Request
		for _, o := range res {
			switch {
			case o.err == nil:
				wins++
				winner = o.r
			case !domain.IsCode(o.err, domain.CodeConflict):
				t.Errorf("unexpected error: %v", o.err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d decisions won, want 1", round, wins)
		}
		want := T0.Add(3 * 24 * time.Hour)
		if winner.Status == domain.StatusProvisioned {
			want = T0.Add(6 * 24 * time.Hour)
		} else {
			WantStatus(t, winner, domain.StatusDenied)
		}
		if s := f.GetSchedule(a.ID); !s.End.Equal(want) {
			t.Fatalf("round %d: end %s after a %s, want %s", round, s.End, winner.Status, want)
		}
		if n := len(f.Audits("approval.decide")); n != 1 {
			t.Fatalf("round %d: %d approval.decide records", round, n)
		}
	}
}

// testExtendRacesExpiry: an approval made just before the old end, landing
// while the sweep ends the assignment at that end, is harmless: either the
// extension wins (live, new end, role held) or the expiry does (ended,
// role gone, and the decision fails with a conflict); never a live
// schedule without the role, nor the role without a live schedule. Odd
// rounds put the approval deterministically between the sweep's read of
// the due index and its writes, where the sweep must leave it.
func testExtendRacesExpiry(t *testing.T, su suite) {
	for round := 0; round < 6; round++ {
		f := su.fixture(t)
		u := f.NewUser()
		a := f.MustSubmit(f.Admin, AssignSub(u, RoleOther, 3*24*time.Hour))
		r := f.MustSubmit(u, selfExtendSub(u, domain.KindAssignment, RoleOther, 6*24*time.Hour))
		oldEnd, newEnd := T0.Add(3*24*time.Hour), T0.Add(6*24*time.Hour)
		f.Now = oldEnd.Add(-time.Second)
		decider := f.Call(f.Admin) // the admin decides a second before the end
		f.Now = oldEnd             // the sweep runs at it
		decide := func() error {
			_, err := f.Eng.Decide(f.Ctx, decider, r.ID, engine.Decision{StageID: StageAdmin, Result: "Approve", Justification: "ok"})
			return err
		}
		var decideErr error
		if round%2 == 1 {
			f.counted.afterDue = func() { decideErr = decide() }
			f.Sweep()
			if decideErr != nil {
				t.Fatalf("round %d: approval between the sweep's read and its writes: %v", round, decideErr)
			}
		} else {
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); decideErr = decide() }()
			go func() {
				defer wg.Done()
				if _, err := f.Eng.Sweep(f.Ctx, f.System()); err != nil {
					t.Errorf("sweep: %v", err)
				}
			}()
			wg.Wait()
		}
		f.Sweep() // settles whatever the race left for the sweep
		s, req := f.GetSchedule(a.ID), f.GetRequest(r.ID)
		live, held := s.Live(f.Now), f.HasRole(u, RoleOther)
		switch {
		case decideErr == nil && req.Status == domain.StatusProvisioned:
			if !live || !held || !s.End.Equal(newEnd) {
				t.Fatalf("round %d: the extension won but schedule live=%v end=%s, role held %v", round, live, s.End, held)
			}
		case domain.IsCode(decideErr, domain.CodeConflict):
			if live || held {
				t.Fatalf("round %d: the expiry won but schedule live=%v, role held %v (request %s)", round, live, held, req.Status)
			}
		default:
			t.Fatalf("round %d: decision %v, request %s", round, decideErr, req.Status)
		}
	}
}
