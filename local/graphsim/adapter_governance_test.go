package graphsim_test

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/shared/domain"
)

const bg2 = "f18e8cfa-4802-41ad-8761-3ba93cf992bf"

func TestListRoleAssignmentsByRole(t *testing.T) {
	e := newEnv(t, graphsim.Options{PageSize: 2}, nil)
	ctx := context.Background()
	// The groups' roles are jitpim's to give (the demo tenant starts without
	// them): give two, as jitpim's policy file does.
	for _, ra := range []struct{ principal, role string }{{godMode, roleGA}, {"6e2981ed-9cb2-4d22-928f-dd8946241809", roleExch}} {
		if _, _, err := e.c.AddRoleAssignment(ctx, domain.CanonicalID(ra.principal), domain.CanonicalID(ra.role), "/"); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.c.ListRoleAssignmentsByRole(ctx, roleGA)
	if err != nil {
		t.Fatal(err)
	}
	var holders []string
	for _, ra := range list {
		if ra.RoleDefinitionID != roleGA || ra.DirectoryScopeID != "/" || ra.ID == "" {
			t.Fatalf("assignment %+v", ra)
		}
		holders = append(holders, string(ra.PrincipalID))
	}
	sort.Strings(holders)
	want := []string{godMode, bg1, bg2}
	sort.Strings(want)
	if len(holders) != 3 || holders[0] != want[0] || holders[1] != want[1] || holders[2] != want[2] {
		t.Fatalf("Global Administrator holders over several pages: %v, want %v", holders, want)
	}
	exch, err := e.c.ListRoleAssignmentsByRole(ctx, roleExch)
	if err != nil || len(exch) != 2 { // Sam (outside PIM) and PAG-SERVICE-DESK-L3
		t.Fatalf("Exchange Administrator: %+v %v", exch, err)
	}
	none, err := e.c.ListRoleAssignmentsByRole(ctx, "00000000-0000-0000-0000-00000000beef")
	if err != nil || len(none) != 0 {
		t.Fatalf("unknown role: %v %v", none, err)
	}
	if e.countRequests("GET", "/roleManagement/directory/roleAssignments") < 2 {
		t.Fatal("paging not exercised")
	}
	wantCode(t, func() error { _, err := e.c.ListRoleAssignmentsByRole(ctx, ""); return err }(), domain.CodeInvalid)
}

func TestCountUsers(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	n, err := e.c.CountUsers(context.Background())
	if err != nil || n != 11 {
		t.Fatalf("CountUsers = %d, %v; the demo tenant has 11 users", n, err)
	}
	// The simulator, like Graph, wants ConsistencyLevel: eventual: the adapter sent it.
	res, err := http.Get(e.srv.URL + "/v1.0/users/$count")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("count without ConsistencyLevel: %d", res.StatusCode)
	}
	e.sim.AddFault(graphsim.Fault{PathPrefix: "/users/$count", Status: 503, RetryAfter: 0, Count: 10})
	_, err = e.c.CountUsers(context.Background())
	wantCode(t, err, domain.CodeTransient)
}

func TestGetManager(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	_, err := e.c.GetManager(ctx, adam)
	wantCode(t, err, domain.CodeNotFound)
	if err := e.sim.SetManager(adam, alice); err != nil {
		t.Fatal(err)
	}
	m, err := e.c.GetManager(ctx, adam)
	if err != nil || m.ID != alice || m.UserPrincipalName != "alice@jitpimdemo.onmicrosoft.com" || m.Mail == "" || !m.Enabled {
		t.Fatalf("manager: %+v %v", m, err)
	}
	_, err = e.c.GetManager(ctx, nobody)
	wantCode(t, err, domain.CodeNotFound)
}

func TestListGroupOwners(t *testing.T) {
	e := newEnv(t, graphsim.Options{PageSize: 1}, nil)
	owners, err := e.c.ListGroupOwners(context.Background(), pagDesk)
	if err != nil || len(owners) != 1 || owners[0].ID != alice || owners[0].UserPrincipalName == "" {
		t.Fatalf("owners of PAG-SERVICE-DESK: %+v %v", owners, err)
	}
	none, err := e.c.ListGroupOwners(context.Background(), allStaff)
	if err != nil || len(none) != 0 {
		t.Fatalf("a group without owners: %v %v", none, err)
	}
	_, err = e.c.ListGroupOwners(context.Background(), nobody)
	wantCode(t, err, domain.CodeNotFound)
}

func TestSignInsSinceIsTheDomainView(t *testing.T) {
	e := newEnv(t, graphsim.Options{}, nil)
	ctx := context.Background()
	var log domain.SignInLog = e.c
	list, err := log.SignInsSince(ctx, bg1, time.Now().Add(-10*24*time.Hour))
	if err != nil || len(list) != 1 {
		t.Fatalf("recent bg1 sign-ins: %+v %v", list, err)
	}
	si := list[0]
	if si.ID == "" || si.UserID != bg1 || si.Succeeded || si.IPAddress != "192.0.2.44" || si.App != "Microsoft Entra admin center" ||
		time.Since(si.Time) < 119*time.Hour || time.Since(si.Time) > 121*time.Hour {
		t.Fatalf("sign-in: %+v", si)
	}
	id, err := e.sim.AddSignIn(graphsim.SignIn{UserID: bg1, IPAddress: "198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	list, err = log.SignInsSince(ctx, bg1, time.Now().Add(-time.Hour))
	if err != nil || len(list) != 1 || list[0].ID != id || !list[0].Succeeded {
		t.Fatalf("new sign-in: %+v %v", list, err)
	}
}
