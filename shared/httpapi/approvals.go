package httpapi

import (
	"context"
	"net/http"

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

func (s *Server) decide(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	var in decisionIn
	if err := readBody(r, []string{"reviewResult", "justification"}, &in); err != nil {
		return 0, nil, err
	}
	if in.ReviewResult == "" {
		return 0, nil, domain.Invalid("reviewResult", "is required: Approve or Deny")
	}
	if _, err := s.eng.Decide(ctx, c, r.PathValue("id"), engine.Decision{StageID: r.PathValue("step"), Result: in.ReviewResult, Justification: in.Justification}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
