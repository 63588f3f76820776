package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/jitpim/jitpim/shared/domain"
)

// armUserTypeOwners is jitpim's approver userType for the other owners of
// the resource (Azure's approvers are User or Group).
const armUserTypeOwners armauthorization.UserType = "ResourceOwners"

// policyOf finds the policy of role at scope through the policy
// assignments client, as Azure's documentation does: list the
// assignments at the scope, take the role's, Get its policy by name.
func policyOf(t *testing.T, c armClients, scope string, role domain.ObjectID) armauthorization.RoleManagementPolicy {
	t.Helper()
	ctx := context.Background()
	pager := c.bindings.NewListForScopePager(scope, nil)
	var policyID string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("policy assignments at %s: %v", scope, err)
		}
		for _, a := range page.Value {
			if strings.HasSuffix(strings.ToLower(*a.Properties.RoleDefinitionID), string(role)) {
				policyID = *a.Properties.PolicyID
				got, err := c.bindings.Get(ctx, scope, *a.Name, nil)
				if err != nil || *got.Properties.PolicyID != policyID || !strings.EqualFold(*got.Properties.Scope, scope) {
					t.Fatalf("Get of the policy assignment %s: %v %+v", *a.Name, err, got.Properties)
				}
			}
		}
	}
	if policyID == "" {
		t.Fatalf("no policy assignment for %s at %s", role, scope)
	}
	got, err := c.policies.Get(ctx, scope, policyID[strings.LastIndex(policyID, "/")+1:], nil)
	if err != nil {
		t.Fatalf("Get policy %s: %v", policyID, err)
	}
	return got.RoleManagementPolicy
}

// approvalRule is a policy's Approval_EndUser_Assignment rule.
func approvalRule(t *testing.T, p armauthorization.RoleManagementPolicy) *armauthorization.RoleManagementPolicyApprovalRule {
	t.Helper()
	for _, r := range p.Properties.Rules {
		if a, ok := r.(*armauthorization.RoleManagementPolicyApprovalRule); ok && *a.ID == "Approval_EndUser_Assignment" {
			return a
		}
	}
	t.Fatalf("policy %s has no approval rule", *p.Name)
	return nil
}

func approversOf(t *testing.T, c armClients, scope string, role domain.ObjectID) []*armauthorization.UserSet {
	t.Helper()
	a := approvalRule(t, policyOf(t, c, scope, role))
	if !*a.Setting.IsApprovalRequired || len(a.Setting.ApprovalStages) != 1 {
		t.Fatalf("approval %+v: want one stage required", a.Setting)
	}
	return a.Setting.ApprovalStages[0].PrimaryApprovers
}

// TestAzurePoliciesThroughARMClients: the armauthorization v2
// RoleManagementPoliciesClient and RoleManagementPolicyAssignmentsClient
// read Azure roles' policies (Get, List for scope) and change them
// (Update), on the same policies the Graph-shaped API serves.
func TestAzurePoliciesThroughARMClients(t *testing.T) {
	ctx := context.Background()
	gina, stan := armAs(t, "gina"), armAs(t, "stan")
	rgData := demoSub + "/resourceGroups/rg-data"

	// Every built-in Azure role has a policy at every scope (Entra's
	// defaults until someone sets one), listed with its rules in ARM's shape.
	pager := stan.policies.NewListForScopePager(rgData, nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != len(domain.AzureBuiltInRoles) {
		t.Fatalf("policies at rg-data: %v, %d, want one per built-in role", err, len(page.Value))
	}
	for _, p := range page.Value {
		if *p.Type != "Microsoft.Authorization/roleManagementPolicies" || !strings.EqualFold(*p.Properties.Scope, rgData) || len(p.Properties.Rules) < 9 {
			t.Fatalf("policy %s: %s at %s with %d rules", *p.Name, *p.Type, *p.Properties.Scope, len(p.Properties.Rules))
		}
	}

	reader := policyOf(t, gina, rgData, domain.AzureRoleReader)
	var expiry *armauthorization.RoleManagementPolicyExpirationRule
	for _, r := range reader.Properties.Rules {
		if e, ok := r.(*armauthorization.RoleManagementPolicyExpirationRule); ok && *e.ID == "Expiration_EndUser_Assignment" {
			expiry = e
		}
	}
	if expiry == nil || *expiry.MaximumDuration != "PT8H" {
		t.Fatalf("Reader on rg-data: activation expiry %+v, want Entra's default PT8H", expiry)
	}

	// Gina sets two hours and approval by the other owners, sending back
	// the policy she read (read-only properties and all), as clients do.
	expiry.MaximumDuration = to.Ptr("PT2H")
	approval := approvalRule(t, reader)
	approval.Setting.IsApprovalRequired = to.Ptr(true)
	approval.Setting.ApprovalMode = to.Ptr(armauthorization.ApprovalModeSingleStage)
	approval.Setting.ApprovalStages = []*armauthorization.ApprovalStage{{ApprovalStageTimeOutInDays: to.Ptr[int32](1),
		PrimaryApprovers: []*armauthorization.UserSet{{UserType: to.Ptr(armUserTypeOwners), IsBackup: to.Ptr(false)}}}}
	updated, err := gina.policies.Update(ctx, rgData, *reader.Name, reader, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if a := approvalRule(t, updated.RoleManagementPolicy); len(a.Setting.ApprovalStages) != 1 || *a.Setting.ApprovalStages[0].PrimaryApprovers[0].UserType != armUserTypeOwners {
		t.Fatalf("after Update: %+v", a.Setting)
	}
	// One policy, two shapes: the Graph-shaped API reads what ARM's wrote.
	graph := must(t, as(t, "gina", true), 200, "GET", "policies/roleManagementPolicies/"+*reader.Name+"/rules/Expiration_EndUser_Assignment", nil)
	if graph["maximumDuration"] != "PT2H" {
		t.Fatalf("Graph-shaped rule after the ARM Update: %v", graph)
	}
	if owners := approversOf(t, stan, rgData, domain.AzureRoleReader); len(owners) != 1 || *owners[0].UserType != armUserTypeOwners {
		t.Fatalf("approvers after Update: %+v", owners)
	}

	// Refusals change nothing: Stan is no admin; a bad approver kind, an
	// activation over 24 hours and a policy of another scope are refused
	// with ARM's error naming what is wrong.
	_, err = stan.policies.Update(ctx, rgData, *reader.Name, reader, nil)
	if code, _ := respErr(err); code != http.StatusForbidden {
		t.Fatalf("Update by Stan: %v, want 403", err)
	}
	approval.Setting.ApprovalStages[0].PrimaryApprovers[0].UserType = to.Ptr(armauthorization.UserType("Manager"))
	_, err = gina.policies.Update(ctx, rgData, *reader.Name, reader, nil)
	if code, _ := respErr(err); code != http.StatusBadRequest || !strings.Contains(err.Error(), "userType") {
		t.Fatalf("Update with approver kind Manager: %v, want 400 naming userType", err)
	}
	approval.Setting.ApprovalStages[0].PrimaryApprovers[0].UserType = to.Ptr(armUserTypeOwners)
	expiry.MaximumDuration = to.Ptr("PT25H")
	_, err = gina.policies.Update(ctx, rgData, *reader.Name, reader, nil)
	if code, _ := respErr(err); code != http.StatusBadRequest || !strings.Contains(err.Error(), "maximumDuration") {
		t.Fatalf("Update with 25 hours: %v, want 400 naming maximumDuration", err)
	}
	_, err = gina.policies.Get(ctx, demoRGWeb, *reader.Name, nil)
	if code, _ := respErr(err); code != http.StatusNotFound {
		t.Fatalf("rg-data's policy read at rg-web: %v, want 404", err)
	}
	_, err = gina.bindings.Create(ctx, rgData, "x", armauthorization.RoleManagementPolicyAssignment{}, nil)
	if code, _ := respErr(err); code != http.StatusBadRequest {
		t.Fatalf("creating a policy assignment: %v, want 400", err)
	}
	if got := policyOf(t, gina, rgData, domain.AzureRoleReader); *approvalRule(t, got).Setting.ApprovalStages[0].PrimaryApprovers[0].UserType != armUserTypeOwners {
		t.Fatal("a refused Update changed the policy")
	} else {
		for _, r := range got.Properties.Rules {
			if e, ok := r.(*armauthorization.RoleManagementPolicyExpirationRule); ok && *e.ID == "Expiration_EndUser_Assignment" && *e.MaximumDuration != "PT2H" {
				t.Fatalf("a refused Update changed the expiry to %s", *e.MaximumDuration)
			}
		}
	}
}
