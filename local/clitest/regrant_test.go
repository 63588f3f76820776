package clitest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/cli"
	"github.com/jitpim/jitpim/shared/domain"
)

const helpdeskRole = "729827e3-9c14-49f7-bb1b-9608f156bbb8"

// TestConfigApplyRefusesToRegrantAnAdminRemoval: an administrator removes
// Steve's Helpdesk Administrator eligibility, which the demo file lists.
// Plan names the removal (who, when, which request); apply refuses and
// changes nothing; apply --allow-regrant gives it back with a justification
// that records the override, in the request and in the audit log.
func TestConfigApplyRefusesToRegrantAnAdminRemoval(t *testing.T) {
	h := newHarness(t)
	h.must("gina", "config", "apply", demoFile)
	ctx := context.Background()
	alice := cli.NewClient(h.api.URL+"/api", h.token("alice", true))
	steve := h.user("steve")
	var removal struct {
		ID string `json:"id"`
	}
	if err := alice.Call(ctx, "POST", "roleManagement/directory/roleEligibilityScheduleRequests", map[string]any{"action": "adminRemove",
		"principalId": steve, "roleDefinitionId": helpdeskRole, "directoryScopeId": "/", "justification": "moved to the network team"}, nil, &removal); err != nil {
		t.Fatal(err)
	}
	eligible := func() bool {
		var out struct {
			Value []any `json:"value"`
		}
		if err := alice.Call(ctx, "GET", "roleManagement/directory/roleEligibilitySchedules?$filter=principalId%20eq%20'"+steve+"'%20and%20roleDefinitionId%20eq%20'"+helpdeskRole+"'", nil, nil, &out); err != nil {
			t.Fatal(err)
		}
		return len(out.Value) > 0
	}
	if eligible() {
		t.Fatal("the removal did not take")
	}

	plan := h.must("gina", "config", "plan", demoFile)
	for _, want := range []string{
		"+ steve: eligible for role Helpdesk Administrator: P180D  [refused: pass --allow-regrant to re-grant]",
		"! re-grants what alice (" + h.user("alice") + ") removed at ",
		"(request " + removal.ID + "), justification \"moved to the network team\"",
		"1 addition(s) re-grant access that was removed (marked !): apply refuses them without --allow-regrant.",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	var jp struct {
		Changes []struct {
			Subject string `json:"subject"`
			Regrant *struct {
				RequestID string `json:"requestId"`
				By        string `json:"by"`
				At        string `json:"at"`
			} `json:"regrant"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(h.must("gina", "config", "plan", demoFile, "--json")), &jp); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range jp.Changes {
		if c.Regrant != nil {
			found = c.Regrant.RequestID == removal.ID && c.Regrant.By == h.user("alice") && c.Regrant.At != "" && strings.HasPrefix(c.Subject, "steve:")
		}
	}
	if !found {
		t.Fatalf("plan --json has no regrant for steve: %+v", jp)
	}

	audits := h.auditCount()
	r := h.run("gina", "config", "apply", demoFile)
	if r.code != cli.ExitRefused || !strings.Contains(r.stderr, "apply refused, nothing was changed: 1 addition(s) would re-grant") ||
		!strings.Contains(r.stderr, "--allow-regrant") || strings.Contains(r.stdout, "Applying") {
		t.Fatalf("apply without --allow-regrant: %+v", r)
	}
	if eligible() || h.auditCount() != audits {
		t.Fatal("a refused apply changed something")
	}

	out := h.must("gina", "config", "apply", demoFile, "--allow-regrant")
	if !strings.Contains(out, "[re-grant allowed by --allow-regrant]") || !strings.Contains(out, "Applied: 1 added, 0 changed, 0 removed.") {
		t.Fatalf("apply --allow-regrant: %s", out)
	}
	if !eligible() {
		t.Fatal("apply --allow-regrant did not give the eligibility back")
	}
	p, err := h.store.ListAudit(ctx, domain.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, rec := range p.Items {
		if rec.Action == "request.create" && string(rec.PrincipalID) == steve && rec.Details["action"] == "adminAssign" &&
			strings.Contains(rec.Reason, "--allow-regrant: undoes the removal by alice") && strings.Contains(rec.Reason, removal.ID) {
			audited = true
		}
	}
	if !audited {
		t.Fatal("no audit record of the re-grant naming the override")
	}
	if out := h.must("gina", "config", "plan", demoFile); !strings.Contains(out, "No changes: the live state matches the file.") {
		t.Fatalf("plan after the re-grant:\n%s", out)
	}
}
