package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/local/stack"
)

const alertsAPI = "identityGovernance/roleManagementAlerts/"

// incidents returns an alert's incidents through the API.
func incidents(t *testing.T, c *stack.Client, alertID string) (map[string]any, []map[string]any) {
	t.Helper()
	a := must(t, c, 200, "GET", alertsAPI+"alerts/"+alertID+"?$expand=alertIncidents", nil)
	var out []map[string]any
	for _, i := range a["alertIncidents"].([]any) {
		out = append(out, i.(map[string]any))
	}
	return a, out
}

// breakGlassMails counts the mails to the admins about one sign-in.
func breakGlassMails(signInID string) int {
	n := 0
	for _, m := range st.Graph.Outbox() {
		if strings.Contains(m.Subject, "break-glass account signed in") && strings.Contains(m.Body, signInID) &&
			len(m.To) == 1 && m.To[0] == "security@jitpimdemo.onmicrosoft.com" {
			n++
		}
	}
	return n
}

// TestBreakGlassAndAlertsThroughTheHost: a sign-in of bg1 reaches the
// sign-in log; the breakGlassCheck timer (run through the host's admin
// endpoint, as the real host fires it) raises the alert, which the API
// shows in Graph's shape, and mails the admins once however often it runs.
// The daily alertScan reports Sam's Exchange Administrator, assigned
// outside PIM in the demo tenant, and leaves it in place (warn-only).
func TestBreakGlassAndAlertsThroughTheHost(t *testing.T) {
	ctx := context.Background()
	gina := as(t, "gina", true)
	must(t, as(t, "rita", true), 403, "GET", alertsAPI+"alerts", nil)

	signIn, err := st.Graph.AddSignIn(graphsim.SignIn{UserID: user("bg1"), IPAddress: "203.0.113.77", AppDisplayName: "Azure Portal"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.RunTimer(ctx, "breakGlassCheck")
	if err != nil {
		t.Fatalf("breakGlassCheck: %v %s", err, out)
	}
	a, incs := incidents(t, gina, "BreakGlassSignInAlert")
	var found map[string]any
	for _, inc := range incs {
		if inc["id"] == "signin:"+signIn {
			found = inc
		}
	}
	if a["isActive"] != true || a["scopeId"] != "/" || a["scopeType"] != "DirectoryRole" || a["lastScannedDateTime"] == nil || found == nil {
		t.Fatalf("break-glass alert: %v", a)
	}
	if found["assigneeId"] != user("bg1") || found["details"].(map[string]any)["ipAddress"] != "203.0.113.77" {
		t.Fatalf("incident: %v", found)
	}
	if n := breakGlassMails(signIn); n != 1 {
		t.Fatalf("%d admin mails about the sign-in, want 1", n)
	}
	// Duplicated runs (the real host can run a timer twice) mail nothing more.
	for range 2 {
		if out, err := st.RunTimer(ctx, "breakGlassCheck"); err != nil {
			t.Fatalf("breakGlassCheck again: %v %s", err, out)
		}
	}
	if n := breakGlassMails(signIn); n != 1 {
		t.Fatalf("%d admin mails after three runs, want 1", n)
	}

	out, err = st.RunTimer(ctx, "alertScan")
	if err != nil {
		t.Fatalf("alertScan: %v %s", err, out)
	}
	list := must(t, gina, 200, "GET", alertsAPI+"alerts?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'", nil)
	if len(list["value"].([]any)) != 10 {
		t.Fatalf("alerts: %v", list)
	}
	sam := user("sam")
	_, outside := incidents(t, gina, "RolesAssignedOutsidePimAlert")
	reported := false
	for _, inc := range outside {
		if inc["assigneeId"] == sam && inc["roleDefinitionId"] == stack.RoleExchangeAdmin && inc["directoryScopeId"] == "/" {
			reported = true
		}
		for _, bg := range stack.BreakGlassIDs(st.Tenant) {
			if inc["assigneeId"] == bg {
				t.Fatalf("a break-glass account reported as outside PIM: %v", inc)
			}
		}
	}
	if !reported {
		t.Fatalf("Sam's Exchange Administrator not reported: %v", outside)
	}
	if !st.Graph.HasRoleAssignment(sam, stack.RoleExchangeAdmin, "/") {
		t.Fatal("Sam's assignment was removed although removal is off")
	}
	_, stale := incidents(t, gina, "StaleSignInAlert")
	staleSam := false
	for _, inc := range stale {
		staleSam = staleSam || inc["assigneeId"] == sam
	}
	if !staleSam {
		t.Fatalf("Sam (no sign-in for 150 days) not reported stale: %v", stale)
	}
	// Dismissed, it stays dismissed on the next scan.
	must(t, gina, 204, "POST", alertsAPI+"alerts/RolesAssignedOutsidePimAlert/dismiss", nil)
	if out, err := st.RunTimer(ctx, "alertScan"); err != nil {
		t.Fatalf("alertScan again: %v %s", err, out)
	}
	if a, _ := incidents(t, gina, "RolesAssignedOutsidePimAlert"); a["isActive"] != false || a["dismissedBy"] != user("gina") {
		t.Fatalf("dismissed alert after a rescan: %v", a)
	}

	audit := must(t, gina, 200, "GET", "auditLogs/directoryAudits?$top=999", nil)
	acts := map[string]int{}
	for _, r := range audit["value"].([]any) {
		acts[r.(map[string]any)["activityDisplayName"].(string)]++
	}
	if acts["timer.breakGlassCheck"] < 3 || acts["timer.alertScan"] < 2 || acts["alert.raise"] == 0 || acts["alert.dismiss"] != 1 {
		t.Fatalf("audit actions: %v", acts)
	}
}
