package httpapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Every rule jitpim writes in ARM's shape reads back to the same policy:
// the ARM spelling is a translation of the Graph rules, not a second
// reading of them.
func TestARMRulesRoundTrip(t *testing.T) {
	rg := domain.AzureRoleTarget(domain.AzureRoleContributor, "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57/resourcegroups/rg-web")
	p := domain.DefaultPolicy()
	p.ID, p.Scope, p.Target = domain.PolicyID(rg), domain.ScopeTarget, rg
	a := &p.Activation
	a.MaxDuration, a.RequireTicket, a.ValidateTicket, a.AuthContext = 2*time.Hour, true, true, "c1"
	a.ApprovalRequired, a.ApprovalMode = true, domain.ApprovalSerial
	a.Stages = []domain.StageRule{
		{TimeoutDays: 2, ApproverJustificationRequired: true, PrimaryApprovers: []domain.Approver{{Kind: domain.ApproverResourceOwners}},
			EscalationEnabled: true, EscalationMinutes: 90, EscalationApprovers: []domain.Approver{{Kind: domain.ApproverGroup, ID: "a4c9cff4-c213-479e-a8a4-84001c0232d4"}}},
		{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: "c4049c7c-e12b-4472-b42d-c24808aa1054"}}},
	}
	p.Eligible = domain.AdminRules{MaxDuration: 90 * 24 * time.Hour, RequireJustification: true}
	p.Notifications[0].Level, p.Notifications[0].ExtraRecipients = domain.LevelCritical, []string{"soc@contoso.example"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}

	back := domain.DefaultPolicy()
	back.ID, back.Scope, back.Target = p.ID, p.Scope, p.Target
	for i, r := range armRulesOf(p) {
		if _, ok := r["@odata.type"]; ok || r["ruleType"] == "" {
			t.Fatalf("rule %d in Graph's spelling: %v", i, r)
		}
		raw, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		id, data, err := graphRuleOf("properties.rules[0]", raw)
		if err != nil {
			t.Fatalf("rule %s: %v", r["id"], err)
		}
		if err := ApplyRule(&back, id, data); err != nil {
			t.Fatalf("rule %s: %v", id, err)
		}
	}
	// Compared as written (an empty list and no list read the same).
	got, _ := json.Marshal(armRulesOf(back))
	want, _ := json.Marshal(armRulesOf(p))
	if string(got) != string(want) || !reflect.DeepEqual(back.Activation.Stages[0].PrimaryApprovers, p.Activation.Stages[0].PrimaryApprovers) {
		t.Fatalf("read back\n%s\nwant\n%s", got, want)
	}
}

func TestARMRuleRefusals(t *testing.T) {
	for _, tc := range []struct{ name, rule, field string }{
		{"no id", `{"ruleType":"RoleManagementPolicyExpirationRule","maximumDuration":"PT1H"}`, "properties.rules[0].id"},
		{"Graph's spelling", `{"id":"Expiration_EndUser_Assignment","@odata.type":"#microsoft.graph.unifiedRoleManagementPolicyExpirationRule"}`, "properties.rules[0].ruleType"},
		{"unknown approver kind", `{"id":"Approval_EndUser_Assignment","ruleType":"RoleManagementPolicyApprovalRule","setting":{"approvalStages":[{"primaryApprovers":[{"userType":"Manager","id":"x"}]}]}}`,
			"properties.rules[0].setting.approvalStages.userType"},
		{"owners with an id", `{"id":"Approval_EndUser_Assignment","ruleType":"RoleManagementPolicyApprovalRule","setting":{"approvalStages":[{"primaryApprovers":[{"userType":"ResourceOwners","id":"c4049c7c-e12b-4472-b42d-c24808aa1054"}]}]}}`,
			"properties.rules[0].setting.approvalStages.userType"},
		{"not an object", `[]`, "properties.rules[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := graphRuleOf("properties.rules[0]", json.RawMessage(tc.rule))
			var de *domain.Error
			if err == nil || !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != tc.field {
				t.Fatalf("%v, want invalid %s", err, tc.field)
			}
		})
	}
}

func FuzzARMRule(f *testing.F) {
	f.Add([]byte(`{"id":"Approval_EndUser_Assignment","ruleType":"RoleManagementPolicyApprovalRule","setting":{"isApprovalRequired":true,"approvalMode":"SingleStage","approvalStages":[{"approvalStageTimeOutInDays":1,"primaryApprovers":[{"userType":"ResourceOwners","isBackup":false}]}]}}`))
	f.Add([]byte(`{"id":"Expiration_EndUser_Assignment","ruleType":"RoleManagementPolicyExpirationRule","maximumDuration":"PT2H","target":{"caller":"EndUser","targetObjects":[]}}`))
	f.Add([]byte(`{"id":"Notification_Admin_Admin_Eligibility","ruleType":"RoleManagementPolicyNotificationRule","notificationRecipients":["a@b.c"]}`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rg := domain.AzureRoleTarget(domain.AzureRoleOwner, "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57")
		p := domain.DefaultPolicy()
		p.ID, p.Scope, p.Target = domain.PolicyID(rg), domain.ScopeTarget, rg
		id, graph, err := graphRuleOf("properties.rules[0]", data)
		if err == nil {
			err = ApplyRule(&p, id, graph)
		}
		if err != nil {
			if c := domain.ErrorCode(err); c != domain.CodeInvalid && c != domain.CodeNotFound {
				t.Fatalf("unexpected code %s: %v", c, err)
			}
			return
		}
		_ = p.Validate() // must not panic
	})
}
