package httpapi

import (
	"context"
	"net/http"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/review"
)

// definitionUpdateIn is an update of a definition: Graph's updatable
// properties, plus id and scope, which PUT repeats (a full object) and
// which must then match what is stored.
type definitionUpdateIn struct {
	ID                      *string           `json:"id"`
	DisplayName             *string           `json:"displayName"`
	DescriptionForAdmins    *string           `json:"descriptionForAdmins"`
	DescriptionForReviewers *string           `json:"descriptionForReviewers"`
	Scope                   *reviewQueryIO    `json:"scope"`
	Reviewers               *[]reviewQueryIO  `json:"reviewers"`
	FallbackReviewers       *[]reviewQueryIO  `json:"fallbackReviewers"`
	Settings                *reviewSettingsIn `json:"settings"`
}

// definitionUpdateFields are the properties an update may carry; any
// other (instanceEnumerationScope, stageSettings, status, …) is refused
// by name.
var definitionUpdateFields = []string{"id", "displayName", "descriptionForAdmins", "descriptionForReviewers", "scope",
	"reviewers", "fallbackReviewers", "settings"}

// updateReviewDefinition serves PATCH (the properties given change) and
// PUT (Graph's verb, a full object) of a definition. Either applies from
// the next instance; the answer is 204, as Graph's.
func (s *Server) updateReviewDefinition(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	var in definitionUpdateIn
	if err := readBody(r, definitionUpdateFields, &in); err != nil {
		return 0, nil, err
	}
	cur, err := s.reviews.GetReviewDefinition(ctx, c, id)
	if err != nil {
		return 0, nil, err
	}
	if in.ID != nil && *in.ID != cur.ID {
		return 0, nil, domain.Invalid("id", "is %s in the path and %q in the body", cur.ID, *in.ID)
	}
	if in.Scope != nil {
		scope, err := parseReviewScope(in.Scope)
		if err != nil {
			return 0, nil, err
		}
		if scope != cur.Scope {
			return 0, nil, domain.Invalid("scope", "cannot be changed: what a review covers is fixed; create a new definition for another scope")
		}
	}
	if r.Method == http.MethodPut && (in.DisplayName == nil || in.Reviewers == nil || in.Settings == nil) {
		return 0, nil, domain.Invalid("body", "PUT replaces the definition: send displayName, reviewers and settings (or PATCH only what changes)")
	}
	ch := review.DefinitionChange{DisplayName: in.DisplayName, DescriptionForAdmins: in.DescriptionForAdmins, DescriptionForReviewers: in.DescriptionForReviewers}
	if in.Reviewers != nil {
		rs := []domain.Reviewer{}
		if len(*in.Reviewers) == 0 {
			rs = []domain.Reviewer{{Kind: domain.ReviewerSelf}}
		}
		for _, q := range *in.Reviewers {
			rv, err := parseReviewer("reviewers", q, false)
			if err != nil {
				return 0, nil, err
			}
			rs = append(rs, rv)
		}
		ch.Reviewers = &rs
	}
	if in.FallbackReviewers != nil {
		rs := []domain.Reviewer{}
		for _, q := range *in.FallbackReviewers {
			rv, err := parseReviewer("fallbackReviewers", q, true)
			if err != nil {
				return 0, nil, err
			}
			rs = append(rs, rv)
		}
		ch.FallbackReviewers = &rs
	}
	if in.Settings != nil {
		st, err := parseReviewSettings(in.Settings)
		if err != nil {
			return 0, nil, err
		}
		ch.Settings = &st
	}
	if _, _, err := s.reviews.UpdateReviewDefinition(ctx, c, id, ch); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
