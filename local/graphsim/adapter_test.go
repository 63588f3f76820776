package graphsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/graph"
)

// The Graph adapter (shared/graph) driven against the simulator. These
// tests live here, not beside the adapter, because shared/ never imports
// local/.

// Demo tenant ids (local/demo/tenant.json).
const (
	adam    = "a47440fe-ede2-441f-a6c7-93ef77d456d2"
	steve   = "15913a41-3b2d-433e-8b1c-348c5ea65257"
	stan    = "bab627f5-13ed-48bf-ab5f-3cd25232621a"
	alice   = "c4049c7c-e12b-4472-b42d-c24808aa1054"
	gina    = "4d0013b9-f403-43b3-9ed8-22bfdf76040f"
	derek   = "377ed4fe-bc3f-41af-9aca-594e0e3b34c2"
	bg1     = "e56a8394-5973-4642-b020-43bafd44ea44"
	nobody  = "00000000-0000-4000-8000-000000000000"
	pagDesk = "339ecba2-4840-4502-aec1-cc35380b1d55"
	// serviceDeskStaff is a plain group holding Adam and Steve.
	serviceDeskStaff = "3b8d8c3e-a33f-4f3a-bdca-bf66dfd8159d"
	pagL3            = "6e2981ed-9cb2-4d22-928f-dd8946241809"
	godMode          = "6756a9c9-c7e3-4b68-9883-5dbadb50b0e6"
	allStaff         = "b5f2f07d-5ab3-4e1b-87e9-f9579b6504b5"
	roleGA           = "62e90394-69f5-4237-9190-012177145e10"
	roleExch         = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	roleHelp         = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUser         = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleSecR         = "5d6b6bb7-de71-4623-b4af-96380a352509"
	roleGR           = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	roleIntun        = "3a2c62db-5318-420d-8d74-23affee5d9d5"
	mailbox          = "jitpim@jitpimdemo.onmicrosoft.com"
)

type env struct {
	sim *graphsim.Server
	srv *httptest.Server
	c   *graph.Client
}

func newEnv(t *testing.T, opts graphsim.Options, tweak func(*graph.Config)) *env {
	t.Helper()
	tenant, err := graphsim.LoadTenant("../demo/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	sim := graphsim.New(tenant, opts)
	srv := httptest.NewUnstartedServer(sim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := graph.Config{BaseURL: srv.URL + "/v1.0", Anonymous: true, MailSender: mailbox, Timeout: 20 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := graph.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, srv: srv, c: c}
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", code)
	}
	var de *domain.Error
	if !asDomain(err, &de) {
		t.Fatalf("want *domain.Error, got %T %v", err, err)
	}
	if de.Code != code {
		t.Fatalf("want code %s, got %s (%v)", code, de.Code, err)
	}
}

func asDomain(err error, de **domain.Error) bool {
	return errors.As(err, de)
}

func (e *env) countRequests(method, pathPart string) int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Method == method && strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

func TestGetUser(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	u, err := e.c.GetUser(ctx, adam)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != adam || u.UserPrincipalName != "adam@jitpimdemo.onmicrosoft.com" || u.DisplayName != "Adam Admin" || u.Mail != "adam@jitpimdemo.onmicrosoft.com" || !u.Enabled {
		t.Fatalf("unexpected user %+v", u)
	}
	if ago := time.Since(u.LastSignIn); ago < 23*time.Hour || ago > 25*time.Hour {
		t.Fatalf("LastSignIn %v: want about 24h ago", u.LastSignIn)
	}

	d, err := e.c.GetUser(ctx, derek)
	if err != nil {
		t.Fatal(err)
	}
	if d.Enabled {
		t.Fatal("Derek is disabled in the demo tenant")
	}
	if err := e.sim.SetUserEnabled(adam, false); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.c.GetUser(ctx, adam); u.Enabled {
		t.Fatal("Adam was disabled in the simulator")
	}

	// Never signed in: signInActivity is null.
	mb, err := e.c.GetUser(ctx, mailbox)
	if err != nil || !mb.LastSignIn.IsZero() || mb.ID != "1eccb846-2ebc-4868-af9d-47033c8479fa" {
		t.Fatalf("mailbox: %+v %v", mb, err)
	}
	// Only a non-interactive sign-in: Graph sends lastSignInDateTime as
	// 0001-01-01T00:00:00Z; the last successful one is used.
	if _, err := e.sim.AddSignIn(graphsim.SignIn{UserID: mailbox, HoursAgo: ptr(1.0), IsInteractive: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	mb, err = e.c.GetUser(ctx, mailbox)
	if err != nil || time.Since(mb.LastSignIn) > 2*time.Hour {
		t.Fatalf("mailbox after a non-interactive sign-in: %+v %v", mb, err)
	}
	// Only a failed interactive sign-in: lastSuccessfulSignInDateTime is "".
	e.sim.Reset()
	if _, err := e.sim.AddSignIn(graphsim.SignIn{UserID: mailbox, HoursAgo: ptr(0.5), ErrorCode: 50126}); err != nil {
		t.Fatal(err)
	}
	if u, err := e.c.GetUser(ctx, mailbox); err != nil || time.Since(u.LastSignIn) > time.Hour {
		t.Fatalf("mailbox after a failed sign-in: %+v %v", u, err)
	}

	_, err = e.c.GetUser(ctx, nobody)
	wantCode(t, err, domain.CodeNotFound)
	_, err = e.c.GetUser(ctx, "")
	wantCode(t, err, domain.CodeInvalid)
}

func TestGetUserWithoutSignInPermission(t *testing.T) {
	e := newEnv(t, graphsim.Options{DenySignInActivity: true}, nil)
	ctx := context.Background()
	u, err := e.c.GetUser(ctx, adam)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != adam || !u.Enabled || !u.LastSignIn.IsZero() {
		t.Fatalf("want Adam without last sign-in, got %+v", u)
	}
	if n := e.countRequests("GET", "/users/"); n != 2 {
		t.Fatalf("want a 403 then a plain GET, got %d requests", n)
	}
	// The refusal is remembered: the next user is read in one request.
	if _, err := e.c.GetUser(ctx, steve); err != nil {
		t.Fatal(err)
	}
	if n := e.countRequests("GET", "/users/"); n != 3 {
		t.Fatalf("want 3 requests in all, got %d", n)
	}
}

func TestIsMemberOf(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		user, group domain.ObjectID
		want        bool
	}{
		{adam, serviceDeskStaff, true},
		{steve, serviceDeskStaff, true},
		{stan, serviceDeskStaff, false},
		{adam, pagDesk, false}, // privileged access groups have no standing members in the demo
		{adam, allStaff, true}, // through the nested Service Desk Staff group
		{gina, godMode, false},
		{adam, nobody, false},
	} {
		got, err := e.c.IsMemberOf(ctx, tc.user, tc.group)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("IsMemberOf(%s, %s) = %v, want %v", tc.user, tc.group, got, tc.want)
		}
	}
	_, err := e.c.IsMemberOf(ctx, nobody, pagDesk)
	wantCode(t, err, domain.CodeNotFound)
}

func TestRoleAssignmentIdempotent(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	id, created, err := e.c.AddRoleAssignment(ctx, gina, roleGA, "/")
	if err != nil || !created || id == "" {
		t.Fatalf("first add: id=%q created=%v err=%v", id, created, err)
	}
	id2, created, err := e.c.AddRoleAssignment(ctx, gina, roleGA, "")
	if err != nil || created || id2 != id {
		t.Fatalf("second add: id=%q created=%v err=%v (want %q, false)", id2, created, err, id)
	}
	if n := e.sim.CountRoleAssignments(gina, roleGA, "/"); n != 1 {
		t.Fatalf("%d assignments, want 1", n)
	}
	list, err := e.c.ListRoleAssignments(ctx, gina)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0] != (domain.RoleAssignment{ID: id, PrincipalID: gina, RoleDefinitionID: roleGA, DirectoryScopeID: "/"}) {
		t.Fatalf("list = %+v", list)
	}
	if err := e.c.RemoveRoleAssignment(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RemoveRoleAssignment(ctx, id); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if e.sim.HasRoleAssignment(gina, roleGA, "/") {
		t.Fatal("assignment still there")
	}
	list, err = e.c.ListRoleAssignments(ctx, gina)
	if err != nil || len(list) != 0 {
		t.Fatalf("list after remove = %+v, %v", list, err)
	}

	// Break-glass accounts hold permanent Global Administrator.
	list, err = e.c.ListRoleAssignments(ctx, bg1)
	if err != nil || len(list) != 1 || list[0].RoleDefinitionID != roleGA {
		t.Fatalf("bg1 assignments = %+v, %v", list, err)
	}

	_, _, err = e.c.AddRoleAssignment(ctx, gina, nobody, "/")
	wantCode(t, err, domain.CodeInvalid)
}

// Two concurrent adds both miss the assignment in their look-up; the one
// that loses the create gets Graph's conflict answer and reports the
// winner's assignment as existing.
func TestAddRoleAssignmentConflictIsExisting(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	e.sim.AddFault(graphsim.Fault{Method: "GET", PathPrefix: "/roleManagement/directory/roleAssignments", Count: 2, StaleMs: 300})
	type res struct {
		id      string
		created bool
		err     error
	}
	out := make([]res, 2)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, c, err := e.c.AddRoleAssignment(context.Background(), stan, roleUser, "/")
			out[i] = res{id, c, err}
		}()
	}
	wg.Wait()
	for _, r := range out {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	if out[0].id != out[1].id || out[0].created == out[1].created {
		t.Fatalf("want one create and one existing of the same id, got %+v", out)
	}
	if n := e.sim.CountRoleAssignments(stan, roleUser, "/"); n != 1 {
		t.Fatalf("%d assignments, want 1", n)
	}
	if n := e.countRequests("POST", "/roleAssignments"); n != 2 {
		t.Fatalf("want both adds to have posted, got %d posts", n)
	}
}

func TestListRoleAssignmentsPaging(t *testing.T) {
	e := newEnv(t, graphsim.Options{PageSize: 2}, nil)
	ctx := context.Background()
	want := map[string]bool{}
	for _, r := range []domain.ObjectID{roleGA, roleExch, roleHelp, roleUser, roleSecR, roleGR, roleIntun} {
		id, created, err := e.c.AddRoleAssignment(ctx, gina, r, "/")
		if err != nil || !created {
			t.Fatalf("add %s: %v %v", r, created, err)
		}
		want[id] = true
	}
	list, err := e.c.ListRoleAssignments(ctx, gina)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) {
		t.Fatalf("got %d assignments over pages, want %d", len(list), len(want))
	}
	for _, a := range list {
		if !want[a.ID] || a.PrincipalID != gina {
			t.Fatalf("unexpected %+v", a)
		}
	}
	pages := 0
	for _, r := range e.sim.Requests() {
		if r.Method == "GET" && strings.Contains(r.RawQuery, "skiptoken") {
			pages++
		}
	}
	if pages < 3 {
		t.Fatalf("want the list to follow at least 3 nextLinks, followed %d", pages)
	}
}

func TestGroupMembership(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	created, err := e.c.AddGroupMember(ctx, godMode, domain.AccessMember, gina)
	if err != nil || !created {
		t.Fatalf("add: %v %v", created, err)
	}
	created, err = e.c.AddGroupMember(ctx, godMode, domain.AccessMember, gina)
	if err != nil || created {
		t.Fatalf("second add: %v %v (want false, nil)", created, err)
	}
	if ok, err := e.c.IsMemberOf(ctx, gina, godMode); err != nil || !ok {
		t.Fatalf("IsMemberOf after add: %v %v", ok, err)
	}
	if err := e.c.RemoveGroupMember(ctx, godMode, domain.AccessMember, gina); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RemoveGroupMember(ctx, godMode, domain.AccessMember, gina); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if e.sim.InGroup(godMode, "member", gina) {
		t.Fatal("still a member")
	}

	// Owners. Steve is a member too, to show owner changes leave members alone.
	if _, err := e.c.AddGroupMember(ctx, pagDesk, domain.AccessMember, steve); err != nil || !e.sim.InGroup(pagDesk, "member", steve) {
		t.Fatalf("add member: %v", err)
	}
	created, err = e.c.AddGroupMember(ctx, pagDesk, domain.AccessOwner, alice)
	if err != nil || created {
		t.Fatalf("Alice already owns PAG-SERVICE-DESK: %v %v", created, err)
	}
	created, err = e.c.AddGroupMember(ctx, pagDesk, domain.AccessOwner, steve)
	if err != nil || !created || !e.sim.InGroup(pagDesk, "owner", steve) {
		t.Fatalf("add owner: %v %v", created, err)
	}
	if e.sim.InGroup(pagDesk, "member", gina) {
		t.Fatal("owner add touched members")
	}
	if err := e.c.RemoveGroupMember(ctx, pagDesk, domain.AccessOwner, steve); err != nil || e.sim.InGroup(pagDesk, "owner", steve) {
		t.Fatalf("remove owner: %v", err)
	}
	if !e.sim.InGroup(pagDesk, "member", steve) {
		t.Fatal("removing the owner removed the member")
	}

	_, err = e.c.AddGroupMember(ctx, nobody, domain.AccessMember, gina)
	wantCode(t, err, domain.CodeNotFound)
	_, err = e.c.AddGroupMember(ctx, godMode, domain.AccessMember, nobody)
	wantCode(t, err, domain.CodeNotFound)
	_, err = e.c.AddGroupMember(ctx, godMode, "admin", gina)
	wantCode(t, err, domain.CodeInvalid)
}

func TestThrottledThenSucceeds(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	e.sim.AddFault(graphsim.Fault{Method: "GET", PathPrefix: "/users/", Count: 1, Status: 429, RetryAfter: 1})
	start := time.Now()
	u, err := e.c.GetUser(context.Background(), steve)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != steve {
		t.Fatalf("got %+v", u)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Fatalf("took %v: want the 1s Retry-After honoured", d)
	}
	if n := e.countRequests("GET", "/users/"); n != 2 {
		t.Fatalf("want 2 requests (429, then 200), got %d", n)
	}

	// A POST is retried with its body intact.
	e.sim.AddFault(graphsim.Fault{Method: "POST", PathPrefix: "/roleManagement", Count: 1, Status: 503, RetryAfter: 1})
	_, created, err := e.c.AddRoleAssignment(context.Background(), stan, roleHelp, "/")
	if err != nil || !created || !e.sim.HasRoleAssignment(stan, roleHelp, "/") {
		t.Fatalf("add after 503: %v %v", created, err)
	}
}

func TestPersistentUnavailableIsTransient(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	e.sim.AddFault(graphsim.Fault{PathPrefix: "/users", Status: 503, RetryAfter: 1})
	start := time.Now()
	_, err := e.c.GetUser(context.Background(), adam)
	wantCode(t, err, domain.CodeTransient)
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("took %v", d)
	}
	if n := e.countRequests("GET", "/users/"); n != 4 {
		t.Fatalf("want 1 try and 3 retries, got %d requests", n)
	}
}

func TestRetryWaitIsBounded(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, func(c *graph.Config) { c.MaxRetryWait = 2500 * time.Millisecond })
	// No Retry-After: exponential back-off, cut off by MaxRetryWait.
	e.sim.AddFault(graphsim.Fault{Method: "GET", Status: 504})
	start := time.Now()
	_, err := e.c.ListRoleAssignments(context.Background(), adam)
	wantCode(t, err, domain.CodeTransient)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v, want at most MaxRetryWait", d)
	}
	// A Retry-After longer than the budget is not waited for at all.
	e.sim.ClearFaults()
	e.sim.AddFault(graphsim.Fault{Method: "GET", Status: 429, RetryAfter: 120})
	start = time.Now()
	_, err = e.c.GetUser(context.Background(), adam)
	wantCode(t, err, domain.CodeTransient)
	if !strings.Contains(err.Error(), "Retry-After 120") {
		t.Fatalf("want the Retry-After in the error, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, func(c *graph.Config) { c.Timeout = 300 * time.Millisecond })
	e.sim.AddFault(graphsim.Fault{Method: "GET", LatencyMs: 2000, Count: 1})
	start := time.Now()
	_, err := e.c.GetUser(context.Background(), adam)
	wantCode(t, err, domain.CodeTransient)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("took %v", d)
	}
}

func TestErrorCodes(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	e.sim.AddFault(graphsim.Fault{Method: "POST", PathPrefix: "/roleManagement", Status: 403, Count: 1})
	_, _, err := e.c.AddRoleAssignment(ctx, stan, roleGA, "/")
	wantCode(t, err, domain.CodeForbidden)
	if e.sim.HasRoleAssignment(stan, roleGA, "/") {
		t.Fatal("a forbidden add must not assign")
	}
	e.sim.AddFault(graphsim.Fault{Method: "DELETE", Status: 500, Count: 1, Code: "UnknownError", Message: "boom"})
	err = e.c.RemoveGroupMember(ctx, pagDesk, domain.AccessMember, adam)
	wantCode(t, err, domain.CodeTransient)
	if !strings.Contains(err.Error(), "boom") {
		t.Fatalf("want Graph's message kept, got %v", err)
	}
	// Removing what does not exist is done.
	if err := e.c.RemoveRoleAssignment(ctx, "no-such-assignment"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RemoveGroupMember(ctx, pagDesk, domain.AccessMember, stan); err != nil {
		t.Fatal(err)
	}
}

func TestSendMail(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	err := e.c.SendMail(ctx, []string{"alice@jitpimdemo.onmicrosoft.com", "gina@jitpimdemo.onmicrosoft.com"},
		"Approval needed: Global Administrator", "<p>Gina asks for <b>Global Administrator</b>.</p>", "Gina asks for Global Administrator.")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.SendMail(ctx, []string{"adam@jitpimdemo.onmicrosoft.com"}, "Plain", "", "text only"); err != nil {
		t.Fatal(err)
	}
	out := e.sim.Outbox()
	if len(out) != 2 {
		t.Fatalf("outbox has %d mails", len(out))
	}
	m := out[0]
	if m.From != mailbox || strings.Join(m.To, ",") != "alice@jitpimdemo.onmicrosoft.com,gina@jitpimdemo.onmicrosoft.com" ||
		m.Subject != "Approval needed: Global Administrator" || m.ContentType != "HTML" || !strings.Contains(m.Body, "<b>Global Administrator</b>") || m.SaveToSentItems {
		t.Fatalf("unexpected mail %+v", m)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(m.Request, &raw); err != nil {
		t.Fatal(err)
	}
	// The Go SDK sends sendMail's parameters PascalCase; Graph and the
	// simulator match them case-insensitively.
	if _, ok := raw["Message"]; !ok {
		t.Fatalf("want PascalCase Message, the SDK sent keys %v", keys(raw))
	}
	if string(raw["SaveToSentItems"]) != "false" {
		t.Fatalf("want SaveToSentItems false, the SDK sent %v", keys(raw))
	}
	if out[1].ContentType != "Text" || out[1].Body != "text only" || out[1].To[0] != "adam@jitpimdemo.onmicrosoft.com" {
		t.Fatalf("unexpected text mail %+v", out[1])
	}

	err = e.c.SendMail(ctx, nil, "x", "", "y")
	wantCode(t, err, domain.CodeInvalid)
	noSender := newEnv(t, graphsim.Options{}, func(c *graph.Config) { c.MailSender = "" })
	wantCode(t, noSender.c.SendMail(ctx, []string{"a@b.c"}, "x", "", "y"), domain.CodeInvalid)
	badSender := newEnv(t, graphsim.Options{}, func(c *graph.Config) { c.MailSender = "ghost@jitpimdemo.onmicrosoft.com" })
	wantCode(t, badSender.c.SendMail(ctx, []string{"a@b.c"}, "x", "", "y"), domain.CodeNotFound)
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestGzipRequestBodies(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, func(c *graph.Config) { c.CompressRequests = true })
	ctx := context.Background()
	if _, created, err := e.c.AddRoleAssignment(ctx, stan, roleExch, "/"); err != nil || !created {
		t.Fatalf("add: %v %v", created, err)
	}
	if created, err := e.c.AddGroupMember(ctx, godMode, domain.AccessMember, stan); err != nil || !created {
		t.Fatalf("add member: %v %v", created, err)
	}
	if err := e.c.SendMail(ctx, []string{"stan@jitpimdemo.onmicrosoft.com"}, "gz", "", "zipped"); err != nil {
		t.Fatal(err)
	}
	gz := 0
	for _, r := range e.sim.Requests() {
		if r.Method == "POST" {
			if r.ContentEncoding != "gzip" {
				t.Fatalf("POST %s was not gzipped", r.Path)
			}
			gz++
		}
	}
	if gz != 3 || !e.sim.HasRoleAssignment(stan, roleExch, "/") || !e.sim.InGroup(godMode, "member", stan) || e.sim.Outbox()[0].Body != "zipped" {
		t.Fatalf("gzip bodies not understood (%d gzipped posts)", gz)
	}
	// And plain bodies by default.
	p := newEnv(t, graphsim.Options{}, nil)
	if _, _, err := p.c.AddRoleAssignment(ctx, stan, roleExch, "/"); err != nil {
		t.Fatal(err)
	}
	for _, r := range p.sim.Requests() {
		if r.ContentEncoding != "" {
			t.Fatalf("%s %s compressed although CompressRequests is off", r.Method, r.Path)
		}
	}
}

func TestSignInEntries(t *testing.T) {
	e := newEnv(t, graphsim.Options{PageSize: 2}, nil)
	ctx := context.Background()
	list, err := e.c.SignInEntries(ctx, bg1, time.Now().Add(-10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Succeeded() || list[0].ErrorCode != 50126 || list[0].UserID != bg1 || list[0].UserPrincipalName != "bg1@jitpimdemo.onmicrosoft.com" {
		t.Fatalf("recent bg1 sign-ins = %+v", list)
	}
	for i := range 5 {
		if _, err := e.sim.AddSignIn(graphsim.SignIn{UserID: bg1, HoursAgo: ptr(float64(i) + 0.5), IPAddress: "198.51.100.9"}); err != nil {
			t.Fatal(err)
		}
	}
	list, err = e.c.SignInEntries(ctx, bg1, time.Now().Add(-60*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 7 {
		t.Fatalf("want 7 sign-ins over several pages, got %d", len(list))
	}
	for i := 1; i < len(list); i++ {
		if list[i].CreatedAt.Before(list[i-1].CreatedAt) {
			t.Fatal("not oldest first")
		}
	}
	if !list[6].Succeeded() || list[6].IPAddress != "198.51.100.9" || !list[6].Interactive {
		t.Fatalf("newest = %+v", list[6])
	}
	list, err = e.c.SignInEntries(ctx, nobody, time.Now().Add(-time.Hour))
	if err != nil || len(list) != 0 {
		t.Fatalf("unknown user: %v %v", list, err)
	}
}

func TestListGroupMembers(t *testing.T) {
	e := newEnv(t, graphsim.Options{PageSize: 2}, nil)
	ctx := context.Background()
	users, err := e.c.ListGroupMembers(ctx, allStaff)
	if err != nil {
		t.Fatal(err)
	}
	got := map[domain.ObjectID]bool{}
	for _, u := range users {
		if u.UserPrincipalName == "" || u.DisplayName == "" {
			t.Fatalf("incomplete user %+v", u)
		}
		got[u.ID] = true
	}
	// Adam and Steve only through the nested Service Desk Staff group; the
	// nested group itself is not a user.
	for _, id := range []domain.ObjectID{adam, steve, stan, alice, gina, "e342ff97-349e-4552-82cc-abdfe2d5997f", "5f5e9064-8c0a-4d93-a415-69bda49e5511"} {
		if !got[id] {
			t.Errorf("%s missing", id)
		}
	}
	if len(users) != 7 {
		t.Fatalf("%d users: %+v", len(users), users)
	}
	l1, err := e.c.ListGroupMembers(ctx, "75a4ae97-b406-4094-9584-11631d0fe5cc")
	if err != nil || len(l1) != 1 || l1[0].ID != derek || l1[0].Enabled {
		t.Fatalf("L1 = %+v, %v (want disabled Derek)", l1, err)
	}
	empty, err := e.c.ListGroupMembers(ctx, godMode)
	if err != nil || len(empty) != 0 {
		t.Fatalf("God Mode = %+v, %v", empty, err)
	}
	_, err = e.c.ListGroupMembers(ctx, nobody)
	wantCode(t, err, domain.CodeNotFound)
}

func TestFindUser(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	u, err := e.c.FindUser(ctx, "ADAM@jitpimdemo.onmicrosoft.com")
	if err != nil || u.ID != adam || !u.Enabled {
		t.Fatalf("by UPN: %+v %v", u, err)
	}
	u, err = e.c.FindUser(ctx, "alice.approver@jitpimdemo.onmicrosoft.com")
	if err != nil || u.ID != alice || u.UserPrincipalName != "alice@jitpimdemo.onmicrosoft.com" {
		t.Fatalf("by mail: %+v %v", u, err)
	}
	u, err = e.c.FindUser(ctx, "derek@jitpimdemo.onmicrosoft.com")
	if err != nil || u.Enabled {
		t.Fatalf("disabled: %+v %v", u, err)
	}
	_, err = e.c.FindUser(ctx, "nobody@jitpimdemo.onmicrosoft.com")
	wantCode(t, err, domain.CodeNotFound)
	// A quote cannot break out of the OData literal.
	_, err = e.c.FindUser(ctx, "x' or userPrincipalName eq 'adam@jitpimdemo.onmicrosoft.com")
	wantCode(t, err, domain.CodeNotFound)
	_, err = e.c.FindUser(ctx, " ")
	wantCode(t, err, domain.CodeInvalid)
}

func ptr[T any](v T) *T { return &v }
