package httpapi

import (
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

// FuzzParseRequest feeds arbitrary bodies to the schedule request parser:
// it must never panic, and whatever it accepts must be a valid target and
// action with every error carrying a code.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"action":"selfActivate","principalId":"11111111-1111-1111-1111-111111111111","roleDefinitionId":"62e90394-69f5-4237-9190-012177145e10","directoryScopeId":"/","justification":"x","scheduleInfo":{"expiration":{"type":"afterDuration","duration":"PT1H"}}}`))
	f.Add([]byte(`{"action":"AdminAssign","principalId":"x","groupId":"y","accessId":"member","ticketInfo":{"ticketNumber":"INC1"}}`))
	f.Add([]byte(`{"scheduleInfo":{"startDateTime":"2026-01-01T00:00:00Z","expiration":{"type":"afterDateTime","endDateTime":"bad"}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"action":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, set := range []resourceSet{roleResources, groupResources} {
			sub, err := ParseRequest(data, set, domain.KindAssignment)
			if err != nil {
				if domain.ErrorCode(err) != domain.CodeInvalid {
					t.Fatalf("parse error without invalid code: %v", err)
				}
				continue
			}
			if _, ok := domain.ParseAction(string(sub.Action)); !ok {
				t.Fatalf("accepted unknown action %q", sub.Action)
			}
			if sub.PrincipalID == "" {
				t.Fatal("accepted a request without principalId")
			}
		}
	})
}

// FuzzParseFilter: never panics; accepted terms use only allowed properties.
func FuzzParseFilter(f *testing.F) {
	f.Add("principalId eq '11111111-1111-1111-1111-111111111111' and roleDefinitionId eq 'x'")
	f.Add("status eq 'PendingApproval'")
	f.Add("principalId eq 'it''s'")
	f.Add("a eq")
	f.Add("principalId eq 'unterminated")
	allowed := []string{"principalId", "roleDefinitionId", "status"}
	f.Fuzz(func(t *testing.T, s string) {
		conds, err := ParseFilter(s, allowed)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("filter error without invalid code: %v", err)
			}
			return
		}
		for _, c := range conds {
			ok := false
			for _, a := range allowed {
				ok = ok || a == c.Property
			}
			if !ok {
				t.Fatalf("accepted property %q", c.Property)
			}
		}
	})
}

// FuzzApplyRule: a PATCH body on any rule never panics and never leaves an
// accepted policy invalid once the engine validates it.
func FuzzApplyRule(f *testing.F) {
	f.Add("Approval_EndUser_Assignment", []byte(`{"setting":{"isApprovalRequired":true,"approvalMode":"Serial","approvalStages":[{"approvalStageTimeOutInDays":1,"primaryApprovers":[{"@odata.type":"#microsoft.graph.singleUser","userId":"11111111-1111-1111-1111-111111111111"}]}]}}`))
	f.Add("Expiration_EndUser_Assignment", []byte(`{"maximumDuration":"PT2H"}`))
	f.Add("Enablement_EndUser_Assignment", []byte(`{"enabledRules":["Ticketing"]}`))
	f.Add("Notification_Admin_Admin_Eligibility", []byte(`{"notificationRecipients":["a@b.c"]}`))
	f.Add("AuthenticationContext_EndUser_Assignment", []byte(`{"isEnabled":true,"claimValue":"c1"}`))
	f.Fuzz(func(t *testing.T, ruleID string, data []byte) {
		p := domain.DefaultPolicy()
		p.ID = "DirectoryRole_62e90394-69f5-4237-9190-012177145e10"
		if err := ApplyRule(&p, ruleID, data); err != nil {
			if c := domain.ErrorCode(err); c != domain.CodeInvalid && c != domain.CodeNotFound {
				t.Fatalf("unexpected code %s: %v", c, err)
			}
			return
		}
		_ = p.Validate() // must not panic; invalid policies are refused by the engine
		if strings.Contains(ruleID, "\x00") {
			t.Fatal("accepted a rule id with NUL")
		}
	})
}
