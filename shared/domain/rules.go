package domain

import (
	"slices"
	"strings"
	"time"
)

// Input limits, so a request fits one storage entity and a mail.
const (
	MaxJustification = 500
	MaxTicketNumber  = 100
	MaxTicketSystem  = 100
)

// DefaultMinActivation is the shortest activation or active assignment
// jitpim grants unless configured otherwise (JITPIM_MIN_ACTIVATION). A
// window shorter than the sweep's period would grant access that ends
// before anything can see it; a zero-length one grants and never lists it.
const DefaultMinActivation = 5 * time.Minute

// StartWindow bounds scheduleInfo.startDateTime around now: a start more
// than StartSlack in the past is refused (a client's clock a little behind
// is fine; access is never backdated further), as is one more than
// MaxScheduleAhead ahead, or MaxActivationAhead for an activation (it is
// checked against an eligibility and a ticket as they are now).
const (
	StartSlack         = 5 * time.Minute
	MaxScheduleAhead   = 365 * 24 * time.Hour
	MaxActivationAhead = 30 * 24 * time.Hour
)

// CheckStart refuses a requested start outside the sane window around now.
// A zero start means "now".
func CheckStart(start, now time.Time) error {
	if start.IsZero() {
		return nil
	}
	if start.Before(now.Add(-StartSlack)) {
		return Invalid("scheduleInfo.startDateTime", "%s is more than %s in the past; leave it out to start now", start.UTC().Format(time.RFC3339), FormatISODuration(StartSlack))
	}
	if start.After(now.Add(MaxScheduleAhead)) {
		return Invalid("scheduleInfo.startDateTime", "%s is more than a year ahead", start.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckMinLength refuses an access window shorter than min.
func CheckMinLength(field string, start, end time.Time, min time.Duration) error {
	if !end.IsZero() && end.Sub(start) < min {
		return Invalid(field, "%s is shorter than the minimum of %s", FormatISODuration(end.Sub(start).Truncate(time.Second)), FormatISODuration(min))
	}
	return nil
}

// AuthEvidence is what a verified token says about how the caller signed in.
type AuthEvidence struct {
	MFA             bool
	ACRS            []string
	AuthenticatedAt time.Time
}

// ActivationCheck is everything the activation rules look at.
type ActivationCheck struct {
	Policy        Policy
	Now           time.Time
	Start, End    time.Time
	Justification string
	Ticket        TicketInfo
	Auth          AuthEvidence
	MFAFreshness  time.Duration // how old an MFA sign-in may be
	EligibleUntil time.Time     // zero = permanently eligible
	MinDuration   time.Duration // the shortest activation granted
}

// CheckActivation applies a policy's end-user rules to an activation or
// its extension. Each refusal names the field or rule at fault.
func CheckActivation(c ActivationCheck) error {
	a := c.Policy.Activation
	if err := checkText(c.Justification, c.Ticket); err != nil {
		return err
	}
	if c.End.IsZero() {
		return Invalid("scheduleInfo.expiration", "an activation must end: give type afterDuration (at most %s) or afterDateTime", FormatISODuration(a.MaxDuration))
	}
	if c.Start.After(c.Now.Add(MaxActivationAhead)) {
		return Invalid("scheduleInfo.startDateTime", "%s is more than %s ahead: an activation is scheduled at most that far", c.Start.UTC().Format(time.RFC3339), FormatISODuration(MaxActivationAhead))
	}
	if !c.End.After(c.Now) || !c.End.After(c.Start) {
		return Invalid("scheduleInfo.expiration", "the activation ends before it starts")
	}
	if err := CheckMinLength("scheduleInfo.expiration", c.Start, c.End, c.MinDuration); err != nil {
		return err
	}
	maxDur := a.MaxDuration
	if c.Policy.Target.Kind == TargetGroup && maxDur > MaxGroupActivation {
		maxDur = MaxGroupActivation // a tier or default policy may allow more than groups take
	}
	if d := c.End.Sub(c.Start); d > maxDur {
		return Invalid("scheduleInfo.expiration.duration", "%s is longer than this role's maximum activation of %s", FormatISODuration(d), FormatISODuration(maxDur))
	}
	if !c.EligibleUntil.IsZero() && c.End.After(c.EligibleUntil) {
		return Invalid("scheduleInfo.expiration", "the activation would end at %s, after the eligibility ends at %s", c.End.UTC().Format(time.RFC3339), c.EligibleUntil.UTC().Format(time.RFC3339))
	}
	if a.RequireJustification && strings.TrimSpace(c.Justification) == "" {
		return Invalid("justification", "this role requires a justification to activate")
	}
	if a.RequireTicket && strings.TrimSpace(c.Ticket.Number) == "" {
		return Invalid("ticketInfo.ticketNumber", "this role requires a ticket number to activate")
	}
	return CheckStepUp(a, c.Auth, c.Now, c.MFAFreshness)
}

// NeedsStepUp reports whether activation asks for MFA or an auth context.
func NeedsStepUp(a ActivationRules) bool { return a.RequireMFA || a.AuthContext != "" }

// StepUp is what a sign-in must show before an action is offered: MFA, or
// a Conditional Access authentication context (which satisfies MFA when
// the context demands it). Pages send a person through a fresh sign-in
// asking for it before they show a form, rather than refuse it after.
type StepUp struct {
	MFA         bool
	AuthContext string
}

// Needed reports whether any step-up is asked for.
func (s StepUp) Needed() bool { return s.MFA || s.AuthContext != "" }

// StepUpOf is the step-up the activation rules ask for.
func StepUpOf(a ActivationRules) StepUp { return StepUp{MFA: a.RequireMFA, AuthContext: a.AuthContext} }

// CheckStepUp applies the activation's sign-in rules: the Conditional
// Access authentication context when the policy names one, else MFA, in
// both cases from a sign-in younger than freshness (0 = any age).
func CheckStepUp(a ActivationRules, auth AuthEvidence, now time.Time, freshness time.Duration) error {
	if a.AuthContext != "" {
		if !slices.Contains(auth.ACRS, a.AuthContext) {
			return Errorf(CodeForbidden, "this role requires Conditional Access authentication context %q: sign in again to satisfy it", a.AuthContext)
		}
	} else if a.RequireMFA {
		if !auth.MFA {
			return Errorf(CodeForbidden, "this role requires multi-factor authentication to activate: sign in again with MFA")
		}
	} else {
		return nil
	}
	if freshness > 0 && now.Sub(auth.AuthenticatedAt) > freshness {
		return Errorf(CodeForbidden, "your sign-in is older than %s: sign in again with MFA to activate", freshness)
	}
	return nil
}

func checkText(justification string, t TicketInfo) error {
	if err := CheckText("justification", justification, MaxJustification, true); err != nil {
		return err
	}
	if err := CheckText("ticketInfo.ticketNumber", t.Number, MaxTicketNumber, false); err != nil {
		return err
	}
	return CheckText("ticketInfo.ticketSystem", t.System, MaxTicketSystem, false)
}

// AdminCheck is what the admin assignment rules look at.
type AdminCheck struct {
	Rules         AdminRules
	Kind          RequestKind
	Now           time.Time
	Start, End    time.Time
	Justification string
	Ticket        TicketInfo
	MFA           bool
	MinDuration   time.Duration // the shortest active assignment granted
}

// CheckAdminAssignment applies the Expiration_Admin_* and Enablement_Admin_*
// rules to an administrator's assignment.
func CheckAdminAssignment(c AdminCheck) error {
	if err := checkText(c.Justification, c.Ticket); err != nil {
		return err
	}
	what := "active"
	if c.Kind == KindEligibility {
		what = "eligible"
	}
	if c.End.IsZero() {
		if !c.Rules.AllowPermanent {
			return Invalid("scheduleInfo.expiration", "this policy does not allow permanent %s assignments: give an end within %s", what, FormatISODuration(c.Rules.MaxDuration))
		}
	} else {
		if !c.End.After(c.Start) || !c.End.After(c.Now) {
			return Invalid("scheduleInfo.expiration", "the assignment ends before it starts")
		}
		if c.Kind == KindAssignment {
			if err := CheckMinLength("scheduleInfo.expiration", c.Start, c.End, c.MinDuration); err != nil {
				return err
			}
		}
		if !c.Rules.AllowPermanent && c.End.Sub(c.Start) > c.Rules.MaxDuration {
			return Invalid("scheduleInfo.expiration", "%s assignments may last at most %s", what, FormatISODuration(c.Rules.MaxDuration))
		}
	}
	if c.Rules.RequireJustification && strings.TrimSpace(c.Justification) == "" {
		return Invalid("justification", "this policy requires a justification for %s assignments", what)
	}
	if c.Rules.RequireMFA && !c.MFA {
		return Errorf(CodeForbidden, "this policy requires multi-factor authentication for %s assignments", what)
	}
	return nil
}

// RetryBackoff is how long jitpim waits before the next attempt of a
// failing outside call it retries (a directory change, a mail): a minute,
// doubling per attempt, at most an hour.
func RetryBackoff(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
