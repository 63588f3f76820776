package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/wire"
)

// resourceSet names the resources of directory roles or of PIM for Groups,
// which share behaviour but not names.
type resourceSet struct {
	group                                       bool
	eligibilityRequests, assignmentRequests     string
	eligibilitySchedules, eligibilityInstances  string
	assignmentSchedules, assignmentInstances    string
	approvals                                   string
	requestFields                               []string
	filterFields                                []string
	scheduleIDField, eligibilityScheduleIDField string
}

var roleResources = resourceSet{
	eligibilityRequests: "roleEligibilityScheduleRequests", assignmentRequests: "roleAssignmentScheduleRequests",
	eligibilitySchedules: "roleEligibilitySchedules", eligibilityInstances: "roleEligibilityScheduleInstances",
	assignmentSchedules: "roleAssignmentSchedules", assignmentInstances: "roleAssignmentScheduleInstances",
	approvals: "roleAssignmentApprovals",
	requestFields: []string{"action", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "justification",
		"scheduleInfo", "ticketInfo", "isValidationOnly", "targetScheduleId"},
	filterFields:    []string{"principalId", "roleDefinitionId", "directoryScopeId", "status"},
	scheduleIDField: "roleAssignmentScheduleId", eligibilityScheduleIDField: "roleEligibilityScheduleId",
}

var groupResources = resourceSet{
	group:               true,
	eligibilityRequests: "eligibilityScheduleRequests", assignmentRequests: "assignmentScheduleRequests",
	eligibilitySchedules: "eligibilitySchedules", eligibilityInstances: "eligibilityScheduleInstances",
	assignmentSchedules: "assignmentSchedules", assignmentInstances: "assignmentScheduleInstances",
	approvals: "assignmentApprovals",
	requestFields: []string{"action", "principalId", "groupId", "accessId", "justification",
		"scheduleInfo", "ticketInfo", "isValidationOnly", "targetScheduleId"},
	filterFields:    []string{"principalId", "groupId", "accessId", "status"},
	scheduleIDField: "assignmentScheduleId", eligibilityScheduleIDField: "eligibilityScheduleId",
}

// ParseRequest turns a request body into a submission; errors name the field.
func ParseRequest(data []byte, set resourceSet, kind domain.RequestKind) (engine.Submission, error) {
	var in wire.RequestBody
	if err := decodeStrict(data, set.requestFields, &in); err != nil {
		return engine.Submission{}, err
	}
	return submissionOf(in, set, kind)
}

func submissionOf(in wire.RequestBody, set resourceSet, kind domain.RequestKind) (engine.Submission, error) {
	sub := engine.Submission{Kind: kind, Justification: in.Justification,
		ValidationOnly: in.IsValidationOnly, TargetScheduleID: in.TargetScheduleID}
	if in.Action == "" {
		return sub, domain.Invalid("action", "is required")
	}
	a, ok := domain.ParseAction(in.Action)
	if !ok {
		return sub, domain.Invalid("action", "unknown action %q; use one of adminAssign, adminUpdate, adminRemove, adminExtend, adminRenew, selfActivate, selfDeactivate, selfExtend, selfRenew", in.Action)
	}
	sub.Action = a
	pid, err := domain.ParseObjectID("principalId", in.PrincipalID)
	if err != nil {
		return sub, err
	}
	sub.PrincipalID = pid
	if set.group {
		if in.GroupID == "" {
			return sub, domain.Invalid("groupId", "is required")
		}
		if in.AccessID == "" {
			return sub, domain.Invalid("accessId", "is required (member or owner)")
		}
		if !domain.EnumMatches(domain.AccessMember, in.AccessID) && !domain.EnumMatches(domain.AccessOwner, in.AccessID) {
			return sub, domain.Invalid("accessId", "must be member or owner, got %q", in.AccessID)
		}
		gid, err := domain.ParseObjectID("groupId", in.GroupID)
		if err != nil {
			return sub, err
		}
		sub.Target = domain.GroupTarget(gid, in.AccessID)
	} else {
		if in.RoleDefinitionID == "" {
			return sub, domain.Invalid("roleDefinitionId", "is required")
		}
		if in.DirectoryScopeID == "" {
			in.DirectoryScopeID = domain.TenantScope
		}
		if in.AppScopeID != nil && *in.AppScopeID != "" && *in.AppScopeID != "/" {
			return sub, domain.Invalid("appScopeId", "application scopes are not supported; leave it empty")
		}
		rid, err := domain.ParseObjectID("roleDefinitionId", in.RoleDefinitionID)
		if err != nil {
			return sub, err
		}
		sub.Target = domain.RoleTarget(rid, in.DirectoryScopeID)
	}
	if in.TicketInfo != nil {
		if in.TicketInfo.TicketNumber != nil {
			sub.Ticket.Number = strings.TrimSpace(*in.TicketInfo.TicketNumber)
		}
		if in.TicketInfo.TicketSystem != nil {
			sub.Ticket.System = strings.TrimSpace(*in.TicketInfo.TicketSystem)
		}
	}
	if si := in.ScheduleInfo; si != nil {
		if si.StartDateTime != nil && *si.StartDateTime != "" {
			t, err := parseTime("scheduleInfo.startDateTime", *si.StartDateTime)
			if err != nil {
				return sub, err
			}
			sub.Schedule.Start = t
		}
		if ex := si.Expiration; ex != nil {
			if ex.Type == "" {
				return sub, domain.Invalid("scheduleInfo.expiration.type", "is required: noExpiration, afterDateTime or afterDuration")
			}
			typ, ok := domain.ParseExpirationType(ex.Type)
			if !ok {
				return sub, domain.Invalid("scheduleInfo.expiration.type", "unknown type %q; use noExpiration, afterDateTime or afterDuration", ex.Type)
			}
			sub.Schedule.ExpirationType = typ
			if typ == domain.ExpireAfterDateTime {
				if ex.EndDateTime == nil {
					return sub, domain.Invalid("scheduleInfo.expiration.endDateTime", "is required with type afterDateTime")
				}
				t, err := parseTime("scheduleInfo.expiration.endDateTime", *ex.EndDateTime)
				if err != nil {
					return sub, err
				}
				sub.Schedule.End = t
			}
			if typ == domain.ExpireAfterDuration {
				if ex.Duration == nil {
					return sub, domain.Invalid("scheduleInfo.expiration.duration", "is required with type afterDuration, e.g. PT1H")
				}
				d, err := domain.ParseISODuration(*ex.Duration)
				if err != nil {
					return sub, domain.Invalid("scheduleInfo.expiration.duration", "%v", err)
				}
				sub.Schedule.Duration = d
			}
		}
	}
	return sub, nil
}

func actorSet(id domain.ObjectID) wire.IdentitySet {
	if id == engine.SystemActor {
		return wire.IdentitySet{Application: &wire.Identity{DisplayName: "jitpim"}}
	}
	return wire.IdentitySet{User: &wire.Identity{ID: id}}
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func scheduleOut(start, end time.Time, asked domain.ScheduleInfo) wire.ScheduleInfo {
	out := wire.ScheduleInfo{StartDateTime: timeJSON(start)}
	switch {
	case asked.ExpirationType == domain.ExpireAfterDuration:
		d := domain.FormatISODuration(asked.Duration)
		out.Expiration = wire.Expiration{Type: domain.ExpireAfterDuration, Duration: &d, EndDateTime: timeJSON(end)}
	case end.IsZero():
		out.Expiration = wire.Expiration{Type: domain.ExpireNever}
	default:
		out.Expiration = wire.Expiration{Type: domain.ExpireAfterDateTime, EndDateTime: timeJSON(end)}
	}
	return out
}

func requestJSON(r domain.Request, set resourceSet) wire.Request {
	start, end := r.StartAt, r.EndAt
	if start.IsZero() {
		start, end = r.Schedule.Window(r.CreatedAt)
	}
	out := wire.Request{
		ID: r.ID, Action: r.Action, PrincipalID: r.PrincipalID, Justification: r.Justification, Status: r.Status,
		StatusReason: r.StatusReason, CreatedDateTime: timeJSON(r.CreatedAt), CompletedDateTime: timeJSON(r.CompletedAt),
		CreatedBy: actorSet(r.CreatedBy), TargetScheduleID: strPtr(r.TargetScheduleID),
		ScheduleInfo: scheduleOut(start, end, r.Schedule),
		TicketInfo:   wire.TicketInfo{TicketNumber: strPtr(r.Ticket.Number), TicketSystem: strPtr(r.Ticket.System)},
	}
	if r.Status == domain.StatusNew {
		out.IsValidationOnly = true
	}
	if r.Approval != nil {
		out.ApprovalID = strPtr(r.ID)
	}
	if set.group {
		out.GroupID, out.AccessID = r.Target.GroupID, r.Target.AccessID
	} else {
		out.RoleDefinitionID, out.DirectoryScopeID = r.Target.RoleDefinitionID, r.Target.DirectoryScopeID
	}
	return out
}

func (s *Server) submit(ctx context.Context, c *engine.Call, r *http.Request, set resourceSet, kind domain.RequestKind) (int, any, error) {
	var in wire.RequestBody
	if err := readBody(r, set.requestFields, &in); err != nil {
		return 0, nil, err
	}
	sub, err := submissionOf(in, set, kind)
	if err != nil {
		return 0, nil, err
	}
	sub.IdempotencyKey = r.Header.Get("Idempotency-Key")
	req, err := s.eng.Submit(ctx, c, sub)
	if err != nil {
		return 0, nil, err
	}
	out := requestJSON(req, set)
	out.IsValidationOnly = sub.ValidationOnly
	return http.StatusCreated, out, nil
}

func (s *Server) listRequests(ctx context.Context, c *engine.Call, r *http.Request, set resourceSet, kind domain.RequestKind, on string) (int, any, error) {
	cursor, limit, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	conds, err := ParseFilter(r.URL.Query().Get("$filter"), set.filterFields)
	if err != nil {
		return 0, nil, err
	}
	q := domain.RequestQuery{Kind: kind, Cursor: cursor, Limit: limit}
	match, err := targetMatcher(conds, func(prop, val string) error {
		switch prop {
		case "principalId":
			id, err := domain.ParseObjectID("$filter principalId", val)
			if err != nil {
				return err
			}
			q.PrincipalID = id
		case "status":
			st, ok := domain.ParseStatus(val)
			if !ok {
				return domain.Invalid("$filter", "unknown status %q", val)
			}
			q.Statuses = []domain.Status{st}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	switch on {
	case "":
	case "principal":
		q.PrincipalID = c.Caller.ID
	case "approver":
		reqs, err := s.eng.PendingApprovals(ctx, c, kind)
		if err != nil {
			return 0, nil, err
		}
		out := []wire.Request{}
		for _, x := range reqs {
			if isKind(x.Target, set) && match(x.Target) {
				out = append(out, requestJSON(x, set))
			}
		}
		return http.StatusOK, collection{Value: out}, nil
	default:
		return 0, nil, domain.Invalid("on", "filterByCurrentUser takes on='principal' or on='approver'")
	}
	out := []wire.Request{}
	// Requests of every kind share the store's pages: when a store page
	// holds only other kinds' requests (groups, Azure roles), read the next
	// one, so that a page rarely comes back empty with a next link. Only an
	// empty page reads on, so a page never holds more than $top; at most
	// ten reads.
	for reads := 1; ; reads++ {
		p, err := s.eng.ListRequests(ctx, c, q)
		if err != nil {
			return 0, nil, err
		}
		for _, x := range p.Items {
			if isKind(x.Target, set) && match(x.Target) {
				out = append(out, requestJSON(x, set))
			}
		}
		if p.Next == "" || len(out) > 0 || reads >= 10 {
			return http.StatusOK, collection{Value: out, NextLink: nextLink(r, p.Next)}, nil
		}
		q.Cursor = p.Next
	}
}

// isKind keeps each API to its own targets: Azure resource roles are
// neither directory roles nor groups on the Graph-shaped API.
func isKind(t domain.Target, set resourceSet) bool {
	return t.Kind == targetKindOf(set)
}

// targetMatcher builds a target predicate from the filter's target
// properties and hands the others to other.
func targetMatcher(conds []Condition, other func(prop, val string) error) (func(domain.Target) bool, error) {
	var checks []func(domain.Target) bool
	for _, c := range conds {
		v := c.Value
		switch c.Property {
		case "roleDefinitionId":
			id, err := domain.ParseObjectID("$filter roleDefinitionId", v)
			if err != nil {
				return nil, err
			}
			checks = append(checks, func(t domain.Target) bool { return t.RoleDefinitionID == id })
		case "directoryScopeId":
			checks = append(checks, func(t domain.Target) bool { return t.DirectoryScopeID == v })
		case "groupId":
			id, err := domain.ParseObjectID("$filter groupId", v)
			if err != nil {
				return nil, err
			}
			checks = append(checks, func(t domain.Target) bool { return t.GroupID == id })
		case "accessId":
			checks = append(checks, func(t domain.Target) bool { return strings.EqualFold(t.AccessID, v) })
		default:
			if err := other(c.Property, v); err != nil {
				return nil, err
			}
		}
	}
	return func(t domain.Target) bool {
		for _, f := range checks {
			if !f(t) {
				return false
			}
		}
		return true
	}, nil
}
