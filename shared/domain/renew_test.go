package domain

import (
	"testing"
	"time"
)

func TestRenewable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name string
		s    Schedule
		want bool
	}{
		{"expired yesterday", Schedule{Kind: KindEligibility, End: now.Add(-day), Status: ScheduleExpired}, true},
		{"past its end, not yet swept", Schedule{Kind: KindEligibility, End: now.Add(-time.Minute), Status: ScheduleProvisioned}, true},
		{"expired 90 days ago", Schedule{Kind: KindEligibility, End: now.Add(-RenewWindow), Status: ScheduleExpired}, true},
		{"expired 91 days ago", Schedule{Kind: KindEligibility, End: now.Add(-RenewWindow - day), Status: ScheduleExpired}, false},
		{"still live", Schedule{Kind: KindEligibility, End: now.Add(day), Status: ScheduleProvisioned}, false},
		{"permanent", Schedule{Kind: KindEligibility, Status: ScheduleProvisioned}, false},
		{"removed by a person", Schedule{Kind: KindEligibility, End: now.Add(-day), Status: ScheduleRevoked}, false},
		{"an activation", Schedule{Kind: KindAssignment, End: now.Add(-day), Status: ScheduleExpired}, false},
	}
	for _, c := range cases {
		if got := c.s.Renewable(now); got != c.want {
			t.Errorf("%s: Renewable = %v, want %v", c.name, got, c.want)
		}
	}
}
