package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/local/stack"
)

// cliResult is one run of the handler binary as a command line.
type cliResult struct {
	code           int
	stdout, stderr string
}

// jitpim runs the real binary's command line against the stack's API as a
// demo user ("" = no token), with extra environment variables.
func jitpim(t *testing.T, alias string, mfa bool, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(handlerBinary, args...)
	var clean []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JITPIM_") && !strings.HasPrefix(kv, "AzureWebJobsStorage=") {
			clean = append(clean, kv)
		}
	}
	cmd.Env = append(clean, "JITPIM_API="+st.HostURL+"/api")
	tok := ""
	if alias != "" {
		var err error
		if tok, err = st.Token(user(alias), mfa); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "JITPIM_TOKEN="+tok)
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if tok != "" && (strings.Contains(out.String(), tok) || strings.Contains(errb.String(), tok)) {
		t.Fatalf("%v printed the token", args)
	}
	return cliResult{code, out.String(), errb.String()}
}

func mustCLI(t *testing.T, alias string, args ...string) string {
	t.Helper()
	r := jitpim(t, alias, true, nil, args...)
	if r.code != 0 {
		t.Fatalf("%s: jitpim %v: exit %d\n%s%s", alias, args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

var cliRequestID = regexp.MustCompile(`request ([0-9a-f-]{36})`)

// TestCLIActivationAndApproval drives README's walkthrough with the
// command line of the real binary: Rita asks for Global Administrator,
// Alice approves from her list, Rita deactivates; Stan activates his
// group. Refusals exit 1 with the API's message and target.
func TestCLIActivationAndApproval(t *testing.T) {
	if out := mustCLI(t, "rita", "roles"); !strings.Contains(out, "Global Administrator") || !strings.Contains(out, "permanent") {
		t.Fatalf("rita's roles: %s", out)
	}
	r := jitpim(t, "rita", true, nil, "activate", "Global Administrator", "--duration", "PT3H", "--justification", "x", "--ticket", "CHG0040001")
	if r.code != 1 || !strings.Contains(r.stderr, "PT1H") || !strings.Contains(r.stderr, "target: scheduleInfo.expiration.duration") {
		t.Fatalf("over the maximum: %+v", r)
	}
	if r := jitpim(t, "rita", true, nil, "activate", "Global Administrator"); r.code != 2 {
		t.Fatalf("usage error: %+v", r)
	}
	out := mustCLI(t, "rita", "activate", "Global Administrator", "--duration", "PT1H", "--justification", "tenant-wide CA policy change",
		"--ticket", "CHG0040001", "--ticket-system", "ServiceNow")
	m := cliRequestID.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "waiting for approval") || st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("activation: %s", out)
	}
	id := m[1]
	t.Cleanup(func() { // leave nothing pending or active for the other tests, whatever happened
		_, _, _ = as(t, "rita", true).Do(context.Background(), "POST", assignReqs+"/"+id+"/cancel", nil)
		jitpim(t, "rita", true, nil, "deactivate", "Global Administrator")
	})
	if out := mustCLI(t, "alice", "approvals"); !strings.Contains(out, id) || !strings.Contains(out, "ServiceNow CHG0040001") {
		t.Fatalf("alice's approvals: %s", out)
	}
	if r := jitpim(t, "rita", true, nil, "approve", id); r.code != 1 {
		t.Fatalf("self-approval: %+v", r)
	}
	if out := mustCLI(t, "alice", "approve", id, "--justification", "CAB approved CHG0040001"); !strings.Contains(out, "Approved request "+id) {
		t.Fatalf("approve: %s", out)
	}
	if !st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("Global Administrator not granted after approval")
	}
	var roles struct {
		Active []map[string]any `json:"active"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "rita", "roles", "--json")), &roles); err != nil || len(roles.Active) != 1 {
		t.Fatalf("roles --json: %v %v", err, roles)
	}
	if out := mustCLI(t, "rita", "deactivate", "Global Administrator"); !strings.Contains(out, "Revoked") {
		t.Fatalf("deactivate: %s", out)
	}
	if st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("Global Administrator still assigned after deactivation")
	}

	dev := stack.GroupID(st.Tenant, "PAG-DEV-TEAM")
	if out := mustCLI(t, "stan", "activate", "--group", dev, "--duration", "PT2H", "--justification", "deploy"); !strings.Contains(out, "is active until") {
		t.Fatalf("group activation: %s", out)
	}
	if !st.Graph.InGroup(dev, "member", user("stan")) {
		t.Fatal("stan is not a member after activation")
	}
	mustCLI(t, "stan", "deactivate", "--group", dev)
	if st.Graph.InGroup(dev, "member", user("stan")) {
		t.Fatal("stan is still a member after deactivation")
	}
	// Without MFA, the API refuses and nothing is granted.
	r = jitpim(t, "stan", false, nil, "activate", "--group", dev, "--duration", "PT1H", "--justification", "deploy")
	if r.code != 1 || !strings.Contains(r.stderr, "multi-factor") || st.Graph.InGroup(dev, "member", user("stan")) {
		t.Fatalf("without MFA: %+v", r)
	}
}

// TestCLIAuditCommands: the audit log as JSON lines through the API (an
// admin's token) and from the table, and the chain check.
func TestCLIAuditCommands(t *testing.T) {
	out := mustCLI(t, "gina", "audit", "export")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first map[string]any
	if len(lines) < 5 || json.Unmarshal([]byte(lines[0]), &first) != nil || first["loggedByService"] != "jitpim" {
		t.Fatalf("audit export through the API: %d lines, first %s", len(lines), lines[0])
	}
	if r := jitpim(t, "rita", true, nil, "audit", "export"); r.code != 1 || !strings.Contains(r.stderr, "403") {
		t.Fatalf("audit export as a non-admin: %+v", r)
	}
	table := []string{"AzureWebJobsStorage=" + st.Connection, "JITPIM_TABLE_PREFIX=" + st.TablePrefix}
	r := jitpim(t, "", false, table, "audit", "export")
	if r.code != 0 || !strings.Contains(r.stdout, `"hash":`) || !strings.Contains(r.stdout, `"prevHash":`) {
		t.Fatalf("audit export from the table: %+v", r)
	}
	r = jitpim(t, "", false, table, "audit", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "audit chain intact") {
		t.Fatalf("audit verify: %+v", r)
	}
	if r := jitpim(t, "gina", true, nil, "audit", "verify"); r.code != 2 || !strings.Contains(r.stderr, "AzureWebJobsStorage") {
		t.Fatalf("audit verify without the table: %+v", r)
	}
}
