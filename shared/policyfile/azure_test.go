package policyfile_test

import (
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/policyfile"
)

// Azure roles are named by role name and readable scope path; the policy
// is the Azure target's, and what the file cannot do for Azure roles it
// refuses, naming the line.
func TestAzureRolesSection(t *testing.T) {
	const sub = "8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57"
	src := `version: 1
directory:
  users:
    alice: c4049c7c-e12b-4472-b42d-c24808aa1054
  subscriptions:
    Contoso Production: ` + sub + `
azureRoles:
  Owner on Contoso Production:
    settings:
      mfa: true
      approval: true
      approvers: [alice]
      activationDuration: PT1H
      eligibleExpiration: P90D
  Contributor on Contoso Production/rg-web:
    settings:
      activationDuration: PT4H
  Reader on /subscriptions/` + sub + `/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/st1:
    settings:
      mfa: false
`
	f := policyfile.Parse("azure.yaml", []byte(src), now)
	if errs := f.Errors(); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []domain.Target{
		domain.AzureRoleTarget(domain.AzureRoleOwner, "/subscriptions/"+sub),
		domain.AzureRoleTarget(domain.AzureRoleContributor, "/subscriptions/"+sub+"/resourcegroups/rg-web"),
		domain.AzureRoleTarget(domain.AzureRoleReader, "/subscriptions/"+sub+"/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/st1"),
	}
	if len(f.Targets) != len(want) {
		t.Fatalf("%d targets, want %d", len(f.Targets), len(want))
	}
	for i, tg := range f.Targets {
		if tg.T != want[i] {
			t.Errorf("target %d: %+v, want %+v", i, tg.T, want[i])
		}
	}
	if s := f.Targets[0].Settings; s == nil || !s.Approval.V || len(s.Approvers.V) != 1 || s.Approvers.V[0].Name != "alice" {
		t.Fatalf("Owner settings: %+v", s)
	}

	for _, tc := range []struct{ src, want string }{
		{"azureRoles:\n  Owner of Contoso:\n    settings: {mfa: true}\n", `must read "{role} on {scope}"`},
		{"azureRoles:\n  Owners on Contoso Production:\n    settings: {mfa: true}\n", `did you mean "Owner"`},
		{"azureRoles:\n  Owner on Fabrikam:\n    settings: {mfa: true}\n", `names no subscription`},
		{"azureRoles:\n  Owner on Contoso Production/rg|x:\n    settings: {mfa: true}\n", `forbidden character`},
		{"azureRoles:\n  Owner on Contoso Production:\n    eligible: [alice]\n", `make Azure assignments through the ARM-shaped API`},
	} {
		f := policyfile.Parse("bad.yaml", []byte("version: 1\ndirectory:\n  users:\n    alice: c4049c7c-e12b-4472-b42d-c24808aa1054\n  subscriptions:\n    Contoso Production: "+sub+"\n"+tc.src), now)
		errs := f.Errors()
		if len(errs) == 0 || !strings.Contains(errs[0].String(), tc.want) {
			t.Errorf("%q: errors %v, want one saying %q", tc.src, errs, tc.want)
		}
	}
}

// The settings table's Owner row: "approver: other owners of the
// resource" is written otherOwners, becomes the resource-owners approver
// of the Azure role's policy, and is refused where there is no resource.
func TestOtherOwnersApprover(t *testing.T) {
	const head = "version: 1\ndirectory:\n  users:\n    alice: c4049c7c-e12b-4472-b42d-c24808aa1054\n  subscriptions:\n    Contoso Production: 8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57\n"
	f := policyfile.Parse("azure.yaml", []byte(head+`azureRoles:
  Owner on Contoso Production:
    settings:
      approval: true
      approvers: [otherOwners]
      escalation: {afterMinutes: 60, approvers: [alice]}
`), now)
	if errs := f.Errors(); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	d := f.Desired()
	if len(d.Targets) != 1 {
		t.Fatalf("%d targets", len(d.Targets))
	}
	p := d.Targets[0].Policy
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	s := p.Activation.Stages[0]
	if len(s.PrimaryApprovers) != 1 || s.PrimaryApprovers[0] != (domain.Approver{Kind: domain.ApproverResourceOwners}) ||
		len(s.EscalationApprovers) != 1 || s.EscalationApprovers[0].Kind != domain.ApproverUser {
		t.Fatalf("stage %+v: want the other owners, escalating to alice", s)
	}

	for _, tc := range []struct{ name, src string }{
		{"a directory role", "roles:\n  Global Administrator:\n    settings: {approval: true, approvers: [otherOwners]}\n"},
		{"a tier", "tiers:\n  L3:\n    settings: {approval: true, approvers: [otherOwners]}\n"},
		{"the defaults", "defaults:\n  approval: true\n  approvers: [alice]\n  escalation: {afterMinutes: 5, approvers: [otherOwners]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := policyfile.Parse("bad.yaml", []byte(head+tc.src), now).Errors()
			found := false
			for _, e := range errs {
				found = found || strings.Contains(e.String(), "otherOwners approves only Azure roles")
			}
			if !found {
				t.Fatalf("errors %v: want otherOwners refused outside azureRoles", errs)
			}
		})
	}
}

// An access review can cover an Azure role at a scope, both named as
// people read them; its definition carries the role definition's ARM id
// below the scope (queryType ARM), as the server writes it back.
func TestAccessReviewOfAnAzureRole(t *testing.T) {
	const head = "version: 1\ndirectory:\n  users:\n    alice: c4049c7c-e12b-4472-b42d-c24808aa1054\n  subscriptions:\n    Contoso Production: 8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57\n"
	review := `accessReviews:
  - name: Contributors on rg-web
    scope: {azureRole: Contributor on Contoso Production/rg-web}
    reviewers: [alice]
    recurrence: {every: 3, unit: months}
    durationInDays: 14
    defaultDecision: deny
    autoApply: true
`
	f := policyfile.Parse("azure.yaml", []byte(head+review), now)
	if errs := f.Errors(); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(f.Reviews) != 1 {
		t.Fatalf("%d reviews", len(f.Reviews))
	}
	r := f.Reviews[0]
	want := domain.AzureRoleTarget(domain.AzureRoleContributor, "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57/resourcegroups/rg-web")
	if r.ScopeAzure != want || r.ScopeName != "Contributor on Contoso Production/rg-web" {
		t.Fatalf("scope %+v %q, want %+v", r.ScopeAzure, r.ScopeName, want)
	}
	body := r.Body()
	scopes := body["scope"].(map[string]any)["resourceScopes"].([]map[string]any)
	if q := scopes[0]["query"]; q != want.ResourceScope+"/providers/Microsoft.Authorization/roleDefinitions/"+string(domain.AzureRoleContributor) || scopes[0]["queryType"] != "ARM" {
		t.Fatalf("resource scope %v", scopes[0])
	}

	for _, tc := range []struct{ name, src, want string }{
		{"unknown role", strings.Replace(review, "Contributor on", "Contributors on", 1), `did you mean "Contributor"`},
		{"unknown subscription", strings.Replace(review, "Contoso Production", "Fabrikam", 1), "names no subscription"},
		{"group owners of no group", strings.Replace(review, "reviewers: [alice]", "reviewers: groupOwners", 1), "groupOwners review a group"},
		{"a role and an Azure role", strings.Replace(review, "{azureRole:", "{role: Global Administrator, azureRole:", 1), "one role, group or Azure role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := policyfile.Parse("bad.yaml", []byte(head+tc.src), now).Errors()
			if len(errs) == 0 || !strings.Contains(errs[0].String(), tc.want) {
				t.Fatalf("errors %v, want one saying %q", errs, tc.want)
			}
		})
	}
}
