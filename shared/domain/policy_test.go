package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestDefaultPolicyMatchesEntra(t *testing.T) {
	p := domain.DefaultPolicy()
	if p.ID != "Default" || domain.DefaultPolicyID != "Default" || p.Scope != domain.ScopeDefault {
		t.Errorf("id %q scope %q, want Default/default", p.ID, p.Scope)
	}
	a := p.Activation
	if got := domain.FormatISODuration(a.MaxDuration); got != "PT8H" {
		t.Errorf("activation max = %s, want PT8H", got)
	}
	if !a.RequireMFA || !a.RequireJustification || a.RequireTicket || a.AuthContext != "" {
		t.Errorf("activation enablement = MFA %v justification %v ticket %v authContext %q; want MFA+justification only",
			a.RequireMFA, a.RequireJustification, a.RequireTicket, a.AuthContext)
	}
	if a.ApprovalRequired || a.ApprovalMode != domain.ApprovalNone || len(a.Stages) != 0 {
		t.Errorf("approval = required %v mode %q stages %d; want none", a.ApprovalRequired, a.ApprovalMode, len(a.Stages))
	}
	wantElig := domain.AdminRules{AllowPermanent: true, MaxDuration: 365 * 24 * time.Hour}
	if p.Eligible != wantElig || domain.FormatISODuration(p.Eligible.MaxDuration) != "P365D" {
		t.Errorf("eligible rules = %+v, want %+v (P365D)", p.Eligible, wantElig)
	}
	wantActive := domain.AdminRules{AllowPermanent: true, MaxDuration: 180 * 24 * time.Hour, RequireJustification: true}
	if p.Active != wantActive || domain.FormatISODuration(p.Active.MaxDuration) != "P180D" {
		t.Errorf("active rules = %+v, want %+v (P180D)", p.Active, wantActive)
	}
	if len(p.Notifications) != 9 {
		t.Fatalf("%d notification rules, want 9", len(p.Notifications))
	}
	ids := map[string]bool{}
	for _, n := range p.Notifications {
		if n.Level != domain.LevelAll || !n.DefaultRecipients || len(n.ExtraRecipients) != 0 {
			t.Errorf("rule %s = %+v, want level All to default recipients", n.ID(), n)
		}
		ids[n.ID()] = true
	}
	for _, r := range []string{"Admin", "Requestor", "Approver"} {
		for _, e := range []string{"Admin_Eligibility", "Admin_Assignment", "EndUser_Assignment"} {
			if id := "Notification_" + r + "_" + e; !ids[id] {
				t.Errorf("missing notification rule %s", id)
			}
		}
	}
	wantNoErr(t, p.Validate())
}

func TestDefaultPolicyIsFresh(t *testing.T) {
	p := domain.DefaultPolicy()
	p.Notifications[0].Level = domain.LevelCritical
	p.Notifications[0].ExtraRecipients = append(p.Notifications[0].ExtraRecipients, "x@example.com")
	q := domain.DefaultPolicy()
	if q.Notifications[0].Level != domain.LevelAll || len(q.Notifications[0].ExtraRecipients) != 0 {
		t.Errorf("DefaultPolicy shares memory between calls: %+v", q.Notifications[0])
	}
}

func validApprovalPolicy() domain.Policy {
	p := domain.DefaultPolicy()
	p.Activation.ApprovalRequired = true
	p.Activation.ApprovalMode = domain.ApprovalSerial
	p.Activation.Stages = []domain.StageRule{
		{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: userA}}},
		{TimeoutDays: 7, PrimaryApprovers: []domain.Approver{{Kind: domain.ApproverGroup, ID: groupA}},
			EscalationEnabled: true, EscalationMinutes: 120, EscalationApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: userB}}},
	}
	return p
}

func TestPolicyValidate(t *testing.T) {
	const (
		fMax   = "Expiration_EndUser_Assignment.maximumDuration"
		fStage = "Approval_EndUser_Assignment.approvalStages"
		fMode  = "Approval_EndUser_Assignment.approvalMode"
	)
	manyApprovers := make([]domain.Approver, 26)
	for i := range manyApprovers {
		manyApprovers[i] = domain.Approver{Kind: domain.ApproverUser, ID: userA}
	}
	cases := []struct {
		name string
		mod  func(p *domain.Policy)
		want wantResult
	}{
		{"two-stage approval valid", func(p *domain.Policy) {}, allowed},
		{"activation 30 min allowed", func(p *domain.Policy) { p.Activation.MaxDuration = 30 * time.Minute }, allowed},
		{"activation 24 h allowed", func(p *domain.Policy) { p.Activation.MaxDuration = 24 * time.Hour }, allowed},
		{"activation under 30 min", func(p *domain.Policy) { p.Activation.MaxDuration = 29 * time.Minute },
			wantResult{domain.CodeInvalid, fMax, []string{"between 30 minutes and 24 hours", "PT29M"}}},
		{"activation zero", func(p *domain.Policy) { p.Activation.MaxDuration = 0 },
			wantResult{domain.CodeInvalid, fMax, []string{"between 30 minutes and 24 hours"}}},
		{"activation over 24 h", func(p *domain.Policy) { p.Activation.MaxDuration = 24*time.Hour + time.Minute },
			wantResult{domain.CodeInvalid, fMax, []string{"between 30 minutes and 24 hours", "P1DT1M"}}},
		{"group activation 8 h allowed", func(p *domain.Policy) {
			p.Target = domain.GroupTarget(groupA, domain.AccessMember)
			p.Activation.MaxDuration = 8 * time.Hour
		}, allowed},
		{"group activation over 8 h", func(p *domain.Policy) {
			p.Target = domain.GroupTarget(groupA, domain.AccessOwner)
			p.Activation.MaxDuration = 9 * time.Hour
		}, wantResult{domain.CodeInvalid, fMax, []string{"at most 8 hours", "PT9H"}}},
		{"role activation 9 h allowed", func(p *domain.Policy) {
			p.Target = domain.RoleTarget(roleGA, "/")
			p.Activation.MaxDuration = 9 * time.Hour
		}, allowed},
		{"approval with 0 stages", func(p *domain.Policy) { p.Activation.Stages = nil },
			wantResult{domain.CodeInvalid, fStage, []string{"1 or 2 stages, got 0"}}},
		{"approval with 3 stages", func(p *domain.Policy) {
			p.Activation.Stages = append(p.Activation.Stages, p.Activation.Stages[0])
		}, wantResult{domain.CodeInvalid, fStage, []string{"1 or 2 stages, got 3"}}},
		{"no approval ignores stages", func(p *domain.Policy) {
			p.Activation.ApprovalRequired = false
			p.Activation.Stages = nil
		}, allowed},
		{"single stage allowed", func(p *domain.Policy) {
			p.Activation.ApprovalMode = domain.ApprovalSingleStage
			p.Activation.Stages = p.Activation.Stages[:1]
		}, allowed},
		// Nobody would be asked, so every activation would wait until it timed out.
		{"single stage without approvers refused", func(p *domain.Policy) {
			p.Activation.ApprovalMode = domain.ApprovalSingleStage
			p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1}}
		}, wantResult{domain.CodeInvalid, "Approval_EndUser_Assignment.approvalStages", []string{"primaryApprovers"}}},
		{"two stages Parallel", func(p *domain.Policy) { p.Activation.ApprovalMode = domain.ApprovalParallel },
			wantResult{domain.CodeInvalid, fMode, []string{"Serial", `"Parallel"`}}},
		{"two stages SingleStage", func(p *domain.Policy) { p.Activation.ApprovalMode = domain.ApprovalSingleStage },
			wantResult{domain.CodeInvalid, fMode, []string{"Serial", `"SingleStage"`}}},
		{"stage timeout 0", func(p *domain.Policy) { p.Activation.Stages[0].TimeoutDays = 0 },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 1", "1 to 7, got 0"}}},
		{"stage timeout 8", func(p *domain.Policy) { p.Activation.Stages[1].TimeoutDays = 8 },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 2", "1 to 7, got 8"}}},
		{"bad approver id", func(p *domain.Policy) { p.Activation.Stages[0].PrimaryApprovers[0].ID = notAGUID },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 1", `approver "not-a-guid"`}}},
		{"bad approver kind", func(p *domain.Policy) { p.Activation.Stages[0].PrimaryApprovers[0].Kind = "manager" },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 1", "not a user or group"}}},
		{"bad escalation approver id", func(p *domain.Policy) { p.Activation.Stages[1].EscalationApprovers[0].ID = "" },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 2", `approver ""`}}},
		{"26 approvers", func(p *domain.Policy) { p.Activation.Stages[0].PrimaryApprovers = manyApprovers },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 1", "at most 25 approvers"}}},
		{"escalation enabled without approvers", func(p *domain.Policy) { p.Activation.Stages[1].EscalationApprovers = nil },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 2", "escalation needs escalation approvers"}}},
		{"escalation enabled without minutes", func(p *domain.Policy) { p.Activation.Stages[1].EscalationMinutes = 0 },
			wantResult{domain.CodeInvalid, fStage, []string{"stage 2", "escalationTimeInMinutes"}}},
		{"expiring eligible without max", func(p *domain.Policy) { p.Eligible = domain.AdminRules{AllowPermanent: false} },
			wantResult{domain.CodeInvalid, "Expiration_Admin_Eligibility.maximumDuration", []string{"need a maximum duration"}}},
		{"expiring active without max", func(p *domain.Policy) { p.Active = domain.AdminRules{AllowPermanent: false, MaxDuration: -time.Hour} },
			wantResult{domain.CodeInvalid, "Expiration_Admin_Assignment.maximumDuration", []string{"need a maximum duration"}}},
		{"permanent without max allowed", func(p *domain.Policy) { p.Active = domain.AdminRules{AllowPermanent: true} }, allowed},
		{"tier policy valid", func(p *domain.Policy) {
			p.Scope, p.Tier, p.ID = domain.ScopeTier, "tier-0_admins", domain.TierPolicyID("tier-0_admins")
			p.TierTargets = []domain.Target{domain.RoleTarget(roleGA, "/"), domain.GroupTarget(groupA, "member")}
		}, allowed},
		{"bad tier name", func(p *domain.Policy) { p.Scope, p.Tier = domain.ScopeTier, "tier 0" },
			wantResult{domain.CodeInvalid, "tier", []string{"1 to 64"}}},
		{"empty tier name", func(p *domain.Policy) { p.Scope, p.Tier = domain.ScopeTier, "" },
			wantResult{domain.CodeInvalid, "tier", []string{"1 to 64"}}},
		{"bad tier target", func(p *domain.Policy) {
			p.Scope, p.Tier = domain.ScopeTier, "t0"
			p.TierTargets = []domain.Target{domain.GroupTarget(groupA, "admin")}
		}, wantResult{domain.CodeInvalid, "accessId", []string{`"admin"`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validApprovalPolicy()
			tc.mod(&p)
			err := p.Validate()
			if tc.want.code == "" {
				wantNoErr(t, err)
				return
			}
			wantErr(t, err, tc.want.code, tc.want.field, tc.want.parts...)
		})
	}
}

// TestTierPolicyOverridesGroupActivationCap: Validate enforces PIM for
// Groups' 8 h activation cap only through p.Target, which a tier policy never
// has. A tier policy of 24 h listing a group therefore validates, and
// engine.EffectivePolicy hands it to that group unvalidated, so the group can
// be activated for 24 h.
func TestTierPolicyOverridesGroupActivationCap(t *testing.T) {
	p := domain.DefaultPolicy()
	p.ID, p.Scope, p.Tier = domain.TierPolicyID("t0"), domain.ScopeTier, "t0"
	p.Activation.MaxDuration = 24 * time.Hour
	p.TierTargets = []domain.Target{domain.GroupTarget(groupA, domain.AccessMember)}
	err := p.Validate()
	if err == nil {
		t.Fatal("a tier policy allowing 24 h activation of a PIM group validated; want refused (groups: at most 8 h)")
	}
	wantErr(t, err, domain.CodeInvalid, "Expiration_EndUser_Assignment.maximumDuration", "8 hours")
}

func TestPolicyIDRoundTrip(t *testing.T) {
	cases := []struct {
		name      string
		id        string
		wantID    string
		wantScope domain.PolicyScope
		wantT     domain.Target
		wantTier  string
	}{
		{"role", domain.PolicyID(domain.RoleTarget(roleGA, "")), "DirectoryRole_" + string(roleGA), domain.ScopeTarget, domain.RoleTarget(roleGA, "/"), ""},
		{"role at AU scope shares the role's policy", domain.PolicyID(domain.RoleTarget(rolePRA, auScope)), "DirectoryRole_" + string(rolePRA), domain.ScopeTarget, domain.RoleTarget(rolePRA, "/"), ""},
		{"group member", domain.PolicyID(domain.GroupTarget(groupA, "member")), "Group_" + groupA + "_member", domain.ScopeTarget, domain.GroupTarget(groupA, "member"), ""},
		{"group owner", domain.PolicyID(domain.GroupTarget(groupA, "Owner")), "Group_" + groupA + "_owner", domain.ScopeTarget, domain.GroupTarget(groupA, "owner"), ""},
		{"tier", domain.TierPolicyID("Tier0_break-glass"), "Tier_Tier0_break-glass", domain.ScopeTier, domain.Target{}, "Tier0_break-glass"},
		{"default", domain.DefaultPolicyID, "Default", domain.ScopeDefault, domain.Target{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.id != c.wantID {
				t.Errorf("id = %q, want %q", c.id, c.wantID)
			}
			scope, tg, tier, ok := domain.ParsePolicyID(c.id)
			if !ok {
				t.Fatalf("ParsePolicyID(%q) refused", c.id)
			}
			if scope != c.wantScope || tg != c.wantT || tier != c.wantTier {
				t.Errorf("ParsePolicyID(%q) = %q %+v %q, want %q %+v %q", c.id, scope, tg, tier, c.wantScope, c.wantT, c.wantTier)
			}
			if scope == domain.ScopeTarget {
				if back := domain.PolicyID(tg); back != c.id {
					t.Errorf("PolicyID(ParsePolicyID(%q)) = %q", c.id, back)
				}
			}
			if scope == domain.ScopeTier {
				if back := domain.TierPolicyID(tier); back != c.id {
					t.Errorf("TierPolicyID(ParsePolicyID(%q)) = %q", c.id, back)
				}
			}
		})
	}
}

func TestParsePolicyIDRejectsGarbage(t *testing.T) {
	for _, id := range []string{
		"", "default", "DEFAULT", "Default ", "Foo_" + string(roleGA), string(roleGA),
		"DirectoryRole_", "DirectoryRole_" + notAGUID, "DirectoryRole_" + string(roleGA) + "_x", "directoryrole_" + string(roleGA),
		"Group_", "Group_" + groupA, "Group_" + groupA + "_", "Group_" + groupA + "_admin", "Group_" + notAGUID + "_member",
		"Group__member", "Group_" + groupA + "_member_x",
		"Tier_", "Tier_bad name", "Tier_a/b", "Tier_" + strings.Repeat("a", 65),
	} {
		if scope, tg, tier, ok := domain.ParsePolicyID(id); ok {
			t.Errorf("ParsePolicyID(%q) = %q %+v %q, want refused", id, scope, tg, tier)
		}
	}
}

func TestValidTierName(t *testing.T) {
	long := strings.Repeat("a", 64)
	for s, want := range map[string]bool{
		"t0": true, "Tier-0_x": true, long: true, long + "a": false, "": false,
		"a b": false, "a/b": false, "é": false, "a.b": false, "a|b": false,
	} {
		if got := domain.ValidTierName(s); got != want {
			t.Errorf("ValidTierName(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestNewApproval(t *testing.T) {
	p := validApprovalPolicy()
	p.Activation.Stages[0].ApproverJustificationRequired = true
	p.Activation.Stages[0].EscalationMinutes = 30 // set but not enabled: ignored
	a := domain.NewApproval(p, t0)
	if a == nil || len(a.Stages) != 2 {
		t.Fatalf("NewApproval = %+v, want 2 stages", a)
	}
	s1, s2 := a.Stages[0], a.Stages[1]
	if s1.ID != "stage-1" || s2.ID != "stage-2" {
		t.Errorf("stage ids %q %q", s1.ID, s2.ID)
	}
	if s1.Status != domain.StageInProgress || s2.Status != domain.StageNotStarted {
		t.Errorf("statuses %q %q, want InProgress NotStarted", s1.Status, s2.Status)
	}
	if s1.ReviewResult != domain.ReviewNotReviewed || s2.ReviewResult != domain.ReviewNotReviewed {
		t.Errorf("review results %q %q", s1.ReviewResult, s2.ReviewResult)
	}
	if !s1.TimeoutAt.Equal(t0.Add(24*time.Hour)) || s1.TimeoutDays != 1 {
		t.Errorf("stage 1 TimeoutAt %v days %d, want now+1d", s1.TimeoutAt, s1.TimeoutDays)
	}
	if !s2.TimeoutAt.IsZero() || s2.TimeoutDays != 7 || s2.EscalationMinutes != 120 || !s2.EscalateAt.IsZero() {
		t.Errorf("stage 2 not started: %+v", s2)
	}
	if s1.EscalationMinutes != 0 || !s1.EscalateAt.IsZero() {
		t.Errorf("stage 1 escalation not enabled but minutes %d at %v", s1.EscalationMinutes, s1.EscalateAt)
	}
	if !s1.ApproverJustificationRequired || s2.ApproverJustificationRequired {
		t.Errorf("ApproverJustificationRequired %v %v", s1.ApproverJustificationRequired, s2.ApproverJustificationRequired)
	}
	if !reflect.DeepEqual(s1.Approvers, p.Activation.Stages[0].PrimaryApprovers) ||
		!reflect.DeepEqual(s2.EscalationApprovers, p.Activation.Stages[1].EscalationApprovers) {
		t.Errorf("approvers not copied: %+v %+v", s1.Approvers, s2.EscalationApprovers)
	}
	if a.Current() != 0 {
		t.Errorf("Current() = %d, want 0", a.Current())
	}
	// the approval owns its approvers: a later policy edit does not reach it
	p.Activation.Stages[0].PrimaryApprovers[0].ID = groupB
	if a.Stages[0].Approvers[0].ID != userA {
		t.Errorf("approval shares approvers with the policy")
	}
}

func TestNewApprovalTimeoutAndEscalation(t *testing.T) {
	p := validApprovalPolicy()
	p.Activation.ApprovalMode = domain.ApprovalSingleStage
	p.Activation.Stages = []domain.StageRule{{TimeoutDays: 3, EscalationEnabled: true, EscalationMinutes: 90,
		EscalationApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: userB}}}}
	a := domain.NewApproval(p, t0)
	s := a.Stages[0]
	if !s.TimeoutAt.Equal(t0.Add(72*time.Hour)) || !s.EscalateAt.Equal(t0.Add(90*time.Minute)) {
		t.Errorf("TimeoutAt %v EscalateAt %v, want now+3d and now+90m", s.TimeoutAt, s.EscalateAt)
	}
	p.Activation.Stages[0].TimeoutDays = 0 // an unvalidated policy still gets one day
	if s := domain.NewApproval(p, t0).Stages[0]; s.TimeoutDays != 1 || !s.TimeoutAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("timeout 0: days %d at %v, want 1 day", s.TimeoutDays, s.TimeoutAt)
	}
}

func TestNewApprovalNotRequired(t *testing.T) {
	if a := domain.NewApproval(domain.DefaultPolicy(), t0); a != nil {
		t.Errorf("NewApproval without approval = %+v, want nil", a)
	}
	var a *domain.Approval
	if a.Current() != -1 {
		t.Error("nil approval Current() != -1")
	}
	if _, ok := a.StageByID("stage-1"); ok {
		t.Error("nil approval found a stage")
	}
}

func TestStartStage(t *testing.T) {
	a := domain.NewApproval(validApprovalPolicy(), t0)
	a.Stages[0].Status = domain.StageCompleted
	later := t0.Add(5 * time.Hour)
	a.StartStage(1, later)
	s := a.Stages[1]
	if s.Status != domain.StageInProgress {
		t.Errorf("status %q, want InProgress", s.Status)
	}
	if !s.TimeoutAt.Equal(later.Add(7 * 24 * time.Hour)) {
		t.Errorf("TimeoutAt %v, want start+7d", s.TimeoutAt)
	}
	if !s.EscalateAt.Equal(later.Add(120 * time.Minute)) {
		t.Errorf("EscalateAt %v, want start+120m", s.EscalateAt)
	}
	if a.Current() != 1 {
		t.Errorf("Current() = %d, want 1", a.Current())
	}
	if i, ok := a.StageByID("stage-2"); !ok || i != 1 {
		t.Errorf("StageByID(stage-2) = %d %v", i, ok)
	}
	if _, ok := a.StageByID("stage-3"); ok {
		t.Error("StageByID(stage-3) found a stage")
	}
	a.Stages[1].Status = domain.StageEscalated
	if a.Current() != 1 {
		t.Errorf("escalated stage: Current() = %d, want 1", a.Current())
	}
	a.Stages[1].Status = domain.StageCompleted
	if a.Current() != -1 {
		t.Errorf("all completed: Current() = %d, want -1", a.Current())
	}
}

func TestAllApprovers(t *testing.T) {
	s := domain.ApprovalStage{
		Status:              domain.StageInProgress,
		Approvers:           []domain.Approver{{Kind: domain.ApproverUser, ID: userA}},
		EscalationApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: userB}},
	}
	if got := s.AllApprovers(); len(got) != 1 || got[0].ID != userA {
		t.Errorf("in progress: %+v, want primary only", got)
	}
	s.Status = domain.StageEscalated
	got := s.AllApprovers()
	if len(got) != 2 || got[0].ID != userA || got[1].ID != userB {
		t.Errorf("escalated: %+v, want primary then escalation", got)
	}
	got[0].ID = "changed"
	if s.Approvers[0].ID != userA {
		t.Error("AllApprovers of an escalated stage aliases Approvers")
	}
}

func TestPolicyCloneIsDeep(t *testing.T) {
	p := validApprovalPolicy()
	p.Scope, p.Tier = domain.ScopeTier, "t0"
	p.TierTargets = []domain.Target{domain.RoleTarget(roleGA, "/")}
	p.Notifications[0].ExtraRecipients = []string{"sec@example.com"}
	orig := validApprovalPolicy()
	orig.Scope, orig.Tier = domain.ScopeTier, "t0"
	orig.TierTargets = []domain.Target{domain.RoleTarget(roleGA, "/")}
	orig.Notifications[0].ExtraRecipients = []string{"sec@example.com"}

	c := p.Clone()
	if !reflect.DeepEqual(c, p) {
		t.Fatalf("clone differs from original")
	}
	c.TierTargets[0].RoleDefinitionID = rolePRA
	c.Activation.Stages[0].TimeoutDays = 5
	c.Activation.Stages[0].PrimaryApprovers[0].ID = groupB
	c.Activation.Stages[1].EscalationApprovers[0].ID = groupB
	c.Notifications[0].Level = domain.LevelCritical
	c.Notifications[0].ExtraRecipients[0] = "attacker@example.com"
	if !reflect.DeepEqual(p, orig) {
		t.Errorf("mutating the clone changed the original:\n got %+v\nwant %+v", p, orig)
	}
}

func TestRequestCloneIsDeep(t *testing.T) {
	mk := func() domain.Request {
		return domain.Request{
			ID: "r1", Status: domain.StatusPendingApproval,
			Approval: domain.NewApproval(validApprovalPolicy(), t0),
		}
	}
	r, orig := mk(), mk()
	c := r.Clone()
	if !reflect.DeepEqual(c, r) {
		t.Fatal("clone differs from original")
	}
	if c.Approval == r.Approval {
		t.Fatal("clone shares the *Approval")
	}
	c.Approval.Stages[0].Status = domain.StageCompleted
	c.Approval.Stages[0].Approvers[0].ID = groupB
	c.Approval.Stages[1].EscalationApprovers[0].ID = groupB
	c.Approval.Stages = append(c.Approval.Stages, domain.ApprovalStage{ID: "stage-3"})
	c.Status = domain.StatusGranted
	if !reflect.DeepEqual(r, orig) {
		t.Errorf("mutating the clone changed the original:\n got %+v\nwant %+v", r.Approval, orig.Approval)
	}
	// no approval stays no approval
	if (domain.Request{ID: "x"}).Clone().Approval != nil {
		t.Error("clone of a request without approval has one")
	}
}

func TestGrantCloneIsDeep(t *testing.T) {
	mk := func() domain.Grant {
		return domain.Grant{PrincipalID: userA, Target: domain.RoleTarget(roleGA, "/"),
			Holders: []domain.Holder{{ScheduleID: "s1", AssignmentType: domain.AssignmentActivated, End: t0}, {ScheduleID: "s2"}}}
	}
	g, orig := mk(), mk()
	c := g.Clone()
	if !reflect.DeepEqual(c, g) {
		t.Fatal("clone differs")
	}
	c.Holders[0].ScheduleID = "changed"
	c.RemoveHolder("s2")
	if !reflect.DeepEqual(g, orig) {
		t.Errorf("mutating the clone changed the original: %+v", g.Holders)
	}
}
