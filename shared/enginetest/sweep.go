package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// testSweepBreakGlassUntouched: a break-glass account's schedule is never
// ended by the sweep, even if one exists in the store.
func testSweepBreakGlassUntouched(t *testing.T, su suite) {
	f := su.fixture(t)
	s := domain.Schedule{ID: string(f.NewID()), Kind: domain.KindAssignment, PrincipalID: f.BreakGlass, Target: RoleGA,
		AssignmentType: domain.AssignmentAssigned, Start: f.Now, End: f.Now.Add(time.Hour), Status: domain.ScheduleProvisioned}
	if err := f.Store.CreateSchedule(f.Ctx, &s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, f.BreakGlass, domain.RoleGlobalAdministrator, "/"); err != nil {
		t.Fatal(err)
	}
	f.Advance(2 * time.Hour)
	f.Sweep()
	if !f.HasRole(f.BreakGlass, RoleGA) {
		t.Fatal("the sweep revoked a break-glass account")
	}
	if f.Dir.Calls()["RemoveRoleAssignment"] != 0 {
		t.Fatal("the sweep tried to revoke a break-glass account")
	}
}
