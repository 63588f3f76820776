package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestSDKAccessReviews: definitions, instances and decisions through the
// SDK: create, read back every setting, filterByCurrentUser(on='reviewer')
// on instances and decisions, a decision, stop and applyDecisions.
// It reviews Stan's Reports Reader eligibility.
func TestSDKAccessReviews(t *testing.T) {
	ctx := context.Background()
	gina, alice := sdkAs(t, "gina", true), sdkAs(t, "alice", true)
	plain := as(t, "gina", true)
	eligible := "roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '" + user("stan") + "' and roleDefinitionId eq '" + roleReportsReader + "'"
	if len(must(t, plain, 200, "GET", eligible, nil)["value"].([]any)) == 0 {
		must(t, plain, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("stan"), "roleDefinitionId": roleReportsReader,
			"directoryScopeId": "/", "justification": "reporting", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P30D"}}})
	}
	defs := func(c *graphClient) *identitygovernance.AccessReviewsDefinitionsRequestBuilder {
		return c.ig.AccessReviews().Definitions()
	}

	res := models.NewAccessReviewQueryScope()
	res.SetQuery(ptr("/roleManagement/directory/roleDefinitions/" + roleReportsReader))
	res.SetQueryType(ptr("MicrosoftGraph"))
	scope := models.NewPrincipalResourceMembershipsScope()
	scope.SetResourceScopes([]models.AccessReviewScopeable{res})
	reviewer := models.NewAccessReviewReviewerScope()
	reviewer.SetQuery(ptr("/users/" + user("alice")))
	reviewer.SetQueryType(ptr("MicrosoftGraph"))
	set := models.NewAccessReviewScheduleSettings()
	set.SetDefaultDecisionEnabled(ptr(true))
	set.SetDefaultDecision(ptr("Approve"))
	set.SetAutoApplyDecisionsEnabled(ptr(false))
	set.SetInstanceDurationInDays(ptr(int32(3)))
	set.SetJustificationRequiredOnApproval(ptr(true))
	set.SetRecommendationsEnabled(ptr(true))
	def := models.NewAccessReviewScheduleDefinition()
	def.SetDisplayName(ptr("Reports Readers (SDK)"))
	def.SetDescriptionForReviewers(ptr("Keep who still builds the month-end report."))
	def.SetScope(scope)
	def.SetReviewers([]models.AccessReviewReviewerScopeable{reviewer})
	def.SetSettings(set)
	created, err := defs(gina).Post(ctx, def, nil)
	if err != nil {
		sdkFatal(t, "create definition", err)
	}
	id := val(created.GetId())
	t.Cleanup(func() {
		if err := defs(gina).ByAccessReviewScheduleDefinitionId(id).Delete(ctx, nil); err != nil {
			t.Errorf("delete definition: %v", err)
		}
	})
	got, err := defs(gina).ByAccessReviewScheduleDefinitionId(id).Get(ctx, nil)
	if err != nil {
		sdkFatal(t, "get definition", err)
	}
	gs := got.GetSettings()
	ps, _ := got.GetScope().(models.PrincipalResourceMembershipsScopeable)
	if val(got.GetDisplayName()) != "Reports Readers (SDK)" || val(got.GetDescriptionForReviewers()) != "Keep who still builds the month-end report." ||
		gs == nil || val(gs.GetDefaultDecision()) != "Approve" || !val(gs.GetDefaultDecisionEnabled()) || val(gs.GetAutoApplyDecisionsEnabled()) ||
		val(gs.GetInstanceDurationInDays()) != 3 || !val(gs.GetJustificationRequiredOnApproval()) || !val(gs.GetRecommendationsEnabled()) ||
		ps == nil || len(ps.GetResourceScopes()) != 1 || len(got.GetReviewers()) != 1 || val(got.GetReviewers()[0].GetQuery()) != "/users/"+user("alice") ||
		got.GetCreatedDateTime() == nil || val(got.GetStatus()) == "" {
		t.Fatalf("definition read back: %s", describe(got))
	}
	if q, ok := ps.GetResourceScopes()[0].(models.AccessReviewQueryScopeable); !ok || val(q.GetQuery()) != "/roleManagement/directory/roleDefinitions/"+roleReportsReader {
		t.Fatalf("resource scope: %s", describe(ps))
	}
	list, err := defs(gina).Get(ctx, nil)
	if err != nil {
		sdkFatal(t, "list definitions", err)
	}
	listed := false
	for _, d := range list.GetValue() {
		listed = listed || val(d.GetId()) == id
	}
	if !listed {
		t.Fatal("the new definition is not listed")
	}

	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil {
		t.Fatalf("accessReviews timer: %v %s", err, out)
	}
	insts, err := defs(gina).ByAccessReviewScheduleDefinitionId(id).Instances().Get(ctx, nil)
	if err != nil || len(insts.GetValue()) != 1 || val(insts.GetValue()[0].GetStatus()) != "InProgress" {
		t.Fatalf("instances: %v", err)
	}
	iid := val(insts.GetValue()[0].GetId())
	mine, err := defs(alice).ByAccessReviewScheduleDefinitionId(id).Instances().FilterByCurrentUserWithOn(ptr("reviewer")).GetAsFilterByCurrentUserWithOnGetResponse(ctx, nil)
	if err != nil || len(mine.GetValue()) != 1 || val(mine.GetValue()[0].GetId()) != iid {
		t.Fatalf("instances for the reviewer: %v", err)
	}
	inst := defs(alice).ByAccessReviewScheduleDefinitionId(id).Instances().ByAccessReviewInstanceId(iid)
	items, err := inst.Decisions().FilterByCurrentUserWithOn(ptr("reviewer")).GetAsFilterByCurrentUserWithOnGetResponse(ctx, nil)
	if err != nil {
		sdkFatal(t, "decisions for the reviewer", err)
	}
	var item models.AccessReviewInstanceDecisionItemable
	for _, it := range items.GetValue() {
		if it.GetPrincipal() != nil && val(it.GetPrincipal().GetId()) == user("stan") {
			item = it
		}
	}
	if item == nil || val(item.GetDecision()) != "NotReviewed" || val(item.GetRecommendation()) == "" {
		t.Fatalf("Stan's item: %s", describe(item))
	}
	decide := models.NewAccessReviewInstanceDecisionItem()
	decide.SetDecision(ptr("Approve"))
	decide.SetJustification(ptr("builds the report"))
	if _, err := inst.Decisions().ByAccessReviewInstanceDecisionItemId(val(item.GetId())).Patch(ctx, decide, nil); err != nil {
		sdkFatal(t, "decide", err)
	}
	decided, err := defs(gina).ByAccessReviewScheduleDefinitionId(id).Instances().ByAccessReviewInstanceId(iid).Decisions().ByAccessReviewInstanceDecisionItemId(val(item.GetId())).Get(ctx, nil)
	if err != nil || val(decided.GetDecision()) != "Approve" || val(decided.GetJustification()) != "builds the report" ||
		decided.GetReviewedBy() == nil || val(decided.GetReviewedBy().GetId()) != user("alice") || decided.GetReviewedDateTime() == nil {
		t.Fatalf("decision read back: %v %s", err, describe(decided))
	}

	admin := defs(gina).ByAccessReviewScheduleDefinitionId(id).Instances().ByAccessReviewInstanceId(iid)
	if err := admin.Stop().Post(ctx, nil); err != nil {
		sdkFatal(t, "stop", err)
	}
	if stopped, err := admin.Get(ctx, nil); err != nil || val(stopped.GetStatus()) != "Completed" {
		t.Fatalf("after stop: %v %s", err, describe(stopped))
	}
	if err := admin.ApplyDecisions().Post(ctx, nil); err != nil {
		sdkFatal(t, "applyDecisions", err)
	}
	applied, err := admin.Get(ctx, nil)
	if err != nil || !strings.HasPrefix(val(applied.GetStatus()), "Appl") {
		t.Fatalf("after applyDecisions: %v %s", err, describe(applied))
	}
	left := must(t, plain, 200, "GET", eligible, nil)["value"].([]any)
	if len(left) != 1 {
		t.Fatalf("an approved eligibility was removed: %v", left)
	}
}

// TestBetaAlertsShape: PIM alerts exist in Graph beta only; their JSON is
// checked against beta's unifiedRoleManagementAlert and
// unifiedRoleManagementAlertDefinition as documented.
func TestBetaAlertsShape(t *testing.T) {
	gina := as(t, "gina", true)
	const base = "identityGovernance/roleManagementAlerts/"
	if out, err := st.RunTimer(context.Background(), "alertScan"); err != nil {
		t.Logf("alertScan reported a failed read (its alerts keep their previous incidents): %v %s", err, out)
	}
	alerts := must(t, gina, 200, "GET", base+"alerts?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'", nil)["value"].([]any)
	if len(alerts) == 0 {
		t.Fatal("no alerts")
	}
	for _, a := range alerts {
		m := a.(map[string]any)
		for _, k := range []string{"id", "alertDefinitionId", "scopeId", "scopeType", "incidentCount", "isActive", "lastModifiedDateTime", "lastScannedDateTime"} {
			if _, ok := m[k]; !ok {
				t.Errorf("alert %v has no %s", m["id"], k)
			}
		}
	}
	defs := must(t, gina, 200, "GET", base+"alertDefinitions", nil)["value"].([]any)
	for _, d := range defs {
		m := d.(map[string]any)
		for _, k := range []string{"id", "displayName", "description", "severityLevel", "securityImpact", "mitigationSteps", "howToPrevent", "scopeId", "scopeType", "isConfigurable", "isRemediatable"} {
			if _, ok := m[k]; !ok {
				t.Errorf("alert definition %v has no %s", m["id"], k)
			}
		}
	}
}
