// Package e2e drives the real handler binary through the local Functions
// host over HTTP, against Azurite, the Graph simulator and the development
// token issuer: the same stack `make run` starts.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/stack"
)

var (
	st            *stack.Stack
	handlerBinary string
	clockFile     string // the handler's test clock offset, in seconds
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin, err := os.MkdirTemp("", "jitpim-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bin)
	// The handler is built with -race, like the tests, so the Graph SDK is
	// compiled once for both and the real process is race-checked too.
	for _, b := range [][]string{
		{"build", "-race", "-tags", "testclock", "-o", filepath.Join(bin, "jitpim"), "./functions"},
		{"build", "-o", filepath.Join(bin, "jitpim-host"), "./local/host"},
	} {
		cmd := exec.Command("go", b...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %v: %v\n%s", b, err, out)
			return 1
		}
	}
	handlerBinary = filepath.Join(bin, "jitpim")
	clockFile = filepath.Join(bin, "clock")
	if err := os.WriteFile(clockFile, []byte("0"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logs := &bytes.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err = stack.Start(ctx, stack.Options{Root: root, HandlerBinary: filepath.Join(bin, "jitpim"), HostBinary: filepath.Join(bin, "jitpim-host"),
		TenantFile: filepath.Join(root, "local", "demo", "tenant.json"), Output: &lockedWriter{buf: logs},
		Env: []string{"JITPIM_TEST_CLOCK_FILE=" + clockFile}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "stack: %v\n%s", err, logs.String())
		return 1
	}
	if err := st.SeedAndStartReviews(ctx); err != nil {
		st.Close()
		fmt.Fprintf(os.Stderr, "%v\n%s", err, logs.String())
		return 1
	}
	code := m.Run()
	st.Close()
	if code != 0 || os.Getenv("JITPIM_E2E_LOGS") != "" {
		fmt.Fprintf(os.Stderr, "---- stack logs ----\n%s", tail(logs.String(), 20000))
	}
	if strings.Contains(logs.String(), "WARNING: DATA RACE") {
		fmt.Fprintln(os.Stderr, "the handler process reported a data race")
		return 1
	}
	return code
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func as(t *testing.T, alias string, mfa bool) *stack.Client { return st.MustAs(t, alias, mfa) }

func must(t *testing.T, c *stack.Client, want int, method, path string, body any) map[string]any {
	t.Helper()
	return c.Must(t, want, method, path, body)
}

func user(alias string) string { return stack.UserID(st.Tenant, alias) }

const (
	eligReqs   = "roleManagement/directory/roleEligibilityScheduleRequests"
	assignReqs = "roleManagement/directory/roleAssignmentScheduleRequests"
)

// TestWalkthrough is README's first walkthrough: an admin makes a user
// eligible, the user activates with MFA, the role appears in the directory,
// the user deactivates, and the role is gone.
func TestWalkthrough(t *testing.T) {
	gina, adam := as(t, "gina", true), as(t, "adam", true)
	must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("adam"),
		"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "mailbox migrations",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P90D"}}})
	// Without MFA the activation is refused and nothing is granted.
	code, out, _ := as(t, "adam", false).Do(context.Background(), "POST", assignReqs, activation("adam", stack.RoleExchangeAdmin, "PT1H"))
	if code != 403 || st.Graph.HasRoleAssignment(user("adam"), stack.RoleExchangeAdmin, "/") {
		t.Fatalf("activation without MFA: %d %v", code, out)
	}
	act := must(t, adam, 201, "POST", assignReqs, activation("adam", stack.RoleExchangeAdmin, "PT1H"))
	if act["status"] != "Provisioned" {
		t.Fatalf("activation: %v", act)
	}
	if !st.Graph.HasRoleAssignment(user("adam"), stack.RoleExchangeAdmin, "/") {
		t.Fatal("the Graph simulator has no role assignment after activation")
	}
	inst := must(t, adam, 200, "GET", "roleManagement/directory/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')", nil)
	if len(inst["value"].([]any)) != 1 {
		t.Fatalf("instances: %v", inst)
	}
	de := must(t, adam, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("adam"),
		"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/"})
	if de["status"] != "Revoked" || st.Graph.HasRoleAssignment(user("adam"), stack.RoleExchangeAdmin, "/") {
		t.Fatalf("deactivation: %v", de)
	}
}

// tickets of the ServiceNow demo data: each names its requester.
func activation(alias, role, dur string) map[string]any { return st.Activation(alias, role, dur) }

// TestApproval is README's second walkthrough: Global Administrator needs
// Alice's approval; Rita may not approve her own request.
func TestApproval(t *testing.T) {
	rita, alice := as(t, "rita", true), as(t, "alice", true)
	req := must(t, rita, 201, "POST", assignReqs, activation("rita", stack.RoleGlobalAdmin, "PT1H"))
	if req["status"] != "PendingApproval" || st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("request: %v", req)
	}
	id := req["approvalId"].(string)
	appr := must(t, alice, 200, "GET", "roleManagement/directory/roleAssignmentApprovals/"+id, nil)
	step := appr["steps"].([]any)[0].(map[string]any)["id"].(string)
	path := "roleManagement/directory/roleAssignmentApprovals/" + id + "/steps/" + step
	code, out, _ := rita.Do(context.Background(), "PATCH", path, map[string]any{"reviewResult": "Approve", "justification": "me"})
	if code != 403 || !strings.Contains(fmt.Sprint(out), "own request") {
		t.Fatalf("self-approval: %d %v", code, out)
	}
	must(t, alice, 204, "PATCH", path, map[string]any{"reviewResult": "Approve", "justification": "outage bridge confirmed"})
	got := must(t, rita, 200, "GET", assignReqs+"/"+req["id"].(string), nil)
	if got["status"] != "Provisioned" || !st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("after approval: %v", got)
	}
	must(t, rita, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("rita"),
		"roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/"})
	if st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("Global Administrator still assigned after deactivation")
	}
}

// TestGroupActivation: PIM for Groups, the God Mode group of the first seed document.
func TestGroupActivation(t *testing.T) {
	gina, stan := as(t, "gina", true), as(t, "stan", true)
	group := stack.GroupID(st.Tenant, "PAG-DEV-TEAM")
	_ = gina
	out := must(t, stan, 201, "POST", "identityGovernance/privilegedAccess/group/assignmentScheduleRequests", map[string]any{
		"action": "selfActivate", "principalId": user("stan"), "groupId": group, "accessId": "member", "justification": "deploy",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT2H"}}})
	if out["status"] != "Provisioned" || !st.Graph.InGroup(group, "member", user("stan")) {
		t.Fatalf("group activation: %v", out)
	}
	must(t, stan, 201, "POST", "identityGovernance/privilegedAccess/group/assignmentScheduleRequests", map[string]any{
		"action": "selfDeactivate", "principalId": user("stan"), "groupId": group, "accessId": "member"})
	if st.Graph.InGroup(group, "member", user("stan")) {
		t.Fatal("still a member after deactivation")
	}
}

// TestRefusalsThroughTheHost: bad input and forbidden targets come back as
// 4xx with a message, through the whole protocol path.
func TestRefusalsThroughTheHost(t *testing.T) {
	gina := as(t, "gina", true)
	cases := []struct {
		name string
		c    *stack.Client
		body any
		code int
		want string
	}{
		{"break-glass", gina, map[string]any{"action": "adminAssign", "principalId": user("bg1"), "roleDefinitionId": stack.RoleGlobalAdmin,
			"directoryScopeId": "/", "justification": "x"}, 403, "break-glass"},
		{"disabled account", gina, map[string]any{"action": "adminAssign", "principalId": user("derek"), "roleDefinitionId": stack.RoleExchangeAdmin,
			"directoryScopeId": "/", "justification": "x"}, 403, "disabled"},
		{"non-admin", as(t, "rita", true), map[string]any{"action": "adminAssign", "principalId": user("rita"), "roleDefinitionId": stack.RoleExchangeAdmin,
			"directoryScopeId": "/", "justification": "x"}, 403, "administrator"},
		{"unknown action", gina, map[string]any{"action": "adminGive", "principalId": user("rita"), "roleDefinitionId": stack.RoleExchangeAdmin}, 400, "unknown action"},
	}
	for _, c := range cases {
		code, out, err := c.c.Do(context.Background(), "POST", eligReqs, c.body)
		if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(fmt.Sprint(out), c.want) {
			t.Errorf("%s: %d %v, want %d with %q", c.name, code, out, c.code, c.want)
		}
	}
	// An unsigned token is refused by the handler, not the host.
	bad := &stack.Client{Stack: st, Token: "eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0."}
	if code, _, _ := bad.Do(context.Background(), "GET", assignReqs, nil); code != 401 {
		t.Fatalf("unsigned token: %d", code)
	}
}

// TestSweepTimer runs the expiry timer through the host's admin endpoint.
func TestSweepTimer(t *testing.T) {
	out, err := st.RunTimer(context.Background(), "expirySweep")
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if !strings.Contains(out, `\"Expired\":`) {
		t.Fatalf("sweep summary: %s", out)
	}
	audit := must(t, as(t, "gina", true), 200, "GET", "auditLogs/directoryAudits?$top=5", nil)
	if len(audit["value"].([]any)) == 0 {
		t.Fatal("no audit records")
	}
}

// TestAuditVerify runs the operator command on the stack's store: the chain
// verifies, and after one record is altered in the table it reports the
// break.
func TestAuditVerify(t *testing.T) {
	verify := func() (string, error) {
		cmd := exec.Command(handlerBinary, "audit-verify")
		cmd.Env = append(os.Environ(), "AzureWebJobsStorage="+st.Connection, "JITPIM_TABLE_PREFIX="+st.TablePrefix)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := verify()
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("verify: %v %s", err, out)
	}
	if err := tamperOneAuditRecord(st.Connection, st.TablePrefix); err != nil {
		t.Fatal(err)
	}
	out, err = verify()
	if err == nil || !strings.Contains(out, "audit chain broken at record") {
		t.Fatalf("tampering not reported: %v %s", err, out)
	}
}
