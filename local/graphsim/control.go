package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the simulator misbehave on matching Graph requests.
type Fault struct {
	// Method matches the HTTP method; empty matches any.
	Method string `json:"method,omitempty"`
	// PathPrefix matches the request path, with or without the /v1.0
	// prefix (e.g. "/users" or "/v1.0/roleManagement"); empty matches any.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Count is how many matching requests the fault hits; 0 means every
	// one until the faults are cleared.
	Count int `json:"count,omitempty"`
	// Status is the answer (429, 503, 504, 500, 403, ...); 0 answers
	// normally after the latency.
	Status int `json:"status,omitempty"`
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int `json:"retryAfter,omitempty"`
	// LatencyMs delays the request before it is handled.
	LatencyMs int `json:"latencyMs,omitempty"`
	// StaleMs delays the answer after it was computed, so the client gets
	// a view that is StaleMs old (like a lagging Graph replica): two
	// clients reading at once both see the state before either writes.
	StaleMs int `json:"staleMs,omitempty"`
	// Code and Message override the OData error body.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	hits int
}

// AddFault installs a fault; faults are tried in the order they were added
// and the first match applies.
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

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	full := r.URL.Path
	short := strings.TrimPrefix(full, "/v1.0")
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.PathPrefix != "" && !strings.HasPrefix(full, f.PathPrefix) && !strings.HasPrefix(short, f.PathPrefix) {
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

func writeFault(w http.ResponseWriter, f *Fault, now time.Time) {
	code, msg := f.Code, f.Message
	if code == "" {
		switch f.Status {
		case http.StatusTooManyRequests:
			code, msg = "TooManyRequests", "Too many requests."
		case http.StatusServiceUnavailable:
			code, msg = "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."
		case http.StatusGatewayTimeout:
			code, msg = "UnknownError", "Gateway timeout."
		case http.StatusForbidden:
			code, msg = "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
		default:
			code, msg = "UnknownError", http.StatusText(f.Status)
		}
	}
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	writeError(w, &graphError{f.Status, code, msg}, now)
}

// ---- inspection helpers ----------------------------------------------------

// State is a snapshot of what tests and walkthroughs look at.
type State struct {
	RoleAssignments []RoleAssignment `json:"roleAssignments"`
	Groups          []GroupState     `json:"groups"`
	Users           []UserState      `json:"users"`
}

// GroupState lists a group's members and owners by object id.
type GroupState struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"`
	Owners      []string `json:"owners"`
}

// UserState is a user's identity, whether it may sign in, and its last
// interactive sign-in.
type UserState struct {
	ID                 string     `json:"id"`
	UserPrincipalName  string     `json:"userPrincipalName"`
	DisplayName        string     `json:"displayName"`
	AccountEnabled     bool       `json:"accountEnabled"`
	LastSignInDateTime *time.Time `json:"lastSignInDateTime"`
}

// State returns a snapshot of role assignments, group members and users.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	out := State{RoleAssignments: []RoleAssignment{}, Groups: []GroupState{}, Users: []UserState{}}
	for _, a := range st.assigns {
		out.RoleAssignments = append(out.RoleAssignments, RoleAssignment{ID: a.ID, PrincipalID: a.PrincipalID, RoleDefinitionID: a.RoleDefinitionID, DirectoryScopeID: a.DirectoryScopeID})
	}
	for _, g := range st.groups {
		out.Groups = append(out.Groups, GroupState{ID: g.ID, DisplayName: g.DisplayName,
			Members: append([]string{}, g.Members...), Owners: append([]string{}, g.Owners...)})
	}
	for _, u := range st.users {
		us := UserState{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, AccountEnabled: u.AccountEnabled}
		if a, ok := st.signInActivity(u.ID).(obj); ok {
			if v, ok := a["lastSignInDateTime"].(string); ok {
				if t, err := time.Parse(time.RFC3339, v); err == nil && !t.IsZero() {
					us.LastSignInDateTime = &t
				}
			}
		}
		out.Users = append(out.Users, us)
	}
	return out
}

// HasRoleAssignment reports whether principal holds role at scope.
func (s *Server) HasRoleAssignment(principalID, roleDefinitionID, scope string) bool {
	return s.CountRoleAssignments(principalID, roleDefinitionID, scope) > 0
}

// CountRoleAssignments counts assignments of role to principal at scope.
func (s *Server) CountRoleAssignments(principalID, roleDefinitionID, scope string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.st.assigns {
		if strings.EqualFold(a.PrincipalID, principalID) && strings.EqualFold(a.RoleDefinitionID, roleDefinitionID) && strings.EqualFold(a.DirectoryScopeID, scope) {
			n++
		}
	}
	return n
}

// InGroup reports whether principal is a direct member (access "member")
// or owner (access "owner") of the group.
func (s *Server) InGroup(groupID, access, principalID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.group(groupID)
	if g == nil {
		return false
	}
	if access == "owner" {
		return indexOf(g.Owners, principalID) >= 0
	}
	return indexOf(g.Members, principalID) >= 0
}

// Outbox returns the mail accepted so far, oldest first.
func (s *Server) Outbox() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail{}, s.st.outbox...)
}

// Requests returns the requests answered so far (the last 1000 or more),
// oldest first, control requests included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request{}, s.requests...)
}

// AddUser adds a user account, as an administrator would in Entra; Reset
// forgets it. Its id and user principal name must be new; a manager, if
// given, must exist.
func (s *Server) AddUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" || u.UserPrincipalName == "" {
		return fmt.Errorf("a user needs an id and a userPrincipalName")
	}
	if s.st.user(u.ID) != nil || s.st.group(u.ID) != nil {
		return fmt.Errorf("id %s is taken", u.ID)
	}
	if s.st.user(u.UserPrincipalName) != nil {
		return fmt.Errorf("userPrincipalName %s is taken", u.UserPrincipalName)
	}
	if u.Manager != "" {
		m := s.st.user(u.Manager)
		if m == nil {
			return fmt.Errorf("manager %s not found", u.Manager)
		}
		u.Manager = m.ID
	}
	if u.UserType == "" {
		u.UserType = "Member"
	}
	s.st.users = append(s.st.users, &u)
	return nil
}

// AddGroup adds an empty group (Members and Owners are ignored: add them
// with AddToGroup); Reset forgets it. Its id must be new.
func (s *Server) AddGroup(g Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		return fmt.Errorf("a group needs an id")
	}
	if s.st.user(g.ID) != nil || s.st.group(g.ID) != nil {
		return fmt.Errorf("id %s is taken", g.ID)
	}
	g.Members, g.Owners = nil, nil
	s.st.groups = append(s.st.groups, &g)
	return nil
}

// AddToGroup puts a user or a group among a group's members (access
// "member"), or a user among its owners ("owner"), as a tenant file's
// Members and Owners do: it states what the tenant holds, so it skips the
// checks Graph makes when a client adds a member (role-assignable groups
// do not nest). An object already there is left as it is.
func (s *Server) AddToGroup(groupID, access, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.group(groupID)
	if g == nil {
		return fmt.Errorf("group %s not found", groupID)
	}
	list := &g.Members
	switch access {
	case "member":
	case "owner":
		list = &g.Owners
	default:
		return fmt.Errorf("access %q is neither member nor owner", access)
	}
	var canonical string
	if u := s.st.user(id); u != nil {
		canonical = u.ID
	} else if m := s.st.group(id); m != nil && access == "member" && !strings.EqualFold(m.ID, g.ID) {
		canonical = m.ID
	} else {
		return fmt.Errorf("%s is no user (or, as a member, another group)", id)
	}
	if indexOf(*list, canonical) < 0 {
		*list = append(*list, canonical)
	}
	return nil
}

// SetUserEnabled enables or disables a user (accountEnabled).
func (s *Server) SetUserEnabled(id string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(id)
	if u == nil {
		return fmt.Errorf("user %s not found", id)
	}
	u.AccountEnabled = enabled
	return nil
}

// AddSignIn appends a sign-in event (CreatedDateTime, or HoursAgo, or now)
// and returns its id. It also moves the user's signInActivity.
func (s *Server) AddSignIn(si SignIn) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(si.UserID)
	if u == nil {
		return "", fmt.Errorf("user %s not found", si.UserID)
	}
	si.UserID = u.ID
	return s.st.addSignIn(si, s.opts.Now()).ID, nil
}

// SetManager sets (or, with "", clears) a user's manager.
func (s *Server) SetManager(userID, managerID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(userID)
	if u == nil {
		return fmt.Errorf("user %s not found", userID)
	}
	if managerID != "" {
		m := s.st.user(managerID)
		if m == nil {
			return fmt.Errorf("manager %s not found", managerID)
		}
		managerID = m.ID
	}
	u.Manager = managerID
	return nil
}

// SetDenySignInActivity switches the 403 answer to signInActivity queries.
func (s *Server) SetDenySignInActivity(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denySignI = deny
}

// Reset returns to the seeded tenant: assignments, members, users, sign-ins
// and the outbox as at the start; faults and the request log are cleared.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = newState(s.tenant, s.opts.Now())
	s.faults = nil
	s.requests = nil
	s.denySignI = s.opts.DenySignInActivity
}

// ---- /_sim/ endpoints ------------------------------------------------------

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	fail := func(status int, format string, a ...any) {
		code := "BadRequest"
		if status == http.StatusNotFound {
			code = "Request_ResourceNotFound"
		}
		writeError(w, &graphError{status, code, fmt.Sprintf(format, a...)}, now)
	}
	seg := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/"), "/")
	switch {
	case seg[0] == "outbox" && len(seg) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, obj{"value": s.Outbox()})
	case seg[0] == "state" && len(seg) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.State())
	case seg[0] == "requests" && len(seg) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, obj{"value": s.Requests()})
	case seg[0] == "reset" && len(seg) == 1 && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case seg[0] == "faults" && len(seg) == 1 && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case seg[0] == "faults" && len(seg) == 1 && r.Method == http.MethodPost:
		body, gerr := readBody(r)
		if gerr != nil {
			writeError(w, gerr, now)
			return
		}
		var list []Fault
		if err := decodeOneOrMany(body, &list); err != nil {
			fail(http.StatusBadRequest, "faults: %v", err)
			return
		}
		for _, f := range list {
			if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
				fail(http.StatusBadRequest, "faults: status %d is not an error status", f.Status)
				return
			}
		}
		for _, f := range list {
			s.AddFault(f)
		}
		w.WriteHeader(http.StatusNoContent)
	case seg[0] == "signins" && len(seg) == 1 && r.Method == http.MethodPost:
		body, gerr := readBody(r)
		if gerr != nil {
			writeError(w, gerr, now)
			return
		}
		var list []SignIn
		if err := decodeOneOrMany(body, &list); err != nil {
			fail(http.StatusBadRequest, "signins: %v", err)
			return
		}
		ids := []string{}
		for _, si := range list {
			id, err := s.AddSignIn(si)
			if err != nil {
				fail(http.StatusNotFound, "signins: %v", err)
				return
			}
			ids = append(ids, id)
		}
		writeJSON(w, http.StatusCreated, obj{"value": ids})
	case seg[0] == "users" && len(seg) == 3 && r.Method == http.MethodPost && (seg[2] == "disable" || seg[2] == "enable"):
		if err := s.SetUserEnabled(seg[1], seg[2] == "enable"); err != nil {
			fail(http.StatusNotFound, "%v", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case seg[0] == "config" && len(seg) == 1 && r.Method == http.MethodPost:
		body, gerr := readBody(r)
		if gerr != nil {
			writeError(w, gerr, now)
			return
		}
		var c struct {
			DenySignInActivity *bool `json:"denySignInActivity"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			fail(http.StatusBadRequest, "config: %v", err)
			return
		}
		if c.DenySignInActivity != nil {
			s.SetDenySignInActivity(*c.DenySignInActivity)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(http.StatusNotFound, "unknown control endpoint %s %s", r.Method, r.URL.Path)
	}
}

// decodeOneOrMany accepts one JSON object or an array of them.
func decodeOneOrMany[T any](body []byte, out *[]T) error {
	b := strings.TrimSpace(string(body))
	if strings.HasPrefix(b, "[") {
		return json.Unmarshal([]byte(b), out)
	}
	var one T
	if err := json.Unmarshal([]byte(b), &one); err != nil {
		return err
	}
	*out = []T{one}
	return nil
}
