package fakedir

import (
	"context"
	"sort"
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
	d.managers[userID] = managerID
}

// AddOwner makes a user an owner of a group (test setup; not counted).
func (d *Dir) AddOwner(groupID, userID domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.add(groupID, domain.AccessOwner, userID)
}

// AddSignIn records a sign-in for SignInsSince and the user's LastSignIn.
func (d *Dir) AddSignIn(si domain.SignIn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.signIns = append(d.signIns, si)
	if u, ok := d.users[si.UserID]; ok && si.Time.After(u.LastSignIn) {
		u.LastSignIn = si.Time
		d.users[si.UserID] = u
	}
}

// ListRoleAssignmentsByRole implements domain.DirectoryReader.
func (d *Dir) ListRoleAssignmentsByRole(ctx context.Context, role domain.ObjectID) ([]domain.RoleAssignment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListRoleAssignmentsByRole"); err != nil {
		return nil, err
	}
	var out []domain.RoleAssignment
	for _, ra := range d.roles {
		if ra.RoleDefinitionID == role {
			out = append(out, ra)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
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

// GetManager implements domain.DirectoryReader.
func (d *Dir) GetManager(ctx context.Context, userID domain.ObjectID) (domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("GetManager"); err != nil {
		return domain.User{}, err
	}
	m, ok := d.managers[userID]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "%s has no manager", userID)
	}
	return d.users[m], nil
}

// ListGroupOwners implements domain.DirectoryReader.
func (d *Dir) ListGroupOwners(ctx context.Context, groupID domain.ObjectID) ([]domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListGroupOwners"); err != nil {
		return nil, err
	}
	var out []domain.User
	for id := range d.members[string(groupID)+"|"+domain.AccessOwner] {
		if u, ok := d.users[id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// SignInsSince implements domain.SignInLog.
func (d *Dir) SignInsSince(ctx context.Context, userID domain.ObjectID, since time.Time) ([]domain.SignIn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("SignInsSince"); err != nil {
		return nil, err
	}
	var out []domain.SignIn
	for _, si := range d.signIns {
		if si.UserID == userID && si.Time.After(since) {
			out = append(out, si)
		}
	}
	return out, nil
}

var (
	_ domain.DirectoryReader = (*Dir)(nil)
	_ domain.SignInLog       = (*Dir)(nil)
)
