package e2e

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/stack"
)

var (
	reviewLinkRE = regexp.MustCompile(`https?://[^"\s<]+/api/approvals/review/[A-Za-z0-9_.\-]+`)
	itemRE       = regexp.MustCompile(`name="item" value="([^"]+)"`)
)

const reviewDefs = "identityGovernance/accessReviews/definitions"

// reviewLinkFor finds the newest access review link mailed to a demo user.
func reviewLinkFor(t *testing.T, alias string) string {
	t.Helper()
	for tries := 0; tries < 50; tries++ {
		out := st.Graph.Outbox()
		for i := len(out) - 1; i >= 0; i-- {
			m := out[i]
			if strings.Contains(m.Subject, "Access review") && strings.Contains(strings.Join(m.To, ","), alias) {
				if l := reviewLinkRE.FindString(m.Body); l != "" {
					return strings.ReplaceAll(l, "&amp;", "&")
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no access review mail to %s", alias)
	return ""
}

// helpdeskEligibilities lists steve's live Helpdesk Administrator eligibilities.
func helpdeskEligibilities(t *testing.T, gina *stack.Client) []any {
	t.Helper()
	out := must(t, gina, 200, "GET", "roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '"+user("steve")+
		"' and roleDefinitionId eq '"+stack.RoleHelpdeskAdmin+"'", nil)
	return out["value"].([]any)
}

// TestAccessReviewThroughTheHost: Gina (an admin) defines a review of the
// Helpdesk Administrator role with Alice as reviewer; the accessReviews
// timer starts it and mails Alice a link; Alice signs in on the page and
// denies Steve's eligibility; after the review's end the timer removes it
// through an adminRemove request by jitpim, audited.
func TestAccessReviewThroughTheHost(t *testing.T) {
	defer advance(t, 0)
	gina := as(t, "gina", true)
	steve, alice := user("steve"), user("alice")
	if len(helpdeskEligibilities(t, gina)) == 0 {
		t.Fatal("the demo has no Helpdesk Administrator eligibility for Steve")
	}
	t.Cleanup(func() {
		// Later tests need Steve's seeded eligibility: give it back.
		if len(helpdeskEligibilities(t, gina)) == 0 {
			must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": steve,
				"roleDefinitionId": stack.RoleHelpdeskAdmin, "directoryScopeId": "/", "justification": "demo seed (restored after the review test)",
				"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P180D"}}})
		}
	})
	def := must(t, gina, 201, "POST", reviewDefs, map[string]any{
		"displayName":             "Helpdesk Administrators",
		"descriptionForReviewers": "Keep only who still resets passwords.",
		"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + stack.RoleHelpdeskAdmin, "queryType": "MicrosoftGraph"}}},
		"reviewers": []any{map[string]any{"query": "/users/" + alice, "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Approve", "autoApplyDecisionsEnabled": true,
			"instanceDurationInDays": 1, "recommendationsEnabled": true, "mailNotificationsEnabled": true},
	})
	id := def["id"].(string)
	if !strings.Contains(fmt.Sprint(def["warnings"]), "APPROVED") {
		t.Fatalf("definition: %v", def)
	}
	ctx := context.Background()
	out, err := st.RunTimer(ctx, "accessReviews")
	if err != nil || !strings.Contains(out, `\"Started\":1`) {
		t.Fatalf("first run: %v %s", err, out)
	}
	insts := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances", nil)["value"].([]any)
	if len(insts) != 1 || insts[0].(map[string]any)["status"] != "InProgress" {
		t.Fatalf("instances: %v", insts)
	}
	iid := insts[0].(map[string]any)["id"].(string)
	// A duplicated run starts nothing more.
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil || !strings.Contains(out, `\"Started\":0`) {
		t.Fatalf("second run: %v %s", err, out)
	}

	link := reviewLinkFor(t, "alice")
	b := newBrowser(t, alice, true)
	_, body := b.get(link)
	m := signRE.FindStringSubmatch(body)
	if m == nil || strings.Contains(body, "steve@") {
		t.Fatalf("the page before sign-in: %s", body)
	}
	code, body := b.get(st.HostURL + strings.ReplaceAll(m[1], "&amp;", "&"))
	csrf := formCSRF(body, linkPath(link))
	if code != 200 || csrf == nil {
		t.Fatalf("after sign-in: %d %s", code, body)
	}
	item := ""
	for _, sec := range strings.Split(body, "<section ")[1:] {
		if strings.Contains(sec, "steve@jitpimdemo.onmicrosoft.com") && strings.Contains(sec, "Helpdesk Administrator") {
			if m := itemRE.FindStringSubmatch(sec); m != nil {
				item = m[1]
			}
		}
	}
	if item == "" {
		t.Fatalf("Steve's assignment is not on Alice's page: %s", body)
	}
	code, body = b.post(link, url.Values{"decision": {"Deny"}, "justification": {"moved to the network team"}, "csrf": {csrf[1]}, "item": {item}})
	if code != 200 || !strings.Contains(body, "Recorded") {
		t.Fatalf("deny: %d %s", code, body)
	}
	got := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances/"+iid+"/decisions/"+item, nil)
	if got["decision"] != "Deny" || got["reviewedBy"].(map[string]any)["id"] != alice || got["principal"].(map[string]any)["id"] != steve {
		t.Fatalf("decision: %v", got)
	}
	if len(helpdeskEligibilities(t, gina)) == 0 {
		t.Fatal("removed before the review ended")
	}

	advance(t, 3*24*time.Hour)
	out, err = st.RunTimer(ctx, "accessReviews")
	if err != nil || !strings.Contains(out, `\"Applied\":1`) {
		t.Fatalf("run after the end: %v %s", err, out)
	}
	if left := helpdeskEligibilities(t, gina); len(left) != 0 {
		t.Fatalf("Steve is still eligible: %v", left)
	}
	inst := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances/"+iid, nil)
	if inst["status"] != "Applied" || inst["removedCount"] != float64(1) {
		t.Fatalf("instance after the end: %v", inst)
	}
	audit := must(t, gina, 200, "GET", "auditLogs/directoryAudits?$top=100", nil)["value"].([]any)
	removal := false
	for _, a := range audit {
		rec := a.(map[string]any)
		if rec["activityDisplayName"] != "request.create" || !strings.Contains(fmt.Sprint(rec["targetResources"]), steve) {
			continue
		}
		if strings.Contains(fmt.Sprint(rec["additionalDetails"]), "adminRemove") && strings.Contains(fmt.Sprint(rec["resultReason"]), "access review") &&
			rec["initiatedBy"].(map[string]any)["application"] != nil {
			removal = true
		}
	}
	if !removal {
		t.Fatalf("no audited adminRemove by jitpim for Steve: %v", audit)
	}
}
