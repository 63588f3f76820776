// Package azurerbactest is the conformance suite every domain.AzureRBAC
// must pass: the in-memory fake (shared/fakearm) and the Azure Resource
// Manager adapter (shared/azurerbac) driven against the ARM simulator
// (local/armsim) run the same tests, so the engine's unit tests see the
// Azure RBAC production sees. Where the two disagreed, what Azure Resource
// Manager does decided; the suite states that contract.
//
// It is test support: it fails the test it is given and must never be
// imported by production code.
package azurerbactest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

// Seeder makes assignments behind the port's back, as an administrator in
// the Azure portal does. fakearm.RBAC is one; for the adapter it is the
// simulator's seeding API. A seeding call that fails fails the test.
type Seeder interface {
	Seed(a domain.AzureRoleAssignment)
	// NameScope gives a subscription or management group (spelt as Azure
	// spells it) its display name, creating it when it is new.
	NameScope(scope, displayName string)
}

// Fixed scopes and principals. Seeded scopes use Azure's own spelling
// (resourceGroups, Microsoft.Storage); the port answers canonically.
const (
	sub      = "/subscriptions/6f2c9d1e-8a4b-4c3d-9e5f-1a2b3c4d5e6f"
	rg       = sub + "/resourcegroups/rg-app"
	rgSpelt  = sub + "/resourceGroups/RG-App"
	otherRG  = sub + "/resourcegroups/rg-data"
	resource = rg + "/providers/microsoft.storage/storageaccounts/stapp"
)

var (
	alice = domain.CanonicalID("a11ce000-0000-4000-8000-000000000001")
	bob   = domain.CanonicalID("b0b00000-0000-4000-8000-000000000002")
)

// Run runs the suite; newRBAC must return an empty Azure and its seeder
// each call.
func Run(t *testing.T, newRBAC func(t *testing.T) (domain.AzureRBAC, Seeder)) {
	tests := []struct {
		name string
		fn   func(*testing.T, domain.AzureRBAC, Seeder)
	}{
		{"AddIsIdempotentByName", testAddIdempotent},
		{"ExistingUnderAnotherName", testExistingUnderAnotherName},
		{"NameTakenByAnotherPrincipal", testNameTaken},
		{"RemoveGoneIsDone", testRemoveGone},
		{"ListAboveAtAndBelow", testListScopes},
		{"ListMany", testListMany},
		{"InvalidInput", testInvalid},
		{"ScopeDisplayNames", testScopeDisplayNames},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, s := newRBAC(t)
			tc.fn(t, r, s)
		})
	}
}

func name(i int) string { return fmt.Sprintf("00000000-0000-4000-a000-%012d", i) }

func list(t *testing.T, r domain.AzureRBAC, scope string, p domain.ObjectID) []string {
	t.Helper()
	got, err := r.ListRoleAssignments(context.Background(), scope, p)
	if err != nil {
		t.Fatalf("ListRoleAssignments(%s, %q): %v", scope, p, err)
	}
	out := make([]string, 0, len(got))
	for _, a := range got {
		out = append(out, a.Scope+" "+a.Name+" "+string(a.PrincipalID)+" "+string(a.RoleDefinitionID))
	}
	slices.Sort(out)
	return out
}

func line(scope, n string, p, role domain.ObjectID) string {
	return scope + " " + n + " " + string(p) + " " + string(role)
}

func testAddIdempotent(t *testing.T, r domain.AzureRBAC, _ Seeder) {
	ctx := context.Background()
	created, err := r.AddRoleAssignment(ctx, rg, name(1), alice, domain.AzureRoleContributor)
	if err != nil || !created {
		t.Fatalf("first add: created=%v, %v", created, err)
	}
	created, err = r.AddRoleAssignment(ctx, rg, name(1), alice, domain.AzureRoleContributor)
	if err != nil || created {
		t.Fatalf("second add of the same name: created=%v, %v; want found, no error", created, err)
	}
	want := []string{line(rg, name(1), alice, domain.AzureRoleContributor)}
	if got := list(t, r, rg, alice); !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if err := r.RemoveRoleAssignment(ctx, rg, name(1)); err != nil {
		t.Fatal(err)
	}
	if got := list(t, r, rg, ""); len(got) != 0 {
		t.Fatalf("after remove: %v", got)
	}
}

// Azure answers 409 RoleAssignmentExists when the principal holds the role
// at the scope under another name: the port says "exists", makes nothing,
// and removing its own name leaves the other assignment alone.
func testExistingUnderAnotherName(t *testing.T, r domain.AzureRBAC, s Seeder) {
	ctx := context.Background()
	s.Seed(domain.AzureRoleAssignment{Name: name(9), Scope: rgSpelt, PrincipalID: alice, RoleDefinitionID: domain.AzureRoleContributor})
	created, err := r.AddRoleAssignment(ctx, rg, name(1), alice, domain.AzureRoleContributor)
	if err != nil || created {
		t.Fatalf("add beside an outside assignment: created=%v, %v; want exists", created, err)
	}
	if err := r.RemoveRoleAssignment(ctx, rg, name(1)); err != nil {
		t.Fatal(err)
	}
	want := []string{line(rg, name(9), alice, domain.AzureRoleContributor)}
	if got := list(t, r, rg, alice); !slices.Equal(got, want) {
		t.Fatalf("listed %v, want only the outside assignment %v", got, want)
	}
}

func testNameTaken(t *testing.T, r domain.AzureRBAC, s Seeder) {
	s.Seed(domain.AzureRoleAssignment{Name: name(1), Scope: rg, PrincipalID: bob, RoleDefinitionID: domain.AzureRoleReader})
	_, err := r.AddRoleAssignment(context.Background(), rg, name(1), alice, domain.AzureRoleContributor)
	if domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("add under a name another assignment holds: %v, want a conflict", err)
	}
	if got := list(t, r, rg, ""); len(got) != 1 || !strings.Contains(got[0], string(bob)) {
		t.Fatalf("listed %v, want bob's assignment unchanged", got)
	}
}

func testRemoveGone(t *testing.T, r domain.AzureRBAC, _ Seeder) {
	if err := r.RemoveRoleAssignment(context.Background(), rg, name(5)); err != nil {
		t.Fatalf("removing an assignment that does not exist: %v, want done", err)
	}
}

func testListScopes(t *testing.T, r domain.AzureRBAC, s Seeder) {
	seeds := []domain.AzureRoleAssignment{
		{Name: name(1), Scope: sub, PrincipalID: alice, RoleDefinitionID: domain.AzureRoleReader},
		{Name: name(2), Scope: rgSpelt, PrincipalID: alice, RoleDefinitionID: domain.AzureRoleContributor},
		{Name: name(3), Scope: resource, PrincipalID: bob, RoleDefinitionID: domain.AzureRoleOwner},
		{Name: name(4), Scope: otherRG, PrincipalID: alice, RoleDefinitionID: domain.AzureRoleOwner},
	}
	for _, a := range seeds {
		s.Seed(a)
	}
	all := []string{
		line(sub, name(1), alice, domain.AzureRoleReader),
		line(rg, name(2), alice, domain.AzureRoleContributor),
		line(resource, name(3), bob, domain.AzureRoleOwner),
	}
	slices.Sort(all)
	if got := list(t, r, rg, ""); !slices.Equal(got, all) {
		t.Fatalf("at the resource group: %v\nwant the subscription's (inherited), its own and the resource's below it: %v", got, all)
	}
	aliceAtRG := []string{line(sub, name(1), alice, domain.AzureRoleReader), line(rg, name(2), alice, domain.AzureRoleContributor)}
	slices.Sort(aliceAtRG)
	if got := list(t, r, rg, alice); !slices.Equal(got, aliceAtRG) {
		t.Fatalf("alice's at the resource group: %v, want %v", got, aliceAtRG)
	}
	if got := list(t, r, rgSpelt, alice); !slices.Equal(got, aliceAtRG) {
		t.Fatalf("alice's at the resource group spelt %q: %v, want %v", rgSpelt, got, aliceAtRG)
	}
	if got := list(t, r, sub, ""); len(got) != 4 {
		t.Fatalf("at the subscription: %v, want all four", got)
	}
}

func testListMany(t *testing.T, r domain.AzureRBAC, s Seeder) {
	for i := range 7 {
		s.Seed(domain.AzureRoleAssignment{Name: name(i + 1), Scope: rg, PrincipalID: domain.CanonicalID(fmt.Sprintf("c0000000-0000-4000-8000-%012d", i)),
			RoleDefinitionID: domain.AzureRoleReader})
	}
	if got := list(t, r, rg, ""); len(got) != 7 {
		t.Fatalf("listed %d, want 7 (every page)", len(got))
	}
}

func testInvalid(t *testing.T, r domain.AzureRBAC, _ Seeder) {
	ctx := context.Background()
	for _, tc := range []struct {
		what string
		err  error
	}{
		{"bad scope", func() error {
			_, err := r.AddRoleAssignment(ctx, "/", name(1), alice, domain.AzureRoleReader)
			return err
		}()},
		{"scope escaping the path", func() error {
			_, err := r.AddRoleAssignment(ctx, sub+"/resourcegroups/../../x", name(1), alice, domain.AzureRoleReader)
			return err
		}()},
		{"bad name", func() error {
			_, err := r.AddRoleAssignment(ctx, rg, "mine", alice, domain.AzureRoleReader)
			return err
		}()},
		{"bad remove scope", r.RemoveRoleAssignment(ctx, "/subscriptions/x", name(1))},
		{"bad list scope", func() error { _, err := r.ListRoleAssignments(ctx, "subscriptions", ""); return err }()},
	} {
		if domain.ErrorCode(tc.err) != domain.CodeInvalid {
			t.Errorf("%s: %v, want invalid input", tc.what, tc.err)
		}
	}
	if got := list(t, r, rg, ""); len(got) != 0 {
		t.Fatalf("invalid input made %v", got)
	}
}

// Subscriptions and management groups are named as Azure names them,
// whatever the spelling of the scope; one Azure does not know is not
// found, and any other scope is refused before Azure is asked.
func testScopeDisplayNames(t *testing.T, r domain.AzureRBAC, s Seeder) {
	ctx := context.Background()
	const mg = "/providers/Microsoft.Management/managementGroups/Contoso"
	s.NameScope(sub, "Contoso Production")
	s.NameScope(mg, "Contoso Root")
	for _, tc := range []struct{ scope, want string }{
		{sub, "Contoso Production"},
		{strings.ToUpper(sub[:14]) + sub[14:] + "/", "Contoso Production"},
		{strings.ToLower(mg), "Contoso Root"},
	} {
		got, err := r.ScopeDisplayName(ctx, tc.scope)
		if err != nil || got != tc.want {
			t.Errorf("ScopeDisplayName(%q) = %q, %v; want %q", tc.scope, got, err, tc.want)
		}
	}
	unknown := "/subscriptions/00000000-0000-4000-8000-0000000000aa"
	if got, err := r.ScopeDisplayName(ctx, unknown); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("ScopeDisplayName(unknown subscription) = %q, %v; want not found", got, err)
	}
	for _, bad := range []string{rg, resource, "/", "/subscriptions/x", sub + "/resourcegroups/../../x"} {
		if got, err := r.ScopeDisplayName(ctx, bad); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("ScopeDisplayName(%q) = %q, %v; want invalid input", bad, got, err)
		}
	}
}
