// Package directorytest is the conformance suite every directory must pass:
// domain.Directory with the governance reads (domain.DirectoryReader) and
// the sign-in log (domain.SignInLog). The in-memory fake (shared/fakedir)
// and the Graph adapter (shared/graph) driven against the Graph simulator
// run the same tests, so the engine's unit tests see the directory
// production sees. Where the two disagreed, what Microsoft Graph does
// decided; the suite states that contract, not either implementation.
//
// It is test support: it fails the test it is given and must never be
// imported by production code.
package directorytest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Directory is what the suite drives.
type Directory interface {
	domain.Directory
	domain.DirectoryReader
	domain.SignInLog
}

// Seeder puts into a directory what an administrator makes in Entra, behind
// the port's back. fakedir.Dir is one; for the Graph adapter it is the
// simulator's seeding API. A seeding call that fails fails the test.
type Seeder interface {
	// AddUser creates a user account. The suite leaves LastSignIn zero:
	// it comes from the sign-ins AddSignIn records.
	AddUser(u domain.User)
	// SetEnabled enables or disables an existing account.
	SetEnabled(id domain.ObjectID, on bool)
	// AddGroup creates an empty security group (not role-assignable).
	AddGroup(id domain.ObjectID)
	// AddNamedGroup is AddGroup with the group's display name.
	AddNamedGroup(id domain.ObjectID, displayName string)
	// AddRoleAssignableGroup creates an empty security group created
	// role-assignable (isAssignableToRole), which can hold directory roles.
	AddRoleAssignableGroup(id domain.ObjectID, displayName string)
	// AddMember puts a user or a group (nesting) directly in a group.
	AddMember(groupID, memberID domain.ObjectID)
	// AddOwner makes a user an owner of a group.
	AddOwner(groupID, userID domain.ObjectID)
	// SetManager sets a user's manager.
	SetManager(userID, managerID domain.ObjectID)
	// AddSignIn records an interactive sign-in of an existing user.
	AddSignIn(si domain.SignIn)
}

// Run runs the suite; newDir must return an empty directory and its seeder
// each call.
func Run(t *testing.T, newDir func(t *testing.T) (Directory, Seeder)) {
	tests := []struct {
		name string
		fn   func(*testing.T, Directory, Seeder)
	}{
		{"Users", testUsers},
		{"Names", testNames},
		{"FindUser", testFindUser},
		{"CanonicalIDs", testCanonicalIDs},
		{"GroupMembers", testGroupMembers},
		{"GroupOwners", testGroupOwners},
		{"NestedGroups", testNestedGroups},
		{"UnknownGroupsAndPrincipals", testUnknown},
		{"InvalidInput", testInvalid},
		{"RoleAssignments", testRoleAssignments},
		{"RoleAssignmentsByRole", testRoleAssignmentsByRole},
		{"GroupPrincipals", testGroupPrincipals},
		{"Manager", testManager},
		{"CountUsers", testCountUsers},
		{"SignIns", testSignIns},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, s := newDir(t)
			tc.fn(t, d, s)
		})
	}
}

// Fixed ids. The upper-case spellings are the same objects: Entra compares
// object ids case-insensitively, and legacy data or a test may hold them
// so (a typed constant, not a conversion, keeps production's rule that
// ids are parsed).
const (
	alice      domain.ObjectID = "a11ce000-aaaa-4aaa-8aaa-00000000000a"
	aliceUpper domain.ObjectID = "A11CE000-AAAA-4AAA-8AAA-00000000000A"
	bob        domain.ObjectID = "b0b00000-bbbb-4bbb-8bbb-00000000000b"
	carol      domain.ObjectID = "ca201000-cccc-4ccc-8ccc-00000000000c"
	dave       domain.ObjectID = "da7e0000-dddd-4ddd-8ddd-00000000000d"
	daveUpper  domain.ObjectID = "DA7E0000-DDDD-4DDD-8DDD-00000000000D"
	erin       domain.ObjectID = "e3140000-dddd-4ddd-8ddd-0000000000e1"
	frank      domain.ObjectID = "f3a40000-dddd-4ddd-8ddd-0000000000f1"
	nobody     domain.ObjectID = "00000000-0000-4000-8000-0000000000ff"

	pag      domain.ObjectID = "9a900000-eeee-4eee-8eee-00000000000e"
	pagUpper domain.ObjectID = "9A900000-EEEE-4EEE-8EEE-00000000000E"
	staff    domain.ObjectID = "57aff000-ffff-4fff-8fff-00000000000f"
	all      domain.ObjectID = "a1100000-ffff-4fff-8fff-0000000000a1"
	empty    domain.ObjectID = "e3e30000-ffff-4fff-8fff-0000000000e3"
	noGroup  domain.ObjectID = "00000000-0000-4000-8000-0000000000fe"

	roleGA                     = domain.RoleGlobalAdministrator
	roleExch   domain.ObjectID = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	roleReader domain.ObjectID = "f2ef992c-3afb-46b9-b7cf-a126ee74c451" // Global Reader
	// auScope is an administrative unit's scope.
	auScope = "/administrativeUnits/4a0b1c2d-0000-4000-8000-000000000a00"
)

func user(id domain.ObjectID, name string, enabled bool) domain.User {
	return domain.User{ID: id, UserPrincipalName: name + "@contoso.example", DisplayName: "User " + name,
		Mail: name + ".mail@contoso.example", Enabled: enabled}
}

// seedPeople adds alice (enabled), bob (disabled, no mail), carol and dave.
func seedPeople(s Seeder) {
	s.AddUser(user(alice, "alice", true))
	b := user(bob, "bob", false)
	b.Mail = ""
	s.AddUser(b)
	s.AddUser(user(carol, "carol", true))
	s.AddUser(user(dave, "dave", true))
}

func wantCode(t *testing.T, what string, err error, code domain.Code) {
	t.Helper()
	if !domain.IsCode(err, code) {
		t.Fatalf("%s: want error code %s, got %v", what, code, err)
	}
}

// checked calls the directory and fails the test on any error, for the
// calls whose error is not what a test is about.
type checked struct {
	t *testing.T
	d Directory
}

func (c checked) fail(what string, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

func (c checked) user(id domain.ObjectID) domain.User {
	c.t.Helper()
	u, err := c.d.GetUser(context.Background(), id)
	c.fail("GetUser("+string(id)+")", err)
	return u
}

func (c checked) find(name string) domain.User {
	c.t.Helper()
	u, err := c.d.FindUser(context.Background(), name)
	c.fail("FindUser("+name+")", err)
	return u
}

func (c checked) manager(id domain.ObjectID) domain.User {
	c.t.Helper()
	u, err := c.d.GetManager(context.Background(), id)
	c.fail("GetManager("+string(id)+")", err)
	return u
}

func (c checked) members(groupID domain.ObjectID) []domain.User {
	c.t.Helper()
	us, err := c.d.ListGroupMembers(context.Background(), groupID)
	c.fail("ListGroupMembers("+string(groupID)+")", err)
	return us
}

func (c checked) owners(groupID domain.ObjectID) []domain.User {
	c.t.Helper()
	us, err := c.d.ListGroupOwners(context.Background(), groupID)
	c.fail("ListGroupOwners("+string(groupID)+")", err)
	return us
}

func (c checked) isMember(userID, groupID domain.ObjectID) bool {
	c.t.Helper()
	ok, err := c.d.IsMemberOf(context.Background(), userID, groupID)
	c.fail("IsMemberOf("+string(userID)+", "+string(groupID)+")", err)
	return ok
}

func (c checked) has(groupID domain.ObjectID, access string, p domain.ObjectID) bool {
	c.t.Helper()
	ok, err := c.d.HasGroupAccess(context.Background(), groupID, access, p)
	c.fail("HasGroupAccess("+string(groupID)+", "+access+", "+string(p)+")", err)
	return ok
}

func (c checked) add(groupID domain.ObjectID, access string, p domain.ObjectID) bool {
	c.t.Helper()
	created, err := c.d.AddGroupMember(context.Background(), groupID, access, p)
	c.fail("AddGroupMember("+string(groupID)+", "+access+", "+string(p)+")", err)
	return created
}

func (c checked) remove(groupID domain.ObjectID, access string, p domain.ObjectID) {
	c.t.Helper()
	c.fail("RemoveGroupMember("+string(groupID)+", "+access+", "+string(p)+")", c.d.RemoveGroupMember(context.Background(), groupID, access, p))
}

// assign adds an assignment that must be new.
func (c checked) assign(p, role domain.ObjectID, scope string) string {
	c.t.Helper()
	id, created, err := c.d.AddRoleAssignment(context.Background(), p, role, scope)
	c.fail("AddRoleAssignment("+string(p)+", "+string(role)+", "+scope+")", err)
	if !created || id == "" {
		c.t.Fatalf("AddRoleAssignment(%s, %s, %s): id %q, created %v; want a new assignment", p, role, scope, id, created)
	}
	return id
}

// assignAgain adds an assignment that must exist already as id.
func (c checked) assignAgain(p, role domain.ObjectID, scope, id string) {
	c.t.Helper()
	got, created, err := c.d.AddRoleAssignment(context.Background(), p, role, scope)
	c.fail("AddRoleAssignment("+string(p)+", "+string(role)+", "+scope+")", err)
	if created || got != id {
		c.t.Fatalf("AddRoleAssignment(%s, %s, %q) again: id %q, created %v; want the existing %q", p, role, scope, got, created, id)
	}
}

func (c checked) unassign(id string) {
	c.t.Helper()
	c.fail("RemoveRoleAssignment("+id+")", c.d.RemoveRoleAssignment(context.Background(), id))
}

func (c checked) roles(p domain.ObjectID) []domain.RoleAssignment {
	c.t.Helper()
	l, err := c.d.ListRoleAssignments(context.Background(), p)
	c.fail("ListRoleAssignments("+string(p)+")", err)
	return l
}

func (c checked) byRole(role domain.ObjectID) []domain.RoleAssignment {
	c.t.Helper()
	l, err := c.d.ListRoleAssignmentsByRole(context.Background(), role)
	c.fail("ListRoleAssignmentsByRole("+string(role)+")", err)
	return l
}

func (c checked) count() int {
	c.t.Helper()
	n, err := c.d.CountUsers(context.Background())
	c.fail("CountUsers", err)
	return n
}

func (c checked) signIns(userID domain.ObjectID, since time.Time) []domain.SignIn {
	c.t.Helper()
	l, err := c.d.SignInsSince(context.Background(), userID, since)
	c.fail("SignInsSince("+string(userID)+")", err)
	return l
}

// sameUser compares identity fields. Only GetUser reads the last sign-in:
// every other read returns it zero, because Graph's listings and look-ups
// do not carry signInActivity and the engine must not come to rely on it.
func sameUser(t *testing.T, what string, got, want domain.User) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func ids(us []domain.User) []domain.ObjectID {
	out := make([]domain.ObjectID, 0, len(us))
	for _, u := range us {
		out = append(out, u.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(list ...domain.ObjectID) []domain.ObjectID { return slices.Sorted(slices.Values(list)) }

func wantIDs(t *testing.T, what string, got []domain.User, want ...domain.ObjectID) {
	t.Helper()
	if g, w := ids(got), sorted(want...); !slices.Equal(g, w) {
		t.Fatalf("%s: got %v, want %v", what, g, w)
	}
}

func testUsers(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	sameUser(t, "GetUser(alice)", c.user(alice), user(alice, "alice", true))
	if b := c.user(bob); b.ID != bob || b.Enabled || b.Mail != "" {
		t.Fatalf("bob is disabled and has no mail: %+v", b)
	}
	s.SetEnabled(bob, true)
	s.SetEnabled(alice, false)
	if !c.user(bob).Enabled {
		t.Fatal("bob was enabled")
	}
	if c.user(alice).Enabled {
		t.Fatal("alice was disabled")
	}
	_, err := d.GetUser(context.Background(), nobody)
	wantCode(t, "GetUser(unknown)", err, domain.CodeNotFound)
	s.AddGroup(pag)
	_, err = d.GetUser(context.Background(), pag)
	wantCode(t, "GetUser(a group): a group is not a user", err, domain.CodeNotFound)
}

func testFindUser(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	want := user(alice, "alice", true)
	sameUser(t, "by user principal name", c.find("alice@contoso.example"), want)
	sameUser(t, "by user principal name in another case", c.find("ALICE@Contoso.Example"), want)
	sameUser(t, "by mail", c.find("Alice.Mail@contoso.example"), want)
	sameUser(t, "with surrounding space", c.find("  alice@contoso.example "), want)
	if b := c.find("bob@contoso.example"); b.ID != bob || b.Enabled {
		t.Fatalf("a disabled account is found, and says so: %+v", b)
	}
	_, err := d.FindUser(context.Background(), "nobody@contoso.example")
	wantCode(t, "FindUser(unknown)", err, domain.CodeNotFound)
	_, err = d.FindUser(context.Background(), "  ")
	wantCode(t, "FindUser(blank)", err, domain.CodeInvalid)

	// A user principal name wins over another account's mail.
	e := user(erin, "erin", true)
	e.Mail = "carol@contoso.example"
	s.AddUser(e)
	if got := c.find("carol@contoso.example"); got.ID != carol {
		t.Fatalf("carol's user principal name found %s", got.ID)
	}
	// A mail address two accounts share names neither: never guess.
	f := user(frank, "frank", true)
	f.Mail = "dave.mail@contoso.example"
	s.AddUser(f)
	_, err = d.FindUser(context.Background(), "dave.mail@contoso.example")
	wantCode(t, "FindUser(a mail two accounts share)", err, domain.CodeInvalid)
}

// testCanonicalIDs: objects seeded or named with upper-case ids are the
// same objects, and every id the directory hands back is canonical.
func testCanonicalIDs(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	s.AddUser(user(aliceUpper, "alice", true))
	s.AddUser(user(dave, "dave", true))
	s.AddGroup(pagUpper)
	s.AddMember(pagUpper, aliceUpper)
	s.AddOwner(pag, daveUpper)
	s.SetManager(dave, aliceUpper)
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	s.AddSignIn(domain.SignIn{ID: "si-upper", UserID: aliceUpper, Time: at, App: "Azure Portal", IPAddress: "192.0.2.1", Succeeded: true})

	want := user(alice, "alice", true)
	want.LastSignIn = at
	sameUser(t, "GetUser(canonical)", c.user(alice), want)
	sameUser(t, "GetUser(upper case)", c.user(aliceUpper), want)
	want.LastSignIn = time.Time{}
	sameUser(t, "FindUser", c.find("alice@contoso.example"), want)
	sameUser(t, "GetManager", c.manager(daveUpper), want)
	wantIDs(t, "ListGroupMembers", c.members(pag), alice)
	wantIDs(t, "ListGroupOwners", c.owners(pagUpper), dave)
	for _, x := range []struct{ user, group domain.ObjectID }{{alice, pag}, {aliceUpper, pag}, {alice, pagUpper}, {aliceUpper, pagUpper}} {
		if !c.isMember(x.user, x.group) {
			t.Fatalf("IsMemberOf(%s, %s) = false", x.user, x.group)
		}
		if !c.has(x.group, domain.AccessMember, x.user) {
			t.Fatalf("HasGroupAccess(%s, member, %s) = false", x.group, x.user)
		}
	}
	if c.add(pag, domain.AccessMember, aliceUpper) {
		t.Fatal("alice was a member already, whatever the spelling")
	}
	if c.add(pagUpper, domain.AccessOwner, dave) {
		t.Fatal("dave was an owner already, whatever the spelling")
	}
	if sis := c.signIns(alice, at.Add(-time.Minute)); len(sis) != 1 || sis[0].UserID != alice {
		t.Fatalf("alice's sign-ins: %+v", sis)
	}

	id := c.assign(aliceUpper, roleGA, domain.TenantScope)
	c.assignAgain(alice, roleGA, domain.TenantScope, id)
	wantRA := domain.RoleAssignment{ID: id, PrincipalID: alice, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope}
	wantList(t, "ListRoleAssignments(canonical)", c.roles(alice), wantRA)
	wantList(t, "ListRoleAssignments(upper case)", c.roles(aliceUpper), wantRA)
	wantList(t, "ListRoleAssignmentsByRole", c.byRole(roleGA), wantRA)

	c.remove(pag, domain.AccessMember, aliceUpper)
	if c.has(pagUpper, domain.AccessMember, alice) {
		t.Fatal("removing the upper-case spelling left the member")
	}
}

func testGroupMembers(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	s.AddGroup(pag)
	s.AddMember(pag, carol) // made in Entra, outside jitpim

	if !c.has(pag, domain.AccessMember, carol) || c.has(pag, domain.AccessOwner, carol) {
		t.Fatal("carol is a member, not an owner")
	}
	if c.has(pag, domain.AccessMember, alice) || c.isMember(alice, pag) {
		t.Fatal("alice is no member yet")
	}
	if !c.add(pag, domain.AccessMember, alice) {
		t.Fatal("first add: created=false")
	}
	if c.add(pag, domain.AccessMember, alice) {
		t.Fatal("second add: created=true")
	}
	if c.add(pag, domain.AccessMember, carol) {
		t.Fatal("carol was a member already: created=true")
	}
	if !c.has(pag, domain.AccessMember, alice) || !c.isMember(alice, pag) {
		t.Fatal("alice is a member now")
	}
	// A disabled account can be a member, and is listed as disabled.
	if !c.add(pag, domain.AccessMember, bob) {
		t.Fatal("bob: created=false")
	}
	members := c.members(pag)
	wantIDs(t, "members", members, alice, bob, carol)
	for _, m := range members {
		if m.ID == bob && m.Enabled {
			t.Fatalf("bob is listed enabled: %+v", m)
		}
		if m.ID == alice {
			sameUser(t, "listed member", m, user(alice, "alice", true))
		}
	}

	c.remove(pag, domain.AccessMember, alice)
	if c.has(pag, domain.AccessMember, alice) || c.isMember(alice, pag) {
		t.Fatal("alice is still a member")
	}
	c.remove(pag, domain.AccessMember, alice) // what is gone
	c.remove(pag, domain.AccessMember, dave)  // who never was a member
	wantIDs(t, "members after removal", c.members(pag), bob, carol)
	s.AddGroup(empty)
	if l := c.members(empty); len(l) != 0 {
		t.Fatalf("an empty group lists %+v", l)
	}
}

func testGroupOwners(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	s.AddGroup(pag)
	s.AddOwner(pag, carol)
	s.AddMember(pag, alice)

	if !c.has(pag, domain.AccessOwner, carol) {
		t.Fatal("carol owns the group")
	}
	if c.has(pag, domain.AccessOwner, alice) {
		t.Fatal("a member is no owner")
	}
	if c.isMember(carol, pag) {
		t.Fatal("an owner is not a member")
	}
	wantIDs(t, "members", c.members(pag), alice)

	// A member becomes an owner too; the two are separate.
	if !c.add(pag, domain.AccessOwner, alice) {
		t.Fatal("alice as owner: created=false")
	}
	if c.add(pag, domain.AccessOwner, alice) {
		t.Fatal("alice as owner again: created=true")
	}
	owners := c.owners(pag)
	wantIDs(t, "owners", owners, alice, carol)
	for _, o := range owners {
		if o.ID == carol {
			sameUser(t, "listed owner", o, user(carol, "carol", true))
		}
	}
	c.remove(pag, domain.AccessOwner, alice)
	if c.has(pag, domain.AccessOwner, alice) {
		t.Fatal("alice still owns the group")
	}
	if !c.has(pag, domain.AccessMember, alice) {
		t.Fatal("removing the owner removed the member")
	}
	c.remove(pag, domain.AccessOwner, alice) // what is gone
	// Adding a member leaves the owners alone.
	c.add(pag, domain.AccessMember, dave)
	wantIDs(t, "owners after adding a member", c.owners(pag), carol)
	s.AddGroup(empty)
	if l := c.owners(empty); len(l) != 0 {
		t.Fatalf("a group without owners lists %+v", l)
	}
}

// testNestedGroups: membership is transitive for IsMemberOf and
// ListGroupMembers (approver and admin groups), direct for HasGroupAccess
// (what jitpim grants and revokes).
func testNestedGroups(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	s.AddGroup(staff)
	s.AddGroup(all)
	s.AddMember(staff, alice)
	s.AddMember(staff, bob)
	s.AddMember(all, staff)
	s.AddMember(all, carol)

	for _, x := range []struct {
		user, group domain.ObjectID
		want        bool
	}{
		{alice, staff, true}, {alice, all, true}, {carol, all, true}, {carol, staff, false}, {dave, all, false},
	} {
		if got := c.isMember(x.user, x.group); got != x.want {
			t.Errorf("IsMemberOf(%s, %s) = %v, want %v", x.user, x.group, got, x.want)
		}
	}
	// Users only, each once, through the nested group too.
	s.AddMember(all, alice)
	wantIDs(t, "ListGroupMembers(all)", c.members(all), alice, bob, carol)
	if c.has(all, domain.AccessMember, bob) {
		t.Fatal("HasGroupAccess counts direct members only")
	}
	if !c.has(all, domain.AccessMember, staff) {
		t.Fatal("the nested group is a direct member")
	}
}

// testUnknown: what a group or principal that does not exist gets, as
// Graph answers it: 404 where Graph looks the object up, nothing to do
// where a removal finds nothing.
func testUnknown(t *testing.T, d Directory, s Seeder) {
	ctx := context.Background()
	c := checked{t, d}
	seedPeople(s)
	s.AddGroup(pag)

	_, err := d.AddGroupMember(ctx, noGroup, domain.AccessMember, alice)
	wantCode(t, "AddGroupMember(unknown group)", err, domain.CodeNotFound)
	_, err = d.AddGroupMember(ctx, pag, domain.AccessMember, nobody)
	wantCode(t, "AddGroupMember(unknown member)", err, domain.CodeNotFound)
	_, err = d.AddGroupMember(ctx, pag, domain.AccessOwner, nobody)
	wantCode(t, "AddGroupMember(unknown owner)", err, domain.CodeNotFound)
	if l := c.members(pag); len(l) != 0 {
		t.Fatalf("a failed add added %+v", l)
	}
	c.remove(noGroup, domain.AccessMember, alice)
	c.remove(pag, domain.AccessOwner, nobody)
	_, err = d.HasGroupAccess(ctx, noGroup, domain.AccessMember, alice)
	wantCode(t, "HasGroupAccess(unknown group)", err, domain.CodeNotFound)
	if c.has(pag, domain.AccessMember, nobody) {
		t.Fatal("HasGroupAccess(unknown principal) = true")
	}
	if c.isMember(alice, noGroup) {
		t.Fatal("IsMemberOf(unknown group) = true")
	}
	_, err = d.IsMemberOf(ctx, nobody, pag)
	wantCode(t, "IsMemberOf(unknown user)", err, domain.CodeNotFound)
	// The engine tells a group holding a role from a service principal by
	// this answer.
	_, err = d.ListGroupMembers(ctx, noGroup)
	wantCode(t, "ListGroupMembers(unknown group)", err, domain.CodeNotFound)
	_, err = d.ListGroupOwners(ctx, noGroup)
	wantCode(t, "ListGroupOwners(unknown group)", err, domain.CodeNotFound)

	// A role for a principal that does not exist is refused, and nothing is made.
	_, _, err = d.AddRoleAssignment(ctx, nobody, roleGA, domain.TenantScope)
	wantCode(t, "AddRoleAssignment(unknown principal)", err, domain.CodeInvalid)
	if l := c.byRole(roleGA); len(l) != 0 {
		t.Fatalf("a refused add assigned %+v", l)
	}
	if l := c.roles(nobody); len(l) != 0 {
		t.Fatalf("assignments of no one: %+v", l)
	}
}

func testInvalid(t *testing.T, d Directory, s Seeder) {
	ctx := context.Background()
	seedPeople(s)
	s.AddGroup(pag)
	_, err := d.GetUser(ctx, domain.NoID)
	wantCode(t, "GetUser(no id)", err, domain.CodeInvalid)
	_, err = d.AddGroupMember(ctx, pag, "admin", alice)
	wantCode(t, "AddGroupMember(access admin)", err, domain.CodeInvalid)
	wantCode(t, "RemoveGroupMember(access admin)", d.RemoveGroupMember(ctx, pag, "admin", alice), domain.CodeInvalid)
	_, err = d.HasGroupAccess(ctx, pag, "admin", alice)
	wantCode(t, "HasGroupAccess(access admin)", err, domain.CodeInvalid)
	wantCode(t, "RemoveRoleAssignment(no id)", d.RemoveRoleAssignment(ctx, ""), domain.CodeInvalid)
	_, _, err = d.AddRoleAssignment(ctx, domain.NoID, roleGA, domain.TenantScope)
	wantCode(t, "AddRoleAssignment(no principal)", err, domain.CodeInvalid)
}

func testRoleAssignments(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	if l := c.roles(alice); len(l) != 0 {
		t.Fatalf("alice holds nothing yet: %+v", l)
	}
	id := c.assign(alice, roleGA, domain.TenantScope)
	c.assignAgain(alice, roleGA, domain.TenantScope, id)
	c.assignAgain(alice, roleGA, "", id) // an empty scope is the tenant
	// Another scope, another role, another principal: other assignments.
	au := c.assign(alice, roleGA, auScope)
	c.assignAgain(alice, roleGA, auScope, au)
	exch := c.assign(alice, roleExch, domain.TenantScope)
	c.assignAgain(alice, roleExch, "", exch)
	carols := c.assign(carol, roleGA, domain.TenantScope)
	c.assignAgain(carol, roleGA, domain.TenantScope, carols)
	if len(map[string]bool{id: true, au: true, exch: true, carols: true}) != 4 {
		t.Fatalf("four assignments share ids: %q %q %q %q", id, au, exch, carols)
	}
	wantList(t, "alice's assignments", c.roles(alice),
		domain.RoleAssignment{ID: id, PrincipalID: alice, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope},
		domain.RoleAssignment{ID: au, PrincipalID: alice, RoleDefinitionID: roleGA, DirectoryScopeID: auScope},
		domain.RoleAssignment{ID: exch, PrincipalID: alice, RoleDefinitionID: roleExch, DirectoryScopeID: domain.TenantScope})
	c.unassign(id)
	c.unassign(id)                   // what is gone
	c.unassign("no-such-assignment") // what never was
	wantList(t, "alice's assignments after removal", c.roles(alice),
		domain.RoleAssignment{ID: au, PrincipalID: alice, RoleDefinitionID: roleGA, DirectoryScopeID: auScope},
		domain.RoleAssignment{ID: exch, PrincipalID: alice, RoleDefinitionID: roleExch, DirectoryScopeID: domain.TenantScope})
	wantList(t, "carol's assignments", c.roles(carol),
		domain.RoleAssignment{ID: carols, PrincipalID: carol, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope})
	// Assigned again after removal: a new assignment.
	c.assign(alice, roleGA, domain.TenantScope)
}

func testRoleAssignmentsByRole(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	a := c.assign(alice, roleGA, domain.TenantScope)
	b := c.assign(bob, roleGA, domain.TenantScope)
	au := c.assign(carol, roleGA, auScope)
	x := c.assign(dave, roleExch, domain.TenantScope)
	wantList(t, "Global Administrator", c.byRole(roleGA),
		domain.RoleAssignment{ID: a, PrincipalID: alice, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope},
		domain.RoleAssignment{ID: b, PrincipalID: bob, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope},
		domain.RoleAssignment{ID: au, PrincipalID: carol, RoleDefinitionID: roleGA, DirectoryScopeID: auScope})
	wantList(t, "Exchange Administrator", c.byRole(roleExch),
		domain.RoleAssignment{ID: x, PrincipalID: dave, RoleDefinitionID: roleExch, DirectoryScopeID: domain.TenantScope})
	if l := c.byRole(roleReader); len(l) != 0 {
		t.Fatalf("a role nobody holds: %+v", l)
	}
	c.unassign(b)
	wantList(t, "Global Administrator after removing bob's", c.byRole(roleGA),
		domain.RoleAssignment{ID: a, PrincipalID: alice, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope},
		domain.RoleAssignment{ID: au, PrincipalID: carol, RoleDefinitionID: roleGA, DirectoryScopeID: auScope})
}

// testGroupPrincipals: a group created role-assignable says so and can hold
// a directory role, which is the group's alone (its members hold nothing
// directly); a group that is not role-assignable is refused as a
// principal (Graph answers 400), and a role removed from the group leaves
// other holders' assignments alone.
func testGroupPrincipals(t *testing.T, d Directory, s Seeder) {
	ctx := context.Background()
	c := checked{t, d}
	seedPeople(s)
	s.AddRoleAssignableGroup(pag, "Global Administrators (God Mode)")
	s.AddNamedGroup(staff, "staff")
	s.AddMember(pag, alice)
	s.AddMember(staff, bob)
	for _, tc := range []struct {
		id         domain.ObjectID
		assignable bool
	}{{pag, true}, {pagUpper, true}, {staff, false}} {
		g, err := d.GetGroup(ctx, tc.id)
		if err != nil || g.IsAssignableToRole != tc.assignable {
			t.Fatalf("GetGroup(%s) = %+v, %v; want isAssignableToRole %v", tc.id, g, err, tc.assignable)
		}
	}
	id := c.assign(pag, roleGA, domain.TenantScope)
	c.assignAgain(pagUpper, roleGA, "", id)
	carols := c.assign(carol, roleGA, domain.TenantScope)
	wantList(t, "the group's assignments", c.roles(pag),
		domain.RoleAssignment{ID: id, PrincipalID: pag, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope})
	if l := c.roles(alice); len(l) != 0 {
		t.Fatalf("alice holds the role through the group, not directly: %+v", l)
	}
	_, _, err := d.AddRoleAssignment(ctx, staff, roleGA, domain.TenantScope)
	wantCode(t, "AddRoleAssignment(group that is not role-assignable)", err, domain.CodeInvalid)
	if l := c.roles(staff); len(l) != 0 {
		t.Fatalf("the refused group holds %+v", l)
	}
	c.unassign(id)
	if l := c.roles(pag); len(l) != 0 {
		t.Fatalf("the group still holds %+v", l)
	}
	wantList(t, "carol's assignment after the group's removal", c.roles(carol),
		domain.RoleAssignment{ID: carols, PrincipalID: carol, RoleDefinitionID: roleGA, DirectoryScopeID: domain.TenantScope})
}

// wantList compares role assignments in any order.
func wantList(t *testing.T, what string, got []domain.RoleAssignment, want ...domain.RoleAssignment) {
	t.Helper()
	byID := func(a, b domain.RoleAssignment) int { return strings.Compare(a.ID, b.ID) }
	g, w := slices.SortedFunc(slices.Values(got), byID), slices.SortedFunc(slices.Values(want), byID)
	if !slices.Equal(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func testManager(t *testing.T, d Directory, s Seeder) {
	ctx := context.Background()
	c := checked{t, d}
	seedPeople(s)
	_, err := d.GetManager(ctx, alice)
	wantCode(t, "GetManager(no manager)", err, domain.CodeNotFound)
	_, err = d.GetManager(ctx, nobody)
	wantCode(t, "GetManager(unknown user)", err, domain.CodeNotFound)
	s.SetManager(alice, carol)
	s.SetManager(bob, carol)
	sameUser(t, "alice's manager", c.manager(alice), user(carol, "carol", true))
	s.SetManager(alice, dave)
	if m := c.manager(alice); m.ID != dave {
		t.Fatalf("alice's new manager: %+v", m)
	}
	// A disabled manager is still the manager, and says so.
	s.SetEnabled(carol, false)
	if m := c.manager(bob); m.ID != carol || m.Enabled {
		t.Fatalf("bob's disabled manager: %+v", m)
	}
}

func testCountUsers(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	if n := c.count(); n != 0 {
		t.Fatalf("an empty directory counts %d users", n)
	}
	seedPeople(s)
	s.AddGroup(pag) // groups are not users
	if n := c.count(); n != 4 {
		t.Fatalf("CountUsers = %d, want 4 (disabled accounts count)", n)
	}
}

// testSignIns: SignInsSince lists a user's sign-ins at or after since,
// oldest first, successful or not; GetUser's LastSignIn is the latest
// sign-in. Times are whole seconds, as Graph keeps them.
func testSignIns(t *testing.T, d Directory, s Seeder) {
	c := checked{t, d}
	seedPeople(s)
	now := time.Now().UTC().Truncate(time.Second)
	if u := c.user(alice); !u.LastSignIn.IsZero() {
		t.Fatalf("alice never signed in: %v", u.LastSignIn)
	}
	old := domain.SignIn{ID: "si-old", UserID: alice, Time: now.Add(-48 * time.Hour), App: "Azure Portal", IPAddress: "192.0.2.10", Succeeded: true}
	edge := domain.SignIn{ID: "si-edge", UserID: alice, Time: now.Add(-24 * time.Hour), App: "Azure Portal", IPAddress: "192.0.2.11", Succeeded: true}
	failed := domain.SignIn{ID: "si-failed", UserID: alice, Time: now.Add(-2 * time.Hour), App: "Microsoft Entra admin center", IPAddress: "198.51.100.7"}
	other := domain.SignIn{ID: "si-carol", UserID: carol, Time: now.Add(-time.Hour), App: "Azure Portal", IPAddress: "192.0.2.12", Succeeded: true}
	// Out of order on purpose: the answer is oldest first whatever the order of events.
	for _, si := range []domain.SignIn{failed, other, old, edge} {
		s.AddSignIn(si)
	}
	wantSignIns(t, "since 24h ago (at or after)", c.signIns(alice, edge.Time), edge, failed)
	wantSignIns(t, "since 72h ago", c.signIns(alice, now.Add(-72*time.Hour)), old, edge, failed)
	wantSignIns(t, "in the last hour", c.signIns(alice, now.Add(-time.Hour)))
	wantSignIns(t, "of an unknown user", c.signIns(nobody, now.Add(-72*time.Hour)))
	// The last sign-in is the latest one, failed or not.
	if u := c.user(alice); !u.LastSignIn.Equal(failed.Time) {
		t.Fatalf("alice's last sign-in %v, want %v", u.LastSignIn, failed.Time)
	}
	if u := c.user(bob); !u.LastSignIn.IsZero() {
		t.Fatalf("bob never signed in: %v", u.LastSignIn)
	}
}

func wantSignIns(t *testing.T, what string, got []domain.SignIn, want ...domain.SignIn) {
	t.Helper()
	same := func(a, b domain.SignIn) bool {
		return a.ID == b.ID && a.UserID == b.UserID && a.Time.Equal(b.Time) && a.App == b.App && a.IPAddress == b.IPAddress && a.Succeeded == b.Succeeded
	}
	if !slices.EqualFunc(got, want, same) {
		t.Fatalf("sign-ins %s, oldest first:\n got %+v\nwant %+v", what, got, want)
	}
}

// testNames: groups and roles are named by display name, whichever case
// their id is spelled in; an id that names nothing is CodeNotFound, and a
// missing id is refused before any call.
func testNames(t *testing.T, d Directory, s Seeder) {
	ctx := context.Background()
	s.AddNamedGroup(pag, "PAG-SERVICE-DESK")
	for _, id := range []domain.ObjectID{pag, pagUpper} {
		g, err := d.GetGroup(ctx, id)
		if err != nil || g.ID != pag || g.DisplayName != "PAG-SERVICE-DESK" {
			t.Fatalf("GetGroup(%s) = %+v, %v", id, g, err)
		}
	}
	_, err := d.GetGroup(ctx, noGroup)
	wantCode(t, "GetGroup(unknown group)", err, domain.CodeNotFound)
	_, err = d.GetGroup(ctx, domain.NoID)
	wantCode(t, "GetGroup(no id)", err, domain.CodeInvalid)

	for _, tc := range []struct {
		id   domain.ObjectID
		name string
	}{{roleGA, "Global Administrator"}, {roleExch, "Exchange Administrator"}, {roleReader, "Global Reader"}} {
		r, err := d.GetRoleDefinition(ctx, tc.id)
		if err != nil || r.ID != tc.id || r.DisplayName != tc.name || !r.IsBuiltIn {
			t.Fatalf("GetRoleDefinition(%s) = %+v, %v; want built-in %q", tc.id, r, err, tc.name)
		}
	}
	_, err = d.GetRoleDefinition(ctx, noGroup)
	wantCode(t, "GetRoleDefinition(unknown role)", err, domain.CodeNotFound)
	_, err = d.GetRoleDefinition(ctx, domain.NoID)
	wantCode(t, "GetRoleDefinition(no id)", err, domain.CodeInvalid)
}
