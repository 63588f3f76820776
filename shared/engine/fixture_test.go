package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/engine/enginetest"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/memstore"
)

// fixture is enginetest.Fixture on a memory store, under the names
// reviews_test.go and alerts_test.go were written against; it goes when
// access reviews and alerts move out of the engine. Those tests set eng
// (to restart the engine with governance wired to the memory store), so
// the fields here are the truth: each helper hands the engine and the
// clock to the suite's fixture before delegating.
type fixture struct {
	ft         *enginetest.Fixture
	mu         sync.Mutex // orders sync's writes before the reads of concurrent helpers
	t          testing.TB
	ctx        context.Context
	store      *memstore.Store
	dir        *fakedir.Dir
	eng        *engine.Engine
	cfg        engine.Config
	now        time.Time
	admin      domain.ObjectID
	breakGlass domain.ObjectID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store := memstore.New()
	ft := enginetest.NewFixture(t, store)
	return &fixture{ft: ft, t: t, ctx: ft.Ctx, store: store, dir: ft.Dir, eng: ft.Eng, cfg: ft.Cfg, now: ft.Now,
		admin: ft.Admin, breakGlass: ft.BreakGlass}
}

// sync hands the suite's fixture the engine and the clock these tests own.
// It writes only what changed, which the tests change between calls,
// never during them: helpers running at once then only read.
func (f *fixture) sync() *enginetest.Fixture {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ft.Eng != f.eng {
		f.ft.Eng = f.eng
	}
	if !f.ft.Now.Equal(f.now) {
		f.ft.Now = f.now
	}
	return f.ft
}

var (
	roleGA       = enginetest.RoleGA
	roleOther    = enginetest.RoleOther
	wantCode     = enginetest.WantCode
	wantContains = enginetest.WantContains
)

func assignSub(user domain.ObjectID, t domain.Target, d time.Duration) engine.Submission {
	return enginetest.AssignSub(user, t, d)
}

func deactivationSub(user domain.ObjectID, t domain.Target) engine.Submission {
	return enginetest.DeactivationSub(user, t)
}

func (f *fixture) newID() domain.ObjectID   { return f.ft.NewID() }
func (f *fixture) newUser() domain.ObjectID { return f.ft.NewUser() }
func (f *fixture) advance(d time.Duration)  { f.now = f.now.Add(d) }

func (f *fixture) callAuth(id domain.ObjectID, auth domain.AuthEvidence) *engine.Call {
	return f.sync().CallAuth(id, auth)
}
func (f *fixture) call(id domain.ObjectID) *engine.Call { return f.sync().Call(id) }
func (f *fixture) system() *engine.Call                 { return f.sync().System() }

func (f *fixture) mustSubmit(caller domain.ObjectID, in engine.Submission) domain.Request {
	f.t.Helper()
	return f.sync().MustSubmit(caller, in)
}

func (f *fixture) makeEligible(user domain.ObjectID, t domain.Target) domain.Request {
	f.t.Helper()
	return f.sync().MakeEligible(user, t)
}

func (f *fixture) activate(user domain.ObjectID, t domain.Target, d time.Duration) (domain.Request, error) {
	return f.sync().Activate(user, t, d)
}

func (f *fixture) sweep() engine.SweepResult {
	f.t.Helper()
	return f.sync().Sweep()
}

func (f *fixture) setPolicy(id string, change func(*domain.Policy)) domain.Policy {
	f.t.Helper()
	return f.sync().SetPolicy(id, change)
}

func (f *fixture) audits(action string) []domain.AuditRecord {
	f.t.Helper()
	return f.ft.Audits(action)
}

func (f *fixture) auditsFor(action string, principal domain.ObjectID) []domain.AuditRecord {
	return f.ft.AuditsFor(action, principal)
}

func (f *fixture) grant(user domain.ObjectID, t domain.Target) (domain.Grant, bool) {
	f.t.Helper()
	return f.ft.Grant(user, t)
}

func (f *fixture) requestsOf(principal domain.ObjectID) []domain.Request {
	f.t.Helper()
	return f.ft.RequestsOf(principal)
}

func (f *fixture) schedulesOf(principal domain.ObjectID, kind domain.RequestKind) []domain.Schedule {
	f.t.Helper()
	return f.ft.SchedulesOf(principal, kind)
}

func (f *fixture) hasRole(user domain.ObjectID, t domain.Target) bool { return f.ft.HasRole(user, t) }

// writes is enginetest.Writes, counted by the memory store itself: the
// reviews tests restart the engine on the memory store directly, past the
// suite fixture's counting wrapper.
type writes struct {
	store map[string]int
	dir   map[string]int
}

func (f *fixture) snapshot() writes {
	return writes{store: f.store.Calls(), dir: f.dir.Calls()}
}
