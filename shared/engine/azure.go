package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// applyAzure makes Azure RBAC match a grant of an Azure role. The
// assignment's name is derived from principal and target, so a retry finds
// the assignment an earlier attempt made, and a revoke deletes exactly that
// one: never an assignment made outside jitpim, and never one inherited
// from a parent scope, whatever else the principal holds.
func (e *Engine) applyAzure(ctx context.Context, c *Call, g *domain.Grant, want bool) error {
	if e.azure == nil {
		return domain.Errorf(domain.CodeInternal, "no Azure Resource Manager access is configured")
	}
	t := g.Target
	name := domain.AzureAssignmentName(g.PrincipalID, t)
	if !want {
		return e.azure.RemoveRoleAssignment(ctx, t.ResourceScope, name)
	}
	created, err := e.azure.AddRoleAssignment(ctx, t.ResourceScope, name, g.PrincipalID, t.RoleDefinitionID)
	if err != nil {
		return err
	}
	if !created && !g.Applied {
		c.Log.WarnContext(ctx, "Azure role assignment already existed", "target", t.Key(), "principal_id", g.PrincipalID, "name", name)
	}
	g.DirectoryID = name
	return nil
}

// refuseOutsideAzure is refuseOutsideAccess for an Azure role: an
// assignment of the same role at the same scope under another name was
// made outside jitpim. (One under jitpim's own name is what an attempt cut
// short left behind, and jitpim's.) Assignments inherited from a parent
// scope are no refusal: jitpim's own assignment at the child scope comes
// and goes beside them and never touches them.
func (e *Engine) refuseOutsideAzure(ctx context.Context, principal domain.ObjectID, t domain.Target) error {
	if e.azure == nil {
		return domain.Errorf(domain.CodeInternal, "no Azure Resource Manager access is configured")
	}
	ras, err := e.azure.ListRoleAssignments(ctx, t.ResourceScope, principal)
	if err != nil {
		return err
	}
	own := domain.AzureAssignmentName(principal, t)
	for _, ra := range ras {
		if ra.PrincipalID == principal && ra.RoleDefinitionID == t.RoleDefinitionID && ra.Scope == t.ResourceScope && ra.Name != own {
			return domain.Errorf(domain.CodeConflict, "%s already holds %s through a role assignment made outside jitpim (assignment %s); "+
				"jitpim never takes over or removes access it did not grant: remove that assignment in Azure first, or keep using it",
				e.Names().Person(ctx, principal), e.Names().Target(ctx, t), ra.Name)
		}
	}
	return nil
}
