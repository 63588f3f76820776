package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

func testApprovalSingleStage(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol, dave := f.NewUser(), f.NewUser(), f.NewUser()
	// The requester is listed as an approver too: she still may not approve herself.
	f.RequireApproval(RoleGA, UserApprover(alice), UserApprover(carol))

	r := f.PendingActivation(alice, RoleGA)
	if st := r.Approval.Stages[0]; st.ID != Stage1 || st.Status != domain.StageInProgress || !st.TimeoutAt.Equal(f.Now.Add(24*time.Hour)) {
		t.Fatalf("stage %+v: want stage-1 in progress, timing out in 24h", st)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("a pending request called AddRoleAssignment %d times", n)
	}
	if s := f.SchedulesOf(alice, domain.KindAssignment); len(s) != 0 {
		t.Fatalf("a pending request created schedules %+v", s)
	}
	if n := len(f.AuditsFor("request.create", alice)); n != 2 { // eligibility + activation
		t.Fatalf("%d request.create records, want 2", n)
	}

	// The approver sees it; the requester does not get it as an approval to decide.
	if p, err := f.Eng.PendingApprovals(f.Ctx, f.Call(carol), domain.KindAssignment); err != nil || len(p) != 1 || p[0].ID != r.ID {
		t.Fatalf("carol's pending approvals: %+v %v", p, err)
	}
	if p, err := f.Eng.PendingApprovals(f.Ctx, f.Call(alice), domain.KindAssignment); err != nil || len(p) != 0 {
		t.Fatalf("alice's pending approvals: %+v %v", p, err)
	}

	refused := func(who domain.ObjectID, auth domain.AuthEvidence, code domain.Code, msg string) {
		t.Helper()
		before := f.Snapshot()
		_, err := f.Eng.Decide(f.Ctx, f.CallAuth(who, auth), r.ID, engine.Decision{StageID: Stage1, Result: "Approve"})
		WantCode(t, err, code)
		WantContains(t, err, msg)
		f.AssertNoWrites(t, before)
		WantStatus(t, f.GetRequest(r.ID), domain.StatusPendingApproval)
		f.AssertNoAccess(t, alice, RoleGA)
	}
	refused(alice, f.MFA(), domain.CodeForbidden, "your own request")
	refused(dave, f.MFA(), domain.CodeForbidden, "not an approver")
	refused(f.Admin, f.MFA(), domain.CodeForbidden, "not an approver") // named approvers exclude admins
	refused(carol, domain.AuthEvidence{MFA: false, AuthenticatedAt: f.Now}, domain.CodeForbidden, "multi-factor")
	if _, err := f.Decide(carol, r.ID, "stage-9", "Approve"); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("unknown stage: %v", err)
	}
	if _, err := f.Decide(carol, r.ID, Stage1, "Maybe"); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("unknown result: %v", err)
	}

	f.Advance(5 * time.Minute)
	got, err := f.Decide(carol, r.ID, Stage1, "approve") // any case
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("approved activation must give the role")
	}
	stored := f.GetRequest(r.ID)
	if st := stored.Approval.Stages[0]; st.ReviewResult != domain.ReviewApprove || st.ReviewedBy != carol || st.Status != domain.StageCompleted {
		t.Fatalf("stage after approval %+v", st)
	}
	if a := f.AuditsFor("approval.decide", alice); len(a) != 1 || a[0].ActorID != carol || a[0].Details["result"] != domain.ReviewApprove {
		t.Fatalf("approval.decide records %+v", a)
	}
	if n := len(f.AuditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}

	// A second decision, by anyone, is refused and changes nothing.
	before := f.Snapshot()
	_, err = f.Decide(carol, r.ID, Stage1, "Deny")
	WantCode(t, err, domain.CodeConflict)
	WantContains(t, err, "already decided")
	f.AssertNoWrites(t, before)
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("a late deny must not take the role away")
	}
}

func testApprovalDeny(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol, erin := f.NewUser(), f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol), UserApprover(erin))
	r := f.PendingActivation(alice, RoleGA)

	got, err := f.Decide(carol, r.ID, Stage1, "Deny")
	if err != nil {
		t.Fatalf("deny: %v", err)
	}
	WantStatus(t, got, domain.StatusDenied)
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("a denied request called AddRoleAssignment %d times", n)
	}
	if s := f.SchedulesOf(alice, domain.KindAssignment); len(s) != 0 {
		t.Fatalf("a denied request created schedules %+v", s)
	}
	_, err = f.Decide(erin, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeConflict)
	WantContains(t, err, "already decided")
	f.AssertNoAccess(t, alice, RoleGA)
	if res := f.Sweep(); res.RequestsResumed != 0 || f.HasRole(alice, RoleGA) {
		t.Fatalf("a sweep after a deny: %+v", res)
	}
}

func testApprovalTwoStageSerial(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, first, second := f.NewUser(), f.NewUser(), f.NewUser()
	f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) {
		p.Activation.ApprovalRequired = true
		p.Activation.ApprovalMode = domain.ApprovalSerial
		p.Activation.Stages = []domain.StageRule{
			{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{UserApprover(first)}},
			{TimeoutDays: 2, PrimaryApprovers: []domain.Approver{UserApprover(second)}},
		}
	})
	r := f.PendingActivation(alice, RoleGA)
	if len(r.Approval.Stages) != 2 || r.Approval.Stages[1].Status != domain.StageNotStarted {
		t.Fatalf("stages %+v: want two, the second not started", r.Approval.Stages)
	}
	// The second-stage approver cannot jump ahead.
	_, err := f.Decide(second, r.ID, Stage2, "Approve")
	WantCode(t, err, domain.CodeConflict)
	_, err = f.Decide(second, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeForbidden)

	f.Advance(20 * time.Minute)
	got, err := f.Decide(first, r.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("stage 1: %v", err)
	}
	WantStatus(t, got, domain.StatusPendingApproval)
	if st := got.Approval.Stages[1]; st.Status != domain.StageInProgress || !st.TimeoutAt.Equal(f.Now.Add(48*time.Hour)) {
		t.Fatalf("stage 2 after stage 1 approved: %+v", st)
	}
	f.AssertNoAccess(t, alice, RoleGA)
	// Stage 1's approver is not a stage 2 approver.
	_, err = f.Decide(first, r.ID, Stage2, "Approve")
	WantCode(t, err, domain.CodeForbidden)

	f.Advance(10 * time.Minute)
	got, err = f.Decide(second, r.ID, Stage2, "Approve")
	if err != nil {
		t.Fatalf("stage 2: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("both stages approved: the role must be held")
	}
	if n := len(f.AuditsFor("approval.decide", alice)); n != 2 {
		t.Fatalf("%d approval.decide records, want 2", n)
	}
}

func testApprovalByGroupMember(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, member, outsider := f.NewUser(), f.NewUser(), f.NewUser()
	approvers := f.NewID()
	f.Dir.AddMember(approvers, member)
	f.Dir.AddMember(approvers, alice) // the requester is in the approver group too
	f.RequireApproval(RoleGA, GroupApprover(approvers))
	r := f.PendingActivation(alice, RoleGA)

	_, err := f.Decide(alice, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeForbidden)
	_, err = f.Decide(outsider, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeForbidden)
	got, err := f.Decide(member, r.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("group member approve: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("the role must be held")
	}
}

// testApprovalWithoutApproversRefused: a policy that requires approval but
// names nobody is refused when set, naming the field, and changes nothing.
func testApprovalWithoutApproversRefused(t *testing.T, su suite) {
	f := su.fixture(t)
	before := f.Snapshot()
	_, err := f.Policies.UpdatePolicy(f.Ctx, f.Call(f.Admin), domain.PolicyID(RoleOther), func(p *domain.Policy) error {
		p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1}}
		return nil
	})
	WantCode(t, err, domain.CodeInvalid)
	WantContains(t, err, "primaryApprovers")
	f.AssertNoWrites(t, before)
}

// testApprovalByAdminGroup: a stage naming the admin group is decided by its
// members; others are refused.
func testApprovalByAdminGroup(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, dave := f.NewUser(), f.NewUser()
	f.RequireApproval(RoleOther, GroupApprover(f.AdminGroup))
	r1 := f.PendingActivation(alice, RoleOther)
	_, err := f.Decide(dave, r1.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeForbidden)
	got, err := f.Decide(f.Admin, r1.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("admin-group approve: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	if !f.HasRole(alice, RoleOther) {
		t.Fatal("alice must hold the role")
	}
}

// An admin requesting a role their own group approves still cannot approve
// their own request.
func testApprovalAdminCannotApproveOwn(t *testing.T, su suite) {
	f := su.fixture(t)
	f.RequireApproval(RoleOther, GroupApprover(f.AdminGroup))
	r := f.PendingActivation(f.Admin, RoleOther)
	_, err := f.Decide(f.Admin, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeForbidden)
	f.AssertNoAccess(t, f.Admin, RoleOther)
}

func testApprovalRechecksDisabledAccount(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol := f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol))
	r := f.PendingActivation(alice, RoleGA)

	f.Dir.SetEnabled(alice, false)
	got, err := f.Decide(carol, r.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	WantStatus(t, got, domain.StatusFailed)
	WantStatus(t, f.GetRequest(r.ID), domain.StatusFailed)
	if got.StatusReason == "" {
		t.Fatal("a failed request must say why")
	}
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
	if a := f.AuditsFor("approval.decide", alice); len(a) != 1 || a[0].Outcome != "failure" {
		t.Fatalf("approval.decide records %+v: want one failure", a)
	}
	// Re-enabling the account does not revive the request.
	f.Dir.SetEnabled(alice, true)
	f.Advance(time.Hour)
	f.Sweep()
	f.AssertNoAccess(t, alice, RoleGA)
}

func testApprovalRechecksEligibility(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol := f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol))
	r := f.PendingActivation(alice, RoleGA)

	rm := f.MustSubmit(f.Admin, engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminRemove, PrincipalID: alice, Target: RoleGA})
	WantStatus(t, rm, domain.StatusRevoked)

	got, err := f.Decide(carol, r.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	WantStatus(t, got, domain.StatusFailed)
	WantContains(t, errorOf(got.StatusReason), "eligibility")
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
}

func testApprovalTimeout(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol := f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol))
	r := f.PendingActivation(alice, RoleGA)

	f.Advance(24*time.Hour - time.Minute)
	if res := f.Sweep(); res.ApprovalsExpired != 0 {
		t.Fatalf("sweep before the timeout expired %d approvals", res.ApprovalsExpired)
	}
	WantStatus(t, f.GetRequest(r.ID), domain.StatusPendingApproval)

	f.Advance(time.Minute)
	if res := f.Sweep(); res.ApprovalsExpired != 1 {
		t.Fatalf("sweep at the timeout expired %d approvals, want 1", res.ApprovalsExpired)
	}
	got := f.GetRequest(r.ID)
	WantStatus(t, got, domain.StatusCanceled)
	if got.CompletedAt.IsZero() {
		t.Fatal("a timed-out request must be completed")
	}
	if n := len(f.AuditsFor("approval.timeout", alice)); n != 1 {
		t.Fatalf("%d approval.timeout records, want 1", n)
	}
	_, err := f.Decide(carol, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeConflict)
	f.AssertNoAccess(t, alice, RoleGA)
	if res := f.Sweep(); res.ApprovalsExpired != 0 {
		t.Fatalf("second sweep expired %d more", res.ApprovalsExpired)
	}
}

func testCancel(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol, dave := f.NewUser(), f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol))
	r := f.PendingActivation(alice, RoleGA)

	// Someone else (not an admin) cannot cancel it, nor even see it.
	_, err := f.Eng.Cancel(f.Ctx, f.Call(dave), domain.KindAssignment, r.ID)
	WantCode(t, err, domain.CodeNotFound)
	// The approver sees it but may not withdraw it.
	_, err = f.Eng.Cancel(f.Ctx, f.Call(carol), domain.KindAssignment, r.ID)
	WantCode(t, err, domain.CodeForbidden)
	WantStatus(t, f.GetRequest(r.ID), domain.StatusPendingApproval)

	got, err := f.Eng.Cancel(f.Ctx, f.Call(alice), domain.KindAssignment, r.ID)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	WantStatus(t, got, domain.StatusCanceled)
	WantStatus(t, f.GetRequest(r.ID), domain.StatusCanceled)
	if n := len(f.AuditsFor("request.cancel", alice)); n != 1 {
		t.Fatalf("%d request.cancel records", n)
	}
	_, err = f.Decide(carol, r.ID, Stage1, "Approve")
	WantCode(t, err, domain.CodeConflict)
	f.AssertNoAccess(t, alice, RoleGA)

	// A provisioned request cannot be canceled: deactivate it instead.
	bob := f.NewUser()
	f.MakeEligible(bob, RoleOther)
	act, err := f.Activate(bob, RoleOther, time.Hour)
	if err != nil || act.Status != domain.StatusProvisioned {
		t.Fatalf("activation: %+v %v", act, err)
	}
	before := f.Snapshot()
	_, err = f.Eng.Cancel(f.Ctx, f.Call(bob), domain.KindAssignment, act.ID)
	WantCode(t, err, domain.CodeConflict)
	f.AssertNoWrites(t, before)
	WantStatus(t, f.GetRequest(act.ID), domain.StatusProvisioned)
	if !f.HasRole(bob, RoleOther) {
		t.Fatal("a refused cancel must leave the role")
	}
	// Wrong kind: not found.
	_, err = f.Eng.Cancel(f.Ctx, f.Call(bob), domain.KindEligibility, act.ID)
	WantCode(t, err, domain.CodeNotFound)
}

// testApprovalStartsTheWindow: as in Entra, an approved activation runs for
// its requested length from the approval, however long the approval took,
// and the sweep ends it at that new end.
func testApprovalStartsTheWindow(t *testing.T, su suite) {
	f := su.fixture(t)
	alice, carol := f.NewUser(), f.NewUser()
	f.RequireApproval(RoleGA, UserApprover(carol))
	r := f.PendingActivation(alice, RoleGA) // one hour
	length := r.EndAt.Sub(r.StartAt)

	f.Advance(2 * time.Hour)
	approvedAt := f.Now
	got, err := f.Decide(carol, r.ID, Stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	WantStatus(t, got, domain.StatusProvisioned)
	s := f.GetSchedule(r.ID)
	if !s.Start.Equal(approvedAt) || !s.End.Equal(approvedAt.Add(length)) || !s.ActiveAt(f.Now) {
		t.Fatalf("schedule %s..%s, want %s..%s", s.Start, s.End, approvedAt, approvedAt.Add(length))
	}
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("approved activation did not grant the role")
	}
	f.Advance(length - time.Minute)
	f.Sweep()
	if !f.HasRole(alice, RoleGA) {
		t.Fatal("the sweep ended the activation before its end counted from approval")
	}
	f.Advance(2 * time.Minute)
	f.Sweep()
	f.AssertNoAccess(t, alice, RoleGA)
}

// testGrantedWindowEndedBeforeProvisioning: a granted request that a crash
// left unprovisioned until after its window ended must not grant anything
// when the sweep picks it up.
func testGrantedWindowEndedBeforeProvisioning(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	r := domain.Request{ID: "stuck-late", Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: alice,
		Target: RoleGA, Status: domain.StatusGranted, CreatedBy: alice, CreatedAt: f.Now,
		StartAt: f.Now, EndAt: f.Now.Add(time.Hour)}
	if err := f.Store.CreateRequest(f.Ctx, &r); err != nil {
		t.Fatal(err)
	}
	f.Advance(2 * time.Hour)
	f.Sweep()
	got := f.GetRequest(r.ID)
	WantStatus(t, got, domain.StatusFailed)
	WantContains(t, errorOf(got.StatusReason), "window ended")
	f.AssertNoAccess(t, alice, RoleGA)
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times for an ended window", n)
	}
}

type errorOf string

func (e errorOf) Error() string { return string(e) }

// testEscalation: an undecided stage opens to its escalation approvers at
// the escalation time; they are mailed and may decide; the primary
// approvers keep their say; the timeout still applies.
func testEscalation(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	alice, bob, esc := f.NewUser(), f.NewUser(), f.NewUser()
	f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) {
		p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{UserApprover(bob)},
			EscalationEnabled: true, EscalationMinutes: 60, EscalationApprovers: []domain.Approver{UserApprover(esc)}}}
	})
	f.MakeEligible(alice, RoleGA)
	r := f.MustSubmit(alice, ActivationSub(alice, RoleGA, time.Hour))
	// Before the escalation time the escalation approver may not decide.
	_, err := f.Decide(esc, r.ID, "stage-1", "Approve")
	WantCode(t, err, domain.CodeForbidden)
	f.Advance(30 * time.Minute)
	if res := f.Sweep(); res.Escalated != 0 {
		t.Fatalf("escalated early: %+v", res)
	}
	f.Advance(31 * time.Minute)
	if res := f.Sweep(); res.Escalated != 1 {
		t.Fatalf("not escalated: %+v", res)
	}
	if res := f.Sweep(); res.Escalated != 0 {
		t.Fatalf("escalated twice: %+v", res)
	}
	if n := m.about(UPN(esc), "Approval needed"); n != 1 {
		t.Fatalf("escalation approver mails: %d", n)
	}
	if n := m.about(UPN(bob), "Approval needed"); n != 1 {
		t.Fatalf("primary approver mailed again: %d", n)
	}
	got, err := f.Decide(esc, r.ID, "stage-1", "Approve")
	if err != nil || got.Status != domain.StatusProvisioned {
		t.Fatalf("escalation approver decision: %v %v", got.Status, err)
	}
}
