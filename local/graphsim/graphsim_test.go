package graphsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	demoFile = "../demo/tenant.json"
	roleGA   = "62e90394-69f5-4237-9190-012177145e10"
	adam     = "a47440fe-ede2-441f-a6c7-93ef77d456d2"
	steve    = "15913a41-3b2d-433e-8b1c-348c5ea65257"
	stan     = "bab627f5-13ed-48bf-ab5f-3cd25232621a"
	gina     = "4d0013b9-f403-43b3-9ed8-22bfdf76040f"
	derek    = "377ed4fe-bc3f-41af-9aca-594e0e3b34c2"
	bg1      = "e56a8394-5973-4642-b020-43bafd44ea44"
	bg2      = "f18e8cfa-4802-41ad-8761-3ba93cf992bf"
	godMode  = "6756a9c9-c7e3-4b68-9883-5dbadb50b0e6"
	pagDesk  = "339ecba2-4840-4502-aec1-cc35380b1d55"
	// serviceDeskStaff is a plain group with Adam and Steve as members.
	serviceDeskStaff = "3b8d8c3e-a33f-4f3a-bdca-bf66dfd8159d"
	admins           = "a4c9cff4-c213-479e-a8a4-84001c0232d4"
)

func demo(t *testing.T, opts Options) *Server {
	t.Helper()
	tn, err := LoadTenant(demoFile)
	if err != nil {
		t.Fatal(err)
	}
	return New(tn, opts)
}

// The demo tenant is what walkthroughs and other packages' tests rely on.
func TestDemoTenant(t *testing.T) {
	tn, err := LoadTenant(demoFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(tn.Users) < 10 {
		t.Fatalf("%d users", len(tn.Users))
	}
	byName := map[string]Group{}
	for _, g := range tn.Groups {
		byName[g.DisplayName] = g
	}
	for _, name := range []string{"PAG-SERVICE-DESK", "PAG-DEV-TEAM", "PAG-SERVICE-DESK-L1", "PAG-SERVICE-DESK-L2", "PAG-SERVICE-DESK-L3", "Global Administrators (God Mode)"} {
		if g, ok := byName[name]; !ok || !g.IsAssignableToRole {
			t.Errorf("%s missing or not role-assignable", name)
		}
	}
	if g := byName["jitpim-admins"]; g.ID != admins || g.IsAssignableToRole {
		t.Errorf("jitpim-admins = %+v", g)
	}
	// Privileged access groups have no standing members: people are eligible
	// through jitpim, and access made outside jitpim is never taken over.
	for _, name := range []string{"PAG-SERVICE-DESK", "PAG-DEV-TEAM"} {
		if m := byName[name].Members; len(m) != 0 {
			t.Errorf("%s has standing members %v", name, m)
		}
	}
	if m := byName["Service Desk Staff"].Members; len(m) != 2 || m[0] != adam || m[1] != steve {
		t.Errorf("Service Desk Staff members %v", m)
	}
	s := New(tn, Options{})
	for _, u := range []string{bg1, bg2} {
		if !s.HasRoleAssignment(u, roleGA, "/") {
			t.Errorf("break-glass %s lacks Global Administrator", u)
		}
	}
	// The groups' roles are jitpim's to give (local/demo/jitpim.yaml): the
	// tenant holds only the break-glass accounts' and one made outside PIM.
	if s.HasRoleAssignment(godMode, roleGA, "/") {
		t.Error("the God Mode group holds Global Administrator before jitpim gave it")
	}
	if n := len(s.State().RoleAssignments); n != 3 {
		t.Errorf("the demo tenant starts with %d role assignments, want 3 (two break-glass, one outside PIM)", n)
	}
	disabled := 0
	for _, u := range tn.Users {
		if !u.AccountEnabled {
			disabled++
		}
	}
	if disabled != 1 {
		t.Errorf("%d disabled users", disabled)
	}
	roles := map[string]string{}
	for _, r := range tn.RoleDefinitions {
		roles[r.ID] = r.DisplayName
	}
	for id, name := range map[string]string{
		"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
		"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
		"29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
		"729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
		"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
		"5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
		"f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
		"3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
		"f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
	} {
		if roles[id] != name {
			t.Errorf("role %s = %q, want %q", id, roles[id], name)
		}
	}
}

func TestLoadTenantRejectsBadReferences(t *testing.T) {
	tn := docTenant()
	tn.Groups[0].Members = append(tn.Groups[0].Members, "nobody")
	if err := tn.Validate(); err == nil {
		t.Fatal("want an error for an unknown member")
	}
	tn = docTenant()
	tn.RoleAssignments[0].RoleDefinitionID = "nope"
	if err := tn.Validate(); err == nil {
		t.Fatal("want an error for an unknown role")
	}
}

func TestAssignmentIDMatchesEntra(t *testing.T) {
	// From the List unifiedRoleAssignments documentation.
	if got := AssignmentID(roleGA, "f1847572-48aa-47aa-96a3-2ec61904f41f", "/"); got != "lAPpYvVpN0KRkAEhdxReEHJ1hPGqSKpHlqMuxhkE9B8-1" {
		t.Fatalf("got %s", got)
	}
	if AssignmentID(roleGA, adam, "/") == AssignmentID(roleGA, adam, "/administrativeUnits/x") {
		t.Fatal("scopes must give different ids")
	}
}

func collectAll(t *testing.T, s *Server, target string) ([]map[string]any, int) {
	t.Helper()
	var out []map[string]any
	pages := 0
	for target != "" {
		a := do(t, s, "GET", target, nil)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", target, a.status, a.body)
		}
		pages++
		m := a.json(t)
		for _, v := range m["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		next, _ := m["@odata.nextLink"].(string)
		target = ""
		if next != "" {
			u, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			target = u.RequestURI()
		}
	}
	return out, pages
}

func TestPagingFilterSelect(t *testing.T) {
	s := demo(t, Options{PageSize: 3})
	all, pages := collectAll(t, s, "/v1.0/users")
	if len(all) != 11 || pages != 4 {
		t.Fatalf("%d users in %d pages", len(all), pages)
	}
	if _, ok := all[0]["accountEnabled"]; ok {
		t.Fatal("accountEnabled is not a default property")
	}
	seen := map[string]bool{}
	for _, u := range all {
		if seen[u["id"].(string)] {
			t.Fatal("a user came back twice")
		}
		seen[u["id"].(string)] = true
	}
	// $top lowers the page size; the nextLink keeps $filter, $select, $top.
	q := url.Values{"$filter": {"accountEnabled eq true"}, "$select": {"id,accountEnabled"}, "$top": {"2"}}
	a := do(t, s, "GET", "/v1.0/users?"+q.Encode(), nil)
	m := a.json(t)
	if len(m["value"].([]any)) != 2 {
		t.Fatalf("page of %d", len(m["value"].([]any)))
	}
	next := m["@odata.nextLink"].(string)
	for _, want := range []string{"$filter=accountEnabled", "$select=id", "$top=2", "$skiptoken="} {
		if !strings.Contains(next, want) {
			t.Errorf("nextLink %s lacks %s", next, want)
		}
	}
	enabled, _ := collectAll(t, s, "/v1.0/users?"+q.Encode())
	if len(enabled) != 10 {
		t.Fatalf("%d enabled users", len(enabled))
	}
	for _, u := range enabled {
		if len(u) != 2 || u["accountEnabled"] != true {
			t.Fatalf("selected %v", u)
		}
	}
	for filter, want := range map[string]int{
		"accountEnabled eq false":                                1,
		"startswith(displayName,'Break')":                        2,
		"userPrincipalName eq 'ADAM@jitpimdemo.onmicrosoft.com'": 1,
		"signInActivity/lastSignInDateTime le " + time.Now().Add(-100*24*time.Hour).UTC().Format(time.RFC3339): 3, // bg2, Derek, Sam
		"displayName eq 'O''Brien'":    0,
		"displayName eq 'Adam or Eve'": 0,
	} {
		got, _ := collectAll(t, s, "/v1.0/users?$filter="+url.QueryEscape(filter))
		if len(got) != want {
			t.Errorf("%s: %d users, want %d", filter, len(got), want)
		}
	}
	for _, bad := range []string{"displayName foo 'x'", "displayName eq 'unterminated", "a eq 'x' or b eq 'y'", "x eq nonsense"} {
		if a := do(t, s, "GET", "/v1.0/users?$filter="+url.QueryEscape(bad), nil); a.status != 400 {
			t.Errorf("%s: status %d", bad, a.status)
		}
	}
	if a := do(t, s, "GET", "/v1.0/users?$skiptoken=garbage", nil); a.status != 400 {
		t.Errorf("bad skiptoken: %d", a.status)
	}
	// Role assignments by principal and by role. The God Mode group's is
	// jitpim's to make; the test makes it, so the listing spans two pages.
	if a := do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", []byte(`{"principalId":"`+godMode+`","roleDefinitionId":"`+roleGA+`","directoryScopeId":"/"}`)); a.status != 201 {
		t.Fatalf("God Mode's assignment: %d", a.status)
	}
	got, _ := collectAll(t, s, "/v1.0/roleManagement/directory/roleAssignments?$filter="+url.QueryEscape("roleDefinitionId eq '"+roleGA+"'"))
	if len(got) != 3 {
		t.Fatalf("%d Global Administrator assignments", len(got))
	}
	got, _ = collectAll(t, s, "/v1.0/roleManagement/directory/roleAssignments?$expand=principal&$filter="+url.QueryEscape("principalId eq '"+bg1+"' and roleDefinitionId eq '"+roleGA+"'"))
	if len(got) != 1 || got[0]["principal"].(map[string]any)["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("bg1 GA = %v", got)
	}
	defs, _ := collectAll(t, s, "/v1.0/roleManagement/directory/roleDefinitions")
	if len(defs) < 9 {
		t.Fatalf("%d role definitions", len(defs))
	}
	if a := do(t, s, "GET", "/v1.0/roleManagement/directory/roleDefinitions/"+roleGA, nil); a.json(t)["templateId"] != roleGA {
		t.Fatalf("GA definition %s", a.body)
	}
}

func TestGroupsAndMembers(t *testing.T) {
	s := demo(t, Options{PageSize: 1})
	members, pages := collectAll(t, s, "/v1.0/groups/"+serviceDeskStaff+"/members")
	if len(members) != 2 || pages != 2 || members[0]["@odata.type"] != "#microsoft.graph.user" || members[0]["id"] != adam {
		t.Fatalf("members %v", members)
	}
	owners, _ := collectAll(t, s, "/v1.0/groups/"+pagDesk+"/owners")
	if len(owners) != 1 {
		t.Fatalf("owners %v", owners)
	}
	g := do(t, s, "GET", "/v1.0/groups/"+godMode, nil).json(t)
	if g["displayName"] != "Global Administrators (God Mode)" || g["isAssignableToRole"] != true {
		t.Fatalf("group %v", g)
	}
	named, _ := collectAll(t, s, "/v1.0/groups?$filter="+url.QueryEscape("displayName eq 'PAG-DEV-TEAM'"))
	if len(named) != 1 {
		t.Fatalf("by name %v", named)
	}
	const allStaff = "b5f2f07d-5ab3-4e1b-87e9-f9579b6504b5"
	everyone, _ := collectAll(t, s, "/v1.0/groups/"+allStaff+"/transitiveMembers")
	if len(everyone) != 8 { // 7 users and the nested Service Desk Staff group
		t.Fatalf("transitive members %d", len(everyone))
	}
	usersOnly, _ := collectAll(t, s, "/v1.0/groups/"+allStaff+"/transitiveMembers/microsoft.graph.user?$select=id,accountEnabled")
	if len(usersOnly) != 7 || usersOnly[0]["accountEnabled"] != true || usersOnly[0]["@odata.type"] != nil {
		t.Fatalf("cast to users %v", usersOnly)
	}
	if sdkCast, _ := collectAll(t, s, "/v1.0/groups/"+allStaff+"/transitiveMembers/graph.user"); len(sdkCast) != 7 {
		t.Fatalf("graph.user cast %d", len(sdkCast))
	}
	if groupsOnly, _ := collectAll(t, s, "/v1.0/groups/"+allStaff+"/members/microsoft.graph.group"); len(groupsOnly) != 1 {
		t.Fatalf("cast to groups %v", groupsOnly)
	}
	trans, _ := collectAll(t, s, "/v1.0/users/"+adam+"/transitiveMemberOf")
	direct, _ := collectAll(t, s, "/v1.0/users/"+adam+"/memberOf")
	if len(trans) != len(direct)+1 {
		t.Fatalf("Adam: %d transitive, %d direct groups", len(trans), len(direct))
	}

	ref := func(id string) []byte {
		return []byte(`{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `"}`)
	}
	if a := do(t, s, "POST", "/v1.0/groups/"+godMode+"/members/$ref", ref(gina)); a.status != 204 {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	// Role-assignable groups take no nested groups.
	if a := do(t, s, "POST", "/v1.0/groups/"+godMode+"/members/$ref", ref(admins)); a.status != 400 {
		t.Fatalf("nesting: %d", a.status)
	}
	// Removal by path and by $id.
	if a := do(t, s, "DELETE", "/v1.0/groups/"+godMode+"/members/"+gina+"/$ref", nil); a.status != 204 {
		t.Fatalf("remove: %d", a.status)
	}
	do(t, s, "POST", "/v1.0/groups/"+godMode+"/owners/$ref", ref(gina))
	if a := do(t, s, "DELETE", "/v1.0/groups/"+godMode+"/owners/$ref?$id="+url.QueryEscape("https://graph.microsoft.com/v1.0/directoryObjects/"+gina), nil); a.status != 204 {
		t.Fatalf("remove owner by $id: %d", a.status)
	}
	if s.InGroup(godMode, "owner", gina) || s.InGroup(godMode, "member", gina) {
		t.Fatal("still there")
	}
	// Roles go only to role-assignable groups.
	body := []byte(`{"principalId":"` + admins + `","roleDefinitionId":"` + roleGA + `","directoryScopeId":"/"}`)
	if a := do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", body); a.status != 400 {
		t.Fatalf("role to a plain group: %d", a.status)
	}
}

func TestSignInActivityAndLog(t *testing.T) {
	s := demo(t, Options{})
	u := do(t, s, "GET", "/v1.0/users/"+bg1+"?$select=id,signInActivity", nil).json(t)
	a := u["signInActivity"].(map[string]any)
	last, _ := time.Parse(time.RFC3339, a["lastSignInDateTime"].(string))
	succ, _ := time.Parse(time.RFC3339, a["lastSuccessfulSignInDateTime"].(string))
	// bg1's last attempt (5 days ago) failed; its last success was 45 days ago.
	if d := time.Since(last); d < 119*time.Hour || d > 121*time.Hour {
		t.Fatalf("lastSignIn %v ago", d)
	}
	if d := time.Since(succ); d < 1079*time.Hour || d > 1081*time.Hour {
		t.Fatalf("lastSuccessful %v ago", d)
	}
	id, err := s.AddSignIn(SignIn{UserID: "bg1@jitpimdemo.onmicrosoft.com", IPAddress: "203.0.113.99"})
	if err != nil {
		t.Fatal(err)
	}
	log, _ := collectAll(t, s, "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("userId eq '"+bg1+"' and createdDateTime ge "+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
	if len(log) != 1 || log[0]["id"] != id || log[0]["ipAddress"] != "203.0.113.99" {
		t.Fatalf("log %v", log)
	}
	if a := do(t, s, "GET", "/v1.0/auditLogs/signIns/"+id, nil); a.status != 200 {
		t.Fatalf("by id: %d", a.status)
	}
	// Newest first, like Graph.
	all, _ := collectAll(t, s, "/v1.0/auditLogs/signIns")
	for i := 1; i < len(all); i++ {
		if all[i]["createdDateTime"].(string) > all[i-1]["createdDateTime"].(string) {
			t.Fatal("sign-in log not newest first")
		}
	}

	s.SetDenySignInActivity(true)
	if a := do(t, s, "GET", "/v1.0/users/"+bg1+"?$select=id,signInActivity", nil); a.status != 403 {
		t.Fatalf("denied: %d", a.status)
	}
	if a := do(t, s, "GET", "/v1.0/users?$filter="+url.QueryEscape("signInActivity/lastSignInDateTime le 2020-01-01T00:00:00Z"), nil); a.status != 403 {
		t.Fatalf("denied filter: %d", a.status)
	}
	if a := do(t, s, "GET", "/v1.0/users/"+bg1+"?$select=id,accountEnabled", nil); a.status != 200 {
		t.Fatalf("without signInActivity: %d", a.status)
	}
}

func TestControlEndpoints(t *testing.T) {
	s := demo(t, Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	post := func(path, body string) *http.Response {
		t.Helper()
		r, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	get := func(path string, v any) int {
		t.Helper()
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if v != nil {
			if err := json.NewDecoder(r.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		return r.StatusCode
	}

	// Faults: two 429s with Retry-After on GET /users, then normal.
	if r := post("/_sim/faults", `{"method":"GET","pathPrefix":"/users","count":2,"status":429,"retryAfter":1}`); r.StatusCode != 204 {
		t.Fatalf("faults: %d", r.StatusCode)
	}
	for i := 0; i < 2; i++ {
		r, _ := http.Get(srv.URL + "/v1.0/users/" + adam)
		r.Body.Close()
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("try %d: %d %q", i, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	if code := get("/v1.0/users/"+adam, nil); code != 200 {
		t.Fatalf("after faults: %d", code)
	}
	// Latency, then clearing.
	post("/_sim/faults", `[{"pathPrefix":"/v1.0/groups","latencyMs":150},{"method":"DELETE","status":503}]`)
	start := time.Now()
	get("/v1.0/groups/"+pagDesk, nil)
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("no latency")
	}
	req, _ := http.NewRequest("DELETE", srv.URL+"/_sim/faults", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 204 {
		t.Fatalf("clear: %v", err)
	}
	if r := post("/_sim/faults", `{"status":302}`); r.StatusCode != 400 {
		t.Fatalf("a non-error status fault: %d", r.StatusCode)
	}

	// Disable / enable.
	post("/_sim/users/"+adam+"/disable", "")
	var u map[string]any
	get("/v1.0/users/"+adam+"?$select=accountEnabled", &u)
	if u["accountEnabled"] != false {
		t.Fatalf("disable: %v", u)
	}
	post("/_sim/users/"+adam+"/enable", "")
	if r := post("/_sim/users/nobody/disable", ""); r.StatusCode != 404 {
		t.Fatalf("unknown user: %d", r.StatusCode)
	}

	// Sign-in injection.
	if r := post("/_sim/signins", `{"userId":"`+bg2+`","ipAddress":"198.51.100.77"}`); r.StatusCode != 201 {
		t.Fatalf("signins: %d", r.StatusCode)
	}
	var st State
	get("/_sim/state", &st)
	for _, us := range st.Users {
		if us.ID == bg2 && (us.LastSignInDateTime == nil || time.Since(*us.LastSignInDateTime) > time.Minute) {
			t.Fatalf("bg2 last sign-in %v", us.LastSignInDateTime)
		}
		if us.ID == "1eccb846-2ebc-4868-af9d-47033c8479fa" && us.LastSignInDateTime != nil {
			t.Fatal("the mailbox never signed in")
		}
	}

	// Mail lands in the outbox.
	post("/v1.0/users/jitpim@jitpimdemo.onmicrosoft.com/sendMail", `{"message":{"subject":"hi","toRecipients":[{"emailAddress":{"address":"alice@jitpimdemo.onmicrosoft.com"}}]}}`)
	var ob struct{ Value []Mail }
	get("/_sim/outbox", &ob)
	if len(ob.Value) != 1 || ob.Value[0].Subject != "hi" || ob.Value[0].From != "jitpim@jitpimdemo.onmicrosoft.com" {
		t.Fatalf("outbox %+v", ob)
	}

	// State shows grants; reset forgets them.
	post("/v1.0/roleManagement/directory/roleAssignments", `{"principalId":"`+gina+`","roleDefinitionId":"`+roleGA+`","directoryScopeId":"/"}`)
	post("/v1.0/groups/"+godMode+"/members/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/`+gina+`"}`)
	get("/_sim/state", &st)
	found := false
	for _, a := range st.RoleAssignments {
		found = found || (a.PrincipalID == gina && a.RoleDefinitionID == roleGA)
	}
	if !found || !s.InGroup(godMode, "member", gina) {
		t.Fatalf("state %+v", st.RoleAssignments)
	}
	if r := post("/_sim/reset", ""); r.StatusCode != 204 {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	if s.HasRoleAssignment(gina, roleGA, "/") || s.InGroup(godMode, "member", gina) || len(s.Outbox()) != 0 {
		t.Fatal("reset kept changes")
	}
	if r := post("/_sim/config", `{"denySignInActivity":true}`); r.StatusCode != 204 {
		t.Fatalf("config: %d", r.StatusCode)
	}
	if code := get("/v1.0/users/"+adam+"?$select=signInActivity", nil); code != 403 {
		t.Fatalf("deny via config: %d", code)
	}
	if code := get("/_sim/nothing", nil); code != 404 {
		t.Fatalf("unknown control: %d", code)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := demo(t, Options{PageSize: 2})
	roles := []string{roleGA, "29232cdf-9323-42fd-ade2-1d097af3e4de", "729827e3-9c14-49f7-bb1b-9608f156bbb8", "fe930be7-5e62-47db-91af-98c3a49a38b1"}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range roles {
				do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", []byte(`{"principalId":"`+stan+`","roleDefinitionId":"`+r+`","directoryScopeId":"/"}`))
				do(t, s, "POST", "/v1.0/groups/"+godMode+"/members/$ref", []byte(`{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/`+stan+`"}`))
				collectAll(t, s, "/v1.0/roleManagement/directory/roleAssignments?$filter="+url.QueryEscape("principalId eq '"+stan+"'"))
				_ = s.State()
			}
		}()
	}
	wg.Wait()
	for _, r := range roles {
		if n := s.CountRoleAssignments(stan, r, "/"); n != 1 {
			t.Fatalf("role %s assigned %d times", r, n)
		}
	}
}
