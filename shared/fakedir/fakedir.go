// Package fakedir is an in-memory domain.Directory (with the governance
// reads, domain.DirectoryReader and domain.SignInLog) for unit tests and
// benchmarks: users, groups, role assignments, with injectable failures and
// call counts. It passes the directory conformance suite
// (shared/directorytest) that the Graph adapter passes against the Graph
// simulator, so what the engine's tests see here is what production sees.
// The simulator under local/ is the end-to-end stand-in.
//
// Object ids compare case-insensitively, as in Entra: every id is folded
// to its canonical spelling on the way in, and ids come back canonical.
//
// Until a group is declared with AddGroup the directory is open: every
// group id names an existing group and anyone can be made a member or
// given a role, so unit tests can name ids without describing a tenant.
// The first AddGroup closes it: from then on only known users and groups
// (declared, or given members or owners by AddMember and AddOwner) exist,
// and unknown ones get the answers Graph gives.
package fakedir

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Dir is safe for concurrent use.
type Dir struct {
	mu      sync.Mutex
	users   map[domain.ObjectID]domain.User
	groups  map[domain.ObjectID]bool            // groups the Dir knows
	closed  bool                                // AddGroup was called: only known objects exist
	members map[string]map[domain.ObjectID]bool // groupID|access -> principal -> true
	roles   map[string]domain.RoleAssignment
	seq     int
	calls   map[string]int
	// governance data (governance.go)
	managers map[domain.ObjectID]domain.ObjectID
	// names (names.go)
	groupNames     map[domain.ObjectID]string
	roleAssignable map[domain.ObjectID]bool
	missing        map[domain.ObjectID]bool // ids that name nothing, even while open
	roleDefs       map[domain.ObjectID]domain.RoleDefinition
	signIns        []domain.SignIn
	// Fail, when set, is asked before every call; a non-nil error is returned instead.
	Fail func(op string) error
}

var _ domain.Directory = (*Dir)(nil)

// New returns an empty, open directory.
func New() *Dir {
	return &Dir{users: map[domain.ObjectID]domain.User{}, groups: map[domain.ObjectID]bool{}, members: map[string]map[domain.ObjectID]bool{},
		roles: map[string]domain.RoleAssignment{}, calls: map[string]int{}}
}

// canon folds an id to its canonical spelling: test data may spell ids in
// upper case, and Entra takes them so.
func canon(id domain.ObjectID) domain.ObjectID { return domain.CanonicalID(string(id)) }

// AddUser adds or replaces a user. LastSignIn may be set directly; AddSignIn
// moves it too.
func (d *Dir) AddUser(u domain.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u.ID = canon(u.ID)
	d.users[u.ID] = u
}

// SetEnabled enables or disables an account; an unknown id is ignored.
func (d *Dir) SetEnabled(id domain.ObjectID, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[canon(id)]
	if !ok {
		return
	}
	u.Enabled = on
	d.users[u.ID] = u
}

// AddMissing makes id name nothing, even while the directory is open: an
// account or group deleted from the tenant.
func (d *Dir) AddMissing(id domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.missing == nil {
		d.missing = map[domain.ObjectID]bool{}
	}
	d.missing[canon(id)] = true
}

// AddGroup declares an empty group and closes the directory (see the
// package comment).
func (d *Dir) AddGroup(id domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.groups[canon(id)] = true
	d.closed = true
}

// AddMember puts a user, or a group (nesting), in a group directly (test
// setup; not counted).
func (d *Dir) AddMember(groupID, memberID domain.ObjectID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.groups[canon(groupID)] = true
	d.add(canon(groupID), domain.AccessMember, canon(memberID))
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

func (d *Dir) direct(groupID domain.ObjectID, access string) map[domain.ObjectID]bool {
	return d.members[string(groupID)+"|"+access]
}

// groupExists is true for every group while the directory is open.
func (d *Dir) groupExists(id domain.ObjectID) bool {
	return (!d.closed && !d.missing[id]) || d.groups[id]
}

// principalExists is true for every principal while the directory is open.
func (d *Dir) principalExists(id domain.ObjectID) bool {
	_, isUser := d.users[id]
	return (!d.closed && !d.missing[id]) || isUser || d.groups[id]
}

// transitive returns everything in a group, directly or through nested
// groups (cycles included), as Graph's transitiveMembers does.
func (d *Dir) transitive(groupID domain.ObjectID) map[domain.ObjectID]bool {
	seen := map[domain.ObjectID]bool{}
	queue := []domain.ObjectID{groupID}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		for id := range d.direct(g, domain.AccessMember) {
			if !seen[id] {
				seen[id] = true
				queue = append(queue, id)
			}
		}
	}
	return seen
}

// usersIn lists the users among ids by id, without LastSignIn: only
// GetUser reads it, as with Graph.
func (d *Dir) usersIn(ids map[domain.ObjectID]bool) []domain.User {
	var out []domain.User
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if u, ok := d.users[id]; ok {
			out = append(out, identity(u))
		}
	}
	return out
}

// identity is a user as every read but GetUser returns it.
func identity(u domain.User) domain.User {
	u.LastSignIn = time.Time{}
	return u
}

func scopeOrTenant(s string) string {
	if s == "" {
		return domain.TenantScope
	}
	return s
}

func checkAccess(access string) error {
	if access != domain.AccessMember && access != domain.AccessOwner {
		return domain.Invalid("accessID", "must be %q or %q", domain.AccessMember, domain.AccessOwner)
	}
	return nil
}

func required(field string, id domain.ObjectID) error {
	if id == domain.NoID {
		return domain.Invalid(field, "is required")
	}
	return nil
}

// HasRole reports whether principal holds the role at scope (empty: the tenant).
func (d *Dir) HasRole(principal, role domain.ObjectID, scope string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.findRole(canon(principal), canon(role), scopeOrTenant(scope))
	return ok
}

func (d *Dir) findRole(principal, role domain.ObjectID, scope string) (string, bool) {
	for id, ra := range d.roles {
		if ra.PrincipalID == principal && ra.RoleDefinitionID == role && strings.EqualFold(ra.DirectoryScopeID, scope) {
			return id, true
		}
	}
	return "", false
}

// InGroup reports whether principal is a direct member (or owner) of a group.
func (d *Dir) InGroup(groupID domain.ObjectID, access string, principal domain.ObjectID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.direct(canon(groupID), access)[canon(principal)]
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
	if err := required("id", id); err != nil {
		return domain.User{}, err
	}
	u, ok := d.users[canon(id)]
	if !ok {
		return u, domain.Errorf(domain.CodeNotFound, "user %s not found", id)
	}
	return u, nil
}

// IsMemberOf implements domain.Directory: transitive membership, as Graph's
// checkMemberGroups answers it (an unknown group: false).
func (d *Dir) IsMemberOf(ctx context.Context, userID, groupID domain.ObjectID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("IsMemberOf"); err != nil {
		return false, err
	}
	userID, groupID = canon(userID), canon(groupID)
	if _, ok := d.users[userID]; !ok && d.closed {
		return false, domain.Errorf(domain.CodeNotFound, "user %s not found", userID)
	}
	return d.transitive(groupID)[userID], nil
}

// AddRoleAssignment implements domain.Directory. An empty scope is the
// tenant; scopes compare case-insensitively.
func (d *Dir) AddRoleAssignment(ctx context.Context, principal, role domain.ObjectID, scope string) (string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("AddRoleAssignment"); err != nil {
		return "", false, err
	}
	if err := required("principalID", principal); err != nil {
		return "", false, err
	}
	if err := required("roleDefinitionID", role); err != nil {
		return "", false, err
	}
	principal, role, scope = canon(principal), canon(role), scopeOrTenant(scope)
	if !d.principalExists(principal) {
		// Graph answers 400: the principal is a property of the new assignment.
		return "", false, domain.Invalid("principalID", "principal %s does not exist", principal)
	}
	if d.closed && d.groups[principal] && !d.roleAssignable[principal] {
		// Graph answers 400 too: only a group created role-assignable can hold a role.
		return "", false, domain.Invalid("principalID", "group %s is not role-assignable", principal)
	}
	if id, ok := d.findRole(principal, role, scope); ok {
		return id, false, nil
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
	if id == "" {
		return domain.Invalid("id", "is required")
	}
	delete(d.roles, id)
	return nil
}

// ListRoleAssignments implements domain.Directory, by assignment id.
func (d *Dir) ListRoleAssignments(ctx context.Context, principal domain.ObjectID) ([]domain.RoleAssignment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListRoleAssignments"); err != nil {
		return nil, err
	}
	principal = canon(principal)
	return d.listRoles(func(ra domain.RoleAssignment) bool { return ra.PrincipalID == principal }), nil
}

func (d *Dir) listRoles(keep func(domain.RoleAssignment) bool) []domain.RoleAssignment {
	var out []domain.RoleAssignment
	for _, id := range slices.Sorted(maps.Keys(d.roles)) {
		if ra := d.roles[id]; keep(ra) {
			out = append(out, ra)
		}
	}
	return out
}

// AddGroupMember implements domain.Directory.
func (d *Dir) AddGroupMember(ctx context.Context, groupID domain.ObjectID, access string, principal domain.ObjectID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("AddGroupMember"); err != nil {
		return false, err
	}
	if err := checkAccess(access); err != nil {
		return false, err
	}
	groupID, principal = canon(groupID), canon(principal)
	if !d.groupExists(groupID) {
		return false, domain.Errorf(domain.CodeNotFound, "group %s not found", groupID)
	}
	if !d.principalExists(principal) {
		return false, domain.Errorf(domain.CodeNotFound, "principal %s not found", principal)
	}
	return d.add(groupID, access, principal), nil
}

// RemoveGroupMember implements domain.Directory; removing what is not
// there (in a group that may not exist) is done.
func (d *Dir) RemoveGroupMember(ctx context.Context, groupID domain.ObjectID, access string, principal domain.ObjectID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("RemoveGroupMember"); err != nil {
		return err
	}
	if err := checkAccess(access); err != nil {
		return err
	}
	delete(d.direct(canon(groupID), access), canon(principal))
	return nil
}

// HasGroupAccess implements domain.Directory: direct members or owners only.
func (d *Dir) HasGroupAccess(ctx context.Context, groupID domain.ObjectID, access string, principal domain.ObjectID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("HasGroupAccess"); err != nil {
		return false, err
	}
	if err := checkAccess(access); err != nil {
		return false, err
	}
	groupID = canon(groupID)
	if !d.groupExists(groupID) {
		return false, domain.Errorf(domain.CodeNotFound, "group %s not found", groupID)
	}
	return d.direct(groupID, access)[canon(principal)], nil
}

// RoleCount counts role assignments, to assert "no double grant".
func (d *Dir) RoleCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.roles)
}

// ListGroupMembers implements domain.Directory: the group's users, through
// nested groups too, by id; CodeNotFound for a group that does not exist.
func (d *Dir) ListGroupMembers(ctx context.Context, groupID domain.ObjectID) ([]domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("ListGroupMembers"); err != nil {
		return nil, err
	}
	groupID = canon(groupID)
	if !d.groupExists(groupID) {
		return nil, domain.Errorf(domain.CodeNotFound, "group %s not found", groupID)
	}
	return d.usersIn(d.transitive(groupID)), nil
}

// FindUser implements domain.Directory as the Graph adapter does: by user
// principal name, else by mail, case-insensitively; a mail address that
// several accounts share is CodeInvalid.
func (d *Dir) FindUser(ctx context.Context, name string) (domain.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enter("FindUser"); err != nil {
		return domain.User{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return domain.User{}, domain.Invalid("name", "is required")
	}
	for _, field := range []func(domain.User) string{
		func(u domain.User) string { return u.UserPrincipalName },
		func(u domain.User) string { return u.Mail },
	} {
		var found []domain.User
		for _, id := range slices.Sorted(maps.Keys(d.users)) {
			if strings.EqualFold(field(d.users[id]), name) {
				found = append(found, d.users[id])
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return identity(found[0]), nil
		default:
			return domain.User{}, domain.Errorf(domain.CodeInvalid, "%s names %d users", name, len(found))
		}
	}
	return domain.User{}, domain.Errorf(domain.CodeNotFound, "no user named %s", name)
}
