package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// testWalkthroughRole: eligibility, activation with MFA for PT1H, the
// instance listed, deactivation, and the directory following each step.
func testWalkthroughRole(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()

	elig := f.MakeEligible(alice, RoleGA)
	if elig.Kind != domain.KindEligibility || !elig.EndAt.IsZero() {
		t.Fatalf("eligibility %+v: want a permanent eligibility", elig)
	}
	if f.HasRole(alice, RoleGA) {
		t.Fatal("an eligibility alone must not give the role")
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("eligibility called AddRoleAssignment %d times", n)
	}

	f.Advance(10 * time.Minute)
	act, err := f.Activate(alice, RoleGA, time.Hour)
	if err != nil {
		t.Fatalf("selfActivate: %v", err)
	}
	WantStatus(t, act, domain.StatusProvisioned)
	if !act.EndAt.Equal(f.Now.Add(time.Hour)) || act.EligibilityScheduleID != elig.ID {
		t.Fatalf("activation window %s..%s on %s, want 1h from now on %s", act.StartAt, act.EndAt, act.EligibilityScheduleID, elig.ID)
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("after activation the directory must hold the role")
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
	if stored := f.GetRequest(act.ID); stored.Status != domain.StatusProvisioned {
		t.Fatalf("stored activation is %s", stored.Status)
	}
	g, ok := f.Grant(alice, RoleGA)
	if !ok || !g.Applied || len(g.Holders) != 1 || g.Holders[0].ScheduleID != act.ID {
		t.Fatalf("grant %+v: want applied with the activation as only holder", g)
	}
	if n := len(f.AuditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}

	page, err := f.Eng.ListSchedules(f.Ctx, f.Call(alice), engine.ScheduleFilter{Kind: domain.KindAssignment, TargetKind: domain.TargetRole,
		PrincipalID: alice, InstancesOnly: true})
	if err != nil {
		t.Fatalf("ListSchedules: %v", err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != act.ID || page.Items[0].AssignmentType != domain.AssignmentActivated ||
		page.Items[0].EligibilityScheduleID != elig.ID {
		t.Fatalf("instances %+v: want exactly the activation", page.Items)
	}

	f.Advance(5 * time.Minute)
	deact := f.MustSubmit(alice, DeactivationSub(alice, RoleGA))
	WantStatus(t, deact, domain.StatusRevoked)
	if deact.TargetScheduleID != act.ID {
		t.Fatalf("deactivation targeted %s, want %s", deact.TargetScheduleID, act.ID)
	}
	if f.HasRole(alice, RoleGA) {
		t.Fatal("after deactivation the role must be gone")
	}
	WantStatus(t, f.GetRequest(act.ID), domain.StatusRevoked)
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleRevoked || !s.End.Equal(f.Now) {
		t.Fatalf("activation schedule %s ending %s, want Revoked now", s.Status, s.End)
	}
	if s := f.GetSchedule(elig.ID); s.Status != domain.ScheduleProvisioned {
		t.Fatalf("the eligibility must outlive the activation, is %s", s.Status)
	}
	if g, _ := f.Grant(alice, RoleGA); g.Wanted() || g.Applied {
		t.Fatalf("grant %+v after deactivation: want no holder, not applied", g)
	}
	if n := len(f.AuditsFor("grant.remove", alice)); n != 1 {
		t.Fatalf("%d grant.remove records, want 1", n)
	}
	page, err = f.Eng.ListSchedules(f.Ctx, f.Call(alice), engine.ScheduleFilter{Kind: domain.KindAssignment, TargetKind: domain.TargetRole,
		PrincipalID: alice, InstancesOnly: true})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("instances after deactivation: %+v, %v", page.Items, err)
	}

	// The eligibility is still there: a second activation works.
	f.Advance(time.Minute)
	again, err := f.Activate(alice, RoleGA, time.Hour)
	if err != nil || again.Status != domain.StatusProvisioned || !f.HasRole(alice, RoleGA) {
		t.Fatalf("reactivation: %+v %v", again, err)
	}
	if err := f.VerifyAuditChain(); err != nil {
		t.Fatal(err)
	}
}

// testWalkthroughGroup is the same walk for a privileged access group:
// membership is added on activation and removed on deactivation.
func testWalkthroughGroup(t *testing.T, su suite) {
	f := su.fixture(t)
	bob := f.NewUser()
	group := domain.GroupTarget(f.NewID(), domain.AccessMember)

	elig := f.MakeEligible(bob, group)
	if f.Dir.InGroup(group.GroupID, domain.AccessMember, bob) {
		t.Fatal("an eligible member is not a member")
	}
	act, err := f.Activate(bob, group, time.Hour)
	if err != nil {
		t.Fatalf("selfActivate: %v", err)
	}
	WantStatus(t, act, domain.StatusProvisioned)
	if act.EligibilityScheduleID != elig.ID {
		t.Fatalf("activation drew on %s, want %s", act.EligibilityScheduleID, elig.ID)
	}
	if !f.Dir.InGroup(group.GroupID, domain.AccessMember, bob) {
		t.Fatal("after activation the user must be a member")
	}
	if f.Dir.InGroup(group.GroupID, domain.AccessOwner, bob) {
		t.Fatal("member activation must not make an owner")
	}
	if n := f.Dir.Calls()["AddGroupMember"]; n != 1 {
		t.Fatalf("AddGroupMember called %d times, want 1", n)
	}
	if f.Dir.RoleCount() != 0 {
		t.Fatal("a group activation must not create role assignments")
	}
	page, err := f.Eng.ListSchedules(f.Ctx, f.Call(bob), engine.ScheduleFilter{Kind: domain.KindAssignment, TargetKind: domain.TargetGroup,
		PrincipalID: bob, InstancesOnly: true})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != act.ID {
		t.Fatalf("group instances %+v, %v", page.Items, err)
	}
	if r := f.AuditsFor("grant.add", bob); len(r) != 1 || r[0].Category != "GroupManagement" {
		t.Fatalf("grant.add records %+v: want one in GroupManagement", r)
	}

	deact := f.MustSubmit(bob, DeactivationSub(bob, group))
	WantStatus(t, deact, domain.StatusRevoked)
	if f.Dir.InGroup(group.GroupID, domain.AccessMember, bob) {
		t.Fatal("after deactivation the user must no longer be a member")
	}
	if n := f.Dir.Calls()["RemoveGroupMember"]; n != 1 {
		t.Fatalf("RemoveGroupMember called %d times, want 1", n)
	}
	WantStatus(t, f.GetRequest(act.ID), domain.StatusRevoked)
}

// testActivationExpiresBySweep: the sweep ends an activation at its end and
// not before.
func testActivationExpiresBySweep(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	act, err := f.Activate(alice, RoleGA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.Advance(59 * time.Minute)
	if res := f.Sweep(); res.Expired != 0 || !f.HasRole(alice, RoleGA) {
		t.Fatalf("sweep before the end expired %d; role held: %v", res.Expired, f.HasRole(alice, RoleGA))
	}
	f.Advance(2 * time.Minute)
	if res := f.Sweep(); res.Expired != 1 {
		t.Fatalf("sweep after the end expired %d, want 1", res.Expired)
	}
	if f.HasRole(alice, RoleGA) {
		t.Fatal("an expired activation must lose the role")
	}
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("schedule is %s, want Expired", s.Status)
	}
	// Expiry is not a revocation: the request keeps its Provisioned status.
	WantStatus(t, f.GetRequest(act.ID), domain.StatusProvisioned)
	if n := len(f.AuditsFor("schedule.expire", alice)); n != 1 {
		t.Fatalf("%d schedule.expire records, want 1", n)
	}
	if res := f.Sweep(); res.Expired != 0 {
		t.Fatalf("a second sweep expired %d more", res.Expired)
	}
}
