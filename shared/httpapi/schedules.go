package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/wire"
)

// scheduleJSON writes a schedule, or with instance its instance, in
// Graph's shape for roles or groups.
func scheduleJSON(s domain.Schedule, set resourceSet, instance bool) wire.Schedule {
	out := wire.Schedule{ID: s.ID, PrincipalID: s.PrincipalID, MemberType: s.MemberType, AssignmentType: s.AssignmentType}
	if set.group {
		out.GroupID, out.AccessID = s.Target.GroupID, s.Target.AccessID
		// PIM for Groups' enums are camelCase (privilegedAccessGroupMemberType
		// direct/group, privilegedAccessGroupAssignmentType assigned/activated);
		// the directory-role resources answer Direct and Activated as strings.
		out.MemberType, out.AssignmentType = lowerFirst(out.MemberType), lowerFirst(out.AssignmentType)
	} else {
		out.RoleDefinitionID, out.DirectoryScopeID = s.Target.RoleDefinitionID, s.Target.DirectoryScopeID
	}
	if instance {
		out.StartDateTime, out.EndDateTime = timeJSON(s.Start), timeJSON(s.End)
		if s.Kind == domain.KindAssignment {
			if set.group {
				out.AssignmentScheduleID = s.ID
			} else {
				out.RoleAssignmentScheduleID = s.ID
			}
		} else if set.group {
			out.EligibilityScheduleID = s.ID
		} else {
			out.RoleEligibilityScheduleID = s.ID
		}
		if s.AssignmentType == domain.AssignmentActivated {
			if set.group {
				out.EligibilityScheduleID = s.EligibilityScheduleID
			} else {
				out.RoleEligibilityScheduleID = s.EligibilityScheduleID
			}
		}
		return out
	}
	si := scheduleOut(s.Start, s.End, domain.ScheduleInfo{})
	out.ScheduleInfo = &si
	out.Status, out.CreatedUsing = s.Status, s.CreatedUsing
	out.CreatedDateTime, out.ModifiedDateTime = timeJSON(s.CreatedAt), timeJSON(s.ModifiedAt)
	return out
}

func (s *Server) listSchedules(ctx context.Context, c *engine.Call, r *http.Request, set resourceSet, kind domain.RequestKind, instances bool, on string) (int, any, error) {
	cursor, limit, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	fields := []string{"principalId", "roleDefinitionId", "directoryScopeId"}
	if set.group {
		fields = []string{"principalId", "groupId", "accessId"}
	}
	conds, err := ParseFilter(r.URL.Query().Get("$filter"), fields)
	if err != nil {
		return 0, nil, err
	}
	f := engine.ScheduleFilter{Kind: kind, TargetKind: domain.TargetRole, InstancesOnly: instances, Cursor: cursor, Limit: limit}
	if set.group {
		f.TargetKind = domain.TargetGroup
	}
	f.Match, err = targetMatcher(conds, func(prop, val string) error {
		if prop == "principalId" {
			id, err := domain.ParseObjectID("$filter principalId", val)
			if err != nil {
				return err
			}
			f.PrincipalID = id
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	switch on {
	case "":
	case "principal":
		f.PrincipalID = c.Caller.ID
	default:
		return 0, nil, domain.Invalid("on", "filterByCurrentUser takes on='principal' here")
	}
	p, err := s.eng.ListSchedules(ctx, c, f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]wire.Schedule, 0, len(p.Items))
	for _, x := range p.Items {
		out = append(out, scheduleJSON(x, set, instances))
	}
	return http.StatusOK, collection{Value: out, NextLink: nextLink(r, p.Next)}, nil
}

func (s *Server) getSchedule(ctx context.Context, c *engine.Call, set resourceSet, kind domain.RequestKind, instance bool, id string) (int, any, error) {
	p, err := s.eng.ListSchedules(ctx, c, engine.ScheduleFilter{Kind: kind, TargetKind: targetKindOf(set), PrincipalID: c.Caller.ID, InstancesOnly: instance, Limit: 1000})
	if err != nil {
		return 0, nil, err
	}
	for _, x := range p.Items {
		if x.ID == id {
			return http.StatusOK, scheduleJSON(x, set, instance), nil
		}
	}
	return 0, nil, domain.Errorf(domain.CodeNotFound, "schedule %s does not exist or is not yours", id)
}

func targetKindOf(set resourceSet) domain.TargetKind {
	if set.group {
		return domain.TargetGroup
	}
	return domain.TargetRole
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
