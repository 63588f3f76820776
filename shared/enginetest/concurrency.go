package enginetest

import (
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// racers is how many callers each race releases at once, on every store.
const racers = 50

// race runs fn on n goroutines released at once and returns their results.
func race[T any](n int, fn func(i int) T) []T {
	out := make([]T, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

type outcome struct {
	r   domain.Request
	err error
}

// testConcurrentDecide: 50 approvers approve one request at once. One
// decision wins; the others are told it was already decided; the role is
// assigned once.
func testConcurrentDecide(t *testing.T, su suite) {
	for round := 0; round < 3; round++ {
		f := su.fixture(t)
		alice := f.NewUser()
		group := f.NewID()
		approvers := make([]domain.ObjectID, racers)
		for i := range approvers {
			approvers[i] = f.NewUser()
			f.Dir.AddMember(group, approvers[i])
		}
		f.RequireApproval(RoleGA, GroupApprover(group))
		r := f.PendingActivation(alice, RoleGA)
		f.Advance(time.Minute)

		res := race(racers, func(i int) outcome {
			got, err := f.Eng.Decide(f.Ctx, f.Call(approvers[i]), r.ID, engine.Decision{StageID: Stage1, Result: "Approve"})
			return outcome{got, err}
		})
		wins, conflicts := 0, 0
		var winner domain.Request
		for _, o := range res {
			switch {
			case o.err == nil:
				wins++
				winner = o.r
			case domain.IsCode(o.err, domain.CodeConflict):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", o.err)
			}
		}
		if wins != 1 || conflicts != racers-1 {
			t.Fatalf("round %d: %d successes and %d conflicts, want 1 and %d", round, wins, conflicts, racers-1)
		}
		WantStatus(t, winner, domain.StatusProvisioned)
		WantStatus(t, f.GetRequest(r.ID), domain.StatusProvisioned)
		if f.Dir.RoleCount() != 1 || !f.HasRole(alice, RoleGA) {
			t.Fatalf("round %d: %d role assignments, want alice's one", round, f.Dir.RoleCount())
		}
		if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
			t.Fatalf("round %d: AddRoleAssignment called %d times, want 1", round, n)
		}
		if n := len(f.Audits("grant.add")); n != 1 {
			t.Fatalf("round %d: %d grant.add records, want 1", round, n)
		}
		if a := f.Audits("approval.decide"); len(a) != 1 || a[0].ActorID != winner.Approval.Stages[0].ReviewedBy {
			t.Fatalf("round %d: approval.decide records %+v", round, a)
		}
		if s := f.SchedulesOf(alice, domain.KindAssignment); len(s) != 1 || s[0].ID != r.ID || !s[0].Live(f.Now) {
			t.Fatalf("round %d: activation schedules %+v, want one live %s", round, s, r.ID)
		}
		if g, _ := f.Grant(alice, RoleGA); len(g.Holders) != 1 || !g.HasHolder(r.ID) || !g.Applied {
			t.Fatalf("round %d: grant %+v, want the request as only holder, applied", round, g)
		}
		if err := f.VerifyAuditChain(); err != nil {
			t.Fatal(err)
		}
	}
}

// testConcurrentSelfActivate: 50 activations of one eligibility at once,
// each its own request. One is provisioned; the others are refused or fail;
// no live schedule or grant holder is left behind by a loser.
func testConcurrentSelfActivate(t *testing.T, su suite) {
	for round := 0; round < 3; round++ {
		f := su.fixture(t)
		alice := f.NewUser()
		f.MakeEligible(alice, RoleGA)

		res := race(racers, func(i int) outcome {
			r, err := f.Activate(alice, RoleGA, time.Hour)
			return outcome{r, err}
		})
		provisioned, failed, refused := 0, 0, 0
		var winner domain.Request
		for _, o := range res {
			switch {
			case o.err != nil:
				if !domain.IsCode(o.err, domain.CodeConflict) {
					t.Errorf("unexpected error: %v", o.err)
				}
				refused++
			case o.r.Status == domain.StatusProvisioned:
				provisioned++
				winner = o.r
			default:
				// A loser hears 409, never "201 Failed": it lost a race.
				t.Errorf("a caller got status %s (%s) without an error, want Provisioned or 409", o.r.Status, o.r.StatusReason)
			}
		}
		t.Logf("round %d: %d provisioned, %d failed, %d refused", round, provisioned, failed, refused)
		if provisioned != 1 || provisioned+failed+refused != racers {
			t.Fatalf("round %d: %d provisioned, %d failed, %d refused", round, provisioned, failed, refused)
		}
		if f.Dir.RoleCount() != 1 || !f.HasRole(alice, RoleGA) {
			t.Fatalf("round %d: %d role assignments", round, f.Dir.RoleCount())
		}
		if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
			t.Fatalf("round %d: AddRoleAssignment called %d times, want 1", round, n)
		}
		if n := len(f.Audits("grant.add")); n != 1 {
			t.Fatalf("round %d: %d grant.add records, want 1", round, n)
		}
		g, _ := f.Grant(alice, RoleGA)
		if len(g.Holders) != 1 || !g.HasHolder(winner.ID) || !g.Applied {
			t.Fatalf("round %d: grant %+v: want the winner as only holder", round, g)
		}
		live := 0
		for _, s := range f.SchedulesOf(alice, domain.KindAssignment) {
			if s.Live(f.Now) {
				live++
				if s.ID != winner.ID {
					t.Fatalf("round %d: a losing activation %s left a live schedule", round, s.ID)
				}
			}
		}
		if live != 1 {
			t.Fatalf("round %d: %d live activation schedules, want 1", round, live)
		}
		// Losers refused before storing leave nothing; losers refused after
		// their request was stored (the grant race) leave it Failed, audited.
		stored := 0
		for _, r := range f.RequestsOf(alice) {
			if r.Action != domain.ActionSelfActivate {
				continue
			}
			stored++
			if r.ID == winner.ID && r.Status != domain.StatusProvisioned {
				t.Fatalf("round %d: the winner %s is stored as %s", round, r.ID, r.Status)
			}
			if r.ID != winner.ID && r.Status != domain.StatusFailed {
				t.Fatalf("round %d: losing request %s is %s, want Failed", round, r.ID, r.Status)
			}
		}
		if stored < 1 || stored > provisioned+refused {
			t.Fatalf("round %d: %d activation requests stored, want 1 to %d", round, stored, provisioned+refused)
		}
		if n := len(f.Audits("request.fail")); n != stored-1 {
			t.Fatalf("round %d: %d request.fail records for %d stored losers", round, n, stored-1)
		}
		// The one activation still ends on time and takes the role with it.
		f.Advance(time.Hour + time.Minute)
		if res := f.Sweep(); res.Expired != 1 || res.Errors != 0 {
			t.Fatalf("round %d: sweep %+v, want 1 expired", round, res)
		}
		if f.HasRole(alice, RoleGA) {
			t.Fatalf("round %d: the role outlived the activation", round)
		}
	}
}

// testIdempotentSubmitSequential: the same Idempotency-Key submitted again
// returns the first request and grants nothing more.
func testIdempotentSubmitSequential(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	in := ActivationSub(alice, RoleGA, time.Hour)
	in.IdempotencyKey = "retry-7f3a"
	first := f.MustSubmit(alice, in)
	WantStatus(t, first, domain.StatusProvisioned)
	for i := 0; i < racers-1; i++ {
		again, err := f.Submit(alice, in)
		if err != nil {
			t.Fatalf("repeat %d: %v", i, err)
		}
		if again.ID != first.ID || again.Status != domain.StatusProvisioned {
			t.Fatalf("repeat %d returned %s (%s), want %s", i, again.ID, again.Status, first.ID)
		}
	}
	assertOneActivation(t, f, alice, first.ID)

	// The same key for a different request is refused.
	other := ActivationSub(alice, RoleOther, time.Hour)
	other.IdempotencyKey = in.IdempotencyKey
	_, err := f.Submit(alice, other)
	WantCode(t, err, domain.CodeConflict)
	// Another caller's same key is another request.
	bob := f.NewUser()
	f.MakeEligible(bob, RoleGA)
	b := ActivationSub(bob, RoleGA, time.Hour)
	b.IdempotencyKey = in.IdempotencyKey
	if r := f.MustSubmit(bob, b); r.ID == first.ID {
		t.Fatal("two callers' keys must not collide")
	}
}

// testIdempotentSubmitConcurrent: 50 submissions with one key at once give
// one request and one grant, and every caller gets that request back.
func testIdempotentSubmitConcurrent(t *testing.T, su suite) {
	for round := 0; round < 3; round++ {
		f := su.fixture(t)
		alice := f.NewUser()
		f.MakeEligible(alice, RoleGA)
		in := ActivationSub(alice, RoleGA, time.Hour)
		in.IdempotencyKey = "double-click"
		want := engine.RequestID(alice, in.IdempotencyKey)

		res := race(racers, func(i int) outcome {
			r, err := f.Submit(alice, in)
			return outcome{r, err}
		})
		for i, o := range res {
			if o.err != nil {
				t.Fatalf("round %d: submission %d: %v", round, i, o.err)
			}
			if o.r.ID != want {
				t.Fatalf("round %d: submission %d returned request %s, want %s", round, i, o.r.ID, want)
			}
			if o.r.Status == domain.StatusFailed {
				t.Fatalf("round %d: submission %d: request failed: %s", round, i, o.r.StatusReason)
			}
		}
		WantStatus(t, f.GetRequest(want), domain.StatusProvisioned)
		assertOneActivation(t, f, alice, want)
	}
}

func assertOneActivation(t *testing.T, f *Fixture, user domain.ObjectID, id string) {
	t.Helper()
	n := 0
	for _, r := range f.RequestsOf(user) {
		if r.Action == domain.ActionSelfActivate {
			n++
			if r.ID != id {
				t.Fatalf("a second activation request %s was stored", r.ID)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d activation requests stored, want 1", n)
	}
	if s := f.SchedulesOf(user, domain.KindAssignment); len(s) != 1 || s[0].ID != id {
		t.Fatalf("activation schedules %+v: want just %s", s, id)
	}
	if f.Dir.RoleCount() != 1 || !f.HasRole(user, RoleGA) {
		t.Fatalf("%d role assignments, want the user's one", f.Dir.RoleCount())
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment called %d times, want 1", n)
	}
	if n := len(f.Audits("grant.add")); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	if n := len(f.AuditsFor("request.create", user)); n != 2 { // the eligibility and the one activation
		t.Fatalf("%d request.create records, want 2", n)
	}
	g, _ := f.Grant(user, RoleGA)
	if len(g.Holders) != 1 || !g.HasHolder(id) || !g.Applied {
		t.Fatalf("grant %+v: want one holder %s, applied", g, id)
	}
}

// testConcurrentSweep runs the expiry sweep twice at once over 20 due
// activations: each is revoked once, every schedule ends Expired, every
// grant settles with nobody holding it.
func testConcurrentSweep(t *testing.T, su suite) {
	f := su.fixture(t)
	const due = 20
	users := make([]domain.ObjectID, due)
	ids := make([]string, due)
	for i := range users {
		users[i] = f.NewUser()
		f.MakeEligible(users[i], RoleOther)
		ids[i] = f.MustActivate(users[i], RoleOther, time.Hour).ID
	}
	roles := f.Dir.RoleCount()
	removes := f.Dir.Calls()["RemoveRoleAssignment"]
	f.Advance(time.Hour + time.Minute)

	res := race(2, func(int) error {
		_, err := f.Eng.Sweep(f.Ctx, f.System())
		return err
	})
	for _, err := range res {
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
	}
	if n := f.Dir.Calls()["RemoveRoleAssignment"] - removes; n != due {
		t.Errorf("RemoveRoleAssignment called %d times, want %d", n, due)
	}
	if n := roles - f.Dir.RoleCount(); n != due {
		t.Errorf("%d role assignments removed, want %d", n, due)
	}
	for i, u := range users {
		if f.HasRole(u, RoleOther) {
			t.Errorf("user %d still holds the role", i)
		}
		s, err := f.Store.GetSchedule(f.Ctx, ids[i])
		if err != nil || s.Status != domain.ScheduleExpired {
			t.Errorf("schedule %d: %s %v, want Expired", i, s.Status, err)
		}
		if g, _ := f.Grant(u, RoleOther); len(g.Holders) != 0 || g.Applied || !g.Settled() {
			t.Errorf("grant %d: %+v, want settled with no holder", i, g)
		}
		if n := len(f.AuditsFor("grant.remove", u)); n != 1 {
			t.Errorf("user %d: %d grant.remove records, want 1", i, n)
		}
		if n := len(f.AuditsFor("schedule.expire", u)); n != 1 {
			t.Errorf("user %d: %d schedule.expire records, want 1", i, n)
		}
	}
	if g, err := f.Store.UnsettledGrants(f.Ctx, 0); err != nil || len(g) != 0 {
		t.Errorf("unsettled grants %+v %v, want none", g, err)
	}
	if err := f.VerifyAuditChain(); err != nil {
		t.Fatal(err)
	}
}
