package review_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/review"
)

// TestReviewDefinitionUpdateAppliesFromNextInstance: a change of name,
// reviewers and settings leaves the running instance as it started and
// shapes the next one; a changed recurrence starts its series only after
// the running instance, under instance ids of its own.
func TestReviewDefinitionUpdateAppliesFromNextInstance(t *testing.T) {
	rf := newReviewFixture(t)
	first, second, u := rf.NewUser(), rf.NewUser(), rf.NewUser()
	rf.MakeEligible(u, enginetest.RoleOther)
	d := definition(named(first), domain.DefaultApprove, false)
	d.Settings.Recurrence = domain.Recurrence{Type: domain.RecurrenceWeekly, Interval: 1}
	d.Settings.DurationInDays = 3
	d = rf.define(d)
	rf.run()
	running := rf.instance(d.ID)

	name := "Application Administrators (quarterly)"
	reviewers := named(second)
	settings := d.Settings
	settings.DefaultDecision, settings.DurationInDays = domain.DefaultDeny, 5
	got, changed, err := rf.svc.UpdateReviewDefinition(rf.Ctx, rf.Call(rf.Admin), d.ID, review.DefinitionChange{DisplayName: &name, Reviewers: &reviewers, Settings: &settings})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if strings.Join(changed, ",") != "displayName,reviewers,settings" || got.DisplayName != name || got.Settings.DurationInDays != 5 {
		t.Fatalf("update changed %v: %+v", changed, got)
	}
	if a := rf.Audits("review.definition.update"); len(a) != 1 || a[0].Details["changed"] != "displayName,reviewers,settings" {
		t.Fatalf("audit: %+v", a)
	}
	now := rf.instance(d.ID)
	if now.DisplayName != running.DisplayName || now.Reviewers[0].ID != first || now.Settings.DurationInDays != 3 || now.Settings.DefaultDecision != domain.DefaultApprove {
		t.Fatalf("the running instance changed: %+v", now)
	}
	it := rf.item(running.ID, u, domain.KindEligibility)
	if err := rf.decide(second, it, "Approve"); err == nil {
		t.Fatal("the new reviewer decided in the running instance")
	}
	rf.Advance(7 * 24 * time.Hour)
	rf.run()
	insts, _ := rf.rs.ListReviewInstances(rf.Ctx, d.ID)
	if len(insts) != 2 {
		t.Fatalf("%d instances after a week", len(insts))
	}
	next := insts[1]
	if next.DisplayName != name || next.Reviewers[0].ID != second || next.Settings.DurationInDays != 5 || next.Settings.DefaultDecision != domain.DefaultDeny {
		t.Fatalf("the next instance did not take the change: %+v", next)
	}

	// The recurrence becomes every 2 weeks: the running instance (days 7–12)
	// runs out first; the new series starts the day after it ends.
	rf.Advance(24 * time.Hour)
	settings.Recurrence = domain.Recurrence{Type: domain.RecurrenceWeekly, Interval: 2, StartDate: rf.Now.Add(-30 * 24 * time.Hour)}
	got, _, err = rf.svc.UpdateReviewDefinition(rf.Ctx, rf.Call(rf.Admin), d.ID, review.DefinitionChange{Settings: &settings})
	if err != nil {
		t.Fatalf("recurrence update: %v", err)
	}
	wantStart := next.End.UTC().Truncate(24 * time.Hour)
	if wantStart.Before(next.End) {
		wantStart = wantStart.Add(24 * time.Hour)
	}
	if got.Settings.Recurrence.Series != 1 || !got.Settings.Recurrence.StartDate.Equal(wantStart) {
		t.Fatalf("new series %+v, want series 1 from %s", got.Settings.Recurrence, wantStart)
	}
	rf.run()
	if insts, _ := rf.rs.ListReviewInstances(rf.Ctx, d.ID); len(insts) != 2 {
		t.Fatalf("a changed recurrence started a second instance beside the running one: %d", len(insts))
	}
	rf.Now = wantStart.Add(time.Hour)
	rf.run()
	insts, _ = rf.rs.ListReviewInstances(rf.Ctx, d.ID)
	if len(insts) != 3 || insts[2].ID != review.OccurrenceID(got, 0) || !insts[2].Start.Equal(wantStart) {
		t.Fatalf("new series' first instance: %+v", insts)
	}
}

// TestReviewDefinitionUpdateRefusals: refusals name the field and change
// nothing; an update changing nothing writes and audits nothing.
func TestReviewDefinitionUpdateRefusals(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer := rf.NewUser()
	d := rf.define(definition(named(reviewer), domain.DefaultApprove, false))
	empty, ghost := "", []domain.Reviewer{{Kind: domain.ReviewerUser, ID: rf.NewID()}}
	noDefault := d.Settings
	noDefault.DefaultDecision = ""
	same := d.DisplayName
	for _, tc := range []struct {
		name  string
		auth  domain.AuthEvidence
		ch    review.DefinitionChange
		code  domain.Code
		field string
	}{
		{"empty name", rf.MFA(), review.DefinitionChange{DisplayName: &empty}, domain.CodeInvalid, "displayName"},
		{"unknown reviewer", rf.MFA(), review.DefinitionChange{Reviewers: &ghost}, domain.CodeInvalid, "reviewers"},
		{"no default decision", rf.MFA(), review.DefinitionChange{Settings: &noDefault}, domain.CodeInvalid, "efault"},
		{"admin without MFA", domain.AuthEvidence{}, review.DefinitionChange{DisplayName: &same}, domain.CodeForbidden, "multi-factor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := rf.Snapshot()
			_, _, err := rf.svc.UpdateReviewDefinition(rf.Ctx, rf.CallAuth(rf.Admin, tc.auth), d.ID, tc.ch)
			enginetest.WantCode(t, err, tc.code)
			enginetest.WantContains(t, err, tc.field)
			rf.AssertNoWrites(t, before)
			if cur, err := rf.rs.GetReviewDefinition(rf.Ctx, d.ID); err != nil || cur.Version != d.Version {
				t.Fatalf("a refused update wrote the definition: %v %s → %s", err, d.Version, cur.Version)
			}
		})
	}
	_, _, err := rf.svc.UpdateReviewDefinition(rf.Ctx, rf.Call(rf.NewUser()), d.ID, review.DefinitionChange{DisplayName: &same})
	enginetest.WantCode(t, err, domain.CodeForbidden)
	if _, changed, err := rf.svc.UpdateReviewDefinition(rf.Ctx, rf.Call(rf.Admin), d.ID, review.DefinitionChange{DisplayName: &same}); err != nil || len(changed) != 0 {
		t.Fatalf("an update changing nothing: %v %v", changed, err)
	}
	if a := rf.Audits("review.definition.update"); len(a) != 0 {
		t.Fatalf("an update changing nothing was audited: %+v", a)
	}
}
