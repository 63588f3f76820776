package review

import (
	"context"
	"slices"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// --- what a reviewer's screens ask for ---------------------------------------

// recentlyEnded is how long an ended review stays on a reviewer's list, so
// they can see what became of their decisions.
const recentlyEnded = 30 * 24 * time.Hour

// MyReviews lists the instances of every live definition in which the
// caller reviews something: those in progress first (soonest due first),
// then those ended within the last 30 days.
func (svc *Service) MyReviews(ctx context.Context, c *engine.Call) ([]domain.ReviewInstance, error) {
	if err := svc.on(); err != nil {
		return nil, err
	}
	defs, err := svc.reviews.ListReviewDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	var out []domain.ReviewInstance
	for _, d := range defs {
		if d.Deleted {
			continue
		}
		ins, err := svc.ListReviewInstances(ctx, c, d.ID, true)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if in.Status == domain.ReviewInProgress || in.End.After(c.Now.Add(-recentlyEnded)) {
				out = append(out, in)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b domain.ReviewInstance) int {
		if ao, bo := a.Open(c.Now), b.Open(c.Now); ao != bo {
			return map[bool]int{true: -1, false: 1}[ao]
		}
		return a.End.Compare(b.End)
	})
	return out, nil
}

// StepUp is what the caller's sign-in lacks to decide review items (MFA
// when the service asks approvers and reviewers for it), with the refusal
// DecideReview would give; both nil/zero when it lacks nothing. Screens
// ask before they show a form, so it is never refused after submit.
func (svc *Service) StepUp(c *engine.Call) (domain.StepUp, error) {
	if svc.eng.Config().ApproverMFA && !c.Caller.Auth.MFA {
		return domain.StepUp{MFA: true}, domain.Errorf(domain.CodeForbidden, "reviewers must sign in with multi-factor authentication")
	}
	return domain.StepUp{}, nil
}

// Accepting the recommendation records it as the reviewer's decision:
// Approve or Deny; an item without one (NotAvailable) is left to decide.
func acceptable(it domain.ReviewDecision) (string, bool) {
	switch it.Recommendation {
	case domain.ReviewApprove, domain.ReviewDeny:
		return it.Recommendation, true
	}
	return "", false
}

// Accepted is what became of one item of AcceptRecommendations.
type Accepted struct {
	Item     domain.ReviewDecision // as recorded, or as read when refused
	Decision string                // the recommendation recorded ("" when the item had none)
	Err      error                 // why it was not recorded
}

// AcceptRecommendations records the recommendation as the caller's
// decision on each of itemIDs (at most maxAccept), with the caller's
// justification. Each item goes through DecideReview, so every rule holds
// item by item (a reviewer's own access is not approved, a justification
// the settings require is required); one refused item does not stop the
// others, and each answer says what happened.
func (svc *Service) AcceptRecommendations(ctx context.Context, c *engine.Call, definitionID, instanceID string, itemIDs []string, justification string) ([]Accepted, error) {
	if err := svc.on(); err != nil {
		return nil, err
	}
	if len(itemIDs) == 0 {
		return nil, domain.Invalid("items", "choose the items whose recommendation you accept")
	}
	if len(itemIDs) > MaxAccept {
		return nil, domain.Invalid("items", "at most %d at once", MaxAccept)
	}
	out := make([]Accepted, 0, len(itemIDs))
	for _, id := range itemIDs {
		_, it, err := svc.GetReviewDecision(ctx, c, definitionID, instanceID, id)
		if err != nil {
			out = append(out, Accepted{Item: it, Err: err})
			continue
		}
		d, ok := acceptable(it)
		if !ok {
			out = append(out, Accepted{Item: it, Err: domain.Errorf(domain.CodeConflict, "there is no recommendation to accept; decide it yourself")})
			continue
		}
		got, err := svc.DecideReview(ctx, c, definitionID, instanceID, id, Input{Decision: d, Justification: justification})
		if err != nil {
			got = it
		}
		out = append(out, Accepted{Item: got, Decision: d, Err: err})
	}
	return out, nil
}

// MaxAccept bounds the items one AcceptRecommendations call decides.
const MaxAccept = 100

// ScopeName names what a review covers, as its mails do.
func (svc *Service) ScopeName(ctx context.Context, s domain.ReviewScope) string {
	return svc.scopeName(ctx, s)
}
