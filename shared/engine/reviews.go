package engine

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
)

// Access reviews: definitions, the daily timer that starts, completes and
// applies their instances, and reviewers' decisions.
//
// Everything the timer does is idempotent and resumable. Instance ids are
// derived from the definition and the occurrence, decision item ids from
// the instance and the schedule, and removal request ids from the instance
// and the item; the store creates each once. A run that dies half-way
// leaves the instance Starting or Applying, and the next run finishes it.
// Denied items are removed through the normal request path: an adminRemove
// request by jitpim, audited like any other.

// ReviewLinkFunc makes the personal link a reviewer's mail carries: a
// signed token for one reviewer and one instance, behind which a page
// shows the reviewer's items. It never decides anything by itself.
type ReviewLinkFunc func(definitionID, instanceID string, reviewerID domain.ObjectID, expires time.Time) (string, error)

type reviewWiring struct {
	store domain.ReviewStore
	link  ReviewLinkFunc
}

// The Engine's struct belongs to engine.go; review wiring is kept beside
// it, keyed by a weak pointer so it goes away with the engine.
var (
	reviewWiringMu sync.Mutex
	reviewWirings  = map[weak.Pointer[Engine]]reviewWiring{}
)

// WithReviews turns access reviews on: rs keeps them (memstore and
// tablestore implement it beside domain.Store) and link makes the reviewers'
// personal links (nil sends mails without links).
func (e *Engine) WithReviews(rs domain.ReviewStore, link ReviewLinkFunc) *Engine {
	k := weak.Make(e)
	reviewWiringMu.Lock()
	defer reviewWiringMu.Unlock()
	if _, ok := reviewWirings[k]; !ok {
		runtime.AddCleanup(e, func(k weak.Pointer[Engine]) {
			reviewWiringMu.Lock()
			delete(reviewWirings, k)
			reviewWiringMu.Unlock()
		}, k)
	}
	reviewWirings[k] = reviewWiring{store: rs, link: link}
	return e
}

func (e *Engine) reviews() (reviewWiring, error) {
	reviewWiringMu.Lock()
	w, ok := reviewWirings[weak.Make(e)]
	reviewWiringMu.Unlock()
	if !ok || w.store == nil {
		return w, domain.Errorf(domain.CodeNotFound, "access reviews are not configured on this service")
	}
	return w, nil
}

var reviewNamespace = uuid.MustParse("5d2c7a0e-8f9b-4e61-a3c4-2b7f1e9d6c50")

// ReviewInstanceID is the id of occurrence k of a definition: a duplicated
// timer run finds the instance the first one created.
func ReviewInstanceID(definitionID string, k int) string {
	return uuid.NewSHA1(reviewNamespace, []byte("instance\x00"+definitionID+"\x00"+strconv.Itoa(k))).String()
}

// ReviewDecisionID is the id of the decision item of a schedule in an instance.
func ReviewDecisionID(instanceID, scheduleID string) string {
	return uuid.NewSHA1(reviewNamespace, []byte("item\x00"+instanceID+"\x00"+scheduleID)).String()
}

// lookupWorkers bounds the directory lookups run at once; applyWorkers the
// removals (each appends to the one audit chain, so more of them mostly
// contend: measured on Azurite, 16 workers were slower than 4).
const (
	lookupWorkers = 16
	applyWorkers  = 4
)

// ReviewWarnings says, in words meant to be read, what happens to items
// nobody answers: the API shows it on definitions and instances.
func ReviewWarnings(s domain.ReviewSettings) []string {
	switch {
	case domain.AutoDenies(s):
		return []string{"Unanswered items are DENIED and their access is REMOVED automatically when the review ends (defaultDecision Deny with autoApplyDecisionsEnabled)."}
	case s.AutoApply && s.DefaultDecision == domain.DefaultRecommendation:
		return []string{"Unanswered items follow the recommendation and are applied automatically: access without a sign-in or an activation in the last 30 days is REMOVED when the review ends."}
	case s.DefaultDecision == domain.DefaultApprove:
		return []string{"Unanswered items are APPROVED when the review ends: access nobody reviews is kept."}
	case s.DefaultDecision == domain.DefaultDeny:
		return []string{"Unanswered items are denied when the review ends; an administrator applies the decisions (applyDecisions), which removes their access."}
	}
	return []string{"Unanswered items follow the recommendation; an administrator applies the decisions (applyDecisions)."}
}

// --- definitions -------------------------------------------------------------

// CreateReviewDefinition stores a new access review definition; admins only.
// A recurrence without a start date starts today.
func (e *Engine) CreateReviewDefinition(ctx context.Context, c *Call, d domain.ReviewDefinition) (domain.ReviewDefinition, error) {
	w, err := e.reviews()
	if err != nil {
		return d, err
	}
	if err := e.requireAdminWrite(ctx, c, "creating access reviews"); err != nil {
		return d, err
	}
	d.ID = uuid.NewString()
	if d.Settings.Recurrence.StartDate.IsZero() {
		d.Settings.Recurrence.StartDate = c.Now.UTC().Truncate(24 * time.Hour)
	}
	d.CreatedBy, d.CreatedAt, d.ModifiedAt, d.Version = c.Caller.ID, c.Now, c.Now, ""
	d.Deleted, d.DeletedBy, d.DeletedAt = false, "", time.Time{}
	if err := d.Validate(); err != nil {
		return d, err
	}
	for _, r := range d.Reviewers {
		if (r.Kind == domain.ReviewerManager || r.Kind == domain.ReviewerGroupOwners) && e.cfg.Reader == nil {
			return d, domain.Invalid("reviewers", "%s reviewers need the directory reader, which this service does not have", r.Kind)
		}
	}
	for _, r := range append(slices.Clone(d.Reviewers), d.FallbackReviewers...) {
		if r.Kind != domain.ReviewerUser {
			continue
		}
		if _, err := e.dir.GetUser(ctx, r.ID); domain.IsCode(err, domain.CodeNotFound) {
			return d, domain.Invalid("reviewers", "user %s does not exist in the directory", r.ID)
		} else if err != nil {
			return d, err
		}
	}
	if err := w.store.CreateReviewDefinition(ctx, &d); err != nil {
		return d, err
	}
	details := map[string]string{"definition_id": d.ID, "scope": d.Scope.String(), "default_decision": d.Settings.DefaultDecision,
		"auto_apply": strconv.FormatBool(d.Settings.AutoApply), "reviewers": reviewerList(d.Reviewers), "fallback": reviewerList(d.FallbackReviewers),
		"recurrence": fmt.Sprintf("%s/%d", d.Settings.Recurrence.Type, d.Settings.Recurrence.Interval), "duration_days": strconv.Itoa(d.Settings.DurationInDays)}
	e.audit(ctx, c, domain.AuditRecord{Action: "review.definition.create", Category: "Governance", Reason: strings.Join(ReviewWarnings(d.Settings), " "), Details: details})
	c.Log.InfoContext(ctx, "access review defined", "definition_id", d.ID, "default_decision", d.Settings.DefaultDecision, "auto_apply", d.Settings.AutoApply)
	return d, nil
}

func reviewerList(rs []domain.Reviewer) string {
	var parts []string
	for _, r := range rs {
		if r.ID != "" {
			parts = append(parts, string(r.Kind)+":"+string(r.ID))
		} else {
			parts = append(parts, string(r.Kind))
		}
	}
	return strings.Join(parts, ",")
}

// GetReviewDefinition returns a definition; admins only.
func (e *Engine) GetReviewDefinition(ctx context.Context, c *Call, id string) (domain.ReviewDefinition, error) {
	w, err := e.reviews()
	if err != nil {
		return domain.ReviewDefinition{}, err
	}
	if err := e.requireAdmin(ctx, c, "reading access review definitions"); err != nil {
		return domain.ReviewDefinition{}, err
	}
	d, err := w.store.GetReviewDefinition(ctx, id)
	if err != nil || d.Deleted {
		return domain.ReviewDefinition{}, domain.Errorf(domain.CodeNotFound, "access review definition %s does not exist", id)
	}
	return d, nil
}

// ListReviewDefinitions lists the definitions not deleted; admins only.
func (e *Engine) ListReviewDefinitions(ctx context.Context, c *Call) ([]domain.ReviewDefinition, error) {
	w, err := e.reviews()
	if err != nil {
		return nil, err
	}
	if err := e.requireAdmin(ctx, c, "listing access review definitions"); err != nil {
		return nil, err
	}
	all, err := w.store.ListReviewDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(d domain.ReviewDefinition) bool { return d.Deleted }), nil
}

// DeleteReviewDefinition deletes a definition: it starts nothing more, and
// its instances that have not begun applying are canceled with nothing
// applied. The definition is kept, marked deleted, for the record.
func (e *Engine) DeleteReviewDefinition(ctx context.Context, c *Call, id string) error {
	w, err := e.reviews()
	if err != nil {
		return err
	}
	if err := e.requireAdminWrite(ctx, c, "deleting an access review"); err != nil {
		return err
	}
	d, err := e.GetReviewDefinition(ctx, c, id)
	if err != nil {
		return err
	}
	if err := retry(func() error {
		cur, err := w.store.GetReviewDefinition(ctx, id)
		if err != nil {
			return err
		}
		if cur.Deleted {
			return domain.Errorf(domain.CodeNotFound, "access review definition %s does not exist", id)
		}
		cur.Deleted, cur.DeletedBy, cur.DeletedAt, cur.ModifiedAt = true, c.Caller.ID, c.Now, c.Now
		return stale(w.store.UpdateReviewDefinition(ctx, &cur))
	}); err != nil {
		return err
	}
	insts, err := w.store.ListReviewInstances(ctx, id)
	if err != nil {
		return err
	}
	canceled := 0
	for _, in := range insts {
		err := retry(func() error {
			cur, err := w.store.GetReviewInstance(ctx, in.ID)
			if err != nil {
				return err
			}
			if cur.Status != domain.ReviewStarting && cur.Status != domain.ReviewInProgress && cur.Status != domain.ReviewCompleted {
				return nil
			}
			cur.Status, cur.CompletedAt, cur.CompletedBy = domain.ReviewCanceled, c.Now, c.Caller.ID
			if err := w.store.UpdateReviewInstance(ctx, &cur); err != nil {
				return stale(err)
			}
			canceled++
			return nil
		})
		if err != nil {
			return err
		}
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "review.definition.delete", Category: "Governance", Reason: d.DisplayName,
		Details: map[string]string{"definition_id": id, "instances_canceled": strconv.Itoa(canceled)}})
	return nil
}

// --- instances and decisions through the API ---------------------------------

// ListReviewInstances lists a definition's instances: all of them for an
// admin; with forReviewer, those in which the caller reviews something.
func (e *Engine) ListReviewInstances(ctx context.Context, c *Call, definitionID string, forReviewer bool) ([]domain.ReviewInstance, error) {
	w, err := e.reviews()
	if err != nil {
		return nil, err
	}
	if !forReviewer {
		if _, err := e.GetReviewDefinition(ctx, c, definitionID); err != nil {
			return nil, err
		}
		return w.store.ListReviewInstances(ctx, definitionID)
	}
	all, err := w.store.ListReviewInstances(ctx, definitionID)
	if err != nil {
		return nil, err
	}
	var out []domain.ReviewInstance
	for _, in := range all {
		if in.Status == domain.ReviewStarting || in.Status == domain.ReviewCanceled {
			continue
		}
		ok, err := e.reviewsAny(ctx, c, w, in)
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
func (e *Engine) GetReviewInstance(ctx context.Context, c *Call, definitionID, id string) (domain.ReviewInstance, error) {
	w, err := e.reviews()
	if err != nil {
		return domain.ReviewInstance{}, err
	}
	in, err := w.store.GetReviewInstance(ctx, id)
	if err != nil || in.DefinitionID != definitionID {
		return domain.ReviewInstance{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", id)
	}
	if ok, err := e.IsAdmin(ctx, c); err != nil {
		return in, err
	} else if ok {
		return in, nil
	}
	ok, err := e.reviewsAny(ctx, c, w, in)
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
func (e *Engine) matches(ctx context.Context, c *Call, r domain.Reviewer) (bool, error) {
	switch r.Kind {
	case domain.ReviewerUser:
		return r.ID == c.Caller.ID, nil
	case domain.ReviewerGroup:
		return e.dir.IsMemberOf(ctx, c.Caller.ID, r.ID)
	}
	return false, nil
}

// callerScope says which items the caller reviews: every item (a named
// reviewer), or those whose own reviewers include one of refs (the caller,
// and the fallback groups they belong to).
func (e *Engine) callerScope(ctx context.Context, c *Call, in domain.ReviewInstance) (all bool, refs []domain.Reviewer, err error) {
	for _, r := range namedReviewers(in) {
		ok, err := e.matches(ctx, c, r)
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
		ok, err := e.matches(ctx, c, g)
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
func (e *Engine) reviewsAny(ctx context.Context, c *Call, w reviewWiring, in domain.ReviewInstance) (bool, error) {
	all, refs, err := e.callerScope(ctx, c, in)
	if err != nil || all {
		return all, err
	}
	p, err := w.store.ListReviewDecisions(ctx, domain.ReviewDecisionQuery{InstanceID: in.ID, Reviewers: refs, Limit: 1})
	return len(p.Items) > 0, err
}

// isReviewer reports whether the caller reviews the item.
func (e *Engine) isReviewer(ctx context.Context, c *Call, in domain.ReviewInstance, it domain.ReviewDecision) (bool, error) {
	for _, r := range append(namedReviewers(in), it.Reviewers...) {
		ok, err := e.matches(ctx, c, r)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// ListReviewDecisions lists an instance's decision items: every item for an
// admin; with forReviewer, the items the caller reviews.
func (e *Engine) ListReviewDecisions(ctx context.Context, c *Call, definitionID, instanceID string, forReviewer bool, cursor string, limit int) (domain.ReviewInstance, domain.Page[domain.ReviewDecision], error) {
	var none domain.Page[domain.ReviewDecision]
	w, err := e.reviews()
	if err != nil {
		return domain.ReviewInstance{}, none, err
	}
	in, err := w.store.GetReviewInstance(ctx, instanceID)
	if err != nil || in.DefinitionID != definitionID || (forReviewer && in.Status == domain.ReviewStarting) {
		return in, none, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	q := domain.ReviewDecisionQuery{InstanceID: instanceID, Cursor: cursor, Limit: limit}
	if forReviewer {
		all, refs, err := e.callerScope(ctx, c, in)
		if err != nil {
			return in, none, err
		}
		if !all {
			q.Reviewers = refs
		}
	} else if err := e.requireAdmin(ctx, c, "listing every decision of a review (reviewers use filterByCurrentUser(on='reviewer'))"); err != nil {
		return in, none, err
	}
	p, err := w.store.ListReviewDecisions(ctx, q)
	return in, p, err
}

// GetReviewDecision returns one item to an admin or to its reviewer.
func (e *Engine) GetReviewDecision(ctx context.Context, c *Call, definitionID, instanceID, id string) (domain.ReviewInstance, domain.ReviewDecision, error) {
	w, err := e.reviews()
	if err != nil {
		return domain.ReviewInstance{}, domain.ReviewDecision{}, err
	}
	in, err := w.store.GetReviewInstance(ctx, instanceID)
	if err != nil || in.DefinitionID != definitionID {
		return in, domain.ReviewDecision{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	it, err := w.store.GetReviewDecision(ctx, instanceID, id)
	if err != nil {
		return in, it, domain.Errorf(domain.CodeNotFound, "decision %s does not exist", id)
	}
	if ok, err := e.isReviewer(ctx, c, in, it); err != nil {
		return in, it, err
	} else if !ok {
		if err := e.requireAdmin(ctx, c, "reading someone else's review decision"); err != nil {
			return in, it, domain.Errorf(domain.CodeNotFound, "decision %s does not exist", id)
		}
	}
	return in, it, nil
}

// ReviewInput is a reviewer's answer to one item.
type ReviewInput struct {
	Decision      string // Approve, Deny or DontKnow, either case
	Justification string
}

// DecideReview records a reviewer's decision on one item of an open
// instance. Only the item's reviewers decide; nobody approves their own
// access unless the review is a self-review; a reviewer may change their
// mind while the review runs (the last decision counts).
func (e *Engine) DecideReview(ctx context.Context, c *Call, definitionID, instanceID, itemID string, in ReviewInput) (domain.ReviewDecision, error) {
	w, err := e.reviews()
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
	inst, err := w.store.GetReviewInstance(ctx, instanceID)
	if err != nil || inst.DefinitionID != definitionID {
		return domain.ReviewDecision{}, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	var it domain.ReviewDecision
	err = retry(func() error {
		var err error
		it, err = w.store.GetReviewDecision(ctx, instanceID, itemID)
		if err != nil {
			return domain.Errorf(domain.CodeNotFound, "decision %s does not exist", itemID)
		}
		if ok, err := e.isReviewer(ctx, c, inst, it); err != nil {
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
		if e.cfg.ApproverMFA && !c.Caller.Auth.MFA {
			return domain.Errorf(domain.CodeForbidden, "reviewers must sign in with multi-factor authentication")
		}
		if decision == domain.ReviewApprove && inst.Settings.JustificationRequiredOnApproval && strings.TrimSpace(in.Justification) == "" {
			return domain.Invalid("justification", "this review requires a justification to approve")
		}
		it.Decision, it.Justification, it.ReviewedBy, it.ReviewedAt = decision, strings.TrimSpace(in.Justification), c.Caller.ID, c.Now
		return stale(w.store.UpdateReviewDecision(ctx, &it))
	})
	if err != nil {
		return domain.ReviewDecision{}, err
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "review.decide", Category: "Governance", Target: it.Target, PrincipalID: it.PrincipalID,
		Reason: it.Justification, Details: map[string]string{"decision": decision, "instance_id": instanceID, "item_id": itemID, "schedule_id": it.ScheduleID}})
	// The review may have ended while this decision was written; say so rather than let it seem applied.
	if cur, err := w.store.GetReviewInstance(ctx, instanceID); err == nil && cur.Status != domain.ReviewInProgress {
		return it, domain.Errorf(domain.CodeConflict, "the review ended (%s) while your decision was recorded; it may not have been applied", cur.Status)
	}
	return it, nil
}

// StopReview ends a running instance now; with auto-apply its decisions
// are applied at once. Admins only.
func (e *Engine) StopReview(ctx context.Context, c *Call, definitionID, instanceID string) (domain.ReviewInstance, error) {
	w, err := e.reviews()
	if err != nil {
		return domain.ReviewInstance{}, err
	}
	if err := e.requireAdminWrite(ctx, c, "stopping an access review"); err != nil {
		return domain.ReviewInstance{}, err
	}
	in, err := w.store.GetReviewInstance(ctx, instanceID)
	if err != nil || in.DefinitionID != definitionID {
		return in, domain.Errorf(domain.CodeNotFound, "access review instance %s does not exist", instanceID)
	}
	if in.Status != domain.ReviewInProgress {
		return in, domain.Errorf(domain.CodeConflict, "only a review in progress can be stopped; this one is %s", in.Status)
	}
	if _, err := e.completeInstance(ctx, c, w, &in, true); err != nil {
		return in, err
	}
	if in.Status == domain.ReviewApplying {
		err = e.applyInstance(ctx, c, w, &in, nil)
	}
	return in, err
}

// ApplyReviewDecisions applies a completed instance's decisions (when
// auto-apply is off), or finishes an interrupted apply. Admins only.
func (e *Engine) ApplyReviewDecisions(ctx context.Context, c *Call, definitionID, instanceID string) (domain.ReviewInstance, error) {
	w, err := e.reviews()
	if err != nil {
		return domain.ReviewInstance{}, err
	}
	if err := e.requireAdminWrite(ctx, c, "applying access review decisions"); err != nil {
		return domain.ReviewInstance{}, err
	}
	var in domain.ReviewInstance
	err = retry(func() error {
		var err error
		in, err = w.store.GetReviewInstance(ctx, instanceID)
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
		return stale(w.store.UpdateReviewInstance(ctx, &in))
	})
	if err != nil {
		return in, err
	}
	err = e.applyInstance(ctx, c, w, &in, nil)
	return in, err
}

// ReviewerItems is what a reviewer's page shows: the instance and the
// first items the caller reviews.
func (e *Engine) ReviewerItems(ctx context.Context, c *Call, definitionID, instanceID string, limit int) (domain.ReviewInstance, []domain.ReviewDecision, bool, error) {
	in, p, err := e.ListReviewDecisions(ctx, c, definitionID, instanceID, true, "", limit)
	if err != nil {
		return in, nil, false, err
	}
	if len(p.Items) == 0 {
		return in, nil, false, domain.Errorf(domain.CodeForbidden, "you review nothing in this access review")
	}
	return in, p.Items, p.Next != "", nil
}

// --- the timer -----------------------------------------------------------------

// ReviewRunResult counts what one accessReviews timer run did.
type ReviewRunResult struct {
	Started       int
	ItemsWritten  int
	Completed     int
	Applied       int
	Removed       int
	ApplyFailures int
	Reminders     int
	Errors        int
}

// RunReviews is the accessReviews timer's job: it starts due instances
// (finishing any a crashed run left Starting), sends reminders, completes
// instances whose end has passed and applies their decisions (finishing
// any interrupted apply). It is safe to run twice or concurrently.
func (e *Engine) RunReviews(ctx context.Context, c *Call) (ReviewRunResult, error) {
	var res ReviewRunResult
	w, err := e.reviews()
	if err != nil {
		return res, err
	}
	defs, err := w.store.ListReviewDefinitions(ctx)
	if err != nil {
		return res, err
	}
	for _, d := range defs {
		if !d.Deleted {
			if err := e.ensureDueInstance(ctx, c, w, d); err != nil {
				res.Errors++
				c.Log.ErrorContext(ctx, "starting an access review failed", "definition_id", d.ID, "error", err)
			}
		}
		insts, err := w.store.ListReviewInstances(ctx, d.ID)
		if err != nil {
			res.Errors++
			continue
		}
		for _, in := range insts {
			if err := e.driveInstance(ctx, c, w, &in, &res); err != nil {
				res.Errors++
				c.Log.ErrorContext(ctx, "access review step failed; the next run continues", "instance_id", in.ID, "status", in.Status, "error", err)
			}
		}
	}
	if _, err := e.DeliverMail(ctx, c); err != nil {
		res.Errors++
	}
	if res != (ReviewRunResult{}) {
		e.audit(ctx, c, domain.AuditRecord{Action: "timer.accessReviews", Category: "Governance", Details: map[string]string{
			"started": fmt.Sprint(res.Started), "items_written": fmt.Sprint(res.ItemsWritten), "completed": fmt.Sprint(res.Completed),
			"applied": fmt.Sprint(res.Applied), "removed": fmt.Sprint(res.Removed), "apply_failures": fmt.Sprint(res.ApplyFailures),
			"reminders": fmt.Sprint(res.Reminders), "errors": fmt.Sprint(res.Errors)}})
	}
	return res, nil
}

// ensureDueInstance creates the instance of the newest occurrence that has
// started, when it does not exist yet. An occurrence whose whole window
// passed without a run (the timer was down) still runs, for its full
// length from today: a missed review must not silently keep access.
func (e *Engine) ensureDueInstance(ctx context.Context, c *Call, w reviewWiring, d domain.ReviewDefinition) error {
	k, start, ok := d.Settings.Recurrence.Due(c.Now)
	if !ok {
		return nil
	}
	id := ReviewInstanceID(d.ID, k)
	if _, err := w.store.GetReviewInstance(ctx, id); err == nil {
		return nil
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return err
	}
	end := start.AddDate(0, 0, d.Settings.DurationInDays)
	if !end.After(c.Now) {
		start = c.Now.UTC().Truncate(24 * time.Hour)
		end = start.AddDate(0, 0, d.Settings.DurationInDays)
	}
	in := domain.ReviewInstance{ID: id, DefinitionID: d.ID, Occurrence: k, DisplayName: d.DisplayName, Scope: d.Scope,
		Reviewers: d.Reviewers, Fallback: d.FallbackReviewers, Settings: d.Settings, Start: start, End: end, Status: domain.ReviewStarting}
	if err := w.store.CreateReviewInstance(ctx, &in); err != nil && !domain.IsCode(err, domain.CodeConflict) {
		return err
	}
	return nil // the instance is driven from the store's copy, whoever created it
}

// driveInstance moves one instance on as far as it can go in this run.
func (e *Engine) driveInstance(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance, res *ReviewRunResult) error {
	if in.Status == domain.ReviewStarting {
		n, started, err := e.startInstance(ctx, c, w, in)
		res.ItemsWritten += n
		if err != nil {
			return err
		}
		if started {
			res.Started++
		}
	}
	if in.Status == domain.ReviewInProgress {
		if c.Now.Before(in.End) {
			n, err := e.remindReviewers(ctx, c, w, in)
			res.Reminders += n
			return err
		}
		done, err := e.completeInstance(ctx, c, w, in, false)
		if err != nil {
			return err
		}
		if done {
			res.Completed++
		}
	}
	if in.Status == domain.ReviewApplying {
		return e.applyInstance(ctx, c, w, in, res)
	}
	return nil
}

// allItems reads every decision item of an instance.
func allItems(ctx context.Context, rs domain.ReviewStore, instanceID string, each func(domain.ReviewDecision)) error {
	q := domain.ReviewDecisionQuery{InstanceID: instanceID, Limit: 1000}
	for {
		p, err := rs.ListReviewDecisions(ctx, q)
		if err != nil {
			return err
		}
		for _, it := range p.Items {
			each(it)
		}
		if p.Next == "" {
			return nil
		}
		q.Cursor = p.Next
	}
}

// parallel runs f(0..n-1) on up to workers goroutines and returns the first
// error; after an error no new index is started.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// subCall is a copy of c for one worker goroutine: mail queued through it is
// merged back into c by the caller.
func subCall(c *Call) *Call {
	return &Call{Now: c.Now, InvocationID: c.InvocationID, Caller: c.Caller, Log: c.Log}
}

// reviewSchedules lists the live eligible and active assignments in scope:
// activations are covered by their eligibility, and break-glass accounts
// are never reviewed.
func (e *Engine) reviewSchedules(ctx context.Context, c *Call, scope domain.ReviewScope) ([]domain.Schedule, error) {
	var out []domain.Schedule
	for _, kind := range []domain.RequestKind{domain.KindEligibility, domain.KindAssignment} {
		q := domain.ScheduleQuery{Kind: kind, Limit: 1000}
		if scope.Kind == domain.ReviewScopeGroup {
			q.TargetKey = domain.GroupTarget(scope.GroupID, scope.AccessID).Key()
		}
		for {
			p, err := e.store.ListSchedules(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, s := range p.Items {
				if !s.Live(c.Now) || !scope.Covers(s.Target) || e.isBreakGlass(s.PrincipalID) ||
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
	user     domain.User
	exists   bool
	signedIn bool            // a successful sign-in within the look-back
	manager  domain.ObjectID // "" when none is set
}

func (e *Engine) lookupPrincipals(ctx context.Context, c *Call, ids []domain.ObjectID, needManager, needSignIn bool) (map[domain.ObjectID]*principalFacts, error) {
	facts := make([]*principalFacts, len(ids))
	since := c.Now.Add(-domain.RecommendationLookBack)
	err := parallel(len(ids), lookupWorkers, func(i int) error {
		f := &principalFacts{}
		facts[i] = f
		u, err := e.dir.GetUser(ctx, ids[i])
		switch {
		case domain.IsCode(err, domain.CodeNotFound):
			return nil
		case err != nil:
			return err
		}
		f.user, f.exists = u, true
		if needSignIn {
			f.signedIn = u.LastSignIn.After(since)
			if u.LastSignIn.IsZero() && e.cfg.SignIns != nil {
				// The directory did not say (signInActivity needs a licence): ask the sign-in log.
				sis, err := e.cfg.SignIns.SignInsSince(ctx, ids[i], since)
				if err != nil {
					return err
				}
				f.signedIn = slices.ContainsFunc(sis, func(s domain.SignIn) bool { return s.Succeeded })
			}
		}
		if needManager {
			m, err := e.cfg.Reader.GetManager(ctx, ids[i])
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

// recentActivations finds, per principal|target, an activation within the
// look-back (or still running).
func (e *Engine) recentActivations(ctx context.Context, c *Call, targets []domain.Target) (map[string]bool, error) {
	since := c.Now.Add(-domain.RecommendationLookBack)
	out := map[string]bool{}
	for _, t := range targets {
		q := domain.ScheduleQuery{Kind: domain.KindAssignment, TargetKey: t.Key(), IncludeEnded: true, Limit: 1000}
		for {
			p, err := e.store.ListSchedules(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, s := range p.Items {
				if s.AssignmentType == domain.AssignmentActivated && (s.End.IsZero() || s.End.After(since) || s.Start.After(since)) {
					out[domain.GrantKey(s.PrincipalID, t)] = true
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
func (e *Engine) startInstance(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance) (int, bool, error) {
	started := time.Now()
	have := map[string]bool{}
	if err := allItems(ctx, w.store, in.ID, func(it domain.ReviewDecision) { have[it.ID] = true }); err != nil {
		return 0, false, err
	}
	scheds, err := e.reviewSchedules(ctx, c, in.Scope)
	if err != nil {
		return 0, false, err
	}
	todo := slices.DeleteFunc(scheds, func(s domain.Schedule) bool { return have[ReviewDecisionID(in.ID, s.ID)] })
	written := 0
	if len(todo) > 0 {
		items, err := e.buildItems(ctx, c, in, todo)
		if err != nil {
			return 0, false, err
		}
		for i := 0; i < len(items); i += 1000 {
			n, err := w.store.AddReviewDecisions(ctx, in.ID, items[i:min(i+1000, len(items))])
			written += n
			if err != nil {
				return written, false, err
			}
		}
	}
	c.Log.InfoContext(ctx, "access review items written", "instance_id", in.ID, "written", written, "already_there", len(have),
		"ms", time.Since(started).Milliseconds())
	opened, err := e.openInstance(ctx, c, w, in)
	return written, opened, err
}

// buildItems resolves reviewers and recommendations for the schedules.
func (e *Engine) buildItems(ctx context.Context, c *Call, in *domain.ReviewInstance, scheds []domain.Schedule) ([]domain.ReviewDecision, error) {
	needManager := slices.ContainsFunc(in.Reviewers, func(r domain.Reviewer) bool { return r.Kind == domain.ReviewerManager })
	needRec := in.Settings.RecommendationsEnabled || in.Settings.DefaultDecision == domain.DefaultRecommendation
	if needManager && e.cfg.Reader == nil {
		return nil, domain.Errorf(domain.CodeInvalid, "manager reviewers need the directory reader, which this service does not have")
	}
	var ids []domain.ObjectID
	seen := map[domain.ObjectID]bool{}
	var targets []domain.Target
	seenT := map[string]bool{}
	for _, s := range scheds {
		if !seen[s.PrincipalID] {
			seen[s.PrincipalID] = true
			ids = append(ids, s.PrincipalID)
		}
		if s.Kind == domain.KindEligibility && !seenT[s.Target.Key()] {
			seenT[s.Target.Key()] = true
			targets = append(targets, s.Target)
		}
	}
	facts, err := e.lookupPrincipals(ctx, c, ids, needManager, needRec)
	if err != nil {
		return nil, err
	}
	var acts map[string]bool
	if needRec {
		if acts, err = e.recentActivations(ctx, c, targets); err != nil {
			return nil, err
		}
	}
	owners := map[domain.ObjectID][]domain.Reviewer{}
	ownersOf := func(groupID domain.ObjectID) ([]domain.Reviewer, error) {
		if o, ok := owners[groupID]; ok {
			return o, nil
		}
		if e.cfg.Reader == nil {
			return nil, domain.Errorf(domain.CodeInvalid, "group owner reviewers need the directory reader, which this service does not have")
		}
		us, err := e.cfg.Reader.ListGroupOwners(ctx, groupID)
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
	items := make([]domain.ReviewDecision, 0, len(scheds))
	for _, s := range scheds {
		f := facts[s.PrincipalID]
		var primary []domain.Reviewer
		for _, r := range in.Reviewers {
			switch r.Kind {
			case domain.ReviewerSelf:
				primary = append(primary, domain.Reviewer{Kind: domain.ReviewerUser, ID: s.PrincipalID})
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
		self := domain.Reviewer{Kind: domain.ReviewerUser, ID: s.PrincipalID}
		reviewers, fallback := dedupeReviewers(primary), false
		others := slices.DeleteFunc(append(slices.Clone(reviewers), named...), func(r domain.Reviewer) bool { return r.Key() == self.Key() })
		if len(others) == 0 && !in.SelfReview() && len(in.Fallback) > 0 {
			// Nobody but the holder (who may not approve their own access), or nobody at all.
			reviewers, fallback = dedupeReviewers(append(reviewers, in.Fallback...)), true
		}
		it := domain.ReviewDecision{ID: ReviewDecisionID(in.ID, s.ID), InstanceID: in.ID, DefinitionID: in.DefinitionID, ScheduleID: s.ID,
			Kind: s.Kind, PrincipalID: s.PrincipalID, PrincipalName: f.user.DisplayName, PrincipalUPN: f.user.UserPrincipalName,
			Target: s.Target, ScheduleEnd: s.End, Reviewers: reviewers, Fallback: fallback, Decision: domain.ReviewNotReviewed,
			Recommendation: domain.RecommendationNotAvailable}
		if needRec {
			switch {
			case !f.exists:
				it.Recommendation, it.RecommendationReason = domain.ReviewDeny, "the account no longer exists"
			case !f.user.Enabled:
				it.Recommendation, it.RecommendationReason = domain.ReviewDeny, "the account is disabled"
			case f.signedIn && acts[domain.GrantKey(s.PrincipalID, s.Target)]:
				it.Recommendation, it.RecommendationReason = domain.ReviewApprove, "signed in and activated within the last 30 days"
			case f.signedIn:
				it.Recommendation, it.RecommendationReason = domain.ReviewApprove, "signed in within the last 30 days"
			case acts[domain.GrantKey(s.PrincipalID, s.Target)]:
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
type itemStats struct {
	total, noReviewer, denyRecommended int
	// pending maps each reviewing user to the items waiting on them.
	pending map[domain.ObjectID]int
}

// expand turns reviewers into user ids (groups through their members),
// caching group expansions.
func (e *Engine) expand(ctx context.Context, groups map[domain.ObjectID][]domain.ObjectID, rs []domain.Reviewer) ([]domain.ObjectID, error) {
	var out []domain.ObjectID
	for _, r := range rs {
		if r.Kind == domain.ReviewerUser {
			out = append(out, r.ID)
			continue
		}
		ms, ok := groups[r.ID]
		if !ok {
			us, err := e.dir.ListGroupMembers(ctx, r.ID)
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
func (e *Engine) stats(ctx context.Context, w reviewWiring, in *domain.ReviewInstance) (itemStats, error) {
	st := itemStats{pending: map[domain.ObjectID]int{}}
	groups := map[domain.ObjectID][]domain.ObjectID{}
	named := namedReviewers(*in)
	namedPending := 0
	var ferr error
	err := allItems(ctx, w.store, in.ID, func(it domain.ReviewDecision) {
		st.total++
		if len(it.Reviewers) == 0 && len(named) == 0 {
			st.noReviewer++
		}
		if it.Recommendation == domain.ReviewDeny {
			st.denyRecommended++
		}
		if !it.Defaulted() || ferr != nil {
			return
		}
		namedPending++
		users, err := e.expand(ctx, groups, it.Reviewers)
		if err != nil {
			ferr = err
			return
		}
		for _, u := range users {
			st.pending[u]++
		}
	})
	if err == nil {
		err = ferr
	}
	if err != nil || namedPending == 0 {
		return st, err
	}
	users, err := e.expand(ctx, groups, named)
	for _, u := range users {
		st.pending[u] += namedPending
	}
	return st, err
}

// mailReviewers queues one mail per reviewer with unanswered items, under
// a key, so a repeated run queues nothing new.
func (e *Engine) mailReviewers(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance, st itemStats, kind notify.Kind, key string) int {
	n := 0
	users := make([]domain.ObjectID, 0, len(st.pending))
	for u := range st.pending {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		addr, _ := e.addressOf(ctx, u)
		d := notify.Data{Kind: kind, TargetName: in.DisplayName, Start: in.Start, End: in.End,
			Reason: fmt.Sprintf("%d assignment(s) of %s wait for your decision.", st.pending[u], in.Scope)}
		if w.link != nil {
			link, err := w.link(in.DefinitionID, in.ID, u, in.End)
			if err != nil {
				c.Log.ErrorContext(ctx, "review link failed", "error", err)
			}
			d.Link = link
		}
		e.queueMail(ctx, c, "review:"+in.ID+":"+key+":"+string(u), []string{addr}, d)
		n++
	}
	return n
}

// loud reports whether the instance removes access nobody decided on.
func loud(in *domain.ReviewInstance, denyRecommended int) bool {
	return domain.AutoDenies(in.Settings) ||
		(in.Settings.AutoApply && in.Settings.DefaultDecision == domain.DefaultRecommendation && denyRecommended > 0)
}

// openInstance mails the reviewers (and, for an auto-deny review, the
// admins, with an alert), then moves the instance from Starting to
// InProgress. The mails and the alert are idempotent and come first, so a
// crash between them and the status change loses nothing; the start is
// audited once, by the run that changes the status.
func (e *Engine) openInstance(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance) (bool, error) {
	st, err := e.stats(ctx, w, in)
	if err != nil {
		return false, err
	}
	if in.Settings.MailEnabled {
		e.mailReviewers(ctx, c, w, in, st, notify.ReviewNeeded, "start")
	}
	warn := ""
	if loud(in, st.denyRecommended) {
		warn = fmt.Sprintf("Access review %q covers %d assignment(s); every one nobody answers by %s is REMOVED automatically (default %s, auto-apply on; %d recommended Deny).",
			in.DisplayName, st.total, in.End.UTC().Format(time.RFC3339), in.Settings.DefaultDecision, st.denyRecommended)
		e.reviewAlarm(ctx, c, in, notify.ReviewAutoDenyArmed, "armed", warn)
	}
	opened := false
	err = retry(func() error {
		cur, err := w.store.GetReviewInstance(ctx, in.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ReviewStarting {
			*in = cur
			return nil
		}
		cur.Status, cur.StartedAt = domain.ReviewInProgress, c.Now
		cur.ItemCount, cur.NoReviewerCount, cur.DenyRecommended = st.total, st.noReviewer, st.denyRecommended
		if err := w.store.UpdateReviewInstance(ctx, &cur); err != nil {
			return stale(err)
		}
		*in, opened = cur, true
		return nil
	})
	if err != nil || !opened {
		return false, err
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "review.start", Category: "Governance", Reason: warn, Details: map[string]string{
		"instance_id": in.ID, "definition_id": in.DefinitionID, "name": in.DisplayName, "items": strconv.Itoa(st.total),
		"items_without_reviewer": strconv.Itoa(st.noReviewer), "deny_recommended": strconv.Itoa(st.denyRecommended),
		"reviewers": strconv.Itoa(len(st.pending)), "default_decision": in.Settings.DefaultDecision,
		"auto_apply": strconv.FormatBool(in.Settings.AutoApply), "end": in.End.UTC().Format(time.RFC3339)}})
	c.Log.InfoContext(ctx, "access review started", "instance_id", in.ID, "items", st.total, "auto_deny", warn != "")
	return true, nil
}

// reviewAlarm makes a dangerous review loud: a mail to the admins (once per
// key) and an incident on the AccessReviewAutoDeny alert (raised once per
// instance and stage; a new incident is audited and re-opens the alert).
func (e *Engine) reviewAlarm(ctx context.Context, c *Call, in *domain.ReviewInstance, kind notify.Kind, key, text string) {
	e.queueMail(ctx, c, "review:"+in.ID+":"+key, e.adminAddresses(ctx, c), notify.Data{Kind: kind, TargetName: in.DisplayName, Start: in.Start, End: in.End, Reason: text})
	inc := domain.AlertIncident{ID: "review:" + in.ID + ":" + key, Description: text,
		Details: map[string]string{"instance_id": in.ID, "definition_id": in.DefinitionID, "stage": key, "end": in.End.UTC().Format(time.RFC3339)}}
	if err := e.RaiseAlert(ctx, c, domain.AlertAccessReviewAutoDeny, "", []domain.AlertIncident{inc}); err != nil {
		c.Log.ErrorContext(ctx, "raising the access review alert failed", "instance_id", in.ID, "error", err)
	}
}

// remindReviewers mails reviewers with unanswered items at the half-way
// point and a day before the end (for reviews of three days or more).
func (e *Engine) remindReviewers(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance) (int, error) {
	if !in.Settings.RemindersEnabled || !in.Settings.MailEnabled {
		return 0, nil
	}
	due := 0
	if !c.Now.Before(in.Start.Add(in.End.Sub(in.Start) / 2)) {
		due = 1
	}
	if in.End.Sub(in.Start) >= 72*time.Hour && !c.Now.Before(in.End.Add(-24*time.Hour)) {
		due = 2
	}
	if due <= in.RemindersSent {
		return 0, nil
	}
	st, err := e.stats(ctx, w, in)
	if err != nil {
		return 0, err
	}
	n := e.mailReviewers(ctx, c, w, in, st, notify.ReviewReminder, "remind"+strconv.Itoa(due))
	err = retry(func() error {
		cur, err := w.store.GetReviewInstance(ctx, in.ID)
		if err != nil || cur.Status != domain.ReviewInProgress || cur.RemindersSent >= due {
			return err
		}
		cur.RemindersSent = due
		if err := w.store.UpdateReviewInstance(ctx, &cur); err != nil {
			return stale(err)
		}
		*in = cur
		return nil
	})
	return n, err
}

// completeInstance ends an instance in progress: its decisions are final
// from now on. With auto-apply it goes straight to Applying. stop marks an
// early end by an admin. It reports whether this call ended it.
func (e *Engine) completeInstance(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance, stop bool) (bool, error) {
	done := false
	err := retry(func() error {
		cur, err := w.store.GetReviewInstance(ctx, in.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ReviewInProgress {
			*in = cur
			return nil
		}
		cur.Status, cur.CompletedAt, cur.CompletedBy = domain.ReviewCompleted, c.Now, c.Caller.ID
		if cur.Settings.AutoApply {
			cur.Status = domain.ReviewApplying
		}
		if stop && c.Now.Before(cur.End) {
			cur.End = c.Now
		}
		if err := w.store.UpdateReviewInstance(ctx, &cur); err != nil {
			return stale(err)
		}
		*in, done = cur, true
		return nil
	})
	if err != nil || !done {
		return false, err
	}
	action := "review.complete"
	if stop {
		action = "review.stop"
	}
	e.audit(ctx, c, domain.AuditRecord{Action: action, Category: "Governance", Details: map[string]string{
		"instance_id": in.ID, "definition_id": in.DefinitionID, "name": in.DisplayName, "status": in.Status}})
	return true, nil
}

// applyInstance carries out the final Deny decisions of an Applying
// instance: each one is an adminRemove request by jitpim, with an id
// derived from the item, so a repeated or concurrent apply removes once.
// Items already applied are skipped; failures stay for the next run. The
// instance becomes Applied when every removal has landed.
func (e *Engine) applyInstance(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance, res *ReviewRunResult) error {
	if in.Status != domain.ReviewApplying {
		return nil
	}
	var todo []domain.ReviewDecision
	defaulted, removedBefore := 0, 0
	if err := allItems(ctx, w.store, in.ID, func(it domain.ReviewDecision) {
		if it.Final(in.Settings) != domain.ReviewDeny {
			return
		}
		if it.Defaulted() {
			defaulted++
		}
		switch it.ApplyResult {
		case domain.ApplySuccess, domain.ApplyNotFound, domain.ApplyNotSupported:
			removedBefore++
		default:
			todo = append(todo, it)
		}
	}); err != nil {
		return err
	}
	if defaulted > 0 {
		total := removedBefore + len(todo)
		text := fmt.Sprintf("%d assignment(s) are removed: %d because nobody answered (default %s) and %d denied by reviewers.",
			total, defaulted, in.Settings.DefaultDecision, total-defaulted)
		e.reviewAlarm(ctx, c, in, notify.ReviewApplying, "applying", text)
	}
	var removed, failed atomic.Int64
	var mu sync.Mutex
	var queued []string
	err := parallel(len(todo), applyWorkers, func(i int) error {
		wc := subCall(c)
		ok, err := e.applyItem(ctx, wc, w, in, todo[i])
		if err != nil {
			return err
		}
		if ok {
			removed.Add(1)
		} else {
			failed.Add(1)
		}
		mu.Lock()
		queued = append(queued, wc.queued...)
		mu.Unlock()
		return nil
	})
	c.queued = append(c.queued, queued...)
	if res != nil {
		res.Removed += int(removed.Load())
		res.ApplyFailures += int(failed.Load())
	}
	if err != nil {
		return err
	}
	if failed.Load() > 0 {
		return domain.Errorf(domain.CodeTransient, "%d removal(s) failed; the next run retries them", failed.Load())
	}
	applied := false
	err = retry(func() error {
		cur, err := w.store.GetReviewInstance(ctx, in.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ReviewApplying {
			*in = cur
			return nil
		}
		cur.Status, cur.AppliedAt = domain.ReviewApplied, c.Now
		cur.Removed, cur.ApplyFailures = removedBefore+int(removed.Load()), 0
		if err := w.store.UpdateReviewInstance(ctx, &cur); err != nil {
			return stale(err)
		}
		*in, applied = cur, true
		return nil
	})
	if err != nil || !applied {
		return err
	}
	if res != nil {
		res.Applied++
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "review.apply", Category: "Governance", Details: map[string]string{
		"instance_id": in.ID, "definition_id": in.DefinitionID, "name": in.DisplayName, "removed": strconv.Itoa(in.Removed),
		"defaulted_to_deny": strconv.Itoa(defaulted), "default_decision": in.Settings.DefaultDecision}})
	c.Log.InfoContext(ctx, "access review applied", "instance_id", in.ID, "removed", in.Removed)
	return nil
}

// applyItem removes one denied assignment through the request path and
// records the outcome on the item. It reports false for a removal that
// failed (recorded, retried by the next run); err is a failure to read or
// record.
func (e *Engine) applyItem(ctx context.Context, c *Call, w reviewWiring, in *domain.ReviewInstance, it domain.ReviewDecision) (bool, error) {
	result, reqID, applyErr := domain.ApplySuccess, RequestID(SystemActor, "review:"+in.ID+":"+it.ID), ""
	why := "denied by " + string(it.ReviewedBy)
	if it.Defaulted() {
		why = "nobody answered; the default decision is " + in.Settings.DefaultDecision
		if in.Settings.DefaultDecision == domain.DefaultRecommendation {
			why += " (" + it.RecommendationReason + ")"
		}
	}
	reason := fmt.Sprintf("access review %q: %s", in.DisplayName, why)
	if e.isBreakGlass(it.PrincipalID) {
		result = domain.ApplyNotSupported
	} else {
		r := domain.Request{ID: reqID, Kind: it.Kind, Action: domain.ActionAdminRemove, PrincipalID: it.PrincipalID, Target: it.Target,
			Justification: clip(reason, domain.MaxJustification), Status: domain.StatusNew, CreatedBy: SystemActor, CreatedAt: c.Now, TargetScheduleID: it.ScheduleID}
		err := e.remove(ctx, c, &r, false)
		switch {
		case err == nil:
		case domain.IsCode(err, domain.CodeConflict) || domain.IsCode(err, domain.CodeNotFound):
			// A run before this one (or beside it) made the request; make sure its removal finished.
			prev, gerr := e.store.GetRequest(ctx, reqID)
			if domain.IsCode(gerr, domain.CodeNotFound) {
				if domain.IsCode(err, domain.CodeNotFound) {
					result = domain.ApplyNotFound // the assignment had already ended
					break
				}
				return false, err
			} else if gerr != nil {
				return false, gerr
			}
			if prev.Status == domain.StatusPendingProvisioning {
				// The other run's removal waits for the directory: help it finish;
				// if the directory still has not confirmed, the sweep completes it.
				if err := e.resumeRemoval(ctx, c, &prev); err != nil {
					result, applyErr = domain.ApplyFailed, err.Error()
				}
				break
			}
			if prev.Status != domain.StatusRevoked {
				result, applyErr = domain.ApplyFailed, "the removal request is "+string(prev.Status)
				break
			}
			if s, serr := e.store.GetSchedule(ctx, it.ScheduleID); serr == nil && s.Status == domain.ScheduleProvisioned {
				if err := e.EndSchedule(ctx, c, s, domain.ScheduleRevoked, reason); err != nil {
					result, applyErr = domain.ApplyFailed, err.Error()
				}
			} else if serr != nil && !domain.IsCode(serr, domain.CodeNotFound) {
				return false, serr
			}
		default:
			result, applyErr = domain.ApplyFailed, err.Error()
		}
	}
	err := retry(func() error {
		cur, err := w.store.GetReviewDecision(ctx, in.ID, it.ID)
		if err != nil {
			return err
		}
		if cur.ApplyResult == domain.ApplySuccess || cur.ApplyResult == domain.ApplyNotFound {
			return nil // a concurrent apply recorded it
		}
		cur.ApplyResult, cur.AppliedAt, cur.ApplyRequestID, cur.ApplyError = result, c.Now, reqID, clip(applyErr, 1000)
		if result == domain.ApplyNotSupported || result == domain.ApplyNotFound {
			cur.ApplyRequestID = ""
		}
		return stale(w.store.UpdateReviewDecision(ctx, &cur))
	})
	if err != nil {
		return false, err
	}
	if result == domain.ApplyFailed {
		c.Log.WarnContext(ctx, "access review removal failed; the next run retries", "item_id", it.ID, "error", applyErr)
		return false, nil
	}
	if result == domain.ApplySuccess {
		addr, name := e.addressOf(ctx, it.PrincipalID)
		e.queueMail(ctx, c, "review:"+in.ID+":removed:"+it.ID, []string{addr}, notify.Data{Kind: notify.ReviewAccessRemoved,
			PrincipalName: name, TargetName: domain.TargetName(it.Target), Actor: in.DisplayName, Reason: capitalize(why) + "."})
	}
	return true, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
