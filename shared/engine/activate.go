package engine

import (
	"context"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func (e *Engine) selfActivate(ctx context.Context, c *Call, r *domain.Request, validationOnly bool) error {
	p, err := e.prepareActivation(ctx, c, r, c.Caller.Auth, false)
	if err != nil {
		return err
	}
	return e.openActivation(ctx, c, r, p, validationOnly, false)
}

// prepareActivation runs every activation check: account, eligibility,
// policy rules, ticket, and no activation already running. With
// deferStepUp the sign-in rule is left for the requester's confirmation (a
// ticket-originated request has no sign-in yet).
func (e *Engine) prepareActivation(ctx context.Context, c *Call, r *domain.Request, auth domain.AuthEvidence, deferStepUp bool) (domain.Policy, error) {
	if err := e.activeUser(ctx, r.PrincipalID); err != nil {
		return domain.Policy{}, err
	}
	elig, err := e.eligibilityNow(ctx, c, r.PrincipalID, r.Target)
	if err != nil {
		return domain.Policy{}, err
	}
	// Before the rules: "you already hold this outside jitpim" is the answer
	// that matters, whatever else the request lacks.
	if err := e.refuseOutsideAccess(ctx, c, r.PrincipalID, r.Target); err != nil {
		return domain.Policy{}, err
	}
	p, err := e.policyFor(ctx, r.Target)
	if err != nil {
		return domain.Policy{}, err
	}
	checked := p
	if deferStepUp {
		checked.Activation.RequireMFA, checked.Activation.AuthContext = false, ""
	}
	start, end := r.Schedule.Window(c.Now)
	if err := domain.CheckActivation(domain.ActivationCheck{
		Policy: checked, Now: c.Now, Start: start, End: end, Justification: r.Justification, Ticket: r.Ticket,
		Auth: auth, MFAFreshness: e.cfg.MFAFreshness, EligibleUntil: elig.End, MinDuration: e.cfg.MinActivation,
	}); err != nil {
		return domain.Policy{}, err
	}
	if err := e.validateTicket(ctx, r, p, start, end, deferStepUp); err != nil {
		return domain.Policy{}, err
	}
	// The grant as refuseOutsideAccess read it: one read serves both checks.
	if g, found, err := e.grant(ctx, c, r.PrincipalID, r.Target); err != nil {
		return domain.Policy{}, err
	} else if h, ok := g.LiveActivation(c.Now); found && ok {
		return domain.Policy{}, domain.Errorf(domain.CodeConflict, "%s is already active until %s; deactivate it first or wait for it to end",
			e.Names().Target(ctx, r.Target), h.End.UTC().Format(time.RFC3339))
	}
	if start.After(c.Now) {
		if err := e.refuseOverlappingActivation(ctx, c, r, start, end); err != nil {
			return domain.Policy{}, err
		}
	}
	if p, err = e.resolveResourceOwners(ctx, r, p); err != nil {
		return domain.Policy{}, err
	}
	r.StartAt, r.EndAt, r.EligibilityScheduleID = start, end, elig.ID
	c.markChecked(r.ID)
	return p, nil
}

// openActivation stores a checked activation and moves it on: to the
// requester's confirmation, to approval, or straight to the grant.
func (e *Engine) openActivation(ctx context.Context, c *Call, r *domain.Request, p domain.Policy, validationOnly, confirm bool) error {
	ev := domain.EvGrant
	switch {
	case confirm:
		r.Approval, ev = confirmationApproval(p, r.PrincipalID, c.Now), domain.EvNeedApproval
	case p.Activation.ApprovalRequired:
		r.Approval, ev = domain.NewApproval(p, c.Now), domain.EvNeedApproval
	}
	if stored, err := e.accept(ctx, c, r, ev, validationOnly); !stored {
		return err
	}
	if r.Status == domain.StatusGranted {
		return e.provision(ctx, c, r)
	}
	e.notify().Approvers(ctx, c, *r)
	e.notify().Pending(ctx, c, *r)
	return nil
}
