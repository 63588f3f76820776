// Package fakearm is an in-memory domain.AzureRBAC for unit tests and
// benchmarks: Azure role assignments at scopes, with inheritance down the
// scope path, injectable failures and call counts. It passes the
// conformance suite (shared/azurerbactest) that the Azure Resource Manager
// adapter (shared/azurerbac) passes against the ARM simulator
// (local/armsim), so what the engine's tests see here is what production
// sees.
package fakearm

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/jitpim/jitpim/shared/domain"
)

// RBAC is safe for concurrent use.
type RBAC struct {
	mu    sync.Mutex
	byKey map[string]domain.AzureRoleAssignment // scope|name
	names map[string]string                     // subscription or management group scope → display name
	calls map[string]int
	// Fail, when set, is asked before every port call; a non-nil error is
	// returned instead.
	Fail func(op string) error
}

var _ domain.AzureRBAC = (*RBAC)(nil)

// New returns an empty RBAC.
func New() *RBAC {
	return &RBAC{byKey: map[string]domain.AzureRoleAssignment{}, names: map[string]string{}, calls: map[string]int{}}
}

func key(scope, name string) string { return scope + "|" + strings.ToLower(name) }

// canonScope folds a scope the way Azure compares it; the port's callers
// pass canonical scopes, test setup may not.
func canonScope(s string) (string, error) { return domain.ParseAzureScope("scope", s) }

func (r *RBAC) enter(op string) error {
	r.mu.Lock()
	r.calls[op]++
	fail := r.Fail
	r.mu.Unlock()
	if fail != nil {
		return fail(op)
	}
	return nil
}

// Calls returns how often each port method was called.
func (r *RBAC) Calls() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.calls)
}

// Seed makes an assignment behind the port's back, as an administrator in
// the Azure portal would (test setup; not counted). It panics on a bad
// scope: test data is wrong.
func (r *RBAC) Seed(a domain.AzureRoleAssignment) {
	s, err := canonScope(a.Scope)
	if err != nil {
		panic(err)
	}
	a.Scope, a.Name = s, strings.ToLower(a.Name)
	a.PrincipalID, a.RoleDefinitionID = domain.CanonicalID(string(a.PrincipalID)), domain.CanonicalID(string(a.RoleDefinitionID))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byKey[key(a.Scope, a.Name)] = a
}

// Has reports whether principal holds role by an assignment made at
// exactly scope (inherited ones do not count).
func (r *RBAC) Has(principal, role domain.ObjectID, scope string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.byKey {
		if a.PrincipalID == principal && a.RoleDefinitionID == role && a.Scope == scope {
			return true
		}
	}
	return false
}

// All lists every assignment, sorted by scope and name.
func (r *RBAC) All() []domain.AzureRoleAssignment {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Collect(maps.Values(r.byKey))
	slices.SortFunc(out, func(a, b domain.AzureRoleAssignment) int {
		return strings.Compare(key(a.Scope, a.Name), key(b.Scope, b.Name))
	})
	return out
}

// AddRoleAssignment implements domain.AzureRBAC.
func (r *RBAC) AddRoleAssignment(ctx context.Context, scope, name string, principal, role domain.ObjectID) (bool, error) {
	if err := r.enter("AddRoleAssignment"); err != nil {
		return false, err
	}
	s, err := canonScope(scope)
	if err != nil {
		return false, err
	}
	if !domain.IsGUID(name) {
		return false, domain.Invalid("name", "a role assignment name must be a GUID, got %q", name)
	}
	if !principal.Valid() || !role.Valid() {
		return false, domain.Invalid("principalId", "principal and role definition must be GUIDs")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.byKey[key(s, name)]; ok {
		if a.PrincipalID != principal || a.RoleDefinitionID != role {
			return false, domain.Errorf(domain.CodeConflict, "RoleAssignmentUpdateNotPermitted: assignment %s at %s exists for another principal or role", name, s)
		}
		return false, nil
	}
	for _, a := range r.byKey {
		if a.Scope == s && a.PrincipalID == principal && a.RoleDefinitionID == role {
			return false, nil // Azure: 409 RoleAssignmentExists, which the port reports as existing
		}
	}
	r.byKey[key(s, name)] = domain.AzureRoleAssignment{Name: strings.ToLower(name), Scope: s, PrincipalID: principal, RoleDefinitionID: role}
	return true, nil
}

// RemoveRoleAssignment implements domain.AzureRBAC.
func (r *RBAC) RemoveRoleAssignment(ctx context.Context, scope, name string) error {
	if err := r.enter("RemoveRoleAssignment"); err != nil {
		return err
	}
	s, err := canonScope(scope)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byKey, key(s, name))
	return nil
}

// ListRoleAssignments implements domain.AzureRBAC.
func (r *RBAC) ListRoleAssignments(ctx context.Context, scope string, principal domain.ObjectID) ([]domain.AzureRoleAssignment, error) {
	if err := r.enter("ListRoleAssignments"); err != nil {
		return nil, err
	}
	s, err := canonScope(scope)
	if err != nil {
		return nil, err
	}
	var out []domain.AzureRoleAssignment
	for _, a := range r.All() {
		if (principal == "" || a.PrincipalID == principal) && (domain.AzureScopeCovers(a.Scope, s) || domain.AzureScopeCovers(s, a.Scope)) {
			out = append(out, a)
		}
	}
	return out, nil
}

// NameScope gives a subscription or management group its display name, as
// creating it in Azure does (test setup; not counted). It panics on a
// scope that is neither: test data is wrong.
func (r *RBAC) NameScope(scope, displayName string) {
	s, err := canonScope(scope)
	if err != nil || domain.AzureScopeHead(s) != s {
		panic("fakearm: NameScope needs a subscription or management group scope, got " + scope)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names[s] = displayName
}

// ScopeDisplayName implements domain.AzureRBAC.
func (r *RBAC) ScopeDisplayName(ctx context.Context, scope string) (string, error) {
	if err := r.enter("ScopeDisplayName"); err != nil {
		return "", err
	}
	s, err := canonScope(scope)
	if err != nil {
		return "", err
	}
	if domain.AzureScopeHead(s) != s {
		return "", domain.Invalid("scope", "only a subscription or a management group has a display name, got %q", scope)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.names[s]; ok && n != "" {
		return n, nil
	}
	return "", domain.Errorf(domain.CodeNotFound, "%s has no display name", s)
}
