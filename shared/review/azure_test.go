package review_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
)

// A review of an Azure role at a scope covers the assignments jitpim made
// at exactly that scope; a denied active assignment goes through the same
// removal path as a directory role's, which deletes only jitpim's own
// assignment in Azure. Break-glass accounts, activations, other scopes and
// assignments made outside jitpim are never items.
func TestReviewOfAnAzureRole(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer, kept, denied, atSub, activator, outsider := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
	rg := enginetest.AzContributorRG
	rf.MakeEligible(kept, rg)
	rf.MustSubmit(rf.Admin, enginetest.AssignSub(denied, rg, 90*24*time.Hour))
	rf.MakeEligible(atSub, domain.AzureRoleTarget(domain.AzureRoleContributor, enginetest.AzSub))
	rf.MakeEligible(activator, rg)
	rf.MustActivate(activator, rg, time.Hour)
	outside := domain.AzureRoleAssignment{Name: string(rf.NewID()), Scope: enginetest.AzRG, PrincipalID: outsider, RoleDefinitionID: domain.AzureRoleContributor}
	rf.ARM.Seed(outside)
	bg := domain.Schedule{ID: "bg-elig", Kind: domain.KindEligibility, PrincipalID: rf.BreakGlass, Target: rg, Start: rf.Now,
		Status: domain.ScheduleProvisioned, MemberType: domain.MemberDirect}
	if err := rf.store.CreateSchedule(rf.Ctx, &bg); err != nil {
		t.Fatal(err)
	}

	d := definition(named(reviewer), domain.DefaultApprove, true)
	d.DisplayName, d.Scope = "Contributors on rg-web", domain.ReviewScope{Kind: domain.ReviewScopeAzureRole, RoleDefinitionID: rg.RoleDefinitionID, ResourceScope: rg.ResourceScope}
	d = rf.define(d)
	rf.run()
	in := rf.instance(d.ID)
	items := rf.items(in.ID)
	if len(items) != 3 {
		t.Fatalf("items %+v: want the two eligibilities and the active assignment at the resource group", items)
	}
	for _, k := range []string{string(kept) + "|eligibility", string(denied) + "|assignment", string(activator) + "|eligibility"} {
		if _, ok := items[k]; !ok {
			t.Fatalf("no item %s among %+v", k, items)
		}
	}
	if err := rf.decide(reviewer, items[string(denied)+"|assignment"], domain.ReviewDeny); err != nil {
		t.Fatal(err)
	}
	if err := rf.decide(reviewer, items[string(kept)+"|eligibility"], domain.ReviewApprove); err != nil {
		t.Fatal(err)
	}

	rf.Advance(8 * 24 * time.Hour)
	rf.run()
	if in := rf.instance(d.ID); in.Status != domain.ReviewApplied {
		t.Fatalf("instance %s, want Applied", in.Status)
	}
	if rf.ARM.Has(denied, domain.AzureRoleContributor, enginetest.AzRG) {
		t.Fatal("the denied assignment is still in Azure")
	}
	if !rf.ARM.Has(outsider, domain.AzureRoleContributor, enginetest.AzRG) {
		t.Fatal("the review removed an assignment made outside jitpim")
	}
	if n := rf.ARM.Calls()["RemoveRoleAssignment"]; n != 1 { // the denial only: no sweep ran
		t.Fatalf("Azure RemoveRoleAssignment called %d times, want 1", n)
	}
	if !rf.eligibilityLive(kept, rg) || !rf.eligibilityLive(atSub, domain.AzureRoleTarget(domain.AzureRoleContributor, enginetest.AzSub)) {
		t.Fatal("an approved or unreviewed eligibility was removed")
	}
}

func TestAzureReviewScopeRules(t *testing.T) {
	ok := domain.ReviewScope{Kind: domain.ReviewScopeAzureRole, RoleDefinitionID: domain.AzureRoleOwner, ResourceScope: enginetest.AzSub}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []domain.ReviewScope{
		{Kind: domain.ReviewScopeAzureRole, RoleDefinitionID: domain.AzureRoleOwner, ResourceScope: "/"},
		{Kind: domain.ReviewScopeAzureRole, RoleDefinitionID: domain.AzureRoleOwner, ResourceScope: "/subscriptions/0B1F6471-1BF0-4DDA-AEC3-CB9272F09590"},
		{Kind: domain.ReviewScopeAzureRole, RoleDefinitionID: "Owner", ResourceScope: enginetest.AzSub},
	} {
		enginetest.WantCode(t, bad.Validate(), domain.CodeInvalid)
	}
	if !ok.Covers(domain.AzureRoleTarget(domain.AzureRoleOwner, enginetest.AzSub)) || ok.Covers(domain.AzureRoleTarget(domain.AzureRoleOwner, enginetest.AzRG)) ||
		ok.Covers(domain.RoleTarget(domain.AzureRoleOwner, "/")) {
		t.Fatal("an Azure review scope covers its role at its scope only")
	}
}
