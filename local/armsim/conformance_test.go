package armsim_test

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/armsim"
	"github.com/jitpim/jitpim/shared/azurerbac"
	"github.com/jitpim/jitpim/shared/azurerbactest"
	"github.com/jitpim/jitpim/shared/domain"
)

// suiteSeed is the estate the conformance suite's scopes live in.
var suiteSeed = armsim.Seed{Subscriptions: []armsim.Subscription{{ID: "6f2c9d1e-8a4b-4c3d-9e5f-1a2b3c4d5e6f", DisplayName: "suite",
	ResourceGroups: []string{"rg-app", "rg-data"}}}}

type env struct {
	sim *armsim.Server
	url string
}

func start(t *testing.T, seed armsim.Seed, opts armsim.Options) env {
	t.Helper()
	sim := armsim.New(seed, opts)
	srv := httptest.NewUnstartedServer(sim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return env{sim, srv.URL}
}

func (e env) client(t *testing.T, cfg azurerbac.Config) *azurerbac.Client {
	t.Helper()
	cfg.Endpoint, cfg.Anonymous = e.url, true
	c, err := azurerbac.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The ARM adapter, against the simulator, passes the suite the in-memory
// fake (shared/fakearm) passes. Pages of two make every listing follow
// nextLink.
func TestAzureRBACConformance(t *testing.T) {
	azurerbactest.Run(t, func(t *testing.T) (domain.AzureRBAC, azurerbactest.Seeder) {
		e := start(t, suiteSeed, armsim.Options{PageSize: 2})
		return e.client(t, azurerbac.Config{}), seeder{t, e.sim}
	})
}

type seeder struct {
	t   *testing.T
	sim *armsim.Server
}

func (s seeder) Seed(a domain.AzureRoleAssignment) {
	s.t.Helper()
	if err := s.sim.AddAssignment(armsim.Assignment{Name: a.Name, Scope: a.Scope, PrincipalID: string(a.PrincipalID),
		RoleDefinitionID: string(a.RoleDefinitionID)}); err != nil {
		s.t.Fatalf("seeding the simulator: %v", err)
	}
}

func (s seeder) NameScope(scope, displayName string) {
	s.t.Helper()
	if err := s.sim.NameScope(scope, displayName); err != nil {
		s.t.Fatalf("naming a scope in the simulator: %v", err)
	}
}

const (
	rg    = "/subscriptions/6f2c9d1e-8a4b-4c3d-9e5f-1a2b3c4d5e6f/resourcegroups/rg-app"
	user  = domain.ObjectID("a11ce000-0000-4000-8000-000000000001")
	name1 = "00000000-0000-4000-a000-000000000001"
)

// A 429 is retried after the Retry-After ARM sends; one longer than
// MaxRetryWait is not waited for: the call ends as transient at once, so
// the sweep retries with its own backoff.
func TestThrottlingHonoursRetryAfter(t *testing.T) {
	e := start(t, suiteSeed, armsim.Options{})
	c := e.client(t, azurerbac.Config{MaxRetryWait: 5 * time.Second})
	ctx := context.Background()

	e.sim.AddFault(armsim.Fault{Method: "PUT", Status: 429, RetryAfter: 1, Count: 1})
	begin := time.Now()
	created, err := c.AddRoleAssignment(ctx, rg, name1, user, domain.AzureRoleContributor)
	if err != nil || !created {
		t.Fatalf("after one 429: created=%v, %v", created, err)
	}
	if waited := time.Since(begin); waited < 900*time.Millisecond {
		t.Fatalf("retried after %s, before the Retry-After of 1s", waited)
	}

	e.sim.AddFault(armsim.Fault{Method: "DELETE", Status: 429, RetryAfter: 120})
	begin = time.Now()
	err = c.RemoveRoleAssignment(ctx, rg, name1)
	if domain.ErrorCode(err) != domain.CodeTransient {
		t.Fatalf("a Retry-After beyond MaxRetryWait: %v, want transient", err)
	}
	if waited := time.Since(begin); waited > 3*time.Second {
		t.Fatalf("waited %s for a Retry-After it should not honour", waited)
	}
	if !e.sim.Has(string(user), string(domain.AzureRoleContributor), rg) {
		t.Fatal("the throttled delete removed the assignment")
	}
	e.sim.ClearFaults()
	if err := c.RemoveRoleAssignment(ctx, rg, name1); err != nil {
		t.Fatal(err)
	}
}

// A create that landed but whose answer was lost (a 500 after the write)
// is retried by the SDK and finds its own assignment: one assignment, no
// error.
func TestLostAnswerRetriedByName(t *testing.T) {
	e := start(t, suiteSeed, armsim.Options{})
	c := e.client(t, azurerbac.Config{})
	e.sim.AddFault(armsim.Fault{Method: "PUT", Status: 500, AfterWrite: true, Count: 1})
	if _, err := c.AddRoleAssignment(context.Background(), rg, name1, user, domain.AzureRoleContributor); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Assignments()); n != 1 {
		t.Fatalf("%d assignments, want 1", n)
	}
}

// What ARM refuses maps to the domain's codes: a missing permission is
// forbidden, an unknown resource group not found.
func TestErrorsMapped(t *testing.T) {
	e := start(t, suiteSeed, armsim.Options{})
	c := e.client(t, azurerbac.Config{})
	ctx := context.Background()
	e.sim.AddFault(armsim.Fault{Method: "PUT", Status: 403, Count: 1})
	_, err := c.AddRoleAssignment(ctx, rg, name1, user, domain.AzureRoleOwner)
	if domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("403: %v, want forbidden", err)
	}
	_, err = c.AddRoleAssignment(ctx, "/subscriptions/6f2c9d1e-8a4b-4c3d-9e5f-1a2b3c4d5e6f/resourcegroups/nope", name1, user, domain.AzureRoleOwner)
	if domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("unknown resource group: %v, want not found", err)
	}
}

func TestConfigRefusesCredentialsOverPlainHTTP(t *testing.T) {
	for _, cfg := range []azurerbac.Config{
		{Endpoint: "http://management.example.com", Anonymous: true},
		{Endpoint: "https://management.example.com", Anonymous: true},
		{Endpoint: "http://management.example.com"},
		{Endpoint: "https://management.azure.com/some/path"},
	} {
		if _, err := azurerbac.New(cfg); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("New(%+v): %v, want refused", cfg, err)
		}
	}
}
