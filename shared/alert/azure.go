package alert

import (
	"context"
	"fmt"
	"slices"

	"github.com/jitpim/jitpim/shared/domain"
)

// outsideAzure reports Azure role assignments that apply at a scope jitpim
// manages (made there, inherited from above it, or made below it) and
// that no live jitpim grant covers: privileged built-in roles, and the
// roles jitpim manages there. Break-glass accounts are left out. They are
// only reported, never removed: removal of outside assignments
// (RemoveOutside) covers directory roles, and an Azure assignment may
// belong to an automation jitpim cannot see.
func (s *scan) outsideAzure(ctx context.Context) {
	const def = domain.AlertRolesOutsidePIM
	if s.svc.azure == nil || len(s.azureManaged) == 0 {
		return
	}
	roles := map[domain.ObjectID]bool{}
	for _, r := range domain.AzureBuiltInRoles {
		roles[r.ID] = r.Privileged
	}
	var scopes []string
	for k := range s.azureManaged {
		t, err := domain.ParseTargetKey(k)
		if err != nil {
			continue
		}
		roles[t.RoleDefinitionID] = true
		scopes = append(scopes, t.ResourceScope)
	}
	// A scope below another managed scope is listed with it.
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	var top []string
	for _, sc := range scopes {
		if !slices.ContainsFunc(top, func(p string) bool { return domain.AzureScopeCovers(p, sc) }) {
			top = append(top, sc)
		}
	}
	seen := map[string]bool{}
	for _, scope := range top {
		ras, err := s.svc.azure.ListRoleAssignments(ctx, scope, "")
		if err != nil {
			s.fail(ctx, "listing Azure role assignments at "+scope, err, def)
			continue
		}
		for _, ra := range ras {
			if seen[ra.Scope+"|"+ra.Name] || !roles[ra.RoleDefinitionID] || s.svc.breakGlass.Protects(ra.PrincipalID) {
				continue
			}
			seen[ra.Scope+"|"+ra.Name] = true
			s.res.Assignments++
			t := domain.AzureRoleTarget(ra.RoleDefinitionID, ra.Scope)
			if ra.Name == domain.AzureAssignmentName(ra.PrincipalID, t) {
				g, err := s.svc.store.GetGrant(ctx, domain.GrantKey(ra.PrincipalID, t))
				if err == nil && (g.Wanted() || !g.Settled()) {
					continue // jitpim's own, held for a live schedule or being changed right now
				} else if err != nil && !domain.IsCode(err, domain.CodeNotFound) {
					s.fail(ctx, "reading grant "+domain.GrantKey(ra.PrincipalID, t), err, def)
					continue
				}
			}
			s.add(def, domain.AlertIncident{ID: "outside:" + domain.GrantKey(ra.PrincipalID, t) + ":" + ra.Name, PrincipalID: ra.PrincipalID, Target: t,
				Description: fmt.Sprintf("%s holds %s through an Azure role assignment jitpim did not grant", s.name(ctx, ra.PrincipalID), s.svc.eng.Names().Target(ctx, t)),
				Details:     map[string]string{"assignmentName": ra.Name, "scope": ra.Scope}})
		}
	}
}
