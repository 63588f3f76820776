package domain

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// Approval modes, as in Graph.
const (
	ApprovalSingleStage = "SingleStage"
	ApprovalSerial      = "Serial"
	ApprovalParallel    = "Parallel"
	ApprovalNone        = "NoApproval"
)

// ApproverKind tells a single user from the members of a group (and from
// the other owners of an Azure resource, ApproverResourceOwners).
type ApproverKind string

// The approver kinds.
const (
	ApproverUser  ApproverKind = "user"
	ApproverGroup ApproverKind = "group"
)

// Approver is a user or a group whose members may approve.
type Approver struct {
	Kind ApproverKind
	ID   ObjectID
}

// StageRule configures one approval stage.
type StageRule struct {
	TimeoutDays                   int
	ApproverJustificationRequired bool
	PrimaryApprovers              []Approver
	EscalationEnabled             bool
	EscalationMinutes             int
	EscalationApprovers           []Approver
}

// ActivationRules are the end-user (activation) rules of a policy.
type ActivationRules struct {
	MaxDuration          time.Duration // Expiration_EndUser_Assignment
	RequireMFA           bool          // Enablement_EndUser_Assignment
	RequireJustification bool
	RequireTicket        bool
	// ValidateTicket demands a ticket that the ticket system confirms (it
	// exists, is open, names the requester, covers the window), not just text.
	ValidateTicket   bool
	AuthContext      string // AuthenticationContext_EndUser_Assignment claimValue; "" = off
	ApprovalRequired bool   // Approval_EndUser_Assignment
	ApprovalMode     string
	Stages           []StageRule
}

// AdminRules are the rules for an administrator's eligible or active assignment.
type AdminRules struct {
	AllowPermanent       bool          // !isExpirationRequired
	MaxDuration          time.Duration // maximumDuration when expiration is required
	RequireJustification bool          // Enablement_Admin_*
	RequireMFA           bool
}

// Notification recipients, events and levels, as in Graph's rule ids.
const (
	RecipientAdmin     = "Admin"
	RecipientRequestor = "Requestor"
	RecipientApprover  = "Approver"

	EventAdminEligibility = "Admin_Eligibility"
	EventAdminAssignment  = "Admin_Assignment"
	EventEndUserAssign    = "EndUser_Assignment"

	LevelAll      = "All"
	LevelCritical = "Critical"
)

// NotificationRule says who is mailed for one kind of event.
type NotificationRule struct {
	Recipient         string
	Event             string
	Level             string
	DefaultRecipients bool
	ExtraRecipients   []string
}

// ID is the Graph rule id, e.g. Notification_Approver_EndUser_Assignment.
func (n NotificationRule) ID() string { return "Notification_" + n.Recipient + "_" + n.Event }

// PolicyScope tells what a policy applies to.
type PolicyScope string

// The policy scopes.
const (
	ScopeTarget  PolicyScope = "target"
	ScopeTier    PolicyScope = "tier"
	ScopeDefault PolicyScope = "default"
)

// Policy is a role management policy: the rules for one target, or for a
// tier of targets that inherit it unless they have their own.
type Policy struct {
	ID            string
	Scope         PolicyScope
	Target        Target // for ScopeTarget
	Tier          string // for ScopeTier: the tier's name
	TierTargets   []Target
	DisplayName   string
	Description   string
	Activation    ActivationRules
	Eligible      AdminRules
	Active        AdminRules
	Notifications []NotificationRule
	ModifiedBy    ObjectID
	ModifiedAt    time.Time
	// InheritedFrom names the tier or default policy an effective policy was
	// taken from; empty for a target's own policy. Not stored.
	InheritedFrom string
	Version       string
}

// PolicyID names the policy of a target: one per role (as Graph, for the
// tenant scope), one per group and access kind, and one per Azure role and
// scope (as Azure's roleManagementPolicies). An Azure scope is encoded
// (base64url) so the id holds no '/' and reads back exactly.
func PolicyID(t Target) string {
	switch t.Kind {
	case TargetGroup:
		return "Group_" + string(t.GroupID) + "_" + t.AccessID
	case TargetAzureRole:
		return "AzureRole_" + string(t.RoleDefinitionID) + "_" + base64.RawURLEncoding.EncodeToString([]byte(t.ResourceScope))
	}
	return "DirectoryRole_" + string(t.RoleDefinitionID)
}

// TierPolicyID names the policy of a tier.
func TierPolicyID(tier string) string { return "Tier_" + tier }

// DefaultPolicyID names the built-in default policy.
const DefaultPolicyID = "Default"

// ParsePolicyID reads a policy id back into its scope.
func ParsePolicyID(id string) (PolicyScope, Target, string, bool) {
	switch {
	case id == DefaultPolicyID:
		return ScopeDefault, Target{}, "", true
	case strings.HasPrefix(id, "DirectoryRole_"):
		r := strings.TrimPrefix(id, "DirectoryRole_")
		id, err := ParseObjectID("policyId", r)
		if err != nil {
			return "", Target{}, "", false
		}
		return ScopeTarget, RoleTarget(id, TenantScope), "", true
	case strings.HasPrefix(id, "Group_"):
		rest := strings.TrimPrefix(id, "Group_")
		g, acc, ok := strings.Cut(rest, "_")
		gid, err := ParseObjectID("policyId", g)
		t := GroupTarget(gid, acc)
		if !ok || err != nil || t.Validate() != nil {
			return "", Target{}, "", false
		}
		return ScopeTarget, t, "", true
	case strings.HasPrefix(id, "AzureRole_"):
		r, enc, ok := strings.Cut(strings.TrimPrefix(id, "AzureRole_"), "_")
		rid, err := ParseObjectID("policyId", r)
		scope, derr := base64.RawURLEncoding.DecodeString(enc)
		t := AzureRoleTarget(rid, string(scope))
		if !ok || err != nil || derr != nil || t.Validate() != nil {
			return "", Target{}, "", false
		}
		return ScopeTarget, t, "", true
	case strings.HasPrefix(id, "Tier_"):
		name := strings.TrimPrefix(id, "Tier_")
		if !ValidTierName(name) {
			return "", Target{}, "", false
		}
		return ScopeTier, Target{}, name, true
	}
	return "", Target{}, "", false
}

// ValidTierName allows short names of letters, digits, '-' and '_'.
func ValidTierName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DefaultPolicy returns Entra's defaults (REFERENCE §1): activation up to
// 8 h with MFA and justification, no approval, permanent eligible and active
// assignments allowed (365 and 180 days when expiring), justification on
// active assignment, every notification on.
func DefaultPolicy() Policy {
	p := Policy{
		ID:          DefaultPolicyID,
		Scope:       ScopeDefault,
		DisplayName: "Default",
		Activation: ActivationRules{
			MaxDuration:          8 * time.Hour,
			RequireMFA:           true,
			RequireJustification: true,
			ApprovalMode:         ApprovalNone,
		},
		Eligible: AdminRules{AllowPermanent: true, MaxDuration: 365 * 24 * time.Hour},
		Active:   AdminRules{AllowPermanent: true, MaxDuration: 180 * 24 * time.Hour, RequireJustification: true},
	}
	for _, r := range []string{RecipientAdmin, RecipientRequestor, RecipientApprover} {
		for _, e := range []string{EventAdminEligibility, EventAdminAssignment, EventEndUserAssign} {
			p.Notifications = append(p.Notifications, NotificationRule{Recipient: r, Event: e, Level: LevelAll, DefaultRecipients: true})
		}
	}
	return p
}

// Limits on what a policy may say.
const (
	MaxActivationDuration = 24 * time.Hour // the Entra portal's upper bound
	MaxGroupActivation    = 8 * time.Hour  // PIM for Groups' upper bound
	MaxApprovalStages     = 2
	MaxApproversPerStage  = 25
)

// Validate checks a policy's rules; errors name the rule at fault.
func (p Policy) Validate() error {
	a := p.Activation
	if a.MaxDuration < 30*time.Minute || a.MaxDuration > MaxActivationDuration {
		return Invalid("Expiration_EndUser_Assignment.maximumDuration", "activation must last between 30 minutes and 24 hours, got %s", FormatISODuration(a.MaxDuration))
	}
	hasGroup := p.Target.Kind == TargetGroup
	for _, t := range p.TierTargets {
		hasGroup = hasGroup || t.Kind == TargetGroup
	}
	if hasGroup && a.MaxDuration > MaxGroupActivation {
		// kept as in PIM for Groups, which caps group activation at 8 h
		return Invalid("Expiration_EndUser_Assignment.maximumDuration", "group activation may last at most 8 hours, got %s", FormatISODuration(a.MaxDuration))
	}
	if a.ValidateTicket && !a.RequireTicket {
		return Invalid("Enablement_EndUser_Assignment.isTicketValidationRequired", "ticket validation needs Ticketing among the enabled rules")
	}
	if a.ApprovalRequired {
		if len(a.Stages) == 0 || len(a.Stages) > MaxApprovalStages {
			return Invalid("Approval_EndUser_Assignment.approvalStages", "approval needs 1 or 2 stages, got %d", len(a.Stages))
		}
		if len(a.Stages) == 2 && a.ApprovalMode != ApprovalSerial {
			return Invalid("Approval_EndUser_Assignment.approvalMode", "two stages need approvalMode Serial, got %q", a.ApprovalMode)
		}
		for i, s := range a.Stages {
			if s.TimeoutDays < 1 || s.TimeoutDays > 7 {
				return Invalid("Approval_EndUser_Assignment.approvalStages", "stage %d: approvalStageTimeOutInDays must be 1 to 7, got %d", i+1, s.TimeoutDays)
			}
			if len(s.PrimaryApprovers) == 0 {
				// Nobody would be asked, and every activation would wait until it timed out.
				return Invalid("Approval_EndUser_Assignment.approvalStages", "stage %d: approval is required but names no primaryApprovers", i+1)
			}
			if len(s.PrimaryApprovers) > MaxApproversPerStage || len(s.EscalationApprovers) > MaxApproversPerStage {
				return Invalid("Approval_EndUser_Assignment.approvalStages", "stage %d: at most %d approvers", i+1, MaxApproversPerStage)
			}
			for _, ap := range append(slices.Clone(s.PrimaryApprovers), s.EscalationApprovers...) {
				if ap.Kind == ApproverResourceOwners && ap.ID == "" {
					continue
				}
				if (ap.Kind != ApproverUser && ap.Kind != ApproverGroup) || !ap.ID.Valid() {
					return Invalid("Approval_EndUser_Assignment.approvalStages", "stage %d: approver %q is not a user or group object id", i+1, ap.ID)
				}
			}
			if s.EscalationEnabled && (len(s.EscalationApprovers) == 0 || s.EscalationMinutes <= 0) {
				return Invalid("Approval_EndUser_Assignment.approvalStages", "stage %d: escalation needs escalation approvers and escalationTimeInMinutes", i+1)
			}
		}
	}
	for _, r := range []struct {
		name string
		a    AdminRules
	}{{"Expiration_Admin_Eligibility", p.Eligible}, {"Expiration_Admin_Assignment", p.Active}} {
		if !r.a.AllowPermanent && r.a.MaxDuration <= 0 {
			return Invalid(r.name+".maximumDuration", "expiring assignments need a maximum duration")
		}
	}
	if err := p.validResourceOwners(); err != nil {
		return err
	}
	if p.Scope == ScopeTier && !ValidTierName(p.Tier) {
		return Invalid("tier", "tier names are 1 to 64 letters, digits, '-' or '_'")
	}
	for _, t := range p.TierTargets {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// AllApprovers lists everyone named in a stage (primary and, once escalated,
// escalation approvers).
func (s ApprovalStage) AllApprovers() []Approver {
	if s.Status == StageEscalated {
		return append(slices.Clone(s.Approvers), s.EscalationApprovers...)
	}
	return s.Approvers
}

// NewApproval builds the stages of an approval from the policy; the first
// stage starts now.
func NewApproval(p Policy, now time.Time) *Approval {
	if !p.Activation.ApprovalRequired {
		return nil
	}
	a := &Approval{}
	for i, r := range p.Activation.Stages {
		s := ApprovalStage{
			ID:                            stageID(i),
			Approvers:                     slices.Clone(r.PrimaryApprovers),
			EscalationApprovers:           slices.Clone(r.EscalationApprovers),
			ApproverJustificationRequired: r.ApproverJustificationRequired,
			Status:                        StageNotStarted,
			ReviewResult:                  ReviewNotReviewed,
		}
		if r.EscalationEnabled {
			s.EscalationMinutes = r.EscalationMinutes
		}
		s.TimeoutDays = max(r.TimeoutDays, 1)
		a.Stages = append(a.Stages, s)
	}
	a.StartStage(0, now)
	return a
}

func stageID(i int) string { return []string{"stage-1", "stage-2", "stage-3"}[min(i, 2)] }

// StartStage sets stage i in progress, its timeout and escalation counted
// from now. The stage carries its own timings so a policy changed mid-way
// does not alter a running approval.
func (a *Approval) StartStage(i int, now time.Time) {
	s := &a.Stages[i]
	s.Status = StageInProgress
	s.TimeoutAt = now.Add(time.Duration(max(s.TimeoutDays, 1)) * 24 * time.Hour)
	if s.EscalationMinutes > 0 {
		s.EscalateAt = now.Add(time.Duration(s.EscalationMinutes) * time.Minute)
	}
}

// Clone returns a deep copy.
func (p Policy) Clone() Policy {
	p.TierTargets = slices.Clone(p.TierTargets)
	p.Activation.Stages = slices.Clone(p.Activation.Stages)
	for i, s := range p.Activation.Stages {
		s.PrimaryApprovers = slices.Clone(s.PrimaryApprovers)
		s.EscalationApprovers = slices.Clone(s.EscalationApprovers)
		p.Activation.Stages[i] = s
	}
	p.Notifications = slices.Clone(p.Notifications)
	for i, n := range p.Notifications {
		n.ExtraRecipients = slices.Clone(n.ExtraRecipients)
		p.Notifications[i] = n
	}
	return p
}

// InheritedPolicy is the policy a target without one of its own follows:
// the first tier (by name, as stored policies are listed) that lists it,
// else the stored default, else Entra's defaults — presented as the
// target's own, read-only, with InheritedFrom naming the source.
func InheritedPolicy(t Target, stored []Policy) Policy {
	from := DefaultPolicy()
	for _, p := range stored {
		if p.Scope == ScopeTier && slices.Contains(p.TierTargets, t) {
			from = p
			break
		}
		if p.ID == DefaultPolicyID {
			from = p
		}
	}
	p := from.Clone()
	p.InheritedFrom = from.ID
	p.ID, p.Scope, p.Target, p.Tier, p.TierTargets, p.Version = PolicyID(t), ScopeTarget, t, "", nil, ""
	return p
}
