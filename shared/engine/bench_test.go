package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// BenchmarkSelfActivate measures one activation (checks, request, schedule,
// grant, directory call, audit) on memstore and fakedir. The user
// deactivates between iterations, outside the timer.
func BenchmarkSelfActivate(b *testing.B) {
	f := newFixture(b)
	u := f.newUser()
	f.makeEligible(u, roleOther)
	act := activationSub(u, roleOther, time.Hour)
	deact := deactivationSub(u, roleOther)
	dirBefore, deactCalls := dirTotal(f), 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := f.eng.Submit(f.ctx, f.call(u), act)
		if err != nil || r.Status != domain.StatusProvisioned {
			b.Fatalf("activation %d: %+v %v", i, r, err)
		}
		b.StopTimer()
		n := dirTotal(f)
		if _, err := f.eng.Submit(f.ctx, f.call(u), deact); err != nil {
			b.Fatal(err)
		}
		deactCalls += dirTotal(f) - n
		b.StartTimer()
	}
	b.StopTimer()
	if n := f.dir.Calls()["AddRoleAssignment"]; n != b.N {
		b.Fatalf("%d AddRoleAssignment calls for %d activations", n, b.N)
	}
	reportDirCalls(b, f, dirBefore, deactCalls)
}

// reportDirCalls reports directory (Graph) calls per operation, less those
// made outside the timed part (setup, deactivations).
func reportDirCalls(b *testing.B, f *fixture, before, outside int) {
	b.ReportMetric(float64(dirTotal(f)-before-outside)/float64(b.N), "graph-calls/op")
}

// BenchmarkDecide measures approving a pending activation, which provisions
// it. Each iteration decides a different user's request.
func BenchmarkDecide(b *testing.B) {
	f := newFixture(b)
	approver := f.newUser()
	f.requireApproval(roleOther, userApprover(approver))
	ids := make([]string, b.N)
	for i := range ids {
		u := f.newUser()
		ids[i] = f.pendingActivation(u, roleOther).ID
	}
	d := engine.Decision{StageID: stage1, Result: domain.ReviewApprove, Justification: "ok"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := f.eng.Decide(f.ctx, f.call(approver), ids[i], d)
		if err != nil || r.Status != domain.StatusProvisioned {
			b.Fatalf("decide %d: %+v %v", i, r, err)
		}
	}
	b.StopTimer()
	if f.dir.RoleCount() != b.N {
		b.Fatalf("%d role assignments for %d approvals", f.dir.RoleCount(), b.N)
	}
}

func dirTotal(f *fixture) int {
	total := 0
	for _, n := range f.dir.Calls() {
		total += n
	}
	return total
}
