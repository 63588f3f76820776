package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// godMode declares a role-assignable group with a member and returns it.
func godMode(f *Fixture, member domain.ObjectID) domain.ObjectID {
	g := f.NewID()
	f.Dir.AddRoleAssignableGroup(g, "Global Administrators (God Mode)")
	f.Dir.AddMember(g, member)
	return g
}

// testGroupHolderExpires: a role-assignable group given a time-bound active
// assignment holds the role itself (its members hold nothing directly),
// and when the assignment ends the sweep removes the group's assignment and
// nothing else: an outside holder, a break-glass account and a user's own
// jitpim assignment of the same role keep theirs.
func testGroupHolderExpires(t *testing.T, su suite) {
	f := su.fixture(t)
	rita, outsider, carol := f.NewUser(), f.NewUser(), f.NewUser()
	g := godMode(f, rita)
	for _, who := range []domain.ObjectID{outsider, f.BreakGlass} {
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, who, domain.RoleGlobalAdministrator, domain.TenantScope); err != nil {
			t.Fatal(err)
		}
	}
	r := f.MustSubmit(f.Admin, AssignSub(g, RoleGA, 2*time.Hour))
	WantStatus(t, r, domain.StatusProvisioned)
	if r.PrincipalKind != domain.PrincipalGroup {
		t.Fatalf("request principal kind %q, want group", r.PrincipalKind)
	}
	if s := f.GetSchedule(r.ID); s.PrincipalKind != domain.PrincipalGroup || s.End.IsZero() {
		t.Fatalf("schedule %+v: want a time-bound group schedule", s)
	}
	f.MustSubmit(f.Admin, AssignSub(carol, RoleGA, 5*time.Hour))
	if !f.HasRole(g, RoleGA) || f.HasRole(rita, RoleGA) {
		t.Fatal("the group, not its member, holds the role")
	}
	if recs := f.AuditsFor("grant.add", g); len(recs) != 1 {
		t.Fatalf("grant.add records for the group: %+v", recs)
	}
	removes := f.Dir.Calls()["RemoveRoleAssignment"]
	f.Advance(time.Hour)
	f.Sweep()
	if !f.HasRole(g, RoleGA) {
		t.Fatal("the sweep removed the group's role before its end")
	}
	f.Advance(90 * time.Minute)
	f.Sweep()
	if f.HasRole(g, RoleGA) {
		t.Fatal("the group still holds the role after its assignment ended")
	}
	for _, who := range []domain.ObjectID{outsider, f.BreakGlass, carol} {
		if !f.HasRole(who, RoleGA) {
			t.Fatalf("%s lost a role assignment the group's expiry must not touch", who)
		}
	}
	if n := f.Dir.Calls()["RemoveRoleAssignment"] - removes; n != 1 {
		t.Fatalf("%d role assignments removed, want the group's one", n)
	}
	if recs := f.AuditsFor("grant.remove", g); len(recs) != 1 {
		t.Fatalf("grant.remove records for the group: %+v", recs)
	}
	if s := f.GetSchedule(r.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("schedule status %q, want Expired", s.Status)
	}
}

// testGroupEligibleActivatedByAdmin: a group is made eligible (permanent or
// time-bound) without any directory change; nobody activates for the group
// on their own (a member's selfActivate naming the group is refused); an
// administrator turns the eligibility into access with a time-bound active
// assignment, and a second one while it runs is an overlap (409). The
// group's eligibility ending changes nothing in the directory.
func testGroupEligibleActivatedByAdmin(t *testing.T, su suite) {
	f := su.fixture(t)
	rita := f.NewUser()
	g := godMode(f, rita)
	elig := f.MustSubmit(f.Admin, EligibilitySub(g, RoleGA, Lasting(30*24*time.Hour)))
	WantStatus(t, elig, domain.StatusProvisioned)
	if f.HasRole(g, RoleGA) || f.Dir.Calls()["AddRoleAssignment"] != 0 {
		t.Fatal("an eligibility must not change the directory")
	}
	before := f.Snapshot()
	_, err := f.Submit(rita, ActivationSub(g, RoleGA, time.Hour))
	WantCode(t, err, domain.CodeForbidden)
	f.AssertNoWrites(t, before)

	act := f.MustSubmit(f.Admin, AssignSub(g, RoleGA, time.Hour))
	WantStatus(t, act, domain.StatusProvisioned)
	if !f.HasRole(g, RoleGA) {
		t.Fatal("the administrator's assignment did not reach the directory")
	}
	before = f.Snapshot()
	_, err = f.Submit(f.Admin, AssignSub(g, RoleGA, time.Hour))
	WantCode(t, err, domain.CodeConflict)
	WantContains(t, err, "group Global Administrators (God Mode) already has")
	f.AssertNoWrites(t, before)

	f.Advance(2 * time.Hour)
	f.Sweep()
	if f.HasRole(g, RoleGA) {
		t.Fatal("the group's active assignment outlived its end")
	}
	adds := f.Dir.Calls()["AddRoleAssignment"]
	f.Advance(30 * 24 * time.Hour)
	f.Sweep()
	if s := f.GetSchedule(elig.ID); s.Status != domain.ScheduleExpired {
		t.Fatalf("eligibility status %q, want Expired", s.Status)
	}
	if f.Dir.Calls()["AddRoleAssignment"] != adds || f.HasRole(g, RoleGA) {
		t.Fatal("the eligibility's end changed the directory")
	}
	perm := f.MustSubmit(f.Admin, EligibilitySub(g, RoleGA, Permanent()))
	if s := f.GetSchedule(perm.ID); !s.Permanent() || s.PrincipalKind != domain.PrincipalGroup {
		t.Fatalf("schedule %+v: want a permanent group eligibility", s)
	}
}

// testGroupPrincipalRefusals: a group that is not role-assignable, a group
// as a member of another group, a group with a break-glass member, and a
// group already holding the role outside jitpim are refused, by name, and
// nothing is written.
func testGroupPrincipalRefusals(t *testing.T, su suite) {
	cases := []struct {
		name  string
		setup func(f *Fixture) engine.Submission
		code  domain.Code
		msg   string
	}{
		{"not role-assignable", func(f *Fixture) engine.Submission {
			g := f.NewID()
			f.Dir.AddNamedGroup(g, "All staff")
			return AssignSub(g, RoleGA, time.Hour)
		}, domain.CodeInvalid, "All staff is not a role-assignable group"},
		{"group membership target", func(f *Fixture) engine.Submission {
			g := godMode(f, f.NewUser())
			return EligibilitySub(g, domain.GroupTarget(f.NewID(), domain.AccessMember), Permanent())
		}, domain.CodeInvalid, "directory roles only"},
		{"break-glass member", func(f *Fixture) engine.Submission {
			g := godMode(f, f.NewUser())
			f.Dir.AddMember(g, f.BreakGlass)
			return EligibilitySub(g, RoleGA, Permanent())
		}, domain.CodeForbidden, "break-glass"},
		{"held outside jitpim", func(f *Fixture) engine.Submission {
			g := godMode(f, f.NewUser())
			if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, g, domain.RoleGlobalAdministrator, domain.TenantScope); err != nil {
				t.Fatal(err)
			}
			return AssignSub(g, RoleGA, time.Hour)
		}, domain.CodeConflict, "outside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := su.fixture(t)
			in := tc.setup(f)
			before := f.Snapshot()
			_, err := f.Submit(f.Admin, in)
			WantCode(t, err, tc.code)
			WantContains(t, err, tc.msg)
			f.AssertNoWrites(t, before)
		})
	}
}
