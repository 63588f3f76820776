package portal

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// extensionView is what an administrator deciding a selfExtend or
// selfRenew is shown besides who and what: the end now, and the end asked for.
type extensionView struct {
	Asks                     string
	CurrentEnd, RequestedEnd *when
	Ended                    bool // a renewal: nothing runs now
}

// pendingDecisions is the inbox: activations waiting on the caller as an
// approver, then the extensions and renewals of eligibilities and active
// assignments waiting on the caller as an administrator.
func (p *Portal) pendingDecisions(v *visit) ([]domain.Request, error) {
	ctx := v.r.Context()
	list, err := p.eng.PendingApprovals(ctx, v.call, domain.KindAssignment)
	if err != nil {
		return nil, err
	}
	elig, err := p.eng.PendingApprovals(ctx, v.call, domain.KindEligibility)
	return append(list, elig...), err
}

// extension describes an extension or renewal request for its decider;
// nil for anything else.
func (p *Portal) extension(ctx context.Context, c *engine.Call, r domain.Request, st domain.ApprovalStage) *extensionView {
	if !st.AdminDecision {
		return nil
	}
	what := "active assignment"
	if r.Kind == domain.KindEligibility {
		what = "eligibility"
	}
	x := &extensionView{Asks: "Extend the " + what, RequestedEnd: at(r.EndAt), Ended: true}
	if r.Action == domain.ActionSelfRenew {
		x.Asks = "Renew the " + what + ", which has ended"
		return x
	}
	page, err := p.eng.ListSchedules(ctx, c, engine.ScheduleFilter{Kind: r.Kind, PrincipalID: r.PrincipalID,
		Match: func(t domain.Target) bool { return t == r.Target }, Limit: 100})
	if err != nil {
		return x
	}
	for _, s := range page.Items {
		if s.ID == r.TargetScheduleID {
			x.CurrentEnd, x.Ended = at(s.End), false
		}
	}
	return x
}
