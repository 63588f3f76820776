package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/stack"
)

// The roles the demo's groups hold (local/demo/jitpim.yaml, seed 001).
var groupRoles = []struct{ group, role string }{
	{"Global Administrators (God Mode)", stack.RoleGlobalAdmin},
	{"PAG-SERVICE-DESK", stack.RoleHelpdeskAdmin},
	{"PAG-DEV-TEAM", "cf1c38e5-3621-4004-a7cb-879624dced7c"},        // Application Developer
	{"PAG-SERVICE-DESK-L1", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"}, // Global Reader
	{"PAG-SERVICE-DESK-L1", "5d6b6bb7-de71-4623-b4af-96380a352509"}, // Security Reader
	{"PAG-SERVICE-DESK-L2", "fe930be7-5e62-47db-91af-98c3a49a38b1"}, // User Administrator
	{"PAG-SERVICE-DESK-L3", stack.RoleExchangeAdmin},
	{"PAG-SERVICE-DESK-L3", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"}, // SharePoint Administrator
	{"PAG-SERVICE-DESK-L3", "3a2c62db-5318-420d-8d74-23affee5d9d5"}, // Intune Administrator
}

// TestGodModeFromAnEmptyTenant: on a tenant holding users and groups only
// (no role assignment at all), `jitpim config apply` of the demo policy
// file alone builds the seeds' setup: the God Mode group holds Global
// Administrator, the service-desk and development groups hold their roles,
// nobody holds one directly, and Rita is eligible for the God Mode group.
// Plan lists nothing as not applied, and a second plan finds nothing to do.
func TestGodModeFromAnEmptyTenant(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "local", "demo", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tenant map[string]any
	if err := json.Unmarshal(raw, &tenant); err != nil {
		t.Fatal(err)
	}
	tenant["roleAssignments"], tenant["signIns"] = []any{}, []any{}
	empty := filepath.Join(t.TempDir(), "tenant.json")
	b, _ := json.Marshal(tenant)
	if err := os.WriteFile(empty, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logs := &bytes.Buffer{}
	es, err := stack.Start(ctx, stack.Options{Root: root, HandlerBinary: handlerBinary, HostBinary: filepath.Join(filepath.Dir(handlerBinary), "jitpim-host"),
		TenantFile: empty, Output: &lockedWriter{buf: logs}})
	if err != nil {
		t.Fatalf("stack: %v\n%s", err, logs.String())
	}
	defer es.Close()
	if n := len(es.Graph.State().RoleAssignments); n != 0 {
		t.Fatalf("the tenant starts with %d role assignments", n)
	}
	file := filepath.Join(root, "local", "demo", "jitpim.yaml")
	cli := func(args ...string) string {
		t.Helper()
		tok, err := es.Token(stack.UserID(es.Tenant, "gina"), true)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(handlerBinary, args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "JITPIM_") && !strings.HasPrefix(kv, "AzureWebJobsStorage=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "JITPIM_API="+es.HostURL+"/api", "JITPIM_TOKEN="+tok)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("jitpim %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	plan := cli("config", "plan", file)
	if strings.Contains(plan, "Not applied") || !strings.Contains(plan, "group Global Administrators (God Mode): active for role Global Administrator: permanent") {
		t.Fatalf("plan on the empty tenant:\n%s", plan)
	}
	cli("config", "apply", file)
	for _, gr := range groupRoles {
		if !es.Graph.HasRoleAssignment(stack.GroupID(es.Tenant, gr.group), gr.role, "/") {
			t.Errorf("%s does not hold role %s after apply", gr.group, gr.role)
		}
	}
	if n := len(es.Graph.State().RoleAssignments); n != len(groupRoles) {
		t.Fatalf("%d role assignments after apply, want the groups' %d: %+v", n, len(groupRoles), es.Graph.State().RoleAssignments)
	}
	if es.Graph.HasRoleAssignment(stack.UserID(es.Tenant, "rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("Rita holds Global Administrator directly")
	}
	gina := es.MustAs(t, "gina", true)
	god := stack.GroupID(es.Tenant, "Global Administrators (God Mode)")
	elig := gina.Must(t, 200, "GET", "identityGovernance/privilegedAccess/group/eligibilitySchedules?$filter=groupId eq '"+god+"'", nil)["value"].([]any)
	if len(elig) != 1 || elig[0].(map[string]any)["principalId"] != stack.UserID(es.Tenant, "rita") {
		t.Fatalf("God Mode eligibilities: %v", elig)
	}
	if again := cli("config", "plan", file); !strings.Contains(again, "No changes") {
		t.Fatalf("plan after apply:\n%s", again)
	}
}

// TestGroupHolderExpiry: an administrator gives a role-assignable group a
// one-hour active assignment of a role; after its end the expirySweep
// function removes the group's role assignment and nothing else: the
// break-glass accounts' and an outside holder's assignments stay, and so do
// the groups' assignments the policy file made.
func TestGroupHolderExpiry(t *testing.T) {
	defer advance(t, 0)
	const securityAdmin = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	gina := as(t, "gina", true)
	dev := stack.GroupID(st.Tenant, "PAG-DEV-TEAM")
	out := must(t, gina, 201, "POST", assignReqs, map[string]any{"action": "adminAssign", "principalId": dev,
		"roleDefinitionId": securityAdmin, "directoryScopeId": "/", "justification": "security review sprint",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}})
	if out["status"] != "Provisioned" || !st.Graph.HasRoleAssignment(dev, securityAdmin, "/") {
		t.Fatalf("assignment to the group: %v", out)
	}
	// A group Entra did not create role-assignable is refused by name.
	code, body, _ := gina.Do(context.Background(), "POST", assignReqs, map[string]any{"action": "adminAssign",
		"principalId": stack.GroupID(st.Tenant, "All Staff"), "roleDefinitionId": securityAdmin, "directoryScopeId": "/",
		"justification": "x", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}})
	if code != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "All Staff is not a role-assignable group") {
		t.Fatalf("a group that is not role-assignable: %d %v", code, body)
	}
	before := st.Graph.State().RoleAssignments
	advance(t, 61*time.Minute)
	if _, err := st.RunTimer(context.Background(), "expirySweep"); err != nil {
		t.Fatal(err)
	}
	if st.Graph.HasRoleAssignment(dev, securityAdmin, "/") {
		t.Fatal("the group still holds the role after its assignment ended")
	}
	after := st.Graph.State().RoleAssignments
	if len(after) != len(before)-1 {
		t.Fatalf("%d role assignments before the sweep, %d after: want exactly the group's removed", len(before), len(after))
	}
	for _, keep := range []struct{ principal, role string }{
		{user("bg1"), stack.RoleGlobalAdmin}, {user("bg2"), stack.RoleGlobalAdmin}, {user("sam"), stack.RoleExchangeAdmin},
		{stack.GroupID(st.Tenant, "Global Administrators (God Mode)"), stack.RoleGlobalAdmin},
		{dev, "cf1c38e5-3621-4004-a7cb-879624dced7c"},
	} {
		if !st.Graph.HasRoleAssignment(keep.principal, keep.role, "/") {
			t.Errorf("%s lost role %s", keep.principal, keep.role)
		}
	}
}

// TestReviewListsGroupHolders: an access review of Global Reader (held by
// the L1 tier's group) lists the group as a group, by name; with the
// "review group members" principal scope it also lists the group's
// member, through the group.
func TestReviewListsGroupHolders(t *testing.T) {
	gina := as(t, "gina", true)
	l1 := stack.GroupID(st.Tenant, "PAG-SERVICE-DESK-L1")
	derek := user("derek")
	const globalReader = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	ctx := context.Background()
	for _, expand := range []bool{false, true} {
		scope := map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + globalReader, "queryType": "MicrosoftGraph"}}}
		name := "Global Readers"
		if expand {
			scope["principalScopes"] = []any{map[string]any{"query": "/users"}, map[string]any{"query": "/groups/transitiveMembers"}}
			name += " and their groups' members"
		}
		def := must(t, gina, 201, "POST", reviewDefs, map[string]any{"displayName": name, "scope": scope,
			"reviewers": []any{map[string]any{"query": "/users/" + user("alice"), "queryType": "MicrosoftGraph"}},
			"settings":  map[string]any{"defaultDecisionEnabled": true, "defaultDecision": "Recommendation", "instanceDurationInDays": 7, "recommendationsEnabled": true}})
		id := def["id"].(string)
		t.Cleanup(func() { _, _, _ = gina.Do(ctx, "DELETE", reviewDefs+"/"+id, nil) })
		if _, err := st.RunTimer(ctx, "accessReviews"); err != nil {
			t.Fatal(err)
		}
		insts := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances", nil)["value"].([]any)
		if len(insts) != 1 {
			t.Fatalf("instances: %v", insts)
		}
		iid := insts[0].(map[string]any)["id"].(string)
		items := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances/"+iid+"/decisions", nil)["value"].([]any)
		var group, member map[string]any
		for _, x := range items {
			it := x.(map[string]any)
			switch it["principal"].(map[string]any)["id"] {
			case l1:
				group = it
			case derek:
				member = it
			}
		}
		if group == nil || group["principalType"] != "Group" || group["principal"].(map[string]any)["displayName"] != "PAG-SERVICE-DESK-L1" ||
			!strings.Contains(group["principalLink"].(string), "/groups/"+l1) {
			t.Fatalf("expand=%v: the group's item %v among %v", expand, group, items)
		}
		if expand != (member != nil) {
			t.Fatalf("expand=%v: Derek's item %v", expand, member)
		}
		if expand && (member["viaGroupId"] != l1 || member["principalType"] != "User") {
			t.Fatalf("Derek's item: %v", member)
		}
	}
}

// TestDemoReviewsRun: the demo policy file's access reviews are created by
// the seed and their first instances start on the timer's first run, as on
// `make run`; the seeds' quarterly review of privileged roles lists the God
// Mode group as a group.
func TestDemoReviewsRun(t *testing.T) {
	gina := as(t, "gina", true)
	defs := must(t, gina, 200, "GET", reviewDefs, nil)["value"].([]any)
	byName := map[string]string{}
	for _, d := range defs {
		m := d.(map[string]any)
		byName[m["displayName"].(string)] = m["id"].(string)
	}
	for _, name := range []string{"Privileged roles quarterly", "Global Administrator eligibility", "PAG-SERVICE-DESK membership"} {
		id, ok := byName[name]
		if !ok {
			t.Fatalf("the demo review %q was not created: %v", name, byName)
		}
		insts := must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances", nil)["value"].([]any)
		if len(insts) != 1 || insts[0].(map[string]any)["status"] != "InProgress" {
			t.Fatalf("%q instances: %v", name, insts)
		}
		if name != "Privileged roles quarterly" {
			continue
		}
		iid := insts[0].(map[string]any)["id"].(string)
		found := false
		for _, x := range must(t, gina, 200, "GET", reviewDefs+"/"+id+"/instances/"+iid+"/decisions", nil)["value"].([]any) {
			it := x.(map[string]any)
			p := it["principal"].(map[string]any)
			found = found || (it["principalType"] == "Group" && p["displayName"] == "Global Administrators (God Mode)")
		}
		if !found {
			t.Fatalf("the quarterly review does not list the God Mode group")
		}
	}
}
