package graph

import (
	"context"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/jitpim/jitpim/shared/domain"
)

// GetGroup implements domain.DirectoryNames with GET /groups/{id},
// selecting the id, display name and isAssignableToRole (GroupMember.Read.All
// covers them).
func (c *Client) GetGroup(ctx context.Context, idCanon domain.ObjectID) (domain.Group, error) {
	id := string(idCanon)
	if err := checkID("id", id); err != nil {
		return domain.Group{}, err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	g, err := c.groups().ByGroupId(id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "isAssignableToRole"}},
	})
	if err != nil {
		return domain.Group{}, graphErr(err, ci, "get group %s", id)
	}
	if deref(g.GetId()) == "" {
		return domain.Group{}, domain.Errorf(domain.CodeInternal, "graph answered group %s without an id", id)
	}
	return domain.Group{ID: domain.CanonicalID(deref(g.GetId())), DisplayName: deref(g.GetDisplayName()), IsAssignableToRole: deref(g.GetIsAssignableToRole())}, nil
}

// GetRoleDefinition implements domain.DirectoryNames with GET
// /roleManagement/directory/roleDefinitions/{id} (RoleManagement.Read.Directory):
// built-in roles by template id, custom roles by id.
func (c *Client) GetRoleDefinition(ctx context.Context, idCanon domain.ObjectID) (domain.RoleDefinition, error) {
	id := string(idCanon)
	if err := checkID("id", id); err != nil {
		return domain.RoleDefinition{}, err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	rb := rolemanagement.NewRoleManagementRequestBuilderInternal(c.pathParams(), c.adapter).Directory().RoleDefinitions().ByUnifiedRoleDefinitionId(id)
	d, err := rb.Get(ctx, &rolemanagement.DirectoryRoleDefinitionsUnifiedRoleDefinitionItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleDefinitionsUnifiedRoleDefinitionItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "isBuiltIn"}},
	})
	if err != nil {
		return domain.RoleDefinition{}, graphErr(err, ci, "get role definition %s", id)
	}
	if deref(d.GetId()) == "" {
		return domain.RoleDefinition{}, domain.Errorf(domain.CodeInternal, "graph answered role definition %s without an id", id)
	}
	return domain.RoleDefinition{ID: domain.CanonicalID(deref(d.GetId())), DisplayName: deref(d.GetDisplayName()), IsBuiltIn: deref(d.GetIsBuiltIn())}, nil
}
