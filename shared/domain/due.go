package domain

import "time"

// DueAt is when the expiry sweep must next act on a schedule: the end of a
// live one. Zero means never: a permanent schedule, or one no longer live.
// Every store's due index (Store.SchedulesEndingBy) holds this time, so a
// rule that makes the sweep act at another time (a future start, say)
// changes here and the index follows.
func (s Schedule) DueAt() time.Time {
	if s.Status != ScheduleProvisioned {
		return time.Time{}
	}
	return s.End
}
