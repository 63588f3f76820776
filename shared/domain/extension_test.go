package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestExtendOfferedInTheLastFourteenDays(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	// sched ends end after now; permanent when end is zero and not at.
	sched := func(end time.Duration, typ string) domain.Schedule {
		s := domain.Schedule{Status: domain.ScheduleProvisioned, Start: now.Add(-30 * day), AssignmentType: typ}
		if end != 0 {
			s.End = now.Add(end)
		}
		return s
	}
	endsNow := sched(0, domain.AssignmentAssigned)
	endsNow.End = now
	for _, tc := range []struct {
		name    string
		s       domain.Schedule
		offered bool
		refusal string // in the refusal's text; empty when offered
	}{
		{"15 days left", sched(15*day, domain.AssignmentAssigned), false, "last 14 days"},
		{"exactly 14 days left", sched(14*day, domain.AssignmentAssigned), true, ""},
		{"a day left", sched(day, domain.AssignmentAssigned), true, ""},
		{"a second left", sched(time.Second, ""), true, ""},
		{"ended", sched(-time.Second, domain.AssignmentAssigned), false, "selfRenew"},
		{"ends now", endsNow, false, "selfRenew"},
		{"permanent", sched(0, domain.AssignmentAssigned), false, "permanent"},
		{"an activation", sched(time.Hour, domain.AssignmentActivated), false, "activation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.ExtendOffered(tc.s, now); got != tc.offered {
				t.Fatalf("ExtendOffered = %v, want %v", got, tc.offered)
			}
			err := domain.CheckSelfExtend(tc.s, now)
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), "action") || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("refusal %v, want an invalid action naming %q", err, tc.refusal)
			}
		})
	}
}

func TestDefaultExtensionEnd(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	s := domain.Schedule{Start: start, End: start.Add(90 * day)}
	for _, tc := range []struct {
		name  string
		rules domain.AdminRules
		want  time.Time
	}{
		{"the length again", domain.AdminRules{AllowPermanent: true}, start.Add(180 * day)},
		{"within the maximum", domain.AdminRules{MaxDuration: 365 * day}, start.Add(180 * day)},
		{"capped at the maximum", domain.AdminRules{MaxDuration: 120 * day}, start.Add(120 * day)},
	} {
		if got := domain.DefaultExtensionEnd(s, tc.rules); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDefaultRenewalEnd(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		rules domain.AdminRules
		want  time.Time
	}{
		{"permanent where allowed", domain.AdminRules{AllowPermanent: true, MaxDuration: 90 * day}, time.Time{}},
		{"the maximum where an end is required", domain.AdminRules{MaxDuration: 180 * day}, start.Add(180 * day)},
	} {
		if got := domain.DefaultRenewalEnd(start, tc.rules); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestAdminDecisionApproval(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	a := domain.NewAdminDecision(now)
	if len(a.Stages) != 1 || a.Current() != 0 {
		t.Fatalf("stages %+v", a.Stages)
	}
	st := a.Stages[0]
	if !st.AdminDecision || len(st.AllApprovers()) != 0 || !st.ApproverJustificationRequired || !st.TimeoutAt.Equal(now.Add(domain.AdminDecisionDays*24*time.Hour)) {
		t.Fatalf("admin stage %+v", st)
	}
	// The stage stays open while the request waits on an admin, and closes with it.
	r := domain.Request{Approval: a}
	if err := r.Apply(domain.EvNeedAdminDecision, now, ""); err != nil || r.Approval.Current() != 0 || !r.AwaitsDecision() {
		t.Fatalf("after needAdminDecision: %v %+v", err, r.Approval.Stages)
	}
	if err := r.Apply(domain.EvGrant, now, ""); err != nil || r.Status != domain.StatusGranted || r.Approval.Current() != -1 || r.AwaitsDecision() {
		t.Fatalf("after grant: %v %s %+v", err, r.Status, r.Approval.Stages)
	}
}

func TestLastMovedCountsDecisions(t *testing.T) {
	created := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	decided := created.Add(72 * time.Hour)
	for _, tc := range []struct {
		name string
		r    domain.Request
		want time.Time
	}{
		{"no approval", domain.Request{CreatedAt: created}, created},
		{"undecided", domain.Request{CreatedAt: created, Approval: domain.NewAdminDecision(created)}, created},
		{"decided days later", domain.Request{CreatedAt: created, Approval: &domain.Approval{Stages: []domain.ApprovalStage{
			{ReviewedAt: created.Add(time.Hour)}, {ReviewedAt: decided}}}}, decided},
	} {
		if got := tc.r.LastMoved(); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
