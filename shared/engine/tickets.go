package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// validateTicket asks the ticket system to confirm the ticket a request
// cites, and checks that the ticket names the requester, comparing object
// ids resolved through the directory, never names. A ticket is validated
// when the policy demands it, when it came from the ticket system itself
// (force), or whenever a ticket system is configured and the ticket is one
// of its own; other tickets stay free text, as in Entra.
func (e *Engine) validateTicket(ctx context.Context, r *domain.Request, p domain.Policy, start, end time.Time, force bool) error {
	must := p.Activation.ValidateTicket || force
	if r.Ticket.Number == "" {
		if must {
			return domain.Invalid("ticketInfo.ticketNumber", "this role requires a ticket that jitpim can validate")
		}
		return nil
	}
	if e.tickets == nil {
		if must {
			return domain.Errorf(domain.CodeForbidden, "this role requires a validated ticket, but no ticket system is configured")
		}
		return nil
	}
	if !must && r.Ticket.System != "" && !strings.EqualFold(r.Ticket.System, "ServiceNow") {
		return nil
	}
	chk, err := e.tickets.CheckTicket(ctx, r.Ticket, start, end)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code != domain.CodeInternal && de.Code != domain.CodeTransient && !strings.Contains(de.Message, r.Ticket.Number) {
			return &domain.Error{Code: de.Code, Field: de.Field, Message: "ticket " + r.Ticket.Number + ": " + de.Message, Cause: err}
		}
		return err
	}
	named := false
	for _, name := range chk.Requesters {
		if u, err := e.dir.FindUser(ctx, name); err == nil && u.ID == r.PrincipalID {
			named = true
			break
		}
	}
	if !named {
		return domain.Errorf(domain.CodeForbidden, "ticket %s does not name %s as its caller, requester or assignee", chk.Number, e.Names().Person(ctx, r.PrincipalID))
	}
	r.Ticket = domain.TicketInfo{Number: chk.Number, System: chk.System, Table: chk.Table, SysID: chk.SysID, Validated: true}
	return nil
}

// confirmationStage is the id of the requester's confirmation stage.
const confirmationStage = "confirm"

// confirmationApproval puts the requester's confirmation before any
// approval stages the policy has.
func confirmationApproval(p domain.Policy, requester domain.ObjectID, now time.Time) *domain.Approval {
	a := &domain.Approval{Stages: []domain.ApprovalStage{{ID: confirmationStage, Approvers: []domain.Approver{{Kind: domain.ApproverUser, ID: requester}},
		Confirmation: true, TimeoutDays: 1, Status: domain.StageNotStarted, ReviewResult: domain.ReviewNotReviewed}}}
	if more := domain.NewApproval(p, now); more != nil {
		for _, st := range more.Stages {
			st.Status, st.TimeoutAt, st.EscalateAt = domain.StageNotStarted, time.Time{}, time.Time{}
			a.Stages = append(a.Stages, st)
		}
	}
	a.StartStage(0, now)
	return a
}

// TicketRequest is an access request a ticket system sent.
type TicketRequest struct {
	Number, SysID, Table string
	Activate             bool // false = deactivate
	Requester            string
	Target               domain.Target
	Duration             time.Duration // 0 = the policy's maximum
	Justification        string
}

// SubmitTicket carries out a ticket system's request for a requester. The
// requester's name becomes an object id through the directory; the ticket
// is validated; a retry with the same ticket and action returns the first
// request. When the role asks for MFA the request waits for the requester
// to confirm with a fresh MFA sign-in through the link jitpim mails.
func (e *Engine) SubmitTicket(ctx context.Context, c *Call, in TicketRequest) (domain.Request, error) {
	if e.tickets == nil {
		return domain.Request{}, domain.Errorf(domain.CodeForbidden, "no ticket system is configured")
	}
	ref := domain.TicketCheck{System: "ServiceNow", Table: in.Table, Number: in.Number, SysID: in.SysID}
	action := domain.ActionSelfDeactivate
	if in.Activate {
		action = domain.ActionSelfActivate
	}
	id := RequestID("servicenow", in.SysID+"|"+string(action))
	refuse := func(err error) (domain.Request, error) {
		// A concurrent delivery of the same webhook may have won the race
		// after our first look (ours then meets its request or its grant):
		// a retry gets the first request, never an error.
		if prev, gerr := e.store.GetRequest(ctx, id); gerr == nil {
			return prev, nil
		}
		msg := err.Error()
		var de *domain.Error
		if errors.As(err, &de) && de.Code != domain.CodeInternal {
			msg = de.Message
		}
		if nerr := e.tickets.AddNote(ctx, ref, "jitpim: refused: "+msg); nerr != nil {
			c.Log.WarnContext(ctx, "writing the ticket's work note failed", "ticket", in.Number, "error", nerr)
		}
		return domain.Request{}, err
	}
	if err := in.Target.Validate(); err != nil {
		return refuse(err)
	}
	if prev, err := e.store.GetRequest(ctx, id); err == nil {
		return prev, nil // a retried webhook
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return domain.Request{}, err
	}
	u, err := e.dir.FindUser(ctx, in.Requester)
	if domain.IsCode(err, domain.CodeNotFound) {
		return refuse(domain.Errorf(domain.CodeNotFound, "the requester %s is not an account in Entra ID", in.Requester))
	} else if err != nil {
		return domain.Request{}, err
	}
	if e.isBreakGlass(u.ID) {
		return refuse(domain.Errorf(domain.CodeForbidden, "%s is a break-glass account: jitpim never manages its access", in.Requester))
	}
	rc := *c
	rc.Caller = Caller{ID: u.ID, Name: u.DisplayName}
	rc.Log = c.Log.With("request_id", id, "principal_id", u.ID, "ticket", in.Number)
	r := domain.Request{ID: id, Kind: domain.KindAssignment, Action: action, PrincipalID: u.ID, Target: in.Target,
		Justification: in.Justification, Ticket: domain.TicketInfo{Number: in.Number, System: "ServiceNow"}, Status: domain.StatusNew,
		CreatedBy: u.ID, CreatedAt: c.Now}
	if !in.Activate {
		// The same ticket rules as activation: the ticket must exist, be
		// open and name the requester, or a stranger's ticket could end
		// someone's access and take a work note on a ticket not theirs.
		p, err := e.EffectivePolicy(ctx, in.Target)
		if err != nil {
			return domain.Request{}, err
		}
		// A deactivation asks for no window: the ticket must cover the minute it is made in.
		if err := e.validateTicket(ctx, &r, p, c.Now, c.Now.Add(time.Minute), true); err != nil {
			return refuse(err)
		}
		if !strings.EqualFold(r.Ticket.SysID, in.SysID) {
			return refuse(domain.Errorf(domain.CodeForbidden, "sys_id %s is not the sys_id of ticket %s", in.SysID, in.Number))
		}
		if err := e.remove(ctx, &rc, &r, false); err != nil {
			return refuse(err)
		}
		e.notify().TicketNote(ctx, &rc, r, "deactivated "+e.Names().Target(ctx, r.Target))
		c.queued = append(c.queued, rc.queued...)
		return r, nil
	}
	d := in.Duration
	if d <= 0 {
		p, err := e.EffectivePolicy(ctx, in.Target)
		if err != nil {
			return domain.Request{}, err
		}
		d = p.Activation.MaxDuration
	}
	r.Schedule = domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: d}
	p, err := e.prepareActivation(ctx, &rc, &r, domain.AuthEvidence{}, true)
	if err != nil {
		return refuse(err)
	}
	if !strings.EqualFold(r.Ticket.SysID, in.SysID) {
		return refuse(domain.Errorf(domain.CodeForbidden, "sys_id %s is not the sys_id of ticket %s", in.SysID, in.Number))
	}
	err = e.openActivation(ctx, &rc, &r, p, false, domain.NeedsStepUp(p.Activation))
	c.queued = append(c.queued, rc.queued...)
	if err != nil {
		return refuse(err)
	}
	return r, nil
}
