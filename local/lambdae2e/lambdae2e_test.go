// Package lambdae2e replays jitpim's end-to-end flows as AWS Lambda events:
// the real handler binary runs under the Runtime API emulator
// (local/lambdaemu), HTTP reaches it through the emulator's Function URL
// front, timers run from EventBridge Scheduler inputs, and its storage
// connection comes from a stand-in for the Parameters and Secrets
// extension, against the same Azurite, Graph simulator and dev issuer as
// local/e2e.
package lambdae2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/lambdaemu"
	"github.com/jitpim/jitpim/local/stack"
)

var (
	st        *stack.Stack
	emu       *lambdaemu.Emulator
	clockFile string
	secretHit bool
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, _ := filepath.Abs("../..")
	bin, err := os.MkdirTemp("", "jitpim-lambdae2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bin)
	// Exactly local/e2e's build of the handler, so the two share Go's build
	// cache: the Graph SDK is compiled once for both.
	build := []string{"build", "-race", "-tags", "testclock", "-o", filepath.Join(bin, "jitpim"), "./functions"}
	cmd := exec.Command("go", build...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go %v: %v\n%s", build, err, out)
		return 1
	}
	clockFile = filepath.Join(bin, "clock")
	if err := os.WriteFile(clockFile, []byte("0"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logs := &stack.LogBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err = stack.Start(ctx, stack.Options{Root: root, HandlerBinary: filepath.Join(bin, "jitpim"),
		TenantFile: filepath.Join(root, "local", "demo", "tenant.json"), Output: logs,
		Env:    []string{"JITPIM_TEST_CLOCK_FILE=" + clockFile},
		Launch: launcher(filepath.Join(bin, "jitpim"), logs)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "stack: %v\n%s", err, logs.String())
		return 1
	}
	if err := st.Seed(ctx); err != nil {
		st.Close()
		fmt.Fprintf(os.Stderr, "seed: %v\n%s", err, logs.String())
		return 1
	}
	code := m.Run()
	st.Close()
	if code != 0 || os.Getenv("JITPIM_E2E_LOGS") != "" {
		l := logs.String()
		if len(l) > 20000 {
			l = l[len(l)-20000:]
		}
		fmt.Fprintf(os.Stderr, "---- stack logs ----\n%s", l)
	}
	if strings.Contains(logs.String(), "WARNING: DATA RACE") {
		fmt.Fprintln(os.Stderr, "the handler process reported a data race")
		return 1
	}
	return code
}

// launcher starts the handler as AWS would: under the Runtime API, its
// storage connection string not in its environment but in a secret served
// by a stand-in for the Parameters and Secrets extension.
func launcher(binary string, out *stack.LogBuffer) func(context.Context, []string, string) (func(), error) {
	return func(ctx context.Context, env []string, addr string) (func(), error) {
		const token = "session-token-of-this-environment"
		secret := map[string]string{}
		var keep []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AzureWebJobsStorage="); ok {
				secret["AzureWebJobsStorage"] = v
				continue
			}
			keep = append(keep, kv)
		}
		secretJSON, _ := json.Marshal(secret)
		ext, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		extSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Aws-Parameters-Secrets-Token") != token || r.URL.Query().Get("secretId") != "jitpim/settings" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			secretHit = true
			b, _ := json.Marshal(map[string]string{"Name": "jitpim/settings", "SecretString": string(secretJSON)})
			_, _ = w.Write(b)
		})}
		go func() { _ = extSrv.Serve(ext) }()
		_, port, _ := net.SplitHostPort(ext.Addr().String())
		keep = append(keep, "JITPIM_AWS_SECRET_ID=jitpim/settings", "AWS_SESSION_TOKEN="+token,
			"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="+port)

		emu, err = lambdaemu.New(2 * time.Minute)
		if err != nil {
			_ = extSrv.Close()
			return nil, err
		}
		if err := emu.Start(binary, keep, out); err != nil {
			emu.Close()
			_ = extSrv.Close()
			return nil, err
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			emu.Close()
			_ = extSrv.Close()
			return nil, err
		}
		front := &http.Server{Handler: emu.FunctionURL(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = front.Serve(l) }()
		return func() {
			_ = front.Close()
			emu.Close()
			_ = extSrv.Close()
		}, nil
	}
}

func as(t *testing.T, alias string, mfa bool) *stack.Client { return st.MustAs(t, alias, mfa) }

func must(t *testing.T, c *stack.Client, want int, method, path string, body any) map[string]any {
	t.Helper()
	return c.Must(t, want, method, path, body)
}

func user(alias string) string { return stack.UserID(st.Tenant, alias) }

// timer runs a timer as its EventBridge Scheduler schedule does.
func timer(t *testing.T, name string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := emu.Invoke(ctx, []byte(`{"timer":"`+name+`"}`))
	if err != nil {
		t.Fatalf("timer %s: %v", name, err)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("timer %s: %s", name, out)
	}
	return res
}

const assignReqs = "roleManagement/directory/roleAssignmentScheduleRequests"

func activation(alias, role, dur string) map[string]any { return st.Activation(alias, role, dur) }

// TestActivation: an eligible user activates through a Function URL event
// with a bearer token from the dev issuer; the role is in the directory.
func TestActivation(t *testing.T) {
	if !secretHit {
		t.Fatal("the handler never read its storage connection from the secrets extension")
	}
	gina, adam := as(t, "gina", true), as(t, "adam", true)
	must(t, gina, 201, "POST", "roleManagement/directory/roleEligibilityScheduleRequests", map[string]any{"action": "adminAssign",
		"principalId": user("adam"), "roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/", "justification": "mailbox migrations",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P90D"}}})
	act := must(t, adam, 201, "POST", assignReqs, activation("adam", stack.RoleExchangeAdmin, "PT1H"))
	if act["status"] != "Provisioned" || !st.Graph.HasRoleAssignment(user("adam"), stack.RoleExchangeAdmin, "/") {
		t.Fatalf("activation: %v", act)
	}
	// No token, no access: the Function URL is public, the app is not.
	code, _, _ := (&stack.Client{Stack: st}).Do(context.Background(), "GET", assignReqs, nil)
	if code != 401 {
		t.Fatalf("anonymous request: %d", code)
	}
	must(t, adam, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("adam"),
		"roleDefinitionId": stack.RoleExchangeAdmin, "directoryScopeId": "/"})
}

// TestApproval: Global Administrator waits for Alice's approval, given
// through the API, and is then provisioned.
func TestApproval(t *testing.T) {
	rita, alice := as(t, "rita", true), as(t, "alice", true)
	req := must(t, rita, 201, "POST", assignReqs, activation("rita", stack.RoleGlobalAdmin, "PT1H"))
	if req["status"] != "PendingApproval" || st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("request: %v", req)
	}
	id := req["approvalId"].(string)
	appr := must(t, alice, 200, "GET", "roleManagement/directory/roleAssignmentApprovals/"+id, nil)
	step := appr["steps"].([]any)[0].(map[string]any)["id"].(string)
	must(t, alice, 204, "PATCH", "roleManagement/directory/roleAssignmentApprovals/"+id+"/steps/"+step,
		map[string]any{"reviewResult": "Approve", "justification": "outage bridge confirmed"})
	got := must(t, rita, 200, "GET", assignReqs+"/"+req["id"].(string), nil)
	if got["status"] != "Provisioned" || !st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("after approval: %v", got)
	}
	must(t, rita, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("rita"),
		"roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/"})
}

// TestSweep: an activation ends through the expirySweep timer, run by the
// EventBridge Scheduler input {"timer":"expirySweep"}.
func TestSweep(t *testing.T) {
	defer advance(t, 0)
	steve := as(t, "steve", true)
	group := stack.GroupID(st.Tenant, "PAG-SERVICE-DESK-L2")
	out := must(t, steve, 201, "POST", "identityGovernance/privilegedAccess/group/assignmentScheduleRequests", map[string]any{
		"action": "selfActivate", "principalId": user("steve"), "groupId": group, "accessId": "member", "justification": "password reset queue",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}})
	if out["status"] != "Provisioned" || !st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatalf("activation: %v", out)
	}
	advance(t, 30*time.Minute)
	if res := timer(t, "expirySweep"); res["timer"] != "expirySweep" || !st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatalf("swept before the end: %v", res)
	}
	advance(t, 61*time.Minute)
	res := timer(t, "expirySweep")
	if st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatalf("still a member after the sweep: %v", res)
	}
	// The other timers run from their inputs too; an unknown name fails the
	// invocation, so Scheduler's retry policy and alarms see it.
	for _, name := range []string{"reminders", "accessReviews"} {
		timer(t, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := emu.Invoke(ctx, []byte(`{"timer":"nope"}`)); err == nil {
		t.Fatal("an unknown timer must fail the invocation")
	}
}

func advance(t *testing.T, d time.Duration) {
	t.Helper()
	if err := os.WriteFile(clockFile, []byte(fmt.Sprint(int64(d/time.Second))), 0o600); err != nil {
		t.Fatal(err)
	}
}
