package review_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
)

// TestReviewGroupHolders: a role review lists a group holding the role as
// one item, named as a group; with ExpandGroupMembers it also lists each
// user in the group (never a break-glass account), and a member's Deny
// leaves the group's assignment alone: it is not the member's to lose.
func TestReviewGroupHolders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expand bool
	}{{"as a group", false}, {"expanded to members", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rf := newReviewFixture(t)
			reviewer, u1, m1, m2 := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
			g := rf.NewID()
			rf.Dir.AddRoleAssignableGroup(g, "Ops admins")
			rf.Dir.AddMember(g, m1)
			rf.Dir.AddMember(g, m2)
			elig := rf.MustSubmit(rf.Admin, enginetest.EligibilitySub(g, enginetest.RoleOther, enginetest.Permanent()))
			rf.MakeEligible(u1, enginetest.RoleOther)
			rf.Dir.AddMember(g, rf.BreakGlass) // added in Entra after jitpim gave the group its eligibility
			d := definition(named(reviewer), domain.DefaultApprove, true)
			d.Scope.ExpandGroupMembers = tc.expand
			d = rf.define(d)
			rf.run()
			in := rf.instance(d.ID)
			items := rf.items(in.ID)
			want := 2
			if tc.expand {
				want = 4
			}
			if len(items) != want || in.ItemCount != want {
				t.Fatalf("%d items (instance says %d), want %d: %+v", len(items), in.ItemCount, want, items)
			}
			gi := rf.item(in.ID, g, domain.KindEligibility)
			if gi.PrincipalKind != domain.PrincipalGroup || gi.PrincipalName != "Ops admins" || gi.ViaGroupID != "" {
				t.Fatalf("group item %+v: want the group, by name", gi)
			}
			if _, ok := items[string(rf.BreakGlass)+"|eligibility"]; ok {
				t.Fatal("a break-glass account is under review")
			}
			if !tc.expand {
				if _, ok := items[string(m1)+"|eligibility"]; ok {
					t.Fatal("a member is listed without expandGroupMembers")
				}
				return
			}
			mi := rf.item(in.ID, m1, domain.KindEligibility)
			if mi.ViaGroupID != g || mi.PrincipalKind.IsGroup() || mi.PrincipalUPN != upn(m1) || mi.ScheduleID != elig.ID {
				t.Fatalf("member item %+v: want m1 through the group's schedule", mi)
			}
			if err := rf.decide(reviewer, mi, domain.ReviewDeny); err != nil {
				t.Fatal(err)
			}
			rf.Advance(8 * 24 * time.Hour)
			rf.run()
			if got := rf.item(in.ID, m1, domain.KindEligibility).ApplyResult; got != domain.ApplyNotSupported {
				t.Fatalf("member's denial applied as %q, want %s", got, domain.ApplyNotSupported)
			}
			if !rf.eligibilityLive(g, enginetest.RoleOther) {
				t.Fatal("a member's denial removed the group's eligibility")
			}
		})
	}
}
