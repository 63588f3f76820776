package domain

import (
	"context"
	"time"
)

// Page is one page of a listing; Next is an opaque cursor, empty on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// RequestQuery selects requests. Empty fields do not filter.
type RequestQuery struct {
	Kind        RequestKind
	PrincipalID ObjectID
	TargetKey   string
	Statuses    []Status
	Cursor      string
	Limit       int
}

// ScheduleQuery selects schedules. Without IncludeEnded only live ones come back.
type ScheduleQuery struct {
	Kind         RequestKind
	PrincipalID  ObjectID
	TargetKey    string
	IncludeEnded bool
	Cursor       string
	Limit        int
}

// AuditQuery selects audit records, newest first.
type AuditQuery struct {
	Cursor string
	Limit  int
}

// Store is jitpim's durable state. Every Update and Put is conditional on
// the Version the caller read (an ETag): a stale version fails with
// CodeConflict and writes nothing. Create fails with CodeConflict when the
// id exists, which makes deterministic ids double as idempotency keys.
// Get fails with CodeNotFound. Successful writes set the new Version on the
// value passed in.
//
// The writes of requests, schedules, grants and policies take the audit records of
// the change they make: the store writes them atomically with the change
// (all or nothing), so a change is never stored without its records and no
// record names a change that did not happen. Records become part of the
// hash chain when ChainAudit links them; ListAudit links what is pending
// before it reads its first page, so readers see every committed record.
type Store interface {
	CreateRequest(ctx context.Context, r *Request, audit ...AuditRecord) error
	GetRequest(ctx context.Context, id string) (Request, error)
	UpdateRequest(ctx context.Context, r *Request, audit ...AuditRecord) error
	ListRequests(ctx context.Context, q RequestQuery) (Page[Request], error)

	CreateSchedule(ctx context.Context, s *Schedule, audit ...AuditRecord) error
	GetSchedule(ctx context.Context, id string) (Schedule, error)
	UpdateSchedule(ctx context.Context, s *Schedule, audit ...AuditRecord) error
	ListSchedules(ctx context.Context, q ScheduleQuery) (Page[Schedule], error)
	// SchedulesDueBy returns live schedules whose DueAt (the start of one
	// awaiting it, else the end) is at or before t, in DueAt order,
	// at most limit of them; its cost grows with what is due, not with
	// what is stored.
	SchedulesDueBy(ctx context.Context, t time.Time, limit int) ([]Schedule, error)

	// GetGrant fails with CodeNotFound when no grant was ever recorded.
	GetGrant(ctx context.Context, key string) (Grant, error)
	// PutGrant creates the grant when Version is empty, else replaces it
	// conditionally.
	PutGrant(ctx context.Context, g *Grant, audit ...AuditRecord) error
	// UnsettledGrants returns grants whose directory state is not yet known
	// to match their holders (a failed or interrupted grant or revoke).
	UnsettledGrants(ctx context.Context, limit int) ([]Grant, error)

	// GetPolicy fails with CodeNotFound for a policy never stored.
	GetPolicy(ctx context.Context, id string) (Policy, error)
	PutPolicy(ctx context.Context, p *Policy, audit ...AuditRecord) error
	ListPolicies(ctx context.Context) ([]Policy, error)

	// AppendAudit durably records a record that accompanies no write of
	// this store (a refusal, a timer's summary); it is chained like the
	// others. An error means the record was not written.
	AppendAudit(ctx context.Context, rec *AuditRecord) error
	// ChainAudit links committed records into the hash chain and reports
	// how many it linked; records pending when it starts are linked when it
	// returns without error.
	ChainAudit(ctx context.Context) (int, error)
	// ListAudit lists chained records; the first page links pending ones.
	ListAudit(ctx context.Context, q AuditQuery) (Page[AuditRecord], error)

	// EnqueueMail queues a mail; CodeConflict when its id is already queued.
	EnqueueMail(ctx context.Context, m *Mail) error
	// MailDue returns unsent mail whose NextAttempt is at or before t.
	MailDue(ctx context.Context, t time.Time, limit int) ([]Mail, error)
	// UpdateMail writes a queued mail's progress; audit are the records of
	// that change (a mail given up), written with it or not at all.
	UpdateMail(ctx context.Context, m *Mail, audit ...AuditRecord) error

	// ClaimOnce records key as used until expires; CodeConflict when it was
	// already claimed. It makes e-mail link tokens single-use.
	ClaimOnce(ctx context.Context, key string, expires time.Time) error
}

// TicketCheck is what a ticket system confirmed about a ticket.
type TicketCheck struct {
	System, Table, Number, SysID string
	State                        string
	// Requesters are the names (user principal names or e-mail addresses)
	// of the people the ticket allows to request; jitpim resolves them to
	// object ids before comparing.
	Requesters []string
}

// TicketSystem validates tickets and writes back to them (ServiceNow).
type TicketSystem interface {
	// CheckTicket confirms the ticket exists and allows access over
	// [start, end): CodeNotFound or CodeForbidden with the reason otherwise.
	CheckTicket(ctx context.Context, t TicketInfo, start, end time.Time) (TicketCheck, error)
	// AddNote writes a work note to the ticket.
	AddNote(ctx context.Context, t TicketCheck, note string) error
}

// Directory is what jitpim asks of Entra ID. Grants and revokes are
// idempotent: adding what exists or removing what is gone succeeds. Object
// ids compare case-insensitively and come back canonical; only GetUser
// reads LastSignIn. shared/directorytest holds the whole contract, and
// every implementation passes it.
type Directory interface {
	// GetUser fails with CodeNotFound for an unknown object id.
	GetUser(ctx context.Context, id ObjectID) (User, error)
	// IsMemberOf reports transitive membership of a user in a group.
	IsMemberOf(ctx context.Context, userID, groupID ObjectID) (bool, error)
	// AddRoleAssignment creates the assignment, or finds the existing one
	// (created=false).
	AddRoleAssignment(ctx context.Context, principalID, roleDefinitionID ObjectID, directoryScopeID string) (id string, created bool, err error)
	RemoveRoleAssignment(ctx context.Context, id string) error
	ListRoleAssignments(ctx context.Context, principalID ObjectID) ([]RoleAssignment, error)
	// AddGroupMember adds a member or owner (accessID); created=false when
	// the principal already was one.
	AddGroupMember(ctx context.Context, groupID ObjectID, accessID string, principalID ObjectID) (created bool, err error)
	RemoveGroupMember(ctx context.Context, groupID ObjectID, accessID string, principalID ObjectID) error
	// HasGroupAccess reports whether the principal is a direct member (or
	// owner, by accessID) of the group: access that exists in the directory
	// whoever made it.
	HasGroupAccess(ctx context.Context, groupID ObjectID, accessID string, principalID ObjectID) (bool, error)
	// ListGroupMembers lists a group's users, transitively (for approver
	// groups); CodeNotFound when groupID is no group.
	ListGroupMembers(ctx context.Context, groupID ObjectID) ([]User, error)
	// FindUser resolves a user principal name (or e-mail address) to the
	// account, so that outside systems' names become object ids.
	FindUser(ctx context.Context, name string) (User, error)
	// DirectoryNames names groups and roles for people.
	DirectoryNames
}

// AzureRoleAssignment is one Azure RBAC role assignment, as Azure Resource
// Manager reports it.
type AzureRoleAssignment struct {
	// Name is the assignment's GUID name; with Scope it identifies it.
	Name string
	// Scope is where the assignment was made, canonical (ParseAzureScope).
	Scope            string
	PrincipalID      ObjectID
	RoleDefinitionID ObjectID
}

// AzureRBAC is what jitpim asks of Azure Resource Manager for Azure
// resource roles. Assignments are addressed by scope and name, and jitpim
// names its own deterministically (AzureAssignmentName), so a grant retried
// finds its assignment and a revoke deletes exactly the one jitpim made.
// Scopes may come in any spelling ParseAzureScope accepts and come back
// canonical; a malformed one is refused with CodeInvalid before Azure is
// called. shared/azurerbactest holds the whole contract, and every
// implementation passes it.
type AzureRBAC interface {
	// AddRoleAssignment creates assignment name at scope. created=false
	// when it exists already: the same name, or Azure's "already exists"
	// (the principal holds the role at that scope under another name,
	// which jitpim then never removes: its own name is what it deletes).
	AddRoleAssignment(ctx context.Context, scope, name string, principalID, roleDefinitionID ObjectID) (created bool, err error)
	// RemoveRoleAssignment deletes assignment name at scope; one that is
	// gone already counts as removed.
	RemoveRoleAssignment(ctx context.Context, scope, name string) error
	// ListRoleAssignments lists the assignments that apply at scope (made
	// there or inherited from a scope above it) and those made below it;
	// principalID narrows the list to one principal when given.
	ListRoleAssignments(ctx context.Context, scope string, principalID ObjectID) ([]AzureRoleAssignment, error)
	// ScopeDisplayName reads what people call the subscription or
	// management group at scope (AzureScopeHead gives it for any scope):
	// its displayName in Azure. CodeNotFound when Azure knows none;
	// CodeInvalid for any other scope, before Azure is called.
	ScopeDisplayName(ctx context.Context, scope string) (string, error)
}
