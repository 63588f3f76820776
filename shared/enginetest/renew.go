package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// testRenewableEligibilities: the eligibilities a person may ask to renew
// are their own that ran out (swept or not yet), not those still live, not
// those renewed since, not someone else's, and not those ended too long ago.
func testRenewableEligibilities(t *testing.T, su suite) {
	f := su.fixture(t)
	u, other := f.NewUser(), f.NewUser()
	f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(24*time.Hour)))
	f.MustSubmit(f.Admin, EligibilitySub(u, RoleOther, Lasting(48*time.Hour)))
	f.MustSubmit(f.Admin, EligibilitySub(other, RoleGA, Lasting(24*time.Hour)))
	renewable := func(who domain.ObjectID) []domain.Target {
		t.Helper()
		got, err := f.Eng.RenewableEligibilities(f.Ctx, f.Call(who))
		if err != nil {
			t.Fatal(err)
		}
		var out []domain.Target
		for _, s := range got {
			if s.PrincipalID != who {
				t.Fatalf("%s was offered someone else's eligibility: %+v", who, s)
			}
			out = append(out, s.Target)
		}
		return out
	}
	if got := renewable(u); len(got) != 0 {
		t.Fatalf("live eligibilities offered for renewal: %v", got)
	}
	f.Advance(25 * time.Hour) // GA ran out, not yet swept
	if got := renewable(u); len(got) != 1 || got[0] != RoleGA {
		t.Fatalf("renewable before the sweep: %v", got)
	}
	f.Advance(24 * time.Hour)
	f.Sweep()
	if got := renewable(u); len(got) != 2 || got[0] != RoleOther || got[1] != RoleGA {
		t.Fatalf("renewable after the sweep, latest first: %v", got)
	}
	// The admin renews GA: it is live again and no longer offered.
	f.MustSubmit(f.Admin, engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminRenew, PrincipalID: u, Target: RoleGA,
		Justification: "renewed", Schedule: Lasting(24 * time.Hour)})
	if got := renewable(u); len(got) != 1 || got[0] != RoleOther {
		t.Fatalf("renewable after GA was renewed: %v", got)
	}
	f.Advance(domain.RenewWindow + 48*time.Hour) // past the window of both
	if got := renewable(u); len(got) != 0 {
		t.Fatalf("renewable after the window: %v", got)
	}
}

// testTicketCheckWhileTyping: checking a ticket before submitting answers
// as the activation does (the same refusals, with their reasons, and the
// ticket validated) and changes nothing.
func testTicketCheckWhileTyping(t *testing.T, su suite) {
	f, _, _, adam := ticketFixture(t, su)
	bob := f.NewUser()
	f.SetPolicy(domain.PolicyID(RoleOther), func(p *domain.Policy) {
		p.Activation.RequireTicket, p.Activation.ValidateTicket = true, true
	})
	f.MakeEligible(adam, RoleOther)
	before := f.Snapshot()
	check := func(who domain.ObjectID, number string) (domain.TicketInfo, error) {
		return f.Eng.CheckActivationTicket(f.Ctx, f.Call(who), RoleOther, number, time.Hour)
	}
	cases := []struct {
		who      domain.ObjectID
		number   string
		code     domain.Code
		contains string
	}{
		{bob, "INC0012345", domain.CodeForbidden, "does not name"},
		{adam, "INC0012300", domain.CodeForbidden, "Resolved"},
		{adam, "INC9999999", domain.CodeNotFound, "INC9999999"},
		{adam, "", domain.CodeInvalid, "ticket"},
		{adam, "INC\u202e1", domain.CodeInvalid, "ticketNumber"},
	}
	for _, c := range cases {
		_, err := check(c.who, c.number)
		WantCode(t, err, c.code)
		WantContains(t, err, c.contains)
	}
	got, err := check(adam, " INC0012345 ")
	if err != nil || !got.Validated || got.Number != "INC0012345" {
		t.Fatalf("a good ticket: %+v %v", got, err)
	}
	f.AssertNoWrites(t, before)
}
