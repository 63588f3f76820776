package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/wire"
)

// stagesOf writes a role approval's steps as Graph v1.0's stages, the
// shape of PIM for Groups approvals.
func stagesOf(a wire.Approval) []wire.ApprovalStage {
	out := make([]wire.ApprovalStage, 0, len(a.Steps))
	for _, st := range a.Steps {
		so := wire.ApprovalStage{ID: st.ID, AssignedToMe: st.AssignedToMe, DisplayName: st.DisplayName, Justification: st.Justification,
			ReviewResult: st.ReviewResult, ReviewedDateTime: st.ReviewedDateTime, Status: st.Status}
		if st.ReviewedBy != nil {
			so.ReviewedBy = st.ReviewedBy.User
			if so.ReviewedBy == nil {
				so.ReviewedBy = st.ReviewedBy.Application
			}
		}
		out = append(out, so)
	}
	return out
}

// approval reads the approval id for set, refusing another set's request
// so that a role approval is never answered in the group shape or back.
func (s *Server) approval(ctx context.Context, c *engine.Call, r *http.Request, set resourceSet) (wire.Approval, error) {
	req, err := s.eng.GetApproval(ctx, c, r.PathValue("id"))
	if err != nil {
		return wire.Approval{}, err
	}
	if !isKind(req.Target, set) {
		return wire.Approval{}, domain.Errorf(domain.CodeNotFound, "approval %s is not under %s", r.PathValue("id"), set.approvals)
	}
	return s.approvalJSON(ctx, c, req), nil
}

func (s *Server) approvalRoutes(prefix string, set resourceSet) {
	base := prefix + set.approvals + "/{id}"
	if !set.group {
		// Graph beta's roleAssignmentApprovals: steps, always included.
		s.handle("GET "+base, func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
			a, err := s.approval(ctx, c, r, set)
			return http.StatusOK, a, err
		})
		s.handle("GET "+base+"/steps", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
			a, err := s.approval(ctx, c, r, set)
			return http.StatusOK, collection{Value: a.Steps}, err
		})
		s.handle("PATCH "+base+"/steps/{step}", s.decide(set))
		return
	}
	s.handle("GET "+base, func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		expand, err := expandStages(r)
		if err != nil {
			return 0, nil, err
		}
		a, err := s.approval(ctx, c, r, set)
		out := wire.GroupApproval{ID: a.ID}
		if expand {
			out.Stages = stagesOf(a)
		}
		return http.StatusOK, out, err
	})
	s.handle("GET "+base+"/stages", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		a, err := s.approval(ctx, c, r, set)
		return http.StatusOK, collection{Value: stagesOf(a)}, err
	})
	s.handle("GET "+base+"/stages/{step}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		a, err := s.approval(ctx, c, r, set)
		if err != nil {
			return 0, nil, err
		}
		for _, st := range stagesOf(a) {
			if st.ID == r.PathValue("step") {
				return http.StatusOK, st, nil
			}
		}
		return 0, nil, domain.Errorf(domain.CodeNotFound, "approval %s has no stage %s", a.ID, r.PathValue("step"))
	})
	s.handle("PATCH "+base+"/stages/{step}", s.decide(set))
}

// expandStages reads $expand on a group approval: stages, or nothing.
func expandStages(r *http.Request) (bool, error) {
	e := strings.TrimSpace(r.URL.Query().Get("$expand"))
	switch {
	case e == "":
		return false, nil
	case strings.EqualFold(e, "stages"):
		return true, nil
	}
	return false, domain.Invalid("$expand", "an approval can expand stages, not %q", e)
}

func (s *Server) approvalJSON(ctx context.Context, c *engine.Call, r domain.Request) wire.Approval {
	out := wire.Approval{ID: r.ID, Steps: []wire.ApprovalStep{}}
	for i, st := range r.Approval.Stages {
		mine := false
		if st.Status == domain.StageInProgress || st.Status == domain.StageEscalated {
			mine, _ = s.eng.IsApprover(ctx, c, st)
			mine = mine && c.Caller.ID != r.PrincipalID
		}
		name := "Stage " + string(rune('1'+i))
		if st.AdminDecision {
			name = "Administrator decision" // a selfExtend or selfRenew
		}
		so := wire.ApprovalStep{ID: st.ID, AssignedToMe: mine, DisplayName: name, Justification: strPtr(st.Justification),
			ReviewResult: st.ReviewResult, ReviewedDateTime: timeJSON(st.ReviewedAt), Status: st.Status}
		if st.ReviewedBy != "" {
			set := actorSet(st.ReviewedBy)
			so.ReviewedBy = &set
		}
		out.Steps = append(out.Steps, so)
	}
	return out
}

func (s *Server) decide(set resourceSet) handlerFunc {
	return func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		var in wire.ApprovalDecision
		if err := readBody(r, []string{"reviewResult", "justification"}, &in); err != nil {
			return 0, nil, err
		}
		if in.ReviewResult == "" {
			return 0, nil, domain.Invalid("reviewResult", "is required: Approve or Deny")
		}
		// A readable approval of the other set is refused; anything else
		// is Decide's to judge (and to explain to a caller who may not read it).
		if req, err := s.eng.GetApproval(ctx, c, r.PathValue("id")); err == nil && !isKind(req.Target, set) {
			return 0, nil, domain.Errorf(domain.CodeNotFound, "approval %s is not under %s", req.ID, set.approvals)
		}
		if _, err := s.eng.Decide(ctx, c, r.PathValue("id"), engine.Decision{StageID: r.PathValue("step"), Result: in.ReviewResult, Justification: in.Justification}); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	}
}
