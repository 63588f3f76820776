package wire

import "github.com/jitpim/jitpim/shared/domain"

// RequestBody is what a client POSTs to a schedule request collection
// (roleEligibilityScheduleRequests, roleAssignmentScheduleRequests and the
// group ones). Pointers tell absent from empty. The role fields and the
// group fields are omitted when empty because each collection refuses the
// other's properties.
type RequestBody struct {
	Action           string            `json:"action"`
	PrincipalID      string            `json:"principalId"`
	RoleDefinitionID string            `json:"roleDefinitionId,omitempty"`
	DirectoryScopeID string            `json:"directoryScopeId,omitempty"`
	AppScopeID       *string           `json:"appScopeId,omitempty"`
	GroupID          string            `json:"groupId,omitempty"`
	AccessID         string            `json:"accessId,omitempty"`
	Justification    string            `json:"justification,omitempty"`
	ScheduleInfo     *ScheduleInfoBody `json:"scheduleInfo,omitempty"`
	TicketInfo       *TicketInfo       `json:"ticketInfo,omitempty"`
	IsValidationOnly bool              `json:"isValidationOnly,omitempty"`
	TargetScheduleID string            `json:"targetScheduleId,omitempty"`
}

// ScheduleInfoBody is the scheduleInfo a client sends. It has no
// recurrence: jitpim schedules do not recur, and one sent is ignored.
type ScheduleInfoBody struct {
	StartDateTime *string         `json:"startDateTime,omitempty"`
	Expiration    *ExpirationBody `json:"expiration,omitempty"`
}

// ExpirationBody is the expiration a client sends. Type is a plain string
// because Graph accepts either case of the enum (afterDuration,
// AfterDuration); the server parses it.
type ExpirationBody struct {
	Type        string  `json:"type"`
	EndDateTime *string `json:"endDateTime,omitempty"`
	Duration    *string `json:"duration,omitempty"`
}

// TicketInfo is a request's ticket, sent and answered alike.
type TicketInfo struct {
	TicketNumber *string `json:"ticketNumber"`
	TicketSystem *string `json:"ticketSystem"`
}

// Request is a schedule request as Graph answers it: the role fields for
// directory roles, the group fields for PIM for Groups.
type Request struct {
	ID                string          `json:"id"`
	Action            domain.Action   `json:"action"`
	PrincipalID       domain.ObjectID `json:"principalId"`
	RoleDefinitionID  domain.ObjectID `json:"roleDefinitionId,omitempty"`
	DirectoryScopeID  string          `json:"directoryScopeId,omitempty"`
	AppScopeID        *string         `json:"appScopeId,omitempty"`
	GroupID           domain.ObjectID `json:"groupId,omitempty"`
	AccessID          string          `json:"accessId,omitempty"`
	Justification     string          `json:"justification"`
	Status            domain.Status   `json:"status"`
	StatusReason      string          `json:"statusReason,omitempty"`
	ApprovalID        *string         `json:"approvalId"`
	CreatedDateTime   *string         `json:"createdDateTime"`
	CompletedDateTime *string         `json:"completedDateTime"`
	CreatedBy         IdentitySet     `json:"createdBy"`
	IsValidationOnly  bool            `json:"isValidationOnly"`
	TargetScheduleID  *string         `json:"targetScheduleId"`
	ScheduleInfo      ScheduleInfo    `json:"scheduleInfo"`
	TicketInfo        TicketInfo      `json:"ticketInfo"`
}

// ScheduleInfo is a request's or a schedule's window as Graph answers it;
// recurrence is always null.
type ScheduleInfo struct {
	StartDateTime *string    `json:"startDateTime"`
	Expiration    Expiration `json:"expiration"`
	Recurrence    *struct{}  `json:"recurrence"`
}

// Expiration is how a window ends as Graph answers it: never, at
// endDateTime, or after duration (with the end it comes to).
type Expiration struct {
	Type        domain.ExpirationType `json:"type"`
	EndDateTime *string               `json:"endDateTime"`
	Duration    *string               `json:"duration"`
}

// IdentitySet names who did something: a user, or jitpim itself as the
// application (timers, access review apply).
type IdentitySet struct {
	User        *Identity `json:"user,omitempty"`
	Application *Identity `json:"application,omitempty"`
}

// Identity is one user or application.
type Identity struct {
	ID          domain.ObjectID `json:"id,omitempty"`
	DisplayName string          `json:"displayName,omitempty"`
}
