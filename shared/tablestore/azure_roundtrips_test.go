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

// TestAzureRoundTrips counts Table Storage round trips and Azure Resource
// Manager calls for an activation of an Azure resource role (Contributor
// on a resource group) on a warm store: without approval, by an approval
// that grants, and its expiry by the sweep. Azure roles take the engine's
// one path, so the figures match the directory roles' (TestRoundTrips);
// the ARM calls are one list (the outside-assignment check) and one PUT
// per grant, one DELETE per expiry.
func TestAzureRoundTrips(t *testing.T) {
	conn := azuritetest.Start(t)
	tg := enginetest.AzContributorRG
	eligible := func(f *enginetest.Fixture) domain.ObjectID {
		u := f.NewUser()
		f.SeedEligible(u, tg, time.Time{})
		return u
	}
	type figure struct {
		name          string
		trips, limit  int64
		arm, armLimit int
	}
	var figs []figure
	measure := func(f *enginetest.Fixture, s *tablestore.Store, name string, limit int64, armLimit int, op func()) {
		armBefore := 0
		for _, n := range f.ARM.Calls() {
			armBefore += n
		}
		s.ResetRoundTrips()
		op()
		armAfter := 0
		for _, n := range f.ARM.Calls() {
			armAfter += n
		}
		figs = append(figs, figure{name, s.RoundTrips(), limit, armAfter - armBefore, armLimit})
	}

	f, s := engineFixture(t, conn, tablestore.Options{})
	f.MustActivate(eligible(f), tg, time.Hour) // warm
	f.Advance(2 * time.Hour)
	f.Sweep() // expires the warm-up activation
	dev := eligible(f)
	measure(f, s, "Azure selfActivate", 30, 2, func() { f.MustActivate(dev, tg, time.Hour) })
	f.Advance(time.Hour + time.Minute)
	measure(f, s, "Azure expiry by the sweep", 24, 1, func() {
		if res := f.Sweep(); res.Expired != 1 || res.Errors != 0 {
			t.Fatalf("sweep: %+v", res)
		}
	})

	f, s = engineFixture(t, conn, tablestore.Options{})
	owner := f.NewUser()
	f.RequireApproval(tg, domain.Approver{Kind: domain.ApproverUser, ID: owner})
	if _, err := f.Activate(eligible(f), tg, time.Hour); err != nil { // warm
		t.Fatal(err)
	}
	pending, err := f.Activate(eligible(f), tg, time.Hour)
	if err != nil || pending.Status != domain.StatusPendingApproval {
		t.Fatalf("activation: %s %v", pending.Status, err)
	}
	measure(f, s, "Azure approval that grants", 30, 2, func() {
		r, err := f.Eng.Decide(f.Ctx, f.Call(owner), pending.ID, engine.Decision{StageID: enginetest.Stage1, Result: "Approve"})
		if err != nil || r.Status != domain.StatusProvisioned {
			t.Fatalf("Decide: %s %v", r.Status, err)
		}
	})

	// The settings table's Owner row: the other owners are read from ARM
	// as the activation is made (one more ARM call, and one directory
	// lookup per owner, no more Table Storage round trips).
	f, s = engineFixture(t, conn, tablestore.Options{})
	f.ARM.Seed(domain.AzureRoleAssignment{Name: string(f.NewID()), Scope: enginetest.AzSub, PrincipalID: f.NewUser(), RoleDefinitionID: domain.AzureRoleOwner})
	f.RequireApproval(tg, enginetest.ResourceOwners)
	if _, err := f.Activate(eligible(f), tg, time.Hour); err != nil { // warm
		t.Fatal(err)
	}
	asker := eligible(f)
	measure(f, s, "Azure activation to owners", 14, 2, func() {
		if r, err := f.Activate(asker, tg, time.Hour); err != nil || r.Status != domain.StatusPendingApproval {
			t.Fatalf("activation: %s %v", r.Status, err)
		}
	})

	for _, g := range figs {
		t.Logf("%-28s %3d round trips (limit %d), %d ARM calls (limit %d)", g.name, g.trips, g.limit, g.arm, g.armLimit)
		if g.trips > g.limit || g.arm > g.armLimit {
			t.Errorf("%s: %d round trips and %d ARM calls, over %d and %d", g.name, g.trips, g.arm, g.limit, g.armLimit)
		}
	}
}
