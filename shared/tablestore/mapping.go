package tablestore

import (
	"fmt"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// The functions here map domain values to entity properties and back.
// Scalars are columns of their own (times as Edm.DateTime, durations as
// Edm.Int64 nanoseconds), nested values (approval stages, holders, policy
// rules, audit details) are JSON strings. Version is the entity's ETag and
// is never a property.

func requestProps(r *domain.Request) *props {
	p := newProps()
	p.str("Id", r.ID)
	p.str("Kind", string(r.Kind))
	p.str("Action", string(r.Action))
	p.id("PrincipalId", r.PrincipalID)
	p.str("PrincipalKind", string(r.PrincipalKind))
	p.target(r.Target)
	p.str("Justification", r.Justification)
	p.tm("ScheduleStart", r.Schedule.Start)
	p.str("ScheduleExpirationType", string(r.Schedule.ExpirationType))
	p.tm("ScheduleEnd", r.Schedule.End)
	p.i64("ScheduleDuration", int64(r.Schedule.Duration))
	p.str("TicketNumber", r.Ticket.Number)
	p.str("TicketSystem", r.Ticket.System)
	p.str("TicketTable", r.Ticket.Table)
	p.str("TicketSysId", r.Ticket.SysID)
	p.boolean("TicketValidated", r.Ticket.Validated)
	p.str("Status", string(r.Status))
	p.str("StatusReason", r.StatusReason)
	p.id("CreatedBy", r.CreatedBy)
	p.tm("CreatedAt", r.CreatedAt)
	p.tm("CompletedAt", r.CompletedAt)
	p.str("TargetScheduleId", r.TargetScheduleID)
	p.tm("StartAt", r.StartAt)
	p.tm("EndAt", r.EndAt)
	p.str("EligibilityScheduleId", r.EligibilityScheduleID)
	p.js("Approval", r.Approval, r.Approval == nil)
	return p
}

func requestFrom(e entity) (domain.Request, error) {
	rd := &reader{m: e.Props}
	r := domain.Request{
		ID:            rd.str("Id"),
		Kind:          domain.RequestKind(rd.str("Kind")),
		Action:        domain.Action(rd.str("Action")),
		PrincipalID:   rd.id("PrincipalId"),
		PrincipalKind: domain.PrincipalKind(rd.str("PrincipalKind")),
		Target:        rd.target(),
		Schedule: domain.ScheduleInfo{
			Start:          rd.tm("ScheduleStart"),
			ExpirationType: domain.ExpirationType(rd.str("ScheduleExpirationType")),
			End:            rd.tm("ScheduleEnd"),
			Duration:       time.Duration(rd.i64("ScheduleDuration")),
		},
		Justification: rd.str("Justification"),
		Ticket: domain.TicketInfo{Number: rd.str("TicketNumber"), System: rd.str("TicketSystem"), Table: rd.str("TicketTable"),
			SysID: rd.str("TicketSysId"), Validated: rd.boolean("TicketValidated")},
		Status:                domain.Status(rd.str("Status")),
		StatusReason:          rd.str("StatusReason"),
		CreatedBy:             rd.id("CreatedBy"),
		CreatedAt:             rd.tm("CreatedAt"),
		CompletedAt:           rd.tm("CompletedAt"),
		TargetScheduleID:      rd.str("TargetScheduleId"),
		StartAt:               rd.tm("StartAt"),
		EndAt:                 rd.tm("EndAt"),
		EligibilityScheduleID: rd.str("EligibilityScheduleId"),
		Version:               e.ETag,
	}
	if _, ok := e.Props["Approval"]; ok {
		r.Approval = &domain.Approval{}
		rd.js("Approval", r.Approval)
	}
	return r, wrapDecode(rd.err, "request", r.ID)
}

func scheduleProps(s *domain.Schedule) *props {
	p := newProps()
	p.str("Id", s.ID)
	p.str("Kind", string(s.Kind))
	p.id("PrincipalId", s.PrincipalID)
	p.str("PrincipalKind", string(s.PrincipalKind))
	p.target(s.Target)
	p.str("AssignmentType", s.AssignmentType)
	p.str("MemberType", s.MemberType)
	p.tm("Start", s.Start)
	p.tm("End", s.End)
	p.str("Status", s.Status)
	p.str("CreatedUsing", s.CreatedUsing)
	p.str("EligibilityScheduleId", s.EligibilityScheduleID)
	p.boolean("AwaitingStart", s.AwaitingStart)
	p.tm("CreatedAt", s.CreatedAt)
	p.tm("ModifiedAt", s.ModifiedAt)
	p.tm("EndedAt", s.EndedAt)
	return p
}

func scheduleFrom(e entity) (domain.Schedule, error) {
	rd := &reader{m: e.Props}
	s := domain.Schedule{
		ID:                    rd.str("Id"),
		Kind:                  domain.RequestKind(rd.str("Kind")),
		PrincipalID:           rd.id("PrincipalId"),
		PrincipalKind:         domain.PrincipalKind(rd.str("PrincipalKind")),
		Target:                rd.target(),
		AssignmentType:        rd.str("AssignmentType"),
		MemberType:            rd.str("MemberType"),
		Start:                 rd.tm("Start"),
		End:                   rd.tm("End"),
		Status:                rd.str("Status"),
		CreatedUsing:          rd.str("CreatedUsing"),
		EligibilityScheduleID: rd.str("EligibilityScheduleId"),
		AwaitingStart:         rd.boolean("AwaitingStart"),
		CreatedAt:             rd.tm("CreatedAt"),
		ModifiedAt:            rd.tm("ModifiedAt"),
		EndedAt:               rd.tm("EndedAt"),
		Version:               e.ETag,
	}
	return s, wrapDecode(rd.err, "schedule", s.ID)
}

func grantProps(g *domain.Grant) *props {
	p := newProps()
	p.str("Id", g.Key())
	p.id("PrincipalId", g.PrincipalID)
	p.target(g.Target)
	p.js("Holders", g.Holders, g.Holders == nil)
	p.boolean("Applied", g.Applied)
	p.str("DirectoryId", g.DirectoryID)
	p.boolean("External", g.External)
	p.i32("FailedAttempts", g.FailedAttempts)
	p.str("LastError", g.LastError)
	p.tm("NextAttempt", g.NextAttempt)
	p.tm("ModifiedAt", g.ModifiedAt)
	p.boolean("Unsettled", !g.Settled())
	return p
}

func grantFrom(e entity) (domain.Grant, error) {
	rd := &reader{m: e.Props}
	g := domain.Grant{
		PrincipalID:    rd.id("PrincipalId"),
		Target:         rd.target(),
		Applied:        rd.boolean("Applied"),
		DirectoryID:    rd.str("DirectoryId"),
		External:       rd.boolean("External"),
		FailedAttempts: rd.i32("FailedAttempts"),
		LastError:      rd.str("LastError"),
		NextAttempt:    rd.tm("NextAttempt"),
		ModifiedAt:     rd.tm("ModifiedAt"),
		Version:        e.ETag,
	}
	if _, ok := e.Props["Holders"]; ok {
		g.Holders = []domain.Holder{}
		rd.js("Holders", &g.Holders)
	}
	return g, wrapDecode(rd.err, "grant", rd.str("Id"))
}

func policyProps(pol *domain.Policy) *props {
	p := newProps()
	p.str("Id", pol.ID)
	p.str("Scope", string(pol.Scope))
	p.target(pol.Target)
	p.str("Tier", pol.Tier)
	p.js("TierTargets", pol.TierTargets, pol.TierTargets == nil)
	p.str("DisplayName", pol.DisplayName)
	p.str("Description", pol.Description)
	p.js("Activation", pol.Activation, false)
	p.js("Eligible", pol.Eligible, false)
	p.js("Active", pol.Active, false)
	p.js("Notifications", pol.Notifications, pol.Notifications == nil)
	p.id("ModifiedBy", pol.ModifiedBy)
	p.tm("ModifiedAt", pol.ModifiedAt)
	// InheritedFrom is computed, never stored.
	return p
}

func policyFrom(e entity) (domain.Policy, error) {
	rd := &reader{m: e.Props}
	pol := domain.Policy{
		ID:          rd.str("Id"),
		Scope:       domain.PolicyScope(rd.str("Scope")),
		Target:      rd.target(),
		Tier:        rd.str("Tier"),
		DisplayName: rd.str("DisplayName"),
		Description: rd.str("Description"),
		ModifiedBy:  rd.id("ModifiedBy"),
		ModifiedAt:  rd.tm("ModifiedAt"),
		Version:     e.ETag,
	}
	if _, ok := e.Props["TierTargets"]; ok {
		pol.TierTargets = []domain.Target{}
		rd.js("TierTargets", &pol.TierTargets)
	}
	rd.js("Activation", &pol.Activation)
	rd.js("Eligible", &pol.Eligible)
	rd.js("Active", &pol.Active)
	if _, ok := e.Props["Notifications"]; ok {
		pol.Notifications = []domain.NotificationRule{}
		rd.js("Notifications", &pol.Notifications)
	}
	return pol, wrapDecode(rd.err, "policy", pol.ID)
}

func auditProps(r *domain.AuditRecord, seq int64) *props {
	p := newProps()
	p.str("Id", r.ID)
	p.tm("Time", r.Time)
	p.id("ActorId", r.ActorID)
	p.str("Action", r.Action)
	p.str("Category", r.Category)
	p.target(r.Target)
	p.id("PrincipalId", r.PrincipalID)
	p.str("RequestId", r.RequestID)
	p.str("Outcome", r.Outcome)
	p.str("Reason", r.Reason)
	p.str("InvocationId", r.InvocationID)
	p.js("Details", r.Details, r.Details == nil)
	p.str("PrevHash", r.PrevHash)
	p.str("Hash", r.Hash)
	p.i64("Seq", seq)
	return p
}

func auditFrom(e entity) (domain.AuditRecord, error) {
	rd := &reader{m: e.Props}
	r := domain.AuditRecord{
		ID:           rd.str("Id"),
		Time:         rd.tm("Time"),
		ActorID:      rd.id("ActorId"),
		Action:       rd.str("Action"),
		Category:     rd.str("Category"),
		Target:       rd.target(),
		PrincipalID:  rd.id("PrincipalId"),
		RequestID:    rd.str("RequestId"),
		Outcome:      rd.str("Outcome"),
		Reason:       rd.str("Reason"),
		InvocationID: rd.str("InvocationId"),
		PrevHash:     rd.str("PrevHash"),
		Hash:         rd.str("Hash"),
	}
	if _, ok := e.Props["Details"]; ok {
		r.Details = map[string]string{}
		rd.js("Details", &r.Details)
	}
	return r, wrapDecode(rd.err, "audit record", r.ID)
}

func wrapDecode(err error, what, id string) error {
	if err == nil {
		return nil
	}
	return domain.Wrap(domain.CodeInternal, err, "%s", fmt.Sprintf("stored %s %s cannot be read", what, id))
}
