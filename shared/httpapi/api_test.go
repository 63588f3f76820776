package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/memstore"
)

const (
	audience = "api://jitpim"
	admin    = "aaaaaaaa-0000-0000-0000-000000000001"
	alice    = "aaaaaaaa-0000-0000-0000-000000000002"
	bob      = "aaaaaaaa-0000-0000-0000-000000000003"
	carol    = "aaaaaaaa-0000-0000-0000-000000000004"
	ga       = domain.RoleGlobalAdministrator
	exch     = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	pag      = "bbbbbbbb-0000-0000-0000-000000000001"
)

type env struct {
	t     *testing.T
	api   *httptest.Server
	iss   *devissuer.Issuer
	store *memstore.Store
	dir   *fakedir.Dir
}

// newIssuer starts a dev issuer and a verifier that trusts it.
func newIssuer(t *testing.T) (*devissuer.Issuer, *httptest.Server, *auth.Verifier) {
	t.Helper()
	var issH http.Handler
	issSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issH.ServeHTTP(w, r) }))
	t.Cleanup(issSrv.Close)
	iss, err := devissuer.New(issSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	issH = iss.Handler()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: issSrv.URL, Audience: audience}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return iss, issSrv, v
}

func newEnv(t *testing.T) *env {
	t.Helper()
	iss, _, v := newIssuer(t)
	e := &env{t: t, iss: iss, store: memstore.New(), dir: fakedir.New()}
	for _, u := range []domain.User{{ID: admin, Enabled: true}, {ID: alice, Enabled: true}, {ID: bob, Enabled: true}, {ID: carol, Enabled: false}} {
		e.dir.AddUser(u)
	}
	if _, _, err := e.dir.AddRoleAssignment(context.Background(), admin, ga, "/"); err != nil {
		t.Fatal(err)
	}
	svc := newServices(e.store, e.dir, engine.Config{MFAFreshness: 15 * time.Minute, ApproverMFA: true}, nil)
	e.api = httptest.NewServer(httpapi.New(svc.api(), v, time.Now, slog.New(slog.DiscardHandler)))
	t.Cleanup(e.api.Close)
	return e
}

func (e *env) token(oid string, mfa bool) string {
	e.t.Helper()
	tok, err := e.iss.Mint(devissuer.TokenRequest{ObjectID: oid, Audience: audience, MFA: mfa})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// do sends a request; body may be a string (sent as is) or a value (JSON).
func (e *env) do(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.api.URL+strings.ReplaceAll(path, " ", "%20"), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(res.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %s", method, path, data)
		}
	}
	return res.StatusCode, out
}

func (e *env) must(want int, method, path, token string, body any) map[string]any {
	e.t.Helper()
	got, out := e.do(method, path, token, body)
	if got != want {
		e.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, out)
	}
	return out
}

const (
	eligReqs   = "/api/roleManagement/directory/roleEligibilityScheduleRequests"
	assignReqs = "/api/roleManagement/directory/roleAssignmentScheduleRequests"
)

func activation(principal string, role domain.ObjectID, dur string) map[string]any {
	return map[string]any{"action": "selfActivate", "principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/",
		"justification": "INC-1 mailbox outage", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": dur}}}
}

func (e *env) makeEligible(principal string, role domain.ObjectID) {
	e.t.Helper()
	e.must(201, "POST", eligReqs, e.token(admin, true), map[string]any{"action": "adminAssign", "principalId": principal,
		"roleDefinitionId": role, "directoryScopeId": "/", "justification": "on-call rota",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "noExpiration"}}})
}

func TestWalkthrough(t *testing.T) {
	e := newEnv(t)
	e.makeEligible(alice, ga)
	tok := e.token(alice, true)
	out := e.must(201, "POST", assignReqs, tok, activation(alice, ga, "PT1H"))
	if out["status"] != "Provisioned" || out["action"] != "selfActivate" {
		t.Fatalf("activation: %v", out)
	}
	if !e.dir.HasRole(alice, ga, "/") {
		t.Fatal("the directory does not show the role after activation")
	}
	list := e.must(200, "GET", "/api/roleManagement/directory/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')", tok, nil)
	vals := list["value"].([]any)
	if len(vals) != 1 || vals[0].(map[string]any)["assignmentType"] != "Activated" || vals[0].(map[string]any)["roleDefinitionId"] != string(ga) {
		t.Fatalf("instances: %v", list)
	}
	// A second activation while active is refused, not ignored.
	_, again := e.do("POST", assignReqs, tok, activation(alice, ga, "PT1H"))
	if !strings.Contains(errMsg(again), "already active") {
		t.Fatalf("second activation: %v", again)
	}
	de := e.must(201, "POST", assignReqs, tok, map[string]any{"action": "SelfDeactivate", "principalId": alice, "roleDefinitionId": ga, "directoryScopeId": "/"})
	if de["status"] != "Revoked" {
		t.Fatalf("deactivate: %v", de)
	}
	if e.dir.HasRole(alice, ga, "/") {
		t.Fatal("role still assigned after deactivation")
	}
	list = e.must(200, "GET", "/api/roleManagement/directory/roleAssignmentScheduleInstances?$filter=principalId eq '"+alice+"'", tok, nil)
	if len(list["value"].([]any)) != 0 {
		t.Fatalf("instances after deactivation: %v", list)
	}
	audit := e.must(200, "GET", "/api/auditLogs/directoryAudits?$top=100", e.token(admin, true), nil)
	acts := map[string]int{}
	for _, a := range audit["value"].([]any) {
		acts[a.(map[string]any)["activityDisplayName"].(string)]++
	}
	if acts["grant.add"] != 1 || acts["grant.remove"] != 1 || acts["request.create"] != 3 {
		t.Fatalf("audit actions: %v", acts)
	}
}

func TestApprovalFlow(t *testing.T) {
	e := newEnv(t)
	e.makeEligible(alice, ga)
	adm := e.token(admin, true)
	e.must(200, "PATCH", "/api/policies/roleManagementPolicies/DirectoryRole_"+string(ga)+"/rules/Approval_EndUser_Assignment", adm, map[string]any{
		"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "id": "Approval_EndUser_Assignment",
		"setting": map[string]any{"isApprovalRequired": true, "approvalMode": "SingleStage", "approvalStages": []any{map[string]any{
			"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
			"primaryApprovers": []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": bob}, map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": alice}}}}}})
	tok := e.token(alice, true)
	req := e.must(201, "POST", assignReqs, tok, activation(alice, ga, "PT1H"))
	if req["status"] != "PendingApproval" || req["approvalId"] == nil {
		t.Fatalf("request: %v", req)
	}
	if e.dir.HasRole(alice, ga, "/") {
		t.Fatal("access before approval")
	}
	id := req["approvalId"].(string)
	appr := e.must(200, "GET", "/api/roleManagement/directory/roleAssignmentApprovals/"+id, e.token(bob, true), nil)
	step := appr["steps"].([]any)[0].(map[string]any)
	if step["assignedToMe"] != true || step["status"] != "InProgress" {
		t.Fatalf("approval as bob: %v", appr)
	}
	stepPath := "/api/roleManagement/directory/roleAssignmentApprovals/" + id + "/steps/" + step["id"].(string)
	// Alice is listed as an approver but may not approve her own request.
	_, out := e.do("PATCH", stepPath, tok, map[string]any{"reviewResult": "Approve", "justification": "me"})
	if !strings.Contains(errMsg(out), "own request") {
		t.Fatalf("self-approval: %v", out)
	}
	// The approver's justification is required by this stage.
	code, out := e.do("PATCH", stepPath, e.token(bob, true), map[string]any{"reviewResult": "Approve"})
	if code != 400 || out["error"].(map[string]any)["target"] != "justification" {
		t.Fatalf("approval without justification: %d %v", code, out)
	}
	// An approver without MFA is refused.
	if code, _ := e.do("PATCH", stepPath, e.token(bob, false), map[string]any{"reviewResult": "Approve", "justification": "ok"}); code != 403 {
		t.Fatalf("approval without MFA: %d", code)
	}
	e.must(204, "PATCH", stepPath, e.token(bob, true), map[string]any{"reviewResult": "Approve", "justification": "outage confirmed"})
	got := e.must(200, "GET", assignReqs+"/"+req["id"].(string), tok, nil)
	if got["status"] != "Provisioned" || !e.dir.HasRole(alice, ga, "/") {
		t.Fatalf("after approval: %v", got)
	}
	if code, out := e.do("PATCH", stepPath, e.token(bob, true), map[string]any{"reviewResult": "Deny", "justification": "late"}); code != 409 || !strings.Contains(errMsg(out), "already decided") {
		t.Fatalf("second decision: %d %v", code, out)
	}
}

func TestGroupActivation(t *testing.T) {
	e := newEnv(t)
	adm := e.token(admin, true)
	base := "/api/identityGovernance/privilegedAccess/group/"
	e.must(201, "POST", base+"eligibilityScheduleRequests", adm, map[string]any{"action": "AdminAssign", "principalId": alice, "groupId": pag,
		"accessId": "member", "justification": "service desk", "scheduleInfo": map[string]any{"startDateTime": time.Now().UTC().Format(time.RFC3339),
			"expiration": map[string]any{"type": "AfterDuration", "duration": "P180D"}}})
	tok := e.token(alice, true)
	out := e.must(201, "POST", base+"assignmentScheduleRequests", tok, map[string]any{"action": "selfActivate", "principalId": alice, "groupId": pag,
		"accessId": "member", "justification": "ticket queue", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT2H"}}})
	if out["status"] != "Provisioned" || out["groupId"] != pag || !e.dir.InGroup(pag, "member", alice) {
		t.Fatalf("group activation: %v", out)
	}
	list := e.must(200, "GET", base+"assignmentScheduleInstances/filterByCurrentUser(on='principal')", tok, nil)
	if len(list["value"].([]any)) != 1 {
		t.Fatalf("group instances: %v", list)
	}
	// Group activations are capped at 8 hours.
	_, bad := e.do("PATCH", "/api/policies/roleManagementPolicies/Group_"+pag+"_member/rules/Expiration_EndUser_Assignment", adm,
		map[string]any{"maximumDuration": "PT10H"})
	if !strings.Contains(errMsg(bad), "8 hours") {
		t.Fatalf("group max: %v", bad)
	}
}

func errMsg(out map[string]any) string {
	if e, ok := out["error"].(map[string]any); ok {
		return e["message"].(string) + " [" + e["code"].(string) + "]"
	}
	return ""
}

// TestBadInput: every bad request gets a 4xx naming the problem, and
// nothing is written.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.makeEligible(alice, ga)
	adm := e.token(admin, true)
	e.must(200, "PATCH", "/api/policies/roleManagementPolicies/DirectoryRole_"+exch+"/rules/Enablement_EndUser_Assignment", adm,
		map[string]any{"enabledRules": []string{"MultiFactorAuthentication", "Justification", "Ticketing"}})
	e.makeEligible(alice, exch)
	tok := e.token(alice, true)
	with := func(m map[string]any, k string, v any) map[string]any {
		m[k] = v
		return m
	}
	expired, _ := e.iss.Mint(devissuer.TokenRequest{ObjectID: alice, Audience: audience, MFA: true, IssuedAt: time.Now().Add(-3 * time.Hour),
		Extra: map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}})
	stale, _ := e.iss.Mint(devissuer.TokenRequest{ObjectID: alice, Audience: audience, MFA: true, IssuedAt: time.Now().Add(-time.Hour)})
	parts := strings.Split(tok, ".")
	unsigned := parts[0] + "." + parts[1] + "."
	noneHeader := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		want                      string // in the message
		target                    string
	}{
		{"unknown action", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "action", "selfElevate"), 400, "unknown action", "action"},
		{"wrong enum case", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "action", "SELFACTIVATE"), 400, "unknown action", "action"},
		{"duration over max", "POST", assignReqs, tok, activation(alice, ga, "PT9H"), 400, "maximum activation of PT8H", "scheduleInfo.expiration.duration"},
		{"bad duration", "POST", assignReqs, tok, activation(alice, ga, "9 hours"), 400, "ISO 8601", "scheduleInfo.expiration.duration"},
		{"missing justification", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "justification", ""), 400, "requires a justification", "justification"},
		{"missing ticket", "POST", assignReqs, tok, activation(alice, exch, "PT1H"), 400, "requires a ticket", "ticketInfo.ticketNumber"},
		{"malformed JSON", "POST", assignReqs, tok, `{"action": "selfActivate",`, 400, "malformed JSON", "body"},
		{"unknown property", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "roleId", ga), 400, "not a property", "roleId"},
		{"wrong type", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "justification", 5), 400, "wrong type", "justification"},
		{"bad principal id", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "principalId", "alice@contoso.com"), 400, "GUID", "principalId"},
		{"bad expiration type", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "scheduleInfo", map[string]any{"expiration": map[string]any{"type": "afterMidnight"}}), 400, "unknown type", "scheduleInfo.expiration.type"},
		{"not eligible", "POST", assignReqs, e.token(bob, true), activation(bob, ga, "PT1H"), 403, "not eligible", ""},
		{"someone else", "POST", assignReqs, tok, activation(bob, ga, "PT1H"), 403, "your own access", ""},
		{"stale MFA", "POST", assignReqs, stale, activation(alice, ga, "PT1H"), 403, "older than", ""},
		{"no MFA", "POST", assignReqs, e.token(alice, false), activation(alice, ga, "PT1H"), 403, "multi-factor", ""},
		{"non-admin assign", "POST", eligReqs, tok, map[string]any{"action": "adminAssign", "principalId": bob, "roleDefinitionId": ga, "directoryScopeId": "/", "justification": "x"}, 403, "administrator", ""},
		{"disabled account", "POST", eligReqs, adm, map[string]any{"action": "adminAssign", "principalId": carol, "roleDefinitionId": ga, "directoryScopeId": "/", "justification": "x"}, 403, "disabled", ""},
		{"unknown request id", "GET", assignReqs + "/00000000-0000-0000-0000-00000000dead", tok, nil, 404, "does not exist", ""},
		{"unknown approval", "GET", "/api/roleManagement/directory/roleAssignmentApprovals/nope", tok, nil, 404, "does not exist", ""},
		{"unknown policy rule", "GET", "/api/policies/roleManagementPolicies/DirectoryRole_" + string(ga) + "/rules/Nope", adm, nil, 404, "no rule", ""},
		{"unknown path", "GET", "/api/roleManagement/directory/nothingHere", tok, nil, 404, "no resource", ""},
		{"bad filter", "GET", assignReqs + "?$filter=principalId ne 'x'", adm, nil, 400, "eq operator", "$filter"},
		{"bad filter field", "GET", assignReqs + "?$filter=justification eq 'x'", adm, nil, 400, "cannot filter", "$filter"},
		{"bad top", "GET", assignReqs + "?$top=5000", adm, nil, 400, "1 to 999", "$top"},
		{"others' requests", "GET", assignReqs, tok, nil, 403, "administrator", ""},
		{"policy over 24h", "PATCH", "/api/policies/roleManagementPolicies/DirectoryRole_" + string(ga) + "/rules/Expiration_EndUser_Assignment", adm, map[string]any{"maximumDuration": "PT25H"}, 400, "24 hours", "Expiration_EndUser_Assignment.maximumDuration"},
		{"policy by non-admin", "PATCH", "/api/policies/roleManagementPolicies/DirectoryRole_" + string(ga) + "/rules/Expiration_EndUser_Assignment", tok, map[string]any{"maximumDuration": "PT2H"}, 403, "administrator", ""},
		{"no token", "POST", assignReqs, "", activation(alice, ga, "PT1H"), 401, "", ""},
		{"expired token", "POST", assignReqs, expired, activation(alice, ga, "PT1H"), 401, "expired", ""},
		{"unsigned token", "POST", assignReqs, unsigned, activation(alice, ga, "PT1H"), 401, "", ""},
		{"alg none token", "POST", assignReqs, noneHeader, activation(alice, ga, "PT1H"), 401, "", ""},
		{"garbage token", "POST", assignReqs, "not-a-jwt", activation(alice, ga, "PT1H"), 401, "", ""},
		{"huge body", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "justification", strings.Repeat("x", 70000)), 413, "larger than", ""},
		{"long justification", "POST", assignReqs, tok, with(activation(alice, ga, "PT1H"), "justification", strings.Repeat("x", 501)), 400, "at most 500", "justification"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, e)
			code, out := e.do(c.method, c.path, c.token, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %v", code, c.status, out)
			}
			msg := errMsg(out)
			if msg == "" || !strings.Contains(msg, c.want) {
				t.Fatalf("message %q does not say %q", msg, c.want)
			}
			if c.target != "" && out["error"].(map[string]any)["target"] != c.target {
				t.Fatalf("target %v, want %q", out["error"].(map[string]any)["target"], c.target)
			}
			if after := snapshot(t, e); after != before {
				t.Fatalf("a refused request changed state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// snapshot summarises everything a request could write.
func snapshot(t *testing.T, e *env) string {
	ctx := context.Background()
	reqs, _ := e.store.ListRequests(ctx, domain.RequestQuery{Limit: 1000})
	scheds, _ := e.store.ListSchedules(ctx, domain.ScheduleQuery{IncludeEnded: true, Limit: 1000})
	audit, _ := e.store.ListAudit(ctx, domain.AuditQuery{Limit: 1000})
	pols, _ := e.store.ListPolicies(ctx)
	calls := e.dir.Calls()
	var polVersions []string
	for _, p := range pols {
		polVersions = append(polVersions, p.Version)
	}
	data, _ := json.Marshal([]any{len(reqs.Items), len(scheds.Items), len(audit.Items), polVersions, calls["AddRoleAssignment"], calls["RemoveRoleAssignment"], calls["AddGroupMember"], e.dir.RoleCount()})
	return string(data)
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	e.makeEligible(alice, ga)
	tok := e.token(alice, true)
	send := func(body any) (int, map[string]any) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", e.api.URL+assignReqs, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Idempotency-Key", "ticket-42")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	_, first := send(activation(alice, ga, "PT1H"))
	_, second := send(activation(alice, ga, "PT1H"))
	if first["id"] == nil || first["id"] != second["id"] || second["status"] != "Provisioned" {
		t.Fatalf("same key gave %v and %v", first["id"], second["id"])
	}
	code, third := send(map[string]any{"action": "selfDeactivate", "principalId": alice, "roleDefinitionId": ga, "directoryScopeId": "/"})
	if code != 409 || !strings.Contains(errMsg(third), "Idempotency-Key") {
		t.Fatalf("reused key for another request: %d %v", code, third)
	}
	if n := e.dir.Calls()["AddRoleAssignment"]; n != 2 { // the admin's own setup + one grant
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
}

func TestPolicyReadAndAssignments(t *testing.T) {
	e := newEnv(t)
	tok := e.token(alice, true)
	p := e.must(200, "GET", "/api/policies/roleManagementPolicies/DirectoryRole_"+string(ga)+"?$expand=rules", tok, nil)
	rules := p["rules"].([]any)
	if len(rules) != 17 {
		t.Fatalf("%d rules, want 17 (8 + 9 notification)", len(rules))
	}
	exp := e.must(200, "GET", "/api/policies/roleManagementPolicies/DirectoryRole_"+string(ga)+"/rules/Expiration_EndUser_Assignment", tok, nil)
	if exp["maximumDuration"] != "PT8H" || exp["@odata.type"] != "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule" {
		t.Fatalf("rule: %v", exp)
	}
	pa := e.must(200, "GET", "/api/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '"+string(ga)+"'", tok, nil)
	v := pa["value"].([]any)
	if len(v) != 1 || v[0].(map[string]any)["policyId"] != "DirectoryRole_"+string(ga) {
		t.Fatalf("policy assignments: %v", pa)
	}
	// Tier inheritance through the API.
	adm := e.token(admin, true)
	e.must(200, "PATCH", "/api/policies/roleManagementPolicies/Tier_L3", adm, map[string]any{"displayName": "L3", "tierTargets": []any{map[string]any{"roleDefinitionId": ga, "directoryScopeId": "/"}}})
	e.must(200, "PATCH", "/api/policies/roleManagementPolicies/Tier_L3/rules/Expiration_EndUser_Assignment", adm, map[string]any{"maximumDuration": "PT1H"})
	p = e.must(200, "GET", "/api/policies/roleManagementPolicies/DirectoryRole_"+string(ga)+"/rules/Expiration_EndUser_Assignment", tok, nil)
	if p["maximumDuration"] != "PT1H" {
		t.Fatalf("tier rule not inherited: %v", p)
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.dir.AddUser(domain.User{ID: domain.ObjectID(strings.Replace(bob, "3", string(rune('5'+i)), 1)), Enabled: true})
	}
	adm := e.token(admin, true)
	for i := 0; i < 5; i++ {
		e.makeEligible(strings.Replace(bob, "3", string(rune('5'+i)), 1), ga)
	}
	seen := 0
	next := eligReqs + "?$top=2"
	for i := 0; i < 10 && next != ""; i++ {
		out := e.must(200, "GET", strings.TrimPrefix(next, e.api.URL), adm, nil)
		seen += len(out["value"].([]any))
		next, _ = out["@odata.nextLink"].(string)
	}
	if seen != 5 {
		t.Fatalf("paged through %d requests, want 5", seen)
	}
}
