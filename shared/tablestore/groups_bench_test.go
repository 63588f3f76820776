package tablestore_test

import (
	"maps"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// TestRoundTripsGroupPrincipal measures an administrator's active
// assignment to a user and to a role-assignable group on Azurite: the
// group's costs no more Table Storage round trips (its kind is one more
// property of rows already written; measured: 23 against the user's 25,
// since no mail to the principal is queued: a group has no mailbox) and
// three more directory calls, made
// once at the boundary: the user lookup that finds nothing, the group
// lookup (isAssignableToRole) and one membership check per break-glass
// account (the fixture has one).
func TestRoundTripsGroupPrincipal(t *testing.T) {
	conn := azuritetest.Start(t)
	f, s := engineFixture(t, conn, tablestore.Options{})
	f.MustActivate(eligibleUser(f), roleApp, time.Hour) // warm, as TestRoundTrips does
	measure := func(principal domain.ObjectID) (store int64, dir int) {
		before := maps.Clone(f.Dir.Calls())
		s.ResetRoundTrips()
		f.MustSubmit(f.Admin, enginetest.AssignSub(principal, roleApp, time.Hour))
		for op, n := range f.Dir.Calls() {
			dir += n - before[op]
		}
		return s.RoundTrips(), dir
	}
	g := f.NewID()
	f.Dir.AddRoleAssignableGroup(g, "Ops admins")
	userStore, userDir := measure(f.NewUser())
	groupStore, groupDir := measure(g)
	t.Logf("adminAssign (active, 1 h): user %d round trips, %d directory calls; group %d round trips, %d directory calls",
		userStore, userDir, groupStore, groupDir)
	if groupStore > userStore {
		t.Errorf("a group's assignment costs %d round trips, a user's %d: want no more", groupStore, userStore)
	}
	if groupDir != userDir+3 {
		t.Errorf("a group's assignment makes %d directory calls, a user's %d: want 3 more", groupDir, userDir)
	}
}
