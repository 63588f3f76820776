package domain

import "time"

// ExtendWindow is how long before its end an assignment may be extended by
// its holder, as in Entra: selfExtend is offered only in the last 14 days,
// so nobody asks for more time on access they will hold for months yet.
const ExtendWindow = 14 * 24 * time.Hour

// AdminDecisionDays is how long a self-extend or self-renew request waits
// for an administrator before the sweep cancels it.
const AdminDecisionDays = 14

// ExtendOffered reports whether the holder of s may ask to extend it at
// now: it is live, not permanent, not an activation, and ends within
// ExtendWindow.
func ExtendOffered(s Schedule, now time.Time) bool {
	return s.Live(now) && !s.Permanent() && s.AssignmentType != AssignmentActivated && s.End.Sub(now) <= ExtendWindow
}

// CheckSelfExtend refuses a selfExtend of s at now that Entra would not
// offer, naming the action as the field at fault.
func CheckSelfExtend(s Schedule, now time.Time) error {
	switch {
	case s.AssignmentType == AssignmentActivated:
		return Invalid("action", "an activation cannot be extended: activate again when it ends")
	case s.Permanent():
		return Invalid("action", "this assignment is permanent: there is nothing to extend")
	case !s.Live(now):
		return Invalid("action", "this assignment has ended: ask for selfRenew instead")
	case !ExtendOffered(s, now):
		return Invalid("action", "an assignment can be extended only in the last %d days before it ends; this one ends %s, so ask from %s",
			int(ExtendWindow/(24*time.Hour)), s.End.UTC().Format(time.RFC3339), s.End.Add(-ExtendWindow).UTC().Format(time.RFC3339))
	}
	return nil
}

// NewAdminDecision is the approval a selfExtend or selfRenew request waits
// on: one stage naming nobody, so jitpim's administrators decide it (with
// MFA, as every admin write) and give their reason, through the same
// approval resource as activations.
func NewAdminDecision(now time.Time) *Approval {
	a := &Approval{Stages: []ApprovalStage{{ID: "admin", AdminDecision: true, ApproverJustificationRequired: true,
		TimeoutDays: AdminDecisionDays, Status: StageNotStarted, ReviewResult: ReviewNotReviewed}}}
	a.StartStage(0, now)
	return a
}

// AwaitsDecision reports whether the request waits on an approval stage:
// an activation's approvers, or an administrator's extend/renew decision.
func (r Request) AwaitsDecision() bool {
	return r.Approval != nil && (r.Status == StatusPendingApproval || r.Status == StatusPendingAdminDecision)
}

// DefaultExtensionEnd is the end a selfExtend asks for when it names none
// (the portal's Extend): the assignment's length again, at most as long
// from its start as the rules allow.
func DefaultExtensionEnd(s Schedule, rules AdminRules) time.Time {
	end := s.End.Add(s.End.Sub(s.Start))
	if !rules.AllowPermanent && rules.MaxDuration > 0 && end.Sub(s.Start) > rules.MaxDuration {
		end = s.Start.Add(rules.MaxDuration)
	}
	return end
}

// DefaultRenewalEnd is the end a selfRenew asks for when it names none
// (the portal's Renew): permanent where the rules allow it, else as long
// from start as they allow.
func DefaultRenewalEnd(start time.Time, rules AdminRules) time.Time {
	if rules.AllowPermanent || rules.MaxDuration <= 0 {
		return time.Time{}
	}
	return start.Add(rules.MaxDuration)
}

// LastMoved is when the request was created or last decided, whichever is
// later: a request granted by a decision just now is still being carried
// out by its decider, however long ago it was asked for.
func (r Request) LastMoved() time.Time {
	t := r.CreatedAt
	if r.Approval != nil {
		for _, st := range r.Approval.Stages {
			if st.ReviewedAt.After(t) {
				t = st.ReviewedAt
			}
		}
	}
	return t
}
