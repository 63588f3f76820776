package review

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/notify"
)

// --- the timer -----------------------------------------------------------------

// RunResult counts what one accessReviews timer run did.
type RunResult struct {
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
func (svc *Service) RunReviews(ctx context.Context, c *engine.Call) (RunResult, error) {
	var res RunResult
	err := svc.on()
	if err != nil {
		return res, err
	}
	defs, err := svc.reviews.ListReviewDefinitions(ctx)
	if err != nil {
		return res, err
	}
	for _, d := range defs {
		if !d.Deleted {
			if err := svc.ensureDueInstance(ctx, c, d); err != nil {
				res.Errors++
				c.Log.ErrorContext(ctx, "starting an access review failed", "definition_id", d.ID, "error", err)
			}
		}
		insts, err := svc.reviews.ListReviewInstances(ctx, d.ID)
		if err != nil {
			res.Errors++
			continue
		}
		for _, in := range insts {
			if err := svc.driveInstance(ctx, c, &in, &res); err != nil {
				res.Errors++
				c.Log.ErrorContext(ctx, "access review step failed; the next run continues", "instance_id", in.ID, "status", in.Status, "error", err)
			}
		}
	}
	if _, err := svc.eng.DeliverMail(ctx, c); err != nil {
		res.Errors++
	}
	if res != (RunResult{}) {
		if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "timer.accessReviews", Category: "Governance", Details: map[string]string{
			"started": fmt.Sprint(res.Started), "items_written": fmt.Sprint(res.ItemsWritten), "completed": fmt.Sprint(res.Completed),
			"applied": fmt.Sprint(res.Applied), "removed": fmt.Sprint(res.Removed), "apply_failures": fmt.Sprint(res.ApplyFailures),
			"reminders": fmt.Sprint(res.Reminders), "errors": fmt.Sprint(res.Errors)}}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ensureDueInstance creates the instance of the newest occurrence that has
// started, when it does not exist yet. An occurrence whose whole window
// passed without a run (the timer was down) still runs, for its full
// length from today: a missed review must not silently keep access.
func (svc *Service) ensureDueInstance(ctx context.Context, c *engine.Call, d domain.ReviewDefinition) error {
	k, start, ok := d.Settings.Recurrence.Due(c.Now)
	if !ok {
		return nil
	}
	id := OccurrenceID(d, k)
	if _, err := svc.reviews.GetReviewInstance(ctx, id); err == nil {
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
	if err := svc.reviews.CreateReviewInstance(ctx, &in); err != nil && !domain.IsCode(err, domain.CodeConflict) {
		return err
	}
	return nil // the instance is driven from the store's copy, whoever created it
}

// driveInstance moves one instance on as far as it can go in this run.
func (svc *Service) driveInstance(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, res *RunResult) error {
	if in.Status == domain.ReviewStarting {
		n, started, err := svc.startInstance(ctx, c, in)
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
			n, err := svc.remindReviewers(ctx, c, in)
			res.Reminders += n
			return err
		}
		done, err := svc.completeInstance(ctx, c, in, false)
		if err != nil {
			return err
		}
		if done {
			res.Completed++
		}
	}
	if in.Status == domain.ReviewApplying {
		return svc.applyInstance(ctx, c, in, res)
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

type itemStats struct {
	total, noReviewer, denyRecommended int
	// pending maps each reviewing user to the items waiting on them.
	pending map[domain.ObjectID]int
}

// expand turns reviewers into user ids (groups through their members),
// caching group expansions.
func (svc *Service) stats(ctx context.Context, in *domain.ReviewInstance) (itemStats, error) {
	st := itemStats{pending: map[domain.ObjectID]int{}}
	groups := map[domain.ObjectID][]domain.ObjectID{}
	named := namedReviewers(*in)
	namedPending := 0
	var ferr error
	err := allItems(ctx, svc.reviews, in.ID, func(it domain.ReviewDecision) {
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
		users, err := svc.expand(ctx, groups, it.Reviewers)
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
	users, err := svc.expand(ctx, groups, named)
	for _, u := range users {
		st.pending[u] += namedPending
	}
	return st, err
}

// mailReviewers queues one mail per reviewer with unanswered items, under
// a key, so a repeated run queues nothing new.
func (svc *Service) mailReviewers(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, st itemStats, kind notify.Kind, key string) int {
	n := 0
	users := make([]domain.ObjectID, 0, len(st.pending))
	for u := range st.pending {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		addr, _ := svc.eng.AddressOf(ctx, u)
		d := notify.Data{Kind: kind, TargetName: in.DisplayName, Start: in.Start, End: in.End,
			Reason: fmt.Sprintf("%d assignment(s) of %s wait for your decision.", st.pending[u], svc.scopeName(ctx, in.Scope))}
		if svc.links != nil {
			link, err := svc.links.ReviewLink(in.DefinitionID, in.ID, u, in.End)
			if err != nil {
				c.Log.ErrorContext(ctx, "review link failed", "error", err)
			}
			d.Link = link
		}
		svc.eng.QueueMail(ctx, c, "review:"+in.ID+":"+key+":"+string(u), []string{addr}, d)
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
func (svc *Service) openInstance(ctx context.Context, c *engine.Call, in *domain.ReviewInstance) (bool, error) {
	st, err := svc.stats(ctx, in)
	if err != nil {
		return false, err
	}
	if in.Settings.MailEnabled {
		svc.mailReviewers(ctx, c, in, st, notify.ReviewNeeded, "start")
	}
	warn := ""
	if loud(in, st.denyRecommended) {
		warn = fmt.Sprintf("Access review %q covers %d assignment(s); every one nobody answers by %s is REMOVED automatically (default %s, auto-apply on; %d recommended Deny).",
			in.DisplayName, st.total, in.End.UTC().Format(time.RFC3339), in.Settings.DefaultDecision, st.denyRecommended)
		svc.reviewAlarm(ctx, c, in, notify.ReviewAutoDenyArmed, "armed", warn)
	}
	opened := false
	err = engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewInstance(ctx, in.ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.ReviewStarting {
			*in = cur
			return nil
		}
		cur.Status, cur.StartedAt = domain.ReviewInProgress, c.Now
		cur.ItemCount, cur.NoReviewerCount, cur.DenyRecommended = st.total, st.noReviewer, st.denyRecommended
		if err := svc.reviews.UpdateReviewInstance(ctx, &cur); err != nil {
			return engine.Stale(err)
		}
		*in, opened = cur, true
		return nil
	})
	if err != nil || !opened {
		return false, err
	}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "review.start", Category: "Governance", Reason: warn, Details: map[string]string{
		"instance_id": in.ID, "definition_id": in.DefinitionID, "name": in.DisplayName, "items": strconv.Itoa(st.total),
		"items_without_reviewer": strconv.Itoa(st.noReviewer), "deny_recommended": strconv.Itoa(st.denyRecommended),
		"reviewers": strconv.Itoa(len(st.pending)), "default_decision": in.Settings.DefaultDecision,
		"auto_apply": strconv.FormatBool(in.Settings.AutoApply), "end": in.End.UTC().Format(time.RFC3339)}}); err != nil {
		return true, err
	}
	c.Log.InfoContext(ctx, "access review started", "instance_id", in.ID, "items", st.total, "auto_deny", warn != "")
	return true, nil
}

// reviewAlarm makes a dangerous review loud: a mail to the admins (once per
// key) and an incident on the AccessReviewAutoDeny alert (raised once per
// instance and stage; a new incident is audited and re-opens the alert).
func (svc *Service) reviewAlarm(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, kind notify.Kind, key, text string) {
	svc.eng.QueueMail(ctx, c, "review:"+in.ID+":"+key, svc.eng.AdminAddresses(ctx, c), notify.Data{Kind: kind, TargetName: in.DisplayName, Start: in.Start, End: in.End, Reason: text})
	inc := domain.AlertIncident{ID: "review:" + in.ID + ":" + key, Description: text,
		Details: map[string]string{"instance_id": in.ID, "definition_id": in.DefinitionID, "stage": key, "end": in.End.UTC().Format(time.RFC3339)}}
	if err := svc.raise(ctx, c, domain.AlertAccessReviewAutoDeny, "", []domain.AlertIncident{inc}); err != nil {
		c.Log.ErrorContext(ctx, "raising the access review alert failed", "instance_id", in.ID, "error", err)
	}
}

// remindReviewers mails reviewers with unanswered items at the half-way
// point and a day before the end (for reviews of three days or more).
func (svc *Service) remindReviewers(ctx context.Context, c *engine.Call, in *domain.ReviewInstance) (int, error) {
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
	st, err := svc.stats(ctx, in)
	if err != nil {
		return 0, err
	}
	n := svc.mailReviewers(ctx, c, in, st, notify.ReviewReminder, "remind"+strconv.Itoa(due))
	err = engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewInstance(ctx, in.ID)
		if err != nil || cur.Status != domain.ReviewInProgress || cur.RemindersSent >= due {
			return err
		}
		cur.RemindersSent = due
		if err := svc.reviews.UpdateReviewInstance(ctx, &cur); err != nil {
			return engine.Stale(err)
		}
		*in = cur
		return nil
	})
	return n, err
}

// completeInstance ends an instance in progress: its decisions are final
// from now on. With auto-apply it goes straight to Applying. stop marks an
// early end by an admin. It reports whether this call ended it.
func (svc *Service) completeInstance(ctx context.Context, c *engine.Call, in *domain.ReviewInstance, stop bool) (bool, error) {
	done := false
	err := engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewInstance(ctx, in.ID)
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
		if err := svc.reviews.UpdateReviewInstance(ctx, &cur); err != nil {
			return engine.Stale(err)
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
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: action, Category: "Governance", Details: map[string]string{
		"instance_id": in.ID, "definition_id": in.DefinitionID, "name": in.DisplayName, "status": in.Status}}); err != nil {
		return true, err
	}
	return true, nil
}

// applyInstance carries out the final Deny decisions of an Applying
// instance: each one is an adminRemove request by jitpim, with an id
// derived from the item, so a repeated or concurrent apply removes once.
// Items already applied are skipped; failures stay for the next run. The
// instance becomes Applied when every removal has landed.

// scopeName names what a review covers for its mails, by the role's or
// group's display name.
func (svc *Service) scopeName(ctx context.Context, s domain.ReviewScope) string {
	switch s.Kind {
	case domain.ReviewScopeRole:
		return svc.eng.Names().Target(ctx, domain.RoleTarget(s.RoleDefinitionID, domain.TenantScope)) + " (every directory scope)"
	case domain.ReviewScopeGroup:
		return svc.eng.Names().Target(ctx, domain.GroupTarget(s.GroupID, s.AccessID))
	case domain.ReviewScopeAzureRole:
		return svc.eng.Names().Target(ctx, domain.AzureRoleTarget(s.RoleDefinitionID, s.ResourceScope))
	}
	return s.String()
}
