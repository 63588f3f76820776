package enginetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Azure scopes the tests grant at: a subscription and a resource group in it.
const (
	AzSub = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	AzRG  = AzSub + "/resourcegroups/rg-web"
)

// AzContributorRG is Contributor on the resource group, the Azure target
// the tests activate.
var AzContributorRG = domain.AzureRoleTarget(domain.AzureRoleContributor, AzRG)

// seedOutside makes an Azure role assignment outside jitpim (in the
// portal, by a script) and returns it.
func (f *Fixture) seedOutside(principal, role domain.ObjectID, scope string) domain.AzureRoleAssignment {
	a := domain.AzureRoleAssignment{Name: string(f.NewID()), Scope: scope, PrincipalID: principal, RoleDefinitionID: role}
	f.ARM.Seed(a)
	return a
}

// azureActivated makes dev eligible for Contributor on the resource group,
// with approval by the subscription's Owner, and has the Owner approve an
// hour's activation. Outside jitpim, dev already holds Reader on the
// subscription and someone else Contributor on the resource group.
func azureActivated(t *testing.T, f *Fixture) (dev, owner domain.ObjectID, act domain.Request, outside []domain.AzureRoleAssignment) {
	t.Helper()
	owner, dev = f.NewUser(), f.NewUser()
	outside = []domain.AzureRoleAssignment{
		f.seedOutside(owner, domain.AzureRoleOwner, AzSub),
		f.seedOutside(dev, domain.AzureRoleReader, AzSub),
		f.seedOutside(f.NewUser(), domain.AzureRoleContributor, AzRG),
	}
	f.RequireApproval(AzContributorRG, UserApprover(owner))
	act = f.PendingActivation(dev, AzContributorRG)
	if n := f.ARM.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("Azure AddRoleAssignment called %d times before approval", n)
	}
	before := f.Snapshot()
	_, err := f.Decide(dev, act.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeForbidden)
	f.AssertNoWrites(t, before)

	f.Advance(5 * time.Minute)
	r, err := f.Decide(owner, act.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("the Owner's approval: %v", err)
	}
	WantStatus(t, r, domain.StatusProvisioned)
	if !f.ARM.Has(dev, domain.AzureRoleContributor, AzRG) {
		t.Fatal("approved activation: Azure holds no Contributor assignment on the resource group")
	}
	return dev, owner, r, outside
}

func testAzureActivateWithOwnerApproval(t *testing.T, su suite) {
	f := su.fixture(t)
	dev, _, act, outside := azureActivated(t, f)

	want := append(slices.Clone(outside), domain.AzureRoleAssignment{Name: domain.AzureAssignmentName(dev, AzContributorRG), Scope: AzRG,
		PrincipalID: dev, RoleDefinitionID: domain.AzureRoleContributor})
	if got := f.ARM.All(); !sameAssignments(got, want) {
		t.Fatalf("Azure holds %+v, want the outside assignments and jitpim's, named deterministically: %+v", got, want)
	}
	if a := f.AuditsFor("grant.add", dev); len(a) != 1 || a[0].Target != AzContributorRG {
		t.Fatalf("grant.add records %+v: want one for the Azure target", a)
	}
	if s := f.GetSchedule(act.ID); s.Target != AzContributorRG || s.AssignmentType != domain.AssignmentActivated ||
		!s.End.Equal(f.Now.Add(time.Hour)) {
		t.Fatalf("schedule %+v: want an hour's activation of the Azure target from the approval", s)
	}

	f.Advance(time.Hour + time.Minute)
	if res := f.Sweep(); res.Expired != 1 {
		t.Fatalf("sweep after the window expired %d, want 1", res.Expired)
	}
	f.AssertNoAccess(t, dev, AzContributorRG)
	if got := f.ARM.All(); !sameAssignments(got, outside) {
		t.Fatalf("after expiry Azure holds %+v, want exactly the outside assignments %+v", got, outside)
	}
	if n := f.ARM.Calls()["RemoveRoleAssignment"]; n != 1 {
		t.Fatalf("Azure RemoveRoleAssignment called %d times, want 1", n)
	}
	if err := f.VerifyAuditChain(); err != nil {
		t.Fatal(err)
	}
}

// The principal's own Contributor on the subscription (inherited by the
// resource group, made outside jitpim) is no refusal, and jitpim's expiry
// removes only the assignment it made at the resource group.
func testAzureExpiryLeavesInherited(t *testing.T, su suite) {
	f := su.fixture(t)
	dev := f.NewUser()
	inherited := f.seedOutside(dev, domain.AzureRoleContributor, AzSub)
	f.MakeEligible(dev, AzContributorRG)
	f.MustActivate(dev, AzContributorRG, time.Hour)
	if !f.ARM.Has(dev, domain.AzureRoleContributor, AzRG) {
		t.Fatal("activation made no assignment at the resource group")
	}
	f.Advance(time.Hour + time.Minute)
	f.Sweep()
	if got := f.ARM.All(); !sameAssignments(got, []domain.AzureRoleAssignment{inherited}) {
		t.Fatalf("after expiry Azure holds %+v, want only the inherited assignment", got)
	}
}

func testAzureOutsideAssignmentRefused(t *testing.T, su suite) {
	f := su.fixture(t)
	dev := f.NewUser()
	outside := f.seedOutside(dev, domain.AzureRoleContributor, AzRG)
	f.MakeEligible(dev, AzContributorRG)
	before := f.Snapshot()
	_, err := f.Activate(dev, AzContributorRG, time.Hour)
	WantCode(t, err, domain.CodeConflict)
	WantContains(t, err, "outside jitpim")
	f.AssertNoWrites(t, before)
	if got := f.ARM.All(); !sameAssignments(got, []domain.AzureRoleAssignment{outside}) {
		t.Fatalf("Azure holds %+v, want the outside assignment untouched", got)
	}
}

func testAzureBreakGlassUntouched(t *testing.T, su suite) {
	f := su.fixture(t)
	standing := f.seedOutside(f.BreakGlass, domain.AzureRoleOwner, AzSub)
	before := f.Snapshot()
	for _, in := range []struct {
		name string
		sub  func() (domain.Request, error)
	}{
		{"eligible", func() (domain.Request, error) {
			return f.Submit(f.Admin, EligibilitySub(f.BreakGlass, AzContributorRG, Permanent()))
		}},
		{"active", func() (domain.Request, error) {
			return f.Submit(f.Admin, AssignSub(f.BreakGlass, AzContributorRG, time.Hour))
		}},
		{"remove", func() (domain.Request, error) {
			s := AssignSub(f.BreakGlass, domain.AzureRoleTarget(domain.AzureRoleOwner, AzSub), time.Hour)
			s.Action = domain.ActionAdminRemove
			return f.Submit(f.Admin, s)
		}},
	} {
		_, err := in.sub()
		WantCode(t, err, domain.CodeForbidden)
	}
	f.AssertNoWrites(t, before)
	f.Advance(48 * time.Hour)
	f.Sweep()
	if got := f.ARM.All(); !sameAssignments(got, []domain.AzureRoleAssignment{standing}) {
		t.Fatalf("Azure holds %+v, want the break-glass Owner untouched", got)
	}
}

func testAzureInvalidScopeRefused(t *testing.T, su suite) {
	f := su.fixture(t)
	dev := f.NewUser()
	before := f.Snapshot()
	for _, scope := range []string{"/", AzSub + "/resourceGroups/RG-Web", "/subscriptions/x", AzRG + "/../x"} {
		_, err := f.Submit(f.Admin, EligibilitySub(dev, domain.Target{Kind: domain.TargetAzureRole, RoleDefinitionID: domain.AzureRoleContributor,
			ResourceScope: scope}, Permanent()))
		WantCode(t, err, domain.CodeInvalid)
		var de *domain.Error
		if !errors.As(err, &de) || de.Field != "scope" {
			t.Fatalf("scope %q: %v, want the field named", scope, err)
		}
	}
	f.AssertNoWrites(t, before)
}

// A grant whose call landed in Azure but whose answer was lost (a timeout,
// a 429 after the write) is cleaned up under the same name; the next
// activation makes exactly one assignment. A revoke throttled at expiry is
// retried by the sweep until it lands.
func testAzureFailuresRetriedByName(t *testing.T, su suite) {
	f := su.fixture(t)
	dev := f.NewUser()
	f.MakeEligible(dev, AzContributorRG)
	name := domain.AzureAssignmentName(dev, AzContributorRG)
	landed := false
	f.ARM.Fail = func(op string) error {
		if op == "AddRoleAssignment" && !landed {
			landed = true
			f.ARM.Seed(domain.AzureRoleAssignment{Name: name, Scope: AzRG, PrincipalID: dev, RoleDefinitionID: domain.AzureRoleContributor})
			return domain.Errorf(domain.CodeTransient, "429 TooManyRequests (Retry-After: 10)")
		}
		return nil
	}
	r, err := f.Activate(dev, AzContributorRG, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	WantStatus(t, r, domain.StatusFailed)
	f.AssertNoAccess(t, dev, AzContributorRG)

	f.Advance(time.Minute)
	f.MustActivate(dev, AzContributorRG, time.Hour)
	if got := f.ARM.All(); len(got) != 1 || got[0].Name != name {
		t.Fatalf("Azure holds %+v, want exactly one assignment named %s", got, name)
	}

	throttled := 0
	f.ARM.Fail = func(op string) error {
		if op == "RemoveRoleAssignment" && throttled < 2 {
			throttled++
			return domain.Errorf(domain.CodeTransient, "429 TooManyRequests")
		}
		return nil
	}
	f.Advance(time.Hour + time.Minute)
	if res := f.Sweep(); res.RevokesPending != 1 {
		t.Fatalf("sweep at expiry: %+v, want the revoke pending", res)
	}
	if !f.ARM.Has(dev, domain.AzureRoleContributor, AzRG) {
		t.Fatal("the throttled revoke removed the assignment")
	}
	for i := 0; i < 4 && f.ARM.Has(dev, domain.AzureRoleContributor, AzRG); i++ {
		f.Advance(time.Hour)
		f.Sweep()
	}
	f.AssertNoAccess(t, dev, AzContributorRG)
	if throttled != 2 {
		t.Fatalf("the revoke was throttled %d times, want 2 before it landed", throttled)
	}
}

// An admin's active assignment and the principal's activation of one Azure
// target share one Azure assignment; the activation's end leaves it.
func testAzureOverlap(t *testing.T, su suite) {
	f := su.fixture(t)
	dev := f.NewUser()
	f.MakeEligible(dev, AzContributorRG)
	WantStatus(t, f.MustSubmit(f.Admin, AssignSub(dev, AzContributorRG, 2*time.Hour)), domain.StatusProvisioned)
	f.Advance(time.Minute)
	f.MustActivate(dev, AzContributorRG, time.Hour)
	if n := f.ARM.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("Azure AddRoleAssignment called %d times, want 1", n)
	}
	f.Advance(time.Hour)
	f.Sweep()
	if !f.ARM.Has(dev, domain.AzureRoleContributor, AzRG) {
		t.Fatal("the activation's expiry removed access the active assignment still covers")
	}
	f.Advance(time.Hour)
	f.Sweep()
	f.AssertNoAccess(t, dev, AzContributorRG)
}

func sameAssignments(got, want []domain.AzureRoleAssignment) bool {
	key := func(a domain.AzureRoleAssignment) string {
		return a.Scope + "|" + a.Name + "|" + string(a.PrincipalID) + "|" + string(a.RoleDefinitionID)
	}
	g, w := make([]string, 0, len(got)), make([]string, 0, len(want))
	for _, a := range got {
		g = append(g, key(a))
	}
	for _, a := range want {
		w = append(w, key(a))
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// A request named by its caller (as ARM's API names requests) is created
// once: the same submission under the name returns the first request, and
// a different one, or another caller's, is a conflict that changes nothing.
func testAzureNamedRequests(t *testing.T, su suite) {
	f := su.fixture(t)
	dev, other := f.NewUser(), f.NewUser()
	name := "5D0C3E4A-9B1F-4C2D-8E7F-6A5B4C3D2E1F"
	in := EligibilitySub(dev, AzContributorRG, Permanent())
	in.RequestName = name
	first := f.MustSubmit(f.Admin, in)
	if first.ID != strings.ToLower(name) {
		t.Fatalf("request id %q, want the name %q in lower case", first.ID, strings.ToLower(name))
	}
	again := f.MustSubmit(f.Admin, in)
	if again.ID != first.ID || len(f.RequestsOf(dev)) != 1 {
		t.Fatalf("a repeated named submission made %d requests", len(f.RequestsOf(dev)))
	}
	before := f.Snapshot()
	different := in
	different.PrincipalID = other
	_, err := f.Submit(f.Admin, different)
	WantCode(t, err, domain.CodeConflict)
	theirs := ActivationSub(dev, AzContributorRG, time.Hour)
	theirs.RequestName = name
	_, err = f.Submit(dev, theirs)
	WantCode(t, err, domain.CodeConflict)
	bad := in
	bad.RequestName = "not-a-guid"
	_, err = f.Submit(f.Admin, bad)
	WantCode(t, err, domain.CodeInvalid)
	f.AssertNoWrites(t, before)
}
