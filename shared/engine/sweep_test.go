package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/memstore"
)

// TestSweepCost: with 1,000 live permanent eligibilities and 10 activations
// due, a sweep ends exactly the 10, asks the store's due index once, and
// leaves everything else alone. It counts with the memory store's own
// counters and stays out of the suite: on Azurite the 1,000 eligibilities
// take about a minute to make, and BenchmarkSweepDue in package tablestore
// shows there, with 10,000, that the sweep's cost follows what is due.
func TestSweepCost(t *testing.T) {
	store := memstore.New()
	f := enginetest.NewFixture(t, store)
	const bystanders, due = 1000, 10
	for i := 0; i < bystanders; i++ {
		f.MakeEligible(f.NewUser(), enginetest.RoleOther)
	}
	users := make([]domain.ObjectID, due)
	for i := range users {
		users[i] = f.NewUser()
		f.MakeEligible(users[i], enginetest.RoleGA)
		if r, err := f.Activate(users[i], enginetest.RoleGA, time.Hour); err != nil || r.Status != domain.StatusProvisioned {
			t.Fatalf("activation %d: %+v %v", i, r, err)
		}
	}
	if f.Dir.RoleCount() != due {
		t.Fatalf("%d role assignments", f.Dir.RoleCount())
	}

	f.Advance(time.Hour + time.Minute)
	store.ResetCalls()
	res := f.Sweep()
	if res.Expired != due || res.Errors != 0 {
		t.Fatalf("sweep: %+v, want %d expired", res, due)
	}
	calls := store.Calls()
	if calls["SchedulesDueBy"] != 1 {
		t.Fatalf("SchedulesDueBy called %d times, want 1", calls["SchedulesDueBy"])
	}
	if calls["ListSchedules"] != 0 {
		t.Fatalf("the sweep listed schedules %d times: its cost must follow what is due", calls["ListSchedules"])
	}
	if calls["UpdateSchedule"] != due {
		t.Fatalf("UpdateSchedule called %d times, want %d", calls["UpdateSchedule"], due)
	}
	if f.Dir.RoleCount() != 0 {
		t.Fatalf("%d role assignments left", f.Dir.RoleCount())
	}
	if n := len(f.Audits("schedule.expire")); n != due {
		t.Fatalf("%d schedule.expire records", n)
	}
	live := 0
	p, err := store.ListSchedules(f.Ctx, domain.ScheduleQuery{Kind: domain.KindEligibility, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Items {
		if s.Live(f.Now) {
			live++
		}
	}
	if live != bystanders+due {
		t.Fatalf("%d live eligibilities, want %d", live, bystanders+due)
	}
	if rec := f.Audits("timer.sweep"); len(rec) != 1 || rec[0].Details["expired"] != "10" || rec[0].ActorID != "jitpim" {
		t.Fatalf("timer.sweep records %+v", rec)
	}
}
