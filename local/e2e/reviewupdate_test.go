package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/stack"
)

// TestReviewDefinitionPatchChangesTheNextInstance: an admin PATCHes a
// running weekly review's name, reviewers and settings; the running
// instance keeps Alice and its default decision, the next one (a week
// later, through the real timer) has Gina and the new settings. Fields an
// update cannot change are refused by name.
func TestReviewDefinitionPatchChangesTheNextInstance(t *testing.T) {
	defer advance(t, 0)
	ctx := context.Background()
	const reportsReader = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	gina := as(t, "gina", true)
	alice, ginaID := user("alice"), user("gina")
	def := must(t, gina, 201, "POST", reviewDefs, map[string]any{
		"displayName": "Reports Readers (weekly)",
		"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + reportsReader, "queryType": "MicrosoftGraph"}}},
		"reviewers": []any{map[string]any{"query": "/users/" + alice, "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Approve", "instanceDurationInDays": 2,
			"recurrence": map[string]any{"pattern": map[string]any{"type": "weekly", "interval": 1}, "range": map[string]any{"type": "noEnd"}}},
	})
	id := def["id"].(string)
	t.Cleanup(func() { advance(t, 0); must(t, gina, 204, "DELETE", reviewDefs+"/"+id, nil) })
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil {
		t.Fatalf("accessReviews: %v %s", err, out)
	}
	instances := func() []map[string]any {
		var out []map[string]any
		for _, v := range must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances", nil)["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	reviewerOf := func(in map[string]any) string { return fmt.Sprint(in["reviewers"]) }
	first := instances()
	if len(first) != 1 || !strings.Contains(reviewerOf(first[0]), alice) {
		t.Fatalf("first instance: %v", first)
	}

	// Refused by name, changing nothing.
	for field, body := range map[string]map[string]any{
		"scope": {"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + stack.RoleGlobalAdmin, "queryType": "MicrosoftGraph"}}}},
		"instanceEnumerationScope": {"instanceEnumerationScope": map[string]any{"query": "/groups"}},
		"settings.defaultDecision": {"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Maybe", "instanceDurationInDays": 2}},
	} {
		out := must(t, gina, 400, "PATCH", reviewDefs+"/"+id, body)
		if msg := fmt.Sprint(out["error"]); !strings.Contains(msg, field) {
			t.Errorf("PATCH %s refused without naming it: %s", field, msg)
		}
	}
	must(t, as(t, "gina", false), 403, "PATCH", reviewDefs+"/"+id, map[string]any{"displayName": "no MFA"})

	must(t, gina, 204, "PATCH", reviewDefs+"/"+id, map[string]any{
		"displayName": "Reports Readers (weekly, Gina)",
		"reviewers":   []any{map[string]any{"query": "/users/" + ginaID, "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Recommendation", "recommendationsEnabled": true, "instanceDurationInDays": 3,
			"recurrence": map[string]any{"pattern": map[string]any{"type": "weekly", "interval": 1}, "range": map[string]any{"type": "noEnd"}}},
	})
	got := must(t, gina, 200, "GET", reviewDefs+"/"+id, nil)
	if got["displayName"] != "Reports Readers (weekly, Gina)" || !strings.Contains(fmt.Sprint(got["reviewers"]), ginaID) {
		t.Fatalf("definition after PATCH: %v", got)
	}
	running := instances()
	if len(running) != 1 || !strings.Contains(reviewerOf(running[0]), alice) || strings.Contains(reviewerOf(running[0]), ginaID) ||
		running[0]["defaultDecision"] != "Approve" || running[0]["endDateTime"] != first[0]["endDateTime"] {
		t.Fatalf("the running instance changed: %v", running)
	}

	advance(t, 7*24*time.Hour+time.Hour)
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil {
		t.Fatalf("accessReviews a week later: %v %s", err, out)
	}
	all := instances()
	if len(all) != 2 {
		t.Fatalf("%d instances a week later", len(all))
	}
	next := all[1]
	if all[0]["id"] == next["id"] {
		next = all[0]
	}
	if !strings.Contains(reviewerOf(next), ginaID) || next["defaultDecision"] != "Recommendation" {
		t.Fatalf("the next instance did not take the change: %v", next)
	}
	start, _ := time.Parse(time.RFC3339, fmt.Sprint(next["startDateTime"]))
	end, _ := time.Parse(time.RFC3339, fmt.Sprint(next["endDateTime"]))
	if end.Sub(start) != 3*24*time.Hour {
		t.Fatalf("the next instance lasts %s, want the new 3 days", end.Sub(start))
	}
}

// TestPolicyFilePlansReviewUpdates: a review whose reviewers change in the
// file is planned as an update ("reviewers: alice → gina"), applied as a
// PATCH of the same definition, and then matches.
func TestPolicyFilePlansReviewUpdates(t *testing.T) {
	dirPath := t.TempDir()
	write := func(reviewer string) string {
		file := filepath.Join(dirPath, reviewer+".yaml")
		body := strings.Replace(reviewFile, "    alice: c4049c7c-e12b-4472-b42d-c24808aa1054\n",
			"    alice: c4049c7c-e12b-4472-b42d-c24808aa1054\n    gina: 4d0013b9-f403-43b3-9ed8-22bfdf76040f\n", 1)
		body = strings.Replace(body, "reviewers: [alice]", "reviewers: ["+reviewer+"]", 1)
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	gina := as(t, "gina", true)
	named := func() []string {
		var ids []string
		for _, v := range must(t, gina, 200, "GET", reviewDefs, nil)["value"].([]any) {
			if d := v.(map[string]any); d["displayName"] == "E2E policy file review" {
				ids = append(ids, d["id"].(string))
			}
		}
		return ids
	}
	t.Cleanup(func() {
		for _, id := range named() {
			must(t, gina, 204, "DELETE", reviewDefs+"/"+id, nil)
		}
	})
	mustCLI(t, "gina", "config", "apply", write("alice"))
	before := named()
	if len(before) != 1 {
		t.Fatalf("definitions after the first apply: %v", before)
	}
	changed := write("gina")
	plan := mustCLI(t, "gina", "config", "plan", changed)
	for _, want := range []string{`~ update access review "E2E policy file review" (` + before[0] + `)`, "reviewers: alice → gina", "from the next instance"} {
		if !strings.Contains(plan, want) {
			t.Fatalf("plan lacks %q:\n%s", want, plan)
		}
	}
	if line := plan[strings.Index(plan, "~ update access review"):]; strings.Contains(line[:strings.Index(line, "\n")], "held back") || strings.Contains(plan, "re-create") {
		t.Fatalf("a reviewer change is planned as delete-and-recreate:\n%s", plan)
	}
	if out := mustCLI(t, "gina", "config", "apply", changed); !strings.Contains(out, "Applied: 0 added, 1 changed, 0 removed.") {
		t.Fatalf("apply: %s", out)
	}
	after := named()
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("the definition was re-created: %v → %v", before, after)
	}
	if d := must(t, gina, 200, "GET", reviewDefs+"/"+after[0], nil); !strings.Contains(fmt.Sprint(d["reviewers"]), user("gina")) {
		t.Fatalf("reviewers after apply: %v", d["reviewers"])
	}
	if plan := mustCLI(t, "gina", "config", "plan", changed); !strings.Contains(plan, "No changes") {
		t.Fatalf("plan after apply:\n%s", plan)
	}
}
