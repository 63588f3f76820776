package domain

import (
	"testing"
	"time"
)

func TestScheduleDueAt(t *testing.T) {
	end := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    Schedule
		want time.Time
	}{
		{"live with an end: due at its end", Schedule{Status: ScheduleProvisioned, End: end}, end},
		{"live and permanent: never due", Schedule{Status: ScheduleProvisioned}, time.Time{}},
		{"expired: never due again", Schedule{Status: ScheduleExpired, End: end}, time.Time{}},
		{"revoked: never due again", Schedule{Status: ScheduleRevoked, End: end}, time.Time{}},
		{"awaiting its start: due at its start", Schedule{Status: ScheduleProvisioned, AwaitingStart: true, Start: end.Add(-time.Hour), End: end}, end.Add(-time.Hour)},
		{"revoked before its start: never due", Schedule{Status: ScheduleRevoked, AwaitingStart: true, Start: end.Add(-time.Hour), End: end}, time.Time{}},
	} {
		if got := tc.s.DueAt(); !got.Equal(tc.want) {
			t.Errorf("%s: DueAt %v, want %v", tc.name, got, tc.want)
		}
	}
}
