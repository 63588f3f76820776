package enginetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// ResourceOwners is the settings table's "approver: other owners of the
// resource".
var ResourceOwners = domain.Approver{Kind: domain.ApproverResourceOwners}

// The other owners of the resource approve: those holding Owner at the
// resource group or above it when the request is made (a user, and an
// owners group's members), never the requester (though an Owner himself),
// a break-glass account, an owner of a sibling resource group or of a
// resource below, or a principal that is neither user nor group.
func testAzureOtherOwnersApprove(t *testing.T, su suite) {
	f := su.fixture(t)
	dev, subOwner, groupMember, siblingOwner, outsider := f.NewUser(), f.NewUser(), f.NewUser(), f.NewUser(), f.NewUser()
	owners, servicePrincipal := f.NewID(), f.NewID()
	f.Dir.AddGroup(owners) // a closed directory: the service principal is no group
	f.Dir.AddMember(owners, groupMember)
	f.Dir.AddMember(owners, dev)
	f.seedOutside(subOwner, domain.AzureRoleOwner, AzSub)
	f.seedOutside(owners, domain.AzureRoleOwner, AzRG)
	f.seedOutside(dev, domain.AzureRoleOwner, AzSub)
	f.seedOutside(f.BreakGlass, domain.AzureRoleOwner, AzSub)
	f.seedOutside(servicePrincipal, domain.AzureRoleOwner, AzRG)
	f.seedOutside(siblingOwner, domain.AzureRoleOwner, AzSub+"/resourcegroups/rg-web2")
	f.seedOutside(siblingOwner, domain.AzureRoleOwner, AzRG+"/providers/microsoft.web/sites/w1")
	f.RequireApproval(AzContributorRG, ResourceOwners)

	act := f.PendingActivation(dev, AzContributorRG)
	got := act.Approval.Stages[0].Approvers
	want := []domain.Approver{UserApprover(subOwner), GroupApprover(owners)}
	slices.SortFunc(got, func(a, b domain.Approver) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(want, func(a, b domain.Approver) int { return cmp.Compare(a.ID, b.ID) })
	if !slices.Equal(got, want) {
		t.Fatalf("the stage asks %+v, want the other owners %+v", got, want)
	}
	before := f.Snapshot()
	for _, who := range []domain.ObjectID{dev, siblingOwner, outsider, f.BreakGlass} {
		_, err := f.Decide(who, act.ID, Stage1, "Approve")
		WantCode(t, err, domain.CodeForbidden)
	}
	f.AssertNoWrites(t, before)
	r, err := f.Decide(groupMember, act.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("approval by a member of the owners group: %v", err)
	}
	WantStatus(t, r, domain.StatusProvisioned)
	if !f.ARM.Has(dev, domain.AzureRoleContributor, AzRG) {
		t.Fatal("approved activation: no Contributor assignment on the resource group")
	}
	// The policy keeps its placeholder: the next request asks whoever owns
	// the resource then.
	if p := f.SetPolicy(domain.PolicyID(AzContributorRG), func(*domain.Policy) {}); !p.Activation.NamesResourceOwners() {
		t.Fatal("resolving the owners rewrote the stored policy")
	}
}

// With no other owner, the activation is refused with the reason, and
// nothing is written: deny on doubt, never self-approval and never a
// request that waits for nobody.
func testAzureNoOtherOwnerRefused(t *testing.T, su suite) {
	f := su.fixture(t)
	dev := f.NewUser()
	f.seedOutside(dev, domain.AzureRoleOwner, AzSub)
	f.seedOutside(f.BreakGlass, domain.AzureRoleOwner, AzSub)
	f.seedOutside(f.NewUser(), domain.AzureRoleContributor, AzSub)
	f.RequireApproval(AzContributorRG, ResourceOwners)
	f.MakeEligible(dev, AzContributorRG)
	before := f.Snapshot()
	for _, validationOnly := range []bool{true, false} {
		in := ActivationSub(dev, AzContributorRG, time.Hour)
		in.ValidationOnly = validationOnly
		_, err := f.Submit(dev, in)
		WantCode(t, err, domain.CodeForbidden)
		WantContains(t, err, "another owner of the resource")
	}
	f.AssertNoWrites(t, before)
	if f.ARM.Has(dev, domain.AzureRoleContributor, AzRG) {
		t.Fatal("refused activation granted Contributor")
	}
}
