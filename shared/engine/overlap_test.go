package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// overlapSetup gives alice an admin's 2 h active assignment and her own 1 h
// activation of the same role, and checks one directory assignment serves both.
func overlapSetup(t *testing.T) (f *fixture, alice domain.ObjectID, assign, act domain.Request) {
	f = newFixture(t)
	alice = f.newUser()
	f.makeEligible(alice, roleGA)
	assign = f.mustSubmit(f.admin, assignSub(alice, roleGA, 2*time.Hour))
	wantStatus(t, assign, domain.StatusProvisioned)
	if !f.hasRole(alice, roleGA) {
		t.Fatal("the active assignment must give the role")
	}
	f.advance(time.Minute)
	act, err := f.activate(alice, roleGA, time.Hour)
	if err != nil {
		t.Fatalf("activation alongside an active assignment: %v", err)
	}
	wantStatus(t, act, domain.StatusProvisioned)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want exactly 1", n)
	}
	if f.dir.RoleCount() != 1 {
		t.Fatalf("%d role assignments, want 1", f.dir.RoleCount())
	}
	g, _ := f.grant(alice, roleGA)
	if len(g.Holders) != 2 || !g.HasHolder(assign.ID) || !g.HasHolder(act.ID) || !g.Applied {
		t.Fatalf("grant %+v: want both schedules holding it, applied", g)
	}
	if n := len(f.auditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	return f, alice, assign, act
}

func TestOverlapExpiry(t *testing.T) {
	f, alice, assign, act := overlapSetup(t)

	f.advance(time.Hour) // t0 + 1h01m: the activation has ended
	if res := f.sweep(); res.Expired != 1 {
		t.Fatalf("sweep at +1h01m expired %d, want 1", res.Expired)
	}
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("activation schedule is %s", s.Status)
	}
	if !f.hasRole(alice, roleGA) {
		t.Fatal("the activation's expiry removed access the active assignment still covers")
	}
	if n := f.dir.Calls()["RemoveRoleAssignment"]; n != 0 {
		t.Fatalf("RemoveRoleAssignment called %d times while a holder remained", n)
	}
	if g, _ := f.grant(alice, roleGA); len(g.Holders) != 1 || !g.HasHolder(assign.ID) || !g.Applied {
		t.Fatalf("grant %+v: want only the assignment holding it", g)
	}

	f.advance(time.Hour) // t0 + 2h01m: the assignment has ended too
	if res := f.sweep(); res.Expired != 1 {
		t.Fatalf("sweep at +2h01m expired %d, want 1", res.Expired)
	}
	if f.hasRole(alice, roleGA) {
		t.Fatal("with every grant ended the role must go")
	}
	if n := f.dir.Calls()["RemoveRoleAssignment"]; n != 1 {
		t.Fatalf("RemoveRoleAssignment called %d times, want 1", n)
	}
	if n := len(f.auditsFor("grant.remove", alice)); n != 1 {
		t.Fatalf("%d grant.remove records, want 1", n)
	}
}

func TestOverlapDeactivate(t *testing.T) {
	f, alice, assign, act := overlapSetup(t)

	f.advance(10 * time.Minute)
	deact := f.mustSubmit(alice, deactivationSub(alice, roleGA))
	wantStatus(t, deact, domain.StatusRevoked)
	if deact.TargetScheduleID != act.ID {
		t.Fatalf("selfDeactivate ended %s, want the activation %s", deact.TargetScheduleID, act.ID)
	}
	if !f.hasRole(alice, roleGA) {
		t.Fatal("deactivating the activation removed access the active assignment still covers")
	}
	if s := f.getSchedule(assign.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("the assignment is %s", s.Status)
	}
	// The user cannot remove the admin's assignment herself.
	_, err := f.submit(alice, deactivationSub(alice, roleGA))
	wantCode(t, err, domain.CodeNotFound)
	_, err = f.submit(alice, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfDeactivate, PrincipalID: alice,
		Target: roleGA, TargetScheduleID: assign.ID})
	wantCode(t, err, domain.CodeForbidden)
	if !f.hasRole(alice, roleGA) {
		t.Fatal("a refused deactivation took the role")
	}

	rm := f.mustSubmit(f.admin, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminRemove, PrincipalID: alice, Target: roleGA})
	wantStatus(t, rm, domain.StatusRevoked)
	if rm.TargetScheduleID != assign.ID {
		t.Fatalf("adminRemove ended %s, want the assignment %s", rm.TargetScheduleID, assign.ID)
	}
	if f.hasRole(alice, roleGA) {
		t.Fatal("with every grant ended the role must go")
	}
	wantStatus(t, f.getRequest(assign.ID), domain.StatusRevoked)
	if n := f.dir.Calls()["RemoveRoleAssignment"]; n != 1 {
		t.Fatalf("RemoveRoleAssignment called %d times, want 1", n)
	}
	// Nothing left for the sweep.
	f.advance(3 * time.Hour)
	if res := f.sweep(); res.Expired != 0 || res.GrantsRetried != 0 {
		t.Fatalf("sweep after everything ended: %+v", res)
	}
}

// TestOverlapActivationOutlivesAssignment is the other order: the admin's
// assignment ends first, the activation keeps the role until its own end.
func TestOverlapActivationOutlivesAssignment(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.makeEligible(alice, roleGA)
	act, err := f.activate(alice, roleGA, 2*time.Hour)
	if err != nil || act.Status != domain.StatusProvisioned {
		t.Fatalf("activation: %+v %v", act, err)
	}
	f.mustSubmit(f.admin, assignSub(alice, roleGA, time.Hour))
	f.advance(time.Hour + time.Minute)
	if res := f.sweep(); res.Expired != 1 || !f.hasRole(alice, roleGA) {
		t.Fatalf("assignment expiry: %+v, role held %v", res, f.hasRole(alice, roleGA))
	}
	f.advance(time.Hour)
	if res := f.sweep(); res.Expired != 1 || f.hasRole(alice, roleGA) {
		t.Fatalf("activation expiry: %+v, role held %v", res, f.hasRole(alice, roleGA))
	}
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
}
