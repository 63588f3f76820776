package browser

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitpim/jitpim/local/stack"
)

// advance moves the handler's clock d ahead of real time (0 resets it).
func advance(t *testing.T, d time.Duration) {
	t.Helper()
	if err := os.WriteFile(clockFile, []byte(fmt.Sprint(int64(d/time.Second))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// signInHere follows the sign-in button on the page and signs in.
func (p *person) signInHere(mfa bool) {
	p.t.Helper()
	p.run("start sign-in", chromedp.WaitVisible(chromedp.CSS(`main a.button`)), chromedp.Click(chromedp.CSS(`main a.button`)))
	p.signIn(mfa)
}

// TestReviewerAcceptsRecommendations: Gina starts a review of the
// PAG-SERVICE-DESK group's members with Alice as reviewer. Alice finds it
// under Access reviews with its due date and progress, sees Adam and Steve
// by name and UPN, the group by name, their last sign-in and activation
// and the recommendation; she accepts the recommendations in bulk and then
// changes her mind on Steve, item by item.
func TestReviewerAcceptsRecommendations(t *testing.T) {
	ctx := context.Background()
	gina := st.MustAs(t, "gina", true)
	group := stack.GroupID(st.Tenant, "PAG-SERVICE-DESK")
	// Reviews other tests defined start now, so the run below starts this one only.
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil {
		t.Fatalf("access reviews timer: %v %s", err, out)
	}
	def := gina.Must(t, 201, "POST", "identityGovernance/accessReviews/definitions", map[string]any{
		"displayName": "Service desk members, quarterly",
		"scope":       map[string]any{"@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": "/groups/" + group + "/transitiveMembers", "queryType": "MicrosoftGraph"},
		"reviewers":   []any{map[string]any{"query": "/users/" + stack.UserID(st.Tenant, "alice"), "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Approve", "autoApplyDecisionsEnabled": false,
			"instanceDurationInDays": 7, "recommendationsEnabled": true, "mailNotificationsEnabled": true},
	})
	t.Cleanup(func() {
		gina.Must(t, 204, "DELETE", "identityGovernance/accessReviews/definitions/"+def["id"].(string), nil)
	})
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil || !strings.Contains(out, `\"Started\":1`) {
		t.Fatalf("starting the review: %v %s", err, out)
	}

	alice := newPerson(t, "alice")
	alice.run("open access reviews", chromedp.Navigate(st.HostURL+"/portal/reviews"))
	alice.signInHere(true)
	alice.sees("Access reviews", "Service desk members, quarterly", "member of group PAG-SERVICE-DESK", "open for your decisions", "0 of 2 decided")
	alice.checkA11y("access reviews")
	alice.shot("access-reviews")
	alice.run("open the review", chromedp.Click(chromedp.CSS(`a[href*="/portal/review?"]`)), chromedp.WaitVisible(chromedp.CSS(`main section`)))
	alice.sees("Access review: Service desk members, quarterly", "Adam Admin", "adam@jitpimdemo.onmicrosoft.com", "Steve Service",
		"steve@jitpimdemo.onmicrosoft.com", "member of group PAG-SERVICE-DESK", "Last sign-in", "Last activation", "Recommendation", "Accept recommendations")
	if body := alice.text(); strings.Contains(body, "name not found") || strings.Contains(body, "group "+group) {
		t.Fatalf("the review shows ids instead of names:\n%s", body)
	}
	alice.checkA11y("access review")
	alice.shot("access-review")

	alice.run("accept the recommendations",
		chromedp.SetValue(chromedp.CSS(`#j-accept`), "checked with the service desk lead"),
		chromedp.Click(chromedp.CSS(`button[name=accept]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note[role=status]`)))
	alice.sees("Recommendations accepted: ", "Adam Admin (", "Steve Service (", "2 of 2 decided")
	alice.checkA11y("access review, decided")

	alice.run("deny Steve", chromedp.Evaluate[chromedp.Void](`(function () {
  for (const s of document.querySelectorAll("main section")) {
    if (s.textContent.includes("steve@jitpimdemo.onmicrosoft.com")) {
      s.querySelector("textarea").value = "moved to the network team";
      s.querySelector("button[value=Deny]").click();
      return;
    }
  }
  throw new Error("no item for Steve");
})()`), chromedp.WaitVisible(chromedp.CSS(`p.note[role=status]`)))
	alice.sees("Recorded: Deny (remove) for Steve Service, member of group PAG-SERVICE-DESK", "Deny (remove) (moved to the network team)")
	alice.shot("access-review-decided")

	// What the API says matches what Alice saw.
	insts := gina.Must(t, 200, "GET", "identityGovernance/accessReviews/definitions/"+def["id"].(string)+"/instances", nil)["value"].([]any)
	items := gina.Must(t, 200, "GET", "identityGovernance/accessReviews/definitions/"+def["id"].(string)+"/instances/"+
		insts[0].(map[string]any)["id"].(string)+"/decisions", nil)["value"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		who := m["principal"].(map[string]any)["id"]
		if who == stack.UserID(st.Tenant, "steve") && m["decision"] != "Deny" {
			t.Fatalf("Steve's item: %v", m)
		}
		if m["decision"] == "NotReviewed" {
			t.Fatalf("an item left undecided after accepting: %v", m)
		}
	}
}

// TestMailedApprovalLinkLandsOnThePortal: Rita asks for Global
// Administrator; the link in Alice's mail opens the portal's approval
// screen (same look, same session) after an MFA sign-in, and approving
// there grants the role and spends the link.
func TestMailedApprovalLinkLandsOnThePortal(t *testing.T) {
	rita := st.MustAs(t, "rita", true)
	seen := len(st.Graph.Outbox())
	req := rita.Must(t, 201, "POST", "roleManagement/directory/roleAssignmentScheduleRequests", st.Activation("rita", stack.RoleGlobalAdmin, "PT1H"))
	if req["status"] != "PendingApproval" {
		t.Fatalf("Rita's request: %v", req)
	}
	t.Cleanup(func() {
		rita.Must(t, 201, "POST", "roleManagement/directory/roleAssignmentScheduleRequests", map[string]any{"action": "selfDeactivate",
			"principalId": stack.UserID(st.Tenant, "rita"), "roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/"})
	})
	link := ""
	for tries := 0; tries < 50 && link == ""; tries++ {
		for _, m := range st.Graph.Outbox()[seen:] {
			if strings.Contains(m.Subject, "Approval needed") && strings.Contains(strings.Join(m.To, ","), "alice") {
				if i := strings.Index(m.Body, st.HostURL+"/api/approvals/r/"); i >= 0 {
					l := m.Body[i:]
					link = l[:strings.IndexAny(l+" ", " \n\"<")]
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if link == "" {
		t.Fatal("no approval link mailed to Alice")
	}

	alice := newPerson(t, "alice")
	alice.run("open the mailed link", chromedp.Navigate(link))
	alice.sees("A privileged access request needs you", "Opening this page changed nothing")
	if body := alice.text(); strings.Contains(body, "Rita") {
		t.Fatalf("the link shows the request before sign-in:\n%s", body)
	}
	alice.signInHere(true)
	alice.sees("Review the request", "Rita Regular wants Global Administrator", "rita@jitpimdemo.onmicrosoft.com", stack.DemoTicket("rita"),
		"1 hour, counted from approval", "Approve requests", "Access reviews")
	alice.checkA11y("mailed approval link")
	alice.shot("mailed-approval")
	alice.run("approve",
		chromedp.SetValue(chromedp.CSS(`textarea[name=justification]`), "CAB approved"),
		chromedp.Click(chromedp.CSS(`button[value=Approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	alice.sees("Recorded", "Approved: Rita Regular, Global Administrator (granted)")
	if !st.Graph.HasRoleAssignment(stack.UserID(st.Tenant, "rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("approved through the link, but Rita does not hold Global Administrator")
	}
	alice.run("open the link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	alice.sees("Nothing")
}

// TestTicketCheckWhileTyping: Steve types a ticket on the Helpdesk
// Administrator form; someone else's ticket is refused with the reason
// while he types, his own is confirmed, and submitting the refused one
// without the script is refused the same way, changing nothing.
func TestTicketCheckWhileTyping(t *testing.T) {
	steve := newPerson(t, "steve")
	steve.run("open Activate", chromedp.Navigate(st.HostURL+"/portal/activate?target=role:"+stack.RoleHelpdeskAdmin+":/"))
	steve.signInHere(false)
	steve.sees("Activate Helpdesk Administrator", "Ticket number")
	steve.run("type Adam's ticket", chromedp.SendKeys(chromedp.CSS(`#ticket`), stack.DemoTicket("adam")))
	steve.sees("does not name Steve Service")
	if cls, err := chromedp.Run(steve.ctx, chromedp.Evaluate[string](`document.getElementById("ticket-status").className`)); err != nil || !strings.Contains(cls, "refused") {
		t.Fatalf("the refusal is not marked as one: %q %v", cls, err)
	}
	steve.checkA11y("activate, ticket refused")
	steve.shot("ticket-check")
	steve.run("type his own", chromedp.Evaluate[chromedp.Void](`document.getElementById("ticket").value = ""`), chromedp.SendKeys(chromedp.CSS(`#ticket`), stack.DemoTicket("steve")))
	steve.sees(stack.DemoTicket("steve") + " is valid in ServiceNow")

	// Without the script the form is checked on submit, the same way.
	steve.run("submit Adam's ticket", chromedp.SetValue(chromedp.CSS(`#ticket`), stack.DemoTicket("adam")),
		chromedp.SetValue(chromedp.CSS(`#justification`), "password resets"),
		// A DOM click: the status line above the button may still be changing the layout.
		chromedp.Evaluate[chromedp.Void](`document.querySelector("button.primary").click()`), chromedp.WaitVisible(chromedp.CSS(`p.problem`)))
	steve.sees("Nothing was changed", "does not name Steve Service")
	if st.Graph.HasRoleAssignment(stack.UserID(st.Tenant, "steve"), stack.RoleHelpdeskAdmin, "/") {
		t.Fatal("a refused ticket granted the role")
	}
}

// TestRenewAnExpiredEligibility: Adam's eligibility for Exchange
// Administrator ran out; My roles says so in words and offers Renew, and
// renewing asks an administrator.
func TestRenewAnExpiredEligibility(t *testing.T) {
	gina := st.MustAs(t, "gina", true)
	adam := stack.UserID(st.Tenant, "adam")
	gina.Must(t, 201, "POST", "roleManagement/directory/roleEligibilityScheduleRequests", map[string]any{
		"action": "adminAssign", "principalId": adam, "roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/",
		"justification": "mailbox migration", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P1D"}}})
	advance(t, 2*24*time.Hour)
	t.Cleanup(func() { advance(t, 0) })

	p := newPerson(t, "adam")
	p.run("open the portal", chromedp.Navigate(st.HostURL+"/portal/"))
	p.signInHere(false)
	p.sees("My roles", "Exchange Administrator", "Expired", "renewal, decided by an administrator")
	p.checkA11y("my roles, expired")
	p.shot("my-roles-renew")
	p.run("open Renew", chromedp.Click(chromedp.CSS(`a[href*="/portal/renew?"]`)), chromedp.WaitVisible(chromedp.CSS(`#justification`)))
	p.sees("Renew Exchange Administrator", "An administrator decides on the renewal")
	p.checkA11y("renew")
	p.run("ask", chromedp.SetValue(chromedp.CSS(`#justification`), "the migration runs another month"),
		chromedp.Click(chromedp.CSS(`button.primary`)), chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	p.sees("Renewal asked", "Your request to renew Exchange Administrator is waiting for an administrator")
	p.run("my requests", chromedp.Click(chromedp.CSS(`nav a[href="/portal/requests"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	p.sees("Exchange Administrator", "renew", "waiting for an administrator")
}
