package graphsim_test

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/shared/directorytest"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/graph"
)

// The Graph adapter, against the simulator, passes the suite the in-memory
// fake (shared/fakedir) passes: each test gets an empty tenant that knows
// the built-in roles, seeded through the simulator's Go API. Pages of two
// make every listing follow @odata.nextLink.
func TestDirectoryConformance(t *testing.T) {
	roles := make([]graphsim.RoleDefinition, 0, len(domain.BuiltInRoles))
	for _, r := range domain.BuiltInRoles {
		roles = append(roles, graphsim.RoleDefinition{ID: string(r.ID), DisplayName: r.DisplayName, IsBuiltIn: true, IsPrivileged: r.Privileged})
	}
	directorytest.Run(t, func(t *testing.T) (directorytest.Directory, directorytest.Seeder) {
		sim := graphsim.New(graphsim.Tenant{TenantID: "c0f0a000-0000-4000-8000-000000000000", RoleDefinitions: roles}, graphsim.Options{PageSize: 2})
		srv := httptest.NewUnstartedServer(sim)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		c, err := graph.New(context.Background(), graph.Config{BaseURL: srv.URL + "/v1.0", Anonymous: true, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c, simSeeder{t, sim}
	})
}

// simSeeder is directorytest.Seeder on the simulator's seeding API.
type simSeeder struct {
	t   *testing.T
	sim *graphsim.Server
}

func (s simSeeder) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("seeding the simulator: %v", err)
	}
}

func (s simSeeder) AddUser(u domain.User) {
	s.t.Helper()
	s.must(s.sim.AddUser(graphsim.User{ID: string(u.ID), UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		Mail: u.Mail, AccountEnabled: u.Enabled}))
}

func (s simSeeder) SetEnabled(id domain.ObjectID, on bool) {
	s.t.Helper()
	s.must(s.sim.SetUserEnabled(string(id), on))
}

func (s simSeeder) AddGroup(id domain.ObjectID) {
	s.t.Helper()
	s.must(s.sim.AddGroup(graphsim.Group{ID: string(id), DisplayName: "group " + string(id), SecurityEnabled: true}))
}

func (s simSeeder) AddNamedGroup(id domain.ObjectID, displayName string) {
	s.t.Helper()
	s.must(s.sim.AddGroup(graphsim.Group{ID: string(id), DisplayName: displayName, SecurityEnabled: true}))
}

func (s simSeeder) AddRoleAssignableGroup(id domain.ObjectID, displayName string) {
	s.t.Helper()
	s.must(s.sim.AddGroup(graphsim.Group{ID: string(id), DisplayName: displayName, SecurityEnabled: true, IsAssignableToRole: true}))
}

func (s simSeeder) AddMember(groupID, memberID domain.ObjectID) {
	s.t.Helper()
	s.must(s.sim.AddToGroup(string(groupID), domain.AccessMember, string(memberID)))
}

func (s simSeeder) AddOwner(groupID, userID domain.ObjectID) {
	s.t.Helper()
	s.must(s.sim.AddToGroup(string(groupID), domain.AccessOwner, string(userID)))
}

func (s simSeeder) SetManager(userID, managerID domain.ObjectID) {
	s.t.Helper()
	s.must(s.sim.SetManager(string(userID), string(managerID)))
}

// AddSignIn records an interactive sign-in; a failed one carries Entra's
// "invalid username or password" error code.
func (s simSeeder) AddSignIn(si domain.SignIn) {
	s.t.Helper()
	at := si.Time
	code := 0
	if !si.Succeeded {
		code = 50126
	}
	_, err := s.sim.AddSignIn(graphsim.SignIn{ID: si.ID, UserID: string(si.UserID), CreatedDateTime: &at, AppDisplayName: si.App,
		IPAddress: si.IPAddress, ErrorCode: code})
	s.must(err)
}
