package tablestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// faults is an HTTP transport that injects failures by rule and passes
// everything else to the real endpoint.
type faults struct {
	mu    sync.Mutex
	rules []*rule
}

type rule struct {
	method string
	table  string // table name, e.g. prefix+"Requests"; entity paths count too
	status int    // the injected status
	times  int    // how often to fire; <0 = always
	after  bool   // forward first (the write lands), then answer status
	fired  int
}

func (f *faults) add(r *rule) *rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return r
}

func (f *faults) count(r *rule) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return r.fired
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

func (f *faults) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	var hit *rule
	for _, r := range f.rules {
		if r.method == req.Method && r.matches(req.URL.Path) && (r.times < 0 || r.fired < r.times) {
			r.fired++
			hit = r
			break
		}
	}
	f.mu.Unlock()
	if hit == nil || hit.after {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil || hit == nil {
			return resp, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return injected(req, hit.status), nil
}

// matches reports whether path addresses the rule's table: /account/Table
// or /account/Table(PartitionKey=…,RowKey=…).
func (r *rule) matches(path string) bool {
	i := strings.LastIndex(path, "/")
	name := path[i+1:]
	if j := strings.IndexByte(name, '('); j >= 0 {
		name = name[:j]
	}
	return name == r.table
}

func injected(req *http.Request, status int) *http.Response {
	code := map[int]string{500: "InternalError", 503: "ServerBusy", 412: "UpdateConditionNotSatisfied", 429: "TooManyRequests"}[status]
	body := fmt.Sprintf(`{"odata.error":{"code":%q,"message":{"lang":"en-US","value":"injected by the test"}}}`, code)
	h := http.Header{}
	h.Set("Content-Type", "application/json;odata=minimalmetadata")
	h.Set("x-ms-error-code", code)
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// rig is one store with fault injection plus raw access to its tables.
type rig struct {
	t      *testing.T
	conn   string
	prefix string
	f      *faults
	now    time.Time
	nowMu  sync.Mutex
	s      *tablestore.Store
	svc    *aztables.ServiceClient
}

func newRig(t *testing.T, conn string) *rig {
	r := &rig{t: t, conn: conn, prefix: prefix(), f: &faults{}, now: time.Now()}
	r.s = newStore(t, conn, tablestore.Options{
		TablePrefix: r.prefix,
		Client:      &policy.ClientOptions{Transport: r.f},
		Now:         r.clock,
		RetryDelay:  time.Millisecond,
	})
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	return r
}

func (r *rig) clock() time.Time {
	r.nowMu.Lock()
	defer r.nowMu.Unlock()
	return r.now
}

func (r *rig) advance(d time.Duration) {
	r.nowMu.Lock()
	defer r.nowMu.Unlock()
	r.now = r.now.Add(d)
}

// pendingRows counts the audit records waiting to be chained.
func pendingRows(r *rig) int {
	n := 0
	for _, row := range r.rows("Audit") {
		if strings.HasPrefix(row, "audit p|") {
			n++
		}
	}
	return n
}

// rows returns "PK/RK etag" for every entity of a table, sorted.
func (r *rig) rows(table string) []string {
	r.t.Helper()
	var out []string
	pager := r.svc.NewClient(r.prefix + table).NewListEntitiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			r.t.Fatal(err)
		}
		for _, b := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(b, &e); err != nil {
				r.t.Fatal(err)
			}
			out = append(out, e.PartitionKey+" "+e.RowKey+" "+e.ETag)
		}
	}
	slices.Sort(out)
	return out
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if !domain.IsCode(err, code) {
		t.Fatalf("want error code %s, got %v", code, err)
	}
}

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const (
	userA = "11111111-1111-1111-1111-111111111111"
	userB = "22222222-2222-2222-2222-222222222222"
)

func request(id string) domain.Request {
	return domain.Request{
		ID: id, Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: userA,
		Target: domain.RoleTarget(domain.RoleGlobalAdministrator, "/"), Justification: "incident 42",
		Status: domain.StatusPendingApproval, CreatedBy: userA, CreatedAt: t0,
	}
}

func schedule(id string, end time.Time) domain.Schedule {
	return domain.Schedule{
		ID: id, Kind: domain.KindAssignment, PrincipalID: userA, Target: domain.RoleTarget(domain.RoleGlobalAdministrator, "/"),
		AssignmentType: domain.AssignmentActivated, MemberType: domain.MemberDirect, Start: t0, End: end,
		Status: domain.ScheduleProvisioned, CreatedAt: t0, ModifiedAt: t0,
	}
}

func TestFaults(t *testing.T) {
	conn := azuritetest.Start(t)
	ctx := context.Background()

	t.Run("503ThenSuccessOnWrite", func(t *testing.T) {
		r := newRig(t, conn)
		rl := r.f.add(&rule{method: "POST", table: r.prefix + "Requests", status: 503, times: 1})
		req := request("req-1")
		if err := r.s.CreateRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		if n := r.f.count(rl); n != 1 {
			t.Fatalf("fault fired %d times", n)
		}
		if rows := r.rows("Requests"); len(rows) != 1 {
			t.Fatalf("want exactly one entity written, have %v", rows)
		}
		got, err := r.s.GetRequest(ctx, "req-1")
		if err != nil || got.Version != req.Version {
			t.Fatalf("read back %v, version %q want %q", err, got.Version, req.Version)
		}
	})

	t.Run("WriteLandedThen500", func(t *testing.T) {
		// The insert reaches storage but the answer is lost: the retry
		// meets 409, reads the entity back, finds its own write id and
		// reports success instead of a false conflict.
		r := newRig(t, conn)
		r.f.add(&rule{method: "POST", table: r.prefix + "Requests", status: 500, times: 1, after: true})
		req := request("req-1")
		if err := r.s.CreateRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		if rows := r.rows("Requests"); len(rows) != 1 {
			t.Fatalf("want exactly one entity, have %v", rows)
		}
		got, _ := r.s.GetRequest(ctx, "req-1")
		if got.Version != req.Version {
			t.Fatalf("version %q, want %q", got.Version, req.Version)
		}
		// Same for an update whose answer is lost: the retry meets 412.
		r.f.add(&rule{method: "PUT", table: r.prefix + "Requests", status: 500, times: 1, after: true})
		got.Status = domain.StatusGranted
		if err := r.s.UpdateRequest(ctx, &got); err != nil {
			t.Fatal(err)
		}
		again, _ := r.s.GetRequest(ctx, "req-1")
		if again.Status != domain.StatusGranted || again.Version != got.Version {
			t.Fatalf("after update: %s %q want %q", again.Status, again.Version, got.Version)
		}
		// And a duplicate create is still a conflict.
		dup := request("req-1")
		wantCode(t, r.s.CreateRequest(ctx, &dup), domain.CodeConflict)
	})

	t.Run("500OnRead", func(t *testing.T) {
		r := newRig(t, conn)
		req := request("req-1")
		if err := r.s.CreateRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		rl := r.f.add(&rule{method: "GET", table: r.prefix + "Requests", status: 500, times: 2})
		r.s.ResetRoundTrips()
		got, err := r.s.GetRequest(ctx, "req-1")
		if err != nil || got.ID != "req-1" {
			t.Fatalf("get after two 500s: %v", err)
		}
		if n := r.f.count(rl); n != 2 || r.s.RoundTrips() != 3 {
			t.Fatalf("fired %d, round trips %d; want 2 and 3", n, r.s.RoundTrips())
		}
	})

	t.Run("412IsConflictAndChangesNothing", func(t *testing.T) {
		r := newRig(t, conn)
		req := request("req-1")
		if err := r.s.CreateRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		before := append(r.rows("Requests"), r.rows("RequestIndex")...)
		r.f.add(&rule{method: "PUT", table: r.prefix + "Requests", status: 412, times: -1})
		upd := req.Clone()
		upd.Status = domain.StatusGranted // moves the status index entry
		wantCode(t, r.s.UpdateRequest(ctx, &upd), domain.CodeConflict)
		after := append(r.rows("Requests"), r.rows("RequestIndex")...)
		if !slices.Equal(before, after) {
			t.Fatalf("a refused update changed storage:\nbefore %v\nafter  %v", before, after)
		}
		r.f.clear()
		got, _ := r.s.GetRequest(ctx, "req-1")
		if got.Status != domain.StatusPendingApproval || got.Version != req.Version {
			t.Fatalf("request changed: %s", got.Status)
		}
	})

	t.Run("Repeated503IsTransient", func(t *testing.T) {
		r := newRig(t, conn)
		rl := r.f.add(&rule{method: "POST", table: r.prefix + "Requests", status: 503, times: -1})
		req := request("req-1")
		err := r.s.CreateRequest(ctx, &req)
		wantCode(t, err, domain.CodeTransient)
		if n := r.f.count(rl); n != 4 {
			t.Fatalf("tried %d times, want 4", n)
		}
		r.f.clear()
		if rows := r.rows("Requests"); len(rows) != 0 {
			t.Fatalf("nothing may be written: %v", rows)
		}
		// 503 means the service did not take the write, so the index
		// entries written ahead of it were removed again.
		if rows := r.rows("RequestIndex"); len(rows) != 0 {
			t.Fatalf("index entries left behind: %v", rows)
		}
		_, err = r.s.GetRequest(ctx, "req-1")
		wantCode(t, err, domain.CodeNotFound)
	})

	t.Run("429OnReadThenTransient", func(t *testing.T) {
		r := newRig(t, conn)
		r.f.add(&rule{method: "GET", table: r.prefix + "Schedules", status: 429, times: -1})
		_, err := r.s.GetSchedule(ctx, "x")
		wantCode(t, err, domain.CodeTransient)
	})

	t.Run("AuditBatchLandedThen500", func(t *testing.T) {
		r := newRig(t, conn)
		// The chain writer's transaction lands, then its answer is lost
		// (500): the retry meets its own records and must count them as
		// linked, once. Then one that the service refuses (503) is retried.
		first := domain.AuditRecord{ID: "a-0", Time: t0}
		if err := r.s.AppendAudit(ctx, &first); err != nil {
			t.Fatal(err)
		}
		if _, err := r.s.ChainAudit(ctx); err != nil {
			t.Fatal(err)
		}
		rec := domain.AuditRecord{ID: "a-1", Time: t0.Add(time.Second)}
		if err := r.s.AppendAudit(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		rl := r.f.add(&rule{method: "POST", table: "$batch", status: 500, times: 1, after: true})
		if n, err := r.s.ChainAudit(ctx); err != nil || n != 1 {
			t.Fatalf("chain after a lost answer: %d %v", n, err)
		}
		if r.f.count(rl) != 1 {
			t.Fatal("fault did not fire")
		}
		last := domain.AuditRecord{ID: "a-2", Time: t0.Add(2 * time.Second)}
		if err := r.s.AppendAudit(ctx, &last); err != nil {
			t.Fatal(err)
		}
		r.f.add(&rule{method: "POST", table: "$batch", status: 503, times: 1})
		p, err := r.s.ListAudit(ctx, domain.AuditQuery{})
		if err != nil || len(p.Items) != 3 {
			t.Fatalf("want 3 records, each once: %d %v", len(p.Items), err)
		}
		if p.Items[0].ID != "a-2" || p.Items[1].ID != "a-1" || p.Items[2].ID != "a-0" || p.Items[1].PrevHash != p.Items[2].Hash || p.Items[0].PrevHash != p.Items[1].Hash {
			t.Fatalf("chain: %+v", p.Items)
		}
		// With transactions refused for good, appending still records (a
		// pending row); linking fails loudly, and the record waits.
		r.f.add(&rule{method: "POST", table: "$batch", status: 503, times: -1})
		waits := domain.AuditRecord{ID: "a-3", Time: t0.Add(3 * time.Second)}
		if err := r.s.AppendAudit(ctx, &waits); err != nil {
			t.Fatal(err)
		}
		_, err = r.s.ChainAudit(ctx)
		wantCode(t, err, domain.CodeTransient)
		if n := pendingRows(r); n != 1 {
			t.Fatalf("%d pending rows, want the one record waiting", n)
		}
	})

	// --- audited writes: the record lands with the change or not at all ---

	auditRec := func(id string) domain.AuditRecord {
		return domain.AuditRecord{ID: id, Time: t0, ActorID: userA, Action: "request.update", Category: "RoleManagement", Outcome: "success"}
	}
	chainIDs := func(r *rig) []string {
		t.Helper()
		p, err := r.s.ListAudit(ctx, domain.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, rec := range p.Items {
			ids = append(ids, rec.ID)
		}
		return ids
	}

	t.Run("AuditedWriteRefused", func(t *testing.T) {
		// The transaction of entity and marker is refused (503, not
		// applied): the change fails, and its record is gone with it.
		r := newRig(t, conn)
		req := request("req-a")
		if err := r.s.CreateRequest(ctx, &req, auditRec("create")); err != nil {
			t.Fatal(err)
		}
		r.f.add(&rule{method: "POST", table: "$batch", status: 503, times: 4})
		req.Status = domain.StatusGranted
		wantCode(t, r.s.UpdateRequest(ctx, &req, auditRec("refused")), domain.CodeTransient)
		if n := pendingRows(r); n != 1 { // "create" only
			t.Fatalf("%d pending rows, want 1: the refused change's record must be withdrawn", n)
		}
		if ids := chainIDs(r); !slices.Equal(ids, []string{"create"}) {
			t.Fatalf("chain %v, want [create]", ids)
		}
		cur, err := r.s.GetRequest(ctx, "req-a")
		if err != nil || cur.Status != domain.StatusPendingApproval {
			t.Fatalf("the refused change was stored: %s %v", cur.Status, err)
		}
	})

	t.Run("CrashBetweenRecordAndChange", func(t *testing.T) {
		// The process dies after its pending record and before the change:
		// simulated by a transaction whose outcome is unknown (500 without
		// applying) on every try. The record must never be chained, and
		// once older than the grace period it is dropped.
		r := newRig(t, conn)
		req := request("req-b")
		if err := r.s.CreateRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		r.f.add(&rule{method: "POST", table: "$batch", status: 500, times: 4})
		req.Status = domain.StatusGranted
		wantCode(t, r.s.UpdateRequest(ctx, &req, auditRec("never-happened")), domain.CodeTransient)
		if n := pendingRows(r); n != 1 {
			t.Fatalf("%d pending rows, want the undecided one", n)
		}
		if n, err := r.s.ChainAudit(ctx); err != nil || n != 0 {
			t.Fatalf("linked %d (%v): a record without its change must wait", n, err)
		}
		r.advance(11 * time.Minute)
		if _, err := r.s.ChainAudit(ctx); err != nil {
			t.Fatal(err)
		}
		if n := pendingRows(r); n != 0 {
			t.Fatalf("%d pending rows after the grace period, want 0", n)
		}
		if ids := chainIDs(r); len(ids) != 0 {
			t.Fatalf("chain %v, want empty: the change never happened", ids)
		}
	})

	t.Run("AuditedWriteLandedAnswerLost", func(t *testing.T) {
		// The change lands, its answer is lost (500 after applying): the
		// retry meets 412, recognises its own write, and the record is
		// chained exactly once.
		r := newRig(t, conn)
		req := request("req-c")
		if err := r.s.CreateRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		rl := r.f.add(&rule{method: "POST", table: "$batch", status: 500, times: 1, after: true})
		req.Status = domain.StatusGranted
		if err := r.s.UpdateRequest(ctx, &req, auditRec("landed")); err != nil {
			t.Fatal(err)
		}
		if r.f.count(rl) != 1 {
			t.Fatal("fault did not fire")
		}
		if ids := chainIDs(r); !slices.Equal(ids, []string{"landed"}) {
			t.Fatalf("chain %v, want [landed]", ids)
		}
		// The version the write returned is current: a further change works.
		req.Justification = "next"
		if err := r.s.UpdateRequest(ctx, &req); err != nil {
			t.Fatalf("update on the returned version: %v", err)
		}
	})

	t.Run("CrashAfterIndexBeforeEntity", func(t *testing.T) {
		// A schedule due at +1h is moved to +5h, but the entity write never
		// gets an answer (500: it may or may not have landed), so the new
		// due entry stays and the old one must not be lost.
		r := newRig(t, conn)
		sc := schedule("s-1", t0.Add(time.Hour))
		if err := r.s.CreateSchedule(ctx, &sc); err != nil {
			t.Fatal(err)
		}
		r.f.add(&rule{method: "PUT", table: r.prefix + "Schedules", status: 500, times: -1})
		moved := sc
		moved.End = t0.Add(5 * time.Hour)
		wantCode(t, r.s.UpdateSchedule(ctx, &moved), domain.CodeTransient)
		r.f.clear()
		due, err := r.s.SchedulesDueBy(ctx, t0.Add(time.Hour), 10)
		if err != nil || len(due) != 1 || due[0].ID != "s-1" {
			t.Fatalf("the schedule's due entry was lost: %v %v", due, err)
		}
		due, _ = r.s.SchedulesDueBy(ctx, t0.Add(6*time.Hour), 10)
		if len(due) != 1 {
			t.Fatalf("the unreferenced entry must be skipped, got %d", len(due))
		}
		n := len(r.rows("ScheduleIndex"))
		// Young leftovers may belong to a write in flight: kept. Old ones go.
		r.advance(11 * time.Minute)
		if _, err := r.s.SchedulesDueBy(ctx, t0.Add(6*time.Hour), 10); err != nil {
			t.Fatal(err)
		}
		if m := len(r.rows("ScheduleIndex")); m != n-1 {
			t.Fatalf("stale entry not cleaned: %d entries, had %d", m, n)
		}
		due, _ = r.s.SchedulesDueBy(ctx, t0.Add(time.Hour), 10)
		if len(due) != 1 {
			t.Fatal("cleanup removed a live entry")
		}

		// A create that dies after its index entries: no record, and the
		// entries are invisible, then cleaned.
		r.f.add(&rule{method: "POST", table: r.prefix + "Schedules", status: 500, times: -1})
		ghost := schedule("ghost", t0.Add(time.Hour))
		wantCode(t, r.s.CreateSchedule(ctx, &ghost), domain.CodeTransient)
		r.f.clear()
		_, err = r.s.GetSchedule(ctx, "ghost")
		wantCode(t, err, domain.CodeNotFound)
		due, _ = r.s.SchedulesDueBy(ctx, t0.Add(time.Hour), 10)
		if len(due) != 1 || due[0].ID != "s-1" {
			t.Fatalf("ghost listed: %v", due)
		}
		p, _ := r.s.ListSchedules(ctx, domain.ScheduleQuery{PrincipalID: userA})
		if len(p.Items) != 1 {
			t.Fatalf("ghost listed by principal: %d", len(p.Items))
		}
	})
}
