package wire_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

const (
	alice = "aaaaaaaa-0000-0000-0000-000000000002"
	pag   = "bbbbbbbb-0000-0000-0000-000000000001"
)

func sp(s string) *string { return &s }
func bp(b bool) *bool     { return &b }

// TestShapes pins the JSON of each resource, byte for byte: names, order,
// null versus absent. The server writes these and the Graph SDKs read
// them, so a change here is a change of the API.
func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"role request", wire.Request{ID: "r1", Action: domain.ActionSelfActivate, PrincipalID: alice, RoleDefinitionID: domain.RoleGlobalAdministrator,
			DirectoryScopeID: "/", Justification: "INC-1", Status: domain.StatusPendingApproval, ApprovalID: sp("r1"), CreatedDateTime: sp("2026-03-01T10:00:00Z"),
			CreatedBy: wire.IdentitySet{User: &wire.Identity{ID: alice}},
			ScheduleInfo: wire.ScheduleInfo{StartDateTime: sp("2026-03-01T10:00:00Z"),
				Expiration: wire.Expiration{Type: domain.ExpireAfterDuration, EndDateTime: sp("2026-03-01T11:00:00Z"), Duration: sp("PT1H")}},
			TicketInfo: wire.TicketInfo{TicketNumber: sp("INC1")}},
			`{"id":"r1","action":"selfActivate","principalId":"` + alice + `","roleDefinitionId":"62e90394-69f5-4237-9190-012177145e10","directoryScopeId":"/",` +
				`"justification":"INC-1","status":"PendingApproval","approvalId":"r1","createdDateTime":"2026-03-01T10:00:00Z","completedDateTime":null,` +
				`"createdBy":{"user":{"id":"` + alice + `"}},"isValidationOnly":false,"targetScheduleId":null,` +
				`"scheduleInfo":{"startDateTime":"2026-03-01T10:00:00Z","expiration":{"type":"afterDuration","endDateTime":"2026-03-01T11:00:00Z","duration":"PT1H"},"recurrence":null},` +
				`"ticketInfo":{"ticketNumber":"INC1","ticketSystem":null}}`},
		{"group request by jitpim", wire.Request{ID: "r2", Action: domain.ActionAdminRemove, PrincipalID: alice, GroupID: pag, AccessID: domain.AccessMember,
			Status: domain.StatusRevoked, StatusReason: "expired", CreatedBy: wire.IdentitySet{Application: &wire.Identity{DisplayName: "jitpim"}},
			ScheduleInfo: wire.ScheduleInfo{Expiration: wire.Expiration{Type: domain.ExpireNever}}},
			`{"id":"r2","action":"adminRemove","principalId":"` + alice + `","groupId":"` + pag + `","accessId":"member","justification":"","status":"Revoked",` +
				`"statusReason":"expired","approvalId":null,"createdDateTime":null,"completedDateTime":null,"createdBy":{"application":{"displayName":"jitpim"}},` +
				`"isValidationOnly":false,"targetScheduleId":null,"scheduleInfo":{"startDateTime":null,"expiration":{"type":"noExpiration","endDateTime":null,"duration":null},"recurrence":null},` +
				`"ticketInfo":{"ticketNumber":null,"ticketSystem":null}}`},
		{"role request body", wire.RequestBody{Action: "selfActivate", PrincipalID: alice, RoleDefinitionID: pag, DirectoryScopeID: "/",
			ScheduleInfo: &wire.ScheduleInfoBody{Expiration: &wire.ExpirationBody{Type: "afterDuration", Duration: sp("PT1H")}}},
			`{"action":"selfActivate","principalId":"` + alice + `","roleDefinitionId":"` + pag + `","directoryScopeId":"/",` +
				`"scheduleInfo":{"expiration":{"type":"afterDuration","duration":"PT1H"}}}`},
		{"group instance", wire.Schedule{ID: "s1", PrincipalID: alice, GroupID: pag, AccessID: "member", MemberType: "direct", AssignmentType: "activated",
			StartDateTime: sp("2026-03-01T10:00:00Z"), AssignmentScheduleID: "s1", EligibilityScheduleID: "e1"},
			`{"id":"s1","principalId":"` + alice + `","groupId":"` + pag + `","accessId":"member","memberType":"direct","assignmentType":"activated",` +
				`"startDateTime":"2026-03-01T10:00:00Z","assignmentScheduleId":"s1","eligibilityScheduleId":"e1"}`},
		{"role schedule", wire.Schedule{ID: "s2", PrincipalID: alice, RoleDefinitionID: pag, DirectoryScopeID: "/", MemberType: "Direct", Status: "Provisioned",
			ScheduleInfo: &wire.ScheduleInfo{Expiration: wire.Expiration{Type: domain.ExpireNever}}},
			`{"id":"s2","principalId":"` + alice + `","roleDefinitionId":"` + pag + `","directoryScopeId":"/","memberType":"Direct","status":"Provisioned",` +
				`"scheduleInfo":{"startDateTime":null,"expiration":{"type":"noExpiration","endDateTime":null,"duration":null},"recurrence":null}}`},
		{"role approval", wire.Approval{ID: "a1", Steps: []wire.ApprovalStep{{ID: "stage-1", AssignedToMe: true, DisplayName: "Stage 1",
			ReviewResult: "NotReviewed", Status: "InProgress"}}},
			`{"id":"a1","steps":[{"id":"stage-1","assignedToMe":true,"displayName":"Stage 1","justification":null,"reviewResult":"NotReviewed",` +
				`"reviewedBy":null,"reviewedDateTime":null,"status":"InProgress"}]}`},
		{"group approval without $expand", wire.GroupApproval{ID: "a2"}, `{"id":"a2"}`},
		{"group approval stage", wire.ApprovalStage{ID: "stage-1", ReviewResult: "Approve", ReviewedBy: &wire.Identity{ID: alice}, Status: "Completed"},
			`{"id":"stage-1","assignedToMe":false,"displayName":"","justification":null,"reviewResult":"Approve","reviewedBy":{"id":"` + alice + `"},` +
				`"reviewedDateTime":null,"status":"Completed"}`},
		{"expiration rule", wire.Rule{ODataType: wire.ODataExpirationRule, ID: "Expiration_EndUser_Assignment",
			Target:               &wire.RuleTarget{Caller: "EndUser", Operations: []string{"All"}, Level: "Assignment", InheritableSettings: []string{}, EnforcedSettings: []string{}},
			IsExpirationRequired: bp(true), MaximumDuration: sp("PT8H")},
			`{"@odata.type":"#microsoft.graph.unifiedRoleManagementPolicyExpirationRule","id":"Expiration_EndUser_Assignment",` +
				`"target":{"caller":"EndUser","operations":["All"],"level":"Assignment","inheritableSettings":[],"enforcedSettings":[]},` +
				`"isExpirationRequired":true,"maximumDuration":"PT8H"}`},
		{"approval rule", wire.Rule{ODataType: wire.ODataApprovalRule, ID: "Approval_EndUser_Assignment", Setting: &wire.ApprovalSettings{
			IsApprovalRequired: true, ApprovalMode: "SingleStage", ApprovalStages: []wire.UnifiedApprovalStage{{ApprovalStageTimeOutInDays: 1,
				PrimaryApprovers: []wire.UserSet{{ODataType: wire.ODataGroupMembers, GroupID: pag, IsBackup: bp(false)}}, EscalationApprovers: []wire.UserSet{}}}}},
			`{"@odata.type":"#microsoft.graph.unifiedRoleManagementPolicyApprovalRule","id":"Approval_EndUser_Assignment","setting":{"isApprovalRequired":true,` +
				`"isApprovalRequiredForExtension":false,"isRequestorJustificationRequired":false,"approvalMode":"SingleStage","approvalStages":[{` +
				`"approvalStageTimeOutInDays":1,"isApproverJustificationRequired":false,"escalationTimeInMinutes":0,"isEscalationEnabled":false,` +
				`"primaryApprovers":[{"@odata.type":"#microsoft.graph.groupMembers","groupId":"` + pag + `","isBackup":false}],"escalationApprovers":[]}]}}`},
		{"notification rule", wire.Rule{ODataType: wire.ODataNotificationRule, ID: "Notification_Admin_Admin_Eligibility", NotificationType: sp("Email"),
			RecipientType: sp("Admin"), NotificationLevel: sp("All"), IsDefaultRecipientsEnabled: bp(true), NotificationRecipients: &[]string{}},
			`{"@odata.type":"#microsoft.graph.unifiedRoleManagementPolicyNotificationRule","id":"Notification_Admin_Admin_Eligibility","notificationType":"Email",` +
				`"recipientType":"Admin","notificationLevel":"All","isDefaultRecipientsEnabled":true,"notificationRecipients":[]}`},
		{"default policy", wire.Policy{ID: "Default", DisplayName: "Default", IsOrganizationDefault: true, ScopeID: "/", ScopeType: "Default"},
			`{"id":"Default","displayName":"Default","description":"","isOrganizationDefault":true,"scopeId":"/","scopeType":"Default",` +
				`"lastModifiedDateTime":null,"lastModifiedBy":null}`},
		{"tier policy", wire.Policy{ID: "Tier_L3", ScopeID: "L3", ScopeType: "Tier", InheritedFrom: "Default",
			TierTargets: []wire.TierTarget{{RoleDefinitionID: pag, DirectoryScopeID: "/"}, {GroupID: pag, AccessID: "owner"}}},
			`{"id":"Tier_L3","displayName":"","description":"","isOrganizationDefault":false,"scopeId":"L3","scopeType":"Tier","lastModifiedDateTime":null,` +
				`"lastModifiedBy":null,"inheritedFrom":"Default","tierTargets":[{"roleDefinitionId":"` + pag + `","directoryScopeId":"/"},{"groupId":"` + pag + `","accessId":"owner"}]}`},
		{"policy assignment", wire.PolicyAssignment{ID: "Group_x_member_member", PolicyID: "Group_x_member", ScopeID: "x", ScopeType: "Group", RoleDefinitionID: "member"},
			`{"id":"Group_x_member_member","policyId":"Group_x_member","scopeId":"x","scopeType":"Group","roleDefinitionId":"member"}`},
		{"collection page", wire.Collection[any]{Value: []wire.GroupApproval{{ID: "a"}}, NextLink: "https://h/api/x?%24skiptoken=1"},
			`{"value":[{"id":"a"}],"@odata.nextLink":"https://h/api/x?%24skiptoken=1"}`},
		{"empty collection", wire.Collection[[]wire.Schedule]{Value: []wire.Schedule{}}, `{"value":[]}`},
		{"error", wire.ErrorBody{Error: wire.ErrorDetail{Code: "BadRequest", Message: "m", Target: "action", InnerError: wire.InnerError{RequestID: "q", Date: "d"}}},
			`{"error":{"code":"BadRequest","message":"m","target":"action","innerError":{"request-id":"q","date":"d"}}}`},
		{"error without target", wire.ErrorBody{Error: wire.ErrorDetail{Code: "ResourceNotFound", Message: "m"}},
			`{"error":{"code":"ResourceNotFound","message":"m","innerError":{"request-id":"","date":""}}}`},
	} {
		got, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestServerIDsReadCanonical: ids only the server writes are read in the
// canonical spelling, so a client compares them with ==.
func TestServerIDsReadCanonical(t *testing.T) {
	var s wire.Schedule
	if err := json.Unmarshal([]byte(`{"id":"s","principalId":"AAAAAAAA-0000-0000-0000-000000000002","groupId":"BBBBBBBB-0000-0000-0000-000000000001"}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.PrincipalID != alice || s.GroupID != pag {
		t.Fatalf("ids %q %q", s.PrincipalID, s.GroupID)
	}
}

// pager answers three pages; its next links spell $skiptoken escaped, as
// the server writes them, and point at another host, which must not be
// followed.
type pager struct{ paths []string }

func (p *pager) Call(_ context.Context, _, path string, _ any, _ map[string]string, out any) error {
	p.paths = append(p.paths, path)
	pg := out.(*wire.Collection[[]int])
	switch {
	case !strings.Contains(path, "skiptoken"):
		pg.Value, pg.NextLink = []int{1, 2}, "https://elsewhere.example/api/things?%24skiptoken=b%2Bc"
	case strings.HasSuffix(path, "$skiptoken=b%2Bc"):
		pg.Value, pg.NextLink = []int{3}, "https://elsewhere.example/api/things?$skiptoken=d"
	case strings.HasSuffix(path, "$skiptoken=d"):
		pg.Value = []int{4}
	default:
		return fmt.Errorf("unexpected path %s", path)
	}
	return nil
}

func TestListAllFollowsEveryPageThroughItsSkipToken(t *testing.T) {
	p := &pager{}
	got, err := wire.ListAll[int](context.Background(), p, "things?$filter=x")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("got %v over %v", got, p.paths)
	}
	for _, path := range p.paths {
		if !strings.HasPrefix(path, "things?$filter=x&$top=999") {
			t.Fatalf("followed %s", path)
		}
	}
}
