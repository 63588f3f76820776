package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// overlapSetup gives alice an admin's 2 h active assignment and her own 1 h
// activation of the same role, and checks one directory assignment serves both.
func overlapSetup(t *testing.T, su suite) (f *Fixture, alice domain.ObjectID, assign, act domain.Request) {
	f = su.fixture(t)
	alice = f.NewUser()
	f.MakeEligible(alice, RoleGA)
	assign = f.MustSubmit(f.Admin, AssignSub(alice, RoleGA, 2*time.Hour))
	WantStatus(t, assign, domain.StatusProvisioned)
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("the active assignment must give the role")
	}
	f.Advance(time.Minute)
	act, err := f.Activate(alice, RoleGA, time.Hour)
	if err != nil {
		t.Fatalf("activation alongside an active assignment: %v", err)
	}
	WantStatus(t, act, domain.StatusProvisioned)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want exactly 1", n)
	}
	if f.Dir.RoleCount() != 1 {
		t.Fatalf("%d role assignments, want 1", f.Dir.RoleCount())
	}
	g, _ := f.Grant(alice, RoleGA)
	if len(g.Holders) != 2 || !g.HasHolder(assign.ID) || !g.HasHolder(act.ID) || !g.Applied {
		t.Fatalf("grant %+v: want both schedules holding it, applied", g)
	}
	if n := len(f.AuditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	return f, alice, assign, act
}

func testOverlapExpiry(t *testing.T, su suite) {
	f, alice, assign, act := overlapSetup(t, su)

	f.Advance(time.Hour) // T0 + 1h01m: the activation has ended
	if res := f.Sweep(); res.Expired != 1 {
		t.Fatalf("sweep at +1h01m expired %d, want 1", res.Expired)
	}
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("activation schedule is %s", s.Status)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("the activation's expiry removed access the active assignment still covers")
	}
	if n := f.Dir.Calls()["RemoveRoleAssignment"]; n != 0 {
		t.Fatalf("RemoveRoleAssignment called %d times while a holder remained", n)
	}
	if g, _ := f.Grant(alice, RoleGA); len(g.Holders) != 1 || !g.HasHolder(assign.ID) || !g.Applied {
		t.Fatalf("grant %+v: want only the assignment holding it", g)
	}

	f.Advance(time.Hour) // T0 + 2h01m: the assignment has ended too
	if res := f.Sweep(); res.Expired != 1 {
		t.Fatalf("sweep at +2h01m expired %d, want 1", res.Expired)
	}
	if f.HasRole(alice, RoleGA) {
		t.Fatal("with every grant ended the role must go")
	}
	if n := f.Dir.Calls()["RemoveRoleAssignment"]; n != 1 {
		t.Fatalf("RemoveRoleAssignment called %d times, want 1", n)
	}
	if n := len(f.AuditsFor("grant.remove", alice)); n != 1 {
		t.Fatalf("%d grant.remove records, want 1", n)
	}
}

func testOverlapDeactivate(t *testing.T, su suite) {
	f, alice, assign, act := overlapSetup(t, su)

	f.Advance(10 * time.Minute)
	deact := f.MustSubmit(alice, DeactivationSub(alice, RoleGA))
	WantStatus(t, deact, domain.StatusRevoked)
	if deact.TargetScheduleID != act.ID {
		t.Fatalf("selfDeactivate ended %s, want the activation %s", deact.TargetScheduleID, act.ID)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("deactivating the activation removed access the active assignment still covers")
	}
	if s := f.GetSchedule(assign.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("the assignment is %s", s.Status)
	}
	// The user cannot remove the admin's assignment herself.
	_, err := f.Submit(alice, DeactivationSub(alice, RoleGA))
	WantCode(t, err, domain.CodeNotFound)
	_, err = f.Submit(alice, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfDeactivate, PrincipalID: alice,
		Target: RoleGA, TargetScheduleID: assign.ID})
	WantCode(t, err, domain.CodeForbidden)
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("a refused deactivation took the role")
	}

	rm := f.MustSubmit(f.Admin, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminRemove, PrincipalID: alice, Target: RoleGA})
	WantStatus(t, rm, domain.StatusRevoked)
	if rm.TargetScheduleID != assign.ID {
		t.Fatalf("adminRemove ended %s, want the assignment %s", rm.TargetScheduleID, assign.ID)
	}
	if f.HasRole(alice, RoleGA) {
		t.Fatal("with every grant ended the role must go")
	}
	WantStatus(t, f.GetRequest(assign.ID), domain.StatusRevoked)
	if n := f.Dir.Calls()["RemoveRoleAssignment"]; n != 1 {
		t.Fatalf("RemoveRoleAssignment called %d times, want 1", n)
	}
	// Nothing left for the sweep.
	f.Advance(3 * time.Hour)
	if res := f.Sweep(); res.Expired != 0 || res.GrantsRetried != 0 {
		t.Fatalf("sweep after everything ended: %+v", res)
	}
}

// testOverlapActivationOutlivesAssignment is the other order: the admin's
// assignment ends first, the activation keeps the role until its own end.
func testOverlapActivationOutlivesAssignment(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	act, err := f.Activate(alice, RoleGA, 2*time.Hour)
	if err != nil || act.Status != domain.StatusProvisioned {
		t.Fatalf("activation: %+v %v", act, err)
	}
	f.MustSubmit(f.Admin, AssignSub(alice, RoleGA, time.Hour))
	f.Advance(time.Hour + time.Minute)
	if res := f.Sweep(); res.Expired != 1 || !f.HasRole(alice, RoleGA) {
		t.Fatalf("assignment expiry: %+v, role held %v", res, f.HasRole(alice, RoleGA))
	}
	f.Advance(time.Hour)
	if res := f.Sweep(); res.Expired != 1 || f.HasRole(alice, RoleGA) {
		t.Fatalf("activation expiry: %+v, role held %v", res, f.HasRole(alice, RoleGA))
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
}
