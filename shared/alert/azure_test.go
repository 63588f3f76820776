package alert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
)

// Azure role assignments made outside jitpim that apply at a scope jitpim
// manages are reported (the subscription's Owner above the managed
// resource group, a Contributor made in the portal on it), and never
// removed, even with removal of outside assignments on. jitpim's own
// activation, break-glass accounts, non-privileged roles and scopes jitpim
// does not manage are not reported.
func TestAlertScanReportsOutsideAzureAssignments(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{RemoveOutside: true})
	tg := enginetest.AzContributorRG
	dev, owner, portal, reader, elsewhere := f.NewUser(), f.NewUser(), f.NewUser(), f.NewUser(), f.NewUser()
	seed := func(p, role domain.ObjectID, scope string) domain.AzureRoleAssignment {
		a := domain.AzureRoleAssignment{Name: string(f.NewID()), Scope: scope, PrincipalID: p, RoleDefinitionID: role}
		f.ARM.Seed(a)
		return a
	}
	ownerA := seed(owner, domain.AzureRoleOwner, enginetest.AzSub)
	portalA := seed(portal, domain.AzureRoleContributor, enginetest.AzRG)
	seed(f.BreakGlass, domain.AzureRoleOwner, enginetest.AzSub)
	seed(reader, domain.AzureRoleReader, enginetest.AzRG)
	seed(elsewhere, domain.AzureRoleOwner, enginetest.AzSub+"/resourcegroups/rg-other")
	f.MakeEligible(dev, tg)
	f.MustActivate(dev, tg, time.Hour)
	before := len(f.ARM.All())

	f.scanAlerts()
	a := f.alert(domain.AlertRolesOutsidePIM)
	var azure []string
	for _, inc := range a.Incidents {
		if inc.Target.Kind == domain.TargetAzureRole {
			azure = append(azure, inc.ID)
		}
	}
	want := []string{
		"outside:" + domain.GrantKey(owner, domain.AzureRoleTarget(domain.AzureRoleOwner, enginetest.AzSub)) + ":" + ownerA.Name,
		"outside:" + domain.GrantKey(portal, tg) + ":" + portalA.Name,
	}
	if len(azure) != 2 || !hasIncident(a, want[0]) || !hasIncident(a, want[1]) {
		t.Fatalf("Azure incidents %v, want exactly %v", azure, want)
	}
	if n := len(f.ARM.All()); n != before || f.ARM.Calls()["RemoveRoleAssignment"] != 0 {
		t.Fatal("the scan removed an Azure assignment")
	}
	for _, inc := range a.Incidents {
		if strings.Contains(inc.ID, string(dev)) {
			t.Fatalf("jitpim's own activation reported: %s", inc.ID)
		}
	}
}
