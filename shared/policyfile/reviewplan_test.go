package policyfile_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/policyfile"
)

const reviewFile = `version: 1
directory:
  users:
    alice: c4049c7c-e12b-4472-b42d-c24808aa1054
    gina: 4d0013b9-f403-43b3-9ed8-22bfdf76040f
    bg1: e56a8394-5973-4642-b020-43bafd44ea44
    bg2: f18e8cfa-4802-41ad-8761-3ba93cf992bf
breakGlass: [bg1, bg2]
accessReviews:
  - name: New review
    scope: {role: Global Administrator}
    reviewers: [alice]
    fallbackReviewers: [gina]
    recurrence: {every: 3, unit: months}
    durationInDays: 14
    defaultDecision: deny
  - name: Same review
    scope: {role: Global Administrator}
    reviewers: self
    recurrence: {every: 2, unit: weeks}
    durationInDays: 7
    defaultDecision: approve
  - name: Changed review
    scope: {role: Global Administrator}
    reviewers: [alice]
    recurrence: {every: 1, unit: months}
    durationInDays: 7
    defaultDecision: recommendation
  - name: No default
    scope: {role: Global Administrator}
    reviewers: [alice]
    recurrence: {every: 1, unit: months}
    durationInDays: 7
alerts:
  tooManyGlobalAdmins: {count: 4, percentage: 20}
  rolesAssignedOutsidePIM: true
  adminsNotUsingRoles: {days: 30}
  staleAccounts: {days: 60}
  activatedTooOften: {count: 3, within: PT12H}
`

type recordingAPI struct{ calls []string }

func (a *recordingAPI) Call(_ context.Context, method, path string, body any, _ map[string]string, _ any) error {
	a.calls = append(a.calls, method+" "+path)
	return nil
}

func reviewPlan(t *testing.T, allow bool) (*policyfile.File, *policyfile.Plan) {
	t.Helper()
	f := policyfile.Parse("reviews.yaml", []byte(reviewFile), now)
	if errs := f.Errors(); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	byName := map[string]*policyfile.Review{}
	for _, r := range f.Reviews {
		byName[r.Name] = r
	}
	changed := byName["Changed review"].Shape()
	changed.DurationInDays = 10
	changed.Reviewers = []string{"/users/4d0013b9-f403-43b3-9ed8-22bfdf76040f"} // gina
	l := &policyfile.Live{Policies: map[string]domain.Policy{}, Default: domain.DefaultPolicy(),
		BreakGlass: map[domain.ObjectID]policyfile.BreakGlassCheck{bg1: {Protected: true, Answer: "refused"}, bg2: {Protected: true, Answer: "refused"}},
		Reviews: []policyfile.LiveReview{
			{ID: "d-same", DisplayName: "Same review", Shape: byName["Same review"].Shape()},
			{ID: "d-changed", DisplayName: "Changed review", Shape: changed},
			{ID: "d-gone", DisplayName: "Gone review", Shape: changed},
		}}
	return f, policyfile.BuildPlan(f, l, policyfile.PlanOptions{Now: now, AllowRemovals: allow})
}

func TestPlanAccessReviews(t *testing.T) {
	_, pl := reviewPlan(t, false)
	text := pl.Text()
	for _, want := range []string{
		"Access reviews\n",
		"+ access review \"New review\"\n      Global Administrator, every 3 months, reviewed by alice, default Deny",
		"~ update access review \"Changed review\" (d-changed)\n", "update in place, from the next instance",
		"reviewers: gina → alice", "duration in days: 10 → 7",
		`- access review "Gone review" (d-gone), not in the file  [held back: pass --allow-removals to remove]`,
		`= access review "Same review" (d-same)`,
		"access reviews without a default decision: not applied", `"No default"`,
		"App settings to set", "JITPIM_ALERT_GLOBAL_ADMIN_COUNT=4", "JITPIM_ALERT_GLOBAL_ADMIN_PERCENT=20", "JITPIM_ALERT_REMOVE_OUTSIDE=false",
		"JITPIM_ALERT_UNUSED_DAYS=30", "JITPIM_ALERT_STALE_DAYS=60", "JITPIM_ALERT_ACTIVATION_COUNT=3", "JITPIM_ALERT_ACTIVATION_WINDOW=12h",
		"JITPIM_BREAK_GLASS_IDS=" + bg1 + "," + bg2, "Plan: 1 to add, 1 to change, 0 to remove. 1 removal(s) held back",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Not applied") && strings.Contains(text, "alerts: not applied") {
		t.Errorf("alerts still listed as not applied:\n%s", text)
	}
	// The POST is Graph's accessReviewScheduleDefinition.
	data, _ := json.Marshal(pl)
	for _, want := range []string{`"path":"identityGovernance/accessReviews/definitions"`, `"displayName":"New review"`,
		`"query":"/roleManagement/directory/roleDefinitions/` + string(ga) + `"`, `"defaultDecision":"Deny"`, `"defaultDecisionEnabled":true`,
		`"query":"/users/4d0013b9-f403-43b3-9ed8-22bfdf76040f"`, `"type":"absoluteMonthly"`, `"interval":3`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("plan JSON lacks %s", want)
		}
	}

	for _, c := range pl.Changes {
		if c.Kind == "review" && len(c.Calls) == 1 && c.Calls[0].Method == "PATCH" {
			if _, ok := c.Calls[0].Body.(map[string]any)["scope"]; ok {
				t.Errorf("the update sends a scope, which Graph's update refuses: %v", c.Calls[0].Body)
			}
		}
	}
	api := &recordingAPI{}
	res, err := policyfile.Apply(context.Background(), api, pl, nil)
	if err != nil || res.Added != 1 || res.Changed != 1 || res.Held != 1 ||
		strings.Join(api.calls, "|") != "POST identityGovernance/accessReviews/definitions|PATCH identityGovernance/accessReviews/definitions/d-changed" {
		t.Fatalf("apply: %+v %v %v", res, err, api.calls)
	}

	_, all := reviewPlan(t, true)
	api = &recordingAPI{}
	res, err = policyfile.Apply(context.Background(), api, all, nil)
	want := "POST identityGovernance/accessReviews/definitions|PATCH identityGovernance/accessReviews/definitions/d-changed|" +
		"DELETE identityGovernance/accessReviews/definitions/d-gone"
	if err != nil || res.Added != 1 || res.Changed != 1 || res.Removed != 1 || strings.Join(api.calls, "|") != want {
		t.Fatalf("apply --allow-removals: %+v %v %v", res, err, api.calls)
	}
}

// A live definition read back from the API equals the file's: the second
// plan after an apply is empty.
func TestLiveReviewMatchesTheFile(t *testing.T) {
	f := policyfile.Parse("reviews.yaml", []byte(reviewFile), now)
	r := f.Reviews[0]
	live := `{"value":[{"id":"d1","displayName":"New review","scope":{"@odata.type":"#microsoft.graph.principalResourceMembershipsScope",
	"principalScopes":[{"query":"/users"}],"resourceScopes":[{"query":"/roleManagement/directory/roleDefinitions/` + string(ga) + `"}]},
	"reviewers":[{"query":"/users/c4049c7c-e12b-4472-b42d-c24808aa1054"}],"fallbackReviewers":[{"query":"/users/4d0013b9-f403-43b3-9ed8-22bfdf76040f"}],
	"settings":{"reminderNotificationsEnabled":false,"defaultDecision":"Deny","instanceDurationInDays":14,
	"recurrence":{"pattern":{"type":"absoluteMonthly","interval":3},"range":{"type":"noEnd","startDate":"2026-01-15"}}}}]}`
	l, err := policyfile.LoadLive(context.Background(), &listAPI{body: live}, &policyfile.File{ReviewsDeclared: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Reviews) != 1 {
		t.Fatalf("reviews: %+v", l.Reviews)
	}
	got, want := l.Reviews[0].Shape, r.Shape()
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("live %s\nfile %s", gj, wj)
	}
}

// listAPI answers the reviews listing with body and every other read
// with an empty collection or the default policy.
type listAPI struct{ body string }

func (a *listAPI) Call(_ context.Context, method, path string, _ any, _ map[string]string, out any) error {
	switch {
	case strings.HasPrefix(path, "identityGovernance/accessReviews/definitions"):
		return json.Unmarshal([]byte(a.body), out)
	case strings.HasPrefix(path, "policies/roleManagementPolicies/Default"):
		return json.Unmarshal([]byte(`{"id":"Default","rules":[]}`), out)
	}
	return json.Unmarshal([]byte(`{"value":[]}`), out)
}
