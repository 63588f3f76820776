package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/local/stack"
)

// helpdeskFile asks for Steve's Helpdesk Administrator eligibility with
// the demo's settings for the role, and nothing else.
const helpdeskFile = `version: 1
directory:
  users:
    steve: 15913a41-3b2d-433e-8b1c-348c5ea65257
roles:
  Helpdesk Administrator:
    settings:
      mfa: false
      authContext: false
      notification: false
      ticket: true
      justification: false
      approval: false
      activationDuration: PT8H
      eligibleExpiration: P180D
    eligible:
      - user: steve
        expiration: P180D
`

// TestPolicyFileDoesNotSilentlyUndoAnAccessReview is issue 10's case 12
// through the real handler: an access review (Alice reviews, denies
// Steve's Helpdesk Administrator eligibility, Gina stops the review and
// jitpim applies it) removes the eligibility. A policy file that still
// lists it: plan names the review, when and which request removed it;
// apply refuses and changes nothing; apply --allow-regrant gives it back,
// and the audit log's record of the re-granting request says so.
func TestPolicyFileDoesNotSilentlyUndoAnAccessReview(t *testing.T) {
	ctx := context.Background()
	gina, alice := as(t, "gina", true), as(t, "alice", true)
	steve := user("steve")
	if len(helpdeskEligibilities(t, gina)) == 0 {
		t.Fatal("the demo has no Helpdesk Administrator eligibility for Steve")
	}
	t.Cleanup(func() {
		// Later tests need Steve's seeded eligibility.
		if len(helpdeskEligibilities(t, gina)) == 0 {
			must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": steve,
				"roleDefinitionId": stack.RoleHelpdeskAdmin, "directoryScopeId": "/", "justification": "demo seed (restored after the re-grant test)",
				"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P180D"}}})
		}
	})
	const name = "Helpdesk Administrators (re-grant test)"
	def := must(t, gina, 201, "POST", reviewDefs, map[string]any{
		"displayName": name, "descriptionForReviewers": "Keep only who still resets passwords.",
		"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + stack.RoleHelpdeskAdmin, "queryType": "MicrosoftGraph"}}},
		"reviewers": []any{map[string]any{"query": "/users/" + user("alice"), "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Approve", "autoApplyDecisionsEnabled": true,
			"instanceDurationInDays": 1, "recommendationsEnabled": false, "mailNotificationsEnabled": false},
	})
	id := def["id"].(string)
	t.Cleanup(func() { must(t, gina, 204, "DELETE", reviewDefs+"/"+id, nil) })
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil {
		t.Fatalf("starting the review: %v %s", err, out)
	}
	insts := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances", nil)["value"].([]any)
	if len(insts) != 1 {
		t.Fatalf("instances: %v", insts)
	}
	iid := insts[0].(map[string]any)["id"].(string)
	item := ""
	for _, v := range must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances/"+iid+"/decisions", nil)["value"].([]any) {
		if d := v.(map[string]any); d["principal"].(map[string]any)["id"] == steve {
			item = d["id"].(string)
		}
	}
	if item == "" {
		t.Fatal("Steve's eligibility is not in the review")
	}
	must(t, alice, 204, "PATCH", reviewDefs+"/"+id+"/instances/"+iid+"/decisions/"+item, map[string]any{"decision": "Deny", "justification": "moved to the network team"})
	must(t, gina, 204, "POST", reviewDefs+"/"+id+"/instances/"+iid+"/stop", nil)
	if left := helpdeskEligibilities(t, gina); len(left) != 0 {
		t.Fatalf("the review's apply left Steve eligible: %v", left)
	}
	// The removal as the API lists it: jitpim's adminRemove for the review.
	var removalID, removedAt string
	for _, v := range must(t, gina, 200, "GET", eligReqs+"?$filter=principalId eq '"+steve+"' and roleDefinitionId eq '"+stack.RoleHelpdeskAdmin+"'", nil)["value"].([]any) {
		r := v.(map[string]any)
		if r["action"] == "adminRemove" && r["createdBy"].(map[string]any)["application"] != nil && strings.Contains(fmt.Sprint(r["justification"]), name) {
			removalID, removedAt = r["id"].(string), fmt.Sprint(r["completedDateTime"])
		}
	}
	if removalID == "" {
		t.Fatal("no adminRemove request by jitpim for the review")
	}

	file := filepath.Join(t.TempDir(), "helpdesk.yaml")
	if err := os.WriteFile(file, []byte(helpdeskFile), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := mustCLI(t, "gina", "config", "plan", file)
	for _, want := range []string{
		"+ steve: eligible for role Helpdesk Administrator: P180D  [refused: pass --allow-regrant to re-grant]",
		fmt.Sprintf("! re-grants what access review %q removed at %s (request %s)", name, removedAt, removalID),
		"apply refuses them without --allow-regrant",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	r := jitpim(t, "gina", true, nil, "config", "apply", file)
	if r.code != 1 || !strings.Contains(r.stderr, "apply refused, nothing was changed") || !strings.Contains(r.stderr, "--allow-regrant") {
		t.Fatalf("apply without --allow-regrant: %+v", r)
	}
	if left := helpdeskEligibilities(t, gina); len(left) != 0 {
		t.Fatalf("a refused apply gave the eligibility back: %v", left)
	}

	if out := mustCLI(t, "gina", "config", "apply", file, "--allow-regrant"); !strings.Contains(out, "[re-grant allowed by --allow-regrant]") ||
		!strings.Contains(out, "done: + steve: eligible for role Helpdesk Administrator") {
		t.Fatalf("apply --allow-regrant: %s", out)
	}
	if len(helpdeskEligibilities(t, gina)) != 1 {
		t.Fatal("apply --allow-regrant did not give the eligibility back")
	}
	audited := false
	for _, v := range must(t, gina, 200, "GET", "auditLogs/directoryAudits?$top=50", nil)["value"].([]any) {
		rec := v.(map[string]any)
		reason := fmt.Sprint(rec["resultReason"])
		if rec["activityDisplayName"] == "request.create" && strings.Contains(fmt.Sprint(rec["targetResources"]), steve) &&
			strings.Contains(reason, fmt.Sprintf("[--allow-regrant: undoes the removal by access review %q", name)) && strings.Contains(reason, removalID) {
			audited = true
		}
	}
	if !audited {
		t.Fatal("the audit log has no record of the re-grant naming the override")
	}
	if out := mustCLI(t, "gina", "config", "plan", file); strings.Contains(out, "re-grant") || !strings.Contains(out, "No changes") {
		t.Fatalf("plan after the re-grant:\n%s", out)
	}
}
