package review_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
)

// TestReviewerScreens: a reviewer's list holds the reviews they take part
// in and no others; accepting recommendations records each one through
// the decision rules, so a reviewer's own access is still not approved,
// a required justification is still required, and an item without a
// recommendation is left for the reviewer.
func TestReviewerScreens(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer, outsider, active, idle := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
	for _, u := range []domain.ObjectID{reviewer, active, idle} {
		rf.MakeEligible(u, enginetest.RoleOther)
	}
	rf.Dir.AddSignIn(domain.SignIn{ID: "s1", UserID: active, Time: rf.Now.Add(-time.Hour), Succeeded: true})
	rf.Dir.AddSignIn(domain.SignIn{ID: "s2", UserID: reviewer, Time: rf.Now.Add(-time.Hour), Succeeded: true})
	d := definition(named(reviewer), domain.DefaultApprove, false)
	d.Settings.JustificationRequiredOnApproval = true
	d = rf.define(d)
	noRec := definition(named(reviewer), domain.DefaultApprove, false)
	noRec.DisplayName, noRec.Settings.RecommendationsEnabled = "Without recommendations", false
	noRec = rf.define(noRec)
	rf.run()

	mine, err := rf.svc.MyReviews(rf.Ctx, rf.Call(reviewer))
	if err != nil || len(mine) != 2 {
		t.Fatalf("the reviewer's reviews: %v %+v", err, mine)
	}
	if theirs, err := rf.svc.MyReviews(rf.Ctx, rf.Call(outsider)); err != nil || len(theirs) != 0 {
		t.Fatalf("someone who reviews nothing sees: %v %+v", err, theirs)
	}

	in := rf.instance(d.ID)
	own, act, idl := rf.item(in.ID, reviewer, domain.KindEligibility), rf.item(in.ID, active, domain.KindEligibility), rf.item(in.ID, idle, domain.KindEligibility)
	if act.Recommendation != domain.ReviewApprove || idl.Recommendation != domain.ReviewDeny {
		t.Fatalf("recommendations: %s %s", act.Recommendation, idl.Recommendation)
	}
	ids := []string{own.ID, act.ID, idl.ID}
	// Approving needs the justification the settings require: only the Deny is recorded.
	got, err := rf.svc.AcceptRecommendations(rf.Ctx, rf.Call(reviewer), d.ID, in.ID, ids, "")
	if err != nil || len(got) != 3 {
		t.Fatalf("accept: %v %+v", err, got)
	}
	enginetest.WantCode(t, got[1].Err, domain.CodeInvalid)
	if got[2].Err != nil || got[2].Item.Decision != domain.ReviewDeny {
		t.Fatalf("the idle item: %+v", got[2])
	}
	got, err = rf.svc.AcceptRecommendations(rf.Ctx, rf.Call(reviewer), d.ID, in.ID, ids, "checked with the team")
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WantContains(t, got[0].Err, "your own access")
	if rf.item(in.ID, reviewer, domain.KindEligibility).Decision != domain.ReviewNotReviewed {
		t.Fatal("the reviewer's own access was approved by accepting its recommendation")
	}
	if it := rf.item(in.ID, active, domain.KindEligibility); got[1].Err != nil || it.Decision != domain.ReviewApprove || it.Justification != "checked with the team" || it.ReviewedBy != reviewer {
		t.Fatalf("the active item: %+v %+v", got[1], it)
	}

	// Someone who reviews nothing records nothing.
	got, err = rf.svc.AcceptRecommendations(rf.Ctx, rf.Call(outsider), d.ID, in.ID, []string{idl.ID}, "x")
	if err != nil || got[0].Err == nil {
		t.Fatalf("an outsider accepting: %v %+v", err, got)
	}
	// Without recommendations there is nothing to accept.
	nr := rf.instance(noRec.ID)
	it := rf.item(nr.ID, idle, domain.KindEligibility)
	got, err = rf.svc.AcceptRecommendations(rf.Ctx, rf.Call(reviewer), noRec.ID, nr.ID, []string{it.ID}, "x")
	if err != nil || got[0].Err == nil || rf.item(nr.ID, idle, domain.KindEligibility).Decision != domain.ReviewNotReviewed {
		t.Fatalf("accepting no recommendation: %v %+v", err, got)
	}
	if _, err := rf.svc.AcceptRecommendations(rf.Ctx, rf.Call(reviewer), d.ID, in.ID, nil, "x"); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("nothing chosen: %v", err)
	}
}
