package tablestore_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/storetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

func TestReviewConformance(t *testing.T) {
	conn := azuritetest.Start(t)
	storetest.RunReviews(t, func(t *testing.T) domain.ReviewStore { return newStore(t, conn, tablestore.Options{}) })
}

func reviewDef(reviewer domain.ObjectID, def string) domain.ReviewDefinition {
	return domain.ReviewDefinition{DisplayName: "Application Administrators",
		Scope:     domain.ReviewScope{Kind: domain.ReviewScopeRole, RoleDefinitionID: roleApp.RoleDefinitionID},
		Reviewers: []domain.Reviewer{{Kind: domain.ReviewerUser, ID: reviewer}},
		Settings:  domain.ReviewSettings{DurationInDays: 7, DefaultDecision: def, AutoApply: true, RecommendationsEnabled: true, MailEnabled: true}}
}

// startReview seeds n eligibilities, defines a review and runs the timer
// once, returning the run's duration and round trips.
func startReview(t testing.TB, f *enginetest.Fixture, s *tablestore.Store, n int, def string) (*review.Service, domain.ReviewDefinition, review.RunResult, time.Duration, int64) {
	t.Helper()
	rv := review.New(review.Deps{Engine: f.Eng, Reviews: s, Store: f.Store, Directory: f.Dir, Reader: f.Dir, SignIns: f.Dir, Alarm: f.Alarms})
	reviewer := f.NewUser()
	seedEligibilities(f, n)
	d, err := rv.CreateReviewDefinition(f.Ctx, f.Call(f.Admin), reviewDef(reviewer, def))
	if err != nil {
		t.Fatal(err)
	}
	s.ResetRoundTrips()
	start := time.Now()
	res, err := rv.RunReviews(f.Ctx, f.System())
	took := time.Since(start)
	if err != nil || res.ItemsWritten != n || res.Started != 1 {
		t.Fatalf("start: %+v %v", res, err)
	}
	return rv, d, res, took, s.RoundTrips()
}

// TestReviewOnAzurite runs a review of 350 eligibilities (four
// transactions) through the engine on Table Storage: start in one run,
// a concurrent duplicate run that adds nothing, and the apply of a Deny
// default, each removal once.
func TestReviewOnAzurite(t *testing.T) {
	conn := azuritetest.Start(t)
	f, s := engineFixture(t, conn, tablestore.Options{})
	const n = 350
	rv, d, _, took, trips := startReview(t, f, s, n, domain.DefaultDeny)
	t.Logf("started a review of %d assignments in %v, %d round trips", n, took.Round(time.Millisecond), trips)
	res, err := rv.RunReviews(f.Ctx, f.System())
	if err != nil || res.ItemsWritten != 0 || res.Started != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	insts, err := s.ListReviewInstances(f.Ctx, d.ID)
	if err != nil || len(insts) != 1 || insts[0].Status != domain.ReviewInProgress || insts[0].ItemCount != n {
		t.Fatalf("instance: %v %+v", err, insts)
	}
	f.Advance(8 * 24 * time.Hour)
	start := time.Now()
	res, err = rv.RunReviews(f.Ctx, f.System())
	if err != nil || res.Removed != n || res.Applied != 1 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	t.Logf("applied %d removals in %v", n, time.Since(start).Round(time.Millisecond))
	live, err := s.ListSchedules(f.Ctx, domain.ScheduleQuery{Kind: domain.KindEligibility, TargetKey: roleApp.Key(), Limit: 10})
	if err != nil || len(live.Items) != 0 {
		t.Fatalf("eligibilities left: %v %d", err, len(live.Items))
	}
}

// BenchmarkReviewStart10000Azurite times one timer run that starts a
// review of 10,000 eligible assignments on Table Storage (Azurite): the
// scan, 10,000 directory lookups (fake directory), recommendations, 10,000
// items and their reviewer index rows in entity group transactions of 100
// (eight at a time), and the reviewer mail. Run with -benchtime=1x.
func BenchmarkReviewStart10000Azurite(b *testing.B) {
	conn := azuritetest.Start(b)
	for b.Loop() {
		b.StopTimer()
		f, s := engineFixture(b, conn, tablestore.Options{})
		b.StartTimer()
		_, _, _, took, trips := startReview(b, f, s, 10000, domain.DefaultApprove)
		b.ReportMetric(took.Seconds(), "s/start")
		b.ReportMetric(float64(trips), "round-trips")
		b.ReportMetric(0, "ns/op") // seeding is inside; s/start is the figure
	}
}
