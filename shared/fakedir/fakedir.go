// Package fakedir is an in-memory domain.Directory for unit tests and
// benchmarks: users, groups, role assignments, with injectable failures and
// call counts. The Graph simulator under local/ is the end-to-end stand-in.
package fakedir

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/jitpim/jitpim/shared/domain"
)

// Dir is safe for concurrent use.
type Dir struct {
	mu      sync.Mutex
	users   map[domain.ObjectID]domain.User
	members map[string]map[domain.ObjectID]bool // groupID|access -> principal -> true
	roles   map[string]domain.RoleAssignment
	seq     int
	calls   map[string]int
	// governance data (governance.go)
	managers map[domain.ObjectID]domain.ObjectID
	signIns  []domain.SignIn
	// Fail, when set, is asked before every call; a non-nil error is returned instead.
	Fail func(op string) error
}

// New returns an empty directory.
func New() *Dir {
	return &Dir{users: map[domain.ObjectID]domain.User{}, members: map[string]map[domain.ObjectID]bool{}, roles: map[string]domain.RoleAssignment{}, calls: map[string]int{}}
}

// AddUser adds or replaces a user.
func (d *Dir) AddUser(u domain.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[u.ID] = u
}

// SetEnabled enables or disables an account.
func (d *Dir) SetEnabled(id domain.ObjectID, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.users[id]
	u.Enabled = on
	d.users[id] = u
}

// AddMember puts a user in a group directly (test setup; not counted).
func (d *Dir) AddMember(groupID, userID domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.add(groupID, domain.AccessMember, userID)
}

func (d *Dir) add(groupID domain.ObjectID, access string, id domain.ObjectID) bool {
	k := string(groupID) + "|" + access
	if d.members[k] == nil {
		d.members[k] = map[domain.ObjectID]bool{}
	}
	had := d.members[k][id]
	d.members[k][id] = true
	return !had
}

// HasRole reports whether principal holds the role at scope.
func (d *Dir) HasRole(principal, role domain.ObjectID, scope string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ra := range d.roles {
		if ra.PrincipalID == principal && ra.RoleDefinitionID == role && ra.DirectoryScopeID == scope {
			return true
		}
	}
	return false
}

// InGroup reports whether principal is a member (or owner) of a group.
func (d *Dir) InGroup(groupID domain.ObjectID, access string, principal domain.ObjectID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.members[string(groupID)+"|"+access][principal]
}

// Calls returns the per-operation call counts.
func (d *Dir) Calls() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.calls)
}

func (d *Dir) enter(op string) error {
	d.calls[op]++
	if d.Fail != nil {
		return d.Fail(op)
	}
	return nil
}

// GetUser implements domain.Directory.
func (d *Dir) GetUser(ctx context.Context, id domain.ObjectID) (domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("GetUser"); err != nil {
		return domain.User{}, err
	}
	u, ok := d.users[id]
	if !ok {
		return u, domain.Errorf(domain.CodeNotFound, "user %s not found", id)
	}
	return u, nil
}

// IsMemberOf implements domain.Directory (direct membership only).
func (d *Dir) IsMemberOf(ctx context.Context, userID, groupID domain.ObjectID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("IsMemberOf"); err != nil {
		return false, err
	}
	return d.members[string(groupID)+"|"+domain.AccessMember][userID], nil
}

// AddRoleAssignment implements domain.Directory.
func (d *Dir) AddRoleAssignment(ctx context.Context, principal, role domain.ObjectID, scope string) (string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("AddRoleAssignment"); err != nil {
		return "", false, err
	}
	for id, ra := range d.roles {
		if ra.PrincipalID == principal && ra.RoleDefinitionID == role && ra.DirectoryScopeID == scope {
			return id, false, nil
		}
	}
	d.seq++
	id := fmt.Sprintf("ra-%d", d.seq)
	d.roles[id] = domain.RoleAssignment{ID: id, PrincipalID: principal, RoleDefinitionID: role, DirectoryScopeID: scope}
	return id, true, nil
}

// RemoveRoleAssignment implements domain.Directory.
func (d *Dir) RemoveRoleAssignment(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("RemoveRoleAssignment"); err != nil {
		return err
	}
	delete(d.roles, id)
	return nil
}

// ListRoleAssignments implements domain.Directory.
func (d *Dir) ListRoleAssignments(ctx context.Context, principal domain.ObjectID) ([]domain.RoleAssignment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListRoleAssignments"); err != nil {
		return nil, err
	}
	var out []domain.RoleAssignment
	for _, ra := range d.roles {
		if ra.PrincipalID == principal {
			out = append(out, ra)
		}
	}
	return out, nil
}

// AddGroupMember implements domain.Directory.
func (d *Dir) AddGroupMember(ctx context.Context, groupID domain.ObjectID, access string, principal domain.ObjectID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("AddGroupMember"); err != nil {
		return false, err
	}
	return d.add(groupID, access, principal), nil
}

// RemoveGroupMember implements domain.Directory.
func (d *Dir) RemoveGroupMember(ctx context.Context, groupID domain.ObjectID, access string, principal domain.ObjectID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("RemoveGroupMember"); err != nil {
		return err
	}
	delete(d.members[string(groupID)+"|"+access], principal)
	return nil
}

// HasGroupAccess implements domain.Directory.
func (d *Dir) HasGroupAccess(ctx context.Context, groupID domain.ObjectID, access string, principal domain.ObjectID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("HasGroupAccess"); err != nil {
		return false, err
	}
	return d.members[string(groupID)+"|"+access][principal], nil
}

// RoleCount counts role assignments, to assert "no double grant".
func (d *Dir) RoleCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.roles)
}

// ListGroupMembers implements domain.Directory.
func (d *Dir) ListGroupMembers(ctx context.Context, groupID domain.ObjectID) ([]domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListGroupMembers"); err != nil {
		return nil, err
	}
	var out []domain.User
	for id := range d.members[string(groupID)+"|"+domain.AccessMember] {
		if u, ok := d.users[id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// FindUser implements domain.Directory: by user principal name or mail, case-insensitively.
func (d *Dir) FindUser(ctx context.Context, name string) (domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("FindUser"); err != nil {
		return domain.User{}, err
	}
	for _, u := range d.users {
		if name != "" && (strings.EqualFold(u.UserPrincipalName, name) || strings.EqualFold(u.Mail, name)) {
			return u, nil
		}
	}
	return domain.User{}, domain.Errorf(domain.CodeNotFound, "no user named %s", name)
}
