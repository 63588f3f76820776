package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// TestSelfActivateRefusals checks every reason selfActivate says no, the
// code it says it with, and that a refusal writes nothing: no request, no
// schedule, no grant, no audit record, no directory change. Where a case
// has a fix, the same submission with the fix applied then succeeds, which
// proves the refusal was for the reason under test.
func TestSelfActivateRefusals(t *testing.T) {
	type attempt struct {
		caller domain.ObjectID
		in     engine.Submission
		auth   domain.AuthEvidence
	}
	cases := []struct {
		name  string
		setup func(f *fixture, user domain.ObjectID) attempt
		code  domain.Code
		msg   string
		fix   func(f *fixture, a *attempt)
	}{
		{name: "not eligible", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			},
			fix: func(f *fixture, a *attempt) { f.makeEligible(a.caller, roleGA) }},
		{name: "eligible for another role only", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleOther)
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			}},
		{name: "eligibility not started yet", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.mustSubmit(f.admin, eligibilitySub(u, roleGA, domain.ScheduleInfo{Start: f.now.Add(2 * time.Hour), ExpirationType: domain.ExpireNever}))
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			},
			fix: func(f *fixture, a *attempt) { f.advance(2 * time.Hour); a.auth = f.mfa() }},
		{name: "eligibility expired", code: domain.CodeForbidden, msg: "not eligible",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.mustSubmit(f.admin, eligibilitySub(u, roleGA, lasting(2*time.Hour)))
				f.advance(3 * time.Hour) // no sweep ran: the end alone must count
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			}},
		{name: "account disabled", code: domain.CodeForbidden, msg: "disabled",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				f.dir.SetEnabled(u, false)
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			},
			fix: func(f *fixture, a *attempt) { f.dir.SetEnabled(a.caller, true) }},
		{name: "duration over policy maximum", code: domain.CodeInvalid, msg: "maximum activation",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				return attempt{u, activationSub(u, roleGA, 8*time.Hour+time.Minute), f.mfa()}
			},
			fix: func(f *fixture, a *attempt) { a.in.Schedule.Duration = 8 * time.Hour }},
		{name: "no end", code: domain.CodeInvalid, msg: "must end",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, 0)
				in.Schedule = permanent()
				return attempt{u, in, f.mfa()}
			}},
		{name: "start in the future", code: domain.CodeInvalid, msg: "future",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, time.Hour)
				in.Schedule.Start = f.now.Add(time.Hour)
				return attempt{u, in, f.mfa()}
			}},
		{name: "beyond eligibility end", code: domain.CodeInvalid, msg: "after the eligibility ends",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.mustSubmit(f.admin, eligibilitySub(u, roleGA, lasting(30*time.Minute)))
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			},
			fix: func(f *fixture, a *attempt) { a.in.Schedule.Duration = 30 * time.Minute }},
		{name: "no justification", code: domain.CodeInvalid, msg: "justification",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, time.Hour)
				in.Justification = "  \t"
				return attempt{u, in, f.mfa()}
			},
			fix: func(f *fixture, a *attempt) { a.in.Justification = "INC-1" }},
		{name: "justification too long", code: domain.CodeInvalid, msg: "justification",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, time.Hour)
				in.Justification = string(make([]byte, domain.MaxJustification+1))
				return attempt{u, in, f.mfa()}
			}},
		{name: "ticket required", code: domain.CodeInvalid, msg: "ticket",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) { p.Activation.RequireTicket = true })
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			},
			fix: func(f *fixture, a *attempt) {
				a.in.Ticket = domain.TicketInfo{Number: "CHG0012345", System: "ServiceNow"}
			}},
		{name: "MFA missing", code: domain.CodeForbidden, msg: "multi-factor",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				return attempt{u, activationSub(u, roleGA, time.Hour), domain.AuthEvidence{MFA: false, AuthenticatedAt: f.now}}
			},
			fix: func(f *fixture, a *attempt) { a.auth.MFA = true }},
		{name: "MFA stale", code: domain.CodeForbidden, msg: "older than",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				return attempt{u, activationSub(u, roleGA, time.Hour),
					domain.AuthEvidence{MFA: true, AuthenticatedAt: f.now.Add(-f.cfg.MFAFreshness - time.Second)}}
			},
			fix: func(f *fixture, a *attempt) { a.auth.AuthenticatedAt = f.now.Add(-f.cfg.MFAFreshness) }},
		{name: "auth context required", code: domain.CodeForbidden, msg: "authentication context",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) { p.Activation.AuthContext = "c1" })
				return attempt{u, activationSub(u, roleGA, time.Hour), domain.AuthEvidence{MFA: true, ACRS: []string{"c2"}, AuthenticatedAt: f.now}}
			},
			fix: func(f *fixture, a *attempt) { a.auth.ACRS = []string{"c2", "c1"} }},
		{name: "auth context satisfied but stale", code: domain.CodeForbidden, msg: "older than",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) { p.Activation.AuthContext = "c1" })
				return attempt{u, activationSub(u, roleGA, time.Hour),
					domain.AuthEvidence{MFA: true, ACRS: []string{"c1"}, AuthenticatedAt: f.now.Add(-time.Hour)}}
			}},
		{name: "principal is not the caller", code: domain.CodeForbidden, msg: "your own access",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				victim := f.newUser()
				f.makeEligible(victim, roleGA)
				return attempt{u, activationSub(victim, roleGA, time.Hour), f.mfa()}
			}},
		{name: "admin activating for someone else", code: domain.CodeForbidden, msg: "your own access",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				return attempt{f.admin, activationSub(u, roleGA, time.Hour), f.mfa()}
			}},
		{name: "break-glass principal", code: domain.CodeForbidden, msg: "break-glass",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				return attempt{f.breakGlass, activationSub(f.breakGlass, roleGA, time.Hour), f.mfa()}
			}},
		{name: "second activation while active", code: domain.CodeConflict, msg: "active until",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				if r, err := f.activate(u, roleGA, time.Hour); err != nil || r.Status != domain.StatusProvisioned {
					f.t.Fatalf("first activation: %+v %v", r, err)
				}
				f.advance(10 * time.Minute)
				return attempt{u, activationSub(u, roleGA, time.Hour), f.mfa()}
			}},
		{name: "unknown action", code: domain.CodeInvalid, msg: "action",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, time.Hour)
				in.Action = "selfElevate"
				return attempt{u, in, f.mfa()}
			}},
		{name: "selfActivate as an eligibility request", code: domain.CodeInvalid, msg: "assignment request",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, time.Hour)
				in.Kind = domain.KindEligibility
				return attempt{u, in, f.mfa()}
			}},
		{name: "unknown request kind", code: domain.CodeInvalid, msg: "kind",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				in := activationSub(u, roleGA, time.Hour)
				in.Kind = "permanentAdmin"
				return attempt{u, in, f.mfa()}
			}},
		{name: "target is not a role id", code: domain.CodeInvalid, msg: "roleDefinitionId",
			setup: func(f *fixture, u domain.ObjectID) attempt {
				f.makeEligible(u, roleGA)
				return attempt{u, activationSub(u, domain.RoleTarget("Global Administrator", "/"), time.Hour), f.mfa()}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			user := f.newUser()
			a := tc.setup(f, user)
			rolesBefore := f.dir.RoleCount()
			grantBefore, hadGrant := f.grant(a.in.PrincipalID, roleGA)
			reqsBefore := len(f.requestsOf(a.in.PrincipalID))
			schedBefore := len(f.schedulesOf(a.in.PrincipalID, ""))
			before := f.snapshot()

			_, err := f.eng.Submit(f.ctx, f.callAuth(a.caller, a.auth), a.in)
			wantCode(t, err, tc.code)
			wantContains(t, err, tc.msg)

			f.assertNoWrites(t, before)
			if n := len(f.requestsOf(a.in.PrincipalID)); n != reqsBefore {
				t.Errorf("%d requests stored by a refusal", n-reqsBefore)
			}
			if n := len(f.schedulesOf(a.in.PrincipalID, "")); n != schedBefore {
				t.Errorf("%d schedules stored by a refusal", n-schedBefore)
			}
			if g, ok := f.grant(a.in.PrincipalID, roleGA); ok != hadGrant || g.Version != grantBefore.Version {
				t.Errorf("grant changed by a refusal: %+v", g)
			}
			if f.dir.RoleCount() != rolesBefore {
				t.Errorf("role assignments went from %d to %d", rolesBefore, f.dir.RoleCount())
			}

			if tc.fix != nil {
				tc.fix(f, &a)
				a.in.PrincipalID = a.caller
				r, err := f.eng.Submit(f.ctx, f.callAuth(a.caller, a.auth), a.in)
				if err != nil || r.Status != domain.StatusProvisioned {
					t.Fatalf("after the fix the activation should succeed: %+v %v", r, err)
				}
				if !f.hasRole(a.caller, roleGA) {
					t.Fatal("after the fix the role should be held")
				}
			}
		})
	}
}

// TestSelfActivateValidationOnly: a validation-only activation answers as a
// real one would and writes nothing.
func TestSelfActivateValidationOnly(t *testing.T) {
	f := newFixture(t)
	u := f.newUser()
	f.makeEligible(u, roleGA)
	before := f.snapshot()
	in := activationSub(u, roleGA, time.Hour)
	in.ValidationOnly = true
	r, err := f.submit(u, in)
	if err != nil {
		t.Fatalf("validation-only: %v", err)
	}
	if r.Status != domain.StatusGranted {
		t.Fatalf("validation-only answer is %s, want Granted", r.Status)
	}
	f.assertNoWrites(t, before)
	if f.hasRole(u, roleGA) {
		t.Fatal("validation-only must not grant")
	}
	if _, err := f.store.GetRequest(f.ctx, r.ID); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("validation-only request was stored: %v", err)
	}
	in.ValidationOnly = false
	in.Justification = ""
	in.ValidationOnly = true
	_, err = f.submit(u, in)
	wantCode(t, err, domain.CodeInvalid)
}
