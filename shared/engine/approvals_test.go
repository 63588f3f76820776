package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

const stage1, stage2 = "stage-1", "stage-2"

// pendingActivation makes user eligible for t and submits an activation that
// must wait for approval.
func (f *fixture) pendingActivation(user domain.ObjectID, t domain.Target) domain.Request {
	f.t.Helper()
	f.makeEligible(user, t)
	r, err := f.activate(user, t, time.Hour)
	if err != nil {
		f.t.Fatalf("selfActivate: %v", err)
	}
	if r.Status != domain.StatusPendingApproval || r.Approval == nil {
		f.t.Fatalf("activation is %s (approval %v), want PendingApproval", r.Status, r.Approval)
	}
	return r
}

// assertNoAccess checks the directory and the grant give user nothing on t.
func (f *fixture) assertNoAccess(t testing.TB, user domain.ObjectID, tg domain.Target) {
	t.Helper()
	if tg.Kind == domain.TargetRole && f.hasRole(user, tg) {
		t.Fatal("the directory holds the role")
	}
	if tg.Kind == domain.TargetGroup && f.dir.InGroup(tg.GroupID, tg.AccessID, user) {
		t.Fatal("the directory holds the membership")
	}
	if g, ok := f.grant(user, tg); ok && (g.Wanted() || g.Applied) {
		t.Fatalf("grant %+v: want no holder and not applied", g)
	}
}

func TestApprovalSingleStage(t *testing.T) {
	f := newFixture(t)
	alice, carol, dave := f.newUser(), f.newUser(), f.newUser()
	// The requester is listed as an approver too: she still may not approve herself.
	f.requireApproval(roleGA, userApprover(alice), userApprover(carol))

	r := f.pendingActivation(alice, roleGA)
	if st := r.Approval.Stages[0]; st.ID != stage1 || st.Status != domain.StageInProgress || !st.TimeoutAt.Equal(f.now.Add(24*time.Hour)) {
		t.Fatalf("stage %+v: want stage-1 in progress, timing out in 24h", st)
	}
	f.assertNoAccess(t, alice, roleGA)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("a pending request called AddRoleAssignment %d times", n)
	}
	if s := f.schedulesOf(alice, domain.KindAssignment); len(s) != 0 {
		t.Fatalf("a pending request created schedules %+v", s)
	}
	if n := len(f.auditsFor("request.create", alice)); n != 2 { // eligibility + activation
		t.Fatalf("%d request.create records, want 2", n)
	}

	// The approver sees it; the requester does not get it as an approval to decide.
	if p, err := f.eng.PendingApprovals(f.ctx, f.call(carol), domain.KindAssignment); err != nil || len(p) != 1 || p[0].ID != r.ID {
		t.Fatalf("carol's pending approvals: %+v %v", p, err)
	}
	if p, err := f.eng.PendingApprovals(f.ctx, f.call(alice), domain.KindAssignment); err != nil || len(p) != 0 {
		t.Fatalf("alice's pending approvals: %+v %v", p, err)
	}

	refused := func(who domain.ObjectID, auth domain.AuthEvidence, code domain.Code, msg string) {
		t.Helper()
		before := f.snapshot()
		_, err := f.eng.Decide(f.ctx, f.callAuth(who, auth), r.ID, engine.Decision{StageID: stage1, Result: "Approve"})
		wantCode(t, err, code)
		wantContains(t, err, msg)
		f.assertNoWrites(t, before)
		wantStatus(t, f.getRequest(r.ID), domain.StatusPendingApproval)
		f.assertNoAccess(t, alice, roleGA)
	}
	refused(alice, f.mfa(), domain.CodeForbidden, "your own request")
	refused(dave, f.mfa(), domain.CodeForbidden, "not an approver")
	refused(f.admin, f.mfa(), domain.CodeForbidden, "not an approver") // named approvers exclude admins
	refused(carol, domain.AuthEvidence{MFA: false, AuthenticatedAt: f.now}, domain.CodeForbidden, "multi-factor")
	if _, err := f.decide(carol, r.ID, "stage-9", "Approve"); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("unknown stage: %v", err)
	}
	if _, err := f.decide(carol, r.ID, stage1, "Maybe"); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("unknown result: %v", err)
	}

	f.advance(5 * time.Minute)
	got, err := f.decide(carol, r.ID, stage1, "approve") // any case
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	wantStatus(t, got, domain.StatusProvisioned)
	if !f.hasRole(alice, roleGA) {
		t.Fatal("approved activation must give the role")
	}
	stored := f.getRequest(r.ID)
	if st := stored.Approval.Stages[0]; st.ReviewResult != domain.ReviewApprove || st.ReviewedBy != carol || st.Status != domain.StageCompleted {
		t.Fatalf("stage after approval %+v", st)
	}
	if a := f.auditsFor("approval.decide", alice); len(a) != 1 || a[0].ActorID != carol || a[0].Details["result"] != domain.ReviewApprove {
		t.Fatalf("approval.decide records %+v", a)
	}
	if n := len(f.auditsFor("grant.add", alice)); n != 1 {
		t.Fatalf("%d grant.add records, want 1", n)
	}

	// A second decision, by anyone, is refused and changes nothing.
	before := f.snapshot()
	_, err = f.decide(carol, r.ID, stage1, "Deny")
	wantCode(t, err, domain.CodeConflict)
	wantContains(t, err, "already decided")
	f.assertNoWrites(t, before)
	if !f.hasRole(alice, roleGA) {
		t.Fatal("a late deny must not take the role away")
	}
}

func TestApprovalDeny(t *testing.T) {
	f := newFixture(t)
	alice, carol, erin := f.newUser(), f.newUser(), f.newUser()
	f.requireApproval(roleGA, userApprover(carol), userApprover(erin))
	r := f.pendingActivation(alice, roleGA)

	got, err := f.decide(carol, r.ID, stage1, "Deny")
	if err != nil {
		t.Fatalf("deny: %v", err)
	}
	wantStatus(t, got, domain.StatusDenied)
	f.assertNoAccess(t, alice, roleGA)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("a denied request called AddRoleAssignment %d times", n)
	}
	if s := f.schedulesOf(alice, domain.KindAssignment); len(s) != 0 {
		t.Fatalf("a denied request created schedules %+v", s)
	}
	_, err = f.decide(erin, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeConflict)
	wantContains(t, err, "already decided")
	f.assertNoAccess(t, alice, roleGA)
	if res := f.sweep(); res.RequestsResumed != 0 || f.hasRole(alice, roleGA) {
		t.Fatalf("a sweep after a deny: %+v", res)
	}
}

func TestApprovalTwoStageSerial(t *testing.T) {
	f := newFixture(t)
	alice, first, second := f.newUser(), f.newUser(), f.newUser()
	f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) {
		p.Activation.ApprovalRequired = true
		p.Activation.ApprovalMode = domain.ApprovalSerial
		p.Activation.Stages = []domain.StageRule{
			{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{userApprover(first)}},
			{TimeoutDays: 2, PrimaryApprovers: []domain.Approver{userApprover(second)}},
		}
	})
	r := f.pendingActivation(alice, roleGA)
	if len(r.Approval.Stages) != 2 || r.Approval.Stages[1].Status != domain.StageNotStarted {
		t.Fatalf("stages %+v: want two, the second not started", r.Approval.Stages)
	}
	// The second-stage approver cannot jump ahead.
	_, err := f.decide(second, r.ID, stage2, "Approve")
	wantCode(t, err, domain.CodeConflict)
	_, err = f.decide(second, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeForbidden)

	f.advance(20 * time.Minute)
	got, err := f.decide(first, r.ID, stage1, "Approve")
	if err != nil {
		t.Fatalf("stage 1: %v", err)
	}
	wantStatus(t, got, domain.StatusPendingApproval)
	if st := got.Approval.Stages[1]; st.Status != domain.StageInProgress || !st.TimeoutAt.Equal(f.now.Add(48*time.Hour)) {
		t.Fatalf("stage 2 after stage 1 approved: %+v", st)
	}
	f.assertNoAccess(t, alice, roleGA)
	// Stage 1's approver is not a stage 2 approver.
	_, err = f.decide(first, r.ID, stage2, "Approve")
	wantCode(t, err, domain.CodeForbidden)

	f.advance(10 * time.Minute)
	got, err = f.decide(second, r.ID, stage2, "Approve")
	if err != nil {
		t.Fatalf("stage 2: %v", err)
	}
	wantStatus(t, got, domain.StatusProvisioned)
	if !f.hasRole(alice, roleGA) {
		t.Fatal("both stages approved: the role must be held")
	}
	if n := len(f.auditsFor("approval.decide", alice)); n != 2 {
		t.Fatalf("%d approval.decide records, want 2", n)
	}
}

func TestApprovalByGroupMember(t *testing.T) {
	f := newFixture(t)
	alice, member, outsider := f.newUser(), f.newUser(), f.newUser()
	approvers := f.newID()
	f.dir.AddMember(approvers, member)
	f.dir.AddMember(approvers, alice) // the requester is in the approver group too
	f.requireApproval(roleGA, groupApprover(approvers))
	r := f.pendingActivation(alice, roleGA)

	_, err := f.decide(alice, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeForbidden)
	_, err = f.decide(outsider, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeForbidden)
	got, err := f.decide(member, r.ID, stage1, "Approve")
	if err != nil {
		t.Fatalf("group member approve: %v", err)
	}
	wantStatus(t, got, domain.StatusProvisioned)
	if !f.hasRole(alice, roleGA) {
		t.Fatal("the role must be held")
	}
}

// TestApprovalWithoutApproversRefused: a policy that requires approval but
// names nobody is refused when set, naming the field, and changes nothing.
func TestApprovalWithoutApproversRefused(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot()
	_, err := f.eng.UpdatePolicy(f.ctx, f.call(f.admin), domain.PolicyID(roleOther), func(p *domain.Policy) error {
		p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1}}
		return nil
	})
	wantCode(t, err, domain.CodeInvalid)
	wantContains(t, err, "primaryApprovers")
	f.assertNoWrites(t, before)
}

// TestApprovalByAdminGroup: a stage naming the admin group is decided by its
// members; others are refused.
func TestApprovalByAdminGroup(t *testing.T) {
	f := newFixture(t)
	alice, dave := f.newUser(), f.newUser()
	f.requireApproval(roleOther, groupApprover(f.adminGroup))
	r1 := f.pendingActivation(alice, roleOther)
	_, err := f.decide(dave, r1.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeForbidden)
	got, err := f.decide(f.admin, r1.ID, stage1, "Approve")
	if err != nil {
		t.Fatalf("admin-group approve: %v", err)
	}
	wantStatus(t, got, domain.StatusProvisioned)
	if !f.hasRole(alice, roleOther) {
		t.Fatal("alice must hold the role")
	}
}

// An admin requesting a role their own group approves still cannot approve
// their own request.
func TestApprovalAdminCannotApproveOwn(t *testing.T) {
	f := newFixture(t)
	f.requireApproval(roleOther, groupApprover(f.adminGroup))
	r := f.pendingActivation(f.admin, roleOther)
	_, err := f.decide(f.admin, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeForbidden)
	f.assertNoAccess(t, f.admin, roleOther)
}

func TestApprovalRechecksDisabledAccount(t *testing.T) {
	f := newFixture(t)
	alice, carol := f.newUser(), f.newUser()
	f.requireApproval(roleGA, userApprover(carol))
	r := f.pendingActivation(alice, roleGA)

	f.dir.SetEnabled(alice, false)
	got, err := f.decide(carol, r.ID, stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	wantStatus(t, got, domain.StatusFailed)
	wantStatus(t, f.getRequest(r.ID), domain.StatusFailed)
	if got.StatusReason == "" {
		t.Fatal("a failed request must say why")
	}
	f.assertNoAccess(t, alice, roleGA)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
	if a := f.auditsFor("approval.decide", alice); len(a) != 1 || a[0].Outcome != "failure" {
		t.Fatalf("approval.decide records %+v: want one failure", a)
	}
	// Re-enabling the account does not revive the request.
	f.dir.SetEnabled(alice, true)
	f.advance(time.Hour)
	f.sweep()
	f.assertNoAccess(t, alice, roleGA)
}

func TestApprovalRechecksEligibility(t *testing.T) {
	f := newFixture(t)
	alice, carol := f.newUser(), f.newUser()
	f.requireApproval(roleGA, userApprover(carol))
	r := f.pendingActivation(alice, roleGA)

	rm := f.mustSubmit(f.admin, engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminRemove, PrincipalID: alice, Target: roleGA})
	wantStatus(t, rm, domain.StatusRevoked)

	got, err := f.decide(carol, r.ID, stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	wantStatus(t, got, domain.StatusFailed)
	wantContains(t, errorOf(got.StatusReason), "eligibility")
	f.assertNoAccess(t, alice, roleGA)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times", n)
	}
}

func TestApprovalTimeout(t *testing.T) {
	f := newFixture(t)
	alice, carol := f.newUser(), f.newUser()
	f.requireApproval(roleGA, userApprover(carol))
	r := f.pendingActivation(alice, roleGA)

	f.advance(24*time.Hour - time.Minute)
	if res := f.sweep(); res.ApprovalsExpired != 0 {
		t.Fatalf("sweep before the timeout expired %d approvals", res.ApprovalsExpired)
	}
	wantStatus(t, f.getRequest(r.ID), domain.StatusPendingApproval)

	f.advance(time.Minute)
	if res := f.sweep(); res.ApprovalsExpired != 1 {
		t.Fatalf("sweep at the timeout expired %d approvals, want 1", res.ApprovalsExpired)
	}
	got := f.getRequest(r.ID)
	wantStatus(t, got, domain.StatusCanceled)
	if got.CompletedAt.IsZero() {
		t.Fatal("a timed-out request must be completed")
	}
	if n := len(f.auditsFor("approval.timeout", alice)); n != 1 {
		t.Fatalf("%d approval.timeout records, want 1", n)
	}
	_, err := f.decide(carol, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeConflict)
	f.assertNoAccess(t, alice, roleGA)
	if res := f.sweep(); res.ApprovalsExpired != 0 {
		t.Fatalf("second sweep expired %d more", res.ApprovalsExpired)
	}
}

func TestCancel(t *testing.T) {
	f := newFixture(t)
	alice, carol, dave := f.newUser(), f.newUser(), f.newUser()
	f.requireApproval(roleGA, userApprover(carol))
	r := f.pendingActivation(alice, roleGA)

	// Someone else (not an admin) cannot cancel it, nor even see it.
	_, err := f.eng.Cancel(f.ctx, f.call(dave), domain.KindAssignment, r.ID)
	wantCode(t, err, domain.CodeNotFound)
	// The approver sees it but may not withdraw it.
	_, err = f.eng.Cancel(f.ctx, f.call(carol), domain.KindAssignment, r.ID)
	wantCode(t, err, domain.CodeForbidden)
	wantStatus(t, f.getRequest(r.ID), domain.StatusPendingApproval)

	got, err := f.eng.Cancel(f.ctx, f.call(alice), domain.KindAssignment, r.ID)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	wantStatus(t, got, domain.StatusCanceled)
	wantStatus(t, f.getRequest(r.ID), domain.StatusCanceled)
	if n := len(f.auditsFor("request.cancel", alice)); n != 1 {
		t.Fatalf("%d request.cancel records", n)
	}
	_, err = f.decide(carol, r.ID, stage1, "Approve")
	wantCode(t, err, domain.CodeConflict)
	f.assertNoAccess(t, alice, roleGA)

	// A provisioned request cannot be canceled: deactivate it instead.
	bob := f.newUser()
	f.makeEligible(bob, roleOther)
	act, err := f.activate(bob, roleOther, time.Hour)
	if err != nil || act.Status != domain.StatusProvisioned {
		t.Fatalf("activation: %+v %v", act, err)
	}
	before := f.snapshot()
	_, err = f.eng.Cancel(f.ctx, f.call(bob), domain.KindAssignment, act.ID)
	wantCode(t, err, domain.CodeConflict)
	f.assertNoWrites(t, before)
	wantStatus(t, f.getRequest(act.ID), domain.StatusProvisioned)
	if !f.hasRole(bob, roleOther) {
		t.Fatal("a refused cancel must leave the role")
	}
	// Wrong kind: not found.
	_, err = f.eng.Cancel(f.ctx, f.call(bob), domain.KindEligibility, act.ID)
	wantCode(t, err, domain.CodeNotFound)
}

// TestApprovalStartsTheWindow: as in Entra, an approved activation runs for
// its requested length from the approval, however long the approval took,
// and the sweep ends it at that new end.
func TestApprovalStartsTheWindow(t *testing.T) {
	f := newFixture(t)
	alice, carol := f.newUser(), f.newUser()
	f.requireApproval(roleGA, userApprover(carol))
	r := f.pendingActivation(alice, roleGA) // one hour
	length := r.EndAt.Sub(r.StartAt)

	f.advance(2 * time.Hour)
	approvedAt := f.now
	got, err := f.decide(carol, r.ID, stage1, "Approve")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	wantStatus(t, got, domain.StatusProvisioned)
	s := f.getSchedule(r.ID)
	if !s.Start.Equal(approvedAt) || !s.End.Equal(approvedAt.Add(length)) || !s.ActiveAt(f.now) {
		t.Fatalf("schedule %s..%s, want %s..%s", s.Start, s.End, approvedAt, approvedAt.Add(length))
	}
	if !f.hasRole(alice, roleGA) {
		t.Fatal("approved activation did not grant the role")
	}
	f.advance(length - time.Minute)
	f.sweep()
	if !f.hasRole(alice, roleGA) {
		t.Fatal("the sweep ended the activation before its end counted from approval")
	}
	f.advance(2 * time.Minute)
	f.sweep()
	f.assertNoAccess(t, alice, roleGA)
}

// TestGrantedWindowEndedBeforeProvisioning: a granted request that a crash
// left unprovisioned until after its window ended must not grant anything
// when the sweep picks it up.
func TestGrantedWindowEndedBeforeProvisioning(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.makeEligible(alice, roleGA)
	r := domain.Request{ID: "stuck-late", Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: alice,
		Target: roleGA, Status: domain.StatusGranted, CreatedBy: alice, CreatedAt: f.now,
		StartAt: f.now, EndAt: f.now.Add(time.Hour)}
	if err := f.store.CreateRequest(f.ctx, &r); err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Hour)
	f.sweep()
	got := f.getRequest(r.ID)
	wantStatus(t, got, domain.StatusFailed)
	wantContains(t, errorOf(got.StatusReason), "window ended")
	f.assertNoAccess(t, alice, roleGA)
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 0 {
		t.Fatalf("AddRoleAssignment called %d times for an ended window", n)
	}
}

type errorOf string

func (e errorOf) Error() string { return string(e) }

// TestEscalation: an undecided stage opens to its escalation approvers at
// the escalation time; they are mailed and may decide; the primary
// approvers keep their say; the timeout still applies.
func TestEscalation(t *testing.T) {
	f, m := mailFixture(t)
	alice, bob, esc := f.newUser(), f.newUser(), f.newUser()
	f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) {
		p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
		p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{userApprover(bob)},
			EscalationEnabled: true, EscalationMinutes: 60, EscalationApprovers: []domain.Approver{userApprover(esc)}}}
	})
	f.makeEligible(alice, roleGA)
	r := f.mustSubmit(alice, activationSub(alice, roleGA, time.Hour))
	// Before the escalation time the escalation approver may not decide.
	_, err := f.decide(esc, r.ID, "stage-1", "Approve")
	wantCode(t, err, domain.CodeForbidden)
	f.advance(30 * time.Minute)
	if res := f.sweep(); res.Escalated != 0 {
		t.Fatalf("escalated early: %+v", res)
	}
	f.advance(31 * time.Minute)
	if res := f.sweep(); res.Escalated != 1 {
		t.Fatalf("not escalated: %+v", res)
	}
	if res := f.sweep(); res.Escalated != 0 {
		t.Fatalf("escalated twice: %+v", res)
	}
	if n := m.about(addr(esc), "Approval needed"); n != 1 {
		t.Fatalf("escalation approver mails: %d", n)
	}
	if n := m.about(addr(bob), "Approval needed"); n != 1 {
		t.Fatalf("primary approver mailed again: %d", n)
	}
	got, err := f.decide(esc, r.ID, "stage-1", "Approve")
	if err != nil || got.Status != domain.StatusProvisioned {
		t.Fatalf("escalation approver decision: %v %v", got.Status, err)
	}
}
