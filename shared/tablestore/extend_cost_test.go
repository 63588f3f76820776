package tablestore_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// TestRoundTripsExtend counts the Table Storage round trips of a holder's
// selfExtend of an active assignment, the admin's approval that moves its
// end (schedule, grant holder, due index), and the expiry sweep at the old
// end that leaves it.
func TestRoundTripsExtend(t *testing.T) {
	conn := azuritetest.Start(t)
	f, s := engineFixture(t, conn, tablestore.Options{})
	f.MustActivate(eligibleUser(f), roleApp, time.Hour) // warm: first audit append and reads
	u := f.NewUser()
	a := f.MustSubmit(f.Admin, enginetest.AssignSub(u, roleApp, 10*24*time.Hour))
	measure := func(op func()) int64 {
		s.ResetRoundTrips()
		op()
		return s.RoundTrips()
	}
	var r domain.Request
	submit := measure(func() {
		r = f.MustSubmit(u, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfExtend, PrincipalID: u, Target: roleApp,
			Justification: "three more weeks", Schedule: enginetest.Lasting(30 * 24 * time.Hour)})
	})
	decide := measure(func() {
		got, err := f.Eng.Decide(f.Ctx, f.Call(f.Admin), r.ID, engine.Decision{StageID: "admin", Result: "Approve", Justification: "ok"})
		if err != nil || got.Status != domain.StatusProvisioned {
			t.Fatalf("approve: %s %v", got.Status, err)
		}
	})
	f.Advance(2 * time.Hour)
	f.Sweep() // the warm-up activation ends here, not in the measured sweep
	f.Now = a.EndAt.Add(time.Minute)
	sweep := measure(func() {
		if res := f.Sweep(); res.Expired != 0 {
			t.Fatalf("the sweep ended the extended assignment: %+v", res)
		}
	})
	t.Logf("Table Storage round trips: selfExtend %d, approval that extends %d, sweep past the old end %d", submit, decide, sweep)
	for _, fig := range []struct {
		name  string
		n     int64
		limit int64
	}{{"selfExtend", submit, 30}, {"extension approval", decide, 30}, {"sweep past the old end", sweep, 12}} {
		if fig.n > fig.limit {
			t.Errorf("%s: %d round trips, more than %d", fig.name, fig.n, fig.limit)
		}
	}
}
