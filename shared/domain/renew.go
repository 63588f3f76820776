package domain

import "time"

// RenewWindow is how long after an eligibility ran out its holder may
// still ask to renew it (Entra PIM allows 90 days); later, an admin
// assigns afresh.
const RenewWindow = 90 * 24 * time.Hour

// Renewable reports whether the holder of s may ask to renew it at now: an
// eligibility that ran out at its end time (not one a person or a review
// ended early) no longer than RenewWindow ago.
func (s Schedule) Renewable(now time.Time) bool {
	if s.Kind != KindEligibility || s.End.IsZero() || now.Before(s.End) || now.Sub(s.End) > RenewWindow {
		return false
	}
	return s.Status == ScheduleExpired || s.Status == ScheduleProvisioned // Provisioned: past its end, not yet swept
}
