package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/memstore"
)

// benchFixture is the suite's fixture on a memory store.
func benchFixture(b *testing.B) *enginetest.Fixture {
	return enginetest.NewFixture(b, memstore.New())
}

// BenchmarkSelfActivate measures one activation (checks, request, schedule,
// grant, directory call, audit) on memstore and fakedir. The user
// deactivates between iterations, outside the timer.
func BenchmarkSelfActivate(b *testing.B) {
	f := benchFixture(b)
	u := f.NewUser()
	f.MakeEligible(u, enginetest.RoleOther)
	act := enginetest.ActivationSub(u, enginetest.RoleOther, time.Hour)
	deact := enginetest.DeactivationSub(u, enginetest.RoleOther)
	dirBefore, deactCalls := dirTotal(f), 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := f.Eng.Submit(f.Ctx, f.Call(u), act)
		if err != nil || r.Status != domain.StatusProvisioned {
			b.Fatalf("activation %d: %+v %v", i, r, err)
		}
		b.StopTimer()
		n := dirTotal(f)
		if _, err := f.Eng.Submit(f.Ctx, f.Call(u), deact); err != nil {
			b.Fatal(err)
		}
		deactCalls += dirTotal(f) - n
		b.StartTimer()
	}
	b.StopTimer()
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != b.N {
		b.Fatalf("%d AddRoleAssignment calls for %d activations", n, b.N)
	}
	reportDirCalls(b, f, dirBefore, deactCalls)
}

// reportDirCalls reports directory (Graph) calls per operation, less those
// made outside the timed part (setup, deactivations).
func reportDirCalls(b *testing.B, f *enginetest.Fixture, before, outside int) {
	b.ReportMetric(float64(dirTotal(f)-before-outside)/float64(b.N), "graph-calls/op")
}

// BenchmarkDecide measures approving a pending activation, which provisions
// it. Each iteration decides a different user's request.
func BenchmarkDecide(b *testing.B) {
	f := benchFixture(b)
	approver := f.NewUser()
	f.RequireApproval(enginetest.RoleOther, enginetest.UserApprover(approver))
	ids := make([]string, b.N)
	for i := range ids {
		u := f.NewUser()
		ids[i] = f.PendingActivation(u, enginetest.RoleOther).ID
	}
	d := engine.Decision{StageID: enginetest.Stage1, Result: domain.ReviewApprove, Justification: "ok"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := f.Eng.Decide(f.Ctx, f.Call(approver), ids[i], d)
		if err != nil || r.Status != domain.StatusProvisioned {
			b.Fatalf("decide %d: %+v %v", i, r, err)
		}
	}
	b.StopTimer()
	if f.Dir.RoleCount() != b.N {
		b.Fatalf("%d role assignments for %d approvals", f.Dir.RoleCount(), b.N)
	}
}

func dirTotal(f *enginetest.Fixture) int {
	total := 0
	for _, n := range f.Dir.Calls() {
		total += n
	}
	return total
}
