package review

import (
	"context"
	"slices"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// reviewSchedules lists the live eligible and active assignments in scope:
// activations are covered by their eligibility, and break-glass accounts
// are never reviewed.
func (svc *Service) reviewSchedules(ctx context.Context, c *engine.Call, scope domain.ReviewScope) ([]domain.Schedule, error) {
	var out []domain.Schedule
	for _, kind := range []domain.RequestKind{domain.KindEligibility, domain.KindAssignment} {
		q := domain.ScheduleQuery{Kind: kind, Limit: 1000}
		switch scope.Kind {
		case domain.ReviewScopeGroup:
			q.TargetKey = domain.GroupTarget(scope.GroupID, scope.AccessID).Key()
		case domain.ReviewScopeAzureRole:
			q.TargetKey = domain.AzureRoleTarget(scope.RoleDefinitionID, scope.ResourceScope).Key()
		}
		for {
			p, err := svc.store.ListSchedules(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, s := range p.Items {
				if !s.Live(c.Now) || !scope.Covers(s.Target) || svc.breakGlass.Protects(s.PrincipalID) ||
					(kind == domain.KindAssignment && s.AssignmentType == domain.AssignmentActivated) {
					continue
				}
				out = append(out, s)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	return out, nil
}

// principalFacts is what a review needs to know of one principal.
type principalFacts struct {
	user       domain.User
	exists     bool
	signedIn   bool            // a successful sign-in within the look-back
	lastSignIn time.Time       // the last successful sign-in seen (zero: none, or not looked up)
	manager    domain.ObjectID // "" when none is set
}

func (svc *Service) lookupPrincipals(ctx context.Context, c *engine.Call, ids []domain.ObjectID, needManager, needSignIn bool) (map[domain.ObjectID]*principalFacts, error) {
	facts := make([]*principalFacts, len(ids))
	since := c.Now.Add(-domain.RecommendationLookBack)
	err := parallel(len(ids), lookupWorkers, func(i int) error {
		f := &principalFacts{}
		facts[i] = f
		u, err := svc.dir.GetUser(ctx, ids[i])
		switch {
		case domain.IsCode(err, domain.CodeNotFound):
			return nil
		case err != nil:
			return err
		}
		f.user, f.exists = u, true
		if needSignIn {
			f.signedIn, f.lastSignIn = u.LastSignIn.After(since), u.LastSignIn
			if u.LastSignIn.IsZero() && svc.signIns != nil {
				// The directory did not say (signInActivity needs a licence): ask the sign-in log.
				sis, err := svc.signIns.SignInsSince(ctx, ids[i], since)
				if err != nil {
					return err
				}
				for _, s := range sis {
					if s.Succeeded && s.Time.After(f.lastSignIn) {
						f.signedIn, f.lastSignIn = true, s.Time
					}
				}
			}
		}
		if needManager {
			m, err := svc.reader.GetManager(ctx, ids[i])
			if err == nil {
				f.manager = m.ID
			} else if !domain.IsCode(err, domain.CodeNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[domain.ObjectID]*principalFacts, len(ids))
	for i, id := range ids {
		out[id] = facts[i]
	}
	return out, nil
}

// recentActivations finds, per principal|target, the start of the latest
// activation within the look-back (or still running).
func (svc *Service) recentActivations(ctx context.Context, c *engine.Call, targets []domain.Target) (map[string]time.Time, error) {
	since := c.Now.Add(-domain.RecommendationLookBack)
	out := map[string]time.Time{}
	for _, t := range targets {
		q := domain.ScheduleQuery{Kind: domain.KindAssignment, TargetKey: t.Key(), IncludeEnded: true, Limit: 1000}
		for {
			p, err := svc.store.ListSchedules(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, s := range p.Items {
				if s.AssignmentType == domain.AssignmentActivated && (s.End.IsZero() || s.End.After(since) || s.Start.After(since)) {
					if k := domain.GrantKey(s.PrincipalID, t); s.Start.After(out[k]) {
						out[k] = s.Start
					}
				}
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	return out, nil
}

// startInstance writes one decision item per assignment in scope, then
// mails the reviewers and opens the instance. Items already stored (a run
// that crashed or runs alongside) are skipped. It reports the items it
// wrote and whether this call opened the instance.
func (svc *Service) startInstance(ctx context.Context, c *engine.Call, in *domain.ReviewInstance) (int, bool, error) {
	started := time.Now()
	have := map[string]bool{}
	if err := allItems(ctx, svc.reviews, in.ID, func(it domain.ReviewDecision) { have[it.ID] = true }); err != nil {
		return 0, false, err
	}
	scheds, err := svc.reviewSchedules(ctx, c, in.Scope)
	if err != nil {
		return 0, false, err
	}
	subs, err := svc.subjects(ctx, in.Scope, scheds)
	if err != nil {
		return 0, false, err
	}
	todo := slices.DeleteFunc(subs, func(sb subject) bool { return have[sb.itemID(in.ID)] })
	written := 0
	if len(todo) > 0 {
		items, err := svc.buildItems(ctx, c, in, todo)
		if err != nil {
			return 0, false, err
		}
		for i := 0; i < len(items); i += 1000 {
			n, err := svc.reviews.AddReviewDecisions(ctx, in.ID, items[i:min(i+1000, len(items))])
			written += n
			if err != nil {
				return written, false, err
			}
		}
	}
	c.Log.InfoContext(ctx, "access review items written", "instance_id", in.ID, "written", written, "already_there", len(have),
		"ms", time.Since(started).Milliseconds())
	opened, err := svc.openInstance(ctx, c, in)
	return written, opened, err
}

// buildItems resolves reviewers and recommendations for the schedules.
func (svc *Service) buildItems(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, subs []subject) ([]domain.ReviewDecision, error) {
	needManager := slices.ContainsFunc(in.Reviewers, func(r domain.Reviewer) bool { return r.Kind == domain.ReviewerManager })
	needRec := in.Settings.RecommendationsEnabled || in.Settings.DefaultDecision == domain.DefaultRecommendation
	if needManager && svc.reader == nil {
		return nil, domain.Errorf(domain.CodeInvalid, "manager reviewers need the directory reader, which this service does not have")
	}
	var ids, groupIDs []domain.ObjectID
	seen := map[domain.ObjectID]bool{}
	var targets []domain.Target
	seenT := map[string]bool{}
	for _, sb := range subs {
		s := sb.s
		if !seen[sb.id] {
			seen[sb.id] = true
			if sb.kind.IsGroup() {
				groupIDs = append(groupIDs, sb.id)
			} else {
				ids = append(ids, sb.id)
			}
		}
		if s.Kind == domain.KindEligibility && !seenT[s.Target.Key()] {
			seenT[s.Target.Key()] = true
			targets = append(targets, s.Target)
		}
	}
	facts, err := svc.lookupPrincipals(ctx, c, ids, needManager, needRec)
	if err != nil {
		return nil, err
	}
	groups, err := svc.lookupGroups(ctx, groupIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range groupIDs {
		// A group has no manager and no sign-in: its facts are its name.
		g, ok := groups[id]
		facts[id] = &principalFacts{user: domain.User{ID: id, DisplayName: g.DisplayName, Enabled: true}, exists: ok}
	}
	var acts map[string]time.Time
	if needRec {
		if acts, err = svc.recentActivations(ctx, c, targets); err != nil {
			return nil, err
		}
	}
	owners := map[domain.ObjectID][]domain.Reviewer{}
	ownersOf := func(groupID domain.ObjectID) ([]domain.Reviewer, error) {
		if o, ok := owners[groupID]; ok {
			return o, nil
		}
		if svc.reader == nil {
			return nil, domain.Errorf(domain.CodeInvalid, "group owner reviewers need the directory reader, which this service does not have")
		}
		us, err := svc.reader.ListGroupOwners(ctx, groupID)
		if err != nil {
			return nil, err
		}
		var refs []domain.Reviewer
		for _, u := range us {
			refs = append(refs, domain.Reviewer{Kind: domain.ReviewerUser, ID: u.ID})
		}
		owners[groupID] = refs
		return refs, nil
	}
	named := namedReviewers(*in)
	items := make([]domain.ReviewDecision, 0, len(subs))
	for _, sb := range subs {
		s := sb.s
		f := facts[sb.id]
		var primary []domain.Reviewer
		for _, r := range in.Reviewers {
			switch r.Kind {
			case domain.ReviewerSelf:
				if !sb.kind.IsGroup() { // a group cannot review itself: its item goes to the fallback reviewers
					primary = append(primary, domain.Reviewer{Kind: domain.ReviewerUser, ID: sb.id})
				}
			case domain.ReviewerManager:
				if f.manager != "" {
					primary = append(primary, domain.Reviewer{Kind: domain.ReviewerUser, ID: f.manager})
				}
			case domain.ReviewerGroupOwners:
				g := r.ID
				if g == "" {
					g = in.Scope.GroupID
				}
				o, err := ownersOf(g)
				if err != nil {
					return nil, err
				}
				primary = append(primary, o...)
			}
		}
		// Items list only their own reviewers; the named ones review every item.
		self := domain.Reviewer{Kind: domain.ReviewerUser, ID: sb.id}
		reviewers, fallback := dedupeReviewers(primary), false
		others := slices.DeleteFunc(append(slices.Clone(reviewers), named...), func(r domain.Reviewer) bool { return r.Key() == self.Key() })
		if len(others) == 0 && !in.SelfReview() && len(in.Fallback) > 0 {
			// Nobody but the holder (who may not approve their own access), or nobody at all.
			reviewers, fallback = dedupeReviewers(append(reviewers, in.Fallback...)), true
		}
		it := domain.ReviewDecision{ID: sb.itemID(in.ID), InstanceID: in.ID, DefinitionID: in.DefinitionID, ScheduleID: s.ID,
			Kind: s.Kind, PrincipalID: sb.id, PrincipalKind: sb.kind, ViaGroupID: sb.via, PrincipalName: f.user.DisplayName, PrincipalUPN: f.user.UserPrincipalName,
			Target: s.Target, ScheduleEnd: s.End, Reviewers: reviewers, Fallback: fallback, Decision: domain.ReviewNotReviewed,
			Recommendation: domain.RecommendationNotAvailable}
		if needRec {
			activated := acts[domain.GrantKey(sb.id, s.Target)]
			it.LastSignIn, it.LastActivation = f.lastSignIn, activated
			switch {
			case sb.kind.IsGroup() && !f.exists:
				it.Recommendation, it.RecommendationReason = domain.ReviewDeny, "the group no longer exists"
			case sb.kind.IsGroup():
				it.RecommendationReason = "a group does not sign in: review the people in it"
			case !f.exists:
				it.Recommendation, it.RecommendationReason = domain.ReviewDeny, "the account no longer exists"
			case !f.user.Enabled:
				it.Recommendation, it.RecommendationReason = domain.ReviewDeny, "the account is disabled"
			case f.signedIn && !activated.IsZero():
				it.Recommendation, it.RecommendationReason = domain.ReviewApprove, "signed in and activated within the last 30 days"
			case f.signedIn:
				it.Recommendation, it.RecommendationReason = domain.ReviewApprove, "signed in within the last 30 days"
			case !activated.IsZero():
				it.Recommendation, it.RecommendationReason = domain.ReviewApprove, "activated within the last 30 days"
			default:
				it.Recommendation, it.RecommendationReason = domain.ReviewDeny, "no sign-in and no activation in the last 30 days"
			}
		}
		items = append(items, it)
	}
	return items, nil
}

func dedupeReviewers(in []domain.Reviewer) []domain.Reviewer {
	var out []domain.Reviewer
	seen := map[string]bool{}
	for _, r := range in {
		if r.Kind == domain.ReviewerUser && !r.ID.Valid() {
			continue
		}
		if !seen[r.Key()] {
			seen[r.Key()] = true
			out = append(out, r)
		}
	}
	return out
}

// itemStats are counts over an instance's items.
func (svc *Service) expand(ctx context.Context, groups map[domain.ObjectID][]domain.ObjectID, rs []domain.Reviewer) ([]domain.ObjectID, error) {
	var out []domain.ObjectID
	for _, r := range rs {
		if r.Kind == domain.ReviewerUser {
			out = append(out, r.ID)
			continue
		}
		ms, ok := groups[r.ID]
		if !ok {
			us, err := svc.dir.ListGroupMembers(ctx, r.ID)
			if err != nil {
				return nil, err
			}
			for _, u := range us {
				ms = append(ms, u.ID)
			}
			groups[r.ID] = ms
		}
		out = append(out, ms...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// stats scans the items: counts, and the unanswered items per reviewing user.
