package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

type approvalOut struct {
	ID    string    `json:"id"`
	Steps []stepOut `json:"steps"`
}

type stepOut struct {
	ID               string       `json:"id"`
	AssignedToMe     bool         `json:"assignedToMe"`
	DisplayName      string       `json:"displayName"`
	Justification    *string      `json:"justification"`
	ReviewResult     string       `json:"reviewResult"`
	ReviewedBy       *identitySet `json:"reviewedBy"`
	ReviewedDateTime *string      `json:"reviewedDateTime"`
	Status           string       `json:"status"`
}

// approvalStageOut is Graph v1.0's approvalStage, the decisions of PIM for
// Groups approvals (assignmentApprovals/{id}/stages): the same stages as the
// beta steps above, with reviewedBy an identity rather than an identitySet.
type approvalStageOut struct {
	ID               string    `json:"id"`
	AssignedToMe     bool      `json:"assignedToMe"`
	DisplayName      string    `json:"displayName"`
	Justification    *string   `json:"justification"`
	ReviewResult     string    `json:"reviewResult"`
	ReviewedBy       *identity `json:"reviewedBy"`
	ReviewedDateTime *string   `json:"reviewedDateTime"`
	Status           string    `json:"status"`
}

// groupApprovalOut is Graph v1.0's approval; stages is a navigation
// property, present only with $expand=stages.
type groupApprovalOut struct {
	ID     string             `json:"id"`
	Stages []approvalStageOut `json:"stages,omitempty"`
}

func stagesOf(a approvalOut) []approvalStageOut {
	out := make([]approvalStageOut, 0, len(a.Steps))
	for _, st := range a.Steps {
		so := approvalStageOut{ID: st.ID, AssignedToMe: st.AssignedToMe, DisplayName: st.DisplayName, Justification: st.Justification,
			ReviewResult: st.ReviewResult, ReviewedDateTime: st.ReviewedDateTime, Status: st.Status}
		if st.ReviewedBy != nil {
			so.ReviewedBy = st.ReviewedBy.User
			if so.ReviewedBy == nil {
				so.ReviewedBy = st.ReviewedBy.App
			}
		}
		out = append(out, so)
	}
	return out
}

// approval reads the approval id for set, refusing another set's request
// so that a role approval is never answered in the group shape or back.
func (s *Server) approval(ctx context.Context, c *engine.Call, r *http.Request, set resourceSet) (approvalOut, error) {
	req, err := s.eng.GetApproval(ctx, c, r.PathValue("id"))
	if err != nil {
		return approvalOut{}, err
	}
	if !isKind(req.Target, set) {
		return approvalOut{}, domain.Errorf(domain.CodeNotFound, "approval %s is not under %s", r.PathValue("id"), set.approvals)
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
		out := groupApprovalOut{ID: a.ID}
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

func (s *Server) approvalJSON(ctx context.Context, c *engine.Call, r domain.Request) approvalOut {
	out := approvalOut{ID: r.ID, Steps: []stepOut{}}
	for i, st := range r.Approval.Stages {
		mine := false
		if st.Status == domain.StageInProgress || st.Status == domain.StageEscalated {
			mine, _ = s.eng.IsApprover(ctx, c, st)
			mine = mine && c.Caller.ID != r.PrincipalID
		}
		so := stepOut{ID: st.ID, AssignedToMe: mine, DisplayName: "Stage " + string(rune('1'+i)), Justification: strPtr(st.Justification),
			ReviewResult: st.ReviewResult, ReviewedDateTime: timeJSON(st.ReviewedAt), Status: st.Status}
		if st.ReviewedBy != "" {
			set := actorSet(st.ReviewedBy)
			so.ReviewedBy = &set
		}
		out.Steps = append(out.Steps, so)
	}
	return out
}

type decisionIn struct {
	ReviewResult  string `json:"reviewResult"`
	Justification string `json:"justification"`
}

func (s *Server) decide(set resourceSet) handlerFunc {
	return func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		var in decisionIn
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
