package engine

import (
	"context"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// CheckActivationTicket answers what an activation of t for d by the
// caller would say of ticket number: the ticket as it would be recorded
// (Validated when the ticket system confirmed it), or the refusal with its
// reason. It runs the activation's own ticket rule (validateTicket) over
// the window the activation would ask for, and changes nothing, so the
// portal can check a ticket while the requester types.
func (e *Engine) CheckActivationTicket(ctx context.Context, c *Call, t domain.Target, number string, d time.Duration) (domain.TicketInfo, error) {
	ticket := domain.TicketInfo{Number: strings.TrimSpace(number), System: "ServiceNow"}
	if err := domain.CheckText("ticketInfo.ticketNumber", ticket.Number, domain.MaxTicketNumber, false); err != nil {
		return ticket, err
	}
	if err := t.Validate(); err != nil {
		return ticket, err
	}
	p, err := e.policyFor(ctx, t)
	if err != nil {
		return ticket, err
	}
	r := &domain.Request{PrincipalID: c.Caller.ID, Target: t, Ticket: ticket}
	err = e.validateTicket(ctx, r, p, c.Now, c.Now.Add(d), false)
	return r.Ticket, err
}
