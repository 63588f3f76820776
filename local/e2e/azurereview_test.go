package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/jitpim/jitpim/local/armsim"
	"github.com/jitpim/jitpim/shared/domain"
)

// TestAzureAccessReview: an access review of Contributor on rg-data
// (Graph's accessReviewScheduleDefinition, its resource scope the role
// definition's ARM id below the resource group) lists the assignments
// jitpim made there, Adam's active one and Rita's eligibility, and nothing
// else: not Steve's Contributor made in the portal, not the break-glass
// account's inherited Owner. Alice denies Adam and keeps Rita; at the end
// the removal path deletes exactly jitpim's assignment of Adam in Azure.
func TestAzureAccessReview(t *testing.T) {
	defer advance(t, 0)
	ctx := context.Background()
	gina, ginaHTTP, aliceHTTP := armAs(t, "gina"), as(t, "gina", true), as(t, "alice", true)
	rgData := demoSub + "/resourceGroups/rg-data"
	adam, rita, steve := user("adam"), user("rita"), user("steve")
	contributor := string(domain.AzureRoleContributor)
	outside := armsim.Assignment{Name: uuid.NewString(), Scope: rgData, PrincipalID: steve, RoleDefinitionID: contributor}
	if err := st.ARM.AddAssignment(outside); err != nil {
		t.Fatal(err)
	}
	if _, err := gina.assign.Create(ctx, rgData, uuid.NewString(), armauthorization.RoleAssignmentScheduleRequest{Properties: &armauthorization.RoleAssignmentScheduleRequestProperties{
		PrincipalID: to.Ptr(adam), RoleDefinitionID: roleRef(domain.AzureRoleContributor), RequestType: to.Ptr(armauthorization.RequestTypeAdminAssign),
		Justification: to.Ptr("database migration"),
		ScheduleInfo: &armauthorization.RoleAssignmentScheduleRequestPropertiesScheduleInfo{
			Expiration: &armauthorization.RoleAssignmentScheduleRequestPropertiesScheduleInfoExpiration{Type: to.Ptr(armauthorization.TypeNoExpiration)}},
	}}, nil); err != nil {
		t.Fatalf("Adam's active assignment: %v", err)
	}
	if _, err := gina.elig.Create(ctx, rgData, uuid.NewString(), armauthorization.RoleEligibilityScheduleRequest{Properties: &armauthorization.RoleEligibilityScheduleRequestProperties{
		PrincipalID: to.Ptr(rita), RoleDefinitionID: roleRef(domain.AzureRoleContributor), RequestType: to.Ptr(armauthorization.RequestTypeAdminAssign),
		Justification: to.Ptr("data on-call"),
		ScheduleInfo: &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfo{
			Expiration: &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfoExpiration{Type: to.Ptr(armauthorization.TypeNoExpiration)}},
	}}, nil); err != nil {
		t.Fatalf("Rita's eligibility: %v", err)
	}
	if !st.ARM.Has(adam, contributor, rgData) {
		t.Fatal("Adam's active assignment is not in Azure")
	}
	before := st.ARM.Assignments()

	query := rgData + "/providers/Microsoft.Authorization/roleDefinitions/" + contributor
	def := must(t, ginaHTTP, 201, "POST", reviewDefs, map[string]any{
		"displayName": "Contributors on rg-data",
		"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": query, "queryType": "ARM"}}},
		"reviewers": []any{map[string]any{"query": "/users/" + user("alice"), "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Approve", "autoApplyDecisionsEnabled": true,
			"instanceDurationInDays": 1},
	})
	if got := fmt.Sprint(def["scope"]); !strings.Contains(got, strings.ToLower(rgData)+"/providers/Microsoft.Authorization/roleDefinitions/"+contributor) || !strings.Contains(got, "ARM") {
		t.Fatalf("the definition's scope reads back as %s", got)
	}
	id := def["id"].(string)
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil || !strings.Contains(out, `\"Started\":1`) {
		t.Fatalf("start: %v %s", err, out)
	}
	iid := must(t, ginaHTTP, 200, "GET", reviewDefs+"/"+id+"/instances", nil)["value"].([]any)[0].(map[string]any)["id"].(string)
	items := must(t, ginaHTTP, 200, "GET", reviewDefs+"/"+id+"/instances/"+iid+"/decisions", nil)["value"].([]any)
	decisions := map[string]string{}
	for _, v := range items {
		d := v.(map[string]any)
		who := d["principal"].(map[string]any)["id"].(string)
		res := d["resource"].(map[string]any)
		if res["type"] != "azureRole" || !strings.Contains(fmt.Sprint(res["displayName"]), "Contributor") {
			t.Fatalf("decision item resource %v: want the Azure role named", res)
		}
		decisions[who] = d["id"].(string)
	}
	if len(decisions) != 2 || decisions[adam] == "" || decisions[rita] == "" {
		t.Fatalf("items %v: want exactly Adam's and Rita's (jitpim's), not Steve's outside assignment nor a break-glass account", items)
	}
	decide := func(item, decision string) {
		must(t, aliceHTTP, 204, "PATCH", reviewDefs+"/"+id+"/instances/"+iid+"/decisions/"+item, map[string]any{"decision": decision, "justification": "quarterly review"})
	}
	decide(decisions[adam], "Deny")
	decide(decisions[rita], "Approve")

	advance(t, 3*24*time.Hour)
	if out, err := st.RunTimer(ctx, "accessReviews"); err != nil || !strings.Contains(out, `\"Applied\":1`) {
		t.Fatalf("apply: %v %s", err, out)
	}
	if st.ARM.Has(adam, contributor, rgData) {
		t.Fatal("the denied assignment is still in Azure")
	}
	after := st.ARM.Assignments()
	if len(after) != len(before)-1 || !st.ARM.Has(steve, contributor, rgData) || !st.ARM.Has(user("bg1"), string(domain.AzureRoleOwner), demoSub) {
		t.Fatalf("after the review Azure holds %+v; want what it held before %+v less Adam's assignment", after, before)
	}
	elig := gina.eligInst.NewListForScopePager(rgData, &armauthorization.RoleEligibilityScheduleInstancesClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + rita + "'")})
	if page, err := elig.NextPage(ctx); err != nil || len(page.Value) != 1 {
		t.Fatalf("Rita's approved eligibility: %v %d, want kept", err, len(page.Value))
	}
}
