// Package graphsim is a local stand-in for the part of Microsoft Graph v1.0
// that jitpim calls: users, groups and their members/owners, directory role
// assignments and definitions, sendMail and the sign-in log. It answers with
// Graph's JSON shapes (OData collections with @odata.nextLink paging, OData
// error bodies, 201/202/204 where Graph gives them), accepts gzip-encoded
// request bodies, and is seeded from a tenant file (local/demo/tenant.json).
//
// Graph lives under /v1.0/. Control endpoints for tests and walkthroughs
// live under /_sim/: outbox, sign-in injection, fault injection (429 with
// Retry-After, 503, latency), enabling/disabling users, a state dump and a
// reset. Nothing here authenticates: run it on loopback only.
package graphsim

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options tune a Server.
type Options struct {
	// PageSize caps every collection page (default 100); $top can only
	// lower it. Tests set it small so paging is exercised.
	PageSize int
	// Now is the clock (default time.Now). Relative times in the tenant
	// (hoursAgo) are resolved against it at New and Reset.
	Now func() time.Time
	// DenySignInActivity answers 403 to any user query that selects or
	// filters on signInActivity, as Graph does without AuditLog.Read.All or
	// an Entra ID P1 licence.
	DenySignInActivity bool
	// Logger, when set, logs every request.
	Logger *slog.Logger
}

// Server is the simulator; it is an http.Handler and safe for concurrent use.
type Server struct {
	tenant Tenant
	opts   Options

	mu        sync.Mutex
	st        *state
	faults    []*Fault
	requests  []Request
	denySignI bool
}

// New builds a simulator seeded with tenant. The tenant is copied.
func New(tenant Tenant, opts Options) *Server {
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b, _ := json.Marshal(tenant)
	var copyT Tenant
	_ = json.Unmarshal(b, &copyT)
	s := &Server{tenant: copyT, opts: opts, denySignI: opts.DenySignInActivity}
	s.st = newState(copyT, opts.Now())
	return s
}

// ---- state -----------------------------------------------------------------

type state struct {
	users    []*User
	groups   []*Group
	roleDefs []RoleDefinition
	assigns  []*RoleAssignment
	signIns  []signIn
	outbox   []Mail
	tenantID string
}

type signIn struct {
	SignIn
	at time.Time
}

func newState(t Tenant, now time.Time) *state {
	st := &state{tenantID: t.TenantID}
	for i := range t.Users {
		u := t.Users[i]
		if u.UserType == "" {
			u.UserType = "Member"
		}
		st.users = append(st.users, &u)
	}
	for i := range t.Groups {
		g := t.Groups[i]
		g.Members = append([]string(nil), g.Members...)
		g.Owners = append([]string(nil), g.Owners...)
		st.groups = append(st.groups, &g)
	}
	st.roleDefs = append(st.roleDefs, t.RoleDefinitions...)
	for i := range t.RoleAssignments {
		a := t.RoleAssignments[i]
		if a.ID == "" {
			a.ID = AssignmentID(a.RoleDefinitionID, a.PrincipalID, a.DirectoryScopeID)
		}
		st.assigns = append(st.assigns, &a)
	}
	for _, si := range t.SignIns {
		st.addSignIn(si, now)
	}
	return st
}

func (st *state) addSignIn(si SignIn, now time.Time) signIn {
	at := now
	if si.CreatedDateTime != nil {
		at = si.CreatedDateTime.UTC()
	} else if si.HoursAgo != nil {
		at = now.Add(-time.Duration(*si.HoursAgo * float64(time.Hour))).UTC()
	}
	if si.ID == "" {
		si.ID = uuid.NewString()
	}
	if si.AppDisplayName == "" {
		si.AppDisplayName = "Microsoft Entra admin center"
	}
	if si.IPAddress == "" {
		si.IPAddress = "203.0.113.10"
	}
	if si.ClientAppUsed == "" {
		si.ClientAppUsed = "Browser"
	}
	if si.ConditionalAccessStatus == "" {
		si.ConditionalAccessStatus = "success"
		if si.ErrorCode != 0 {
			si.ConditionalAccessStatus = "notApplied"
		}
	}
	x := signIn{SignIn: si, at: at}
	st.signIns = append(st.signIns, x)
	return x
}

func (st *state) user(idOrUPN string) *User {
	for _, u := range st.users {
		if strings.EqualFold(u.ID, idOrUPN) || strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u
		}
	}
	return nil
}

func (st *state) group(id string) *Group {
	for _, g := range st.groups {
		if strings.EqualFold(g.ID, id) {
			return g
		}
	}
	return nil
}

func (st *state) roleDef(id string) *RoleDefinition {
	for i := range st.roleDefs {
		if strings.EqualFold(st.roleDefs[i].ID, id) {
			return &st.roleDefs[i]
		}
	}
	return nil
}

func indexOf(list []string, id string) int {
	for i, x := range list {
		if strings.EqualFold(x, id) {
			return i
		}
	}
	return -1
}

// transitiveGroups lists the groups id is a member of, directly or through
// nested groups, in tenant order.
func (st *state) transitiveGroups(id string) []*Group {
	seen := map[string]bool{}
	frontier := []string{strings.ToLower(id)}
	for len(frontier) > 0 {
		cur := frontier[0]
		frontier = frontier[1:]
		for _, g := range st.groups {
			k := strings.ToLower(g.ID)
			if !seen[k] && indexOf(g.Members, cur) >= 0 {
				seen[k] = true
				frontier = append(frontier, k)
			}
		}
	}
	var out []*Group
	for _, g := range st.groups {
		if seen[strings.ToLower(g.ID)] {
			out = append(out, g)
		}
	}
	return out
}

// AssignmentID derives a role assignment id the way Entra does for
// assignments created through roleManagement: the role definition id and
// the principal id as little-endian GUID bytes, base64url, then "-1".
// Assignments at other scopes get 8 more bytes from the scope's hash.
// Ids that are not GUIDs get a random id.
func AssignmentID(roleDefinitionID, principalID, scope string) string {
	r, err1 := uuid.Parse(roleDefinitionID)
	p, err2 := uuid.Parse(principalID)
	if err1 != nil || err2 != nil {
		return uuid.NewString()
	}
	buf := append(guidBytes(r), guidBytes(p)...)
	if scope != "/" {
		h := sha256.Sum256([]byte(strings.ToLower(scope)))
		buf = append(buf, h[:8]...)
	}
	return base64.RawURLEncoding.EncodeToString(buf) + "-1"
}

func guidBytes(u uuid.UUID) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], binary.BigEndian.Uint32(u[0:4]))
	binary.LittleEndian.PutUint16(b[4:], binary.BigEndian.Uint16(u[4:6]))
	binary.LittleEndian.PutUint16(b[6:], binary.BigEndian.Uint16(u[6:8]))
	copy(b[8:], u[8:])
	return b
}

// ---- rendering -------------------------------------------------------------

var userDefaults = []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (st *state) userObj(u *User) obj {
	return obj{
		"id":                u.ID,
		"businessPhones":    []any{},
		"displayName":       u.DisplayName,
		"givenName":         strOrNil(u.GivenName),
		"surname":           strOrNil(u.Surname),
		"jobTitle":          strOrNil(u.JobTitle),
		"mail":              strOrNil(u.Mail),
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"userPrincipalName": u.UserPrincipalName,
		"accountEnabled":    u.AccountEnabled,
		"userType":          u.UserType,
		"signInActivity":    st.signInActivity(u.ID),
	}
}

// signInActivity derives the user's signInActivity from the sign-in log:
// last interactive attempt, last non-interactive one, last success.
func (st *state) signInActivity(userID string) any {
	var inter, non, succ *signIn
	for i := range st.signIns {
		x := &st.signIns[i]
		if !strings.EqualFold(x.UserID, userID) {
			continue
		}
		interactive := x.IsInteractive == nil || *x.IsInteractive
		if interactive && (inter == nil || x.at.After(inter.at)) {
			inter = x
		}
		if !interactive && (non == nil || x.at.After(non.at)) {
			non = x
		}
		if x.ErrorCode == 0 && (succ == nil || x.at.After(succ.at)) {
			succ = x
		}
	}
	if inter == nil && non == nil && succ == nil {
		return nil
	}
	// Graph fills what never happened with the zero date or an empty
	// string rather than null (see the List users documentation); clients
	// must cope with both.
	pair := func(x *signIn, never string) (any, any) {
		if x == nil {
			return never, ""
		}
		return graphTime(x.at), x.ID
	}
	o := obj{}
	o["lastSignInDateTime"], o["lastSignInRequestId"] = pair(inter, "0001-01-01T00:00:00Z")
	o["lastNonInteractiveSignInDateTime"], o["lastNonInteractiveSignInRequestId"] = pair(non, "0001-01-01T00:00:00Z")
	o["lastSuccessfulSignInDateTime"], o["lastSuccessfulSignInRequestId"] = pair(succ, "")
	return o
}

func groupObj(g *Group) obj {
	types := g.GroupTypes
	if types == nil {
		types = []string{}
	}
	return obj{
		"id":                 g.ID,
		"deletedDateTime":    nil,
		"description":        strOrNil(g.Description),
		"displayName":        g.DisplayName,
		"groupTypes":         types,
		"isAssignableToRole": g.IsAssignableToRole,
		"mail":               nil,
		"mailEnabled":        g.MailEnabled,
		"mailNickname":       g.MailNickname,
		"securityEnabled":    g.SecurityEnabled,
		"visibility":         nil,
	}
}

func (st *state) directoryObject(id string) obj {
	if u := st.user(id); u != nil {
		o := project(st.userObj(u), nil, userDefaults)
		o["@odata.type"] = "#microsoft.graph.user"
		return o
	}
	if g := st.group(id); g != nil {
		o := groupObj(g)
		o["@odata.type"] = "#microsoft.graph.group"
		return o
	}
	return nil
}

func assignObj(a *RoleAssignment) obj {
	return obj{
		"id":               a.ID,
		"principalId":      a.PrincipalID,
		"roleDefinitionId": a.RoleDefinitionID,
		"directoryScopeId": a.DirectoryScopeID,
		"resourceScope":    a.DirectoryScopeID,
		"appScopeId":       nil,
		"condition":        nil,
	}
}

func roleDefObj(d *RoleDefinition) obj {
	return obj{
		"id":              d.ID,
		"description":     d.Description,
		"displayName":     d.DisplayName,
		"isBuiltIn":       d.IsBuiltIn,
		"isEnabled":       true,
		"isPrivileged":    d.IsPrivileged,
		"resourceScopes":  []string{"/"},
		"templateId":      d.ID,
		"version":         "1",
		"rolePermissions": []any{},
	}
}

func (st *state) signInObj(x *signIn) obj {
	upn, name := "", ""
	if u := st.user(x.UserID); u != nil {
		upn, name = u.UserPrincipalName, u.DisplayName
	}
	interactive := x.IsInteractive == nil || *x.IsInteractive
	var reason any
	if x.ErrorCode != 0 {
		reason = x.FailureReason
		if x.FailureReason == "" {
			reason = "Other."
		}
	}
	return obj{
		"id":                      x.ID,
		"createdDateTime":         graphTime(x.at),
		"userDisplayName":         name,
		"userPrincipalName":       upn,
		"userId":                  x.UserID,
		"appId":                   "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
		"appDisplayName":          x.AppDisplayName,
		"ipAddress":               x.IPAddress,
		"clientAppUsed":           x.ClientAppUsed,
		"correlationId":           x.ID,
		"conditionalAccessStatus": x.ConditionalAccessStatus,
		"isInteractive":           interactive,
		"riskDetail":              "none",
		"riskLevelAggregated":     "none",
		"riskLevelDuringSignIn":   "none",
		"riskState":               "none",
		"riskEventTypes":          []string{},
		"riskEventTypes_v2":       []string{},
		"resourceDisplayName":     "Microsoft Graph",
		"resourceId":              "00000003-0000-0000-c000-000000000000",
		"status":                  obj{"errorCode": x.ErrorCode, "failureReason": reason, "additionalDetails": nil},
		"deviceDetail": obj{
			"deviceId": "", "displayName": nil, "operatingSystem": "Windows 10", "browser": "Edge 120.0.0",
			"isCompliant": nil, "isManaged": nil, "trustType": nil,
		},
		"location": obj{
			"city": strOrNil(x.City), "state": nil, "countryOrRegion": strOrNil(x.CountryOrRegion),
			"geoCoordinates": obj{"altitude": nil, "latitude": nil, "longitude": nil},
		},
		"appliedConditionalAccessPolicies": []any{},
	}
}

// ---- HTTP ------------------------------------------------------------------

// Request is one request the simulator answered, for tests.
type Request struct {
	Method          string    `json:"method"`
	Path            string    `json:"path"`
	RawQuery        string    `json:"rawQuery,omitempty"`
	ContentEncoding string    `json:"contentEncoding,omitempty"`
	Status          int       `json:"status"`
	Time            time.Time `json:"time"`
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

const maxBody = 4 << 20

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	reqID := uuid.NewString()
	w.Header().Set("request-id", reqID)
	cid := r.Header.Get("client-request-id")
	if cid == "" {
		cid = reqID
	}
	w.Header().Set("client-request-id", cid)
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			ContentEncoding: r.Header.Get("Content-Encoding"), Status: w.status, Time: s.opts.Now(),
		})
		if len(s.requests) > 2000 {
			s.requests = append([]Request(nil), s.requests[len(s.requests)-1000:]...)
		}
		s.mu.Unlock()
		if s.opts.Logger != nil {
			s.opts.Logger.Info("graphsim", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", w.status)
		}
	}()

	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		writeError(w, errBadRequest("BadRequest", "Invalid version: only /v1.0 is simulated."), s.opts.Now())
		return
	}
	f := s.takeFault(r)
	if f != nil {
		if f.LatencyMs > 0 {
			t := time.NewTimer(time.Duration(f.LatencyMs) * time.Millisecond)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if f.Status != 0 {
			writeFault(w, f, s.opts.Now())
			return
		}
	}
	body, gerr := readBody(r)
	if gerr != nil {
		writeError(w, gerr, s.opts.Now())
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1.0")
	if strings.Trim(path, "/") == "users/$count" {
		s.countUsers(w, r)
		return
	}
	status, out, gerr := s.route(r, strings.Split(strings.Trim(path, "/"), "/"), body)
	if f != nil && f.StaleMs > 0 {
		t := time.NewTimer(time.Duration(f.StaleMs) * time.Millisecond)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if gerr != nil {
		writeError(w, gerr, s.opts.Now())
		return
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

// readBody reads a request body, gunzipping it when the client compressed
// it (the Graph SDK does by default).
func readBody(r *http.Request) ([]byte, *graphError) {
	if r.Body == nil {
		return nil, nil
	}
	rd := io.LimitReader(r.Body, maxBody)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, errBadRequest("BadRequest", "The request body is not valid gzip: %v", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, maxBody)
	default:
		return nil, &graphError{http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding " + enc + " is not supported."}
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, errBadRequest("BadRequest", "Could not read the request body: %v", err)
	}
	return b, nil
}

func decodeBody(body []byte, v any) *graphError {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("BadRequest", "Empty Payload. JSON content expected.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errBadRequest("BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	return nil
}

func methodNotAllowed() *graphError {
	return &graphError{http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."}
}

func segmentNotFound(seg string) *graphError {
	return errBadRequest("BadRequest", "Resource not found for the segment '%s'.", seg)
}

// route dispatches a Graph request; seg is the path after /v1.0/.
func (s *Server) route(r *http.Request, seg []string, body []byte) (int, obj, *graphError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	switch seg[0] {
	case "users":
		return s.routeUsers(r, st, seg[1:], body)
	case "groups":
		return s.routeGroups(r, st, seg[1:], body)
	case "roleManagement":
		if len(seg) < 3 || seg[1] != "directory" {
			return 0, nil, segmentNotFound(strings.Join(seg, "/"))
		}
		switch seg[2] {
		case "roleAssignments":
			return s.routeAssignments(r, st, seg[3:], body)
		case "roleDefinitions":
			return s.routeRoleDefs(r, st, seg[3:])
		}
	case "directoryObjects":
		// POST /directoryObjects/{id}/checkMemberGroups, for users and groups.
		if len(seg) == 3 && seg[2] == "checkMemberGroups" {
			if r.Method != http.MethodPost {
				return 0, nil, methodNotAllowed()
			}
			id := seg[1]
			if u := st.user(id); u != nil {
				id = u.ID
			} else if g := st.group(id); g != nil {
				id = g.ID
			} else {
				return 0, nil, errNotFound(id)
			}
			return checkMemberGroups(r, st, id, body)
		}
	case "auditLogs":
		if len(seg) >= 2 && seg[1] == "signIns" {
			return s.routeSignIns(r, st, seg[2:])
		}
	}
	return 0, nil, segmentNotFound(seg[0])
}

func (s *Server) listUsers(r *http.Request, st *state) (int, obj, *graphError) {
	q := r.URL.Query()
	sel := selectList(q)
	clauses, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return 0, nil, asGraphError(err)
	}
	if s.denySignI && (hasSelected(sel, "signInActivity") || strings.Contains(strings.ToLower(q.Get("$filter")), "signinactivity")) {
		return 0, nil, forbiddenSignInActivity()
	}
	var all []obj
	for _, u := range st.users {
		all = append(all, st.userObj(u))
	}
	all = filterObjects(all, clauses)
	pg, next, gerr := page(r, all, min(s.opts.PageSize, 999))
	if gerr != nil {
		return 0, nil, gerr
	}
	out := make([]obj, len(pg))
	for i, o := range pg {
		out[i] = project(o, sel, userDefaults)
	}
	return http.StatusOK, collection(r, "users", sel, out, next), nil
}

func forbiddenSignInActivity() *graphError {
	return &graphError{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
}

func (s *Server) routeUsers(r *http.Request, st *state, seg []string, body []byte) (int, obj, *graphError) {
	if len(seg) == 0 || seg[0] == "" {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		return s.listUsers(r, st)
	}
	u := st.user(seg[0])
	if len(seg) == 2 && seg[1] == "sendMail" {
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed()
		}
		if u == nil {
			return 0, nil, &graphError{http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", seg[0])}
		}
		return s.sendMail(st, u, body)
	}
	if u == nil {
		return 0, nil, errNotFound(seg[0])
	}
	if len(seg) == 1 {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		sel := selectList(r.URL.Query())
		if s.denySignI && hasSelected(sel, "signInActivity") {
			return 0, nil, forbiddenSignInActivity()
		}
		o := project(st.userObj(u), sel, userDefaults)
		o["@odata.context"] = contextURL(r, "users/$entity", sel)
		return http.StatusOK, o, nil
	}
	switch seg[1] {
	case "manager":
		if r.Method != http.MethodGet || len(seg) > 2 {
			return 0, nil, methodNotAllowed()
		}
		m := st.user(u.Manager)
		if u.Manager == "" || m == nil {
			return 0, nil, errNotFound("manager")
		}
		sel := selectList(r.URL.Query())
		o := project(st.userObj(m), sel, userDefaults)
		o["@odata.type"] = "#microsoft.graph.user"
		o["@odata.context"] = contextURL(r, "directoryObjects/$entity", sel)
		return http.StatusOK, o, nil
	case "checkMemberGroups":
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed()
		}
		return checkMemberGroups(r, st, u.ID, body)
	case "memberOf", "transitiveMemberOf":
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		var groups []*Group
		if seg[1] == "memberOf" {
			for _, g := range st.groups {
				if indexOf(g.Members, u.ID) >= 0 {
					groups = append(groups, g)
				}
			}
		} else {
			groups = st.transitiveGroups(u.ID)
		}
		var items []obj
		for _, g := range groups {
			o := groupObj(g)
			o["@odata.type"] = "#microsoft.graph.group"
			items = append(items, o)
		}
		return s.listObjects(r, "directoryObjects", items)
	}
	return 0, nil, segmentNotFound(seg[1])
}

// countUsers answers GET /users/$count as Graph does: a plain-text number,
// only with the ConsistencyLevel: eventual header (an advanced query);
// without it, 400.
func (s *Server) countUsers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, methodNotAllowed(), s.opts.Now())
		return
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual") {
		writeError(w, errBadRequest("Request_BadRequest", "Count is not currently supported."), s.opts.Now())
		return
	}
	s.mu.Lock()
	n := len(s.st.users)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%d", n)
}

// checkMemberGroups answers which of the given groups id is a transitive
// member of (POST .../checkMemberGroups).
func checkMemberGroups(r *http.Request, st *state, id string, body []byte) (int, obj, *graphError) {
	var in struct {
		GroupIDs []string `json:"groupIds"`
	}
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	if len(in.GroupIDs) == 0 || len(in.GroupIDs) > 20 {
		return 0, nil, errBadRequest("Request_BadRequest", "groupIds must hold between 1 and 20 group ids.")
	}
	member := map[string]string{}
	for _, g := range st.transitiveGroups(id) {
		member[strings.ToLower(g.ID)] = g.ID
	}
	out := []string{}
	for _, gid := range in.GroupIDs {
		if canon, ok := member[strings.ToLower(gid)]; ok {
			out = append(out, canon)
		}
	}
	return http.StatusOK, obj{"@odata.context": contextURL(r, "Collection(Edm.String)", nil), "value": out}, nil
}

// listObjects filters, pages and projects a collection.
func (s *Server) listObjects(r *http.Request, fragment string, items []obj) (int, obj, *graphError) {
	q := r.URL.Query()
	clauses, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return 0, nil, asGraphError(err)
	}
	items = filterObjects(items, clauses)
	pg, next, gerr := page(r, items, s.opts.PageSize)
	if gerr != nil {
		return 0, nil, gerr
	}
	sel := selectList(q)
	out := make([]obj, len(pg))
	for i, o := range pg {
		out[i] = project(o, sel, nil)
	}
	return http.StatusOK, collection(r, fragment, sel, out, next), nil
}

func (s *Server) routeGroups(r *http.Request, st *state, seg []string, body []byte) (int, obj, *graphError) {
	if len(seg) == 0 || seg[0] == "" {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		var items []obj
		for _, g := range st.groups {
			items = append(items, groupObj(g))
		}
		return s.listObjects(r, "groups", items)
	}
	g := st.group(seg[0])
	if g == nil {
		return 0, nil, errNotFound(seg[0])
	}
	if len(seg) == 1 {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		sel := selectList(r.URL.Query())
		o := project(groupObj(g), sel, nil)
		o["@odata.context"] = contextURL(r, "groups/$entity", sel)
		return http.StatusOK, o, nil
	}
	var list *[]string
	switch seg[1] {
	case "members":
		list = &g.Members
	case "owners":
		list = &g.Owners
	case "transitiveMembers":
		if len(seg) > 3 {
			return 0, nil, segmentNotFound(strings.Join(seg[1:], "/"))
		}
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		return s.listMembers(r, st, st.transitiveMembers(g.ID), seg[2:])
	default:
		return 0, nil, segmentNotFound(seg[1])
	}
	switch {
	case len(seg) == 2 || (len(seg) == 3 && strings.Contains(seg[2], "graph.")):
		// GET /groups/{id}/members[/microsoft.graph.user]
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		return s.listMembers(r, st, *list, seg[2:])
	case len(seg) == 3 && seg[2] == "$ref":
		switch r.Method {
		case http.MethodPost:
			return s.addRef(st, g, seg[1], list, body)
		case http.MethodDelete: // DELETE /groups/{id}/members/$ref?$id=...
			id := refID(r.URL.Query().Get("$id"))
			if id == "" {
				return 0, nil, errBadRequest("Request_BadRequest", "The $id query option is required.")
			}
			return s.removeRef(list, id)
		}
		return 0, nil, methodNotAllowed()
	case len(seg) == 4 && seg[3] == "$ref":
		if r.Method != http.MethodDelete {
			return 0, nil, methodNotAllowed()
		}
		return s.removeRef(list, seg[2])
	}
	return 0, nil, segmentNotFound(strings.Join(seg[1:], "/"))
}

// transitiveMembers lists the users and groups in a group, directly or
// through nested groups, each once.
func (st *state) transitiveMembers(groupID string) []string {
	seen := map[string]bool{strings.ToLower(groupID): true}
	var out []string
	queue := []string{groupID}
	for len(queue) > 0 {
		g := st.group(queue[0])
		queue = queue[1:]
		if g == nil {
			continue
		}
		for _, m := range g.Members {
			k := strings.ToLower(m)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, m)
			if st.group(m) != nil {
				queue = append(queue, m)
			}
		}
	}
	return out
}

// listMembers answers a member listing; cast is empty or the one segment
// after it (microsoft.graph.user or microsoft.graph.group), which keeps
// only that type and lets $select name its properties.
func (s *Server) listMembers(r *http.Request, st *state, ids []string, cast []string) (int, obj, *graphError) {
	typ := ""
	if len(cast) == 1 {
		// The Go SDK writes the cast as graph.user, the documentation as
		// microsoft.graph.user; Graph takes both.
		switch strings.TrimPrefix(cast[0], "microsoft.") {
		case "graph.user":
			typ = "microsoft.graph.user"
		case "graph.group":
			typ = "microsoft.graph.group"
		default:
			return 0, nil, segmentNotFound(cast[0])
		}
	}
	sel := selectList(r.URL.Query())
	if s.denySignI && hasSelected(sel, "signInActivity") {
		return 0, nil, forbiddenSignInActivity()
	}
	var items []obj
	for _, id := range ids {
		if u := st.user(id); u != nil && (typ == "" || typ == "microsoft.graph.user") {
			o := st.userObj(u)
			if typ == "" {
				o["@odata.type"] = "#microsoft.graph.user"
			}
			items = append(items, o)
		} else if g := st.group(id); g != nil && (typ == "" || typ == "microsoft.graph.group") {
			o := groupObj(g)
			if typ == "" {
				o["@odata.type"] = "#microsoft.graph.group"
			}
			items = append(items, o)
		}
	}
	q := r.URL.Query()
	clauses, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return 0, nil, asGraphError(err)
	}
	items = filterObjects(items, clauses)
	pg, next, gerr := page(r, items, s.opts.PageSize)
	if gerr != nil {
		return 0, nil, gerr
	}
	out := make([]obj, len(pg))
	for i, o := range pg {
		defaults := []string(nil)
		if _, isUser := o["userPrincipalName"]; isUser {
			defaults = userDefaults
		}
		out[i] = project(o, sel, defaults)
	}
	fragment := "directoryObjects"
	switch typ {
	case "microsoft.graph.user":
		fragment = "users"
	case "microsoft.graph.group":
		fragment = "groups"
	}
	return http.StatusOK, collection(r, fragment, sel, out, next), nil
}

// refID takes the object id out of an @odata.id such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id} or .../users('{id}').
func refID(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	if u, err := url.Parse(ref); err == nil && u.Path != "" {
		ref = u.Path
	}
	ref = strings.TrimSuffix(ref, "/")
	last := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.Index(last, "('"); i >= 0 && strings.HasSuffix(last, "')") {
		last = last[i+2 : len(last)-2]
	}
	return last
}

func (s *Server) addRef(st *state, g *Group, prop string, list *[]string, body []byte) (int, obj, *graphError) {
	var in map[string]any
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	var ref string
	for k, v := range in {
		if strings.EqualFold(k, "@odata.id") {
			ref, _ = v.(string)
		}
	}
	id := refID(ref)
	if id == "" {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid object identifier '%s'.", ref)
	}
	u, mg := st.user(id), st.group(id)
	if u == nil && mg == nil {
		return 0, nil, errNotFound(id)
	}
	if mg != nil {
		if prop == "owners" {
			return 0, nil, errBadRequest("Request_BadRequest", "A group cannot be an owner of a group.")
		}
		if g.IsAssignableToRole || mg.IsAssignableToRole {
			return 0, nil, errBadRequest("Request_BadRequest", "Role-assignable groups cannot be nested.")
		}
		if strings.EqualFold(mg.ID, g.ID) {
			return 0, nil, errBadRequest("Request_BadRequest", "A group cannot be a member of itself.")
		}
	}
	if indexOf(*list, id) >= 0 {
		return 0, nil, errBadRequest("Request_BadRequest", "One or more added object references already exist for the following modified properties: '%s'.", prop)
	}
	var canonical string
	if u != nil {
		canonical = u.ID
	} else {
		canonical = mg.ID
	}
	*list = append(*list, canonical)
	return http.StatusNoContent, nil, nil
}

func (s *Server) removeRef(list *[]string, id string) (int, obj, *graphError) {
	i := indexOf(*list, id)
	if i < 0 {
		return 0, nil, errNotFound(id)
	}
	*list = append((*list)[:i], (*list)[i+1:]...)
	return http.StatusNoContent, nil, nil
}

func (s *Server) routeAssignments(r *http.Request, st *state, seg []string, body []byte) (int, obj, *graphError) {
	if len(seg) == 0 || seg[0] == "" {
		switch r.Method {
		case http.MethodGet:
			var items []obj
			expand := strings.Contains(strings.ToLower(r.URL.Query().Get("$expand")), "principal")
			for _, a := range st.assigns {
				o := assignObj(a)
				if expand {
					o["principal"] = st.directoryObject(a.PrincipalID)
				}
				items = append(items, o)
			}
			return s.listObjects(r, "roleManagement/directory/roleAssignments", items)
		case http.MethodPost:
			return s.createAssignment(r, st, body)
		}
		return 0, nil, methodNotAllowed()
	}
	idx := -1
	for i, a := range st.assigns {
		if a.ID == seg[0] {
			idx = i
		}
	}
	if idx < 0 {
		return 0, nil, errNotFound(seg[0])
	}
	if len(seg) > 1 {
		return 0, nil, segmentNotFound(seg[1])
	}
	switch r.Method {
	case http.MethodGet:
		o := assignObj(st.assigns[idx])
		o["@odata.context"] = contextURL(r, "roleManagement/directory/roleAssignments/$entity", nil)
		return http.StatusOK, o, nil
	case http.MethodDelete:
		st.assigns = append(st.assigns[:idx], st.assigns[idx+1:]...)
		return http.StatusNoContent, nil, nil
	}
	return 0, nil, methodNotAllowed()
}

func (s *Server) createAssignment(r *http.Request, st *state, body []byte) (int, obj, *graphError) {
	var in struct {
		PrincipalID      string  `json:"principalId"`
		RoleDefinitionID string  `json:"roleDefinitionId"`
		DirectoryScopeID *string `json:"directoryScopeId"`
		AppScopeID       *string `json:"appScopeId"`
	}
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	if in.DirectoryScopeID == nil || *in.DirectoryScopeID == "" {
		if in.AppScopeID != nil && *in.AppScopeID != "" {
			return 0, nil, errBadRequest("Request_BadRequest", "App-scoped role assignments are not simulated.")
		}
		return 0, nil, errBadRequest("Request_BadRequest", "Either directoryScopeId or appScopeId must be specified.")
	}
	scope := *in.DirectoryScopeID
	if in.PrincipalID == "" {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid value specified for property 'principalId' of resource 'UnifiedRoleAssignment'.")
	}
	u, g := st.user(in.PrincipalID), st.group(in.PrincipalID)
	if u == nil && g == nil {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid principal '%s': the object does not exist.", in.PrincipalID)
	}
	if g != nil && !g.IsAssignableToRole {
		return 0, nil, errBadRequest("Request_BadRequest", "Group '%s' is not role-assignable (isAssignableToRole is false).", g.ID)
	}
	d := st.roleDef(in.RoleDefinitionID)
	if d == nil {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid value specified for property 'roleDefinitionId' of resource 'UnifiedRoleAssignment'.")
	}
	var principal string
	if u != nil {
		principal = u.ID
	} else {
		principal = g.ID
	}
	for _, a := range st.assigns {
		if strings.EqualFold(a.PrincipalID, principal) && strings.EqualFold(a.RoleDefinitionID, d.ID) && strings.EqualFold(a.DirectoryScopeID, scope) {
			return 0, nil, errBadRequest("Request_BadRequest", "A conflicting object with one or more of the specified property values is present in the directory.")
		}
	}
	a := &RoleAssignment{ID: AssignmentID(d.ID, principal, scope), PrincipalID: principal, RoleDefinitionID: d.ID, DirectoryScopeID: scope}
	st.assigns = append(st.assigns, a)
	o := assignObj(a)
	o["@odata.context"] = contextURL(r, "roleManagement/directory/roleAssignments/$entity", nil)
	return http.StatusCreated, o, nil
}

func (s *Server) routeRoleDefs(r *http.Request, st *state, seg []string) (int, obj, *graphError) {
	if r.Method != http.MethodGet {
		return 0, nil, methodNotAllowed()
	}
	if len(seg) == 0 || seg[0] == "" {
		var items []obj
		for i := range st.roleDefs {
			items = append(items, roleDefObj(&st.roleDefs[i]))
		}
		return s.listObjects(r, "roleManagement/directory/roleDefinitions", items)
	}
	d := st.roleDef(seg[0])
	if d == nil || len(seg) > 1 {
		return 0, nil, errNotFound(seg[0])
	}
	o := roleDefObj(d)
	o["@odata.context"] = contextURL(r, "roleManagement/directory/roleDefinitions/$entity", nil)
	return http.StatusOK, o, nil
}

func (s *Server) routeSignIns(r *http.Request, st *state, seg []string) (int, obj, *graphError) {
	if r.Method != http.MethodGet {
		return 0, nil, methodNotAllowed()
	}
	// The sign-in log is newest first.
	idx := make([]int, len(st.signIns))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return st.signIns[idx[a]].at.After(st.signIns[idx[b]].at) })
	if len(seg) > 0 && seg[0] != "" {
		for _, i := range idx {
			if st.signIns[i].ID == seg[0] {
				o := st.signInObj(&st.signIns[i])
				o["@odata.context"] = contextURL(r, "auditLogs/signIns/$entity", nil)
				return http.StatusOK, o, nil
			}
		}
		return 0, nil, errNotFound(seg[0])
	}
	var items []obj
	for _, i := range idx {
		items = append(items, st.signInObj(&st.signIns[i]))
	}
	return s.listObjects(r, "auditLogs/signIns", items)
}

// ---- mail ------------------------------------------------------------------

// Mail is one message accepted by sendMail.
type Mail struct {
	ID              string          `json:"id"`
	From            string          `json:"from"` // the mailbox in the sendMail path
	To              []string        `json:"to"`
	Cc              []string        `json:"cc,omitempty"`
	Bcc             []string        `json:"bcc,omitempty"`
	Subject         string          `json:"subject"`
	ContentType     string          `json:"contentType"` // Text or HTML
	Body            string          `json:"body"`
	SaveToSentItems bool            `json:"saveToSentItems"`
	SentDateTime    time.Time       `json:"sentDateTime"`
	Request         json.RawMessage `json:"request"` // the request body as received (gunzipped)
}

type recipient struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"emailAddress"`
}

func addresses(rs []recipient) []string {
	var out []string
	for _, r := range rs {
		if r.EmailAddress.Address != "" {
			out = append(out, r.EmailAddress.Address)
		}
	}
	return out
}

// sendMail accepts the documented camelCase body and the PascalCase one the
// Go SDK sends (Message, SaveToSentItems): JSON keys match case-insensitively.
func (s *Server) sendMail(st *state, from *User, body []byte) (int, obj, *graphError) {
	var in struct {
		Message *struct {
			Subject string `json:"subject"`
			Body    *struct {
				ContentType string `json:"contentType"`
				Content     string `json:"content"`
			} `json:"body"`
			ToRecipients  []recipient `json:"toRecipients"`
			CcRecipients  []recipient `json:"ccRecipients"`
			BccRecipients []recipient `json:"bccRecipients"`
		} `json:"message"`
		SaveToSentItems json.RawMessage `json:"saveToSentItems"`
	}
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	if in.Message == nil {
		return 0, nil, errBadRequest("ErrorInvalidArgument", "The message parameter is required.")
	}
	m := Mail{
		ID:              uuid.NewString(),
		From:            from.UserPrincipalName,
		To:              addresses(in.Message.ToRecipients),
		Cc:              addresses(in.Message.CcRecipients),
		Bcc:             addresses(in.Message.BccRecipients),
		Subject:         in.Message.Subject,
		ContentType:     "Text",
		SaveToSentItems: true,
		SentDateTime:    s.opts.Now().UTC(),
		Request:         json.RawMessage(append([]byte(nil), body...)),
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		return 0, nil, errBadRequest("ErrorInvalidRecipients", "At least one recipient is not valid., Recipient is missing.")
	}
	if in.Message.Body != nil {
		m.Body = in.Message.Body.Content
		if strings.EqualFold(in.Message.Body.ContentType, "html") {
			m.ContentType = "HTML"
		}
	}
	// saveToSentItems is a boolean; the documentation's own example sends
	// the string "false", which Graph accepts.
	switch strings.ToLower(strings.Trim(string(in.SaveToSentItems), `" `)) {
	case "", "null", "true":
	case "false":
		m.SaveToSentItems = false
	default:
		return 0, nil, errBadRequest("ErrorInvalidArgument", "Invalid value for saveToSentItems.")
	}
	st.outbox = append(st.outbox, m)
	return http.StatusAccepted, nil, nil
}

// asGraphError returns the *graphError an error holds (the filter parser
// returns only those), or an internal error for anything else.
func asGraphError(err error) *graphError {
	var ge *graphError
	if errors.As(err, &ge) {
		return ge
	}
	return &graphError{status: http.StatusInternalServerError, code: "InternalServerError", message: err.Error()}
}
