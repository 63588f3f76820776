package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// TestWalkthroughRole: eligibility, activation with MFA for PT1H, the
// instance listed, deactivation, and the directory following each step.
func TestWalkthroughRole(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()

	elig := f.makeEligible(alice, roleGA)
	if elig.Kind != domain.KindEligibility || !elig.EndAt.IsZero() {
		t.Fatalf("eligibility %+v: want a permanent eligibility", elig)
	}
	if f.hasRole(alice, roleGA) {
		t.Fatal("an eligibility alone must not give the role")
	}
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("eligibility called AddRoleAssignment %d times", n)
	}

	f.advance(10 * time.Minute)
	act, err := f.activate(alice, roleGA, time.Hour)
	if err != nil {
		t.Fatalf("selfActivate: %v", err)
	}
	wantStatus(t, act, domain.StatusProvisioned)
	if !act.EndAt.Equal(f.now.Add(time.Hour)) || act.EligibilityScheduleID != elig.ID {
		t.Fatalf("activation window %s..%s on %s, want 1h from now on %s", act.StartAt, act.EndAt, act.EligibilityScheduleID, elig.ID)
	}
	if !f.hasRole(alice, roleGA) {
		t.Fatal("after activation the directory must hold the role")
	}
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
	if stored := f.getRequest(act.ID); stored.Status != domain.StatusProvisioned {
		t.Fatalf("stored activation is %s", stored.Status)
	}
	g, ok := f.grant(alice, roleGA)
	if !ok || !g.Applied || len(g.Holders) != 1 || g.Holders[0].ScheduleID != act.ID {
		t.Fatalf("grant %+v: want applied with the activation as only holder", g)
	}
	if n := len(f.auditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}

	page, err := f.eng.ListSchedules(f.ctx, f.call(alice), engine.ScheduleFilter{Kind: domain.KindAssignment, TargetKind: domain.TargetRole,
		PrincipalID: alice, InstancesOnly: true})
	if err != nil {
		t.Fatalf("ListSchedules: %v", err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != act.ID || page.Items[0].AssignmentType != domain.AssignmentActivated ||
		page.Items[0].EligibilityScheduleID != elig.ID {
		t.Fatalf("instances %+v: want exactly the activation", page.Items)
	}

	f.advance(5 * time.Minute)
	deact := f.mustSubmit(alice, deactivationSub(alice, roleGA))
	wantStatus(t, deact, domain.StatusRevoked)
	if deact.TargetScheduleID != act.ID {
		t.Fatalf("deactivation targeted %s, want %s", deact.TargetScheduleID, act.ID)
	}
	if f.hasRole(alice, roleGA) {
		t.Fatal("after deactivation the role must be gone")
	}
	wantStatus(t, f.getRequest(act.ID), domain.StatusRevoked)
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleRevoked || !s.End.Equal(f.now) {
		t.Fatalf("activation schedule %s ending %s, want Revoked now", s.Status, s.End)
	}
	if s := f.getSchedule(elig.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("the eligibility must outlive the activation, is %s", s.Status)
	}
	if g, _ := f.grant(alice, roleGA); g.Wanted() || g.Applied {
		t.Fatalf("grant %+v after deactivation: want no holder, not applied", g)
	}
	if n := len(f.auditsFor("grant.remove", alice)); n != 1 {
		t.Fatalf("%d grant.remove records, want 1", n)
	}
	page, err = f.eng.ListSchedules(f.ctx, f.call(alice), engine.ScheduleFilter{Kind: domain.KindAssignment, TargetKind: domain.TargetRole,
		PrincipalID: alice, InstancesOnly: true})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("instances after deactivation: %+v, %v", page.Items, err)
	}

	// The eligibility is still there: a second activation works.
	f.advance(time.Minute)
	again, err := f.activate(alice, roleGA, time.Hour)
	if err != nil || again.Status != domain.StatusProvisioned || !f.hasRole(alice, roleGA) {
		t.Fatalf("reactivation: %+v %v", again, err)
	}
	if err := verifyAuditChain(f); err != nil {
		t.Fatal(err)
	}
}

// TestWalkthroughGroup is the same walk for a privileged access group:
// membership is added on activation and removed on deactivation.
func TestWalkthroughGroup(t *testing.T) {
	f := newFixture(t)
	bob := f.newUser()
	group := domain.GroupTarget(f.newID(), domain.AccessMember)

	elig := f.makeEligible(bob, group)
	if f.dir.InGroup(group.GroupID, domain.AccessMember, bob) {
		t.Fatal("an eligible member is not a member")
	}
	act, err := f.activate(bob, group, time.Hour)
	if err != nil {
		t.Fatalf("selfActivate: %v", err)
	}
	wantStatus(t, act, domain.StatusProvisioned)
	if act.EligibilityScheduleID != elig.ID {
		t.Fatalf("activation drew on %s, want %s", act.EligibilityScheduleID, elig.ID)
	}
	if !f.dir.InGroup(group.GroupID, domain.AccessMember, bob) {
		t.Fatal("after activation the user must be a member")
	}
	if f.dir.InGroup(group.GroupID, domain.AccessOwner, bob) {
		t.Fatal("member activation must not make an owner")
	}
	if n := f.dir.Calls()["AddGroupMember"]; n != 1 {
		t.Fatalf("AddGroupMember called %d times, want 1", n)
	}
	if f.dir.RoleCount() != 0 {
		t.Fatal("a group activation must not create role assignments")
	}
	page, err := f.eng.ListSchedules(f.ctx, f.call(bob), engine.ScheduleFilter{Kind: domain.KindAssignment, TargetKind: domain.TargetGroup,
		PrincipalID: bob, InstancesOnly: true})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != act.ID {
		t.Fatalf("group instances %+v, %v", page.Items, err)
	}
	if r := f.auditsFor("grant.add", bob); len(r) != 1 || r[0].Category != "GroupManagement" {
		t.Fatalf("grant.add records %+v: want one in GroupManagement", r)
	}

	deact := f.mustSubmit(bob, deactivationSub(bob, group))
	wantStatus(t, deact, domain.StatusRevoked)
	if f.dir.InGroup(group.GroupID, domain.AccessMember, bob) {
		t.Fatal("after deactivation the user must no longer be a member")
	}
	if n := f.dir.Calls()["RemoveGroupMember"]; n != 1 {
		t.Fatalf("RemoveGroupMember called %d times, want 1", n)
	}
	wantStatus(t, f.getRequest(act.ID), domain.StatusRevoked)
}

// TestActivationExpiresBySweep: the sweep ends an activation at its end and
// not before.
func TestActivationExpiresBySweep(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.makeEligible(alice, roleGA)
	act, err := f.activate(alice, roleGA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.advance(59 * time.Minute)
	if res := f.sweep(); res.Expired != 0 || !f.hasRole(alice, roleGA) {
		t.Fatalf("sweep before the end expired %d; role held: %v", res.Expired, f.hasRole(alice, roleGA))
	}
	f.advance(2 * time.Minute)
	if res := f.sweep(); res.Expired != 1 {
		t.Fatalf("sweep after the end expired %d, want 1", res.Expired)
	}
	if f.hasRole(alice, roleGA) {
		t.Fatal("an expired activation must lose the role")
	}
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("schedule is %s, want Expired", s.Status)
	}
	// Expiry is not a revocation: the request keeps its Provisioned status.
	wantStatus(t, f.getRequest(act.ID), domain.StatusProvisioned)
	if n := len(f.auditsFor("schedule.expire", alice)); n != 1 {
		t.Fatalf("%d schedule.expire records, want 1", n)
	}
	if res := f.sweep(); res.Expired != 0 {
		t.Fatalf("a second sweep expired %d more", res.Expired)
	}
}

func verifyAuditChain(f *fixture) error {
	recs := f.audits("")
	if i := domain.VerifyChain(recs); i >= 0 {
		return fmt.Errorf("audit chain broken at record %d of %d", i, len(recs))
	}
	return nil
}
