package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// testSelfActivateRefusals checks every reason selfActivate says no, the
// code it says it with, and that a refusal writes nothing: no request, no
// schedule, no grant, no audit record, no directory change. Where a case
// has a fix, the same submission with the fix applied then succeeds, which
// proves the refusal was for the reason under test.
func testSelfActivateRefusals(t *testing.T, su suite) {
	type attempt struct {
		caller domain.ObjectID
		in     engine.Submission
		auth   domain.AuthEvidence
	}
	cases := []struct {
		name  string
		setup func(f *Fixture, user domain.ObjectID) attempt
		code  domain.Code
		msg   string
		fix   func(f *Fixture, a *attempt)
	}{
		{name: "not eligible", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { f.MakeEligible(a.caller, RoleGA) }},
		{name: "eligible for another role only", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleOther)
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			}},
		{name: "eligibility not started yet", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, domain.ScheduleInfo{Start: f.Now.Add(2 * time.Hour), ExpirationType: domain.ExpireNever}))
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { f.Advance(2 * time.Hour); a.auth = f.MFA() }},
		{name: "eligibility expired", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(2*time.Hour)))
				f.Advance(3 * time.Hour) // no sweep ran: the end alone must count
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			}},
		{name: "account disabled", code: domain.CodeForbidden, msg: "disabled",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				f.Dir.SetEnabled(u, false)
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { f.Dir.SetEnabled(a.caller, true) }},
		{name: "duration over policy maximum", code: domain.CodeInvalid, msg: "maximum activation",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				return attempt{u, ActivationSub(u, RoleGA, 8*time.Hour+time.Minute), f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { a.in.Schedule.Duration = 8 * time.Hour }},
		{name: "no end", code: domain.CodeInvalid, msg: "must end",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, 0)
				in.Schedule = Permanent()
				return attempt{u, in, f.MFA()}
			}},
		{name: "start too far ahead", code: domain.CodeInvalid, msg: "P30D ahead",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Schedule.Start = f.Now.Add(domain.MaxActivationAhead + time.Minute)
				return attempt{u, in, f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { a.in.Schedule.Start = time.Time{} }},
		{name: "start in the past beyond clock skew", code: domain.CodeInvalid, msg: "in the past",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Schedule.Start = f.Now.Add(-domain.StartSlack - time.Minute)
				return attempt{u, in, f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { a.in.Schedule.Start = f.Now.Add(-domain.StartSlack) }},
		{name: "beyond eligibility end", code: domain.CodeInvalid, msg: "after the eligibility ends",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(30*time.Minute)))
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { a.in.Schedule.Duration = 30 * time.Minute }},
		{name: "no justification", code: domain.CodeInvalid, msg: "justification",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Justification = "  \t"
				return attempt{u, in, f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) { a.in.Justification = "INC-1" }},
		{name: "justification too long", code: domain.CodeInvalid, msg: "justification",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Justification = string(make([]byte, domain.MaxJustification+1))
				return attempt{u, in, f.MFA()}
			}},
		{name: "ticket required", code: domain.CodeInvalid, msg: "ticket",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) { p.Activation.RequireTicket = true })
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			},
			fix: func(f *Fixture, a *attempt) {
				a.in.Ticket = domain.TicketInfo{Number: "CHG0012345", System: "ServiceNow"}
			}},
		{name: "MFA missing", code: domain.CodeForbidden, msg: "multi-factor",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), domain.AuthEvidence{MFA: false, AuthenticatedAt: f.Now}}
			},
			fix: func(f *Fixture, a *attempt) { a.auth.MFA = true }},
		{name: "MFA stale", code: domain.CodeForbidden, msg: "older than",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				return attempt{u, ActivationSub(u, RoleGA, time.Hour),
					domain.AuthEvidence{MFA: true, AuthenticatedAt: f.Now.Add(-f.Cfg.MFAFreshness - time.Second)}}
			},
			fix: func(f *Fixture, a *attempt) { a.auth.AuthenticatedAt = f.Now.Add(-f.Cfg.MFAFreshness) }},
		{name: "auth context required", code: domain.CodeForbidden, msg: "authentication context",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) { p.Activation.AuthContext = "c1" })
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), domain.AuthEvidence{MFA: true, ACRS: []string{"c2"}, AuthenticatedAt: f.Now}}
			},
			fix: func(f *Fixture, a *attempt) { a.auth.ACRS = []string{"c2", "c1"} }},
		{name: "auth context satisfied but stale", code: domain.CodeForbidden, msg: "older than",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) { p.Activation.AuthContext = "c1" })
				return attempt{u, ActivationSub(u, RoleGA, time.Hour),
					domain.AuthEvidence{MFA: true, ACRS: []string{"c1"}, AuthenticatedAt: f.Now.Add(-time.Hour)}}
			}},
		{name: "principal is not the caller", code: domain.CodeForbidden, msg: "your own access",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				victim := f.NewUser()
				f.MakeEligible(victim, RoleGA)
				return attempt{u, ActivationSub(victim, RoleGA, time.Hour), f.MFA()}
			}},
		{name: "admin activating for someone else", code: domain.CodeForbidden, msg: "your own access",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				return attempt{f.Admin, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			}},
		{name: "break-glass principal", code: domain.CodeForbidden, msg: "break-glass",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				return attempt{f.BreakGlass, ActivationSub(f.BreakGlass, RoleGA, time.Hour), f.MFA()}
			}},
		{name: "second activation while active", code: domain.CodeConflict, msg: "active until",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				if r, err := f.Activate(u, RoleGA, time.Hour); err != nil || r.Status != domain.StatusProvisioned {
					f.T.Fatalf("first activation: %+v %v", r, err)
				}
				f.Advance(10 * time.Minute)
				return attempt{u, ActivationSub(u, RoleGA, time.Hour), f.MFA()}
			}},
		{name: "unknown action", code: domain.CodeInvalid, msg: "action",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Action = "selfElevate"
				return attempt{u, in, f.MFA()}
			}},
		{name: "selfActivate as an eligibility request", code: domain.CodeInvalid, msg: "assignment request",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Kind = domain.KindEligibility
				return attempt{u, in, f.MFA()}
			}},
		{name: "unknown request kind", code: domain.CodeInvalid, msg: "kind",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				in := ActivationSub(u, RoleGA, time.Hour)
				in.Kind = "permanentAdmin"
				return attempt{u, in, f.MFA()}
			}},
		{name: "target is not a role id", code: domain.CodeInvalid, msg: "roleDefinitionId",
			setup: func(f *Fixture, u domain.ObjectID) attempt {
				f.MakeEligible(u, RoleGA)
				return attempt{u, ActivationSub(u, domain.RoleTarget("Global Administrator", "/"), time.Hour), f.MFA()}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := su.fixture(t)
			user := f.NewUser()
			a := tc.setup(f, user)
			rolesBefore := f.Dir.RoleCount()
			grantBefore, hadGrant := f.Grant(a.in.PrincipalID, RoleGA)
			reqsBefore := len(f.RequestsOf(a.in.PrincipalID))
			schedBefore := len(f.SchedulesOf(a.in.PrincipalID, ""))
			before := f.Snapshot()

			_, err := f.Eng.Submit(f.Ctx, f.CallAuth(a.caller, a.auth), a.in)
			WantCode(t, err, tc.code)
			WantContains(t, err, tc.msg)

			f.AssertNoWrites(t, before)
			if n := len(f.RequestsOf(a.in.PrincipalID)); n != reqsBefore {
				t.Errorf("%d requests stored by a refusal", n-reqsBefore)
			}
			if n := len(f.SchedulesOf(a.in.PrincipalID, "")); n != schedBefore {
				t.Errorf("%d schedules stored by a refusal", n-schedBefore)
			}
			if g, ok := f.Grant(a.in.PrincipalID, RoleGA); ok != hadGrant || g.Version != grantBefore.Version {
				t.Errorf("grant changed by a refusal: %+v", g)
			}
			if f.Dir.RoleCount() != rolesBefore {
				t.Errorf("role assignments went from %d to %d", rolesBefore, f.Dir.RoleCount())
			}

			if tc.fix != nil {
				tc.fix(f, &a)
				a.in.PrincipalID = a.caller
				r, err := f.Eng.Submit(f.Ctx, f.CallAuth(a.caller, a.auth), a.in)
				if err != nil || r.Status != domain.StatusProvisioned {
					t.Fatalf("after the fix the activation should succeed: %+v %v", r, err)
				}
				if !f.HasRole(a.caller, RoleGA) {
					t.Fatal("after the fix the role should be held")
				}
			}
		})
	}
}

// testSelfActivateValidationOnly: a validation-only activation answers as a
// real one would and writes nothing.
func testSelfActivateValidationOnly(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	f.MakeEligible(u, RoleGA)
	before := f.Snapshot()
	in := ActivationSub(u, RoleGA, time.Hour)
	in.ValidationOnly = true
	r, err := f.Submit(u, in)
	if err != nil {
		t.Fatalf("validation-only: %v", err)
	}
	if r.Status != domain.StatusGranted {
		t.Fatalf("validation-only answer is %s, want Granted", r.Status)
	}
	f.AssertNoWrites(t, before)
	if f.HasRole(u, RoleGA) {
		t.Fatal("validation-only must not grant")
	}
	if _, err := f.Store.GetRequest(f.Ctx, r.ID); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("validation-only request was stored: %v", err)
	}
	in.ValidationOnly = false
	in.Justification = ""
	in.ValidationOnly = true
	_, err = f.Submit(u, in)
	WantCode(t, err, domain.CodeInvalid)
}
