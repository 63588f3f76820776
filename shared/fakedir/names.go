package fakedir

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// AddNamedGroup declares a group with its display name, like AddGroup.
func (d *Dir) AddNamedGroup(id domain.ObjectID, displayName string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id = canon(id)
	d.groups[id] = true
	d.closed = true
	if d.groupNames == nil {
		d.groupNames = map[domain.ObjectID]string{}
	}
	d.groupNames[id] = displayName
}

// AddRoleDefinition adds a custom role; the built-in roles are always there.
func (d *Dir) AddRoleDefinition(r domain.RoleDefinition) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.roleDefs == nil {
		d.roleDefs = map[domain.ObjectID]domain.RoleDefinition{}
	}
	r.ID = canon(r.ID)
	d.roleDefs[r.ID] = r
}

// GetGroup implements domain.DirectoryNames. While the directory is open
// every group exists, named only when AddNamedGroup named it.
func (d *Dir) GetGroup(ctx context.Context, id domain.ObjectID) (domain.Group, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("GetGroup"); err != nil {
		return domain.Group{}, err
	}
	if err := required("id", id); err != nil {
		return domain.Group{}, err
	}
	id = canon(id)
	if !d.groupExists(id) {
		return domain.Group{}, domain.Errorf(domain.CodeNotFound, "group %s not found", id)
	}
	return domain.Group{ID: id, DisplayName: d.groupNames[id], IsAssignableToRole: d.roleAssignable[id]}, nil
}

// AddRoleAssignableGroup declares a group created role-assignable, the
// only kind Entra lets hold a directory role once the directory is closed.
func (d *Dir) AddRoleAssignableGroup(id domain.ObjectID, displayName string) {
	d.AddNamedGroup(id, displayName)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.roleAssignable == nil {
		d.roleAssignable = map[domain.ObjectID]bool{}
	}
	d.roleAssignable[canon(id)] = true
}

// GetRoleDefinition implements domain.DirectoryNames: the built-in roles
// and those AddRoleDefinition added.
func (d *Dir) GetRoleDefinition(ctx context.Context, id domain.ObjectID) (domain.RoleDefinition, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("GetRoleDefinition"); err != nil {
		return domain.RoleDefinition{}, err
	}
	if err := required("id", id); err != nil {
		return domain.RoleDefinition{}, err
	}
	id = canon(id)
	if r, ok := d.roleDefs[id]; ok {
		return r, nil
	}
	if r, ok := domain.BuiltInRoleByID(id); ok {
		return domain.RoleDefinition{ID: r.ID, DisplayName: r.DisplayName, IsBuiltIn: true}, nil
	}
	return domain.RoleDefinition{}, domain.Errorf(domain.CodeNotFound, "role definition %s not found", id)
}
