package review

import (
	"context"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// --- instances and decisions through the API ---------------------------------

// ListReviewInstances lists a definition's instances: all of them for an
// admin; with forReviewer, those in which the caller reviews something.
func (svc *Service) ListReviewInstances(ctx context.Context, c *engine.Call, definitionID string, forReviewer bool) ([]domain.ReviewInstance, error) {
	err := svc.on()
	if err != nil {
		return nil, err
	}
	if !forReviewer {
		if _, err := svc.GetReviewDefinition(ctx, c, definitionID); err != nil {
			return nil, err
		}
		return svc.reviews.ListReviewInstances(ctx, definitionID)
	}
	all, err := svc.reviews.ListReviewInstances(ctx, definitionID)
	if err != nil {
		return nil, err
	}
	var out []domain.ReviewInstance
	for _, in := range all {
		if in.Status == domain.ReviewStarting || in.Status == domain.ReviewCanceled {
			continue
		}
		ok, err := svc.reviewsAny(ctx, c, in)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// GetReviewInstance returns an instance to an admin or to one of its reviewers.
func (svc *Service) GetReviewInstance(ctx context.Context, c *engine.Call, definitionID, id string) (domain.ReviewInstance, error) {
	err := svc.on()
	if err != nil {
		return domain.ReviewInstance{}, err
	}
	in, err := svc.reviews.GetReviewInstance(ctx, id)
	if err != nil || in.DefinitionID != definitionID {
		return domain.ReviewInstance{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", id)
	}
	if ok, err := svc.eng.IsAdmin(ctx, c); err != nil {
		return in, err
	} else if ok {
		return in, nil
	}
	ok, err := svc.reviewsAny(ctx, c, in)
	if err != nil {
		return in, err
	}
	if !ok || in.Status == domain.ReviewStarting {
		return domain.ReviewInstance{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", id)
	}
	return in, nil
}

// namedReviewers are the users and groups a definition names: they review
// every item of an instance, so items do not list them (nor index them).
func namedReviewers(in domain.ReviewInstance) []domain.Reviewer {
	var out []domain.Reviewer
	for _, r := range in.Reviewers {
		if r.Kind == domain.ReviewerUser || r.Kind == domain.ReviewerGroup {
			out = append(out, r)
		}
	}
	return out
}

// matches reports whether the caller is the user, or a member of the group.
func (svc *Service) matches(ctx context.Context, c *engine.Call, r domain.Reviewer) (bool, error) {
	switch r.Kind {
	case domain.ReviewerUser:
		return r.ID == c.Caller.ID, nil
	case domain.ReviewerGroup:
		return svc.dir.IsMemberOf(ctx, c.Caller.ID, r.ID)
	}
	return false, nil
}

// callerScope says which items the caller reviews: every item (a named
// reviewer), or those whose own reviewers include one of refs (the caller,
// and the fallback groups they belong to).
func (svc *Service) callerScope(ctx context.Context, c *engine.Call, in domain.ReviewInstance) (all bool, refs []domain.Reviewer, err error) {
	for _, r := range namedReviewers(in) {
		ok, err := svc.matches(ctx, c, r)
		if err != nil {
			return false, nil, err
		}
		if ok {
			return true, nil, nil
		}
	}
	refs = []domain.Reviewer{{Kind: domain.ReviewerUser, ID: c.Caller.ID}}
	for _, g := range in.Fallback {
		if g.Kind != domain.ReviewerGroup {
			continue
		}
		ok, err := svc.matches(ctx, c, g)
		if err != nil {
			return false, nil, err
		}
		if ok {
			refs = append(refs, g)
		}
	}
	return false, refs, nil
}

// reviewsAny reports whether the caller reviews some item of the instance.
func (svc *Service) reviewsAny(ctx context.Context, c *engine.Call, in domain.ReviewInstance) (bool, error) {
	all, refs, err := svc.callerScope(ctx, c, in)
	if err != nil || all {
		return all, err
	}
	p, err := svc.reviews.ListReviewDecisions(ctx, domain.ReviewDecisionQuery{InstanceID: in.ID, Reviewers: refs, Limit: 1})
	return len(p.Items) > 0, err
}

// isReviewer reports whether the caller reviews the item.
func (svc *Service) isReviewer(ctx context.Context, c *engine.Call, in domain.ReviewInstance, it domain.ReviewDecision) (bool, error) {
	for _, r := range append(namedReviewers(in), it.Reviewers...) {
		ok, err := svc.matches(ctx, c, r)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// ListReviewDecisions lists an instance's decision items: every item for an
// admin; with forReviewer, the items the caller reviews.
func (svc *Service) ListReviewDecisions(ctx context.Context, c *engine.Call, definitionID, instanceID string, forReviewer bool, cursor string, limit int) (domain.ReviewInstance, domain.Page[domain.ReviewDecision], error) {
	var none domain.Page[domain.ReviewDecision]
	err := svc.on()
	if err != nil {
		return domain.ReviewInstance{}, none, err
	}
	in, err := svc.reviews.GetReviewInstance(ctx, instanceID)
	if err != nil || in.DefinitionID != definitionID || (forReviewer && in.Status == domain.ReviewStarting) {
		return in, none, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	q := domain.ReviewDecisionQuery{InstanceID: instanceID, Cursor: cursor, Limit: limit}
	if forReviewer {
		all, refs, err := svc.callerScope(ctx, c, in)
		if err != nil {
			return in, none, err
		}
		if !all {
			q.Reviewers = refs
		}
	} else if err := svc.eng.RequireAdmin(ctx, c, "listing every decision of a review (reviewers use filterByCurrentUser(on='reviewer'))"); err != nil {
		return in, none, err
	}
	p, err := svc.reviews.ListReviewDecisions(ctx, q)
	return in, p, err
}

// GetReviewDecision returns one item to an admin or to its reviewer.
func (svc *Service) GetReviewDecision(ctx context.Context, c *engine.Call, definitionID, instanceID, id string) (domain.ReviewInstance, domain.ReviewDecision, error) {
	err := svc.on()
	if err != nil {
		return domain.ReviewInstance{}, domain.ReviewDecision{}, err
	}
	in, err := svc.reviews.GetReviewInstance(ctx, instanceID)
	if err != nil || in.DefinitionID != definitionID {
		return in, domain.ReviewDecision{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	it, err := svc.reviews.GetReviewDecision(ctx, instanceID, id)
	if err != nil {
		return in, it, domain.Errorf(domain.CodeNotFound, "decision %s does not exist", id)
	}
	if ok, err := svc.isReviewer(ctx, c, in, it); err != nil {
		return in, it, err
	} else if !ok {
		if err := svc.eng.RequireAdmin(ctx, c, "reading someone else's review decision"); err != nil {
			return in, it, domain.Errorf(domain.CodeNotFound, "decision %s does not exist", id)
		}
	}
	return in, it, nil
}

// Input is a reviewer's answer to one item.
type Input struct {
	Decision      string // Approve, Deny or DontKnow, either case
	Justification string
}

// DecideReview records a reviewer's decision on one item of an open
// instance. Only the item's reviewers decide; nobody approves their own
// access unless the review is a self-review; a reviewer may change their
// mind while the review runs (the last decision counts).
func (svc *Service) DecideReview(ctx context.Context, c *engine.Call, definitionID, instanceID, itemID string, in Input) (domain.ReviewDecision, error) {
	err := svc.on()
	if err != nil {
		return domain.ReviewDecision{}, err
	}
	decision := ""
	for _, d := range []string{domain.ReviewApprove, domain.ReviewDeny, domain.ReviewDontKnow} {
		if domain.EnumMatches(d, in.Decision) {
			decision = d
		}
	}
	if decision == "" {
		return domain.ReviewDecision{}, domain.Invalid("decision", "must be Approve, Deny or DontKnow, got %q", in.Decision)
	}
	if len([]rune(in.Justification)) > domain.MaxJustification {
		return domain.ReviewDecision{}, domain.Invalid("justification", "at most %d characters", domain.MaxJustification)
	}
	inst, err := svc.reviews.GetReviewInstance(ctx, instanceID)
	if err != nil || inst.DefinitionID != definitionID {
		return domain.ReviewDecision{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	var it domain.ReviewDecision
	err = engine.Retry(func() error {
		var err error
		it, err = svc.reviews.GetReviewDecision(ctx, instanceID, itemID)
		if err != nil {
			return domain.Errorf(domain.CodeNotFound, "decision %s does not exist", itemID)
		}
		if ok, err := svc.isReviewer(ctx, c, inst, it); err != nil {
			return err
		} else if !ok {
			return domain.Errorf(domain.CodeForbidden, "you are not a reviewer of this item")
		}
		if !inst.Open(c.Now) {
			return domain.Errorf(domain.CodeConflict, "this review is not open for decisions: it is %s (ends %s)", inst.Status, inst.End.UTC().Format(time.RFC3339))
		}
		if decision == domain.ReviewApprove && c.Caller.ID == it.PrincipalID && !inst.SelfReview() {
			return domain.Errorf(domain.CodeForbidden, "you cannot approve your own access; another reviewer decides it")
		}
		if _, refused := svc.StepUp(c); refused != nil {
			return refused
		}
		if decision == domain.ReviewApprove && inst.Settings.JustificationRequiredOnApproval && strings.TrimSpace(in.Justification) == "" {
			return domain.Invalid("justification", "this review requires a justification to approve")
		}
		it.Decision, it.Justification, it.ReviewedBy, it.ReviewedAt = decision, strings.TrimSpace(in.Justification), c.Caller.ID, c.Now
		return engine.Stale(svc.reviews.UpdateReviewDecision(ctx, &it))
	})
	if err != nil {
		return domain.ReviewDecision{}, err
	}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "review.decide", Category: "Governance", Target: it.Target, PrincipalID: it.PrincipalID,
		Reason: it.Justification, Details: map[string]string{"decision": decision, "instance_id": instanceID, "item_id": itemID, "schedule_id": it.ScheduleID}}); err != nil {
		return it, err
	}
	// The review may have ended while this decision was written; say so rather than let it seem applied.
	if cur, err := svc.reviews.GetReviewInstance(ctx, instanceID); err == nil && cur.Status != domain.ReviewInProgress {
		return it, domain.Errorf(domain.CodeConflict, "the review ended (%s) while your decision was recorded; it may not have been applied", cur.Status)
	}
	return it, nil
}

// StopReview ends a running instance now; with auto-apply its decisions
// are applied at once. Admins only.
func (svc *Service) StopReview(ctx context.Context, c *engine.Call, definitionID, instanceID string) (domain.ReviewInstance, error) {
	err := svc.on()
	if err != nil {
		return domain.ReviewInstance{}, err
	}
	if err := svc.eng.RequireAdminWrite(ctx, c, "stopping an access review"); err != nil {
		return domain.ReviewInstance{}, err
	}
	in, err := svc.reviews.GetReviewInstance(ctx, instanceID)
	if err != nil || in.DefinitionID != definitionID {
		return in, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	if in.Status != domain.ReviewInProgress {
		return in, domain.Errorf(domain.CodeConflict, "only a review in progress can be stopped; this one is %s", in.Status)
	}
	if _, err := svc.completeInstance(ctx, c, &in, true); err != nil {
		return in, err
	}
	if in.Status == domain.ReviewApplying {
		err = svc.applyInstance(ctx, c, &in, nil)
	}
	return in, err
}

// ApplyReviewDecisions applies a completed instance's decisions (when
// auto-apply is off), or finishes an interrupted apply. Admins only.
func (svc *Service) ApplyReviewDecisions(ctx context.Context, c *engine.Call, definitionID, instanceID string) (domain.ReviewInstance, error) {
	err := svc.on()
	if err != nil {
		return domain.ReviewInstance{}, err
	}
	if err := svc.eng.RequireAdminWrite(ctx, c, "applying access review decisions"); err != nil {
		return domain.ReviewInstance{}, err
	}
	var in domain.ReviewInstance
	err = engine.Retry(func() error {
		var err error
		in, err = svc.reviews.GetReviewInstance(ctx, instanceID)
		if err != nil || in.DefinitionID != definitionID {
			return domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
		}
		switch in.Status {
		case domain.ReviewApplying:
			return nil
		case domain.ReviewCompleted:
		case domain.ReviewApplied:
			return domain.Errorf(domain.CodeConflict, "the decisions were already applied")
		default:
			return domain.Errorf(domain.CodeConflict, "decisions are applied once the review has ended; it is %s", in.Status)
		}
		in.Status = domain.ReviewApplying
		return engine.Stale(svc.reviews.UpdateReviewInstance(ctx, &in))
	})
	if err != nil {
		return in, err
	}
	err = svc.applyInstance(ctx, c, &in, nil)
	return in, err
}

// ReviewerItems is what a reviewer's page shows: the instance and the
// first items the caller reviews.
func (svc *Service) ReviewerItems(ctx context.Context, c *engine.Call, definitionID, instanceID string, limit int) (domain.ReviewInstance, []domain.ReviewDecision, bool, error) {
	in, p, err := svc.ListReviewDecisions(ctx, c, definitionID, instanceID, true, "", limit)
	if err != nil {
		return in, nil, false, err
	}
	if len(p.Items) == 0 {
		return in, nil, false, domain.Errorf(domain.CodeForbidden, "you review nothing in this access review")
	}
	return in, p.Items, p.Next != "", nil
}
