// Package armsim is a local stand-in for the part of Azure Resource Manager
// that jitpim calls for Azure resource roles: role definitions (Azure's
// real built-in ids for Owner, Contributor, Reader, User Access
// Administrator and Role Based Access Control Administrator) and role
// assignments at management group, subscription, resource group and
// resource scopes, with inheritance down the scope path
// (Microsoft.Authorization, api-version 2022-04-01). It answers with ARM's
// shapes: resources {id, name, type, properties}, {"value", "nextLink"}
// collections, {"error": {"code", "message"}} errors, 409
// RoleAssignmentExists, 404 SubscriptionNotFound / ResourceGroupNotFound /
// RoleAssignmentNotFound, 204 on deleting what is gone.
//
// Control endpoints for tests and walkthroughs live under /_sim/: state,
// fault injection (429 with Retry-After, 5xx, latency), the request log and
// reset. Nothing here authenticates: run it on loopback only.
package armsim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Seed is the Azure estate the simulator starts with.
type Seed struct {
	TenantID      string         `json:"tenantId"`
	Subscriptions []Subscription `json:"subscriptions"`
	// ManagementGroups are known management group names.
	ManagementGroups []string `json:"managementGroups,omitempty"`
	// ManagementGroupDisplayNames names management groups by id; one
	// without an entry is displayed by its id, as Azure does.
	ManagementGroupDisplayNames map[string]string `json:"managementGroupDisplayNames,omitempty"`
	// RoleAssignments exist from the start (made outside jitpim).
	RoleAssignments []Assignment `json:"roleAssignments,omitempty"`
}

// Subscription is a subscription and its resource groups.
type Subscription struct {
	ID             string   `json:"id"`
	DisplayName    string   `json:"displayName"`
	ResourceGroups []string `json:"resourceGroups"`
}

// Assignment is a role assignment as the state dump and the seed show it.
type Assignment struct {
	Name             string    `json:"name"`
	Scope            string    `json:"scope"`
	PrincipalID      string    `json:"principalId"`
	RoleDefinitionID string    `json:"roleDefinitionId"` // the GUID
	CreatedOn        time.Time `json:"createdOn"`
}

// LoadSeed reads a seed file (local/demo/azure.json).
func LoadSeed(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, err
	}
	var s Seed
	if err := json.Unmarshal(b, &s); err != nil {
		return Seed{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Options tune a Server.
type Options struct {
	// PageSize caps every list page (default 100); tests set it small.
	PageSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger, when set, logs every request.
	Logger *slog.Logger
}

// Fault makes the simulator misbehave on matching requests.
type Fault struct {
	Method     string `json:"method,omitempty"`
	PathPrefix string `json:"pathPrefix,omitempty"` // matched case-insensitively
	// Count is how many matching requests the fault hits; 0: every one.
	Count int `json:"count,omitempty"`
	// Status is the answer (429, 500, 503, 403…); 0 answers normally
	// after the latency.
	Status     int    `json:"status,omitempty"`
	RetryAfter int    `json:"retryAfter,omitempty"` // seconds, sent when > 0
	LatencyMs  int    `json:"latencyMs,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	// AfterWrite applies the request first and then answers with the
	// fault: the write landed, the answer was lost.
	AfterWrite bool `json:"afterWrite,omitempty"`
	hits       int
}

// Request is one answered request, for tests that count calls.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// Server is the simulator; it is an http.Handler and safe for concurrent use.
type Server struct {
	seed Seed
	opts Options

	mu       sync.Mutex
	assigns  map[string]*Assignment // scope|name, canonical
	faults   []*Fault
	requests []Request
}

// New builds a simulator seeded with seed.
func New(seed Seed, opts Options) *Server {
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// The seed is the server's own: NameScope changes it, and a caller's
	// seed may be shared by parallel tests.
	seed.Subscriptions = slices.Clone(seed.Subscriptions)
	seed.ManagementGroups = slices.Clone(seed.ManagementGroups)
	seed.ManagementGroupDisplayNames = maps.Clone(seed.ManagementGroupDisplayNames)
	s := &Server{seed: seed, opts: opts}
	s.Reset()
	return s
}

// Reset returns to the seeded estate; faults and the request log are cleared.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assigns = map[string]*Assignment{}
	s.faults, s.requests = nil, nil
	for _, a := range s.seed.RoleAssignments {
		if err := s.addLocked(a); err != nil {
			panic("armsim seed: " + err.Error())
		}
	}
}

// AddAssignment makes an assignment as an administrator in the portal
// would (a seed; the scope may be spelt any way Azure accepts).
func (s *Server) AddAssignment(a Assignment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(a)
}

func (s *Server) addLocked(a Assignment) error {
	scope, err := domain.ParseAzureScope("scope", a.Scope)
	if err != nil {
		return err
	}
	if !domain.IsGUID(a.Name) || !domain.IsGUID(a.PrincipalID) || !domain.IsGUID(a.RoleDefinitionID) {
		return fmt.Errorf("assignment %+v: name, principalId and roleDefinitionId must be GUIDs", a)
	}
	a.Scope, a.Name = scope, strings.ToLower(a.Name)
	a.PrincipalID, a.RoleDefinitionID = strings.ToLower(a.PrincipalID), strings.ToLower(a.RoleDefinitionID)
	if a.CreatedOn.IsZero() {
		a.CreatedOn = s.opts.Now().UTC()
	}
	s.assigns[scope+"|"+a.Name] = &a
	return nil
}

// Assignments returns every assignment, sorted by scope and name.
func (s *Server) Assignments() []Assignment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Assignment, 0, len(s.assigns))
	for _, a := range s.assigns {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Assignment) int { return strings.Compare(a.Scope+"|"+a.Name, b.Scope+"|"+b.Name) })
	return out
}

// Has reports whether principal holds role by an assignment made at
// exactly scope.
func (s *Server) Has(principalID, roleDefinitionID, scope string) bool {
	c, err := domain.ParseAzureScope("scope", scope)
	if err != nil {
		return false
	}
	for _, a := range s.Assignments() {
		if a.Scope == c && strings.EqualFold(a.PrincipalID, principalID) && strings.EqualFold(a.RoleDefinitionID, roleDefinitionID) {
			return true
		}
	}
	return false
}

// AddFault installs a fault; the first matching one applies.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns the requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.PathPrefix != "" && !strings.HasPrefix(strings.ToLower(r.URL.Path), strings.ToLower(f.PathPrefix)) {
			continue
		}
		f.hits++
		if f.Count > 0 && f.hits >= f.Count {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

// armError is ARM's error body.
type armError struct {
	status        int
	Code, Message string
}

func (e *armError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, a ...any) *armError {
	return &armError{status, code, fmt.Sprintf(format, a...)}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status})
		if len(s.requests) > 2000 {
			s.requests = slices.Clone(s.requests[1000:])
		}
		s.mu.Unlock()
		if s.opts.Logger != nil {
			s.opts.Logger.Info("armsim", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", rec.status)
		}
	}()
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(rec, r)
		return
	}
	f := s.takeFault(r)
	if f != nil && f.LatencyMs > 0 {
		time.Sleep(time.Duration(f.LatencyMs) * time.Millisecond)
	}
	if f != nil && f.Status != 0 && !f.AfterWrite {
		writeFault(rec, f)
		return
	}
	status, body, aerr := s.serveARM(r)
	if f != nil && f.Status != 0 {
		writeFault(rec, f)
		return
	}
	if aerr != nil {
		writeError(rec, aerr)
		return
	}
	writeJSON(rec, status, body)
}

func writeFault(w http.ResponseWriter, f *Fault) {
	code, msg := f.Code, f.Message
	if code == "" {
		switch f.Status {
		case http.StatusTooManyRequests:
			code, msg = "TooManyRequests", "The request is being throttled."
		case http.StatusForbidden:
			code, msg = "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write'."
		default:
			code = http.StatusText(f.Status)
		}
	}
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	writeError(w, &armError{f.Status, code, msg})
}

func writeError(w http.ResponseWriter, e *armError) {
	w.Header().Set("x-ms-failure-cause", "gateway")
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

const authzProvider = "/providers/microsoft.authorization/"

// serveARM answers {scope}/providers/Microsoft.Authorization/{collection}[/{name}].
func (s *Server) serveARM(r *http.Request) (int, any, *armError) {
	path := r.URL.Path
	i := strings.LastIndex(strings.ToLower(path), authzProvider)
	if i < 0 && r.Method == http.MethodGet {
		return s.getScope(r)
	}
	if i < 0 {
		return 0, nil, errorf(http.StatusNotFound, "NotFound", "no route for %s %s", r.Method, path)
	}
	if v := r.URL.Query().Get("api-version"); v == "" {
		return 0, nil, errorf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	}
	scopeText, rest := path[:i], strings.Split(path[i+len(authzProvider):], "/")
	scope, err := domain.ParseAzureScope("scope", scopeText)
	if err != nil {
		if scopeText == "" && len(rest) >= 1 && strings.EqualFold(rest[0], "roleDefinitions") {
			scope = "" // tenant-level role definitions
		} else {
			return 0, nil, errorf(http.StatusBadRequest, "InvalidScope", "The scope '%s' is not valid.", scopeText)
		}
	}
	if scope != "" {
		if aerr := s.checkScopeExists(scope); aerr != nil {
			return 0, nil, aerr
		}
	}
	switch {
	case strings.EqualFold(rest[0], "roleDefinitions") && len(rest) == 1 && r.Method == http.MethodGet:
		return s.listRoleDefinitions(r, scope)
	case strings.EqualFold(rest[0], "roleDefinitions") && len(rest) == 2 && r.Method == http.MethodGet:
		d, ok := roleDefinition(scope, rest[1])
		if !ok {
			return 0, nil, errorf(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", rest[1])
		}
		return http.StatusOK, d, nil
	case strings.EqualFold(rest[0], "roleAssignments") && len(rest) == 1 && r.Method == http.MethodGet:
		return s.listAssignments(r, scope)
	case strings.EqualFold(rest[0], "roleAssignments") && len(rest) == 2:
		name := strings.ToLower(rest[1])
		if !domain.IsGUID(name) {
			return 0, nil, errorf(http.StatusBadRequest, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", rest[1])
		}
		switch r.Method {
		case http.MethodGet:
			s.mu.Lock()
			a, ok := s.assigns[scope+"|"+name]
			s.mu.Unlock()
			if !ok {
				return 0, nil, errorf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
			}
			return http.StatusOK, assignmentJSON(*a), nil
		case http.MethodPut:
			return s.putAssignment(r, scope, name)
		case http.MethodDelete:
			s.mu.Lock()
			a, ok := s.assigns[scope+"|"+name]
			delete(s.assigns, scope+"|"+name)
			s.mu.Unlock()
			if !ok {
				return http.StatusNoContent, nil, nil
			}
			return http.StatusOK, assignmentJSON(*a), nil
		}
	}
	return 0, nil, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not supported on %s", r.Method, path)
}

// checkScopeExists answers ARM's 404s for unknown subscriptions, resource
// groups and management groups. Resources below a known resource group
// are taken to exist.
func (s *Server) checkScopeExists(scope string) *armError {
	s.mu.Lock()
	defer s.mu.Unlock()
	segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if segs[0] == "providers" {
		if !slices.ContainsFunc(s.seed.ManagementGroups, func(m string) bool { return strings.EqualFold(m, segs[3]) }) {
			return errorf(http.StatusNotFound, "ManagementGroupNotFound", "The management group '%s' was not found.", segs[3])
		}
		return nil
	}
	for _, sub := range s.seed.Subscriptions {
		if !strings.EqualFold(sub.ID, segs[1]) {
			continue
		}
		if len(segs) >= 4 && !slices.ContainsFunc(sub.ResourceGroups, func(g string) bool { return strings.EqualFold(g, segs[3]) }) {
			return errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", segs[3])
		}
		return nil
	}
	return errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", segs[1])
}

func (s *Server) putAssignment(r *http.Request, scope, name string) (int, any, *armError) {
	var body struct {
		Properties struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
			PrincipalID      string `json:"principalId"`
			PrincipalType    string `json:"principalType"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&body); err != nil {
		return 0, nil, errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: %v", err)
	}
	p := body.Properties
	if !domain.IsGUID(p.PrincipalID) {
		return 0, nil, errorf(http.StatusBadRequest, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
	}
	defID := p.RoleDefinitionID[strings.LastIndex(p.RoleDefinitionID, "/")+1:]
	if _, ok := roleDefinition(scope, defID); !ok || !strings.Contains(strings.ToLower(p.RoleDefinitionID), "/providers/microsoft.authorization/roledefinitions/") {
		return 0, nil, errorf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", p.RoleDefinitionID)
	}
	a := Assignment{Name: name, Scope: scope, PrincipalID: strings.ToLower(p.PrincipalID), RoleDefinitionID: strings.ToLower(defID), CreatedOn: s.opts.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.assigns[scope+"|"+name]; ok {
		if cur.PrincipalID != a.PrincipalID || cur.RoleDefinitionID != a.RoleDefinitionID {
			return 0, nil, errorf(http.StatusConflict, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		}
		return http.StatusOK, assignmentJSON(*cur), nil
	}
	for _, cur := range s.assigns {
		if cur.Scope == scope && cur.PrincipalID == a.PrincipalID && cur.RoleDefinitionID == a.RoleDefinitionID {
			return 0, nil, errorf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
		}
	}
	s.assigns[scope+"|"+name] = &a
	return http.StatusCreated, assignmentJSON(a), nil
}

// listAssignments answers a list at scope: without a filter everything at,
// above and below it; $filter=atScope() at and above; $filter=principalId
// eq '{id}' that principal's at, above and below.
func (s *Server) listAssignments(r *http.Request, scope string) (int, any, *armError) {
	filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
	principal, atScope := "", false
	switch {
	case filter == "":
	case strings.EqualFold(filter, "atScope()"):
		atScope = true
	case strings.HasPrefix(strings.ToLower(filter), "principalid eq "):
		principal = strings.ToLower(strings.Trim(strings.TrimSpace(filter[len("principalid eq "):]), "'"))
		if !domain.IsGUID(principal) {
			return 0, nil, errorf(http.StatusBadRequest, "InvalidFilter", "The filter '%s' is not supported.", filter)
		}
	default:
		return 0, nil, errorf(http.StatusBadRequest, "UnsupportedQuery", "The filter '%s' is not supported. Supported filters are atScope() and principalId eq '{id}'.", filter)
	}
	var all []Assignment
	for _, a := range s.Assignments() {
		above := domain.AzureScopeCovers(a.Scope, scope)
		below := domain.AzureScopeCovers(scope, a.Scope)
		if (above || (!atScope && below)) && (principal == "" || a.PrincipalID == principal) {
			all = append(all, a)
		}
	}
	skip := 0
	if t := r.URL.Query().Get("$skipToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(all) {
			return 0, nil, errorf(http.StatusBadRequest, "InvalidSkipToken", "The skip token is not valid.")
		}
		skip = n
	}
	end := min(skip+s.opts.PageSize, len(all))
	out := map[string]any{"value": mapSlice(all[skip:end], assignmentJSON)}
	if end < len(all) {
		q := r.URL.Query()
		q.Set("$skipToken", strconv.Itoa(end))
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		out["nextLink"] = u.String()
	}
	return http.StatusOK, out, nil
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

// definitionID is how ARM spells a role definition's id: below the
// subscription for subscription-based scopes, at the tenant otherwise.
func definitionID(scope, guid string) string {
	if strings.HasPrefix(scope, "/subscriptions/") {
		segs := strings.Split(scope, "/")
		return "/subscriptions/" + segs[2] + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}
	return "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

func assignmentJSON(a Assignment) map[string]any {
	return map[string]any{
		"id":   a.Scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name,
		"name": a.Name,
		"type": "Microsoft.Authorization/roleAssignments",
		"properties": map[string]any{
			"roleDefinitionId": definitionID(a.Scope, a.RoleDefinitionID),
			"principalId":      a.PrincipalID,
			"principalType":    "User",
			"scope":            a.Scope,
			"createdOn":        a.CreatedOn.Format(time.RFC3339),
			"updatedOn":        a.CreatedOn.Format(time.RFC3339),
		},
	}
}

func roleDefinition(scope, id string) (map[string]any, bool) {
	for _, r := range domain.AzureBuiltInRoles {
		if strings.EqualFold(string(r.ID), id) {
			return map[string]any{
				"id": definitionID(scope, string(r.ID)), "name": string(r.ID), "type": "Microsoft.Authorization/roleDefinitions",
				"properties": map[string]any{"roleName": r.DisplayName, "type": "BuiltInRole", "assignableScopes": []string{"/"}},
			}, true
		}
	}
	return nil, false
}

func (s *Server) listRoleDefinitions(r *http.Request, scope string) (int, any, *armError) {
	filter := r.URL.Query().Get("$filter")
	var want string
	if filter != "" {
		const p = "rolename eq "
		if !strings.HasPrefix(strings.ToLower(filter), p) {
			return 0, nil, errorf(http.StatusBadRequest, "UnsupportedQuery", "The filter '%s' is not supported.", filter)
		}
		want = strings.Trim(strings.TrimSpace(filter[len(p):]), "'")
	}
	out := []map[string]any{}
	for _, rd := range domain.AzureBuiltInRoles {
		if want == "" || strings.EqualFold(rd.DisplayName, want) {
			d, _ := roleDefinition(scope, string(rd.ID))
			out = append(out, d)
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

// ---- /_sim/ ------------------------------------------------------------------

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/") + " " + r.Method {
	case "state GET":
		s.mu.Lock()
		subs := slices.Clone(s.seed.Subscriptions)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"subscriptions": subs, "roleAssignments": s.Assignments()})
	case "requests GET":
		writeJSON(w, http.StatusOK, map[string]any{"value": s.Requests()})
	case "reset POST":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "faults DELETE":
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case "faults POST":
		var f Fault
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&f); err != nil || (f.Status != 0 && (f.Status < 400 || f.Status > 599)) {
			writeError(w, errorf(http.StatusBadRequest, "BadRequest", "a fault is {method, pathPrefix, count, status (4xx/5xx), retryAfter, latencyMs, afterWrite}"))
			return
		}
		s.AddFault(f)
		w.WriteHeader(http.StatusNoContent)
	case "assignments POST":
		var a Assignment
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&a); err != nil {
			writeError(w, errorf(http.StatusBadRequest, "BadRequest", "%v", err))
			return
		}
		if err := s.AddAssignment(a); err != nil {
			writeError(w, errorf(http.StatusBadRequest, "BadRequest", "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, errorf(http.StatusNotFound, "NotFound", "unknown control endpoint %s %s", r.Method, r.URL.Path))
	}
}
