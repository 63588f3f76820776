// Package notices tells people what happened to requests and
// assignments: who hears of each event under the policy's notification
// rules, approvers with their personal links, reminders before an
// assignment ends. It names everyone through the kernel's name resolver and
// queues the mail in the kernel's outbox, keyed so a retry never mails
// twice. The request engine calls it through engine.Notifier.
package notices

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/notify"
)

// Links makes the personal links approval and confirmation mails carry
// (shared/approvallink implements it).
type Links interface {
	ApprovalLink(requestID, stageID string, approverID domain.ObjectID, expires time.Time) (string, error)
	ConfirmLink(requestID, stageID string, requesterID domain.ObjectID, expires time.Time) (string, error)
}

// Notices composes and queues the mail.
type Notices struct {
	k       *engine.Kernel
	store   domain.Store
	tickets domain.TicketSystem
	links   Links
}

// New builds the notices; tickets and links may be nil (no work notes;
// mails go without links).
func New(k *engine.Kernel, store domain.Store, tickets domain.TicketSystem, links Links) *Notices {
	return &Notices{k: k, store: store, tickets: tickets, links: links}
}

var _ engine.Notifier = (*Notices)(nil)

// critical kinds need someone to act; a rule at level Critical sends only these.
func critical(k notify.Kind) bool {
	return k == notify.ApprovalNeeded || k == notify.ExpiringSoon || k == notify.TicketConfirm
}

// byPolicy sends a notification to the admin and requestor
// recipients the policy's rules name for event.
func (n *Notices) byPolicy(ctx context.Context, c *engine.Call, p domain.Policy, event string, key string, principalID domain.ObjectID, d notify.Data) {
	addr, name := n.k.AddressOf(ctx, principalID)
	d.PrincipalName = name
	for _, rule := range p.Notifications {
		if rule.Event != event || rule.Recipient == domain.RecipientApprover {
			continue
		}
		if rule.Level == domain.LevelCritical && !critical(d.Kind) {
			continue
		}
		to := append([]string(nil), rule.ExtraRecipients...)
		if rule.DefaultRecipients {
			if rule.Recipient == domain.RecipientAdmin {
				to = append(to, n.k.Config().AdminRecipients...)
			} else {
				to = append(to, addr)
			}
		}
		n.k.QueueMail(ctx, c, key+"|"+rule.Recipient, to, d)
	}
}

func ticketText(t domain.TicketInfo) string {
	if t.Number == "" {
		return ""
	}
	if t.System != "" {
		return t.System + " " + t.Number
	}
	return t.Number
}

func (n *Notices) requestData(ctx context.Context, kind notify.Kind, r domain.Request) notify.Data {
	return notify.Data{Kind: kind, TargetName: n.k.Names().Target(ctx, r.Target), Start: r.StartAt, End: r.EndAt,
		Justification: r.Justification, Ticket: ticketText(r.Ticket), RequestID: r.ID}
}

// Provisioned tells who the policy names that access was given.
func (n *Notices) Provisioned(ctx context.Context, c *engine.Call, r domain.Request) {
	p, err := n.k.EffectivePolicy(ctx, r.Target)
	if err != nil {
		return
	}
	_, actor := n.k.AddressOf(ctx, r.CreatedBy)
	switch {
	case r.Action == domain.ActionSelfActivate:
		d := n.requestData(ctx, notify.Activated, r)
		n.byPolicy(ctx, c, p, domain.EventEndUserAssign, "req:"+r.ID+":activated", r.PrincipalID, d)
	case r.Kind == domain.KindEligibility:
		d := n.requestData(ctx, notify.EligibilityAssigned, r)
		d.Actor = actor
		n.byPolicy(ctx, c, p, domain.EventAdminEligibility, "req:"+r.ID+":assigned", r.PrincipalID, d)
	default:
		d := n.requestData(ctx, notify.ActiveAssigned, r)
		d.Actor = actor
		n.byPolicy(ctx, c, p, domain.EventAdminAssignment, "req:"+r.ID+":assigned", r.PrincipalID, d)
	}
}

// Decision tells the requester an approval stage's outcome.
func (n *Notices) Decision(ctx context.Context, c *engine.Call, r domain.Request, kind notify.Kind, reason string) {
	addr, name := n.k.AddressOf(ctx, r.PrincipalID)
	_, actor := n.k.AddressOf(ctx, c.Caller.ID)
	d := n.requestData(ctx, kind, r)
	d.PrincipalName, d.Actor, d.Reason = name, actor, reason
	n.k.QueueMail(ctx, c, "req:"+r.ID+":"+string(kind), []string{addr}, d)
}

// Approvers mails each approver of the current stage a personal link.
// The link opens a page; deciding needs the approver's own sign-in.
func (n *Notices) Approvers(ctx context.Context, c *engine.Call, r domain.Request) {
	i := r.Approval.Current()
	if i < 0 {
		return
	}
	st := r.Approval.Stages[i]
	if st.Confirmation {
		addr, name := n.k.AddressOf(ctx, r.PrincipalID)
		d := n.requestData(ctx, notify.TicketConfirm, r)
		d.PrincipalName = name
		if n.links != nil {
			link, err := n.links.ConfirmLink(r.ID, st.ID, r.PrincipalID, st.TimeoutAt)
			if err != nil {
				c.Log.ErrorContext(ctx, "confirmation link failed", "error", err)
			}
			d.Link = link
		}
		n.k.QueueMail(ctx, c, "req:"+r.ID+":confirm", []string{addr}, d)
		return
	}
	p, err := n.k.EffectivePolicy(ctx, r.Target)
	if err != nil {
		return
	}
	_, name := n.k.AddressOf(ctx, r.PrincipalID)
	level := domain.LevelAll
	var extra []string
	for _, rule := range p.Notifications {
		if rule.Event == domain.EventEndUserAssign && rule.Recipient == domain.RecipientApprover {
			level, extra = rule.Level, rule.ExtraRecipients
			if !rule.DefaultRecipients {
				// Approvers still must hear of a request waiting on them.
				c.Log.WarnContext(ctx, "approver notifications are off in the policy; approvers are mailed anyway")
			}
		}
	}
	_ = level // approval requests are critical, so both levels send them
	for _, id := range n.k.ApproverIDs(ctx, st) {
		if id == r.PrincipalID || id == r.CreatedBy {
			continue
		}
		addr, _ := n.k.AddressOf(ctx, id)
		d := n.requestData(ctx, notify.ApprovalNeeded, r)
		d.PrincipalName = name
		if n.links != nil {
			link, err := n.links.ApprovalLink(r.ID, st.ID, id, st.TimeoutAt)
			if err != nil {
				c.Log.ErrorContext(ctx, "approval link failed", "error", err)
			}
			d.Link = link
		}
		n.k.QueueMail(ctx, c, "req:"+r.ID+":"+st.ID+":approver:"+string(id), []string{addr}, d)
	}
	if len(extra) > 0 {
		d := n.requestData(ctx, notify.ApprovalNeeded, r)
		d.PrincipalName = name
		n.k.QueueMail(ctx, c, "req:"+r.ID+":"+st.ID+":extra", extra, d)
	}
}

// ReminderWindow is how long before the end an expiring assignment is announced.
const ReminderWindow = 14 * 24 * time.Hour

// SendReminders queues one "expires soon" mail per eligibility or admin
// assignment ending within 14 days; activations are short and not announced.
func (n *Notices) SendReminders(ctx context.Context, c *engine.Call) (int, error) {
	due, err := n.store.SchedulesDueBy(ctx, c.Now.Add(ReminderWindow), 10*n.k.Config().SweepBatch)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, s := range due {
		// The due index also holds schedules due to start: they have not started, so nothing of theirs expires yet.
		if s.AwaitingStart || s.AssignmentType == domain.AssignmentActivated || !s.End.After(c.Now) || n.k.Config().BreakGlass.Protects(s.PrincipalID) {
			continue
		}
		p, err := n.k.EffectivePolicy(ctx, s.Target)
		if err != nil {
			continue
		}
		event := domain.EventAdminAssignment
		if s.Kind == domain.KindEligibility {
			event = domain.EventAdminEligibility
		}
		d := notify.Data{Kind: notify.ExpiringSoon, TargetName: n.k.Names().Target(ctx, s.Target), Start: s.Start, End: s.End, RequestID: s.CreatedUsing}
		n.byPolicy(ctx, c, p, event, "expiring:"+s.ID+":"+s.End.UTC().Format(time.RFC3339), s.PrincipalID, d)
		queued++
	}
	_, err = n.k.DeliverMail(ctx, c)
	return queued, err
}

// Expired tells the holder an eligibility or admin assignment ended.
func (n *Notices) Expired(ctx context.Context, c *engine.Call, s domain.Schedule) {
	if s.AssignmentType == domain.AssignmentActivated {
		return
	}
	p, err := n.k.EffectivePolicy(ctx, s.Target)
	if err != nil {
		return
	}
	event := domain.EventAdminAssignment
	if s.Kind == domain.KindEligibility {
		event = domain.EventAdminEligibility
	}
	d := notify.Data{Kind: notify.Expired, TargetName: n.k.Names().Target(ctx, s.Target), Start: s.Start, End: s.End, RequestID: s.CreatedUsing}
	n.byPolicy(ctx, c, p, event, "expired:"+s.ID, s.PrincipalID, d)
}

// TicketNote writes to the ticket a request came with; a failure is
// logged and never changes the request.
func (n *Notices) TicketNote(ctx context.Context, c *engine.Call, r domain.Request, note string) {
	if note == "" || n.tickets == nil || !r.Ticket.Validated || r.Ticket.SysID == "" {
		return
	}
	ref := domain.TicketCheck{System: r.Ticket.System, Table: r.Ticket.Table, Number: r.Ticket.Number, SysID: r.Ticket.SysID}
	if err := n.tickets.AddNote(ctx, ref, "jitpim: "+note+" (request "+r.ID+")"); err != nil {
		c.Log.WarnContext(ctx, "writing the ticket's work note failed", "ticket", r.Ticket.Number, "error", err)
	}
}

// Pending tells the ticket whom a request waits for.
func (n *Notices) Pending(ctx context.Context, c *engine.Call, r domain.Request) {
	n.TicketNote(ctx, c, r, n.pendingNote(ctx, r))
}

func (n *Notices) pendingNote(ctx context.Context, r domain.Request) string {
	i := r.Approval.Current()
	if i < 0 {
		return ""
	}
	_, name := n.k.AddressOf(ctx, r.PrincipalID)
	st := r.Approval.Stages[i]
	if st.Confirmation {
		return fmt.Sprintf("%s for %s is waiting for %s to confirm with multi-factor sign-in (link sent by e-mail, valid until %s)",
			n.k.Names().Target(ctx, r.Target), name, name, st.TimeoutAt.UTC().Format(time.RFC3339))
	}
	var names []string
	for _, id := range n.k.ApproverIDs(ctx, st) {
		if id == r.PrincipalID || len(names) == 5 {
			continue
		}
		_, who := n.k.AddressOf(ctx, id)
		names = append(names, who)
	}
	by := "the jitpim administrators"
	if len(names) > 0 {
		by = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s for %s is pending approval by %s (stage %d of %d, until %s)", n.k.Names().Target(ctx, r.Target), name, by, i+1,
		len(r.Approval.Stages), st.TimeoutAt.UTC().Format(time.RFC3339))
}
