package policyfile_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/policyfile"
)

// TestDemoFileAppliesEveryLine: planned against an empty jitpim, the demo
// file leaves nothing "not applied": each role a group holds becomes an
// adminAssign whose principal is the group, and every access review is
// created (none lacks a default decision).
func TestDemoFileAppliesEveryLine(t *testing.T) {
	f, err := policyfile.Load("../../local/demo/jitpim.yaml", now)
	if err != nil {
		t.Fatal(err)
	}
	live := &policyfile.Live{Policies: map[string]domain.Policy{}, Default: domain.DefaultPolicy(), BreakGlass: map[domain.ObjectID]policyfile.BreakGlassCheck{
		bg1: {Protected: true, Answer: "refused"}, bg2: {Protected: true, Answer: "refused"}}}
	pl := policyfile.BuildPlan(f, live, policyfile.PlanOptions{Now: now})
	if len(pl.NotApplied) != 0 {
		t.Fatalf("not applied: %+v", pl.NotApplied)
	}
	const godMode = "6756a9c9-c7e3-4b68-9883-5dbadb50b0e6"
	groupAssigns, reviews := 0, 0
	for _, c := range pl.Changes {
		for _, call := range c.Calls {
			b, _ := json.Marshal(call.Body)
			switch {
			case strings.HasSuffix(call.Path, "roleAssignmentScheduleRequests") && strings.HasPrefix(c.Subject, "group "):
				groupAssigns++
				if strings.HasPrefix(c.Subject, "group Global Administrators (God Mode):") &&
					(!strings.Contains(string(b), `"principalId":"`+godMode+`"`) || !strings.Contains(string(b), `"action":"adminAssign"`)) {
					t.Errorf("God Mode's request: %s", b)
				}
			case call.Path == "identityGovernance/accessReviews/definitions":
				reviews++
				if strings.Contains(c.Subject, "Privileged roles quarterly") &&
					(!strings.Contains(string(b), "isPrivileged eq true") || !strings.Contains(string(b), `"/groups/transitiveMembers"`)) {
					t.Errorf("the quarterly review's body: %s", b)
				}
			}
		}
	}
	if groupAssigns != 9 || reviews != 4 {
		t.Fatalf("%d group role assignments and %d reviews planned, want 9 and 4:\n%s", groupAssigns, reviews, pl.Text())
	}
}

// TestExpandedReviewMatchesTheAPI: a privileged-roles review that expands
// group holders, read back in the API's shape, equals the file's, so the
// second plan after an apply is empty; the same review without the
// expansion differs.
func TestExpandedReviewMatchesTheAPI(t *testing.T) {
	f, err := policyfile.Load("../../local/demo/jitpim.yaml", now)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Reviews[0]
	if r.Name != "Privileged roles quarterly" || !r.ExpandGroupMembers || !r.ScopePrivilegedRoles {
		t.Fatalf("first demo review: %+v", r)
	}
	for _, expand := range []bool{true, false} {
		ps := `[{"query":"/users"}]`
		if expand {
			ps = `[{"query":"/users"},{"query":"/groups/transitiveMembers"}]`
		}
		live := `{"value":[{"id":"d1","displayName":"Privileged roles quarterly","scope":{"@odata.type":"#microsoft.graph.principalResourceMembershipsScope",
		"principalScopes":` + ps + `,"resourceScopes":[{"query":"/roleManagement/directory/roleDefinitions?$filter=isPrivileged eq true"}]},
		"reviewers":[{"query":"/users/c4049c7c-e12b-4472-b42d-c24808aa1054"}],"fallbackReviewers":[{"query":"/users/4d0013b9-f403-43b3-9ed8-22bfdf76040f"}],
		"settings":{"reminderNotificationsEnabled":true,"justificationRequiredOnApproval":true,"recommendationsEnabled":true,"defaultDecision":"Recommendation","instanceDurationInDays":14,
		"recurrence":{"pattern":{"type":"absoluteMonthly","interval":3},"range":{"type":"noEnd"}}}}]}`
		l, err := policyfile.LoadLive(context.Background(), &listAPI{body: live}, &policyfile.File{ReviewsDeclared: true})
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(l.Reviews[0].Shape)
		wj, _ := json.Marshal(r.Shape())
		if (string(gj) == string(wj)) != expand {
			t.Fatalf("expand=%v:\nlive %s\nfile %s", expand, gj, wj)
		}
	}
}
