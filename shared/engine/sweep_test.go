package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// TestSweepCost: with 1,000 live permanent eligibilities and 10 activations
// due, a sweep ends exactly the 10, asks the store's due index once, and
// leaves everything else alone.
func TestSweepCost(t *testing.T) {
	f := newFixture(t)
	const bystanders, due = 1000, 10
	for i := 0; i < bystanders; i++ {
		f.makeEligible(f.newUser(), roleOther)
	}
	users := make([]domain.ObjectID, due)
	for i := range users {
		users[i] = f.newUser()
		f.makeEligible(users[i], roleGA)
		if r, err := f.activate(users[i], roleGA, time.Hour); err != nil || r.Status != domain.StatusProvisioned {
			t.Fatalf("activation %d: %+v %v", i, r, err)
		}
	}
	if f.dir.RoleCount() != due {
		t.Fatalf("%d role assignments", f.dir.RoleCount())
	}

	f.advance(time.Hour + time.Minute)
	f.store.ResetCalls()
	res := f.sweep()
	if res.Expired != due || res.Errors != 0 {
		t.Fatalf("sweep: %+v, want %d expired", res, due)
	}
	calls := f.store.Calls()
	if calls["SchedulesEndingBy"] != 1 {
		t.Fatalf("SchedulesEndingBy called %d times, want 1", calls["SchedulesEndingBy"])
	}
	if calls["ListSchedules"] != 0 {
		t.Fatalf("the sweep listed schedules %d times: its cost must follow what is due", calls["ListSchedules"])
	}
	if calls["UpdateSchedule"] != due {
		t.Fatalf("UpdateSchedule called %d times, want %d", calls["UpdateSchedule"], due)
	}
	if f.dir.RoleCount() != 0 {
		t.Fatalf("%d role assignments left", f.dir.RoleCount())
	}
	if n := len(f.audits("schedule.expire")); n != due {
		t.Fatalf("%d schedule.expire records", n)
	}
	live := 0
	p, err := f.store.ListSchedules(f.ctx, domain.ScheduleQuery{Kind: domain.KindEligibility, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Items {
		if s.Live(f.now) {
			live++
		}
	}
	if live != bystanders+due {
		t.Fatalf("%d live eligibilities, want %d", live, bystanders+due)
	}
	if rec := f.audits("timer.sweep"); len(rec) != 1 || rec[0].Details["expired"] != "10" || rec[0].ActorID != "jitpim" {
		t.Fatalf("timer.sweep records %+v", rec)
	}
}

// TestSweepBreakGlassUntouched: a break-glass account's schedule is never
// ended by the sweep, even if one exists in the store.
func TestSweepBreakGlassUntouched(t *testing.T) {
	f := newFixture(t)
	s := domain.Schedule{ID: string(f.newID()), Kind: domain.KindAssignment, PrincipalID: f.breakGlass, Target: roleGA,
		AssignmentType: domain.AssignmentAssigned, Start: f.now, End: f.now.Add(time.Hour), Status: domain.ScheduleProvisioned}
	if err := f.store.CreateSchedule(f.ctx, &s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, f.breakGlass, domain.RoleGlobalAdministrator, "/"); err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Hour)
	f.sweep()
	if !f.hasRole(f.breakGlass, roleGA) {
		t.Fatal("the sweep revoked a break-glass account")
	}
	if f.dir.Calls()["RemoveRoleAssignment"] != 0 {
		t.Fatal("the sweep tried to revoke a break-glass account")
	}
}
