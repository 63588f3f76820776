package engine

import (
	"context"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
)

// GetApproval returns the approval of a request, to its requester, its
// approvers and admins.
func (e *Engine) GetApproval(ctx context.Context, c *Call, id string) (domain.Request, error) {
	r, err := e.store.GetRequest(ctx, id)
	if err != nil || r.Approval == nil {
		return domain.Request{}, domain.Errorf(domain.CodeNotFound, "approval %s does not exist", id)
	}
	if r.PrincipalID == c.Caller.ID || r.CreatedBy == c.Caller.ID || e.isApproverOfAny(ctx, c, r) {
		return r, nil
	}
	if ok, err := e.IsAdmin(ctx, c); err != nil {
		return domain.Request{}, err
	} else if !ok {
		return domain.Request{}, domain.Errorf(domain.CodeNotFound, "approval %s does not exist", id)
	}
	return r, nil
}

// IsApprover reports whether the caller may decide the stage. A stage that
// names nobody falls to the admins (Global and Privileged Role
// Administrators), as in Entra.
func (e *Engine) IsApprover(ctx context.Context, c *Call, s domain.ApprovalStage) (bool, error) {
	approvers := s.AllApprovers()
	if len(approvers) == 0 {
		return e.IsAdmin(ctx, c)
	}
	for _, a := range approvers {
		switch a.Kind {
		case domain.ApproverUser:
			if a.ID == c.Caller.ID {
				return true, nil
			}
		case domain.ApproverGroup:
			in, err := e.dir.IsMemberOf(ctx, c.Caller.ID, a.ID)
			if err != nil {
				return false, err
			}
			if in {
				return true, nil
			}
		}
	}
	return false, nil
}

func (e *Engine) isApproverOfAny(ctx context.Context, c *Call, r domain.Request) bool {
	if r.Approval == nil {
		return false
	}
	for _, s := range r.Approval.Stages {
		if ok, err := e.IsApprover(ctx, c, s); err == nil && ok {
			return true
		}
	}
	return false
}

// Decision is an approver's answer to one stage.
type Decision struct {
	StageID       string
	Result        string // Approve or Deny, any case
	Justification string
}

// DecisionStepUp is the sign-in that deciding stage st of r asks of the
// caller (a confirmation: the activation's MFA or authentication context;
// an approval: MFA when Config.ApproverMFA), and refused, the refusal
// Decide gives the caller's current sign-in (nil when it suffices). Pages
// use it to send a person through step-up before they show the form.
func (e *Engine) DecisionStepUp(ctx context.Context, c *Call, r domain.Request, st domain.ApprovalStage) (need domain.StepUp, refused, err error) {
	if st.Confirmation {
		p, err := e.EffectivePolicy(ctx, r.Target)
		if err != nil {
			return domain.StepUp{}, nil, err
		}
		return domain.StepUpOf(p.Activation), domain.CheckStepUp(p.Activation, c.Caller.Auth, c.Now, e.cfg.MFAFreshness), nil
	}
	if st.AdminDecision {
		// Extending or renewing someone's access is an admin write.
		return domain.StepUp{MFA: e.cfg.AdminMFA}, e.RequireAdminWrite(ctx, c, "deciding an extension or renewal"), nil
	}
	need = domain.StepUp{MFA: e.cfg.ApproverMFA}
	if need.MFA && !c.Caller.Auth.MFA {
		return need, domain.Errorf(domain.CodeForbidden, "approvers must sign in with multi-factor authentication"), nil
	}
	return need, nil, nil
}

// Decide records an approver's decision. The first decision settles a
// stage; a Deny ends the request; approving the last stage grants it. The
// requester's account and eligibility are checked again before an approval
// counts. Concurrent decisions race on the request's version: one wins, the
// others are told it was already decided.
func (e *Engine) Decide(ctx context.Context, c *Call, approvalID string, d Decision) (domain.Request, error) {
	result := ""
	switch {
	case domain.EnumMatches(domain.ReviewApprove, d.Result):
		result = domain.ReviewApprove
	case domain.EnumMatches(domain.ReviewDeny, d.Result):
		result = domain.ReviewDeny
	default:
		return domain.Request{}, domain.Invalid("reviewResult", "must be Approve or Deny, got %q", d.Result)
	}
	if len(d.Justification) > domain.MaxJustification {
		return domain.Request{}, domain.Invalid("justification", "at most %d characters", domain.MaxJustification)
	}
	c.Log = c.Log.With("request_id", approvalID)
	var r domain.Request
	err := Retry(func() error {
		var err error
		r, err = e.store.GetRequest(ctx, approvalID)
		if err != nil || r.Approval == nil {
			return domain.Errorf(domain.CodeNotFound, "approval %s does not exist", approvalID)
		}
		i, ok := r.Approval.StageByID(d.StageID)
		if !ok {
			return domain.Errorf(domain.CodeNotFound, "approval %s has no stage %s", approvalID, d.StageID)
		}
		st := &r.Approval.Stages[i]
		if st.Confirmation {
			// The requester's own confirmation of a ticket-originated activation.
			if c.Caller.ID != r.PrincipalID {
				return domain.Errorf(domain.CodeForbidden, "only the requester can confirm this activation")
			}
		} else {
			if c.Caller.ID == r.PrincipalID || c.Caller.ID == r.CreatedBy {
				return domain.Errorf(domain.CodeForbidden, "you cannot approve your own request")
			}
			if ok, err := e.IsApprover(ctx, c, *st); err != nil {
				return err
			} else if !ok {
				return domain.Errorf(domain.CodeForbidden, "you are not an approver of this stage")
			}
		}
		if !r.AwaitsDecision() || (st.Status != domain.StageInProgress && st.Status != domain.StageEscalated) {
			if st.ReviewResult != domain.ReviewNotReviewed {
				return domain.Errorf(domain.CodeConflict, "this stage was already decided: %s by %s", st.ReviewResult, st.ReviewedBy)
			}
			return domain.Errorf(domain.CodeConflict, "this stage is not open for decisions; the request is %s", r.Status)
		}
		if _, refused, err := e.DecisionStepUp(ctx, c, r, *st); err != nil {
			return err
		} else if refused != nil {
			return refused
		}
		if st.ApproverJustificationRequired && strings.TrimSpace(d.Justification) == "" {
			return domain.Invalid("justification", "this stage requires the approver's justification")
		}
		st.Status, st.ReviewResult, st.ReviewedBy, st.ReviewedAt, st.Justification = domain.StageCompleted, result, c.Caller.ID, c.Now, d.Justification
		ev, reason := domain.EvDeny, "denied by "+e.Names().Person(ctx, c.Caller.ID)
		if result == domain.ReviewApprove {
			// Re-check: the account may be disabled or the eligibility gone since the request.
			if err := e.activeUser(ctx, r.PrincipalID); err != nil {
				if domain.IsCode(err, domain.CodeTransient) {
					return err
				}
				ev, reason = domain.EvFail, err.Error()
			} else if st.AdminDecision {
				ev, reason, err = e.adminDecisionGrant(ctx, c, &r)
				if err != nil {
					return err
				}
			} else if _, err := e.eligibilityNow(ctx, c, r.PrincipalID, r.Target); err != nil {
				if domain.IsCode(err, domain.CodeTransient) {
					return err
				}
				ev, reason = domain.EvFail, "eligibility ended before approval"
			} else if i+1 < len(r.Approval.Stages) {
				r.Approval.StartStage(i+1, c.Now)
				ev, reason = domain.EvStageApproved, ""
			} else {
				ev, reason = domain.EvGrant, ""
				r.StartAt, r.EndAt = r.ApprovedWindow(c.Now)
			}
		}
		if err := r.Apply(ev, c.Now, reason); err != nil {
			return err
		}
		outcome := "success"
		if r.Status == domain.StatusFailed {
			outcome = "failure"
		}
		rec := e.Stamp(c, domain.AuditRecord{Action: "approval.decide", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID,
			Outcome: outcome, Reason: d.Justification, Details: map[string]string{"stage": d.StageID, "result": result, "status": string(r.Status)}})
		return Stale(e.store.UpdateRequest(ctx, &r, rec))
	})
	if err != nil {
		return domain.Request{}, err
	}
	c.Log.InfoContext(ctx, "approval decided", "stage", d.StageID, "result", result, "status", r.Status)
	switch r.Status {
	case domain.StatusGranted:
		if err := e.provision(ctx, c, &r); err != nil {
			return r, err
		}
		if r.Status == domain.StatusProvisioned {
			e.notify().Decision(ctx, c, r, notify.Approved, d.Justification)
		}
	case domain.StatusDenied:
		e.notify().Decision(ctx, c, r, notify.Denied, d.Justification)
		e.notify().TicketNote(ctx, c, r, "denied by "+e.Names().Person(ctx, c.Caller.ID))
	case domain.StatusPendingApproval:
		e.notify().Approvers(ctx, c, r) // the next stage's approvers
		e.notify().Pending(ctx, c, r)
	}
	return r, nil
}

// PendingApprovals lists requests waiting on a stage the caller may decide.
func (e *Engine) PendingApprovals(ctx context.Context, c *Call, kind domain.RequestKind) ([]domain.Request, error) {
	q := domain.RequestQuery{Kind: kind, Statuses: []domain.Status{domain.StatusPendingApproval, domain.StatusPendingAdminDecision}, Limit: 200}
	var out []domain.Request
	for {
		p, err := e.store.ListRequests(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Items {
			i := r.Approval.Current()
			if i < 0 || r.PrincipalID == c.Caller.ID || r.CreatedBy == c.Caller.ID {
				continue
			}
			if ok, err := e.IsApprover(ctx, c, r.Approval.Stages[i]); err != nil {
				return nil, err
			} else if ok {
				out = append(out, r)
			}
		}
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}
