// Package storetest is the conformance suite every domain.Store must pass:
// the in-memory store and the Table Storage store run the same tests, so the
// engine can rely on one contract (conditional writes, create-if-absent,
// paging, due-index queries, a hash-chained audit log).
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Run runs the suite; newStore must return an empty store each call.
func Run(t *testing.T, newStore func(t *testing.T) domain.Store) {
	t.Run("Requests", func(t *testing.T) { testRequests(t, newStore(t)) })
	t.Run("RequestList", func(t *testing.T) { testRequestList(t, newStore(t)) })
	t.Run("Schedules", func(t *testing.T) { testSchedules(t, newStore(t)) })
	t.Run("SchedulesDueBy", func(t *testing.T) { testEndingBy(t, newStore(t)) })
	t.Run("SchedulesDueByStart", func(t *testing.T) { testDueByStart(t, newStore(t)) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, newStore(t)) })
	t.Run("Policies", func(t *testing.T) { testPolicies(t, newStore(t)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, newStore(t)) })
	t.Run("AuditWithChange", func(t *testing.T) { testAuditWithChange(t, newStore(t)) })
	t.Run("AuditUnderContention", func(t *testing.T) { testAuditUnderContention(t, newStore(t)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { testConcurrentUpdate(t, newStore(t)) })
	t.Run("Mail", func(t *testing.T) { testMail(t, newStore(t)) })
	t.Run("ClaimOnce", func(t *testing.T) { testClaimOnce(t, newStore(t)) })
}

var base = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const (
	roleGA = domain.RoleGlobalAdministrator
	userA  = "11111111-1111-1111-1111-111111111111"
	userB  = "22222222-2222-2222-2222-222222222222"
	group1 = "33333333-3333-3333-3333-333333333333"
)

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s differs after a round trip\n got: %s\nwant: %s", what, g, w)
	}
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if !domain.IsCode(err, code) {
		t.Fatalf("want error code %s, got %v", code, err)
	}
}

func sampleRequest(id string) domain.Request {
	return domain.Request{
		ID: id, Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: userA,
		Target:        domain.RoleTarget(roleGA, "/"),
		Justification: strings.Repeat("ü", 250), // 500 bytes of non-ASCII
		Schedule:      domain.ScheduleInfo{Start: base, ExpirationType: domain.ExpireAfterDuration, Duration: time.Hour},
		Ticket:        domain.TicketInfo{Number: "INC0012345", System: "ServiceNow", Table: "incident", SysID: "9d385017c611228701d22104cc95c371", Validated: true},
		Status:        domain.StatusPendingApproval, CreatedBy: userA, CreatedAt: base,
		StartAt: base, EndAt: base.Add(time.Hour), EligibilityScheduleID: "elig-1",
		Approval: &domain.Approval{Stages: []domain.ApprovalStage{{
			ID: "stage-1", Approvers: []domain.Approver{{Kind: domain.ApproverUser, ID: userB}, {Kind: domain.ApproverGroup, ID: group1}},
			EscalationApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: userB}}, ApproverJustificationRequired: true, Confirmation: true,
			TimeoutDays: 1, EscalationMinutes: 30, TimeoutAt: base.Add(24 * time.Hour), EscalateAt: base.Add(30 * time.Minute),
			Status: domain.StageInProgress, ReviewResult: domain.ReviewNotReviewed,
		}, {ID: "stage-2", Status: domain.StageNotStarted, ReviewResult: domain.ReviewNotReviewed, TimeoutDays: 2}}},
	}
}

func testRequests(t *testing.T, s domain.Store) {
	ctx := context.Background()
	r := sampleRequest("req-1")
	if err := s.CreateRequest(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if r.Version == "" {
		t.Fatal("CreateRequest did not set a version")
	}
	dup := sampleRequest("req-1")
	wantCode(t, s.CreateRequest(ctx, &dup), domain.CodeConflict)
	got, err := s.GetRequest(ctx, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != r.Version {
		t.Fatalf("version %q, want %q", got.Version, r.Version)
	}
	same(t, "request", got, r)
	_, err = s.GetRequest(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)

	// A conditional update wins once; the stale copy then conflicts.
	stale := got.Clone()
	got.Status = domain.StatusGranted
	got.Approval.Stages[0].ReviewResult = domain.ReviewApprove
	got.Approval.Stages[0].ReviewedBy = userB
	got.Approval.Stages[0].ReviewedAt = base.Add(time.Minute)
	if err := s.UpdateRequest(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version == stale.Version {
		t.Fatal("update did not change the version")
	}
	stale.Status = domain.StatusDenied
	wantCode(t, s.UpdateRequest(ctx, &stale), domain.CodeConflict)
	again, _ := s.GetRequest(ctx, "req-1")
	if again.Status != domain.StatusGranted || again.Approval.Stages[0].ReviewedBy != userB {
		t.Fatalf("lost update: %+v", again.Status)
	}
	missing := sampleRequest("missing")
	missing.Version = "1"
	wantCode(t, s.UpdateRequest(ctx, &missing), domain.CodeNotFound)

	// Ids that hold characters Table Storage forbids in keys still work.
	odd := sampleRequest("a/b\\c#d?e")
	if err := s.CreateRequest(ctx, &odd); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRequest(ctx, "a/b\\c#d?e"); err != nil {
		t.Fatal(err)
	}
}

func testRequestList(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		r := sampleRequest(fmt.Sprintf("r-%02d", i))
		r.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		r.Approval = nil
		if i%2 == 1 {
			r.PrincipalID = userB
			r.Status = domain.StatusProvisioned
		}
		if i == 6 {
			r.Kind = domain.KindEligibility
			r.Target = domain.GroupTarget(group1, "member")
		}
		if err := s.CreateRequest(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(q domain.RequestQuery) []string {
		var ids []string
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			p, err := s.ListRequests(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Items {
				if seen[r.ID] {
					t.Fatalf("request %s listed twice", r.ID)
				}
				seen[r.ID] = true
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
	if got := collect(domain.RequestQuery{Limit: 2}); len(got) != 7 {
		t.Fatalf("paged listing gave %d requests, want 7: %v", len(got), got)
	}
	if got := collect(domain.RequestQuery{PrincipalID: userB}); len(got) != 3 {
		t.Fatalf("by principal gave %v, want 3", got)
	}
	if got := collect(domain.RequestQuery{PrincipalID: userA, Statuses: []domain.Status{domain.StatusPendingApproval}, Kind: domain.KindAssignment}); len(got) != 3 {
		t.Fatalf("by principal+status+kind gave %v, want 3", got)
	}
	if got := collect(domain.RequestQuery{TargetKey: domain.GroupTarget(group1, "member").Key()}); len(got) != 1 || got[0] != "r-06" {
		t.Fatalf("by target gave %v", got)
	}
	if got := collect(domain.RequestQuery{Statuses: []domain.Status{domain.StatusProvisioned}}); len(got) != 3 {
		t.Fatalf("by status gave %v, want 3", got)
	}
}

func sampleSchedule(id string, principal domain.ObjectID, end time.Time) domain.Schedule {
	return domain.Schedule{
		ID: id, Kind: domain.KindAssignment, PrincipalID: principal, Target: domain.RoleTarget(roleGA, "/"),
		AssignmentType: domain.AssignmentActivated, MemberType: domain.MemberDirect, Start: base, End: end,
		Status: domain.ScheduleProvisioned, CreatedUsing: "req-" + id, EligibilityScheduleID: "elig", CreatedAt: base, ModifiedAt: base,
	}
}

func testSchedules(t *testing.T, s domain.Store) {
	ctx := context.Background()
	a := sampleSchedule("s-1", userA, base.Add(time.Hour))
	if err := s.CreateSchedule(ctx, &a); err != nil {
		t.Fatal(err)
	}
	dup := a
	wantCode(t, s.CreateSchedule(ctx, &dup), domain.CodeConflict)
	got, err := s.GetSchedule(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "schedule", got, a)
	_, err = s.GetSchedule(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)

	e := sampleSchedule("s-2", userB, time.Time{})
	e.Kind = domain.KindEligibility
	e.AssignmentType = ""
	e.Target = domain.GroupTarget(group1, "owner")
	if err := s.CreateSchedule(ctx, &e); err != nil {
		t.Fatal(err)
	}
	stale := got
	got.Status = domain.ScheduleRevoked
	got.EndedAt = base.Add(time.Minute)
	if err := s.UpdateSchedule(ctx, &got); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UpdateSchedule(ctx, &stale), domain.CodeConflict)

	list := func(q domain.ScheduleQuery) []string {
		p, err := s.ListSchedules(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range p.Items {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if got := list(domain.ScheduleQuery{}); len(got) != 1 || got[0] != "s-2" {
		t.Fatalf("live schedules %v, want [s-2]", got)
	}
	if got := list(domain.ScheduleQuery{IncludeEnded: true}); len(got) != 2 {
		t.Fatalf("all schedules %v, want 2", got)
	}
	if got := list(domain.ScheduleQuery{IncludeEnded: true, PrincipalID: userA}); len(got) != 1 || got[0] != "s-1" {
		t.Fatalf("by principal %v", got)
	}
	if got := list(domain.ScheduleQuery{Kind: domain.KindEligibility, TargetKey: e.Target.Key()}); len(got) != 1 {
		t.Fatalf("by kind+target %v", got)
	}

	// A group principal's request and schedule keep their kind.
	gs := sampleSchedule("s-3", group1, base.Add(time.Hour))
	gs.PrincipalKind, gs.AssignmentType = domain.PrincipalGroup, domain.AssignmentAssigned
	if err := s.CreateSchedule(ctx, &gs); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetSchedule(ctx, "s-3"); err != nil || got.PrincipalKind != domain.PrincipalGroup {
		t.Fatalf("group schedule %+v, %v", got, err)
	}
	gr := sampleRequest("req-group")
	gr.PrincipalID, gr.PrincipalKind, gr.Action = group1, domain.PrincipalGroup, domain.ActionAdminAssign
	if err := s.CreateRequest(ctx, &gr); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRequest(ctx, "req-group"); err != nil {
		t.Fatal(err)
	} else {
		same(t, "group request", got, gr)
	}
}

func testEndingBy(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		sc := sampleSchedule(fmt.Sprintf("e-%d", i), userA, base.Add(time.Duration(i)*time.Hour))
		if err := s.CreateSchedule(ctx, &sc); err != nil {
			t.Fatal(err)
		}
	}
	perm := sampleSchedule("perm", userA, time.Time{})
	if err := s.CreateSchedule(ctx, &perm); err != nil {
		t.Fatal(err)
	}
	due, err := s.SchedulesDueBy(ctx, base.Add(3*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 4 {
		t.Fatalf("due %d, want 4 (ends at +0h..+3h)", len(due))
	}
	// Ended schedules leave the index.
	due[0].Status = domain.ScheduleExpired
	if err := s.UpdateSchedule(ctx, &due[0]); err != nil {
		t.Fatal(err)
	}
	// A moved end moves it in the index.
	late, _ := s.GetSchedule(ctx, "e-9")
	late.End = base.Add(time.Hour)
	if err := s.UpdateSchedule(ctx, &late); err != nil {
		t.Fatal(err)
	}
	due, err = s.SchedulesDueBy(ctx, base.Add(3*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 4 {
		t.Fatalf("after updates due %d, want 4", len(due))
	}
	for _, d := range due {
		if d.ID == "e-0" {
			t.Fatal("an expired schedule is still due")
		}
	}
	limited, _ := s.SchedulesDueBy(ctx, base.Add(100*time.Hour), 3)
	if len(limited) != 3 {
		t.Fatalf("limit 3 gave %d", len(limited))
	}
}

// testDueByStart: a schedule awaiting its start is due at its start (not
// its end), in DueAt order with the ending ones, and moves to its end once
// started; a permanent one awaiting its start is due too.
func testDueByStart(t *testing.T, s domain.Store) {
	ctx := context.Background()
	put := func(id string, start, end time.Time, awaiting bool) {
		t.Helper()
		sc := sampleSchedule(id, userA, end)
		sc.Start, sc.AwaitingStart = start, awaiting
		if err := s.CreateSchedule(ctx, &sc); err != nil {
			t.Fatal(err)
		}
	}
	put("ends-2h", base, base.Add(2*time.Hour), false)
	put("starts-1h", base.Add(time.Hour), base.Add(5*time.Hour), true)
	put("starts-3h-permanent", base.Add(3*time.Hour), time.Time{}, true)
	put("starts-50h", base.Add(50*time.Hour), base.Add(51*time.Hour), true)
	ids := func(at time.Time) []string {
		t.Helper()
		due, err := s.SchedulesDueBy(ctx, at, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range due {
			out = append(out, d.ID)
		}
		return out
	}
	if got, want := ids(base.Add(30*time.Minute)), []string(nil); !slices.Equal(got, want) {
		t.Fatalf("due at +30m: %v, want %v", got, want)
	}
	if got, want := ids(base.Add(3*time.Hour)), []string{"starts-1h", "ends-2h", "starts-3h-permanent"}; !slices.Equal(got, want) {
		t.Fatalf("due at +3h: %v, want %v (in due order)", got, want)
	}
	// Started: due at its end now.
	sc, err := s.GetSchedule(ctx, "starts-1h")
	if err != nil {
		t.Fatal(err)
	}
	sc.AwaitingStart = false
	if err := s.UpdateSchedule(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(base.Add(3*time.Hour)), []string{"ends-2h", "starts-3h-permanent"}; !slices.Equal(got, want) {
		t.Fatalf("after the start, due at +3h: %v, want %v", got, want)
	}
	if got, want := ids(base.Add(5*time.Hour)), []string{"ends-2h", "starts-3h-permanent", "starts-1h"}; !slices.Equal(got, want) {
		t.Fatalf("due at +5h: %v, want %v", got, want)
	}
	if got, _ := s.GetSchedule(ctx, "starts-1h"); got.AwaitingStart {
		t.Fatal("AwaitingStart not stored as cleared")
	}
	// Canceled before its start: it leaves the index.
	perm, _ := s.GetSchedule(ctx, "starts-3h-permanent")
	if !perm.AwaitingStart {
		t.Fatal("AwaitingStart not stored")
	}
	perm.Status = domain.ScheduleRevoked
	if err := s.UpdateSchedule(ctx, &perm); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(base.Add(100*time.Hour)), []string{"ends-2h", "starts-1h", "starts-50h"}; !slices.Equal(got, want) {
		t.Fatalf("due at +100h: %v, want %v", got, want)
	}
}

func testGrants(t *testing.T, s domain.Store) {
	ctx := context.Background()
	tg := domain.RoleTarget(roleGA, "/")
	_, err := s.GetGrant(ctx, domain.GrantKey(userA, tg))
	wantCode(t, err, domain.CodeNotFound)
	g := domain.Grant{PrincipalID: userA, Target: tg, Holders: []domain.Holder{{ScheduleID: "s-1", AssignmentType: domain.AssignmentActivated, End: base.Add(time.Hour)}}, ModifiedAt: base}
	if err := s.PutGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	again := domain.Grant{PrincipalID: userA, Target: tg}
	wantCode(t, s.PutGrant(ctx, &again), domain.CodeConflict)
	got, err := s.GetGrant(ctx, g.Key())
	if err != nil {
		t.Fatal(err)
	}
	same(t, "grant", got, g)
	unsettled, _ := s.UnsettledGrants(ctx, 10)
	if len(unsettled) != 1 {
		t.Fatalf("a wanted, unapplied grant is unsettled; got %d", len(unsettled))
	}
	stale := got
	got.Applied, got.DirectoryID = true, "ra-1"
	if err := s.PutGrant(ctx, &got); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.PutGrant(ctx, &stale), domain.CodeConflict)
	unsettled, _ = s.UnsettledGrants(ctx, 10)
	if len(unsettled) != 0 {
		t.Fatalf("settled grant still listed: %d", len(unsettled))
	}
	got.Holders = nil
	if err := s.PutGrant(ctx, &got); err != nil {
		t.Fatal(err)
	}
	unsettled, _ = s.UnsettledGrants(ctx, 10)
	if len(unsettled) != 1 || unsettled[0].DirectoryID != "ra-1" {
		t.Fatalf("a revoke still due must be listed: %+v", unsettled)
	}
}

func testPolicies(t *testing.T, s domain.Store) {
	ctx := context.Background()
	p := domain.DefaultPolicy()
	p.ID = domain.PolicyID(domain.RoleTarget(roleGA, "/"))
	p.Scope = domain.ScopeTarget
	p.Target = domain.RoleTarget(roleGA, "/")
	p.Activation.ApprovalRequired = true
	p.Activation.ApprovalMode = domain.ApprovalSerial
	p.Activation.AuthContext = "c1"
	var many []domain.Approver
	for i := 0; i < domain.MaxApproversPerStage; i++ {
		many = append(many, domain.Approver{Kind: domain.ApproverUser, ID: domain.ObjectID(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i))})
	}
	p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: many}, {TimeoutDays: 2, ApproverJustificationRequired: true,
		PrimaryApprovers: []domain.Approver{{Kind: domain.ApproverGroup, ID: group1}}, EscalationEnabled: true, EscalationMinutes: 60,
		EscalationApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: userB}}}}
	p.Notifications[0].ExtraRecipients = []string{"soc@example.com"}
	p.ModifiedBy, p.ModifiedAt = userA, base
	if err := s.PutPolicy(ctx, &p); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPolicy(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "policy", got, p)
	tier := domain.DefaultPolicy()
	tier.ID, tier.Scope, tier.Tier = domain.TierPolicyID("L3"), domain.ScopeTier, "L3"
	tier.TierTargets = []domain.Target{domain.GroupTarget(group1, "member"), domain.RoleTarget(roleGA, "/")}
	if err := s.PutPolicy(ctx, &tier); err != nil {
		t.Fatal(err)
	}
	stale := got
	got.Activation.MaxDuration = time.Hour
	if err := s.PutPolicy(ctx, &got); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.PutPolicy(ctx, &stale), domain.CodeConflict)
	all, err := s.ListPolicies(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("list policies: %d %v", len(all), err)
	}
	_, err = s.GetPolicy(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)
}

func testAudit(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		rec := domain.AuditRecord{ID: fmt.Sprintf("a-%d", i), Time: base.Add(time.Duration(i) * time.Second), ActorID: userA,
			Action: "request.create", Category: "RoleManagement", Target: domain.RoleTarget(roleGA, "/"), PrincipalID: userA,
			RequestID: "r", Outcome: "success", InvocationID: "inv", Details: map[string]string{"n": fmt.Sprint(i)}}
		if err := s.AppendAudit(ctx, &rec); err != nil {
			t.Fatal(err)
		}
	}
	var all []domain.AuditRecord
	q := domain.AuditQuery{Limit: 2}
	for i := 0; i < 10; i++ {
		p, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(all) != 5 || all[0].ID != "a-4" || all[4].ID != "a-0" {
		t.Fatalf("audit must list newest first, got %d records", len(all))
	}
	oldest := make([]domain.AuditRecord, len(all))
	for i, r := range all {
		oldest[len(all)-1-i] = r
	}
	if i := domain.VerifyChain(oldest); i != -1 {
		t.Fatalf("chain broken at %d", i)
	}
	oldest[2].Reason = "tampered"
	if i := domain.VerifyChain(oldest); i != 2 {
		t.Fatalf("tampering not detected at 2, got %d", i)
	}
}

func testConcurrentUpdate(t *testing.T, s domain.Store) {
	ctx := context.Background()
	r := sampleRequest("race")
	if err := s.CreateRequest(ctx, &r); err != nil {
		t.Fatal(err)
	}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.Clone()
			c.Status = domain.StatusGranted
			err := s.UpdateRequest(ctx, &c)
			switch {
			case err == nil:
				wins.Add(1)
			case domain.IsCode(err, domain.CodeConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 19 {
		t.Fatalf("20 updates of one version: %d won, %d conflicted; want 1 and 19", wins.Load(), conflicts.Load())
	}
}

func testMail(t *testing.T, s domain.Store) {
	ctx := context.Background()
	m := domain.Mail{ID: "m-1", Key: "expiring:s-1", To: []string{"adam@example.com", "soc@example.com"}, Subject: "Your role expires",
		HTML: "<p>" + strings.Repeat("x", 20000) + "</p>", Text: "x", CreatedAt: base, NextAttempt: base}
	if err := s.EnqueueMail(ctx, &m); err != nil {
		t.Fatal(err)
	}
	again := m
	again.Version = ""
	wantCode(t, s.EnqueueMail(ctx, &again), domain.CodeConflict)
	later := domain.Mail{ID: "m-2", To: []string{"x@example.com"}, Subject: "later", CreatedAt: base, NextAttempt: base.Add(time.Hour)}
	if err := s.EnqueueMail(ctx, &later); err != nil {
		t.Fatal(err)
	}
	due, err := s.MailDue(ctx, base, 10)
	if err != nil || len(due) != 1 || due[0].ID != "m-1" {
		t.Fatalf("due mail %v %v", due, err)
	}
	same(t, "mail", due[0], m)
	stale := due[0]
	due[0].Attempts, due[0].LastError, due[0].NextAttempt = 1, "503", base.Add(2*time.Minute)
	if err := s.UpdateMail(ctx, &due[0]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UpdateMail(ctx, &stale), domain.CodeConflict)
	if d, _ := s.MailDue(ctx, base.Add(time.Minute), 10); len(d) != 0 {
		t.Fatalf("mail in backoff is due: %v", d)
	}
	d, _ := s.MailDue(ctx, base.Add(3*time.Hour), 10)
	if len(d) != 2 {
		t.Fatalf("both due later, got %d", len(d))
	}
	for i := range d {
		d[i].SentAt = base.Add(3 * time.Hour)
		if err := s.UpdateMail(ctx, &d[i]); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := s.MailDue(ctx, base.Add(9*time.Hour), 10); len(d) != 0 {
		t.Fatalf("sent mail is still due: %v", d)
	}
}

func testClaimOnce(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.ClaimOnce(ctx, "link/nonce-1", base.Add(time.Hour))
			switch {
			case err == nil:
				wins.Add(1)
			case domain.IsCode(err, domain.CodeConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 9 {
		t.Fatalf("10 claims of one key: %d won, %d conflicted", wins.Load(), conflicts.Load())
	}
	if err := s.ClaimOnce(ctx, "link/nonce-2", base.Add(time.Hour)); err != nil {
		t.Fatalf("another key: %v", err)
	}
}
