package engine

import (
	"context"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Scheduled access: a request whose start lies ahead is granted as usual
// (checks, approval) but stores only its schedule, marked AwaitingStart and
// due at its start; the expiry sweep grants the access then, through
// provision like any other grant. The request's status is the one point
// where a cancel (or removal) and the sweep's start meet: ScheduleCreated
// takes either cancel or provisionStart, never both, by a conditional write.

// scheduleLater stores the schedule of a Granted request that starts later
// and moves the request to ScheduleCreated. Nothing is granted: the
// schedule sits in the due index at its start.
func (e *Engine) scheduleLater(ctx context.Context, c *Call, r *domain.Request, sc domain.Schedule) error {
	sc.AwaitingStart = true
	rec := e.Stamp(c, domain.AuditRecord{Action: "schedule.create", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
		Details: map[string]string{"schedule_id": sc.ID, "kind": string(sc.Kind), "start": sc.Start.UTC().Format(time.RFC3339), "end": fmtEnd(sc.End)}})
	if err := e.store.CreateSchedule(ctx, &sc, rec); err != nil && !domain.IsCode(err, domain.CodeConflict) {
		return err
	}
	err := e.transition(ctx, c, r, domain.EvScheduleCreated, "")
	if domain.IsCode(err, domain.CodeConflict) && r.Status == domain.StatusScheduleCreated {
		return nil // a concurrent resumption finished it
	}
	if err == nil {
		e.notify().TicketNote(ctx, c, *r, "scheduled "+e.Names().Target(ctx, r.Target)+" from "+r.StartAt.UTC().Format(time.RFC3339)+" until "+fmtEnd(r.EndAt))
	}
	return err
}

// markStarted clears a schedule's AwaitingStart once its access is in
// place, which moves it in the due index from its start to its end.
func (e *Engine) markStarted(ctx context.Context, c *Call, r *domain.Request, id string) error {
	return Retry(func() error {
		cur, err := e.store.GetSchedule(ctx, id)
		if err != nil || !cur.AwaitingStart {
			return err
		}
		if cur.Status != domain.ScheduleProvisioned {
			return domain.Errorf(domain.CodeConflict, "schedule %s ended while it was starting", id)
		}
		cur.AwaitingStart, cur.ModifiedAt = false, c.Now
		rec := e.Stamp(c, domain.AuditRecord{Action: "schedule.start", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Details: map[string]string{"schedule_id": id, "kind": string(cur.Kind), "end": fmtEnd(cur.End)}})
		return Stale(e.store.UpdateSchedule(ctx, &cur, rec))
	})
}

// startDue starts the due schedules that await their start, expiryWorkers
// at a time, as expireDue ends the others.
func (e *Engine) startDue(ctx context.Context, c *Call, due []domain.Schedule, res *SweepResult) {
	e.eachDue(ctx, c, due, "start", func(fc *Call, s domain.Schedule) (func(*SweepResult), error) {
		started, err := e.startSchedule(ctx, fc, s)
		if !started {
			return nil, err
		}
		return func(r *SweepResult) { r.Started++ }, err
	}, res)
}

// startSchedule grants the access of a schedule whose start has come. It
// first takes its request ScheduleCreated → PendingProvisioning: when a
// cancel or a removal won that write, nothing is granted and the schedule
// is retired. A start interrupted half-way (PendingProvisioning) is
// finished; every step is idempotent.
func (e *Engine) startSchedule(ctx context.Context, c *Call, s domain.Schedule) (started bool, err error) {
	r, err := e.store.GetRequest(ctx, s.CreatedUsing)
	if domain.IsCode(err, domain.CodeNotFound) {
		return false, e.EndSchedule(ctx, c, s, domain.ScheduleRevoked, "its request does not exist")
	} else if err != nil {
		return false, err
	}
	c.Log = c.Log.With("request_id", r.ID)
	if r.Status == domain.StatusScheduleCreated {
		if err := e.transition(ctx, c, &r, domain.EvProvisionStart, ""); err != nil && !domain.IsCode(err, domain.CodeConflict) {
			return false, err
		}
	}
	switch r.Status {
	case domain.StatusPendingProvisioning, domain.StatusGranted:
	case domain.StatusProvisioned:
		return false, e.markStarted(ctx, c, &r, s.ID)
	default: // canceled, removed or failed before its start: it never grants
		return false, e.EndSchedule(ctx, c, s, domain.ScheduleRevoked, "its request is "+string(r.Status))
	}
	if err := e.provision(ctx, c, &r); err != nil {
		return false, err
	}
	if r.Status == domain.StatusFailed {
		// Refused at its start (eligibility gone, account disabled, window passed): retire it.
		return false, e.EndSchedule(ctx, c, s, domain.ScheduleRevoked, "refused at its start: "+r.StatusReason)
	}
	return r.Status == domain.StatusProvisioned, nil
}

// claimUnstarted settles the request of a schedule that awaits its start
// before the schedule is ended by anything but its start: ScheduleCreated
// becomes Revoked, so a sweep that reads it next grants nothing. While the
// sweep is starting it (the request has left ScheduleCreated but the
// access is not confirmed yet), the caller loses the race and hears so.
func (e *Engine) claimUnstarted(ctx context.Context, c *Call, s domain.Schedule, reason string) error {
	r, err := e.store.GetRequest(ctx, s.CreatedUsing)
	if domain.IsCode(err, domain.CodeNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if r.Status == domain.StatusScheduleCreated {
		if err := e.transition(ctx, c, &r, domain.EvRevoke, reason); err != nil && !domain.IsCode(err, domain.CodeConflict) {
			return err
		}
	}
	switch r.Status {
	case domain.StatusGranted, domain.StatusPendingProvisioning:
		return domain.Errorf(domain.CodeConflict, "%s is starting now: try again in a minute", e.Names().Target(ctx, s.Target))
	}
	return nil
}

// refuseOverlappingActivation refuses a scheduled activation whose window
// overlaps another activation of the same target, running or scheduled:
// the grant's holders show running ones only, and the later one would
// otherwise be refused at its start, when nobody is watching.
func (e *Engine) refuseOverlappingActivation(ctx context.Context, c *Call, r *domain.Request, start, end time.Time) error {
	q := domain.ScheduleQuery{Kind: domain.KindAssignment, PrincipalID: r.PrincipalID, TargetKey: r.Target.Key(), Limit: 100}
	for {
		p, err := e.store.ListSchedules(ctx, q)
		if err != nil {
			return err
		}
		for _, s := range p.Items {
			if s.AssignmentType == domain.AssignmentActivated && s.Live(c.Now) && s.Start.Before(end) && (s.End.IsZero() || start.Before(s.End)) {
				return domain.Errorf(domain.CodeConflict, "%s already has an activation of %s from %s until %s; choose a window that does not overlap it",
					e.Names().Person(ctx, r.PrincipalID), e.Names().Target(ctx, r.Target), s.Start.UTC().Format(time.RFC3339), fmtEnd(s.End))
			}
		}
		if p.Next == "" {
			return nil
		}
		q.Cursor = p.Next
	}
}
