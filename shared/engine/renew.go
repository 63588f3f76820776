package engine

import (
	"context"
	"slices"

	"github.com/jitpim/jitpim/shared/domain"
)

// renewPages bounds the store pages RenewableEligibilities reads.
const renewPages = 3

// RenewableEligibilities lists the caller's own eligibilities for
// directory roles and groups that ran out recently enough to renew
// (domain.Schedule.Renewable) and have no live successor: the latest one
// per target, most recently ended first. Renew asks an admin (selfRenew).
func (e *Engine) RenewableEligibilities(ctx context.Context, c *Call) ([]domain.Schedule, error) {
	q := domain.ScheduleQuery{Kind: domain.KindEligibility, PrincipalID: c.Caller.ID, IncludeEnded: true, Limit: 200}
	latest := map[string]domain.Schedule{}
	live := map[string]bool{}
	for range renewPages {
		p, err := e.store.ListSchedules(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, s := range p.Items {
			k := s.Target.Key()
			switch {
			case s.Target.Kind == domain.TargetAzureRole:
			case s.Live(c.Now):
				live[k] = true
			case s.Renewable(c.Now) && s.End.After(latest[k].End):
				latest[k] = s
			}
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	var out []domain.Schedule
	for k, s := range latest {
		if !live[k] {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b domain.Schedule) int { return b.End.Compare(a.End) })
	return out, nil
}
