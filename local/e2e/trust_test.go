package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/local/stack"
)

// The tests in this file reproduce, through the real handler behind the
// local Functions host, each hole an outside attacker found (issue 10), and
// assert the fixed behaviour.

const (
	groupEligReqs   = "identityGovernance/privilegedAccess/group/eligibilityScheduleRequests"
	groupAssignReqs = "identityGovernance/privilegedAccess/group/assignmentScheduleRequests"
	roleSecurityAdm = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	roleUserAdmin   = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

func expiry(d string) map[string]any {
	return map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": d}}
}

// graphPost makes a change in the Graph simulator directly, as an
// administrator working in Entra (outside jitpim) would.
func graphPost(t *testing.T, path string, body any) {
	t.Helper()
	data, _ := json.Marshal(body)
	res, err := http.Post(st.GraphURL+"/v1.0"+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("graph POST %s: %d", path, res.StatusCode)
	}
}

// spellings are every way of writing one object id that a client might send.
func spellings(id string) map[string]string {
	return map[string]string{"upper": strings.ToUpper(id), "mixed": strings.ToUpper(id[:8]) + id[8:]}
}

// TestBreakGlassIsUntouchableInEverySpelling: the break-glass guard holds
// for every id spelling on every write endpoint, for roles and groups,
// assign and remove; malformed spellings are refused naming the field.
func TestBreakGlassIsUntouchableInEverySpelling(t *testing.T) {
	gina := as(t, "gina", true)
	bg := user("bg1")
	god := stack.GroupID(st.Tenant, "Global Administrators (God Mode)")
	if !st.Graph.HasRoleAssignment(bg, stack.RoleGlobalAdmin, "/") {
		t.Fatal("setup: bg1 should hold Global Administrator")
	}
	for name, id := range spellings(bg) {
		for _, c := range []struct {
			path string
			body map[string]any
		}{
			{eligReqs, map[string]any{"action": "adminAssign", "principalId": id, "roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/", "justification": "x", "scheduleInfo": expiry("P30D")}},
			{assignReqs, map[string]any{"action": "adminAssign", "principalId": id, "roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/", "justification": "x", "scheduleInfo": expiry("P30D")}},
			{assignReqs, map[string]any{"action": "adminRemove", "principalId": id, "roleDefinitionId": strings.ToUpper(stack.RoleGlobalAdmin), "directoryScopeId": "/"}},
			{eligReqs, map[string]any{"action": "adminRemove", "principalId": id, "roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/"}},
			{groupEligReqs, map[string]any{"action": "adminAssign", "principalId": id, "groupId": strings.ToUpper(god), "accessId": "member", "justification": "x", "scheduleInfo": expiry("P30D")}},
			{groupEligReqs, map[string]any{"action": "adminAssign", "principalId": id, "groupId": god, "accessId": "owner", "justification": "x", "scheduleInfo": expiry("P30D")}},
			{groupAssignReqs, map[string]any{"action": "adminAssign", "principalId": id, "groupId": god, "accessId": "member", "justification": "x", "scheduleInfo": expiry("P30D")}},
			{groupAssignReqs, map[string]any{"action": "adminRemove", "principalId": id, "groupId": god, "accessId": "member"}},
		} {
			code, out, err := gina.Do(context.Background(), "POST", c.path, c.body)
			if err != nil {
				t.Fatal(err)
			}
			if code != 403 || !strings.Contains(fmt.Sprint(out), "break-glass") {
				t.Errorf("%s %s %s: %d %v, want 403 break-glass", name, c.path, c.body["action"], code, out)
			}
		}
	}
	if !st.Graph.HasRoleAssignment(bg, stack.RoleGlobalAdmin, "/") || st.Graph.InGroup(god, "member", bg) || st.Graph.InGroup(god, "owner", bg) {
		t.Fatal("a break-glass account's access changed")
	}
	// Spellings that are not a GUID are refused, naming the field; nothing is written.
	for _, bad := range []string{"{" + bg + "}", " " + bg, bg + " ", "urn:uuid:" + bg, strings.ReplaceAll(bg, "-", "")} {
		for field, body := range map[string]map[string]any{
			"principalId":      {"action": "adminAssign", "principalId": bad, "roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "x"},
			"roleDefinitionId": {"action": "adminAssign", "principalId": user("sam"), "roleDefinitionId": bad, "directoryScopeId": "/", "justification": "x"},
		} {
			code, out, _ := gina.Do(context.Background(), "POST", eligReqs, body)
			if code != 400 || !strings.Contains(fmt.Sprint(out), field) {
				t.Errorf("%s %q: %d %v, want 400 naming %s", field, bad, code, out, field)
			}
		}
		code, out, _ := gina.Do(context.Background(), "POST", groupEligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
			"groupId": "{" + god + "}", "accessId": "member", "justification": "x"})
		if code != 400 || !strings.Contains(fmt.Sprint(out), "groupId") {
			t.Errorf("groupId in braces: %d %v", code, out)
		}
	}
}

// TestOneHolderWhateverTheSpelling: an admin assignment to the upper-case
// id and the user's own activation are one holder set of one grant; ending
// the activation keeps the role the admin assignment still needs. Stored
// ids come back canonical.
func TestOneHolderWhateverTheSpelling(t *testing.T) {
	gina, sam := as(t, "gina", true), as(t, "sam", true)
	upper := strings.ToUpper(user("sam"))
	el := must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": upper,
		"roleDefinitionId": strings.ToUpper(roleUserAdmin), "directoryScopeId": "/", "justification": "overlap", "scheduleInfo": expiry("P30D")})
	if el["principalId"] != user("sam") || el["roleDefinitionId"] != roleUserAdmin {
		t.Fatalf("ids not canonical in the answer: %v", el)
	}
	must(t, gina, 201, "POST", assignReqs, map[string]any{"action": "adminAssign", "principalId": upper,
		"roleDefinitionId": roleUserAdmin, "directoryScopeId": "/", "justification": "standing for the migration", "scheduleInfo": expiry("P7D")})
	act := must(t, sam, 201, "POST", assignReqs, map[string]any{"action": "selfActivate", "principalId": user("sam"),
		"roleDefinitionId": roleUserAdmin, "directoryScopeId": "/", "justification": "reset", "scheduleInfo": expiry("PT1H")})
	if act["status"] != "Provisioned" {
		t.Fatalf("activation: %v", act)
	}
	if n := st.Graph.CountRoleAssignments(user("sam"), roleUserAdmin, "/"); n != 1 {
		t.Fatalf("%d role assignments, want 1", n)
	}
	must(t, sam, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": strings.ToUpper(user("sam")),
		"roleDefinitionId": roleUserAdmin, "directoryScopeId": "/"})
	if !st.Graph.HasRoleAssignment(user("sam"), roleUserAdmin, "/") {
		t.Fatal("ending the activation removed the role the admin assignment still needs")
	}
	must(t, gina, 201, "POST", assignReqs, map[string]any{"action": "adminRemove", "principalId": upper,
		"roleDefinitionId": roleUserAdmin, "directoryScopeId": "/"})
	if st.Graph.HasRoleAssignment(user("sam"), roleUserAdmin, "/") {
		t.Fatal("the role stayed after its last holder ended")
	}
}

// TestAccessMadeOutsideJitpimIsNeverTakenOver: a user who already holds a
// role or a group membership made directly in Entra cannot activate the
// same target (409 naming the outside assignment), and nothing jitpim did
// removes that access.
func TestAccessMadeOutsideJitpimIsNeverTakenOver(t *testing.T) {
	gina, sam := as(t, "gina", true), as(t, "sam", true)
	must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
		"roleDefinitionId": roleSecurityAdm, "directoryScopeId": "/", "justification": "soc", "scheduleInfo": expiry("P30D")})
	graphPost(t, "/roleManagement/directory/roleAssignments", map[string]any{"principalId": user("sam"), "roleDefinitionId": roleSecurityAdm, "directoryScopeId": "/"})
	code, out, _ := sam.Do(context.Background(), "POST", assignReqs, map[string]any{"action": "selfActivate", "principalId": user("sam"),
		"roleDefinitionId": roleSecurityAdm, "directoryScopeId": "/", "justification": "soc", "scheduleInfo": expiry("PT1H")})
	if code != 409 || !strings.Contains(fmt.Sprint(out), "outside jitpim") {
		t.Fatalf("activation over an outside assignment: %d %v", code, out)
	}
	code, out, _ = gina.Do(context.Background(), "POST", assignReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
		"roleDefinitionId": roleSecurityAdm, "directoryScopeId": "/", "justification": "x", "scheduleInfo": expiry("P1D")})
	if code != 409 || !strings.Contains(fmt.Sprint(out), "outside jitpim") {
		t.Fatalf("admin assignment over an outside assignment: %d %v", code, out)
	}
	if _, err := st.RunTimer(context.Background(), "expirySweep"); err != nil {
		t.Fatal(err)
	}
	if !st.Graph.HasRoleAssignment(user("sam"), roleSecurityAdm, "/") {
		t.Fatal("jitpim removed a role assignment it never granted")
	}

	dev := stack.GroupID(st.Tenant, "PAG-DEV-TEAM")
	for _, access := range []string{"member", "owner"} {
		must(t, gina, 201, "POST", groupEligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"), "groupId": dev,
			"accessId": access, "justification": "dev", "scheduleInfo": expiry("P30D")})
		graphPost(t, "/groups/"+dev+"/"+access+"s/$ref", map[string]any{"@odata.id": st.GraphURL + "/v1.0/directoryObjects/" + user("sam")})
		var out map[string]any
		code, out, _ = sam.Do(context.Background(), "POST", groupAssignReqs, map[string]any{"action": "selfActivate", "principalId": user("sam"),
			"groupId": dev, "accessId": access, "justification": "deploy", "scheduleInfo": expiry("PT1H")})
		if code != 409 || !strings.Contains(fmt.Sprint(out), "outside jitpim") {
			t.Fatalf("group %s activation over an outside %s: %d %v", access, access, code, out)
		}
		if !st.Graph.InGroup(dev, access, user("sam")) {
			t.Fatalf("jitpim removed a group %s it never added", access)
		}
	}
}

// TestActivationLengthAndTimesAreSane: no zero-length or sub-minimum
// activation, no fractional seconds, no start at year 1 read as "now".
func TestActivationLengthAndTimesAreSane(t *testing.T) {
	steve := as(t, "steve", true)
	base := func() map[string]any {
		b := activation("steve", stack.RoleHelpdeskAdmin, "PT1H")
		b["principalId"] = user("steve")
		return b
	}
	for _, c := range []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"fraction of a second", func(b map[string]any) { b["scheduleInfo"] = expiry("PT0.0000001S") }, "scheduleInfo.expiration.duration"},
		{"fractional seconds", func(b map[string]any) { b["scheduleInfo"] = expiry("PT3600.5S") }, "scheduleInfo.expiration.duration"},
		{"below the minimum", func(b map[string]any) { b["scheduleInfo"] = expiry("PT1M") }, "scheduleInfo.expiration"},
		{"zero", func(b map[string]any) { b["scheduleInfo"] = expiry("PT0S") }, "scheduleInfo.expiration"},
		{"year one", func(b map[string]any) {
			b["scheduleInfo"] = map[string]any{"startDateTime": "0001-01-01T00:00:00Z", "expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}
		}, "scheduleInfo.startDateTime"},
		{"a year back", func(b map[string]any) {
			b["scheduleInfo"] = map[string]any{"startDateTime": time.Now().AddDate(-1, 0, 0).UTC().Format(time.RFC3339), "expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}
		}, "scheduleInfo.startDateTime"},
	} {
		b := base()
		c.edit(b)
		code, out, _ := steve.Do(context.Background(), "POST", assignReqs, b)
		if code != 400 || !strings.Contains(fmt.Sprint(out), c.field) {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, code, out, c.field)
		}
	}
	if st.Graph.HasRoleAssignment(user("steve"), stack.RoleHelpdeskAdmin, "/") {
		t.Fatal("a refused activation granted the role")
	}
}

// TestDeactivationSaysPendingUntilTheDirectoryConfirms: with Graph refusing
// deletes, selfDeactivate answers PendingProvisioning, the instance stays
// listed, the audit says so; once Graph works the sweep finishes it.
func TestDeactivationSaysPendingUntilTheDirectoryConfirms(t *testing.T) {
	defer advance(t, 0)
	defer st.Graph.ClearFaults()
	stan := as(t, "stan", true)
	dev := stack.GroupID(st.Tenant, "PAG-DEV-TEAM")
	act := must(t, stan, 201, "POST", groupAssignReqs, map[string]any{"action": "selfActivate", "principalId": user("stan"), "groupId": dev,
		"accessId": "member", "justification": "deploy", "scheduleInfo": expiry("PT2H")})
	if act["status"] != "Provisioned" {
		t.Fatalf("activation: %v", act)
	}
	st.Graph.AddFault(graphsim.Fault{Method: "DELETE", PathPrefix: "/groups", Status: 503})
	de := must(t, stan, 201, "POST", groupAssignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("stan"), "groupId": dev, "accessId": "member"})
	if de["status"] != "PendingProvisioning" {
		t.Fatalf("deactivation with Graph failing answered %v, want PendingProvisioning", de["status"])
	}
	if !st.Graph.InGroup(dev, "member", user("stan")) {
		t.Fatal("setup: the fault did not hold the membership")
	}
	inst := must(t, stan, 200, "GET", "identityGovernance/privilegedAccess/group/assignmentScheduleInstances/filterByCurrentUser(on='principal')", nil)
	if len(inst["value"].([]any)) == 0 {
		t.Fatal("the instance disappeared while the directory still holds the membership")
	}
	audit := must(t, as(t, "gina", true), 200, "GET", "auditLogs/directoryAudits?$top=20", nil)
	if !strings.Contains(fmt.Sprint(audit), "request.removalPending") {
		t.Fatal("no audit record says the removal is pending")
	}
	st.Graph.ClearFaults()
	advance(t, time.Hour)
	for i := 0; i < 2; i++ {
		if _, err := st.RunTimer(context.Background(), "expirySweep"); err != nil {
			t.Fatal(err)
		}
	}
	got := must(t, stan, 200, "GET", groupAssignReqs+"/"+de["id"].(string), nil)
	if got["status"] != "Revoked" || st.Graph.InGroup(dev, "member", user("stan")) {
		t.Fatalf("after the sweep: %v, member %v", got["status"], st.Graph.InGroup(dev, "member", user("stan")))
	}
}

// TestConcurrentDuplicatesGetTheRightAnswer: of concurrent activations of
// one eligibility one wins and the others get 409; concurrent deliveries of
// one signed webhook all get the one request.
func TestConcurrentDuplicatesGetTheRightAnswer(t *testing.T) {
	stan := as(t, "stan", true)
	dev := stack.GroupID(st.Tenant, "PAG-DEV-TEAM")
	body := map[string]any{"action": "selfActivate", "principalId": user("stan"), "groupId": dev, "accessId": "member",
		"justification": "race", "scheduleInfo": expiry("PT1H")}
	const n = 12
	codes := make([]int, n)
	statuses := make([]any, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, out, err := stan.Do(context.Background(), "POST", groupAssignReqs, body)
			if err != nil {
				t.Error(err)
			}
			codes[i], statuses[i] = code, out["status"]
		}(i)
	}
	wg.Wait()
	won := 0
	for i := range codes {
		switch {
		case codes[i] == 201 && statuses[i] == "Provisioned":
			won++
		case codes[i] == 409:
		default:
			t.Errorf("caller %d: %d %v, want 201 Provisioned or 409", i, codes[i], statuses[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d winners: %v", won, codes)
	}
	must(t, stan, 201, "POST", groupAssignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("stan"), "groupId": dev, "accessId": "member"})

	hook := helpdeskHook(t, "INC0012346")
	hook["justification"] = "concurrent webhook deliveries"
	ids := make([]any, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, out := webhook(t, st.WebhookSecret, hook)
			if code/100 != 2 {
				t.Errorf("delivery %d: %d %v", i, code, out)
			}
			ids[i] = out["requestId"]
		}(i)
	}
	wg.Wait()
	for i := range ids {
		if ids[i] == nil || ids[i] != ids[0] {
			t.Fatalf("deliveries got different requests: %v", ids)
		}
	}
	hook["action"] = "deactivate"
	delete(hook, "duration")
	if code, out := webhook(t, st.WebhookSecret, hook); code/100 != 2 {
		t.Fatalf("deactivate: %d %v", code, out)
	}
}

// TestInputThatMustBeRefused: control characters in free text, a null
// PATCH body, approval with no approvers, a setting jitpim does not honour.
func TestInputThatMustBeRefused(t *testing.T) {
	gina := as(t, "gina", true)
	for _, c := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"NUL in a justification", "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
			"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "ok\x00<script>", "scheduleInfo": expiry("P1D")}, "justification"},
		{"bell in a ticket number", "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
			"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "x", "ticketInfo": map[string]any{"ticketNumber": "INC\a1"}, "scheduleInfo": expiry("P1D")}, "ticketNumber"},
		{"right-to-left override", "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
			"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "x\u202Egnp.exe", "scheduleInfo": expiry("P1D")}, "justification"},
		{"null policy body", "PATCH", "policies/roleManagementPolicies/DirectoryRole_" + stack.RoleExchangeAdmin, nil, "body"},
		{"null rule body", "PATCH", "policies/roleManagementPolicies/DirectoryRole_" + stack.RoleExchangeAdmin + "/rules/Expiration_EndUser_Assignment", nil, "body"},
		{"activation that never expires", "PATCH", "policies/roleManagementPolicies/DirectoryRole_" + stack.RoleExchangeAdmin + "/rules/Expiration_EndUser_Assignment",
			map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "isExpirationRequired": false}, "isExpirationRequired"},
		{"approval with nobody to approve", "PATCH", "policies/roleManagementPolicies/DirectoryRole_" + stack.RoleExchangeAdmin + "/rules/Approval_EndUser_Assignment",
			map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "setting": map[string]any{"isApprovalRequired": true,
				"approvalMode": "SingleStage", "approvalStages": []any{map[string]any{"approvalStageTimeOutInDays": 1, "primaryApprovers": []any{}}}}}, "primaryApprovers"},
		{"control character in a policy description", "PATCH", "policies/roleManagementPolicies/DirectoryRole_" + stack.RoleExchangeAdmin,
			map[string]any{"description": "line\x1b[31m"}, "description"},
	} {
		var code int
		var out map[string]any
		if c.body == nil {
			code, out = rawDo(t, gina, c.method, c.path, "null")
		} else {
			code, out, _ = gina.Do(context.Background(), c.method, c.path, c.body)
		}
		if code != 400 || !strings.Contains(fmt.Sprint(out), c.field) {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, code, out, c.field)
		}
	}
}

// rawDo sends a raw JSON body (Client.Do marshals a Go value).
func rawDo(t *testing.T, c *stack.Client, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, st.HostURL+"/api/"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestOverRequestsShowNoDecision: a canceled request's approval stage is
// over in the API, and its mailed link shows no form (also for HEAD).
func TestOverRequestsShowNoDecision(t *testing.T) {
	rita, alice := as(t, "rita", true), as(t, "alice", true)
	req := must(t, rita, 201, "POST", assignReqs, activation("rita", stack.RoleGlobalAdmin, "PT1H"))
	if req["status"] != "PendingApproval" {
		t.Fatalf("request: %v", req)
	}
	link := linkFor(t, "alice", "Approval needed")
	must(t, rita, 204, "POST", assignReqs+"/"+req["id"].(string)+"/cancel", nil)
	appr := must(t, alice, 200, "GET", "roleManagement/directory/roleAssignmentApprovals/"+req["approvalId"].(string), nil)
	if s := appr["steps"].([]any)[0].(map[string]any)["status"]; s == "InProgress" {
		t.Fatalf("a canceled request's stage is still %v", s)
	}
	res, err := http.Head(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 404 || res.StatusCode == 405 {
		t.Fatalf("HEAD on a mailed link: %d, want the GET answer", res.StatusCode)
	}
	b := newBrowser(t, user("alice"), true)
	_, page := b.get(link)
	if m := signRE.FindStringSubmatch(page); m != nil {
		_, page = b.get(st.HostURL + strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if strings.Contains(page, `value="Approve"`) || !strings.Contains(page, "canceled") {
		t.Fatalf("the link of a canceled request still offers a decision:\n%s", page)
	}
}

// TestDeactivateWebhookChecksItsTicket: a deactivate webhook citing a ticket
// that does not name the requester is refused and ends nothing.
func TestDeactivateWebhookChecksItsTicket(t *testing.T) {
	steve := as(t, "steve", true)
	act := must(t, steve, 201, "POST", assignReqs, activation("steve", stack.RoleHelpdeskAdmin, "PT1H"))
	if act["status"] != "Provisioned" {
		t.Fatalf("activation: %v", act)
	}
	defer must(t, steve, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("steve"),
		"roleDefinitionId": stack.RoleHelpdeskAdmin, "directoryScopeId": "/"})
	other := helpdeskHook(t, "INC0012345") // Adam's ticket, not Steve's
	other["action"] = "deactivate"
	delete(other, "duration")
	code, out := webhook(t, st.WebhookSecret, other)
	if code/100 == 2 || !strings.Contains(fmt.Sprint(out), "INC0012345") {
		t.Fatalf("a deactivation citing someone else's ticket was accepted: %d %v", code, out)
	}
	if !st.Graph.HasRoleAssignment(user("steve"), stack.RoleHelpdeskAdmin, "/") {
		t.Fatal("a deactivation citing someone else's ticket ended the activation")
	}
}

// TestAdminWritesNeedMFA: an administrator's token without MFA can read but
// not change assignments or policies.
func TestAdminWritesNeedMFA(t *testing.T) {
	gina := as(t, "gina", false)
	code, out, _ := gina.Do(context.Background(), "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("sam"),
		"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "x", "scheduleInfo": expiry("P1D")})
	if code != 403 || !strings.Contains(fmt.Sprint(out), "multi-factor") {
		t.Fatalf("admin assignment without MFA: %d %v", code, out)
	}
	code, out, _ = gina.Do(context.Background(), "PATCH", "policies/roleManagementPolicies/DirectoryRole_"+stack.RoleExchangeAdmin, map[string]any{"description": "changed without MFA"})
	if code != 403 || !strings.Contains(fmt.Sprint(out), "multi-factor") {
		t.Fatalf("policy change without MFA: %d %v", code, out)
	}
	must(t, gina, 200, "GET", "auditLogs/directoryAudits?$top=1", nil)
}

// TestIDFieldsOfPoliciesAndReviewsAreCanonical: the id-bearing fields of
// the other write endpoints (approvers of an approval rule, the scope and
// reviewers of an access review) are stored canonically whatever their
// spelling, and a non-GUID is refused naming the field.
func TestIDFieldsOfPoliciesAndReviewsAreCanonical(t *testing.T) {
	gina := as(t, "gina", true)
	rule := "policies/roleManagementPolicies/DirectoryRole_" + roleSecurityAdm + "/rules/Approval_EndUser_Assignment"
	approval := func(userID string) map[string]any {
		return map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "setting": map[string]any{
			"isApprovalRequired": true, "approvalMode": "SingleStage", "approvalStages": []any{map[string]any{"approvalStageTimeOutInDays": 1,
				"primaryApprovers": []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": userID}}}}}}
	}
	defer gina.Do(context.Background(), "PATCH", rule, map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
		"setting": map[string]any{"isApprovalRequired": false, "approvalMode": "NoApproval", "approvalStages": []any{}}})
	must(t, gina, 200, "PATCH", rule, approval(strings.ToUpper(user("alice"))))
	got := must(t, gina, 200, "GET", rule, nil)
	if s := fmt.Sprint(got); !strings.Contains(s, user("alice")) || strings.Contains(s, strings.ToUpper(user("alice"))) {
		t.Fatalf("approver not stored canonically: %v", got)
	}
	code, out, _ := gina.Do(context.Background(), "PATCH", rule, approval("{"+user("alice")+"}"))
	if code != 400 || !strings.Contains(fmt.Sprint(out), "userId") {
		t.Fatalf("approver in braces: %d %v", code, out)
	}

	def := must(t, gina, 201, "POST", reviewDefs, map[string]any{
		"displayName": "Security Administrators (spelling test)",
		"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + strings.ToUpper(roleSecurityAdm), "queryType": "MicrosoftGraph"}}},
		"reviewers": []any{map[string]any{"query": "/users/" + strings.ToUpper(user("alice")), "queryType": "MicrosoftGraph"}},
		"settings":  map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Approve", "instanceDurationInDays": 1},
	})
	defer gina.Do(context.Background(), "DELETE", reviewDefs+"/"+def["id"].(string), nil)
	if s := fmt.Sprint(def); !strings.Contains(s, user("alice")) || !strings.Contains(s, roleSecurityAdm) ||
		strings.Contains(s, strings.ToUpper(user("alice"))) || strings.Contains(s, strings.ToUpper(roleSecurityAdm)) {
		t.Fatalf("review definition ids not canonical: %v", def)
	}
}
