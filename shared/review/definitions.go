// Package review runs jitpim's access reviews, as Graph's
// accessReviewScheduleDefinition, instances and decisions: definitions
// (definitions.go), reviewers' decisions through the API and the mailed
// pages (decisions.go), the daily timer (timer.go) that starts instances
// (start.go), reminds, completes and applies them (apply.go).
//
// Everything the timer does is idempotent and resumable. Instance ids are
// derived from the definition and the occurrence, decision item ids from
// the instance and the schedule, and removal request ids from the instance
// and the item; the store creates each once. A run that dies half-way
// leaves the instance Starting or Applying, and the next run finishes it.
// Denied items are removed through the normal request path: an adminRemove
// request by jitpim, audited like any other.
package review

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// Service runs access reviews: definitions, the daily timer that starts,
// completes and applies their instances, and reviewers' decisions. Denied
// items are removed through the request engine's normal removal path.
type Service struct {
	eng        *engine.Engine
	reviews    domain.ReviewStore
	store      domain.Store
	dir        domain.Directory
	reader     domain.DirectoryReader
	signIns    domain.SignInLog
	alarm      domain.Alarm
	links      Links
	breakGlass domain.BreakGlass
}

// Links makes the personal link a reviewer's mail carries: a signed token
// for one reviewer and one instance, behind which a page shows the
// reviewer's items. It never decides anything by itself.
type Links interface {
	ReviewLink(definitionID, instanceID string, reviewerID domain.ObjectID, expires time.Time) (string, error)
}

// Deps are the service's collaborators. Reviews may be nil (the API then
// answers that access reviews are not configured); Reader, SignIns, Alarm
// and Links may be nil (manager and group-owner reviewers are refused,
// recommendations use what the directory gives, nothing is raised, mails
// go without links).
type Deps struct {
	Engine    *engine.Engine
	Reviews   domain.ReviewStore
	Store     domain.Store
	Directory domain.Directory
	Reader    domain.DirectoryReader
	SignIns   domain.SignInLog
	Alarm     domain.Alarm
	Links     Links
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{eng: d.Engine, reviews: d.Reviews, store: d.Store, dir: d.Directory, reader: d.Reader, signIns: d.SignIns,
		alarm: d.Alarm, links: d.Links, breakGlass: d.Engine.Config().BreakGlass}
}

func (svc *Service) on() error {
	if svc == nil || svc.reviews == nil {
		return domain.Errorf(domain.CodeNotFound, "access reviews are not configured on this service")
	}
	return nil
}

// raise raises an alert incident through the alarm; failures are the
// caller's to log.
func (svc *Service) raise(ctx context.Context, c *engine.Call, definitionID, severity string, incs []domain.AlertIncident) error {
	if svc.alarm == nil {
		return nil
	}
	return svc.alarm.RaiseAlert(ctx, domain.AlertRaise{Now: c.Now, InvocationID: c.InvocationID, ActorID: c.Caller.ID,
		DefinitionID: definitionID, Severity: severity, Incidents: incs})
}

var reviewNamespace = uuid.MustParse("5d2c7a0e-8f9b-4e61-a3c4-2b7f1e9d6c50")

// InstanceID is the id of occurrence k of a definition: a duplicated
// timer run finds the instance the first one created.
func InstanceID(definitionID string, k int) string {
	return uuid.NewSHA1(reviewNamespace, []byte("instance\x00"+definitionID+"\x00"+strconv.Itoa(k))).String()
}

// OccurrenceID is the id of occurrence k of d's current recurrence: the
// first series keeps InstanceID's ids, a changed one gets its own.
func OccurrenceID(d domain.ReviewDefinition, k int) string {
	if n := d.Settings.Recurrence.Series; n > 0 {
		return InstanceID(d.ID+"\x00series"+strconv.Itoa(n), k)
	}
	return InstanceID(d.ID, k)
}

// DecisionID is the id of the decision item of a schedule in an instance.
func DecisionID(instanceID, scheduleID string) string {
	return uuid.NewSHA1(reviewNamespace, []byte("item\x00"+instanceID+"\x00"+scheduleID)).String()
}

// lookupWorkers bounds the directory lookups run at once; applyWorkers the
// removals (each appends to the one audit chain, so more of them mostly
// contend: measured on Azurite, 16 workers were slower than 4).
const (
	lookupWorkers = 16
	applyWorkers  = 4
)

// Warnings says, in words meant to be read, what happens to items
// nobody answers: the API shows it on definitions and instances.
func Warnings(s domain.ReviewSettings) []string {
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
func (svc *Service) CreateReviewDefinition(ctx context.Context, c *engine.Call, d domain.ReviewDefinition) (domain.ReviewDefinition, error) {
	err := svc.on()
	if err != nil {
		return d, err
	}
	if err := svc.eng.RequireAdminWrite(ctx, c, "creating access reviews"); err != nil {
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
		if (r.Kind == domain.ReviewerManager || r.Kind == domain.ReviewerGroupOwners) && svc.reader == nil {
			return d, domain.Invalid("reviewers", "%s reviewers need the directory reader, which this service does not have", r.Kind)
		}
	}
	for _, r := range append(slices.Clone(d.Reviewers), d.FallbackReviewers...) {
		if r.Kind != domain.ReviewerUser {
			continue
		}
		if _, err := svc.dir.GetUser(ctx, r.ID); domain.IsCode(err, domain.CodeNotFound) {
			return d, domain.Invalid("reviewers", "user %s does not exist in the directory", r.ID)
		} else if err != nil {
			return d, err
		}
	}
	if err := svc.reviews.CreateReviewDefinition(ctx, &d); err != nil {
		return d, err
	}
	details := map[string]string{"definition_id": d.ID, "scope": d.Scope.String(), "default_decision": d.Settings.DefaultDecision,
		"auto_apply": strconv.FormatBool(d.Settings.AutoApply), "reviewers": reviewerList(d.Reviewers), "fallback": reviewerList(d.FallbackReviewers),
		"recurrence": fmt.Sprintf("%s/%d", d.Settings.Recurrence.Type, d.Settings.Recurrence.Interval), "duration_days": strconv.Itoa(d.Settings.DurationInDays)}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "review.definition.create", Category: "Governance", Reason: strings.Join(Warnings(d.Settings), " "), Details: details}); err != nil {
		return d, err
	}
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
func (svc *Service) GetReviewDefinition(ctx context.Context, c *engine.Call, id string) (domain.ReviewDefinition, error) {
	err := svc.on()
	if err != nil {
		return domain.ReviewDefinition{}, err
	}
	if err := svc.eng.RequireAdmin(ctx, c, "reading access review definitions"); err != nil {
		return domain.ReviewDefinition{}, err
	}
	d, err := svc.reviews.GetReviewDefinition(ctx, id)
	if err != nil || d.Deleted {
		return domain.ReviewDefinition{}, domain.Errorf(domain.CodeNotFound, "access review definition %s does not exist", id)
	}
	return d, nil
}

// ListReviewDefinitions lists the definitions not deleted; admins only.
func (svc *Service) ListReviewDefinitions(ctx context.Context, c *engine.Call) ([]domain.ReviewDefinition, error) {
	err := svc.on()
	if err != nil {
		return nil, err
	}
	if err := svc.eng.RequireAdmin(ctx, c, "listing access review definitions"); err != nil {
		return nil, err
	}
	all, err := svc.reviews.ListReviewDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(d domain.ReviewDefinition) bool { return d.Deleted }), nil
}

// DeleteReviewDefinition deletes a definition: it starts nothing more, and
// its instances that have not begun applying are canceled with nothing
// applied. The definition is kept, marked deleted, for the record.
func (svc *Service) DeleteReviewDefinition(ctx context.Context, c *engine.Call, id string) error {
	err := svc.on()
	if err != nil {
		return err
	}
	if err := svc.eng.RequireAdminWrite(ctx, c, "deleting an access review"); err != nil {
		return err
	}
	d, err := svc.GetReviewDefinition(ctx, c, id)
	if err != nil {
		return err
	}
	if err := engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewDefinition(ctx, id)
		if err != nil {
			return err
		}
		if cur.Deleted {
			return domain.Errorf(domain.CodeNotFound, "access review definition %s does not exist", id)
		}
		cur.Deleted, cur.DeletedBy, cur.DeletedAt, cur.ModifiedAt = true, c.Caller.ID, c.Now, c.Now
		return engine.Stale(svc.reviews.UpdateReviewDefinition(ctx, &cur))
	}); err != nil {
		return err
	}
	insts, err := svc.reviews.ListReviewInstances(ctx, id)
	if err != nil {
		return err
	}
	canceled := 0
	for _, in := range insts {
		err := engine.Retry(func() error {
			cur, err := svc.reviews.GetReviewInstance(ctx, in.ID)
			if err != nil {
				return err
			}
			if cur.Status != domain.ReviewStarting && cur.Status != domain.ReviewInProgress && cur.Status != domain.ReviewCompleted {
				return nil
			}
			cur.Status, cur.CompletedAt, cur.CompletedBy = domain.ReviewCanceled, c.Now, c.Caller.ID
			if err := svc.reviews.UpdateReviewInstance(ctx, &cur); err != nil {
				return engine.Stale(err)
			}
			canceled++
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "review.definition.delete", Category: "Governance", Reason: d.DisplayName,
		Details: map[string]string{"definition_id": id, "instances_canceled": strconv.Itoa(canceled)}}); err != nil {
		return err
	}
	return nil
}
