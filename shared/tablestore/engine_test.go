package tablestore_test

// The engine on Table Storage (Azurite): the engine's behaviour suite,
// races included, where the conditional writes are real ETags over HTTP,
// and what only this store can do, fail a write on the wire. Run with
// -race.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// roleApp is the role users activate here (Application Administrator).
var roleApp = enginetest.RoleOther

// engineFixture is the engine suite's fixture on a fresh set of tables
// (opts.TablePrefix is fresh unless given). The store comes back too, for
// what only Table Storage has: round trips, reviews.
func engineFixture(t testing.TB, conn string, opts tablestore.Options, mods ...func(*enginetest.Setup)) (*enginetest.Fixture, *tablestore.Store) {
	t.Helper()
	s := newStore(t, conn, opts)
	return enginetest.NewFixture(t, s, mods...), s
}

// TestEngineSuite runs the engine's behaviour suite on Azurite, every
// fixture on tables of its own.
func TestEngineSuite(t *testing.T) {
	conn := azuritetest.Start(t)
	enginetest.Run(t, func(t testing.TB) domain.Store { return newStore(t, conn, tablestore.Options{}) })
}

// writeFault is a transport that fails the nth write (any method but GET
// and HEAD) after it is armed, once, then passes everything through.
// With after set, the write is sent first, so it lands and only its answer
// is lost.
type writeFault struct {
	mu     sync.Mutex
	armed  bool
	n      int // 0: count only
	status int
	after  bool
	writes int
	hit    string
}

func (w *writeFault) arm(n, status int, after bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.n, w.status, w.after, w.writes, w.hit = true, n, status, after, 0, ""
}

func (w *writeFault) disarm() (writes int, hit string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	return w.writes, w.hit
}

func (w *writeFault) Do(req *http.Request) (*http.Response, error) {
	fire := false
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.mu.Lock()
		if w.armed {
			w.writes++
			if w.writes == w.n {
				fire = true
				w.hit = req.Method + " " + req.URL.Path
			}
		}
		w.mu.Unlock()
	}
	if !fire {
		return http.DefaultTransport.RoundTrip(req)
	}
	if w.after {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		resp.Body.Close()
	}
	return injected(req, w.status), nil
}

// TestEngineActivationStorageFault fails one write of an activation, each
// write in turn: with 503 (nothing written) and with 500 after the write
// landed (the answer is lost), once with the store's own retries and once
// with retries off so that the engine sees the failure. Whatever the
// engine answers, right away there is never directory access without a
// live schedule holding the grant, never two holders or live activations;
// and after the sweep has had its chance the request is either
// provisioned with everything in place or failed (or never stored) with
// no holder, no live schedule and no access left.
func TestEngineActivationStorageFault(t *testing.T) {
	conn := azuritetest.Start(t)
	modes := []struct {
		name        string
		status      int
		after       bool
		maxAttempts int
	}{
		{"503/retried", http.StatusServiceUnavailable, false, 0},
		{"503/surfaced", http.StatusServiceUnavailable, false, 1},
		{"500-landed/retried", http.StatusInternalServerError, true, 0},
		{"500-landed/surfaced", http.StatusInternalServerError, true, 1},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			wf := &writeFault{}
			f, _ := engineFixture(t, conn, tablestore.Options{Client: &policy.ClientOptions{Transport: wf},
				MaxAttempts: m.maxAttempts, RetryDelay: time.Millisecond},
				func(s *enginetest.Setup) { s.Config.StuckAfter = time.Second })
			f.Sweep() // warm the audit head, so every run writes the same sequence

			// A clean activation tells how many writes one makes.
			probe := f.NewUser()
			f.MakeEligible(probe, roleApp)
			wf.arm(0, 0, false)
			f.MustActivate(probe, roleApp, time.Hour)
			writes, _ := wf.disarm()
			if writes < 5 {
				t.Fatalf("a clean activation made %d writes", writes)
			}
			completed, failed := 0, 0
			for n := 1; n <= writes; n++ {
				user := f.NewUser()
				f.MakeEligible(user, roleApp)
				wf.arm(n, m.status, m.after)
				r, err := f.Activate(user, roleApp, time.Hour)
				_, hit := wf.disarm()
				if hit == "" {
					continue // this run made fewer writes (parallel index writes may merge differently)
				}
				if err == nil && r.Status != domain.StatusProvisioned && r.Status != domain.StatusFailed {
					t.Fatalf("write %d (%s): Submit returned %s without an error", n, hit, r.Status)
				}
				if m.maxAttempts == 0 && (err != nil || r.Status != domain.StatusProvisioned) {
					t.Errorf("write %d (%s): one retried fault should be invisible, got %s (%s) %v", n, hit, r.Status, r.StatusReason, err)
				}
				checkActivationState(f, fmt.Sprintf("write %d (%s), right after", n, hit), user, roleApp)
				// Let the sweep resume or settle whatever was left.
				f.Advance(2 * time.Second)
				f.Sweep()
				if checkActivationState(f, fmt.Sprintf("write %d (%s), after the sweep", n, hit), user, roleApp) {
					completed++
				} else {
					failed++
				}
				t.Logf("write %d %-70s Submit: %-12s err=%v", n, hit, r.Status, err != nil)
			}
			t.Logf("%d writes per activation; %d completed, %d failed cleanly", writes, completed, failed)
			if err := f.VerifyAuditChain(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkActivationState checks user's activation of t and reports whether
// it is provisioned. Access or a holder always comes with a live
// activation schedule; there is at most one of each; a request that is
// not provisioned has left nothing behind once the sweep has run.
func checkActivationState(f *enginetest.Fixture, when string, user domain.ObjectID, t domain.Target) (provisioned bool) {
	f.T.Helper()
	live := f.LiveActivations(user, t)
	g, _ := f.Grant(user, t)
	role := f.HasRole(user, t)
	var reqs []domain.Request
	for _, r := range f.RequestsOf(user) {
		if r.Action == domain.ActionSelfActivate {
			reqs = append(reqs, r)
		}
	}
	state := fmt.Sprintf("%s: %d live activations, grant holders %+v applied=%v, role=%v, requests %v",
		when, len(live), g.Holders, g.Applied, role, statuses(reqs))
	if len(live) > 1 || len(g.Holders) > 1 || len(reqs) > 1 {
		f.T.Fatalf("%s: more than one", state)
	}
	if role && (len(live) != 1 || len(g.Holders) != 1) {
		f.T.Fatalf("%s: access without a live schedule holding it", state)
	}
	for _, h := range g.Holders {
		if len(live) != 1 || live[0].ID != h.ScheduleID {
			f.T.Fatalf("%s: a holder without its live schedule", state)
		}
	}
	if len(reqs) == 1 && reqs[0].Status == domain.StatusProvisioned {
		if !role || len(live) != 1 || live[0].ID != reqs[0].ID || !g.Applied || !g.HasHolder(reqs[0].ID) {
			f.T.Fatalf("%s: provisioned but incomplete", state)
		}
		return true
	}
	if strings.HasSuffix(when, "after the sweep") {
		if len(reqs) == 1 && reqs[0].Status != domain.StatusFailed {
			f.T.Fatalf("%s: neither provisioned nor failed", state)
		}
		if role || len(live) != 0 || len(g.Holders) != 0 || !g.Settled() {
			f.T.Fatalf("%s: a failed activation left something behind", state)
		}
	}
	return false
}

func statuses(rs []domain.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Status))
	}
	return out
}
