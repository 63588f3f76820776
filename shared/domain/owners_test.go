package domain_test

import (
	"reflect"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestAzureOwners(t *testing.T) {
	const (
		sub = "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57"
		rg  = sub + "/resourcegroups/rg-web"
		mg  = "/providers/microsoft.management/managementgroups/contoso"
	)
	alice, bob, carol, stan, bg := domain.ObjectID("a1"), domain.ObjectID("b2"), domain.ObjectID("c3"), domain.ObjectID("d4"), domain.ObjectID("e5")
	owner := func(p domain.ObjectID, scope string) domain.AzureRoleAssignment {
		return domain.AzureRoleAssignment{Name: string(p) + scope, Scope: scope, PrincipalID: p, RoleDefinitionID: domain.AzureRoleOwner}
	}
	for _, tc := range []struct {
		name string
		in   []domain.AzureRoleAssignment
		want []domain.ObjectID
	}{
		{"owner at the scope", []domain.AzureRoleAssignment{owner(alice, rg)}, []domain.ObjectID{alice}},
		{"inherited from the subscription", []domain.AzureRoleAssignment{owner(alice, sub)}, []domain.ObjectID{alice}},
		{"inherited from a management group", []domain.AzureRoleAssignment{owner(bob, mg)}, []domain.ObjectID{bob}},
		{"owner of a resource below confers nothing", []domain.AzureRoleAssignment{owner(carol, rg+"/providers/microsoft.web/sites/w1")}, nil},
		{"a sibling resource group's owner confers nothing", []domain.AzureRoleAssignment{owner(carol, sub+"/resourcegroups/rg-web2")}, nil},
		{"the requester is excluded", []domain.AzureRoleAssignment{owner(stan, sub), owner(alice, rg)}, []domain.ObjectID{alice}},
		{"break-glass accounts are excluded", []domain.AzureRoleAssignment{owner(bg, sub)}, nil},
		{"contributors are no owners", []domain.AzureRoleAssignment{{Scope: sub, PrincipalID: bob, RoleDefinitionID: domain.AzureRoleContributor}}, nil},
		{"each once, sorted", []domain.AzureRoleAssignment{owner(bob, sub), owner(alice, rg), owner(bob, rg)}, []domain.ObjectID{alice, bob}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.AzureOwners(tc.in, rg, stan, domain.BreakGlass{bg})
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWithResourceOwners(t *testing.T) {
	rg := domain.AzureRoleTarget(domain.AzureRoleContributor, "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57/resourcegroups/rg-web")
	owners := domain.Approver{Kind: domain.ApproverResourceOwners}
	alice := domain.Approver{Kind: domain.ApproverUser, ID: "c4049c7c-e12b-4472-b42d-c24808aa1054"}
	admins := domain.Approver{Kind: domain.ApproverGroup, ID: "a4c9cff4-c213-479e-a8a4-84001c0232d4"}
	policy := func(primary, escalation []domain.Approver) domain.Policy {
		p := domain.DefaultPolicy()
		p.ID, p.Scope, p.Target = domain.PolicyID(rg), domain.ScopeTarget, rg
		p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: primary, EscalationApprovers: escalation, EscalationEnabled: len(escalation) > 0, EscalationMinutes: 60}}
		return p
	}
	for _, tc := range []struct {
		name                 string
		in                   domain.Policy
		owners               []domain.Approver
		wantPrimary, wantEsc []domain.Approver
		wantRefused          bool
	}{
		{"owners replace the placeholder", policy([]domain.Approver{owners}, nil), []domain.Approver{alice}, []domain.Approver{alice}, nil, false},
		{"named approvers stay beside them", policy([]domain.Approver{admins, owners}, nil), []domain.Approver{alice, admins}, []domain.Approver{admins, alice}, nil, false},
		{"escalation to the owners", policy([]domain.Approver{admins}, []domain.Approver{owners}), []domain.Approver{alice}, []domain.Approver{admins}, []domain.Approver{alice}, false},
		{"no other owner: refused", policy([]domain.Approver{owners}, nil), nil, nil, nil, true},
		{"no other owner but another approver: asked", policy([]domain.Approver{owners, admins}, nil), nil, []domain.Approver{admins}, nil, false},
		{"a policy without the placeholder is unchanged", policy([]domain.Approver{admins}, nil), nil, []domain.Approver{admins}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantNoErr(t, tc.in.Validate())
			got, err := tc.in.WithResourceOwners(rg, tc.owners)
			if tc.wantRefused {
				wantErr(t, err, domain.CodeForbidden, "", "another owner", "rg-web")
				return
			}
			wantNoErr(t, err)
			s := got.Activation.Stages[0]
			if !reflect.DeepEqual(s.PrimaryApprovers, tc.wantPrimary) || !reflect.DeepEqual(s.EscalationApprovers, tc.wantEsc) {
				t.Fatalf("primary %v escalation %v, want %v %v", s.PrimaryApprovers, s.EscalationApprovers, tc.wantPrimary, tc.wantEsc)
			}
			if got.Activation.NamesResourceOwners() {
				t.Fatal("the placeholder survived resolution")
			}
			if had := tc.name != "a policy without the placeholder is unchanged"; tc.in.Activation.NamesResourceOwners() != had {
				t.Fatal("resolving changed the policy it resolved from")
			}
		})
	}
}

func TestResourceOwnersOnlyInAzurePolicies(t *testing.T) {
	owners := []domain.Approver{{Kind: domain.ApproverResourceOwners}}
	rg := domain.AzureRoleTarget(domain.AzureRoleContributor, "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57/resourcegroups/rg-web")
	with := func(p domain.Policy) domain.Policy {
		p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: owners}}
		return p
	}
	azure := domain.DefaultPolicy()
	azure.ID, azure.Scope, azure.Target = domain.PolicyID(rg), domain.ScopeTarget, rg
	role := domain.DefaultPolicy()
	role.ID, role.Scope, role.Target = "r", domain.ScopeTarget, domain.RoleTarget(domain.RoleGlobalAdministrator, "/")
	mixedTier := domain.DefaultPolicy()
	mixedTier.ID, mixedTier.Scope, mixedTier.Tier, mixedTier.TierTargets = "Tier_x", domain.ScopeTier, "x", []domain.Target{rg, role.Target}
	azureTier := mixedTier
	azureTier.TierTargets = []domain.Target{rg}
	for _, tc := range []struct {
		name string
		p    domain.Policy
		ok   bool
	}{
		{"an Azure role's policy", with(azure), true},
		{"a tier of Azure roles", with(azureTier), true},
		{"a directory role's policy", with(role), false},
		{"a tier mixing kinds", with(mixedTier), false},
		{"the default policy", with(domain.DefaultPolicy()), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); tc.ok {
				wantNoErr(t, err)
			} else {
				wantErr(t, err, domain.CodeInvalid, "Approval_EndUser_Assignment.approvalStages", "owners")
			}
		})
	}
	bad := with(azure)
	bad.Activation.Stages[0].PrimaryApprovers = []domain.Approver{{Kind: domain.ApproverResourceOwners, ID: "c4049c7c-e12b-4472-b42d-c24808aa1054"}}
	wantErr(t, bad.Validate(), domain.CodeInvalid, "Approval_EndUser_Assignment.approvalStages")
}
