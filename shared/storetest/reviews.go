package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// RunReviews is the conformance suite of domain.ReviewStore; newStore must
// return an empty store each call.
func RunReviews(t *testing.T, newStore func(t *testing.T) domain.ReviewStore) {
	t.Run("ReviewDefinitions", func(t *testing.T) { testReviewDefinitions(t, newStore(t)) })
	t.Run("ReviewInstances", func(t *testing.T) { testReviewInstances(t, newStore(t)) })
	t.Run("ReviewDecisions", func(t *testing.T) { testReviewDecisions(t, newStore(t)) })
	t.Run("ReviewDecisionsByReviewer", func(t *testing.T) { testReviewDecisionsByReviewer(t, newStore(t)) })
	t.Run("ReviewDecisionsConcurrent", func(t *testing.T) { testReviewDecisionsConcurrent(t, newStore(t)) })
}

const userC = "44444444-4444-4444-4444-444444444444"

func sampleDefinition(id string) domain.ReviewDefinition {
	return domain.ReviewDefinition{
		ID: id, DisplayName: "Quarterly review of Global Administrators ü", DescriptionForAdmins: "for the auditors",
		DescriptionForReviewers: "keep only who still needs it",
		Scope:                   domain.ReviewScope{Kind: domain.ReviewScopeRole, RoleDefinitionID: roleGA},
		Reviewers:               []domain.Reviewer{{Kind: domain.ReviewerUser, ID: userB}, {Kind: domain.ReviewerManager}},
		FallbackReviewers:       []domain.Reviewer{{Kind: domain.ReviewerGroup, ID: group1}},
		Settings: domain.ReviewSettings{
			Recurrence:     domain.Recurrence{Type: domain.RecurrenceMonthly, Interval: 3, StartDate: base.Truncate(24 * time.Hour), Occurrences: 4},
			DurationInDays: 14, DefaultDecision: domain.DefaultDeny, AutoApply: true, JustificationRequiredOnApproval: true,
			RecommendationsEnabled: true, RemindersEnabled: true, MailEnabled: true,
		},
		CreatedBy: userA, CreatedAt: base, ModifiedAt: base,
	}
}

func testReviewDefinitions(t *testing.T, s domain.ReviewStore) {
	ctx := context.Background()
	d := sampleDefinition("def-1")
	if err := s.CreateReviewDefinition(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if d.Version == "" {
		t.Fatal("CreateReviewDefinition did not set a version")
	}
	dup := sampleDefinition("def-1")
	wantCode(t, s.CreateReviewDefinition(ctx, &dup), domain.CodeConflict)
	got, err := s.GetReviewDefinition(ctx, "def-1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "definition", got, d)
	_, err = s.GetReviewDefinition(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)

	stale := got.Clone()
	got.Deleted, got.DeletedBy, got.DeletedAt = true, userA, base.Add(time.Hour)
	if err := s.UpdateReviewDefinition(ctx, &got); err != nil {
		t.Fatal(err)
	}
	stale.DisplayName = "lost"
	wantCode(t, s.UpdateReviewDefinition(ctx, &stale), domain.CodeConflict)
	missing := sampleDefinition("missing")
	missing.Version = "1"
	wantCode(t, s.UpdateReviewDefinition(ctx, &missing), domain.CodeNotFound)

	g2 := sampleDefinition("def-0/odd#id")
	g2.Scope = domain.ReviewScope{Kind: domain.ReviewScopeGroup, GroupID: group1, AccessID: domain.AccessMember}
	g2.Reviewers = []domain.Reviewer{{Kind: domain.ReviewerSelf}}
	if err := s.CreateReviewDefinition(ctx, &g2); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListReviewDefinitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "def-0/odd#id" || !all[1].Deleted {
		t.Fatalf("list: %+v", all)
	}
	same(t, "listed definition", all[1], got)
}

func sampleInstance(id, def string, k int) domain.ReviewInstance {
	d := sampleDefinition(def)
	start := base.Add(time.Duration(k) * 24 * time.Hour)
	return domain.ReviewInstance{ID: id, DefinitionID: def, Occurrence: k, DisplayName: d.DisplayName, Scope: d.Scope, Reviewers: d.Reviewers,
		Fallback: d.FallbackReviewers, Settings: d.Settings, Start: start, End: start.Add(14 * 24 * time.Hour), Status: domain.ReviewStarting}
}

func testReviewInstances(t *testing.T, s domain.ReviewStore) {
	ctx := context.Background()
	a := sampleInstance("inst-b", "def-1", 1)
	if err := s.CreateReviewInstance(ctx, &a); err != nil {
		t.Fatal(err)
	}
	dup := sampleInstance("inst-b", "def-1", 1)
	wantCode(t, s.CreateReviewInstance(ctx, &dup), domain.CodeConflict)
	got, err := s.GetReviewInstance(ctx, "inst-b")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "instance", got, a)
	_, err = s.GetReviewInstance(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)

	stale := got.Clone()
	got.Status, got.ItemCount, got.NoReviewerCount, got.DenyRecommended, got.StartedAt = domain.ReviewInProgress, 10000, 3, 42, base.Add(time.Minute)
	if err := s.UpdateReviewInstance(ctx, &got); err != nil {
		t.Fatal(err)
	}
	stale.Status = domain.ReviewCanceled
	wantCode(t, s.UpdateReviewInstance(ctx, &stale), domain.CodeConflict)
	again, _ := s.GetReviewInstance(ctx, "inst-b")
	same(t, "updated instance", again, got)

	b := sampleInstance("inst-a", "def-1", 0)
	c := sampleInstance("inst-c", "def-2", 0)
	for _, in := range []*domain.ReviewInstance{&b, &c} {
		if err := s.CreateReviewInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListReviewInstances(ctx, "def-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "inst-a" || list[1].ID != "inst-b" || list[1].Status != domain.ReviewInProgress {
		t.Fatalf("instances of def-1: %+v", list)
	}
	if list, _ := s.ListReviewInstances(ctx, "def-3"); len(list) != 0 {
		t.Fatalf("instances of an unknown definition: %+v", list)
	}
}

func sampleItem(inst string, i int, reviewers ...domain.Reviewer) domain.ReviewDecision {
	return domain.ReviewDecision{
		ID: fmt.Sprintf("item-%05d", i), InstanceID: inst, DefinitionID: "def-1", ScheduleID: fmt.Sprintf("sched-%d", i),
		Kind: domain.KindEligibility, PrincipalID: userA, PrincipalName: "Adam ü", PrincipalUPN: "adam@contoso.example",
		Target: domain.RoleTarget(roleGA, "/"), ScheduleEnd: base.Add(90 * 24 * time.Hour), Reviewers: reviewers,
		Recommendation: domain.ReviewDeny, RecommendationReason: "no sign-in and no activation in 30 days", Decision: domain.ReviewNotReviewed,
		LastSignIn: base.Add(-40 * 24 * time.Hour), LastActivation: base.Add(-35*24*time.Hour + time.Minute),
	}
}

func listAll(t *testing.T, s domain.ReviewStore, q domain.ReviewDecisionQuery) []domain.ReviewDecision {
	t.Helper()
	var out []domain.ReviewDecision
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		p, err := s.ListReviewDecisions(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("item %s listed twice", it.ID)
			}
			if len(out) > 0 && it.ID <= out[len(out)-1].ID {
				t.Fatalf("items out of order: %s after %s", it.ID, out[len(out)-1].ID)
			}
			seen[it.ID] = true
			out = append(out, it)
		}
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
	t.Fatal("paging did not end")
	return nil
}

func testReviewDecisions(t *testing.T, s domain.ReviewStore) {
	ctx := context.Background()
	rev := domain.Reviewer{Kind: domain.ReviewerUser, ID: userB}
	var items []domain.ReviewDecision
	for i := 0; i < 250; i++ { // more than two transactions' worth
		items = append(items, sampleItem("inst-1", i, rev))
	}
	// A group holder's item, and a member's item through that group.
	items[7].ViaGroupID = group1
	items[9].PrincipalID, items[9].PrincipalKind, items[9].PrincipalUPN = group1, domain.PrincipalGroup, ""
	n, err := s.AddReviewDecisions(ctx, "inst-1", items)
	if err != nil || n != 250 {
		t.Fatalf("first add: %d %v", n, err)
	}
	got, err := s.GetReviewDecision(ctx, "inst-1", "item-00007")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version == "" {
		t.Fatal("no version")
	}
	want := items[7]
	want.Version = got.Version
	same(t, "decision item", got, want)
	if got, err := s.GetReviewDecision(ctx, "inst-1", "item-00009"); err != nil || got.PrincipalKind != domain.PrincipalGroup || got.PrincipalID != group1 {
		t.Fatalf("a group holder's item: %+v %v", got, err)
	}
	_, err = s.GetReviewDecision(ctx, "inst-2", "item-00007")
	wantCode(t, err, domain.CodeNotFound)

	// A decision is recorded conditionally; the stale copy conflicts.
	stale := got.Clone()
	got.Decision, got.Justification, got.ReviewedBy, got.ReviewedAt = domain.ReviewApprove, "still on call ü", userB, base.Add(time.Hour)
	if err := s.UpdateReviewDecision(ctx, &got); err != nil {
		t.Fatal(err)
	}
	stale.Decision = domain.ReviewDeny
	wantCode(t, s.UpdateReviewDecision(ctx, &stale), domain.CodeConflict)
	ghost := sampleItem("inst-1", 9999, rev)
	ghost.Version = "1"
	wantCode(t, s.UpdateReviewDecision(ctx, &ghost), domain.CodeNotFound)

	// Adding again (a repeated start) adds only the new ids and leaves the
	// decided item as it is.
	var again []domain.ReviewDecision
	for i := 200; i < 300; i++ {
		again = append(again, sampleItem("inst-1", i, rev))
	}
	again = append(again, sampleItem("inst-1", 7, rev))
	n, err = s.AddReviewDecisions(ctx, "inst-1", again)
	if err != nil || n != 50 {
		t.Fatalf("second add: %d %v, want 50 new", n, err)
	}
	kept, _ := s.GetReviewDecision(ctx, "inst-1", "item-00007")
	if kept.Decision != domain.ReviewApprove || kept.ReviewedBy != userB {
		t.Fatalf("a repeated add overwrote a decision: %+v", kept)
	}
	if _, err := s.AddReviewDecisions(ctx, "inst-1", []domain.ReviewDecision{sampleItem("inst-other", 1)}); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("item of another instance: %v", err)
	}

	// Apply fields round-trip.
	kept.ApplyResult, kept.AppliedAt, kept.ApplyRequestID, kept.ApplyError = domain.ApplySuccess, base.Add(48*time.Hour), "req-9", ""
	if err := s.UpdateReviewDecision(ctx, &kept); err != nil {
		t.Fatal(err)
	}
	back, _ := s.GetReviewDecision(ctx, "inst-1", "item-00007")
	same(t, "applied item", back, kept)

	all := listAll(t, s, domain.ReviewDecisionQuery{InstanceID: "inst-1", Limit: 70})
	if len(all) != 300 || all[0].ID != "item-00000" || all[299].ID != "item-00299" {
		t.Fatalf("listed %d items", len(all))
	}
	if got := listAll(t, s, domain.ReviewDecisionQuery{InstanceID: "inst-2"}); len(got) != 0 {
		t.Fatalf("another instance lists %d items", len(got))
	}
}

func testReviewDecisionsByReviewer(t *testing.T, s domain.ReviewStore) {
	ctx := context.Background()
	u := func(id domain.ObjectID) domain.Reviewer { return domain.Reviewer{Kind: domain.ReviewerUser, ID: id} }
	g := domain.Reviewer{Kind: domain.ReviewerGroup, ID: group1}
	var items []domain.ReviewDecision
	for i := 0; i < 30; i++ {
		switch i % 3 {
		case 0:
			items = append(items, sampleItem("inst-r", i, u(userB)))
		case 1:
			items = append(items, sampleItem("inst-r", i, u(userC), g))
		default:
			items = append(items, sampleItem("inst-r", i, g))
		}
	}
	items = append(items, sampleItem("inst-s", 1, u(userB)))
	if _, err := s.AddReviewDecisions(ctx, "inst-r", items[:30]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddReviewDecisions(ctx, "inst-s", items[30:]); err != nil {
		t.Fatal(err)
	}
	count := func(refs ...domain.Reviewer) int {
		return len(listAll(t, s, domain.ReviewDecisionQuery{InstanceID: "inst-r", Reviewers: refs, Limit: 4}))
	}
	if n := count(u(userB)); n != 10 {
		t.Fatalf("userB reviews %d items, want 10", n)
	}
	if n := count(u(userC)); n != 10 {
		t.Fatalf("userC reviews %d items, want 10", n)
	}
	if n := count(g); n != 20 {
		t.Fatalf("the group reviews %d items, want 20", n)
	}
	if n := count(u(userC), g); n != 20 {
		t.Fatalf("userC directly or through the group: %d items, want 20 (each once)", n)
	}
	if n := count(u(userB), g); n != 30 {
		t.Fatalf("userB or the group: %d items, want 30", n)
	}
	if n := count(u(userA)); n != 0 {
		t.Fatalf("userA reviews %d items, want none", n)
	}
	// A decided item is still found by its reviewers.
	it, _ := s.GetReviewDecision(ctx, "inst-r", "item-00003")
	it.Decision = domain.ReviewDeny
	if err := s.UpdateReviewDecision(ctx, &it); err != nil {
		t.Fatal(err)
	}
	got := listAll(t, s, domain.ReviewDecisionQuery{InstanceID: "inst-r", Reviewers: []domain.Reviewer{u(userB)}})
	if len(got) != 10 || got[1].ID != "item-00003" || got[1].Decision != domain.ReviewDeny {
		t.Fatalf("after a decision: %+v", got[1])
	}
}

func testReviewDecisionsConcurrent(t *testing.T, s domain.ReviewStore) {
	ctx := context.Background()
	rev := domain.Reviewer{Kind: domain.ReviewerUser, ID: userB}
	var items []domain.ReviewDecision
	for i := 0; i < 120; i++ {
		items = append(items, sampleItem("inst-c", i, rev))
	}
	// Two starts of one instance racing: each item is created once.
	var created atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.AddReviewDecisions(ctx, "inst-c", items)
			if err != nil {
				t.Error(err)
			}
			created.Add(int32(n))
		}()
	}
	wg.Wait()
	if created.Load() != 120 {
		t.Fatalf("two racing adds created %d items, want 120", created.Load())
	}
	if got := listAll(t, s, domain.ReviewDecisionQuery{InstanceID: "inst-c", Limit: 1000}); len(got) != 120 {
		t.Fatalf("%d items stored", len(got))
	}
	// Concurrent decisions on one version: one wins.
	it, _ := s.GetReviewDecision(ctx, "inst-c", "item-00001")
	var wins, conflicts atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := it.Clone()
			c.Decision = domain.ReviewApprove
			switch err := s.UpdateReviewDecision(ctx, &c); {
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
		t.Fatalf("10 updates of one version: %d won, %d conflicted", wins.Load(), conflicts.Load())
	}
}
