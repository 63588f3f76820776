package domain

import "time"

// The guards below are jitpim's identity rules, each written once: the
// engine, the policy-file validator and the pages all call them, so no
// caller can spell the same rule a second way.

// BreakGlass lists the emergency-access accounts jitpim never grants,
// revokes, reviews or lets approve. Ids are canonical, so membership is
// exact: no letter case or spelling of an id can slip past it.
type BreakGlass []ObjectID

// Protects reports whether id is a break-glass account.
func (b BreakGlass) Protects(id ObjectID) bool { return ContainsID(b, id) }

// GrantsTenantAdmin reports whether a directory role assignment makes its
// holder a tenant-wide administrator for jitpim: Global Administrator or
// Privileged Role Administrator at the tenant scope. Both can assign every
// role in Entra, so both administer jitpim.
func GrantsTenantAdmin(ra RoleAssignment) bool {
	t := RoleTarget(ra.RoleDefinitionID, ra.DirectoryScopeID) // an empty scope is the tenant
	return t == RoleTarget(RoleGlobalAdministrator, TenantScope) || t == RoleTarget(RolePrivilegedRoleAdministrator, TenantScope)
}

// CheckAdminWrite applies the rule that an administrator's change
// (assignments, policies, access review definitions, alert changes) needs a
// multi-factor sign-in no older than freshness (0 = any age), like an
// activation does: a stolen password alone must not rewrite who may hold
// Global Administrator.
func CheckAdminWrite(what string, auth AuthEvidence, now time.Time, freshness time.Duration) error {
	if !auth.MFA {
		return Errorf(CodeForbidden, "%s needs a multi-factor sign-in: sign in again with MFA", what)
	}
	if freshness > 0 && (auth.AuthenticatedAt.IsZero() || now.Sub(auth.AuthenticatedAt) > freshness) {
		return Errorf(CodeForbidden, "%s needs a multi-factor sign-in within the last %s: sign in again with MFA", what, freshness)
	}
	return nil
}
