package engine_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

const racers = 50

// race runs fn on racers goroutines released at once and returns their results.
func race[T any](fn func(i int) T) []T {
	out := make([]T, racers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(racers)
	done.Add(racers)
	for i := 0; i < racers; i++ {
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

// TestConcurrentDecide: 50 approvers approve one request at once. One
// decision wins; the others are told it was already decided; the role is
// assigned once.
func TestConcurrentDecide(t *testing.T) {
	for round := 0; round < 3; round++ {
		f := newFixture(t)
		alice := f.newUser()
		group := f.newID()
		approvers := make([]domain.ObjectID, racers)
		for i := range approvers {
			approvers[i] = f.newUser()
			f.dir.AddMember(group, approvers[i])
		}
		f.requireApproval(roleGA, groupApprover(group))
		r := f.pendingActivation(alice, roleGA)
		f.advance(time.Minute)

		res := race(func(i int) outcome {
			got, err := f.eng.Decide(f.ctx, f.call(approvers[i]), r.ID, engine.Decision{StageID: stage1, Result: "Approve"})
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
		wantStatus(t, winner, domain.StatusProvisioned)
		wantStatus(t, f.getRequest(r.ID), domain.StatusProvisioned)
		if f.dir.RoleCount() != 1 || !f.hasRole(alice, roleGA) {
			t.Fatalf("round %d: %d role assignments, want alice's one", round, f.dir.RoleCount())
		}
		if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
			t.Fatalf("round %d: AddRoleAssignment called %d times, want 1", round, n)
		}
		if n := len(f.audits("grant.add")); n != 1 {
			t.Fatalf("round %d: %d grant.add records, want 1", round, n)
		}
		if a := f.audits("approval.decide"); len(a) != 1 || a[0].ActorID != winner.Approval.Stages[0].ReviewedBy {
			t.Fatalf("round %d: approval.decide records %+v", round, a)
		}
		if s := f.schedulesOf(alice, domain.KindAssignment); len(s) != 1 {
			t.Fatalf("round %d: %d activation schedules, want 1", round, len(s))
		}
		if err := verifyAuditChain(f); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentSelfActivate: 50 activations of one eligibility at once,
// each its own request. One is provisioned; the others are refused or fail;
// no live schedule or grant holder is left behind by a loser.
func TestConcurrentSelfActivate(t *testing.T) {
	for round := 0; round < 3; round++ {
		f := newFixture(t)
		alice := f.newUser()
		f.makeEligible(alice, roleGA)

		res := race(func(i int) outcome {
			r, err := f.activate(alice, roleGA, time.Hour)
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
		if provisioned != 1 || provisioned+failed+refused != racers {
			t.Fatalf("round %d: %d provisioned, %d failed, %d refused", round, provisioned, failed, refused)
		}
		if f.dir.RoleCount() != 1 || !f.hasRole(alice, roleGA) {
			t.Fatalf("round %d: %d role assignments", round, f.dir.RoleCount())
		}
		if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
			t.Fatalf("round %d: AddRoleAssignment called %d times, want 1", round, n)
		}
		if n := len(f.audits("grant.add")); n != 1 {
			t.Fatalf("round %d: %d grant.add records, want 1", round, n)
		}
		g, _ := f.grant(alice, roleGA)
		if len(g.Holders) != 1 || !g.HasHolder(winner.ID) || !g.Applied {
			t.Fatalf("round %d: grant %+v: want the winner as only holder", round, g)
		}
		live := 0
		for _, s := range f.schedulesOf(alice, domain.KindAssignment) {
			if s.Live(f.now) {
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
		for _, r := range f.requestsOf(alice) {
			if r.Action != domain.ActionSelfActivate {
				continue
			}
			stored++
			if r.ID != winner.ID && r.Status != domain.StatusFailed {
				t.Fatalf("round %d: losing request %s is %s, want Failed", round, r.ID, r.Status)
			}
		}
		if stored < 1 || stored > provisioned+refused {
			t.Fatalf("round %d: %d activation requests stored, want 1 to %d", round, stored, provisioned+refused)
		}
		if n := len(f.audits("request.fail")); n != stored-1 {
			t.Fatalf("round %d: %d request.fail records for %d stored losers", round, n, stored-1)
		}
		// The one activation still ends on time and takes the role with it.
		f.advance(time.Hour + time.Minute)
		f.sweep()
		if f.hasRole(alice, roleGA) {
			t.Fatalf("round %d: the role outlived the activation", round)
		}
	}
}

// TestIdempotentSubmitSequential: the same Idempotency-Key submitted again
// returns the first request and grants nothing more.
func TestIdempotentSubmitSequential(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.makeEligible(alice, roleGA)
	in := activationSub(alice, roleGA, time.Hour)
	in.IdempotencyKey = "retry-7f3a"
	first := f.mustSubmit(alice, in)
	wantStatus(t, first, domain.StatusProvisioned)
	for i := 0; i < racers-1; i++ {
		again, err := f.submit(alice, in)
		if err != nil {
			t.Fatalf("repeat %d: %v", i, err)
		}
		if again.ID != first.ID || again.Status != domain.StatusProvisioned {
			t.Fatalf("repeat %d returned %s (%s), want %s", i, again.ID, again.Status, first.ID)
		}
	}
	assertOneActivation(t, f, alice, first.ID)

	// The same key for a different request is refused.
	other := activationSub(alice, roleOther, time.Hour)
	other.IdempotencyKey = in.IdempotencyKey
	_, err := f.submit(alice, other)
	wantCode(t, err, domain.CodeConflict)
	// Another caller's same key is another request.
	bob := f.newUser()
	f.makeEligible(bob, roleGA)
	b := activationSub(bob, roleGA, time.Hour)
	b.IdempotencyKey = in.IdempotencyKey
	if r := f.mustSubmit(bob, b); r.ID == first.ID {
		t.Fatal("two callers' keys must not collide")
	}
}

// TestIdempotentSubmitConcurrent: 50 submissions with one key at once give
// one request and one grant, and every caller gets that request back.
func TestIdempotentSubmitConcurrent(t *testing.T) {
	for round := 0; round < 3; round++ {
		f := newFixture(t)
		alice := f.newUser()
		f.makeEligible(alice, roleGA)
		in := activationSub(alice, roleGA, time.Hour)
		in.IdempotencyKey = "double-click"
		want := engine.RequestID(alice, in.IdempotencyKey)

		res := race(func(i int) outcome {
			r, err := f.submit(alice, in)
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
		wantStatus(t, f.getRequest(want), domain.StatusProvisioned)
		assertOneActivation(t, f, alice, want)
	}
}

func assertOneActivation(t *testing.T, f *fixture, user domain.ObjectID, id string) {
	t.Helper()
	n := 0
	for _, r := range f.requestsOf(user) {
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
	if s := f.schedulesOf(user, domain.KindAssignment); len(s) != 1 || s[0].ID != id {
		t.Fatalf("activation schedules %+v: want just %s", s, id)
	}
	if f.dir.RoleCount() != 1 || f.dir.Calls()["AddRoleAssignment"] < 1 {
		t.Fatalf("%d role assignments, want 1", f.dir.RoleCount())
	}
	if n := len(f.audits("grant.add")); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}
	if n := len(f.auditsFor("request.create", user)); n != 2 { // the eligibility and the one activation
		t.Fatalf("%d request.create records, want 2", n)
	}
	g, _ := f.grant(user, roleGA)
	if len(g.Holders) != 1 || !g.HasHolder(id) {
		t.Fatalf("grant %+v: want one holder %s", g, id)
	}
}
