package engine

import (
	"context"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// ScheduleFilter selects schedules for the API; InstancesOnly keeps those
// in force now (not upcoming ones: a scheduled start is a schedule, not yet
// an instance, as in Graph).
type ScheduleFilter struct {
	Kind          domain.RequestKind
	TargetKind    domain.TargetKind // "" = directory roles and groups (Azure roles only when asked for)
	AllTargets    bool              // every kind, Azure roles too (the portal's own lists)
	PrincipalID   domain.ObjectID
	Match         func(domain.Target) bool
	InstancesOnly bool
	Cursor        string
	Limit         int
}

// listed reports whether the API lists a schedule: live ones, and active
// assignments past their end that the directory has not yet confirmed gone
// (the sweep ends them once it has), so a listing never hides access the
// directory still holds.
func listed(s domain.Schedule, now time.Time) bool {
	return s.Live(now) || (s.Kind == domain.KindAssignment && s.Status == domain.ScheduleProvisioned)
}

// ListSchedules lists live schedules; callers who are not admins see only their own.
func (e *Engine) ListSchedules(ctx context.Context, c *Call, f ScheduleFilter) (domain.Page[domain.Schedule], error) {
	if f.PrincipalID != c.Caller.ID {
		if err := e.RequireAdmin(ctx, c, "listing other people's schedules"); err != nil {
			return domain.Page[domain.Schedule]{}, err
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := domain.ScheduleQuery{Kind: f.Kind, PrincipalID: f.PrincipalID, Cursor: f.Cursor, Limit: limit}
	var out domain.Page[domain.Schedule]
	for {
		p, err := e.store.ListSchedules(ctx, q)
		if err != nil {
			return out, err
		}
		for _, s := range p.Items {
			kindOK := f.AllTargets || s.Target.Kind == f.TargetKind || (f.TargetKind == "" && s.Target.Kind != domain.TargetAzureRole)
			if !kindOK || !listed(s, c.Now) || (f.InstancesOnly && s.Upcoming(c.Now)) {
				continue
			}
			if f.Match != nil && !f.Match(s.Target) {
				continue
			}
			out.Items = append(out.Items, s)
		}
		// Fill the page from further store pages, but never exceed the limit's worth of reads.
		if p.Next == "" || len(out.Items) >= limit/2 {
			out.Next = p.Next
			return out, nil
		}
		q.Cursor = p.Next
	}
}

// ListAudit lists audit records, newest first, for admins.
func (e *Engine) ListAudit(ctx context.Context, c *Call, q domain.AuditQuery) (domain.Page[domain.AuditRecord], error) {
	if err := e.RequireAdmin(ctx, c, "reading the audit log"); err != nil {
		return domain.Page[domain.AuditRecord]{}, err
	}
	return e.store.ListAudit(ctx, q)
}
