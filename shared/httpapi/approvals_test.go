package httpapi_test

import (
	"strings"
	"testing"
)

// TestGroupApprovalStages: PIM for Groups approvals are Graph v1.0's
// approval with stages (approvalStage, reviewedBy an identity), read with
// $expand=stages, …/stages and …/stages/{id}, and decided with PATCH
// …/stages/{id}; the beta steps shape stays on directory roles only.
func TestGroupApprovalStages(t *testing.T) {
	e := newEnv(t)
	adm := e.token(admin, true)
	base := "/api/identityGovernance/privilegedAccess/group/"
	e.must(200, "PATCH", "/api/policies/roleManagementPolicies/Group_"+pag+"_member/rules/Approval_EndUser_Assignment", adm, map[string]any{
		"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "id": "Approval_EndUser_Assignment",
		"setting": map[string]any{"isApprovalRequired": true, "approvalMode": "SingleStage", "approvalStages": []any{map[string]any{
			"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
			"primaryApprovers": []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": bob}}}}}})
	e.must(201, "POST", base+"eligibilityScheduleRequests", adm, map[string]any{"action": "adminAssign", "principalId": alice, "groupId": pag,
		"accessId": "member", "justification": "service desk", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "noExpiration"}}})
	tok, bobTok := e.token(alice, true), e.token(bob, true)
	req := e.must(201, "POST", base+"assignmentScheduleRequests", tok, map[string]any{"action": "selfActivate", "principalId": alice, "groupId": pag,
		"accessId": "member", "justification": "ticket queue", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT2H"}}})
	if req["status"] != "PendingApproval" {
		t.Fatalf("request: %v", req)
	}
	id := req["approvalId"].(string)
	appr := base + "assignmentApprovals/" + id

	// stages is a navigation property: only with $expand.
	if plain := e.must(200, "GET", appr, bobTok, nil); plain["id"] != id || plain["stages"] != nil || plain["steps"] != nil {
		t.Fatalf("approval without $expand: %v", plain)
	}
	expanded := e.must(200, "GET", appr+"?$expand=stages", bobTok, nil)
	stages, _ := expanded["stages"].([]any)
	if len(stages) != 1 || expanded["steps"] != nil {
		t.Fatalf("approval with $expand=stages: %v", expanded)
	}
	st := stages[0].(map[string]any)
	for k, want := range map[string]any{"assignedToMe": true, "status": "InProgress", "reviewResult": "NotReviewed", "displayName": "Stage 1"} {
		if st[k] != want {
			t.Errorf("stage %s = %v, want %v", k, st[k], want)
		}
	}
	for _, k := range []string{"id", "justification", "reviewedBy", "reviewedDateTime"} {
		if _, ok := st[k]; !ok {
			t.Errorf("stage has no %s: %v", k, st)
		}
	}
	stageID := st["id"].(string)
	if list := e.must(200, "GET", appr+"/stages", bobTok, nil); len(list["value"].([]any)) != 1 {
		t.Fatalf("stages: %v", list)
	}
	e.must(404, "GET", appr+"/stages/stage-9", bobTok, nil)
	e.must(400, "GET", appr+"?$expand=steps", bobTok, nil)
	// The beta shape is not served for groups, and roles do not answer for groups.
	e.must(404, "PATCH", appr+"/steps/"+stageID, bobTok, map[string]any{"reviewResult": "Approve", "justification": "ok"})
	e.must(404, "GET", "/api/roleManagement/directory/roleAssignmentApprovals/"+id, bobTok, nil)
	e.must(404, "PATCH", "/api/roleManagement/directory/roleAssignmentApprovals/"+id+"/steps/"+stageID, bobTok, map[string]any{"reviewResult": "Approve", "justification": "ok"})

	e.must(204, "PATCH", appr+"/stages/"+stageID, bobTok, map[string]any{"reviewResult": "Approve", "justification": "queue is on fire"})
	done := e.must(200, "GET", appr+"/stages/"+stageID, tok, nil)
	by, _ := done["reviewedBy"].(map[string]any)
	if done["reviewResult"] != "Approve" || done["status"] != "Completed" || done["justification"] != "queue is on fire" || by["id"] != bob || done["reviewedDateTime"] == nil {
		t.Fatalf("decided stage: %v", done)
	}
	if !e.dir.InGroup(pag, "member", alice) {
		t.Fatal("approved group activation not granted")
	}
	_, out := e.do("PATCH", appr+"/stages/"+stageID, bobTok, map[string]any{"reviewResult": "Deny", "justification": "again"})
	if !strings.Contains(strings.ToLower(errMsg(out)), "decided") {
		t.Errorf("second decision: %v", out)
	}
}
