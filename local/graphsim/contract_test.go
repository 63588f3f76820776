package graphsim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
)

// docTenant holds the ids the Graph documentation examples use, so their
// requests run verbatim and their answers can be compared by value.
func docTenant() Tenant {
	h := 3.0
	return Tenant{
		TenantID: "22350cac-d84b-466b-8c2c-f9326746709a",
		Users: []User{
			{ID: "87d349ed-44d7-43e1-9a83-5f2406dee5bd", UserPrincipalName: "AdeleV@contoso.com", DisplayName: "Adele Vance",
				GivenName: "Adele", Surname: "Vance", JobTitle: "Retail Manager", Mail: "AdeleV@contoso.com", AccountEnabled: true},
			{ID: "f0662ee5-84b1-43d6-8338-769cce1bc141", UserPrincipalName: "AlexW@contoso.com", DisplayName: "Alex Wilber", AccountEnabled: true},
			{ID: "f8ca5a85-489a-49a0-b555-0a6d81e56f0d", UserPrincipalName: "principal@contoso.com", DisplayName: "Principal", AccountEnabled: true},
			{ID: "f1847572-48aa-47aa-96a3-2ec61904f41f", UserPrincipalName: "admin@contoso.com", DisplayName: "Admin", AccountEnabled: true},
			{ID: "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e", UserPrincipalName: "member@contoso.com", DisplayName: "Member", AccountEnabled: true},
		},
		Groups: []Group{
			{ID: "f448435d-3ca7-4073-8152-a1fd73c0fd09", DisplayName: "G1", SecurityEnabled: true, Members: []string{"4562bcc8-c436-4f95-b7c0-4f8ce89dca5e"}},
			{ID: "bd7c6263-4dd5-4ae8-8c96-556e1c0bece6", DisplayName: "G2", SecurityEnabled: true},
			{ID: "93670da6-d731-4366-94b5-abed40b6016b", DisplayName: "G3", SecurityEnabled: true, Members: []string{"4562bcc8-c436-4f95-b7c0-4f8ce89dca5e"}},
			{ID: "f5484ab1-4d4d-41ec-a9b8-754b3957bfc7", DisplayName: "G4", SecurityEnabled: true, Members: []string{"4562bcc8-c436-4f95-b7c0-4f8ce89dca5e"}},
			// Member only through G4: checkMemberGroups is transitive.
			{ID: "c9103f26-f3cf-4004-a611-2a14e81b8f79", DisplayName: "G5", SecurityEnabled: true, Members: []string{"f5484ab1-4d4d-41ec-a9b8-754b3957bfc7"}},
		},
		RoleDefinitions: []RoleDefinition{
			{ID: "62e90394-69f5-4237-9190-012177145e10", DisplayName: "Global Administrator", IsBuiltIn: true, IsPrivileged: true},
			{ID: "f2ef992c-3afb-46b9-b7cf-a126ee74c451", DisplayName: "Global Reader", IsBuiltIn: true, IsPrivileged: true},
			{ID: "c2cf284d-6c41-4e6b-afac-4b80928c9034", DisplayName: "Custom role"},
		},
		RoleAssignments: []RoleAssignment{
			{PrincipalID: "f1847572-48aa-47aa-96a3-2ec61904f41f", RoleDefinitionID: "62e90394-69f5-4237-9190-012177145e10", DirectoryScopeID: "/"},
			{PrincipalID: "f1847572-48aa-47aa-96a3-2ec61904f41f", RoleDefinitionID: "f2ef992c-3afb-46b9-b7cf-a126ee74c451", DirectoryScopeID: "/"},
		},
		SignIns: []SignIn{
			{UserID: "87d349ed-44d7-43e1-9a83-5f2406dee5bd", HoursAgo: &h, AppDisplayName: "Graph explorer", City: "Redmond", CountryOrRegion: "US"},
			{UserID: "f0662ee5-84b1-43d6-8338-769cce1bc141", HoursAgo: &h, ErrorCode: 50126},
		},
	}
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goldenJSON(t *testing.T, name string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(golden(t, name), &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", a.status, err, a.body)
	}
	return m
}

func do(t *testing.T, h http.Handler, method, target string, body []byte, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://127.0.0.1:7090"+target, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return answer{w.Code, w.Header(), w.Body.Bytes()}
}

// sameShape checks that got has every key of want with the same JSON type;
// null on either side matches any type, arrays compare each element of got
// with want's first element.
func sameShape(t *testing.T, path string, want, got any) {
	t.Helper()
	if want == nil || got == nil {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: want an object, got %T", path, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			sameShape(t, path+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: want an array, got %T", path, got)
			return
		}
		if len(w) > 0 {
			for i, gv := range g {
				sameShape(t, fmt.Sprintf("%s[%d]", path, i), w[0], gv)
			}
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			t.Errorf("%s: want %T, got %T (%v)", path, want, got, got)
		}
	}
}

// fragment is the part of an @odata.context after $metadata#.
func fragment(ctx any) string {
	s, _ := ctx.(string)
	_, f, _ := strings.Cut(s, "$metadata#")
	return f
}

func TestContractCreateRoleAssignment(t *testing.T) {
	s := New(docTenant(), Options{})
	a := do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", golden(t, "create-roleassignment.request.json"))
	if a.status != http.StatusCreated {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	want := goldenJSON(t, "create-roleassignment.response.json").(map[string]any)
	got := a.json(t)
	sameShape(t, "create", want, got)
	for _, k := range []string{"principalId", "roleDefinitionId", "directoryScopeId"} {
		if got[k] != want[k] {
			t.Errorf("%s = %v, want %v", k, got[k], want[k])
		}
	}
	if fragment(got["@odata.context"]) != fragment(want["@odata.context"]) {
		t.Errorf("@odata.context %v, want …#%s", got["@odata.context"], fragment(want["@odata.context"]))
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
	}

	// The same assignment again: Graph's 400 conflict.
	a = do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", golden(t, "create-roleassignment.request.json"))
	if a.status != http.StatusBadRequest {
		t.Fatalf("duplicate: status %d: %s", a.status, a.body)
	}
	wantErr := goldenJSON(t, "error.response.json").(map[string]any)
	gotErr := a.json(t)
	sameShape(t, "error", wantErr, gotErr)
	if gotErr["error"].(map[string]any)["message"] != wantErr["error"].(map[string]any)["message"] {
		t.Errorf("duplicate message %v", gotErr["error"])
	}
	if n := s.CountRoleAssignments("f8ca5a85-489a-49a0-b555-0a6d81e56f0d", "c2cf284d-6c41-4e6b-afac-4b80928c9034", "/"); n != 1 {
		t.Fatalf("%d assignments", n)
	}
}

func TestContractListRoleAssignments(t *testing.T) {
	s := New(docTenant(), Options{})
	a := do(t, s, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter="+url.QueryEscape("principalId eq 'f1847572-48aa-47aa-96a3-2ec61904f41f'"), nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	want := goldenJSON(t, "list-roleassignments.response.json").(map[string]any)
	got := a.json(t)
	sameShape(t, "list", want, got)
	if fragment(got["@odata.context"]) != fragment(want["@odata.context"]) {
		t.Errorf("@odata.context %v", got["@odata.context"])
	}
	// Seeded with the documentation's ids, the answer matches it by value,
	// assignment ids included.
	wv, gv := want["value"].([]any), got["value"].([]any)
	if len(gv) != len(wv) {
		t.Fatalf("%d assignments, want %d", len(gv), len(wv))
	}
	for i := range wv {
		for k, v := range wv[i].(map[string]any) {
			if gv[i].(map[string]any)[k] != v {
				t.Errorf("value[%d].%s = %v, want %v", i, k, gv[i].(map[string]any)[k], v)
			}
		}
	}
}

func TestContractAddMember(t *testing.T) {
	s := New(docTenant(), Options{})
	body := bytes.ReplaceAll(golden(t, "add-member.request.json"), []byte("{id}"), []byte("f0662ee5-84b1-43d6-8338-769cce1bc141"))
	a := do(t, s, "POST", "/v1.0/groups/bd7c6263-4dd5-4ae8-8c96-556e1c0bece6/members/$ref", body)
	if a.status != http.StatusNoContent || len(a.body) != 0 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if !s.InGroup("bd7c6263-4dd5-4ae8-8c96-556e1c0bece6", "member", "f0662ee5-84b1-43d6-8338-769cce1bc141") {
		t.Fatal("not added")
	}
	a = do(t, s, "POST", "/v1.0/groups/bd7c6263-4dd5-4ae8-8c96-556e1c0bece6/members/$ref", body)
	if a.status != http.StatusBadRequest {
		t.Fatalf("duplicate: status %d", a.status)
	}
	got := a.json(t)
	sameShape(t, "error", goldenJSON(t, "error.response.json"), got)
	if msg := got["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, "One or more added object references already exist") {
		t.Errorf("duplicate message %q", msg)
	}
	// An object that does not exist: 404.
	body = bytes.ReplaceAll(golden(t, "add-member.request.json"), []byte("{id}"), []byte("00000000-0000-4000-8000-000000000000"))
	if a := do(t, s, "POST", "/v1.0/groups/bd7c6263-4dd5-4ae8-8c96-556e1c0bece6/members/$ref", body); a.status != http.StatusNotFound {
		t.Fatalf("unknown member: status %d", a.status)
	}
}

func TestContractSendMail(t *testing.T) {
	s := New(docTenant(), Options{})
	for _, f := range []string{"sendmail.request.json", "sendmail-headers.request.json"} {
		a := do(t, s, "POST", "/v1.0/users/AdeleV@contoso.com/sendMail", golden(t, f))
		if a.status != http.StatusAccepted || len(a.body) != 0 {
			t.Fatalf("%s: status %d: %s", f, a.status, a.body)
		}
	}
	out := s.Outbox()
	if len(out) != 2 {
		t.Fatalf("outbox %d", len(out))
	}
	m := out[0]
	if m.From != "AdeleV@contoso.com" || m.Subject != "Meet for lunch?" || m.ContentType != "Text" || m.Body != "The new cafeteria is open." ||
		strings.Join(m.To, ",") != "frannis@contoso.com" || strings.Join(m.Cc, ",") != "danas@contoso.com" || m.SaveToSentItems {
		t.Fatalf("mail 1 = %+v", m)
	}
	if out[1].ContentType != "HTML" || out[1].To[0] != "AlexW@contoso.com" || !out[1].SaveToSentItems {
		t.Fatalf("mail 2 = %+v", out[1])
	}
	// The Go SDK's PascalCase keys are accepted as well.
	pascal := []byte(`{"Message":{"@odata.type":"#microsoft.graph.message","subject":"s","body":{"contentType":"html","content":"<p>x</p>"},"toRecipients":[{"emailAddress":{"address":"a@contoso.com"}}]},"SaveToSentItems":false}`)
	if a := do(t, s, "POST", "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd/sendMail", pascal); a.status != http.StatusAccepted {
		t.Fatalf("PascalCase: status %d: %s", a.status, a.body)
	}
	if m := s.Outbox()[2]; m.ContentType != "HTML" || m.SaveToSentItems || m.To[0] != "a@contoso.com" {
		t.Fatalf("mail 3 = %+v", m)
	}
}

func TestContractGetUser(t *testing.T) {
	s := New(docTenant(), Options{})
	a := do(t, s, "GET", "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd", nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	want := goldenJSON(t, "get-user.response.json").(map[string]any)
	got := a.json(t)
	sameShape(t, "user", want, got)
	// Without $select only the default properties come back.
	for k := range got {
		if _, ok := want[k]; !ok && k != "@odata.context" {
			t.Errorf("unexpected default property %s", k)
		}
	}
	for _, k := range []string{"id", "displayName", "givenName", "surname", "jobTitle", "mail", "userPrincipalName"} {
		if got[k] != want[k] {
			t.Errorf("%s = %v, want %v", k, got[k], want[k])
		}
	}
	// By userPrincipalName too.
	if a := do(t, s, "GET", "/v1.0/users/adelev@contoso.com", nil); a.status != http.StatusOK {
		t.Fatalf("by UPN: %d", a.status)
	}
}

func TestContractListUsersSignInActivity(t *testing.T) {
	s := New(docTenant(), Options{})
	a := do(t, s, "GET", "/v1.0/users?$select=displayName,userPrincipalName,signInActivity", nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	want := goldenJSON(t, "list-users-signinactivity.response.json").(map[string]any)
	got := a.json(t)
	if fragment(got["@odata.context"]) != fragment(want["@odata.context"]) {
		t.Errorf("@odata.context %v", got["@odata.context"])
	}
	// Compare the users that have signed in (the others have null).
	var signedIn []any
	for _, u := range got["value"].([]any) {
		if u.(map[string]any)["signInActivity"] != nil {
			signedIn = append(signedIn, u)
		}
	}
	if len(signedIn) != 2 {
		t.Fatalf("%d users with signInActivity", len(signedIn))
	}
	got["value"] = signedIn
	sameShape(t, "users", want, got)
	adele := signedIn[0].(map[string]any)["signInActivity"].(map[string]any)
	if adele["lastNonInteractiveSignInDateTime"] != "0001-01-01T00:00:00Z" || adele["lastNonInteractiveSignInRequestId"] != "" {
		t.Errorf("never-happened values: %v", adele)
	}
	alex := signedIn[1].(map[string]any)["signInActivity"].(map[string]any)
	if alex["lastSuccessfulSignInDateTime"] != "" || alex["lastSignInDateTime"] == "" {
		t.Errorf("failed-only sign-in: %v", alex)
	}
}

func TestContractListSignIns(t *testing.T) {
	s := New(docTenant(), Options{})
	a := do(t, s, "GET", "/v1.0/auditLogs/signIns?$top=1", nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	want := goldenJSON(t, "list-signins.response.json").(map[string]any)
	got := a.json(t)
	sameShape(t, "signIns", want, got)
	if fragment(got["@odata.context"]) != fragment(want["@odata.context"]) {
		t.Errorf("@odata.context %v", got["@odata.context"])
	}
	next, _ := got["@odata.nextLink"].(string)
	if !strings.Contains(next, "$top=1") || !strings.Contains(next, "$skiptoken=") {
		t.Errorf("nextLink %q", next)
	}
}

func TestContractCheckMemberGroups(t *testing.T) {
	s := New(docTenant(), Options{})
	for _, path := range []string{"/v1.0/directoryObjects/4562bcc8-c436-4f95-b7c0-4f8ce89dca5e/checkMemberGroups", "/v1.0/users/4562bcc8-c436-4f95-b7c0-4f8ce89dca5e/checkMemberGroups"} {
		a := do(t, s, "POST", path, golden(t, "checkmembergroups.request.json"))
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		want := goldenJSON(t, "checkmembergroups.response.json").(map[string]any)
		got := a.json(t)
		sameShape(t, "check", want, got)
		if fmt.Sprint(got["value"]) != fmt.Sprint(want["value"]) || fragment(got["@odata.context"]) != fragment(want["@odata.context"]) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

func TestContractGzipBody(t *testing.T) {
	s := New(docTenant(), Options{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(golden(t, "create-roleassignment.request.json"))
	_ = zw.Close()
	a := do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", buf.Bytes(), "Content-Encoding", "gzip")
	if a.status != http.StatusCreated {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	// Something that claims gzip but is not is a 400, not a crash.
	a = do(t, s, "POST", "/v1.0/roleManagement/directory/roleAssignments", []byte("{}"), "Content-Encoding", "gzip")
	if a.status != http.StatusBadRequest {
		t.Fatalf("bad gzip: status %d", a.status)
	}
}

// Every error answer is an OData error body.
func TestContractErrorBodies(t *testing.T) {
	s := New(docTenant(), Options{})
	s.AddFault(Fault{PathPrefix: "/users/f0662ee5", Status: 429, RetryAfter: 2, Count: 1})
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1.0/users/00000000-0000-4000-8000-000000000000", 404},
		{"GET", "/v1.0/groups/00000000-0000-4000-8000-000000000000", 404},
		{"DELETE", "/v1.0/roleManagement/directory/roleAssignments/nope", 404},
		{"DELETE", "/v1.0/groups/bd7c6263-4dd5-4ae8-8c96-556e1c0bece6/members/f0662ee5-84b1-43d6-8338-769cce1bc141/$ref", 404},
		{"GET", "/v1.0/nosuchthing", 400},
		{"GET", "/beta/users", 400},
		{"GET", "/v1.0/users?$filter=" + url.QueryEscape("displayName eq 'a' or displayName eq 'b'"), 400},
		{"PATCH", "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd", 405},
		{"GET", "/v1.0/users/f0662ee5-84b1-43d6-8338-769cce1bc141", 429},
	}
	wantErr := goldenJSON(t, "error.response.json")
	for _, c := range cases {
		a := do(t, s, c.method, c.path, nil)
		if a.status != c.status {
			t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, a.status, c.status, a.body)
			continue
		}
		sameShape(t, c.method+" "+c.path, wantErr, a.json(t))
	}
	if got := do(t, s, "GET", "/v1.0/users/f0662ee5-84b1-43d6-8338-769cce1bc141", nil); got.status != 200 {
		t.Fatalf("fault should have been used up, got %d", got.status)
	}
	keys := []string{}
	for k := range goldenJSON(t, "error.response.json").(map[string]any)["error"].(map[string]any)["innerError"].(map[string]any) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "client-request-id,date,request-id" {
		t.Fatalf("golden innerError keys %v", keys)
	}
}
