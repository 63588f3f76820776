package enginetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func testPolicyTierInheritance(t *testing.T, su suite) {
	f := su.fixture(t)
	tier := domain.TierPolicyID("L3")
	if tier != "Tier_L3" {
		t.Fatalf("tier id %q", tier)
	}

	p, err := f.Eng.EffectivePolicy(f.Ctx, RoleOther)
	if err != nil || p.InheritedFrom != domain.DefaultPolicyID || p.Activation.MaxDuration != 8*time.Hour {
		t.Fatalf("before any policy: %+v %v", p, err)
	}

	stored := f.SetPolicy(tier, func(p *domain.Policy) {
		p.TierTargets = []domain.Target{RoleOther}
		p.Activation.MaxDuration = 2 * time.Hour
		p.Activation.RequireTicket = true
	})
	if stored.Scope != domain.ScopeTier || stored.Tier != "L3" || stored.ModifiedBy != f.Admin {
		t.Fatalf("stored tier policy %+v", stored)
	}
	p, err = f.Eng.EffectivePolicy(f.Ctx, RoleOther)
	if err != nil {
		t.Fatal(err)
	}
	if p.InheritedFrom != tier || p.ID != domain.PolicyID(RoleOther) || p.Target != RoleOther || p.Activation.MaxDuration != 2*time.Hour ||
		!p.Activation.RequireTicket || len(p.TierTargets) != 0 {
		t.Fatalf("effective policy of a tier member: %+v", p)
	}
	if via, err := f.Policies.GetPolicy(f.Ctx, domain.PolicyID(RoleOther)); err != nil || via.InheritedFrom != tier {
		t.Fatalf("GetPolicy of the role: %+v %v", via, err)
	}
	if ga, _ := f.Eng.EffectivePolicy(f.Ctx, RoleGA); ga.InheritedFrom != domain.DefaultPolicyID {
		t.Fatalf("a role outside the tier inherits from %q", ga.InheritedFrom)
	}
	// The tier's rules are the ones enforced.
	u := f.NewUser()
	f.MakeEligible(u, RoleOther)
	in := ActivationSub(u, RoleOther, 3*time.Hour)
	in.Ticket = domain.TicketInfo{Number: "CHG1"}
	_, err = f.Submit(u, in)
	WantCode(t, err, domain.CodeInvalid)
	in.Schedule.Duration = 2 * time.Hour
	in.Ticket = domain.TicketInfo{}
	_, err = f.Submit(u, in)
	WantCode(t, err, domain.CodeInvalid)
	WantContains(t, err, "ticket")

	// The role gets its own policy: copied from the tier, then its own.
	own := f.SetPolicy(domain.PolicyID(RoleOther), func(p *domain.Policy) { p.Activation.MaxDuration = 4 * time.Hour })
	if own.InheritedFrom != "" || own.Scope != domain.ScopeTarget || own.Target != RoleOther || !own.Activation.RequireTicket {
		t.Fatalf("the role's own policy %+v: want a target policy started from the tier's rules", own)
	}
	f.SetPolicy(tier, func(p *domain.Policy) { p.Activation.MaxDuration = time.Hour; p.Activation.RequireTicket = false })
	p, err = f.Eng.EffectivePolicy(f.Ctx, RoleOther)
	if err != nil || p.InheritedFrom != "" || p.Activation.MaxDuration != 4*time.Hour || !p.Activation.RequireTicket {
		t.Fatalf("effective policy with its own: %+v %v: the tier must no longer apply", p, err)
	}
	in.Schedule.Duration = 3 * time.Hour
	in.Ticket = domain.TicketInfo{Number: "CHG2"}
	if r, err := f.Submit(u, in); err != nil || r.Status != domain.StatusProvisioned {
		t.Fatalf("activation under the role's own policy: %+v %v", r, err)
	}

	all, err := f.Policies.ListPolicies(f.Ctx, f.Call(f.Admin))
	if err != nil || len(all) != 2 {
		t.Fatalf("stored policies %+v %v: want the tier and the role", all, err)
	}
	if a := f.Audits("policy.update"); len(a) != 3 || a[0].Category != "Policy" || a[0].ActorID != f.Admin ||
		a[0].Details["policy_id"] != tier || a[1].Details["policy_id"] != domain.PolicyID(RoleOther) {
		t.Fatalf("policy.update records %+v", a)
	}
}

func testPolicyUpdateRefusals(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	id := domain.PolicyID(RoleGA)
	cases := []struct {
		name   string
		caller domain.ObjectID
		id     string
		change func(*domain.Policy) error
		code   domain.Code
	}{
		{"not an admin", u, id, func(p *domain.Policy) error { p.Activation.MaxDuration = time.Hour; return nil }, domain.CodeForbidden},
		{"activation of 25 hours", f.Admin, id, func(p *domain.Policy) error { p.Activation.MaxDuration = 25 * time.Hour; return nil }, domain.CodeInvalid},
		{"activation of 10 minutes", f.Admin, id, func(p *domain.Policy) error { p.Activation.MaxDuration = 10 * time.Minute; return nil }, domain.CodeInvalid},
		{"approval without stages", f.Admin, id, func(p *domain.Policy) error { p.Activation.ApprovalRequired = true; return nil }, domain.CodeInvalid},
		{"approver not an object id", f.Admin, id, func(p *domain.Policy) error {
			p.Activation.ApprovalRequired, p.Activation.ApprovalMode = true, domain.ApprovalSingleStage
			p.Activation.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: []domain.Approver{{Kind: domain.ApproverUser, ID: "boss@contoso.example"}}}}
			return nil
		}, domain.CodeInvalid},
		{"group activation over 8 hours", f.Admin, domain.PolicyID(domain.GroupTarget(f.NewID(), "member")),
			func(p *domain.Policy) error { p.Activation.MaxDuration = 9 * time.Hour; return nil }, domain.CodeInvalid},
		{"unknown policy id", f.Admin, "Role_GlobalAdmin", func(p *domain.Policy) error { return nil }, domain.CodeNotFound},
		{"change refuses", f.Admin, id, func(p *domain.Policy) error { return domain.Invalid("x", "no") }, domain.CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Snapshot()
			_, err := f.Policies.UpdatePolicy(f.Ctx, f.Call(tc.caller), tc.id, tc.change)
			WantCode(t, err, tc.code)
			f.AssertNoWrites(t, before)
			if all, _ := f.Store.ListPolicies(f.Ctx); len(all) != 0 {
				t.Fatalf("a refused update stored %+v", all)
			}
			if p, _ := f.Eng.EffectivePolicy(f.Ctx, RoleGA); p.Activation.MaxDuration != 8*time.Hour || p.InheritedFrom != domain.DefaultPolicyID {
				t.Fatalf("effective policy changed: %+v", p)
			}
		})
	}
	if n := len(f.Audits("policy.update")); n != 0 {
		t.Fatalf("%d policy.update records for refused updates", n)
	}
}

// testPolicyConcurrentUpdates: admins editing one policy at once do not
// overwrite each other's changes.
func testPolicyConcurrentUpdates(t *testing.T, su suite) {
	f := su.fixture(t)
	tier := domain.TierPolicyID("L0")
	targets := make([]domain.Target, 8)
	for i := range targets {
		targets[i] = domain.GroupTarget(f.NewID(), domain.AccessMember)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(targets))
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.Policies.UpdatePolicy(f.Ctx, f.Call(f.Admin), tier, func(p *domain.Policy) error {
				p.TierTargets = append(p.TierTargets, targets[i])
				return nil
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// Losing ten races in a row is allowed to fail, but never silently.
		if !domain.IsCode(err, domain.CodeConflict) {
			t.Fatal(err)
		}
	}
	p, err := f.Policies.GetPolicy(f.Ctx, tier)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range errs {
		if e == nil {
			ok++
		}
	}
	if len(p.TierTargets) != ok {
		t.Fatalf("%d updates succeeded but the tier lists %d targets: an update was lost", ok, len(p.TierTargets))
	}
	if n := len(f.Audits("policy.update")); n != ok {
		t.Fatalf("%d policy.update records for %d updates", n, ok)
	}
}
