package domain

import (
	"strings"
	"time"
)

// RequestKind tells eligibility requests from assignment (active) requests.
type RequestKind string

// The request kinds.
const (
	KindEligibility RequestKind = "eligibility"
	KindAssignment  RequestKind = "assignment"
)

// Action is a Graph schedule request action.
type Action string

// The actions, as Graph names them.
const (
	ActionAdminAssign    Action = "adminAssign"
	ActionAdminUpdate    Action = "adminUpdate"
	ActionAdminRemove    Action = "adminRemove"
	ActionAdminExtend    Action = "adminExtend"
	ActionAdminRenew     Action = "adminRenew"
	ActionSelfActivate   Action = "selfActivate"
	ActionSelfDeactivate Action = "selfDeactivate"
	ActionSelfExtend     Action = "selfExtend"
	ActionSelfRenew      Action = "selfRenew"
)

// Actions lists every action, in Graph's order.
var Actions = []Action{ActionAdminAssign, ActionAdminUpdate, ActionAdminRemove, ActionAdminExtend,
	ActionAdminRenew, ActionSelfActivate, ActionSelfDeactivate, ActionSelfExtend, ActionSelfRenew}

// EnumMatches reports whether s names the enum value canonical in one of
// the two casings Graph accepts: camelCase (adminAssign) or PascalCase
// (AdminAssign). Other casings (ADMINASSIGN, adminassign) are refused, so a
// typo is reported instead of guessed at.
func EnumMatches(canonical, s string) bool {
	if s == "" || canonical == "" {
		return false
	}
	return s == canonical || s == strings.ToLower(canonical[:1])+canonical[1:] || s == strings.ToUpper(canonical[:1])+canonical[1:]
}

// ParseAction accepts Graph's enum in either case (adminAssign, AdminAssign).
func ParseAction(s string) (Action, bool) {
	for _, a := range Actions {
		if EnumMatches(string(a), s) {
			return a, true
		}
	}
	return "", false
}

// IsAdmin reports whether the action is an administrator's.
func (a Action) IsAdmin() bool { return strings.HasPrefix(string(a), "admin") }

// Status is a Graph schedule request status.
type Status string

// The statuses, as Graph names them.
const (
	StatusCanceled                Status = "Canceled"
	StatusDenied                  Status = "Denied"
	StatusFailed                  Status = "Failed"
	StatusGranted                 Status = "Granted"
	StatusPendingAdminDecision    Status = "PendingAdminDecision"
	StatusPendingApproval         Status = "PendingApproval"
	StatusPendingProvisioning     Status = "PendingProvisioning"
	StatusPendingScheduleCreation Status = "PendingScheduleCreation"
	StatusProvisioned             Status = "Provisioned"
	StatusRevoked                 Status = "Revoked"
	StatusScheduleCreated         Status = "ScheduleCreated"
)

// Statuses lists every status.
var Statuses = []Status{StatusCanceled, StatusDenied, StatusFailed, StatusGranted, StatusPendingAdminDecision,
	StatusPendingApproval, StatusPendingProvisioning, StatusPendingScheduleCreation, StatusProvisioned,
	StatusRevoked, StatusScheduleCreated}

// ParseStatus accepts a status in either case (PendingApproval, pendingApproval).
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if EnumMatches(string(st), s) {
			return st, true
		}
	}
	return "", false
}

// Terminal reports whether no further transition can leave the status.
func (s Status) Terminal() bool {
	switch s {
	case StatusCanceled, StatusDenied, StatusFailed, StatusRevoked:
		return true
	}
	return false
}

// ExpirationType is Graph's expirationPattern type.
type ExpirationType string

// The expiration types, as Graph names them.
const (
	ExpireNever         ExpirationType = "noExpiration"
	ExpireAfterDateTime ExpirationType = "afterDateTime"
	ExpireAfterDuration ExpirationType = "afterDuration"
)

// ParseExpirationType accepts either case (afterDuration, AfterDuration).
func ParseExpirationType(s string) (ExpirationType, bool) {
	for _, t := range []ExpirationType{ExpireNever, ExpireAfterDateTime, ExpireAfterDuration} {
		if EnumMatches(string(t), s) {
			return t, true
		}
	}
	return "", false
}

// ScheduleInfo is what a request asks for: a start and an expiration.
type ScheduleInfo struct {
	Start          time.Time
	ExpirationType ExpirationType
	End            time.Time
	Duration       time.Duration
}

// Window resolves the schedule against now: start defaults to now; a zero end
// means permanent.
func (s ScheduleInfo) Window(now time.Time) (start, end time.Time) {
	start = s.Start
	if start.IsZero() {
		start = now
	}
	switch s.ExpirationType {
	case ExpireAfterDateTime:
		end = s.End
	case ExpireAfterDuration:
		end = start.Add(s.Duration)
	}
	return start, end
}

// TicketInfo is the ticket a requester cites. Table and SysID are set
// once the ticket system has confirmed the ticket (Validated).
type TicketInfo struct {
	Number    string
	System    string
	Table     string
	SysID     string
	Validated bool
}

// Request is a schedule request: the record of someone asking for (or
// giving up) an eligibility or an active assignment.
type Request struct {
	ID               string
	Kind             RequestKind
	Action           Action
	PrincipalID      ObjectID
	PrincipalKind    PrincipalKind
	Target           Target
	Justification    string
	Schedule         ScheduleInfo
	Ticket           TicketInfo
	Status           Status
	StatusReason     string // why a request failed, was denied or canceled
	CreatedBy        ObjectID
	CreatedAt        time.Time
	CompletedAt      time.Time
	TargetScheduleID string
	// StartAt and EndAt are the resolved access window (EndAt zero = permanent).
	StartAt time.Time
	EndAt   time.Time
	// EligibilityScheduleID is the eligibility an activation draws on.
	EligibilityScheduleID string
	Approval              *Approval
	Version               string // storage ETag; empty before the first write
}

// Approval holds the stages of an approval. Its id is the request id.
type Approval struct {
	Stages []ApprovalStage
}

// Approval stage statuses and review results, as in Graph.
const (
	StageNotStarted = "NotStarted"
	StageInProgress = "InProgress"
	StageCompleted  = "Completed"
	StageEscalated  = "Escalated"

	ReviewNotReviewed = "NotReviewed"
	ReviewApprove     = "Approve"
	ReviewDeny        = "Deny"
)

// ApprovalStage is one stage; the first decision by any of its approvers
// settles it.
type ApprovalStage struct {
	ID                            string
	Approvers                     []Approver
	EscalationApprovers           []Approver
	ApproverJustificationRequired bool
	// Confirmation marks the stage a ticket-originated activation opens for
	// its own requester: it is passed by the requester signing in with the
	// MFA the policy asks for, not by an approver.
	Confirmation bool
	// AdminDecision marks the stage of a selfExtend or selfRenew request:
	// jitpim's administrators decide it, with MFA, as an admin write.
	AdminDecision     bool
	TimeoutDays       int
	EscalationMinutes int // 0 = no escalation
	TimeoutAt         time.Time
	EscalateAt        time.Time // zero when escalation is off
	Status            string
	ReviewResult      string
	ReviewedBy        ObjectID
	ReviewedAt        time.Time
	Justification     string
}

// Current returns the index of the stage in progress, or -1.
func (a *Approval) Current() int {
	if a == nil {
		return -1
	}
	for i, s := range a.Stages {
		if s.Status == StageInProgress || s.Status == StageEscalated {
			return i
		}
	}
	return -1
}

// StageByID finds a stage.
func (a *Approval) StageByID(id string) (int, bool) {
	if a == nil {
		return -1, false
	}
	for i, s := range a.Stages {
		if s.ID == id {
			return i, true
		}
	}
	return -1, false
}

// Clone returns a deep copy, so a stored request shares no memory with a caller's.
func (r Request) Clone() Request {
	if r.Approval != nil {
		a := &Approval{Stages: make([]ApprovalStage, len(r.Approval.Stages))}
		for i, s := range r.Approval.Stages {
			s.Approvers = append([]Approver(nil), s.Approvers...)
			s.EscalationApprovers = append([]Approver(nil), s.EscalationApprovers...)
			a.Stages[i] = s
		}
		r.Approval = a
	}
	return r
}

// Scheduled reports whether the request asked for a start later than its
// own submission: scheduled (future-dated) access.
func (r Request) Scheduled() bool {
	return !r.Schedule.Start.IsZero() && r.Schedule.Start.After(r.CreatedAt)
}

// ApprovedWindow is the access window an approval given at now grants, and
// so what an approver is shown before deciding. As in Entra, an activation
// that starts on approval runs for its requested length from the approval
// (not from the request); a scheduled one keeps the window it asked for,
// counted from its scheduled start.
func (r Request) ApprovedWindow(now time.Time) (start, end time.Time) {
	if r.Scheduled() || r.EndAt.IsZero() {
		return r.StartAt, r.EndAt
	}
	return now, now.Add(r.EndAt.Sub(r.StartAt))
}
