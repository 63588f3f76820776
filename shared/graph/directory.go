package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/jitpim/jitpim/shared/domain"
)

func readLimited(r io.Reader, n int64) ([]byte, error) { return io.ReadAll(io.LimitReader(r, n)) }

func newBytesBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// odataCode returns the OData error code and message of err, if any.
func odataCode(err error) (string, string) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if me := oe.GetErrorEscaped(); me != nil {
			return deref(me.GetCode()), deref(me.GetMessage())
		}
	}
	return "", ""
}

func statusOf(err error, ci *callInfo) int {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.ResponseStatusCode != 0 {
		return oe.ResponseStatusCode
	}
	s, _ := ci.get()
	return s
}

func (c *Client) users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(c.pathParams(), c.adapter)
}

func (c *Client) groups() *groups.GroupsRequestBuilder {
	return groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter)
}

func (c *Client) roleAssignments() *rolemanagement.DirectoryRoleAssignmentsRequestBuilder {
	return rolemanagement.NewRoleManagementRequestBuilderInternal(c.pathParams(), c.adapter).Directory().RoleAssignments()
}

// ---- users -----------------------------------------------------------------

var userSelect = []string{"id", "userPrincipalName", "displayName", "mail", "accountEnabled"}

// signInDeniedFor is how long GetUser stops asking for signInActivity
// after Graph refused it (no AuditLog.Read.All, or no Entra ID P1).
const signInDeniedFor = time.Hour

func (c *Client) signInAllowed() bool {
	c.noSignInMu.Lock()
	defer c.noSignInMu.Unlock()
	return time.Now().After(c.noSignInTil)
}

func (c *Client) denySignIn() {
	c.noSignInMu.Lock()
	defer c.noSignInMu.Unlock()
	c.noSignInTil = time.Now().Add(signInDeniedFor)
}

// GetUser implements domain.Directory. LastSignIn is signInActivity's
// lastSignInDateTime (the last interactive sign-in), or
// lastSuccessfulSignInDateTime when that is empty; it stays zero when Graph
// does not permit reading signInActivity, in which case the user is fetched
// without it.
//
// The answer is decoded here rather than by the SDK's models: Graph fills
// sign-in times that never happened with "" or "0001-01-01T00:00:00Z", and
// the SDK's model fails the whole user on an empty date-time string.
func (c *Client) GetUser(ctx context.Context, idCanon domain.ObjectID) (domain.User, error) {
	id := string(idCanon)
	if err := checkID("id", id); err != nil {
		return domain.User{}, err
	}
	withSignIn := c.signInAllowed()
	for {
		sel := userSelect
		if withSignIn {
			sel = append(slices.Clone(userSelect), "signInActivity")
		}
		cctx, cancel, ci := c.call(ctx)
		u, err := c.getUserRaw(cctx, id, sel)
		cancel()
		if err != nil {
			if withSignIn && statusOf(err, ci) == http.StatusForbidden {
				c.log.Warn("graph: signInActivity not permitted (needs AuditLog.Read.All and Entra ID P1); reading users without last sign-in", "retry_after", signInDeniedFor)
				c.denySignIn()
				withSignIn = false
				continue
			}
			return domain.User{}, graphErr(err, ci, "get user %s", id)
		}
		return u, nil
	}
}

// userJSON is a Graph user as GetUser selects it.
type userJSON struct {
	ID                string  `json:"id"`
	UserPrincipalName string  `json:"userPrincipalName"`
	DisplayName       string  `json:"displayName"`
	Mail              *string `json:"mail"`
	AccountEnabled    *bool   `json:"accountEnabled"`
	SignInActivity    *struct {
		LastSignInDateTime           string `json:"lastSignInDateTime"`
		LastSuccessfulSignInDateTime string `json:"lastSuccessfulSignInDateTime"`
	} `json:"signInActivity"`
}

var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

func (c *Client) getUserRaw(ctx context.Context, id string, sel []string) (domain.User, error) {
	ri, err := c.users().ByUserId(id).ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: sel},
	})
	if err != nil {
		return domain.User{}, err
	}
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return domain.User{}, err
	}
	b, _ := res.([]byte)
	var u userJSON
	if err := json.Unmarshal(b, &u); err != nil {
		return domain.User{}, domain.Wrap(domain.CodeInternal, err, "decoding user %s", id)
	}
	if u.ID == "" {
		return domain.User{}, domain.Errorf(domain.CodeInternal, "graph answered user %s without an id", id)
	}
	out := domain.User{
		ID:                domain.CanonicalID(u.ID),
		UserPrincipalName: u.UserPrincipalName,
		DisplayName:       u.DisplayName,
		Mail:              deref(u.Mail),
		Enabled:           deref(u.AccountEnabled),
	}
	if a := u.SignInActivity; a != nil {
		out.LastSignIn = graphTime(a.LastSignInDateTime)
		if out.LastSignIn.IsZero() {
			out.LastSignIn = graphTime(a.LastSuccessfulSignInDateTime)
		}
	}
	return out, nil
}

// graphTime parses a Graph date-time; "", null and 0001-01-01 are zero.
func graphTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

// IsMemberOf implements domain.Directory with POST
// /users/{id}/checkMemberGroups, which Graph evaluates transitively
// (nested groups count). It fails with CodeNotFound for an unknown user and
// answers false for an unknown group.
func (c *Client) IsMemberOf(ctx context.Context, userIDCanon domain.ObjectID, groupIDCanon domain.ObjectID) (bool, error) {
	userID := string(userIDCanon)
	groupID := string(groupIDCanon)
	if err := checkID("userID", userID); err != nil {
		return false, err
	}
	if err := checkID("groupID", groupID); err != nil {
		return false, err
	}
	body := users.NewItemCheckMemberGroupsPostRequestBody()
	body.SetGroupIds([]string{groupID})
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	resp, err := c.users().ByUserId(userID).CheckMemberGroups().PostAsCheckMemberGroupsPostResponse(ctx, body, nil)
	if err != nil {
		return false, graphErr(err, ci, "check membership of %s in group %s", userID, groupID)
	}
	for _, id := range resp.GetValue() {
		if strings.EqualFold(id, groupID) {
			return true, nil
		}
	}
	return false, nil
}

// ---- role assignments ------------------------------------------------------

func scopeOrTenant(s string) string {
	if s == "" {
		return domain.TenantScope
	}
	return s
}

// listAssignments lists role assignments matching filter, following every
// @odata.nextLink.
func (c *Client) listAssignments(ctx context.Context, filter string) ([]domain.RoleAssignment, error) {
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	rb := c.roleAssignments()
	resp, err := rb.Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{Filter: &filter},
	})
	var out []domain.RoleAssignment
	for pages := 0; ; pages++ {
		if err != nil {
			return nil, graphErr(err, ci, "list role assignments (%s)", filter)
		}
		for _, a := range resp.GetValue() {
			out = append(out, domain.RoleAssignment{
				ID:               deref(a.GetId()),
				PrincipalID:      domain.CanonicalID(deref(a.GetPrincipalId())),
				RoleDefinitionID: domain.CanonicalID(deref(a.GetRoleDefinitionId())),
				DirectoryScopeID: deref(a.GetDirectoryScopeId()),
			})
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		if err := c.sameOrigin(next); err != nil {
			return nil, err
		}
		if pages > 1000 {
			return nil, domain.Errorf(domain.CodeInternal, "graph: role assignment listing did not end after 1000 pages")
		}
		resp, err = rb.WithUrl(next).Get(ctx, nil)
	}
}

// ListRoleAssignments implements domain.Directory: every active directory
// role assignment held directly by principalID.
func (c *Client) ListRoleAssignments(ctx context.Context, principalIDCanon domain.ObjectID) ([]domain.RoleAssignment, error) {
	principalID := string(principalIDCanon)
	if err := checkID("principalID", principalID); err != nil {
		return nil, err
	}
	return c.listAssignments(ctx, "principalId eq "+quote(principalID))
}

func (c *Client) findAssignment(ctx context.Context, principalID, roleDefinitionID, scope string) (string, bool, error) {
	// Filter on the principal only (the documented form) and match role and
	// scope here: a principal holds few assignments.
	list, err := c.listAssignments(ctx, "principalId eq "+quote(principalID))
	if err != nil {
		return "", false, err
	}
	for _, a := range list {
		if a.RoleDefinitionID == domain.CanonicalID(roleDefinitionID) && a.PrincipalID == domain.CanonicalID(principalID) && strings.EqualFold(scopeOrTenant(a.DirectoryScopeID), scope) {
			return a.ID, true, nil
		}
	}
	return "", false, nil
}

// isConflict tells Graph's "this already exists" answers: 409, or a 400
// whose message says so (Graph answers a duplicate role assignment with 400
// "A conflicting object with one or more of the specified property values
// is present in the directory").
func isConflict(err error, ci *callInfo) bool {
	st := statusOf(err, ci)
	if st == http.StatusConflict {
		return true
	}
	_, msg := odataCode(err)
	msg = strings.ToLower(msg)
	return st == http.StatusBadRequest && (strings.Contains(msg, "conflicting object") || strings.Contains(msg, "already exist"))
}

// AddRoleAssignment implements domain.Directory: it looks for an existing
// assignment of the role to the principal at the scope (an empty scope is
// the tenant, "/") and creates one only when there is none. A conflict
// answer from a concurrent create is treated as "exists"; if the existing
// assignment is not yet visible (Graph replicates), the error is
// CodeTransient so the caller retries.
func (c *Client) AddRoleAssignment(ctx context.Context, principalIDCanon domain.ObjectID, roleDefinitionIDCanon domain.ObjectID, directoryScopeID string) (string, bool, error) {
	principalID := string(principalIDCanon)
	roleDefinitionID := string(roleDefinitionIDCanon)
	if err := checkID("principalID", principalID); err != nil {
		return "", false, err
	}
	if err := checkID("roleDefinitionID", roleDefinitionID); err != nil {
		return "", false, err
	}
	scope := scopeOrTenant(directoryScopeID)
	if id, ok, err := c.findAssignment(ctx, principalID, roleDefinitionID, scope); err != nil || ok {
		return id, false, err
	}
	body := models.NewUnifiedRoleAssignment()
	body.SetPrincipalId(&principalID)
	body.SetRoleDefinitionId(&roleDefinitionID)
	body.SetDirectoryScopeId(&scope)
	cctx, cancel, ci := c.call(ctx)
	created, err := c.roleAssignments().Post(cctx, body, nil)
	cancel()
	if err == nil {
		return deref(created.GetId()), true, nil
	}
	if !isConflict(err, ci) {
		return "", false, graphErr(err, ci, "assign role %s to %s at %s", roleDefinitionID, principalID, scope)
	}
	id, ok, ferr := c.findAssignment(ctx, principalID, roleDefinitionID, scope)
	if ferr != nil {
		return "", false, ferr
	}
	if !ok {
		return "", false, domain.Wrap(domain.CodeTransient, err, "assign role %s to %s at %s: Graph reports a conflicting assignment that is not listed yet", roleDefinitionID, principalID, scope)
	}
	return id, false, nil
}

// RemoveRoleAssignment implements domain.Directory; an assignment that is
// already gone (404) counts as removed.
func (c *Client) RemoveRoleAssignment(ctx context.Context, id string) error {
	if err := checkID("id", id); err != nil {
		return err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	err := c.roleAssignments().ByUnifiedRoleAssignmentId(id).Delete(ctx, nil)
	if err != nil && statusOf(err, ci) != http.StatusNotFound {
		return graphErr(err, ci, "remove role assignment %s", id)
	}
	return nil
}

// ---- groups ----------------------------------------------------------------

func checkAccess(accessID string) error {
	if accessID != domain.AccessMember && accessID != domain.AccessOwner {
		return domain.Invalid("accessID", "must be %q or %q", domain.AccessMember, domain.AccessOwner)
	}
	return nil
}

// AddGroupMember implements domain.Directory with POST
// /groups/{id}/members/$ref (or owners/$ref). Graph answers 400 "One or
// more added object references already exist" when the principal already
// is one: created=false.
func (c *Client) AddGroupMember(ctx context.Context, groupIDCanon domain.ObjectID, accessID string, principalIDCanon domain.ObjectID) (bool, error) {
	groupID := string(groupIDCanon)
	principalID := string(principalIDCanon)
	if err := checkID("groupID", groupID); err != nil {
		return false, err
	}
	if err := checkID("principalID", principalID); err != nil {
		return false, err
	}
	if err := checkAccess(accessID); err != nil {
		return false, err
	}
	ref := models.NewReferenceCreate()
	ref.SetOdataId(ptr(c.baseURL + "/directoryObjects/" + url.PathEscape(principalID)))
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	g := c.groups().ByGroupId(groupID)
	var err error
	if accessID == domain.AccessOwner {
		err = g.Owners().Ref().Post(ctx, ref, nil)
	} else {
		err = g.Members().Ref().Post(ctx, ref, nil)
	}
	if err == nil {
		return true, nil
	}
	if isConflict(err, ci) {
		return false, nil
	}
	return false, graphErr(err, ci, "add %s as %s of group %s", principalID, accessID, groupID)
}

// RemoveGroupMember implements domain.Directory with DELETE
// /groups/{id}/members/{uid}/$ref (or owners); 404 counts as removed.
func (c *Client) RemoveGroupMember(ctx context.Context, groupIDCanon domain.ObjectID, accessID string, principalIDCanon domain.ObjectID) error {
	groupID := string(groupIDCanon)
	principalID := string(principalIDCanon)
	if err := checkID("groupID", groupID); err != nil {
		return err
	}
	if err := checkID("principalID", principalID); err != nil {
		return err
	}
	if err := checkAccess(accessID); err != nil {
		return err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	g := c.groups().ByGroupId(groupID)
	var err error
	if accessID == domain.AccessOwner {
		err = g.Owners().ByDirectoryObjectId(principalID).Ref().Delete(ctx, nil)
	} else {
		err = g.Members().ByDirectoryObjectId(principalID).Ref().Delete(ctx, nil)
	}
	if err != nil && statusOf(err, ci) != http.StatusNotFound {
		return graphErr(err, ci, "remove %s as %s of group %s", principalID, accessID, groupID)
	}
	return nil
}

// HasGroupAccess implements domain.Directory: it pages through the group's
// direct members (or owners) by id. Privileged access groups are small, and
// Graph's $filter on members needs advanced queries; a listing works in
// every tenant. Ids compare case-insensitively, as Entra compares them.
func (c *Client) HasGroupAccess(ctx context.Context, groupIDCanon domain.ObjectID, accessID string, principalIDCanon domain.ObjectID) (bool, error) {
	groupID, principalID := string(groupIDCanon), string(principalIDCanon)
	if err := checkID("groupID", groupID); err != nil {
		return false, err
	}
	if err := checkID("principalID", principalID); err != nil {
		return false, err
	}
	if err := checkAccess(accessID); err != nil {
		return false, err
	}
	want := domain.CanonicalID(principalID)
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	g := c.groups().ByGroupId(groupID)
	sel := []string{"id"}
	var (
		resp models.DirectoryObjectCollectionResponseable
		err  error
		next func(string) (models.DirectoryObjectCollectionResponseable, error)
	)
	if accessID == domain.AccessOwner {
		rb := g.Owners()
		resp, err = rb.Get(ctx, &groups.ItemOwnersRequestBuilderGetRequestConfiguration{QueryParameters: &groups.ItemOwnersRequestBuilderGetQueryParameters{Select: sel}})
		next = func(u string) (models.DirectoryObjectCollectionResponseable, error) {
			return rb.WithUrl(u).Get(ctx, nil)
		}
	} else {
		rb := g.Members()
		resp, err = rb.Get(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: sel}})
		next = func(u string) (models.DirectoryObjectCollectionResponseable, error) {
			return rb.WithUrl(u).Get(ctx, nil)
		}
	}
	for pages := 0; ; pages++ {
		if err != nil {
			return false, graphErr(err, ci, "list %ss of group %s", accessID, groupID)
		}
		for _, o := range resp.GetValue() {
			if domain.CanonicalID(deref(o.GetId())) == want {
				return true, nil
			}
		}
		link := deref(resp.GetOdataNextLink())
		if link == "" {
			return false, nil
		}
		if err := c.sameOrigin(link); err != nil {
			return false, err
		}
		if pages > 1000 {
			return false, domain.Errorf(domain.CodeInternal, "graph: group %s listing did not end after 1000 pages", accessID)
		}
		resp, err = next(link)
	}
}

// ListGroupMembers implements domain.Directory with GET
// /groups/{id}/transitiveMembers/microsoft.graph.user: the group's users,
// including those of nested groups, following every @odata.nextLink.
// Disabled accounts are included (Enabled false); LastSignIn is not read.
func (c *Client) ListGroupMembers(ctx context.Context, groupIDCanon domain.ObjectID) ([]domain.User, error) {
	groupID := string(groupIDCanon)
	if err := checkID("groupID", groupID); err != nil {
		return nil, err
	}
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	rb := c.groups().ByGroupId(groupID).TransitiveMembers().GraphUser()
	resp, err := rb.Get(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: userSelect},
	})
	return c.userPages(ci, "members", groupID, resp, err, func(next string) (models.UserCollectionResponseable, error) {
		return rb.WithUrl(next).Get(ctx, nil)
	})
}

// userPages collects a user collection of a group, following every
// @odata.nextLink on Graph's own origin, and drops repeated ids.
func (c *Client) userPages(ci *callInfo, what, groupID string, resp models.UserCollectionResponseable, err error,
	next func(url string) (models.UserCollectionResponseable, error)) ([]domain.User, error) {
	var out []domain.User
	seen := map[domain.ObjectID]bool{}
	for pages := 0; ; pages++ {
		if err != nil {
			return nil, graphErr(err, ci, "list %s of group %s", what, groupID)
		}
		for _, u := range resp.GetValue() {
			if du := userFromModel(u); du.ID != "" && !seen[du.ID] {
				seen[du.ID] = true
				out = append(out, du)
			}
		}
		link := deref(resp.GetOdataNextLink())
		if link == "" {
			return out, nil
		}
		if err := c.sameOrigin(link); err != nil {
			return nil, err
		}
		if pages > 1000 {
			return nil, domain.Errorf(domain.CodeInternal, "graph: group %s listing did not end after 1000 pages", what)
		}
		resp, err = next(link)
	}
}

func userFromModel(u models.Userable) domain.User {
	return domain.User{
		ID:                domain.CanonicalID(deref(u.GetId())),
		UserPrincipalName: deref(u.GetUserPrincipalName()),
		DisplayName:       deref(u.GetDisplayName()),
		Mail:              deref(u.GetMail()),
		Enabled:           deref(u.GetAccountEnabled()),
	}
}

// FindUser implements domain.Directory: the user whose userPrincipalName,
// else whose mail, equals name (case-insensitively, as Graph compares). It
// fails with CodeNotFound when none does and with CodeInvalid when the
// mail address is shared by several accounts: a name that does not say
// which account is never guessed. LastSignIn is not read; use GetUser
// with the returned id for it.
func (c *Client) FindUser(ctx context.Context, name string) (domain.User, error) {
	name = strings.TrimSpace(name)
	if err := checkID("name", name); err != nil {
		return domain.User{}, err
	}
	for _, prop := range []string{"userPrincipalName", "mail"} {
		found, err := c.findUsers(ctx, prop+" eq "+quote(name))
		if err != nil {
			return domain.User{}, err
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return domain.User{}, domain.Errorf(domain.CodeInvalid, "%s matches %d users by %s", name, len(found), prop)
		}
	}
	return domain.User{}, domain.Errorf(domain.CodeNotFound, "no user has the user principal name or mail %s", name)
}

// findUsers lists at most a few users matching filter.
func (c *Client) findUsers(ctx context.Context, filter string) ([]domain.User, error) {
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	resp, err := c.users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: userSelect, Top: ptr(int32(5))},
	})
	if err != nil {
		return nil, graphErr(err, ci, "find user (%s)", filter)
	}
	var out []domain.User
	for _, u := range resp.GetValue() {
		out = append(out, userFromModel(u))
	}
	return out, nil
}

// ---- mail ------------------------------------------------------------------

// maxRecipients is Graph's limit of recipients in one message.
const maxRecipients = 500

// SendMail sends one message from Config.MailSender with POST
// /users/{sender}/sendMail (202). A Graph message has one body: htmlBody
// when given, else textBody. More than 500 recipients are sent in several
// messages. The message is not kept in Sent Items (jitpim's audit log is
// the record).
func (c *Client) SendMail(ctx context.Context, to []string, subject, htmlBody, textBody string) error {
	if c.mailSender == "" {
		return domain.Invalid("MailSender", "no mail sender mailbox is configured")
	}
	var rcpt []string
	for _, a := range to {
		if a = strings.TrimSpace(a); a != "" {
			if err := checkID("to", a); err != nil {
				return err
			}
			rcpt = append(rcpt, a)
		}
	}
	if len(rcpt) == 0 {
		return domain.Invalid("to", "at least one recipient is required")
	}
	for len(rcpt) > 0 {
		n := min(len(rcpt), maxRecipients)
		if err := c.sendOne(ctx, rcpt[:n], subject, htmlBody, textBody); err != nil {
			return err
		}
		rcpt = rcpt[n:]
	}
	return nil
}

func (c *Client) sendOne(ctx context.Context, to []string, subject, htmlBody, textBody string) error {
	msg := models.NewMessage()
	msg.SetSubject(&subject)
	body := models.NewItemBody()
	if htmlBody != "" {
		body.SetContentType(ptr(models.HTML_BODYTYPE))
		body.SetContent(&htmlBody)
	} else {
		body.SetContentType(ptr(models.TEXT_BODYTYPE))
		body.SetContent(&textBody)
	}
	msg.SetBody(body)
	var recipients []models.Recipientable
	for _, a := range to {
		ea := models.NewEmailAddress()
		ea.SetAddress(ptr(a))
		r := models.NewRecipient()
		r.SetEmailAddress(ea)
		recipients = append(recipients, r)
	}
	msg.SetToRecipients(recipients)
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(msg)
	req.SetSaveToSentItems(ptr(false))
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	if err := c.users().ByUserId(c.mailSender).SendMail().Post(ctx, req, nil); err != nil {
		return graphErr(err, ci, "send mail %q from %s", subject, c.mailSender)
	}
	return nil
}

// ---- sign-in log -----------------------------------------------------------

// SignIn is one entry of the Entra sign-in log.
type SignIn struct {
	ID                      string
	UserID                  string
	UserPrincipalName       string
	AppDisplayName          string
	IPAddress               string
	ClientAppUsed           string
	CreatedAt               time.Time
	Interactive             bool
	ErrorCode               int32 // 0 is a successful sign-in
	FailureReason           string
	ConditionalAccessStatus string // success, failure, notApplied
	City                    string
	CountryOrRegion         string
}

// Succeeded reports whether the sign-in succeeded.
func (s SignIn) Succeeded() bool { return s.ErrorCode == 0 }

// SignInEntries lists userID's sign-ins at or after since, oldest first,
// with every field jitpim reads, with GET /auditLogs/signIns?$filter=userId
// eq '…' and createdDateTime ge … (AuditLog.Read.All; Graph keeps 30 days
// with Entra ID P1/P2). SignInsSince (governance.go) is the
// domain.SignInLog view of it.
func (c *Client) SignInEntries(ctx context.Context, userID string, since time.Time) ([]SignIn, error) {
	if err := checkID("userID", userID); err != nil {
		return nil, err
	}
	since = since.UTC().Truncate(time.Second)
	filter := "userId eq " + quote(userID) + " and createdDateTime ge " + since.Format("2006-01-02T15:04:05Z")
	ctx, cancel, ci := c.call(ctx)
	defer cancel()
	rb := auditlogs.NewAuditLogsRequestBuilderInternal(c.pathParams(), c.adapter).SignIns()
	resp, err := rb.Get(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter},
	})
	var out []SignIn
	for pages := 0; ; pages++ {
		if err != nil {
			return nil, graphErr(err, ci, "list sign-ins of %s", userID)
		}
		for _, s := range resp.GetValue() {
			out = append(out, toSignIn(s))
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			break
		}
		if err := c.sameOrigin(next); err != nil {
			return nil, err
		}
		if pages > 1000 {
			return nil, domain.Errorf(domain.CodeInternal, "graph: sign-in listing did not end after 1000 pages")
		}
		resp, err = rb.WithUrl(next).Get(ctx, nil)
	}
	out = slices.DeleteFunc(out, func(s SignIn) bool { return s.CreatedAt.Before(since) })
	slices.SortStableFunc(out, func(a, b SignIn) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func toSignIn(s models.SignInable) SignIn {
	out := SignIn{
		ID:                deref(s.GetId()),
		UserID:            deref(s.GetUserId()),
		UserPrincipalName: deref(s.GetUserPrincipalName()),
		AppDisplayName:    deref(s.GetAppDisplayName()),
		IPAddress:         deref(s.GetIpAddress()),
		ClientAppUsed:     deref(s.GetClientAppUsed()),
		Interactive:       deref(s.GetIsInteractive()),
	}
	if t := s.GetCreatedDateTime(); t != nil {
		out.CreatedAt = t.UTC()
	}
	if st := s.GetStatus(); st != nil {
		out.ErrorCode = deref(st.GetErrorCode())
		out.FailureReason = deref(st.GetFailureReason())
	}
	if ca := s.GetConditionalAccessStatus(); ca != nil {
		out.ConditionalAccessStatus = ca.String()
	}
	if l := s.GetLocation(); l != nil {
		out.City = deref(l.GetCity())
		out.CountryOrRegion = deref(l.GetCountryOrRegion())
	}
	return out
}
