package httpapi_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/memstore"
)

const alertsPath = "/api/identityGovernance/roleManagementAlerts/"

// newAlertEnv is newEnv with the governance ports wired and two healthy
// break-glass accounts.
func newAlertEnv(t *testing.T) (*env, []domain.ObjectID) {
	t.Helper()
	iss, _, v := newIssuer(t)
	e := &env{t: t, iss: iss, store: memstore.New(), dir: fakedir.New()}
	bgs := []domain.ObjectID{"bbbbbbbb-0000-0000-0000-00000000000a", "bbbbbbbb-0000-0000-0000-00000000000b"}
	for _, u := range []domain.User{{ID: admin, Enabled: true}, {ID: alice, Enabled: true}, {ID: bob, Enabled: true, UserPrincipalName: "bob@contoso.example"},
		{ID: bgs[0], Enabled: true}, {ID: bgs[1], Enabled: true}} {
		e.dir.AddUser(u)
	}
	for _, p := range []domain.ObjectID{admin, bgs[0], bgs[1]} {
		if _, _, err := e.dir.AddRoleAssignment(context.Background(), p, ga, "/"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := engine.Config{MFAFreshness: 15 * time.Minute, ApproverMFA: true, BreakGlass: bgs,
		AdminRecipients: []string{"security@contoso.example"}}
	svc := newServices(e.store, e.dir, cfg, nil)
	e.api = httptest.NewServer(httpapi.New(svc.api(), v, time.Now, slog.New(slog.DiscardHandler)))
	t.Cleanup(e.api.Close)
	return e, bgs
}

func values(out map[string]any) []map[string]any {
	var list []map[string]any
	for _, v := range out["value"].([]any) {
		list = append(list, v.(map[string]any))
	}
	return list
}

func TestAlertsAPI(t *testing.T) {
	e, bgs := newAlertEnv(t)
	adm := e.token(admin, true)
	// Admins only.
	e.must(403, "GET", alertsPath+"alerts", e.token(alice, true), nil)
	e.must(403, "POST", alertsPath+"alerts/"+domain.AlertRolesOutsidePIM+"/refresh", e.token(alice, true), nil)
	e.must(403, "GET", alertsPath+"alertDefinitions", e.token(alice, true), nil)

	// Before any scan: one inactive alert per definition.
	list := values(e.must(200, "GET", alertsPath+"alerts?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'", adm, nil))
	if len(list) != len(alert.Definitions) {
		t.Fatalf("%d alerts, want %d", len(list), len(alert.Definitions))
	}
	for _, a := range list {
		if a["isActive"] != false || a["scopeId"] != "/" || a["scopeType"] != "DirectoryRole" || a["lastScannedDateTime"] != nil || a["id"] != a["alertDefinitionId"] {
			t.Fatalf("unscanned alert: %v", a)
		}
	}
	for _, bad := range []string{"scopeId eq '/administrativeUnits/x'", "scopeType eq 'Group'", "severity eq 'high'", "isActive eq maybe"} {
		e.must(400, "GET", alertsPath+"alerts?$filter="+bad, adm, nil)
	}
	e.must(400, "GET", alertsPath+"alerts/"+domain.AlertRolesOutsidePIM+"?$expand=everything", adm, nil)
	e.must(404, "GET", alertsPath+"alerts/NoSuchAlert", adm, nil)

	// Bob holds Exchange Administrator outside jitpim; a break-glass account signed in.
	if _, _, err := e.dir.AddRoleAssignment(context.Background(), bob, exch, "/"); err != nil {
		t.Fatal(err)
	}
	e.dir.AddSignIn(domain.SignIn{ID: "bg-signin", UserID: bgs[0], Time: time.Now().Add(-time.Minute), IPAddress: "203.0.113.5"})
	e.must(204, "POST", alertsPath+"alerts/"+domain.AlertRolesOutsidePIM+"/refresh", adm, nil)
	e.must(204, "POST", alertsPath+"alerts/refresh", adm, map[string]any{"scopeId": "/", "scopeType": "DirectoryRole"})
	e.must(400, "POST", alertsPath+"alerts/refresh", adm, map[string]any{"scopeId": "/x"})

	active := values(e.must(200, "GET", alertsPath+"alerts?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and isActive eq true", adm, nil))
	ids := map[string]bool{}
	for _, a := range active {
		ids[a["id"].(string)] = true
		if a["alertIncidents"] != nil {
			t.Fatal("incidents without $expand")
		}
	}
	if !ids[domain.AlertRolesOutsidePIM] || !ids[domain.AlertBreakGlassSignIn] {
		t.Fatalf("active alerts: %v", ids)
	}

	out := e.must(200, "GET", alertsPath+"alerts/"+domain.AlertRolesOutsidePIM+"?$expand=alertIncidents,alertDefinition", adm, nil)
	incs := out["alertIncidents"].([]any)
	var bobs map[string]any
	for _, i := range incs {
		inc := i.(map[string]any)
		if inc["assigneeId"] == bob {
			bobs = inc
		}
		if inc["assigneeId"] == string(bgs[0]) || inc["assigneeId"] == string(bgs[1]) {
			t.Fatalf("a break-glass account reported as outside jitpim: %v", inc)
		}
	}
	if bobs == nil || bobs["roleDefinitionId"] != exch || bobs["roleDisplayName"] != "Exchange Administrator" || bobs["id"] == "" ||
		bobs["directoryScopeId"] != "/" || !strings.Contains(bobs["description"].(string), "bob@contoso.example") {
		t.Fatalf("bob's incident: %v (all: %v)", bobs, incs)
	}
	if int(out["incidentCount"].(float64)) != len(incs) || out["lastScannedDateTime"] == nil || out["severityLevel"] != "high" {
		t.Fatalf("alert: %v", out)
	}
	if d := out["alertDefinition"].(map[string]any); d["displayName"] != "Roles are being assigned outside of jitpim" || d["isRemediatable"] != true {
		t.Fatalf("expanded definition: %v", d)
	}
	sub := values(e.must(200, "GET", alertsPath+"alerts/"+domain.AlertBreakGlassSignIn+"/alertIncidents", adm, nil))
	if len(sub) != 1 || sub[0]["id"] != "signin:bg-signin" || sub[0]["details"].(map[string]any)["ipAddress"] != "203.0.113.5" {
		t.Fatalf("sign-in incidents: %v", sub)
	}

	// Dismiss: inactive, and the dismissal is recorded.
	e.must(204, "POST", alertsPath+"alerts/"+domain.AlertRolesOutsidePIM+"/dismiss", adm, nil)
	out = e.must(200, "GET", alertsPath+"alerts/"+domain.AlertRolesOutsidePIM, adm, nil)
	if out["isActive"] != false || out["dismissedBy"] != admin || out["dismissedDateTime"] == nil {
		t.Fatalf("dismissed alert: %v", out)
	}
	e.must(404, "POST", alertsPath+"alerts/NoSuchAlert/dismiss", adm, nil)

	// Definitions.
	defs := values(e.must(200, "GET", alertsPath+"alertDefinitions", adm, nil))
	if len(defs) != len(alert.Definitions) {
		t.Fatalf("%d definitions", len(defs))
	}
	for _, d := range defs {
		for _, k := range []string{"id", "displayName", "severityLevel", "description", "mitigationSteps"} {
			if s, _ := d[k].(string); s == "" {
				t.Fatalf("definition without %s: %v", k, d)
			}
		}
	}
	one := e.must(200, "GET", alertsPath+"alertDefinitions/"+domain.AlertBreakGlassSignIn, adm, nil)
	if one["severityLevel"] != "high" {
		t.Fatalf("definition: %v", one)
	}
	e.must(404, "GET", alertsPath+"alertDefinitions/Nope", adm, nil)

	audit := e.must(200, "GET", "/api/auditLogs/directoryAudits?$top=200", adm, nil)
	acts := map[string]int{}
	for _, a := range audit["value"].([]any) {
		acts[a.(map[string]any)["activityDisplayName"].(string)]++
	}
	if acts["alert.dismiss"] != 1 || acts["alert.refresh"] != 3 || acts["timer.breakGlassCheck"] != 0 || acts["alert.raise"] < 2 {
		t.Fatalf("audit actions: %v", acts)
	}
}
