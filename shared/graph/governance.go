package graph

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/jitpim/jitpim/shared/domain"
)

// What the governance timers (alerts, break-glass checks, access reviews)
// read from Graph: domain.DirectoryReader and domain.SignInLog. All reads;
// permissions RoleManagement.Read.Directory, User.Read.All,
// GroupMember.Read.All and AuditLog.Read.All, which the write permissions
// jitpim already holds include (AuditLog.Read.All is its own).

var (
	_ domain.DirectoryReader = (*Client)(nil)
	_ domain.SignInLog       = (*Client)(nil)
)

// ListRoleAssignmentsByRole implements domain.DirectoryReader with GET
// /roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq
// '…', following every @odata.nextLink: every principal (users, groups,
// service principals) holding the role at any scope. For built-in roles
// the role definition id is the template id.
func (c *Client) ListRoleAssignmentsByRole(ctx context.Context, roleDefinitionIDCanon domain.ObjectID) ([]domain.RoleAssignment, error) {
	roleDefinitionID := string(roleDefinitionIDCanon)
	if err := checkID("roleDefinitionID", roleDefinitionID); err != nil {
		return nil, err
	}
	list, err := c.listAssignments(ctx, "roleDefinitionId eq "+quote(roleDefinitionID))
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].DirectoryScopeID = scopeOrTenant(list[i].DirectoryScopeID)
	}
	return list, nil
}

// CountUsers implements domain.DirectoryReader with GET /users/$count and
// ConsistencyLevel: eventual (an advanced query; Graph answers a plain
// number). It counts member and guest accounts, enabled or not.
func (c *Client) CountUsers(ctx context.Context) (int, error) {
	h := abs.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	ri, err := c.users().Count().ToGetRequestInformation(ctx, &users.CountRequestBuilderGetRequestConfiguration{Headers: h})
	if err != nil {
		return 0, graphErr(err, ci, "count users")
	}
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return 0, graphErr(err, ci, "count users")
	}
	b, _ := res.([]byte)
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff")))
	if err != nil || n < 0 {
		return 0, domain.Errorf(domain.CodeInternal, "graph answered the user count with %q", clipBytes(b, 40))
	}
	return n, nil
}

func clipBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// GetManager implements domain.DirectoryReader with GET
// /users/{id}/manager; CodeNotFound when the user has none (Graph answers
// 404). The manager is decoded like GetUser's answer, without sign-in
// activity; a manager that is an organisational contact has no
// userPrincipalName.
func (c *Client) GetManager(ctx context.Context, userIDCanon domain.ObjectID) (domain.User, error) {
	userID := string(userIDCanon)
	if err := checkID("userID", userID); err != nil {
		return domain.User{}, err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	ri, err := c.users().ByUserId(userID).Manager().ToGetRequestInformation(ctx, &users.ItemManagerRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemManagerRequestBuilderGetQueryParameters{Select: userSelect},
	})
	if err != nil {
		return domain.User{}, graphErr(err, ci, "get the manager of %s", userID)
	}
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return domain.User{}, graphErr(err, ci, "get the manager of %s", userID)
	}
	b, _ := res.([]byte)
	var u userJSON
	if err := json.Unmarshal(b, &u); err != nil || u.ID == "" {
		return domain.User{}, domain.Errorf(domain.CodeInternal, "graph answered the manager of %s without an id", userID)
	}
	return domain.User{ID: domain.CanonicalID(u.ID), UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: deref(u.Mail),
		Enabled: deref(u.AccountEnabled)}, nil
}

// ListGroupOwners implements domain.DirectoryReader with GET
// /groups/{id}/owners/microsoft.graph.user, following every
// @odata.nextLink: the group's owners that are users (service principals
// can own groups too; they are left out).
func (c *Client) ListGroupOwners(ctx context.Context, groupIDCanon domain.ObjectID) ([]domain.User, error) {
	groupID := string(groupIDCanon)
	if err := checkID("groupID", groupID); err != nil {
		return nil, err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	rb := c.groups().ByGroupId(groupID).Owners().GraphUser()
	resp, err := rb.Get(ctx, &groups.ItemOwnersGraphUserRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemOwnersGraphUserRequestBuilderGetQueryParameters{Select: userSelect},
	})
	return c.userPages(ci, "owners", groupID, resp, err, func(next string) (models.UserCollectionResponseable, error) {
		return rb.WithUrl(next).Get(ctx, nil)
	})
}

// SignInsSince implements domain.SignInLog: SignInEntries in the domain's
// shape, interactive and non-interactive, successful or not.
func (c *Client) SignInsSince(ctx context.Context, userIDCanon domain.ObjectID, since time.Time) ([]domain.SignIn, error) {
	userID := string(userIDCanon)
	list, err := c.SignInEntries(ctx, userID, since)
	if err != nil {
		return nil, err
	}
	out := make([]domain.SignIn, 0, len(list))
	for _, s := range list {
		out = append(out, domain.SignIn{ID: s.ID, UserID: domain.CanonicalID(s.UserID), Time: s.CreatedAt, App: s.AppDisplayName,
			IPAddress: s.IPAddress, Succeeded: s.Succeeded()})
	}
	return out, nil
}
