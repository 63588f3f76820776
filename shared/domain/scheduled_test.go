package domain_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestScheduleDueAtAndUpcoming(t *testing.T) {
	start, end := t0.Add(time.Hour), t0.Add(2*time.Hour)
	live := domain.Schedule{Kind: domain.KindAssignment, Start: start, End: end, Status: domain.ScheduleProvisioned}
	cases := []struct {
		name     string
		mod      func(*domain.Schedule)
		now      time.Time
		due      time.Time
		upcoming bool
	}{
		{"awaiting its start: due at the start", func(s *domain.Schedule) { s.AwaitingStart = true }, t0, start, true},
		{"started: due at the end", func(s *domain.Schedule) {}, t0.Add(90 * time.Minute), end, false},
		{"assignment past its start, not granted yet: still upcoming", func(s *domain.Schedule) { s.AwaitingStart = true }, t0.Add(90 * time.Minute), start, true},
		{"eligibility past its start: in force without the sweep", func(s *domain.Schedule) { s.Kind, s.AwaitingStart = domain.KindEligibility, true }, t0.Add(90 * time.Minute), start, false},
		{"eligibility stored before its start without the mark: due at its end", func(s *domain.Schedule) { s.Kind = domain.KindEligibility }, t0, end, true},
		{"permanent and started: never due", func(s *domain.Schedule) { s.End = time.Time{} }, t0.Add(90 * time.Minute), time.Time{}, false},
		{"ended: not upcoming, never due", func(s *domain.Schedule) { s.Status, s.AwaitingStart = domain.ScheduleRevoked, true }, t0, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := live
			c.mod(&s)
			if got := s.DueAt(); !got.Equal(c.due) {
				t.Errorf("DueAt() = %v, want %v", got, c.due)
			}
			if got := s.Upcoming(c.now); got != c.upcoming {
				t.Errorf("Upcoming(%v) = %v, want %v", c.now, got, c.upcoming)
			}
		})
	}
}

func TestApprovedWindow(t *testing.T) {
	created := t0
	approved := t0.Add(3 * time.Hour)
	cases := []struct {
		name       string
		req        domain.Request
		start, end time.Time
	}{
		{"starts on approval: the requested length from the approval",
			domain.Request{CreatedAt: created, StartAt: created, EndAt: created.Add(time.Hour)},
			approved, approved.Add(time.Hour)},
		{"an explicit start at submission is not scheduled",
			domain.Request{CreatedAt: created, Schedule: domain.ScheduleInfo{Start: created}, StartAt: created, EndAt: created.Add(time.Hour)},
			approved, approved.Add(time.Hour)},
		{"scheduled: the window it asked for, from its scheduled start",
			domain.Request{CreatedAt: created, Schedule: domain.ScheduleInfo{Start: t0.Add(24 * time.Hour)}, StartAt: t0.Add(24 * time.Hour), EndAt: t0.Add(25 * time.Hour)},
			t0.Add(24 * time.Hour), t0.Add(25 * time.Hour)},
		{"scheduled and approved after its start: the end stays",
			domain.Request{CreatedAt: created, Schedule: domain.ScheduleInfo{Start: t0.Add(time.Hour)}, StartAt: t0.Add(time.Hour), EndAt: t0.Add(5 * time.Hour)},
			t0.Add(time.Hour), t0.Add(5 * time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start, end := c.req.ApprovedWindow(approved)
			if !start.Equal(c.start) || !end.Equal(c.end) {
				t.Errorf("ApprovedWindow = %v – %v, want %v – %v", start, end, c.start, c.end)
			}
		})
	}
}

func TestCheckStart(t *testing.T) {
	cases := []struct {
		name  string
		start time.Time
		ok    bool
	}{
		{"none: now", time.Time{}, true},
		{"a client clock a little behind", t0.Add(-domain.StartSlack), true},
		{"in the past beyond clock skew", t0.Add(-domain.StartSlack - time.Second), false},
		{"a year ahead", t0.Add(domain.MaxScheduleAhead), true},
		{"beyond a year ahead", t0.Add(domain.MaxScheduleAhead + time.Second), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := domain.CheckStart(c.start, t0)
			if c.ok {
				wantNoErr(t, err)
				return
			}
			wantErr(t, err, domain.CodeInvalid, "scheduleInfo.startDateTime")
		})
	}
}

func TestApprovalWindowWords(t *testing.T) {
	cases := []struct {
		name string
		req  domain.Request
		want string
	}{
		{"starts on approval", domain.Request{CreatedAt: t0, StartAt: t0, EndAt: t0.Add(time.Hour)}, "1 hour, counted from approval"},
		{"afterDateTime starting on approval: its length, not its end", domain.Request{CreatedAt: t0, StartAt: t0, EndAt: t0.Add(90 * time.Minute),
			Schedule: domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDateTime, End: t0.Add(90 * time.Minute)}}, "1 hour 30 minutes, counted from approval"},
		{"scheduled: its real window", domain.Request{CreatedAt: t0, Schedule: domain.ScheduleInfo{Start: t0.Add(24 * time.Hour)},
			StartAt: t0.Add(24 * time.Hour), EndAt: t0.Add(26 * time.Hour)}, "from Sat 15 Mar 2025 09:26 UTC until Sat 15 Mar 2025 11:26 UTC"},
		{"permanent", domain.Request{CreatedAt: t0, StartAt: t0}, "permanently"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.req.ApprovalWindowWords(); got != c.want {
				t.Errorf("ApprovalWindowWords() = %q, want %q", got, c.want)
			}
		})
	}
}
