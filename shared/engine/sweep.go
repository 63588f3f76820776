package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/jitpim/jitpim/shared/domain"
)

// RevokeAlertAfter is how many failed attempts at removing access raise a
// high-severity alert (with the backoff, about half an hour of failures).
const RevokeAlertAfter = 5

// SweepResult counts what one sweep did.
type SweepResult struct {
	Started          int // scheduled access granted at its start
	Expired          int
	RevokesPending   int // due schedules the directory has not confirmed gone
	GrantsRetried    int
	GrantsFailing    int
	RequestsResumed  int
	ApprovalsExpired int
	Escalated        int
	MailSent         int
	MailFailed       int
	Errors           int
}

// Sweep is the expiry timer's job. It starts scheduled access whose start
// has come, ends schedules whose end has passed,
// retries directory changes that failed, resumes requests a crash left
// granted but unprovisioned, and cancels approvals whose stage timed out.
// Every step reads only what is due and is safe to run twice or
// concurrently: each change is a conditional write through the same
// functions the API uses.
func (e *Engine) Sweep(ctx context.Context, c *Call) (SweepResult, error) {
	var res SweepResult
	// Directory retries first, then the requests waiting on them, then
	// expiry: a revoke that recovers in this run ends its schedule in this run.
	grants, err := e.store.UnsettledGrants(ctx, e.cfg.SweepBatch)
	if err != nil {
		return res, err
	}
	for _, g := range grants {
		if g.FailedAttempts == 0 && c.Now.Sub(g.ModifiedAt) < e.cfg.StuckAfter {
			continue // just changed: its writer is still settling it; if it crashed, a later sweep will
		}
		if c.Now.Before(g.NextAttempt) {
			res.GrantsFailing++
			continue
		}
		res.GrantsRetried++
		if err := e.reconcile(ctx, c, g.PrincipalID, g.Target); err != nil {
			res.GrantsFailing++
			c.Log.ErrorContext(ctx, "directory change still failing", "target", g.Target.Key(), "principal_id", g.PrincipalID,
				"attempts", g.FailedAttempts+1, "error", err)
			if !g.Wanted() && g.FailedAttempts+1 >= RevokeAlertAfter {
				// Access that should be gone is still there: say so loudly.
				inc := domain.AlertIncident{ID: "revoke|" + g.Key(), PrincipalID: g.PrincipalID, Target: g.Target,
					Description: fmt.Sprintf("revoking %s from %s has failed %d times: %s", e.Names().Target(ctx, g.Target), e.Names().Person(ctx, g.PrincipalID),
						g.FailedAttempts+1, domain.Clip(err.Error(), 300))}
				e.raise(ctx, c, domain.AlertRevokeFailing, domain.SeverityHigh, inc)
			}
		}
	}
	stuck, err := e.store.ListRequests(ctx, domain.RequestQuery{Statuses: []domain.Status{domain.StatusGranted, domain.StatusPendingProvisioning}, Limit: e.cfg.SweepBatch})
	if err != nil {
		return res, err
	}
	for _, r := range stuck.Items {
		r := r
		if r.Action == domain.ActionSelfDeactivate || r.Action == domain.ActionAdminRemove {
			// A removal the directory had not confirmed: finish it now that the
			// grants above were retried, before expiry would end its schedule
			// as expired rather than revoked. Finishing is idempotent.
			if err := e.ResumeRemoval(ctx, c, &r); err != nil {
				res.Errors++
				continue
			}
			res.RequestsResumed++
			continue
		}
		if c.Now.Sub(r.LastMoved()) < e.cfg.StuckAfter { // its submitter or decider is still at it
			continue
		}
		if err := e.provision(ctx, c, &r); err != nil {
			res.Errors++
			continue
		}
		res.RequestsResumed++
	}
	due, err := e.store.SchedulesDueBy(ctx, c.Now, e.cfg.SweepBatch)
	if err != nil {
		return res, err
	}
	var starting, ending []domain.Schedule
	for _, s := range due {
		if s.AwaitingStart {
			starting = append(starting, s)
		} else {
			ending = append(ending, s)
		}
	}
	e.startDue(ctx, c, starting, &res)
	e.expireDue(ctx, c, ending, &res)
	pending, err := e.store.ListRequests(ctx, domain.RequestQuery{Statuses: []domain.Status{domain.StatusPendingApproval, domain.StatusPendingAdminDecision}, Limit: e.cfg.SweepBatch})
	if err != nil {
		return res, err
	}
	for _, r := range pending.Items {
		i := r.Approval.Current()
		if i < 0 {
			continue
		}
		if st := r.Approval.Stages[i]; st.Status == domain.StageInProgress && !st.EscalateAt.IsZero() &&
			!c.Now.Before(st.EscalateAt) && c.Now.Before(st.TimeoutAt) {
			if err := e.escalate(ctx, c, r.ID, st.ID); err != nil {
				res.Errors++
			} else {
				res.Escalated++
			}
			continue
		}
		if c.Now.Before(r.Approval.Stages[i].TimeoutAt) {
			continue
		}
		r := r
		rec := e.Stamp(c, domain.AuditRecord{Action: "approval.timeout", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID, Outcome: "failure", Reason: "no decision before " + r.Approval.Stages[i].TimeoutAt.UTC().String()})
		if err := e.transition(ctx, c, &r, domain.EvTimeout, "approval timed out", rec); err != nil {
			if !domain.IsCode(err, domain.CodeConflict) {
				res.Errors++
			}
			continue
		}
		res.ApprovalsExpired++
	}
	mail, err := e.DeliverMail(ctx, c)
	if err != nil {
		res.Errors++
	}
	res.MailSent, res.MailFailed = mail.Sent, mail.Failed
	if res != (SweepResult{}) {
		err = e.Audit(ctx, c, domain.AuditRecord{Action: "timer.sweep", Category: "Governance", Details: map[string]string{
			"started": fmt.Sprint(res.Started), "expired": fmt.Sprint(res.Expired), "revokes_pending": fmt.Sprint(res.RevokesPending), "grants_retried": fmt.Sprint(res.GrantsRetried), "grants_failing": fmt.Sprint(res.GrantsFailing),
			"requests_resumed": fmt.Sprint(res.RequestsResumed), "approvals_expired": fmt.Sprint(res.ApprovalsExpired), "escalated": fmt.Sprint(res.Escalated), "mail_sent": fmt.Sprint(res.MailSent), "mail_failed": fmt.Sprint(res.MailFailed),
			"errors": fmt.Sprint(res.Errors)}})
	}
	return res, err
}

// escalate opens a stage to its escalation approvers once its escalation
// time passed undecided, and mails them; the primary approvers keep their say.
func (e *Engine) escalate(ctx context.Context, c *Call, id, stageID string) error {
	var r domain.Request
	done := false
	err := Retry(func() error {
		var err error
		if r, err = e.store.GetRequest(ctx, id); err != nil {
			return err
		}
		i, ok := r.Approval.StageByID(stageID)
		if !ok || r.Status != domain.StatusPendingApproval || r.Approval.Stages[i].Status != domain.StageInProgress {
			return nil // decided or escalated meanwhile
		}
		if err := r.Apply(domain.EvEscalate, c.Now, ""); err != nil {
			return err
		}
		r.Approval.Stages[i].Status = domain.StageEscalated
		rec := e.Stamp(c, domain.AuditRecord{Action: "approval.escalate", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Details: map[string]string{"stage": stageID}})
		if err := Stale(e.store.UpdateRequest(ctx, &r, rec)); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil || !done {
		return err
	}
	e.notify().Approvers(ctx, c, r)
	return nil
}

// raise raises an alert incident through the alarm, if there is one; a
// failure to raise is logged, never a reason to stop the sweep.
func (e *Engine) raise(ctx context.Context, c *Call, definitionID, severity string, inc domain.AlertIncident) {
	if e.alarm == nil {
		return
	}
	err := e.alarm.RaiseAlert(ctx, domain.AlertRaise{Now: c.Now, InvocationID: c.InvocationID, ActorID: c.Caller.ID,
		DefinitionID: definitionID, Severity: severity, Incidents: []domain.AlertIncident{inc}})
	if err != nil {
		c.Log.ErrorContext(ctx, "raising an alert failed", "alert_id", definitionID, "error", err)
	}
}

// expiryWorkers bounds how many due schedules one sweep ends at once: each
// expiry waits mostly on storage and directory round trips, so a batch of
// 100 runs in about the time of a few, while the directory and the store
// see at most this many calls in flight from one sweep.
const expiryWorkers = 16

// expireDue ends the due schedules, expiryWorkers at a time.
func (e *Engine) expireDue(ctx context.Context, c *Call, due []domain.Schedule, res *SweepResult) {
	e.eachDue(ctx, c, due, "expiry", func(fc *Call, s domain.Schedule) (func(*SweepResult), error) {
		pending, err := e.endSchedule(ctx, fc, s, domain.ScheduleExpired, "reached its end")
		if pending {
			return func(r *SweepResult) { r.RevokesPending++ }, err // the directory still holds it: it stays listed, and due
		}
		return func(r *SweepResult) { r.Expired++ }, err
	}, res)
}

// eachDue runs act on the due schedules, expiryWorkers at a time, and
// counts each outcome (what act returns, or an error) into res. Each worker
// has its own fork of the call (mail merged back at the end); two
// schedules of one grant racing are settled by the conditional writes, as
// concurrent API calls are. Break-glass accounts are skipped.
func (e *Engine) eachDue(ctx context.Context, c *Call, due []domain.Schedule, what string,
	act func(*Call, domain.Schedule) (func(*SweepResult), error), res *SweepResult) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, expiryWorkers)
	forks := make([]*Call, len(due))
	for i, s := range due {
		if e.isBreakGlass(s.PrincipalID) {
			continue
		}
		forks[i] = c.Fork()
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			count, err := act(forks[i], s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors++
				c.Log.ErrorContext(ctx, what+" failed", "schedule_id", s.ID, "error", err)
				return
			}
			if count != nil {
				count(res)
			}
		})
	}
	wg.Wait()
	for _, f := range forks {
		if f != nil {
			c.Join(f)
		}
	}
}
