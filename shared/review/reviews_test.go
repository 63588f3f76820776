package review_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/review"
)

// reviewFixture is the engine suite's fixture on a memory store with
// access reviews on: the fake directory also answers managers, group owners
// and sign-ins; links are recorded.
type reviewFixture struct {
	*enginetest.Fixture
	store *memstore.Store
	svc   *review.Service
	mu    sync.Mutex
	links []domain.ObjectID // reviewer ids links were made for
	rs    domain.ReviewStore
}

const adminMail = "secops@contoso.example"

func newReviewFixture(t testing.TB) *reviewFixture {
	t.Helper()
	rf := &reviewFixture{store: memstore.New()}
	rf.rs = rf.store
	rf.Fixture = enginetest.NewFixture(t, rf.store, func(s *enginetest.Setup) { s.Config.AdminRecipients = []string{adminMail} })
	rf.useReviewStore(rf.store)
	return rf
}

// useReviewStore builds the review service on rs (a wrapper that injects
// faults, say); everything else stays.
func (rf *reviewFixture) useReviewStore(rs domain.ReviewStore) {
	rf.svc = review.New(review.Deps{Engine: rf.Eng, Reviews: rs, Store: rf.Store, Directory: rf.Dir, Reader: rf.Dir, SignIns: rf.Dir,
		Alarm: rf.Alarms, Links: rf})
}

// ReviewLink records the reviewer a link was made for.
func (rf *reviewFixture) ReviewLink(def, inst string, reviewer domain.ObjectID, expires time.Time) (string, error) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rf.links = append(rf.links, reviewer)
	return "https://jitpim.example/api/approvals/review/" + inst + "." + string(reviewer), nil
}

func named(ids ...domain.ObjectID) []domain.Reviewer {
	var out []domain.Reviewer
	for _, id := range ids {
		out = append(out, domain.Reviewer{Kind: domain.ReviewerUser, ID: id})
	}
	return out
}

// definition is a one-time review of enginetest.RoleOther starting today.
func definition(reviewers []domain.Reviewer, def string, auto bool) domain.ReviewDefinition {
	return domain.ReviewDefinition{DisplayName: "Application Administrators", Scope: domain.ReviewScope{Kind: domain.ReviewScopeRole, RoleDefinitionID: enginetest.RoleOther.RoleDefinitionID},
		Reviewers: reviewers, Settings: domain.ReviewSettings{DurationInDays: 7, DefaultDecision: def, AutoApply: auto, RecommendationsEnabled: true,
			RemindersEnabled: true, MailEnabled: true}}
}

func (rf *reviewFixture) define(d domain.ReviewDefinition) domain.ReviewDefinition {
	rf.T.Helper()
	out, err := rf.svc.CreateReviewDefinition(rf.Ctx, rf.Call(rf.Admin), d)
	if err != nil {
		rf.T.Fatalf("CreateReviewDefinition: %v", err)
	}
	return out
}

func (rf *reviewFixture) run() review.RunResult {
	rf.T.Helper()
	res, err := rf.svc.RunReviews(rf.Ctx, rf.System())
	if err != nil {
		rf.T.Fatalf("RunReviews: %v", err)
	}
	return res
}

// instance returns the definition's only instance.
func (rf *reviewFixture) instance(def string) domain.ReviewInstance {
	rf.T.Helper()
	list, err := rf.rs.ListReviewInstances(rf.Ctx, def)
	if err != nil || len(list) != 1 {
		rf.T.Fatalf("instances of %s: %v %+v", def, err, list)
	}
	return list[0]
}

func (rf *reviewFixture) items(inst string) map[string]domain.ReviewDecision {
	rf.T.Helper()
	out := map[string]domain.ReviewDecision{}
	q := domain.ReviewDecisionQuery{InstanceID: inst, Limit: 1000}
	for {
		p, err := rf.rs.ListReviewDecisions(rf.Ctx, q)
		if err != nil {
			rf.T.Fatal(err)
		}
		for _, it := range p.Items {
			out[string(it.PrincipalID)+"|"+string(it.Kind)] = it
		}
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

func (rf *reviewFixture) item(inst string, principal domain.ObjectID, kind domain.RequestKind) domain.ReviewDecision {
	rf.T.Helper()
	it, ok := rf.items(inst)[string(principal)+"|"+string(kind)]
	if !ok {
		rf.T.Fatalf("no %s item for %s", kind, principal)
	}
	return it
}

func (rf *reviewFixture) decide(reviewer domain.ObjectID, it domain.ReviewDecision, decision string) error {
	_, err := rf.svc.DecideReview(rf.Ctx, rf.Call(reviewer), it.DefinitionID, it.InstanceID, it.ID, review.Input{Decision: decision, Justification: "checked with the team"})
	return err
}

// mails lists the queued mail whose subject contains sub.
func (rf *reviewFixture) mails(sub string) []domain.Mail {
	rf.T.Helper()
	all, err := rf.store.MailDue(rf.Ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		rf.T.Fatal(err)
	}
	var out []domain.Mail
	for _, m := range all {
		if strings.Contains(m.Subject, sub) {
			out = append(out, m)
		}
	}
	return out
}

func mailTo(ms []domain.Mail, addr string) bool {
	for _, m := range ms {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				return true
			}
		}
	}
	return false
}

func upn(id domain.ObjectID) string { return string(id) + "@contoso.example" }

func (rf *reviewFixture) eligibilityLive(user domain.ObjectID, t domain.Target) bool {
	for _, s := range rf.SchedulesOf(user, domain.KindEligibility) {
		if s.Target == t && s.Live(rf.Now) {
			return true
		}
	}
	return false
}

func TestReviewDefinitionRules(t *testing.T) {
	rf := newReviewFixture(t)
	r := rf.NewUser()
	c := rf.Call(rf.Admin)
	noDefault := definition(named(r), "", true)
	_, err := rf.svc.CreateReviewDefinition(rf.Ctx, c, noDefault)
	enginetest.WantCode(t, err, domain.CodeInvalid)
	enginetest.WantContains(t, err, "explicitly")
	_, err = rf.svc.CreateReviewDefinition(rf.Ctx, rf.Call(r), definition(named(r), domain.DefaultApprove, true))
	enginetest.WantCode(t, err, domain.CodeForbidden)
	long := definition(named(r), domain.DefaultApprove, true)
	long.Settings.Recurrence = domain.Recurrence{Type: domain.RecurrenceWeekly, Interval: 1}
	long.Settings.DurationInDays = 14
	_, err = rf.svc.CreateReviewDefinition(rf.Ctx, c, long)
	enginetest.WantCode(t, err, domain.CodeInvalid)
	ghost := definition(named("00000000-0000-4000-8000-0000000fffff"), domain.DefaultApprove, true)
	_, err = rf.svc.CreateReviewDefinition(rf.Ctx, c, ghost)
	enginetest.WantContains(t, err, "does not exist")
	owners := definition([]domain.Reviewer{{Kind: domain.ReviewerGroupOwners}}, domain.DefaultApprove, true)
	_, err = rf.svc.CreateReviewDefinition(rf.Ctx, c, owners)
	enginetest.WantContains(t, err, "group scope")
	d := rf.define(definition(named(r), domain.DefaultDeny, true))
	if d.Settings.Recurrence.StartDate != rf.Now.Truncate(24*time.Hour) {
		t.Fatalf("start date %v", d.Settings.Recurrence.StartDate)
	}
	if w := review.Warnings(d.Settings); len(w) == 0 || !strings.Contains(w[0], "REMOVED automatically") {
		t.Fatalf("warnings: %v", w)
	}
	if a := rf.Audits("review.definition.create"); len(a) != 1 || !strings.Contains(a[0].Reason, "REMOVED") {
		t.Fatalf("audit: %+v", a)
	}
}

// TestReviewDenyRemovesThroughRequestPath: a named reviewer denies two
// eligibilities; when the review ends, jitpim removes them with adminRemove
// requests (an activation drawn on one of them ends too, and the directory
// follows), keeps the approved active assignment, and never reviews a
// break-glass account or an activation on its own.
func TestReviewDenyRemovesThroughRequestPath(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer, u1, u2, u3 := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
	rf.MakeEligible(u1, enginetest.RoleOther)
	rf.MustSubmit(rf.Admin, enginetest.AssignSub(u2, enginetest.RoleOther, 90*24*time.Hour))
	rf.MakeEligible(u3, enginetest.RoleOther)
	if _, err := rf.Activate(u3, enginetest.RoleOther, time.Hour); err != nil {
		t.Fatal(err)
	}
	bg := domain.Schedule{ID: "bg-elig", Kind: domain.KindEligibility, PrincipalID: rf.BreakGlass, Target: enginetest.RoleOther, Start: rf.Now,
		Status: domain.ScheduleProvisioned, MemberType: domain.MemberDirect}
	if err := rf.store.CreateSchedule(rf.Ctx, &bg); err != nil {
		t.Fatal(err)
	}
	d := rf.define(definition(named(reviewer), domain.DefaultApprove, true))
	res := rf.run()
	in := rf.instance(d.ID)
	if res.Started != 1 || in.Status != domain.ReviewInProgress || in.ItemCount != 3 {
		t.Fatalf("after the first run: %+v %+v", res, in)
	}
	items := rf.items(in.ID)
	if _, ok := items[string(rf.BreakGlass)+"|eligibility"]; ok {
		t.Fatal("a break-glass account is under review")
	}
	if _, ok := items[string(u3)+"|assignment"]; ok {
		t.Fatal("an activation is reviewed on its own")
	}
	if ms := rf.mails("needs your decisions"); len(ms) != 1 || !mailTo(ms, upn(reviewer)) || !strings.Contains(ms[0].Text, "/api/approvals/review/") {
		t.Fatalf("reviewer mail: %+v", ms)
	}
	if err := rf.decide(reviewer, items[string(u1)+"|eligibility"], "deny"); err != nil {
		t.Fatal(err)
	}
	if err := rf.decide(reviewer, items[string(u3)+"|eligibility"], domain.ReviewDeny); err != nil {
		t.Fatal(err)
	}
	if err := rf.decide(reviewer, items[string(u2)+"|assignment"], domain.ReviewApprove); err != nil {
		t.Fatal(err)
	}
	// A stranger cannot decide, nor see the item.
	stranger := rf.NewUser()
	enginetest.WantCode(t, rf.decide(stranger, items[string(u2)+"|assignment"], domain.ReviewDeny), domain.CodeForbidden)
	_, _, err := rf.svc.GetReviewDecision(rf.Ctx, rf.Call(stranger), d.ID, in.ID, items[string(u2)+"|assignment"].ID)
	enginetest.WantCode(t, err, domain.CodeNotFound)
	// Before the end nothing is removed.
	rf.Advance(3 * 24 * time.Hour)
	rf.run()
	if !rf.eligibilityLive(u1, enginetest.RoleOther) {
		t.Fatal("removed before the review ended")
	}
	rf.Advance(5 * 24 * time.Hour)
	res = rf.run()
	in = rf.instance(d.ID)
	if res.Completed != 1 || res.Applied != 1 || res.Removed != 2 || in.Status != domain.ReviewApplied || in.Removed != 2 {
		t.Fatalf("after the end: %+v %+v", res, in)
	}
	if rf.eligibilityLive(u1, enginetest.RoleOther) || rf.eligibilityLive(u3, enginetest.RoleOther) {
		t.Fatal("denied eligibilities are still live")
	}
	if rf.HasRole(u3, enginetest.RoleOther) {
		t.Fatal("the activation drawn on a denied eligibility still holds the role")
	}
	if !rf.HasRole(u2, enginetest.RoleOther) {
		t.Fatal("the approved active assignment lost its role")
	}
	for _, u := range []domain.ObjectID{u1, u3} {
		var rm []domain.Request
		for _, r := range rf.RequestsOf(u) {
			if r.Action == domain.ActionAdminRemove {
				rm = append(rm, r)
			}
		}
		if len(rm) != 1 || rm[0].CreatedBy != engine.SystemActor || rm[0].Status != domain.StatusRevoked || !strings.Contains(rm[0].Justification, "access review") {
			t.Fatalf("removal requests of %s: %+v", u, rm)
		}
		if a := rf.AuditsFor("request.create", u); len(a) == 0 || a[len(a)-1].Details["action"] != string(domain.ActionAdminRemove) || a[len(a)-1].ActorID != engine.SystemActor {
			t.Fatalf("no audited adminRemove for %s: %+v", u, a)
		}
		if len(rf.AuditsFor("schedule.revoke", u)) == 0 {
			t.Fatalf("no schedule.revoke audit for %s", u)
		}
		it := rf.item(in.ID, u, domain.KindEligibility)
		if it.ApplyResult != domain.ApplySuccess || it.ApplyRequestID == "" {
			t.Fatalf("item of %s: %+v", u, it)
		}
	}
	if len(rf.AuditsFor("grant.remove", u3)) != 1 {
		t.Fatal("the directory removal of the activation is not audited")
	}
	if len(rf.Audits("review.apply")) != 1 || len(rf.mails("removed by an access review")) != 2 {
		t.Fatal("apply not audited or holders not told")
	}
	// Decisions are closed now.
	enginetest.WantCode(t, rf.decide(reviewer, items[string(u2)+"|assignment"], domain.ReviewDeny), domain.CodeConflict)
	// More runs change nothing.
	before := rf.Snapshot()
	rf.run()
	rf.run()
	if d := rf.Snapshot(); d.Dir["RemoveRoleAssignment"] != before.Dir["RemoveRoleAssignment"] || d.Store["CreateRequest"] != before.Store["CreateRequest"] {
		t.Fatal("runs after the apply changed something")
	}
}

// TestReviewerKinds: self, manager with fallback, group members, owners of
// the reviewed group, and the fallback for a reviewer who holds the access.
func TestReviewerKinds(t *testing.T) {
	rf := newReviewFixture(t)
	mgr, fb, member, owner := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
	withMgr, noMgr := rf.NewUser(), rf.NewUser()
	rf.Dir.SetManager(withMgr, mgr)
	group := rf.NewID()
	rf.Dir.AddMember(group, member)
	rf.MakeEligible(withMgr, enginetest.RoleOther)
	rf.MakeEligible(noMgr, enginetest.RoleOther)

	fallback := []domain.Reviewer{{Kind: domain.ReviewerUser, ID: fb}}
	byMgr := definition([]domain.Reviewer{{Kind: domain.ReviewerManager}}, domain.DefaultApprove, false)
	byMgr.FallbackReviewers = fallback
	self := definition([]domain.Reviewer{{Kind: domain.ReviewerSelf}}, domain.DefaultApprove, false)
	byGroup := definition([]domain.Reviewer{{Kind: domain.ReviewerGroup, ID: group}}, domain.DefaultApprove, false)
	dm, ds, dg := rf.define(byMgr), rf.define(self), rf.define(byGroup)

	pag := domain.GroupTarget(rf.NewID(), domain.AccessMember)
	rf.Dir.AddOwner(pag.GroupID, owner)
	rf.MakeEligible(withMgr, pag)
	byOwners := domain.ReviewDefinition{DisplayName: "PAG members", Scope: domain.ReviewScope{Kind: domain.ReviewScopeGroup, GroupID: pag.GroupID, AccessID: domain.AccessMember},
		Reviewers: []domain.Reviewer{{Kind: domain.ReviewerGroupOwners}}, Settings: domain.ReviewSettings{DurationInDays: 3, DefaultDecision: domain.DefaultApprove}}
	do := rf.define(byOwners)
	rf.run()

	im := rf.instance(dm.ID)
	it := rf.item(im.ID, withMgr, domain.KindEligibility)
	if len(it.Reviewers) != 1 || it.Reviewers[0].ID != mgr || it.Fallback {
		t.Fatalf("manager review: %+v", it.Reviewers)
	}
	if err := rf.decide(mgr, it, domain.ReviewApprove); err != nil {
		t.Fatal(err)
	}
	enginetest.WantCode(t, rf.decide(fb, it, domain.ReviewApprove), domain.CodeForbidden)
	it = rf.item(im.ID, noMgr, domain.KindEligibility)
	if len(it.Reviewers) != 1 || it.Reviewers[0].ID != fb || !it.Fallback {
		t.Fatalf("no manager: %+v", it)
	}
	if err := rf.decide(fb, it, domain.ReviewDeny); err != nil {
		t.Fatal(err)
	}
	if !mailTo(rf.mails("needs your decisions"), upn(mgr)) || !mailTo(rf.mails("needs your decisions"), upn(fb)) {
		t.Fatal("manager or fallback reviewer not mailed")
	}

	is := rf.instance(ds.ID)
	it = rf.item(is.ID, noMgr, domain.KindEligibility)
	if err := rf.decide(noMgr, it, domain.ReviewApprove); err != nil {
		t.Fatalf("self-review approve: %v", err)
	}
	enginetest.WantCode(t, rf.decide(withMgr, it, domain.ReviewApprove), domain.CodeForbidden)

	ig := rf.instance(dg.ID)
	it = rf.item(ig.ID, withMgr, domain.KindEligibility)
	if err := rf.decide(member, it, domain.ReviewDontKnow); err != nil {
		t.Fatalf("group member: %v", err)
	}
	_, page, err := rf.svc.ListReviewDecisions(rf.Ctx, rf.Call(member), dg.ID, ig.ID, true, "", 10)
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("group member's items: %v %d", err, len(page.Items))
	}
	_, _, err = rf.svc.ListReviewDecisions(rf.Ctx, rf.Call(member), dg.ID, ig.ID, false, "", 10)
	enginetest.WantCode(t, err, domain.CodeForbidden)

	io := rf.instance(do.ID)
	it = rf.item(io.ID, withMgr, domain.KindEligibility)
	if len(it.Reviewers) != 1 || it.Reviewers[0].ID != owner {
		t.Fatalf("owners review: %+v", it.Reviewers)
	}
	if err := rf.decide(owner, it, domain.ReviewApprove); err != nil {
		t.Fatal(err)
	}
	if insts, err := rf.svc.ListReviewInstances(rf.Ctx, rf.Call(owner), do.ID, true); err != nil || len(insts) != 1 {
		t.Fatalf("owner's instances: %v %d", err, len(insts))
	}
}

// TestReviewSelfApproval: a named reviewer who holds the access may not
// approve it (they may deny it); the fallback reviewers decide it.
func TestReviewSelfApproval(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer, fb := rf.NewUser(), rf.NewUser()
	rf.MakeEligible(reviewer, enginetest.RoleOther)
	d := definition(named(reviewer), domain.DefaultApprove, true)
	d.FallbackReviewers = named(fb)
	d = rf.define(d)
	rf.run()
	in := rf.instance(d.ID)
	it := rf.item(in.ID, reviewer, domain.KindEligibility)
	if !it.Fallback || !it.HasReviewer(domain.Reviewer{Kind: domain.ReviewerUser, ID: fb}) {
		t.Fatalf("own item has no fallback reviewer: %+v", it)
	}
	err := rf.decide(reviewer, it, domain.ReviewApprove)
	enginetest.WantCode(t, err, domain.CodeForbidden)
	enginetest.WantContains(t, err, "your own access")
	if err := rf.decide(fb, it, domain.ReviewApprove); err != nil {
		t.Fatal(err)
	}
	if err := rf.decide(reviewer, it, domain.ReviewDeny); err != nil {
		t.Fatalf("denying one's own access: %v", err)
	}
	// Without MFA, reviewers are refused.
	_, err = rf.svc.DecideReview(rf.Ctx, rf.CallAuth(fb, domain.AuthEvidence{}), d.ID, in.ID, it.ID, review.Input{Decision: "Approve"})
	enginetest.WantContains(t, err, "multi-factor")
}

// TestReviewRecommendations: Deny is recommended where there was no
// sign-in and no activation in 30 days.
func TestReviewRecommendations(t *testing.T) {
	rf := newReviewFixture(t)
	signedIn, activated, idle, disabled, old := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
	for _, u := range []domain.ObjectID{signedIn, activated, idle, disabled, old} {
		rf.MakeEligible(u, enginetest.RoleOther)
	}
	if _, err := rf.Activate(old, enginetest.RoleOther, time.Hour); err != nil {
		t.Fatal(err)
	}
	rf.Dir.AddSignIn(domain.SignIn{ID: "s0", UserID: old, Time: rf.Now, Succeeded: true})
	rf.Advance(20 * 24 * time.Hour)
	activatedAt := rf.Now
	if _, err := rf.Activate(activated, enginetest.RoleOther, time.Hour); err != nil {
		t.Fatal(err)
	}
	rf.Advance(20 * 24 * time.Hour)
	signedInAt := rf.Now.Add(-5 * 24 * time.Hour)
	rf.Dir.AddSignIn(domain.SignIn{ID: "s1", UserID: signedIn, Time: signedInAt, Succeeded: true})
	rf.Dir.SetEnabled(disabled, false)
	d := rf.define(definition(named(rf.Admin), domain.DefaultRecommendation, true))
	rf.run()
	in := rf.instance(d.ID)
	want := map[domain.ObjectID]string{signedIn: domain.ReviewApprove, activated: domain.ReviewApprove, idle: domain.ReviewDeny, disabled: domain.ReviewDeny, old: domain.ReviewDeny}
	for u, rec := range want {
		it := rf.item(in.ID, u, domain.KindEligibility)
		if it.Recommendation != rec {
			t.Errorf("%s: recommendation %s (%s), want %s", u, it.Recommendation, it.RecommendationReason, rec)
		}
	}
	// The evidence is kept beside the recommendation for the reviewer to see.
	evidence := []struct {
		who                  domain.ObjectID
		signedIn, activation time.Time
	}{{signedIn, signedInAt, time.Time{}}, {activated, time.Time{}, activatedAt}, {idle, time.Time{}, time.Time{}}}
	for _, e := range evidence {
		it := rf.item(in.ID, e.who, domain.KindEligibility)
		if !it.LastSignIn.Equal(e.signedIn) || !it.LastActivation.Equal(e.activation) {
			t.Errorf("%s: last sign-in %v, last activation %v; want %v, %v", e.who, it.LastSignIn, it.LastActivation, e.signedIn, e.activation)
		}
	}
	if in.DenyRecommended != 3 {
		t.Fatalf("deny recommended: %d", in.DenyRecommended)
	}
}

// TestReviewDefaults: what unanswered items become, with auto-apply on and
// off; a Deny default with auto-apply is announced when the review starts
// and when it applies.
func TestReviewDefaults(t *testing.T) {
	cases := []struct {
		name      string
		def       string
		auto      bool
		removed   int // of the idle, the signed-in and the approved holder
		completed string
		loud      bool
	}{
		{"approve/auto", domain.DefaultApprove, true, 0, domain.ReviewApplied, false},
		{"approve/manual", domain.DefaultApprove, false, 0, domain.ReviewCompleted, false},
		{"deny/auto", domain.DefaultDeny, true, 2, domain.ReviewApplied, true},
		{"deny/manual", domain.DefaultDeny, false, 0, domain.ReviewCompleted, false},
		{"recommendation/auto", domain.DefaultRecommendation, true, 1, domain.ReviewApplied, true},
		{"recommendation/manual", domain.DefaultRecommendation, false, 0, domain.ReviewCompleted, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rf := newReviewFixture(t)
			reviewer, idle, active, kept := rf.NewUser(), rf.NewUser(), rf.NewUser(), rf.NewUser()
			for _, u := range []domain.ObjectID{idle, active, kept} {
				rf.MakeEligible(u, enginetest.RoleOther)
			}
			rf.Dir.AddSignIn(domain.SignIn{ID: "s", UserID: active, Time: rf.Now, Succeeded: true})
			d := rf.define(definition(named(reviewer), tc.def, tc.auto))
			rf.run()
			in := rf.instance(d.ID)
			if err := rf.decide(reviewer, rf.item(in.ID, kept, domain.KindEligibility), domain.ReviewApprove); err != nil {
				t.Fatal(err)
			}
			if err := rf.decide(reviewer, rf.item(in.ID, idle, domain.KindEligibility), domain.ReviewDontKnow); err != nil {
				t.Fatal(err)
			}
			armed := rf.mails("WARNING")
			if tc.loud != (len(armed) == 1 && mailTo(armed, adminMail)) {
				t.Fatalf("start warning to admins: %+v", armed)
			}
			if a, err := rf.store.GetAlert(rf.Ctx, domain.AlertAccessReviewAutoDeny); tc.loud && (err != nil || !a.IsActive || a.IncidentCount != 1) {
				t.Fatalf("alert at start: %v %+v", err, a)
			}
			if start := rf.Audits("review.start"); len(start) != 1 || (tc.loud != strings.Contains(start[0].Reason, "REMOVED")) {
				t.Fatalf("start audit: %+v", start)
			}
			rf.Advance(8 * 24 * time.Hour)
			rf.run()
			in = rf.instance(d.ID)
			gone := 0
			for _, u := range []domain.ObjectID{idle, active, kept} {
				if !rf.eligibilityLive(u, enginetest.RoleOther) {
					gone++
				}
			}
			if in.Status != tc.completed || gone != tc.removed {
				t.Fatalf("status %s, %d removed; want %s, %d", in.Status, gone, tc.completed, tc.removed)
			}
			if !rf.eligibilityLive(kept, enginetest.RoleOther) {
				t.Fatal("the approved eligibility was removed")
			}
			if applying := rf.mails("is removing access"); tc.loud != mailTo(applying, adminMail) {
				t.Fatalf("apply mail to admins: %+v", applying)
			}
			if tc.loud {
				if a, _ := rf.store.GetAlert(rf.Ctx, domain.AlertAccessReviewAutoDeny); a.IncidentCount != 2 {
					t.Fatalf("alert incidents after apply: %+v", a.Incidents)
				}
			}
			if !tc.auto {
				// An admin applies the decisions.
				_, err := rf.svc.ApplyReviewDecisions(rf.Ctx, rf.Call(reviewer), d.ID, in.ID)
				enginetest.WantCode(t, err, domain.CodeForbidden)
				in, err = rf.svc.ApplyReviewDecisions(rf.Ctx, rf.Call(rf.Admin), d.ID, in.ID)
				if err != nil || in.Status != domain.ReviewApplied {
					t.Fatalf("apply: %v %+v", err, in)
				}
				want := map[string]int{domain.DefaultApprove: 0, domain.DefaultDeny: 2, domain.DefaultRecommendation: 1}[tc.def]
				if in.Removed != want || rf.eligibilityLive(idle, enginetest.RoleOther) == (want > 0) {
					t.Fatalf("manual apply removed %d, want %d", in.Removed, want)
				}
				_, err = rf.svc.ApplyReviewDecisions(rf.Ctx, rf.Call(rf.Admin), d.ID, in.ID)
				enginetest.WantCode(t, err, domain.CodeConflict)
			}
		})
	}
}

// TestReviewStopAndDelete: stopping applies at once (auto-apply); deleting
// a definition cancels its running instance with nothing applied.
func TestReviewStopAndDelete(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer, u := rf.NewUser(), rf.NewUser()
	rf.MakeEligible(u, enginetest.RoleOther)
	d1 := rf.define(definition(named(reviewer), domain.DefaultDeny, true))
	rf.run()
	in := rf.instance(d1.ID)
	_, err := rf.svc.StopReview(rf.Ctx, rf.Call(reviewer), d1.ID, in.ID)
	enginetest.WantCode(t, err, domain.CodeForbidden)
	in, err = rf.svc.StopReview(rf.Ctx, rf.Call(rf.Admin), d1.ID, in.ID)
	if err != nil || in.Status != domain.ReviewApplied || in.Removed != 1 || rf.eligibilityLive(u, enginetest.RoleOther) {
		t.Fatalf("stop: %v %+v", err, in)
	}
	if len(rf.Audits("review.stop")) != 1 {
		t.Fatal("stop not audited")
	}

	v := rf.NewUser()
	rf.MakeEligible(v, enginetest.RoleOther)
	d2 := rf.define(definition(named(reviewer), domain.DefaultDeny, true))
	rf.run()
	if err := rf.svc.DeleteReviewDefinition(rf.Ctx, rf.Call(rf.Admin), d2.ID); err != nil {
		t.Fatal(err)
	}
	in2, _ := rf.rs.ListReviewInstances(rf.Ctx, d2.ID)
	if len(in2) != 1 || in2[0].Status != domain.ReviewCanceled {
		t.Fatalf("after delete: %+v", in2)
	}
	rf.Advance(30 * 24 * time.Hour)
	rf.run()
	if !rf.eligibilityLive(v, enginetest.RoleOther) {
		t.Fatal("a deleted review removed access")
	}
	if _, err := rf.svc.GetReviewDefinition(rf.Ctx, rf.Call(rf.Admin), d2.ID); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("deleted definition: %v", err)
	}
	if defs, _ := rf.svc.ListReviewDefinitions(rf.Ctx, rf.Call(rf.Admin)); len(defs) != 1 {
		t.Fatalf("definitions listed: %d", len(defs))
	}
}

// TestReviewRecurrenceAndReminders: a weekly review starts one instance per
// week, reminders go out once each, and a missed window still runs.
func TestReviewRecurrenceAndReminders(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer, u := rf.NewUser(), rf.NewUser()
	rf.MakeEligible(u, enginetest.RoleOther)
	d := definition(named(reviewer), domain.DefaultApprove, true)
	d.Settings.Recurrence = domain.Recurrence{Type: domain.RecurrenceWeekly, Interval: 1}
	d.Settings.DurationInDays = 4
	d = rf.define(d)
	rf.run()
	rf.Advance(2 * 24 * time.Hour)
	if res := rf.run(); res.Reminders != 1 {
		t.Fatalf("half-way reminder: %+v", res)
	}
	if res := rf.run(); res.Reminders != 0 {
		t.Fatalf("reminder repeated: %+v", res)
	}
	rf.Advance(24 * time.Hour)
	if res := rf.run(); res.Reminders != 1 || len(rf.mails("Reminder")) != 2 {
		t.Fatalf("last-day reminder: %+v", res)
	}
	rf.Advance(4 * 24 * time.Hour) // day 7: week 2 starts, week 1 ends
	rf.run()
	insts, _ := rf.rs.ListReviewInstances(rf.Ctx, d.ID)
	if len(insts) != 2 || insts[0].Status != domain.ReviewApplied || insts[1].Status != domain.ReviewInProgress {
		t.Fatalf("after a week: %+v", insts)
	}
	rf.Advance(30 * 24 * time.Hour) // the timer was down for weeks: the newest occurrence runs in full
	rf.run()
	insts, _ = rf.rs.ListReviewInstances(rf.Ctx, d.ID)
	last := insts[len(insts)-1]
	if len(insts) != 3 || last.Status != domain.ReviewInProgress || !last.End.After(rf.Now) {
		t.Fatalf("after a gap: %+v", last)
	}
}

// flakyReviews fails chosen ReviewStore calls, to cut a run short.
type flakyReviews struct {
	domain.ReviewStore
	mu   sync.Mutex
	fail map[string]int // op → calls to let through before failing once
}

func (s *flakyReviews) check(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.fail[op]
	if !ok {
		return nil
	}
	if n > 0 {
		s.fail[op] = n - 1
		return nil
	}
	delete(s.fail, op)
	return domain.Errorf(domain.CodeTransient, "injected failure of %s", op)
}

func (s *flakyReviews) AddReviewDecisions(ctx context.Context, inst string, items []domain.ReviewDecision) (int, error) {
	if err := s.check("AddReviewDecisions"); err != nil {
		return 0, err
	}
	return s.ReviewStore.AddReviewDecisions(ctx, inst, items)
}

func (s *flakyReviews) UpdateReviewDecision(ctx context.Context, d *domain.ReviewDecision) error {
	if err := s.check("UpdateReviewDecision"); err != nil {
		return err
	}
	return s.ReviewStore.UpdateReviewDecision(ctx, d)
}

// bulkEligible stores n permanent eligibilities of new users on t directly
// (as a long-running tenant would have them), returning the users.
func (rf *reviewFixture) bulkEligible(n int, t domain.Target) []domain.ObjectID {
	rf.T.Helper()
	users := make([]domain.ObjectID, n)
	for i := range users {
		u := rf.NewUser()
		users[i] = u
		s := domain.Schedule{ID: "elig-" + string(u), Kind: domain.KindEligibility, PrincipalID: u, Target: t, MemberType: domain.MemberDirect,
			Start: rf.Now.Add(-time.Hour), Status: domain.ScheduleProvisioned, CreatedUsing: "seed-" + string(u), CreatedAt: rf.Now, ModifiedAt: rf.Now}
		if err := rf.store.CreateSchedule(rf.Ctx, &s); err != nil {
			rf.T.Fatal(err)
		}
	}
	return users
}

// TestReviewResumesInterruptedRuns: a start cut off after its first batch
// and an apply cut off half-way are finished by the next run, with every
// item written once and every assignment removed once.
func TestReviewResumesInterruptedRuns(t *testing.T) {
	rf := newReviewFixture(t)
	flaky := &flakyReviews{ReviewStore: rf.store, fail: map[string]int{"AddReviewDecisions": 1}}
	rf.useReviewStore(flaky)
	reviewer := rf.NewUser()
	users := rf.bulkEligible(2500, enginetest.RoleOther)
	d := rf.define(definition(named(reviewer), domain.DefaultDeny, true))
	res, err := rf.svc.RunReviews(rf.Ctx, rf.System())
	in := rf.instance(d.ID)
	if err != nil || res.Errors == 0 || in.Status != domain.ReviewStarting || len(rf.items(in.ID)) != 1000 {
		t.Fatalf("interrupted start: %v %+v %s %d items", err, res, in.Status, len(rf.items(in.ID)))
	}
	if len(rf.mails("needs your decisions")) != 0 {
		t.Fatal("reviewers mailed before every item was written")
	}
	res = rf.run()
	in = rf.instance(d.ID)
	if res.ItemsWritten != 1500 || in.Status != domain.ReviewInProgress || in.ItemCount != 2500 || len(rf.items(in.ID)) != 2500 {
		t.Fatalf("resumed start: %+v %+v", res, in)
	}
	if len(rf.Audits("review.start")) != 1 || len(rf.mails("needs your decisions")) != 1 {
		t.Fatal("start audited or mailed more than once")
	}

	flaky.mu.Lock()
	flaky.fail["UpdateReviewDecision"] = 700
	flaky.mu.Unlock()
	rf.Advance(8 * 24 * time.Hour)
	res, _ = rf.svc.RunReviews(rf.Ctx, rf.System())
	in = rf.instance(d.ID)
	if in.Status != domain.ReviewApplying || res.Errors == 0 {
		t.Fatalf("interrupted apply: %+v %+v", res, in)
	}
	res = rf.run()
	in = rf.instance(d.ID)
	if in.Status != domain.ReviewApplied || in.Removed != 2500 {
		t.Fatalf("resumed apply: %+v %+v", res, in)
	}
	removals := 0
	for _, u := range users {
		if rf.eligibilityLive(u, enginetest.RoleOther) {
			t.Fatalf("%s still eligible", u)
		}
		for _, r := range rf.RequestsOf(u) {
			if r.Action == domain.ActionAdminRemove {
				removals++
			}
		}
	}
	if removals != 2500 {
		t.Fatalf("%d removal requests for 2500 items", removals)
	}
}

// TestReviewConcurrentRuns: two timer runs at once (a duplicated trigger)
// create one instance and one item per assignment, open it once, and
// remove each denied assignment once.
func TestReviewConcurrentRuns(t *testing.T) {
	rf := newReviewFixture(t)
	reviewer := rf.NewUser()
	users := rf.bulkEligible(300, enginetest.RoleOther)
	actives := make([]domain.ObjectID, 20)
	for i := range actives {
		actives[i] = rf.NewUser()
		rf.MustSubmit(rf.Admin, enginetest.AssignSub(actives[i], enginetest.RoleOther, 30*24*time.Hour))
	}
	d := rf.define(definition(named(reviewer), domain.DefaultDeny, true))
	both := func() {
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if res, err := rf.svc.RunReviews(rf.Ctx, rf.System()); err != nil || res.Errors != 0 {
					failed.Add(1)
					t.Logf("run: %+v %v", res, err)
				}
			}()
		}
		wg.Wait()
		if failed.Load() != 0 {
			t.Fatal("a concurrent run failed")
		}
	}
	both()
	insts, _ := rf.rs.ListReviewInstances(rf.Ctx, d.ID)
	if len(insts) != 1 || insts[0].Status != domain.ReviewInProgress || insts[0].ItemCount != 320 || len(rf.items(insts[0].ID)) != 320 {
		t.Fatalf("after two concurrent starts: %+v", insts)
	}
	if len(rf.Audits("review.start")) != 1 || len(rf.mails("needs your decisions")) != 1 || len(rf.mails("WARNING")) != 1 {
		t.Fatal("the start was announced twice")
	}
	// The reviewer keeps half of the active assignments.
	for _, u := range actives[:10] {
		if err := rf.decide(reviewer, rf.item(insts[0].ID, u, domain.KindAssignment), domain.ReviewApprove); err != nil {
			t.Fatal(err)
		}
	}
	rf.Advance(8 * 24 * time.Hour)
	before := rf.Dir.Calls()["RemoveRoleAssignment"]
	both()
	in := rf.instance(d.ID)
	if in.Status != domain.ReviewApplied || in.Removed != 310 {
		t.Fatalf("after two concurrent applies: %+v", in)
	}
	if n := rf.Dir.Calls()["RemoveRoleAssignment"] - before; n != 10 {
		t.Fatalf("%d directory removals for 10 denied active assignments", n)
	}
	for _, u := range append(users, actives...) {
		n := 0
		for _, r := range rf.RequestsOf(u) {
			if r.Action == domain.ActionAdminRemove {
				n++
			}
		}
		want := 1
		for _, k := range actives[:10] {
			if k == u {
				want = 0
			}
		}
		if n != want {
			t.Fatalf("%s: %d removal requests, want %d", u, n, want)
		}
	}
	for _, u := range actives[:10] {
		if !rf.HasRole(u, enginetest.RoleOther) {
			t.Fatal("an approved assignment lost its role")
		}
	}
	if len(rf.Audits("review.apply")) != 1 {
		t.Fatal("the apply was audited twice")
	}
}

// TestReviewStart10000InOneRun: a review of 10,000 assignments starts in
// one timer run (items written in batches) and reports its timing.
func TestReviewStart10000InOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 assignments")
	}
	rf := newReviewFixture(t)
	reviewer := rf.NewUser()
	rf.bulkEligible(10000, enginetest.RoleOther)
	d := rf.define(definition(named(reviewer), domain.DefaultApprove, true))
	rf.store.ResetCalls()
	start := time.Now()
	res := rf.run()
	took := time.Since(start)
	in := rf.instance(d.ID)
	if res.Started != 1 || res.ItemsWritten != 10000 || in.Status != domain.ReviewInProgress || in.ItemCount != 10000 {
		t.Fatalf("one run: %+v %+v", res, in)
	}
	t.Logf("started a review of 10,000 assignments in one run: %v (directory GetUser calls: %d)", took.Round(time.Millisecond), rf.Dir.Calls()["GetUser"])
	if took > 2*time.Minute {
		t.Fatalf("starting took %v", took)
	}
	// The reviewer sees their items page by page.
	_, p, err := rf.svc.ListReviewDecisions(rf.Ctx, rf.Call(reviewer), d.ID, in.ID, true, "", 100)
	if err != nil || len(p.Items) != 100 || p.Next == "" {
		t.Fatalf("reviewer page: %v %d", err, len(p.Items))
	}
}

// BenchmarkReviewStart10000 measures one timer run that starts a review of
// 10,000 eligible assignments (memstore, fake directory): enumeration,
// directory lookups, recommendations, batched item writes, reviewer mail.
func BenchmarkReviewStart10000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rf := newReviewFixture(b)
		reviewer := rf.NewUser()
		rf.bulkEligible(10000, enginetest.RoleOther)
		rf.define(definition(named(reviewer), domain.DefaultApprove, true))
		b.StartTimer()
		res := rf.run()
		if res.ItemsWritten != 10000 {
			b.Fatalf("%+v", res)
		}
	}
}

// BenchmarkReviewApply10000 measures applying a review whose 10,000 items
// all default to Deny: 10,000 adminRemove requests through the request path.
func BenchmarkReviewApply10000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rf := newReviewFixture(b)
		reviewer := rf.NewUser()
		rf.bulkEligible(10000, enginetest.RoleOther)
		d := rf.define(definition(named(reviewer), domain.DefaultDeny, true))
		rf.run()
		rf.Advance(8 * 24 * time.Hour)
		b.StartTimer()
		rf.run()
		b.StopTimer()
		if in := rf.instance(d.ID); in.Removed != 10000 {
			b.Fatalf("removed %d", in.Removed)
		}
	}
}

var _ = fmt.Sprint
