package fakedir

import (
	"context"
	"slices"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// SetManager records a user's manager.
func (d *Dir) SetManager(userID, managerID domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.managers == nil {
		d.managers = map[domain.ObjectID]domain.ObjectID{}
	}
	d.managers[canon(userID)] = canon(managerID)
}

// AddOwner makes a user an owner of a group (test setup; not counted).
func (d *Dir) AddOwner(groupID, userID domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.groups[canon(groupID)] = true
	d.add(canon(groupID), domain.AccessOwner, canon(userID))
}

// AddSignIn records a sign-in for SignInsSince and the user's LastSignIn.
func (d *Dir) AddSignIn(si domain.SignIn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	si.UserID = canon(si.UserID)
	d.signIns = append(d.signIns, si)
	if u, ok := d.users[si.UserID]; ok && si.Time.After(u.LastSignIn) {
		u.LastSignIn = si.Time
		d.users[si.UserID] = u
	}
}

// ListRoleAssignmentsByRole implements domain.DirectoryReader, by assignment id.
func (d *Dir) ListRoleAssignmentsByRole(ctx context.Context, role domain.ObjectID) ([]domain.RoleAssignment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListRoleAssignmentsByRole"); err != nil {
		return nil, err
	}
	role = canon(role)
	return d.listRoles(func(ra domain.RoleAssignment) bool { return ra.RoleDefinitionID == role }), nil
}

// CountUsers implements domain.DirectoryReader.
func (d *Dir) CountUsers(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("CountUsers"); err != nil {
		return 0, err
	}
	return len(d.users), nil
}

// GetManager implements domain.DirectoryReader; CodeNotFound when none is
// set (or the manager is no user the directory knows).
func (d *Dir) GetManager(ctx context.Context, userID domain.ObjectID) (domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("GetManager"); err != nil {
		return domain.User{}, err
	}
	m, ok := d.users[d.managers[canon(userID)]]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "%s has no manager", userID)
	}
	return identity(m), nil
}

// ListGroupOwners implements domain.DirectoryReader: the owners that are
// users, by id; CodeNotFound for a group that does not exist.
func (d *Dir) ListGroupOwners(ctx context.Context, groupID domain.ObjectID) ([]domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListGroupOwners"); err != nil {
		return nil, err
	}
	groupID = canon(groupID)
	if !d.groupExists(groupID) {
		return nil, domain.Errorf(domain.CodeNotFound, "group %s not found", groupID)
	}
	return d.usersIn(d.direct(groupID, domain.AccessOwner)), nil
}

// SignInsSince implements domain.SignInLog: the user's sign-ins at or after
// since, oldest first.
func (d *Dir) SignInsSince(ctx context.Context, userID domain.ObjectID, since time.Time) ([]domain.SignIn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("SignInsSince"); err != nil {
		return nil, err
	}
	userID = canon(userID)
	var out []domain.SignIn
	for _, si := range d.signIns {
		if si.UserID == userID && !si.Time.Before(since) {
			out = append(out, si)
		}
	}
	slices.SortStableFunc(out, func(a, b domain.SignIn) int { return a.Time.Compare(b.Time) })
	return out, nil
}

var (
	_ domain.DirectoryReader = (*Dir)(nil)
	_ domain.SignInLog       = (*Dir)(nil)
)
