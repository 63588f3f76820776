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
// reset. Tests seed more through the Go API (AddUser, AddGroup, AddToGroup,
// SetManager, AddSignIn). Nothing here authenticates: run it on loopback
// only.
package graphsim

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"
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

type state struct {
	users    []*User
	groups   []*Group
	roleDefs []RoleDefinition
	assigns  []*RoleAssignment
	signIns  []signIn
	outbox   []Mail
	tenantID string
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

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
