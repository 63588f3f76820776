package tablestore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

func TestEscapeKey(t *testing.T) {
	ids := []string{
		"", "plain-ID_1.2:3|4@5", "a/b\\c#d?e", "it's", "100%", "tilde~7E", "space and+plus",
		"tab\tnew\nline\x00nul\x7fdel", "\u0085nel\u009fc1", "üñíçødé 😀", "role:62e90394-69f5-4237-9190-012177145e10:/administrativeUnits/x",
		string([]byte{0xff, 0xfe, 'a', 0xc3}), "~", "~~7E", strings.Repeat("/", 50),
	}
	for _, id := range ids {
		k := tablestore.EscapeKey(id)
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c < 0x20 || c >= 0x7f || strings.IndexByte("/\\#?'%", c) >= 0 {
				t.Errorf("EscapeKey(%q) = %q holds %q", id, k, c)
			}
		}
		back, err := tablestore.UnescapeKey(k)
		if err != nil || back != id {
			t.Errorf("UnescapeKey(EscapeKey(%q)) = %q, %v", id, back, err)
		}
	}
	// Distinct ids never share a key.
	if tablestore.EscapeKey("a/b") == tablestore.EscapeKey("a~2Fb") {
		t.Fatal("escaping is not injective")
	}
	for _, bad := range []string{"~", "~4", "~zz", "a~G0"} {
		if _, err := tablestore.UnescapeKey(bad); err == nil {
			t.Errorf("UnescapeKey(%q) accepted a malformed escape", bad)
		}
	}
}

func TestStore(t *testing.T) {
	conn := azuritetest.Start(t)
	ctx := context.Background()

	t.Run("OddKeysRoundTrip", func(t *testing.T) {
		s := newStore(t, conn, tablestore.Options{})
		for i, id := range []string{"a/b\\c#d?e", "it's 100% ~odd~", "tab\tctl\x01", "üñí 😀", "q'uote"} {
			r := request(id)
			r.PrincipalID = domain.ObjectID("p/" + id)
			r.Target = domain.RoleTarget(domain.RoleGlobalAdministrator, fmt.Sprintf("/administrativeUnits/%d", i))
			if err := s.CreateRequest(ctx, &r); err != nil {
				t.Fatalf("%q: %v", id, err)
			}
			got, err := s.GetRequest(ctx, id)
			if err != nil || got.ID != id || got.PrincipalID != r.PrincipalID {
				t.Fatalf("%q: %v %q", id, err, got.ID)
			}
			p, err := s.ListRequests(ctx, domain.RequestQuery{PrincipalID: r.PrincipalID, TargetKey: r.Target.Key()})
			if err != nil || len(p.Items) != 1 || p.Items[0].ID != id {
				t.Fatalf("%q by principal: %v %v", id, err, p.Items)
			}
			got.Status = domain.StatusGranted
			if err := s.UpdateRequest(ctx, &got); err != nil {
				t.Fatalf("%q update: %v", id, err)
			}
			pol := domain.DefaultPolicy()
			pol.ID = "Tier_" + id
			if err := s.PutPolicy(ctx, &pol); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetPolicy(ctx, pol.ID); err != nil {
				t.Fatal(err)
			}
			g := domain.Grant{PrincipalID: r.PrincipalID, Target: r.Target, Holders: []domain.Holder{{ScheduleID: id}}}
			if err := s.PutGrant(ctx, &g); err != nil {
				t.Fatal(err)
			}
			if got, err := s.GetGrant(ctx, g.Key()); err != nil || got.Key() != g.Key() {
				t.Fatalf("grant %q: %v", g.Key(), err)
			}
		}
		if u, err := s.UnsettledGrants(ctx, 0); err != nil || len(u) != 5 {
			t.Fatalf("unsettled %d %v", len(u), err)
		}
	})

	t.Run("DevelopmentStorageAndWarmStart", func(t *testing.T) {
		// "UseDevelopmentStorage=true" addresses 127.0.0.1:10002; the test
		// transport forwards that to wherever this test's Azurite listens.
		_, endpoint, ok := strings.Cut(conn, "TableEndpoint=http://")
		if !ok {
			t.Skip("the connection string in use has no http TableEndpoint to redirect to")
		}
		target, _, _ := strings.Cut(strings.TrimSuffix(endpoint, ";"), "/")
		var hosts sync.Map
		tr := transportFunc(func(req *http.Request) (*http.Response, error) {
			hosts.Store(req.URL.Host+req.URL.Path[:strings.Index(req.URL.Path[1:], "/")+1], true)
			req.URL.Host = target
			return http.DefaultTransport.RoundTrip(req)
		})
		pfx := prefix()
		opts := tablestore.Options{TablePrefix: pfx, Client: &policy.ClientOptions{Transport: tr}}
		s, err := tablestore.New(ctx, "UseDevelopmentStorage=true", opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.GetRequest(ctx, "nope")
		wantCode(t, err, domain.CodeNotFound)
		n := 0
		hosts.Range(func(k, _ any) bool {
			n++
			if k != "127.0.0.1:10002/devstoreaccount1" {
				t.Errorf("request went to %v", k)
			}
			return true
		})
		if n == 0 {
			t.Fatal("no requests seen")
		}
		// Tables exist now: a second start costs one listing.
		again, err := tablestore.New(ctx, "UseDevelopmentStorage=true", opts)
		if err != nil {
			t.Fatal(err)
		}
		if again.RoundTrips() != 1 {
			t.Fatalf("warm start took %d round trips", again.RoundTrips())
		}
		_, err = tablestore.New(ctx, conn, tablestore.Options{TablePrefix: "no-dashes"})
		wantCode(t, err, domain.CodeInvalid)
	})

	t.Run("EntitySize", func(t *testing.T) {
		s := newStore(t, conn, tablestore.Options{})
		r := request("big")
		r.Justification = strings.Repeat("x", 70<<10) // 70 KiB
		s.ResetRoundTrips()
		err := s.CreateRequest(ctx, &r)
		wantCode(t, err, domain.CodeInvalid)
		var de *domain.Error
		if !asDomain(err, &de) || de.Field != "justification" {
			t.Fatalf("error should name the field: %v", err)
		}
		if s.RoundTrips() != 0 {
			t.Fatalf("an invalid record must be refused before anything is sent (%d requests)", s.RoundTrips())
		}
		_, err = s.GetRequest(ctx, "big")
		wantCode(t, err, domain.CodeNotFound)
		// Limits count UTF-16: 32 Ki characters is the most a string holds.
		r.Justification = strings.Repeat("x", 32<<10)
		if err := s.CreateRequest(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetRequest(ctx, "big")
		if got.Justification != r.Justification {
			t.Fatal("justification not kept whole")
		}
		// Nested JSON has the same limit, also on update.
		got.Approval = &domain.Approval{Stages: []domain.ApprovalStage{{ID: "stage-1", Justification: strings.Repeat("ü", 40<<10)}}}
		wantCode(t, s.UpdateRequest(ctx, &got), domain.CodeInvalid)
		// Keys too: an id that cannot be a key is refused, not cut.
		long := request(strings.Repeat("/", 400))
		wantCode(t, s.CreateRequest(ctx, &long), domain.CodeInvalid)
		// Bytes JSON would silently replace are refused.
		bad := request("bad-utf8")
		bad.Justification = string([]byte{'a', 0xff})
		wantCode(t, s.CreateRequest(ctx, &bad), domain.CodeInvalid)
	})

	t.Run("TimesAreExact", func(t *testing.T) {
		s := newStore(t, conn, tablestore.Options{})
		cet := time.FixedZone("CET", 3600)
		start := time.Date(2026, 11, 21, 10, 0, 0, 123456789, cet)
		sc := schedule("ns", start.Add(90*time.Minute+1))
		sc.Start = start
		if err := s.CreateSchedule(ctx, &sc); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSchedule(ctx, "ns")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Start.Equal(start) || got.Start.Location() != time.UTC || !got.End.Equal(sc.End) {
			t.Fatalf("start %v end %v, want %v %v", got.Start, got.End, start, sc.End)
		}
		old := sc
		old.ID, old.Start, old.End = "old", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}
		wantCode(t, s.CreateSchedule(ctx, &old), domain.CodeInvalid)
	})

	t.Run("AuditConcurrentAppendersDoNotFork", func(t *testing.T) {
		pfx := prefix()
		// Two stores on one prefix stand for two Function instances.
		stores := []*tablestore.Store{
			newStore(t, conn, tablestore.Options{TablePrefix: pfx}),
			newStore(t, conn, tablestore.Options{TablePrefix: pfx}),
		}
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 8; i++ {
					rec := domain.AuditRecord{ID: fmt.Sprintf("w%d-%d", w, i), Time: time.Now(), ActorID: "jitpim",
						Action: "test", Details: map[string]string{"i": fmt.Sprint(i)}}
					if err := stores[w%2].AppendAudit(ctx, &rec); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var all []domain.AuditRecord
		q := domain.AuditQuery{Limit: 7}
		for {
			p, err := stores[0].ListAudit(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, p.Items...)
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(all) != 48 {
			t.Fatalf("%d records, want 48", len(all))
		}
		oldest := make([]domain.AuditRecord, len(all))
		for i, r := range all {
			oldest[len(all)-1-i] = r
		}
		if i := domain.VerifyChain(oldest); i != -1 {
			t.Fatalf("chain broken at %d", i)
		}
	})

	t.Run("AuditIdenticalRecordsFromTwoInstances", func(t *testing.T) {
		// Identical records have identical hashes when linked to the same
		// head; losing a race must still append, not mistake the winner's
		// record for its own.
		pfx := prefix()
		a := newStore(t, conn, tablestore.Options{TablePrefix: pfx})
		b := newStore(t, conn, tablestore.Options{TablePrefix: pfx})
		for i := 0; i < 3; i++ {
			for _, s := range []*tablestore.Store{a, b} {
				rec := domain.AuditRecord{ID: "same", Time: t0, Action: "x"}
				if err := s.AppendAudit(ctx, &rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		p, err := b.ListAudit(ctx, domain.AuditQuery{})
		if err != nil || len(p.Items) != 6 {
			t.Fatalf("%d records, want 6 (%v)", len(p.Items), err)
		}
		oldest := make([]domain.AuditRecord, 6)
		for i, r := range p.Items {
			oldest[5-i] = r
		}
		if i := domain.VerifyChain(oldest); i != -1 {
			t.Fatalf("chain broken at %d", i)
		}
	})

	t.Run("IndexedPaging", func(t *testing.T) {
		s := newStore(t, conn, tablestore.Options{})
		statuses := []domain.Status{domain.StatusPendingApproval, domain.StatusGranted, domain.StatusProvisioned, domain.StatusPendingProvisioning}
		for i := 0; i < 12; i++ {
			r := request(fmt.Sprintf("r-%02d", i))
			r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
			r.Status = statuses[i%4]
			if i%3 == 0 {
				r.PrincipalID = userB
			}
			if err := s.CreateRequest(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
		collect := func(q domain.RequestQuery) []string {
			var ids []string
			for i := 0; i < 30; i++ {
				p, err := s.ListRequests(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Items {
					ids = append(ids, r.ID)
				}
				if p.Next == "" {
					return ids
				}
				q.Cursor = p.Next
			}
			t.Fatal("paging did not end")
			return nil
		}
		// Two status partitions merged, oldest first across pages.
		got := collect(domain.RequestQuery{Statuses: []domain.Status{domain.StatusGranted, domain.StatusPendingApproval}, Limit: 2})
		if strings.Join(got, ",") != "r-00,r-01,r-04,r-05,r-08,r-09" {
			t.Fatalf("merged status pages: %v", got)
		}
		got = collect(domain.RequestQuery{Statuses: []domain.Status{domain.StatusPendingApproval}, PrincipalID: userB, Limit: 1})
		if strings.Join(got, ",") != "r-00" {
			t.Fatalf("status+principal: %v", got)
		}
		got = collect(domain.RequestQuery{PrincipalID: userA, Statuses: []domain.Status{domain.StatusProvisioned}, Limit: 1})
		if strings.Join(got, ",") != "r-02,r-10" {
			t.Fatalf("principal+unpolled status: %v", got)
		}
		got = collect(domain.RequestQuery{Statuses: []domain.Status{domain.StatusProvisioned, domain.StatusGranted}, Limit: 2})
		if len(got) != 6 {
			t.Fatalf("scan with statuses: %v", got)
		}
		// A status change moves the request between partitions.
		r, _ := s.GetRequest(ctx, "r-00")
		r.Status = domain.StatusGranted
		if err := s.UpdateRequest(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got = collect(domain.RequestQuery{Statuses: []domain.Status{domain.StatusPendingApproval}})
		if strings.Join(got, ",") != "r-04,r-08" {
			t.Fatalf("after move: %v", got)
		}
		got = collect(domain.RequestQuery{Statuses: []domain.Status{domain.StatusGranted}})
		if strings.Join(got, ",") != "r-00,r-01,r-05,r-09" {
			t.Fatalf("after move: %v", got)
		}
		// A cursor only works with the query it came from.
		p, _ := s.ListRequests(ctx, domain.RequestQuery{PrincipalID: userA, Limit: 1})
		_, err := s.ListRequests(ctx, domain.RequestQuery{Limit: 1, Cursor: p.Next})
		wantCode(t, err, domain.CodeInvalid)
		_, err = s.ListRequests(ctx, domain.RequestQuery{Cursor: "garbage!"})
		wantCode(t, err, domain.CodeInvalid)

		// Schedules: live and ended partitions, by principal and by target.
		for i := 0; i < 6; i++ {
			sc := schedule(fmt.Sprintf("s-%d", i), t0.Add(time.Duration(i+1)*time.Hour))
			sc.Start = t0.Add(time.Duration(i) * time.Minute)
			if i >= 3 {
				sc.Target = domain.GroupTarget("33333333-3333-3333-3333-333333333333", "member")
			}
			if err := s.CreateSchedule(ctx, &sc); err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				sc.Status, sc.EndedAt = domain.ScheduleRevoked, t0
				if err := s.UpdateSchedule(ctx, &sc); err != nil {
					t.Fatal(err)
				}
			}
		}
		ids := func(q domain.ScheduleQuery) string {
			var out []string
			for {
				p, err := s.ListSchedules(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range p.Items {
					out = append(out, x.ID)
				}
				if p.Next == "" {
					return strings.Join(out, ",")
				}
				q.Cursor = p.Next
			}
		}
		for q, want := range map[*domain.ScheduleQuery]string{
			{PrincipalID: userA, Limit: 2}:                     "s-0,s-2,s-4",
			{PrincipalID: userA, IncludeEnded: true, Limit: 2}: "s-0,s-1,s-2,s-3,s-4,s-5",
			{TargetKey: domain.RoleTarget(domain.RoleGlobalAdministrator, "/").Key(), IncludeEnded: true, Limit: 1}: "s-0,s-1,s-2",
			{TargetKey: domain.GroupTarget("33333333-3333-3333-3333-333333333333", "member").Key()}:                 "s-4",
			{Limit: 1}: "s-0,s-2,s-4",
		} {
			if got := ids(*q); got != want {
				t.Errorf("%+v: %s, want %s", *q, got, want)
			}
		}
		due, _ := s.SchedulesDueBy(ctx, t0.Add(10*time.Hour), 0)
		if len(due) != 3 || due[0].ID != "s-0" || due[2].ID != "s-4" {
			t.Fatalf("due %v", due)
		}
	})

	t.Run("RoundTrips", func(t *testing.T) {
		s := newStore(t, conn, tablestore.Options{})
		count := func(what string, want int64, f func() error) {
			t.Helper()
			s.ResetRoundTrips()
			if err := f(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got := s.RoundTrips(); got != want {
				t.Errorf("%s: %d round trips, want %d", what, got, want)
			}
			t.Logf("%-40s %d", what, s.RoundTrips())
		}
		for i := 0; i < 150; i++ {
			sc := schedule(fmt.Sprintf("later-%03d", i), t0.Add(time.Duration(48+i)*time.Hour))
			if err := s.CreateSchedule(ctx, &sc); err != nil {
				t.Fatal(err)
			}
		}
		var due domain.Schedule
		for i := 0; i < 3; i++ {
			due = schedule(fmt.Sprintf("due-%d", i), t0.Add(time.Duration(i)*time.Minute))
			count("CreateSchedule (3 index entries)", 4, func() error { return s.CreateSchedule(ctx, &due) })
		}
		count("SchedulesDueBy (3 due of 153)", 4, func() error {
			d, err := s.SchedulesDueBy(ctx, t0.Add(time.Hour), 100)
			if len(d) != 3 {
				return fmt.Errorf("%d due", len(d))
			}
			return err
		})
		count("GetSchedule", 1, func() error { var err error; due, err = s.GetSchedule(ctx, "due-2"); return err })
		due.Status = domain.ScheduleExpired
		count("UpdateSchedule to Expired (move p,t; drop due)", 6, func() error { return s.UpdateSchedule(ctx, &due) })
		due.ModifiedAt = t0.Add(time.Hour)
		count("UpdateSchedule, no index change", 1, func() error { return s.UpdateSchedule(ctx, &due) })
		count("ListSchedules live by principal+target (152)", 1+152, func() error {
			_, err := s.ListSchedules(ctx, domain.ScheduleQuery{PrincipalID: userA, TargetKey: due.Target.Key(), Limit: 1000})
			return err
		})
		g := domain.Grant{PrincipalID: userA, Target: due.Target, Holders: []domain.Holder{{ScheduleID: "x"}}}
		count("PutGrant create, unsettled", 2, func() error { return s.PutGrant(ctx, &g) })
		count("UnsettledGrants (1)", 2, func() error { _, err := s.UnsettledGrants(ctx, 10); return err })
		g.Applied = true
		count("PutGrant settle", 2, func() error { return s.PutGrant(ctx, &g) })
		count("UnsettledGrants (0)", 1, func() error { _, err := s.UnsettledGrants(ctx, 10); return err })
		for i := 0; i < 2; i++ {
			rec := domain.AuditRecord{ID: fmt.Sprint(i), Time: t0}
			count("AppendAudit (one pending row, no contention)", 1, func() error { return s.AppendAudit(ctx, &rec) })
		}
		// Reads the pending rows and the (absent) head, links both in one transaction.
		count("ChainAudit (2 pending, no markers)", 3, func() error { _, err := s.ChainAudit(ctx); return err })
		count("ChainAudit (nothing pending)", 1, func() error { _, err := s.ChainAudit(ctx); return err })
		count("ListAudit first page (pending query + page)", 2, func() error { _, err := s.ListAudit(ctx, domain.AuditQuery{Limit: 10}); return err })
		r := request("rt")
		count("CreateRequest (principal + status index)", 3, func() error { return s.CreateRequest(ctx, &r) })
		count("ListRequests PendingApproval (1)", 2, func() error {
			_, err := s.ListRequests(ctx, domain.RequestQuery{Statuses: []domain.Status{domain.StatusPendingApproval}})
			return err
		})
	})
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

func asDomain(err error, de **domain.Error) bool {
	return errors.As(err, de)
}
