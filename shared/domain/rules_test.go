package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// baseActivation is a valid activation under Entra's default policy (PT8H,
// MFA and justification required) with a fresh MFA sign-in.
func baseActivation() domain.ActivationCheck {
	return domain.ActivationCheck{
		Policy:        domain.DefaultPolicy(),
		Now:           t0,
		Start:         t0,
		End:           t0.Add(time.Hour),
		Justification: "INC-42: restore the mail flow",
		Auth:          domain.AuthEvidence{MFA: true, AuthenticatedAt: t0.Add(-time.Minute)},
		MFAFreshness:  15 * time.Minute,
	}
}

type wantResult struct {
	code  domain.Code // "" = allowed
	field string
	parts []string
}

var allowed = wantResult{}

func TestCheckActivation(t *testing.T) {
	cases := []struct {
		name string
		mod  func(c *domain.ActivationCheck)
		want wantResult
	}{
		{"baseline allowed", func(c *domain.ActivationCheck) {}, allowed},

		// duration
		{"exactly at max allowed", func(c *domain.ActivationCheck) { c.End = c.Start.Add(8 * time.Hour) }, allowed},
		{"over max by one hour", func(c *domain.ActivationCheck) { c.End = c.Start.Add(9 * time.Hour) },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration.duration", []string{"PT9H", "maximum activation of PT8H"}}},
		{"over a custom max", func(c *domain.ActivationCheck) {
			c.Policy.Activation.MaxDuration = 2 * time.Hour
			c.End = c.Start.Add(2*time.Hour + 30*time.Minute)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration.duration", []string{"PT2H30M", "PT2H"}}},
		{"start in the past makes the window too long", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(-2 * time.Hour)
			c.End = t0.Add(7 * time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration.duration", []string{"PT9H", "PT8H"}}},

		// permanent, start, end
		{"permanent activation refused", func(c *domain.ActivationCheck) { c.End = time.Time{} },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"must end", "at most PT8H"}}},
		{"start a day ahead allowed (scheduled)", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(24 * time.Hour)
			c.End = c.Start.Add(time.Hour)
		}, wantResult{}},
		{"start at the farthest allowed", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(domain.MaxActivationAhead)
			c.End = c.Start.Add(time.Hour)
		}, wantResult{}},
		{"start beyond the farthest refused", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(domain.MaxActivationAhead + time.Second)
			c.End = c.Start.Add(time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.startDateTime", []string{"P30D ahead"}}},
		{"scheduled beyond the eligibility refused", func(c *domain.ActivationCheck) {
			c.EligibleUntil = t0.Add(48 * time.Hour)
			c.Start = t0.Add(48 * time.Hour)
			c.End = c.Start.Add(time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"after the eligibility ends"}}},
		{"start within 5 min clock skew allowed", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(5 * time.Minute)
			c.End = c.Start.Add(time.Hour)
		}, allowed},
		{"end before start refused", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(2 * time.Minute)
			c.End = t0.Add(time.Minute)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"ends before it starts"}}},
		{"end equal to start refused", func(c *domain.ActivationCheck) { c.End = c.Start },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"ends before it starts"}}},
		{"end already past refused", func(c *domain.ActivationCheck) {
			c.Start = t0.Add(-2 * time.Hour)
			c.End = t0.Add(-time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"ends before it starts"}}},

		// eligibility
		{"end after eligibility end refused", func(c *domain.ActivationCheck) { c.EligibleUntil = t0.Add(30 * time.Minute) },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{
				"after the eligibility ends at " + t0.Add(30*time.Minute).Format(time.RFC3339),
				t0.Add(time.Hour).Format(time.RFC3339)}}},
		{"end exactly at eligibility end allowed", func(c *domain.ActivationCheck) { c.EligibleUntil = c.End }, allowed},
		{"eligibility end later allowed", func(c *domain.ActivationCheck) { c.EligibleUntil = t0.Add(48 * time.Hour) }, allowed},

		// justification and ticket
		{"missing justification refused", func(c *domain.ActivationCheck) { c.Justification = "" },
			wantResult{domain.CodeInvalid, "justification", []string{"requires a justification"}}},
		{"whitespace-only justification refused", func(c *domain.ActivationCheck) { c.Justification = " \t\n  " },
			wantResult{domain.CodeInvalid, "justification", []string{"requires a justification"}}},
		{"missing justification allowed when not required", func(c *domain.ActivationCheck) {
			c.Policy.Activation.RequireJustification = false
			c.Justification = ""
		}, allowed},
		{"justification of 500 allowed", func(c *domain.ActivationCheck) { c.Justification = strings.Repeat("j", 500) }, allowed},
		{"justification of 501 refused", func(c *domain.ActivationCheck) { c.Justification = strings.Repeat("j", 501) },
			wantResult{domain.CodeInvalid, "justification", []string{"at most 500", "got 501"}}},
		{"too long justification refused even when not required", func(c *domain.ActivationCheck) {
			c.Policy.Activation.RequireJustification = false
			c.Justification = strings.Repeat("j", 600)
		}, wantResult{domain.CodeInvalid, "justification", []string{"at most 500"}}},
		{"missing ticket refused when required", func(c *domain.ActivationCheck) { c.Policy.Activation.RequireTicket = true },
			wantResult{domain.CodeInvalid, "ticketInfo.ticketNumber", []string{"requires a ticket number"}}},
		{"whitespace ticket refused when required", func(c *domain.ActivationCheck) {
			c.Policy.Activation.RequireTicket = true
			c.Ticket = domain.TicketInfo{Number: "   ", System: "ServiceNow"}
		}, wantResult{domain.CodeInvalid, "ticketInfo.ticketNumber", []string{"requires a ticket number"}}},
		{"ticket given when required allowed", func(c *domain.ActivationCheck) {
			c.Policy.Activation.RequireTicket = true
			c.Ticket = domain.TicketInfo{Number: "CHG0012345", System: "ServiceNow"}
		}, allowed},
		{"ticket of 100 allowed", func(c *domain.ActivationCheck) {
			c.Ticket = domain.TicketInfo{Number: strings.Repeat("t", 100), System: strings.Repeat("s", 100)}
		}, allowed},
		{"ticket number of 101 refused", func(c *domain.ActivationCheck) { c.Ticket.Number = strings.Repeat("t", 101) },
			wantResult{domain.CodeInvalid, "ticketInfo.ticketNumber", []string{"at most 100"}}},
		{"ticket system of 101 refused", func(c *domain.ActivationCheck) { c.Ticket.System = strings.Repeat("s", 101) },
			wantResult{domain.CodeInvalid, "ticketInfo.ticketSystem", []string{"at most 100"}}},

		// MFA
		{"MFA required without MFA forbidden", func(c *domain.ActivationCheck) { c.Auth.MFA = false },
			wantResult{domain.CodeForbidden, "", []string{"multi-factor authentication"}}},
		{"MFA not required without MFA allowed", func(c *domain.ActivationCheck) {
			c.Policy.Activation.RequireMFA = false
			c.Auth = domain.AuthEvidence{}
		}, allowed},
		{"stale MFA forbidden", func(c *domain.ActivationCheck) { c.Auth.AuthenticatedAt = t0.Add(-16 * time.Minute) },
			wantResult{domain.CodeForbidden, "", []string{"older than 15m0s"}}},
		{"MFA exactly at freshness allowed", func(c *domain.ActivationCheck) { c.Auth.AuthenticatedAt = t0.Add(-15 * time.Minute) }, allowed},
		{"unknown sign-in time forbidden when freshness checked", func(c *domain.ActivationCheck) { c.Auth.AuthenticatedAt = time.Time{} },
			wantResult{domain.CodeForbidden, "", []string{"older than"}}},
		{"MFAFreshness zero skips the freshness check", func(c *domain.ActivationCheck) {
			c.MFAFreshness = 0
			c.Auth.AuthenticatedAt = t0.Add(-72 * time.Hour)
		}, allowed},
		{"MFA not required skips the freshness check", func(c *domain.ActivationCheck) {
			c.Policy.Activation.RequireMFA = false
			c.Auth.AuthenticatedAt = t0.Add(-72 * time.Hour)
		}, allowed},

		// authentication context
		{"auth context missing from acrs forbidden even with MFA", func(c *domain.ActivationCheck) {
			c.Policy.Activation.AuthContext = "c1"
			c.Auth.ACRS = []string{"c2", "c3"}
		}, wantResult{domain.CodeForbidden, "", []string{`"c1"`, "authentication context"}}},
		{"auth context with no acrs forbidden", func(c *domain.ActivationCheck) {
			c.Policy.Activation.AuthContext = "c1"
			c.Auth.ACRS = nil
		}, wantResult{domain.CodeForbidden, "", []string{`"c1"`}}},
		{"auth context value must match exactly", func(c *domain.ActivationCheck) {
			c.Policy.Activation.AuthContext = "c1"
			c.Auth.ACRS = []string{"C1", "c10"}
		}, wantResult{domain.CodeForbidden, "", []string{`"c1"`}}},
		{"auth context present allowed", func(c *domain.ActivationCheck) {
			c.Policy.Activation.AuthContext = "c1"
			c.Auth.ACRS = []string{"c2", "c1"}
		}, allowed},
		{"auth context satisfied without amr mfa allowed (acrs supersedes amr)", func(c *domain.ActivationCheck) {
			c.Policy.Activation.AuthContext = "c1"
			c.Auth.ACRS = []string{"c1"}
			c.Auth.MFA = false
		}, allowed},
		{"auth context present but sign-in stale forbidden", func(c *domain.ActivationCheck) {
			c.Policy.Activation.AuthContext = "c1"
			c.Auth.ACRS = []string{"c1"}
			c.Auth.AuthenticatedAt = t0.Add(-time.Hour)
		}, wantResult{domain.CodeForbidden, "", []string{"older than 15m0s"}}},

		// order: input limits come first, then the window, then the rules
		{"too long justification reported before a permanent window", func(c *domain.ActivationCheck) {
			c.Justification = strings.Repeat("j", 501)
			c.End = time.Time{}
		}, wantResult{domain.CodeInvalid, "justification", []string{"at most 500"}}},
		{"window reported before missing MFA", func(c *domain.ActivationCheck) {
			c.Auth.MFA = false
			c.End = c.Start.Add(10 * time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration.duration", []string{"PT10H"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseActivation()
			tc.mod(&c)
			err := domain.CheckActivation(c)
			if tc.want.code == "" {
				wantNoErr(t, err)
				return
			}
			wantErr(t, err, tc.want.code, tc.want.field, tc.want.parts...)
		})
	}
}

func baseAdmin() domain.AdminCheck {
	return domain.AdminCheck{
		Rules:         domain.AdminRules{MaxDuration: 180 * 24 * time.Hour, RequireJustification: true, RequireMFA: true},
		Kind:          domain.KindAssignment,
		Now:           t0,
		Start:         t0,
		End:           t0.Add(30 * 24 * time.Hour),
		Justification: "project Phoenix on-call",
		MFA:           true,
	}
}

func TestCheckAdminAssignment(t *testing.T) {
	cases := []struct {
		name string
		mod  func(c *domain.AdminCheck)
		want wantResult
	}{
		{"baseline allowed", func(c *domain.AdminCheck) {}, allowed},
		{"permanent active refused when not allowed", func(c *domain.AdminCheck) { c.End = time.Time{} },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"does not allow permanent active assignments", "P180D"}}},
		{"permanent eligible refused when not allowed", func(c *domain.AdminCheck) {
			c.Kind = domain.KindEligibility
			c.Rules.MaxDuration = 365 * 24 * time.Hour
			c.End = time.Time{}
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"permanent eligible assignments", "P365D"}}},
		{"permanent allowed when allowed", func(c *domain.AdminCheck) {
			c.Rules.AllowPermanent = true
			c.End = time.Time{}
		}, allowed},
		{"exactly at max allowed", func(c *domain.AdminCheck) { c.End = c.Start.Add(180 * 24 * time.Hour) }, allowed},
		{"over max refused", func(c *domain.AdminCheck) { c.End = c.Start.Add(181 * 24 * time.Hour) },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"active assignments may last at most P180D"}}},
		{"over max eligible refused", func(c *domain.AdminCheck) {
			c.Kind = domain.KindEligibility
			c.End = c.Start.Add(180*24*time.Hour + time.Second)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"eligible assignments may last at most P180D"}}},
		{"over max allowed when permanent allowed", func(c *domain.AdminCheck) {
			c.Rules.AllowPermanent = true
			c.End = c.Start.Add(1000 * 24 * time.Hour)
		}, allowed},
		{"future start allowed for admins", func(c *domain.AdminCheck) {
			c.Start = t0.Add(30 * 24 * time.Hour)
			c.End = c.Start.Add(24 * time.Hour)
		}, allowed},
		{"end before start refused", func(c *domain.AdminCheck) {
			c.Start = t0.Add(48 * time.Hour)
			c.End = t0.Add(24 * time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"ends before it starts"}}},
		{"end equal to start refused", func(c *domain.AdminCheck) { c.End = c.Start },
			wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"ends before it starts"}}},
		{"end already past refused", func(c *domain.AdminCheck) {
			c.Start = t0.Add(-48 * time.Hour)
			c.End = t0.Add(-time.Hour)
		}, wantResult{domain.CodeInvalid, "scheduleInfo.expiration", []string{"ends before it starts"}}},
		{"justification required missing", func(c *domain.AdminCheck) { c.Justification = "" },
			wantResult{domain.CodeInvalid, "justification", []string{"requires a justification for active assignments"}}},
		{"justification required whitespace", func(c *domain.AdminCheck) {
			c.Kind = domain.KindEligibility
			c.Justification = "\t "
		}, wantResult{domain.CodeInvalid, "justification", []string{"requires a justification for eligible assignments"}}},
		{"justification not required", func(c *domain.AdminCheck) {
			c.Rules.RequireJustification = false
			c.Justification = ""
		}, allowed},
		{"too long justification", func(c *domain.AdminCheck) { c.Justification = strings.Repeat("x", 501) },
			wantResult{domain.CodeInvalid, "justification", []string{"at most 500"}}},
		{"too long ticket number", func(c *domain.AdminCheck) { c.Ticket.Number = strings.Repeat("x", 101) },
			wantResult{domain.CodeInvalid, "ticketInfo.ticketNumber", []string{"at most 100"}}},
		{"too long ticket system", func(c *domain.AdminCheck) { c.Ticket.System = strings.Repeat("x", 101) },
			wantResult{domain.CodeInvalid, "ticketInfo.ticketSystem", []string{"at most 100"}}},
		{"MFA required missing", func(c *domain.AdminCheck) { c.MFA = false },
			wantResult{domain.CodeForbidden, "", []string{"multi-factor authentication for active assignments"}}},
		{"MFA not required", func(c *domain.AdminCheck) {
			c.Rules.RequireMFA = false
			c.MFA = false
		}, allowed},
		{"Entra default active rules: permanent with justification", func(c *domain.AdminCheck) {
			c.Rules = domain.DefaultPolicy().Active
			c.End = time.Time{}
			c.MFA = false
		}, allowed},
		{"Entra default active rules: justification missing", func(c *domain.AdminCheck) {
			c.Rules = domain.DefaultPolicy().Active
			c.Justification = ""
		}, wantResult{domain.CodeInvalid, "justification", []string{"justification"}}},
		{"Entra default eligible rules need nothing", func(c *domain.AdminCheck) {
			c.Kind = domain.KindEligibility
			c.Rules = domain.DefaultPolicy().Eligible
			c.End, c.Justification, c.MFA = time.Time{}, "", false
		}, allowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseAdmin()
			tc.mod(&c)
			err := domain.CheckAdminAssignment(c)
			if tc.want.code == "" {
				wantNoErr(t, err)
				return
			}
			wantErr(t, err, tc.want.code, tc.want.field, tc.want.parts...)
		})
	}
}

// TestOverMaxMessageRoundsToTheMax: a window a few seconds over the
// maximum is refused (correctly), but the message rounds the asked duration
// to the minute and then says "PT8H is longer than this role's maximum
// activation of PT8H", which tells the caller nothing.
func TestOverMaxMessageRoundsToTheMax(t *testing.T) {
	c := baseActivation()
	c.End = c.Start.Add(8*time.Hour + 10*time.Second)
	err := domain.CheckActivation(c)
	wantErr(t, err, domain.CodeInvalid, "scheduleInfo.expiration.duration", "maximum activation of PT8H")
	var de *domain.Error
	if errors.As(err, &de) && strings.HasPrefix(de.Message, "scheduleInfo.expiration.duration: PT8H is longer") {
		t.Errorf("message %q claims the asked duration equals the maximum it exceeds", de.Message)
	}
}

// TestJustificationLimitCountsBytes: the limit and its message speak of
// characters, but len() counts UTF-8 bytes, so 200 CJK characters (600 bytes)
// are refused with "at most 500 characters, got 600".
func TestJustificationLimitCountsBytes(t *testing.T) {
	c := baseActivation()
	c.Justification = strings.Repeat("障", 200) // 200 characters, 600 bytes
	if err := domain.CheckActivation(c); err != nil {
		t.Errorf("a 200-character justification was refused: %v", err)
	}
}
