package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/jitpim/jitpim/local/stack"
	"github.com/jitpim/jitpim/shared/domain"
)

// TestAzureRoleInThePortal: Gina makes Stan eligible for Reader on the
// rg-web resource group (the ARM-shaped API); Stan sees it on My roles by
// role and scope (the subscription by its display name), marked an Azure role, activates it with a
// justification, and Azure holds the assignment; he ends it and Azure no
// longer does. Every screen passes axe.
func TestAzureRoleInThePortal(t *testing.T) {
	const (
		sub   = "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57"
		rgWeb = sub + "/resourceGroups/rg-web"
	)
	reader := string(domain.AzureRoleReader)
	stanID := stack.UserID(st.Tenant, "stan")
	gina := st.MustAs(t, "gina", true)
	gina.Must(t, 201, "PUT", strings.TrimPrefix(rgWeb, "/")+"/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/"+uuid.NewString()+"?api-version=2020-10-01",
		map[string]any{"properties": map[string]any{"principalId": stanID, "requestType": "AdminAssign", "justification": "web tier support",
			"roleDefinitionId": sub + "/providers/Microsoft.Authorization/roleDefinitions/" + reader,
			"scheduleInfo":     map[string]any{"expiration": map[string]any{"type": "AfterDuration", "duration": "P30D"}}}})

	stan := newPerson(t, "stan")
	stan.run("open the portal", chromedp.Navigate(st.HostURL+"/"), chromedp.WaitVisible(chromedp.CSS(`main a.button`)),
		chromedp.Click(chromedp.CSS(`main a.button`)))
	stan.signIn(true)
	// The subscription by the name Azure gives it, not its id.
	stan.sees("My roles", "Reader at resource group rg-web (subscription Contoso Production)", "Azure role", "MFA, justification, at most 8 hours")
	stan.checkA11y("my roles with an Azure role")
	stan.shot("my-roles-azure")
	stan.run("open Activate", chromedp.Click(chromedp.CSS(`a[href*="`+reader+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#justification`)))
	stan.sees("Activate Reader at resource group rg-web")
	stan.checkA11y("activate an Azure role")
	stan.run("activate",
		chromedp.SetValue(chromedp.CSS(`#justification`), "checking the web tier's deployment logs"),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	if !st.ARM.Has(stanID, reader, rgWeb) {
		t.Fatalf("activated in the portal, but Azure holds no Reader assignment for Stan on rg-web: %s", stan.text())
	}
	stan.run("my roles again", chromedp.Click(chromedp.CSS(`nav a[href="/portal/"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	stan.sees("Reader at resource group rg-web", "Active until")
	stan.checkA11y("my roles, Azure role active")
	stan.run("my requests", chromedp.Click(chromedp.CSS(`nav a[href="/portal/requests"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	stan.sees("Reader at resource group rg-web")
	stan.checkA11y("my requests with an Azure role")
	stan.run("back", chromedp.Click(chromedp.CSS(`nav a[href="/portal/"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	stan.run("deactivate", chromedp.Click(chromedp.CSS(`form[action="/portal/deactivate"]:has(input[name="target"][value*="`+reader+`"]) button`)), chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	stan.sees("is no longer active")
	if st.ARM.Has(stanID, reader, rgWeb) {
		t.Fatal("deactivated, but Azure still holds Stan's Reader assignment on rg-web")
	}
}
