package engine

import (
	"context"
	"errors"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
	"github.com/jitpim/jitpim/shared/outbox"
)

// critical kinds need someone to act; a rule at level Critical sends only these.
func critical(k notify.Kind) bool {
	return k == notify.ApprovalNeeded || k == notify.ExpiringSoon || k == notify.TicketConfirm
}

// QueueMail renders and queues one mail under a key: the same key is queued
// once, so retries and duplicated timer runs never send twice. FlushMail
// sends what a call queued.
func (k *Kernel) QueueMail(ctx context.Context, c *Call, key string, to []string, d notify.Data) {
	if id := k.mail.Queue(ctx, c.Now, c.Log, key, to, d); id != "" {
		c.queued = append(c.queued, id)
	}
}

// AddressOf is where mail for a user goes (mail, else UPN), and the name
// to greet them by.
func (k *Kernel) AddressOf(ctx context.Context, id domain.ObjectID) (string, string) {
	u, err := k.dir.GetUser(ctx, id)
	if err != nil {
		return "", string(id)
	}
	name := u.DisplayName
	if name == "" {
		name = u.UserPrincipalName
	}
	if u.Mail != "" {
		return u.Mail, name
	}
	return u.UserPrincipalName, name
}

// notifyByPolicy sends a notification to the admin and requestor
// recipients the policy's rules name for event.
func (e *Engine) notifyByPolicy(ctx context.Context, c *Call, p domain.Policy, event string, key string, principalID domain.ObjectID, d notify.Data) {
	addr, name := e.AddressOf(ctx, principalID)
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
				to = append(to, e.cfg.AdminRecipients...)
			} else {
				to = append(to, addr)
			}
		}
		e.QueueMail(ctx, c, key+"|"+rule.Recipient, to, d)
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

func requestData(kind notify.Kind, r domain.Request) notify.Data {
	return notify.Data{Kind: kind, TargetName: domain.TargetName(r.Target), Start: r.StartAt, End: r.EndAt,
		Justification: r.Justification, Ticket: ticketText(r.Ticket), RequestID: r.ID}
}

// notifyProvisioned tells who the policy names that access was given.
func (e *Engine) notifyProvisioned(ctx context.Context, c *Call, r domain.Request) {
	p, err := e.EffectivePolicy(ctx, r.Target)
	if err != nil {
		return
	}
	_, actor := e.AddressOf(ctx, r.CreatedBy)
	switch {
	case r.Action == domain.ActionSelfActivate:
		d := requestData(notify.Activated, r)
		e.notifyByPolicy(ctx, c, p, domain.EventEndUserAssign, "req:"+r.ID+":activated", r.PrincipalID, d)
	case r.Kind == domain.KindEligibility:
		d := requestData(notify.EligibilityAssigned, r)
		d.Actor = actor
		e.notifyByPolicy(ctx, c, p, domain.EventAdminEligibility, "req:"+r.ID+":assigned", r.PrincipalID, d)
	default:
		d := requestData(notify.ActiveAssigned, r)
		d.Actor = actor
		e.notifyByPolicy(ctx, c, p, domain.EventAdminAssignment, "req:"+r.ID+":assigned", r.PrincipalID, d)
	}
}

// notifyDecision tells the requester an approval stage's outcome.
func (e *Engine) notifyDecision(ctx context.Context, c *Call, r domain.Request, kind notify.Kind, reason string) {
	addr, name := e.AddressOf(ctx, r.PrincipalID)
	_, actor := e.AddressOf(ctx, c.Caller.ID)
	d := requestData(kind, r)
	d.PrincipalName, d.Actor, d.Reason = name, actor, reason
	e.QueueMail(ctx, c, "req:"+r.ID+":"+string(kind), []string{addr}, d)
}

// approversOf expands a stage's approvers into users, groups transitively;
// a stage without approvers falls to the admin group.
func (e *Engine) approversOf(ctx context.Context, s domain.ApprovalStage) []domain.ObjectID {
	var ids []domain.ObjectID
	approvers := s.AllApprovers()
	if len(approvers) == 0 && e.cfg.AdminGroupID != "" {
		approvers = []domain.Approver{{Kind: domain.ApproverGroup, ID: e.cfg.AdminGroupID}}
	}
	for _, a := range approvers {
		if a.Kind == domain.ApproverUser {
			ids = append(ids, a.ID)
			continue
		}
		members, err := e.dir.ListGroupMembers(ctx, a.ID)
		if err != nil {
			continue
		}
		for _, m := range members {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// notifyApprovers mails each approver of the current stage a personal link.
// The link opens a page; deciding needs the approver's own sign-in.
func (e *Engine) notifyApprovers(ctx context.Context, c *Call, r domain.Request) {
	i := r.Approval.Current()
	if i < 0 {
		return
	}
	st := r.Approval.Stages[i]
	if st.Confirmation {
		addr, name := e.AddressOf(ctx, r.PrincipalID)
		d := requestData(notify.TicketConfirm, r)
		d.PrincipalName = name
		if e.links != nil {
			link, err := e.links.ConfirmLink(r.ID, st.ID, r.PrincipalID, st.TimeoutAt)
			if err != nil {
				c.Log.ErrorContext(ctx, "confirmation link failed", "error", err)
			}
			d.Link = link
		}
		e.QueueMail(ctx, c, "req:"+r.ID+":confirm", []string{addr}, d)
		return
	}
	p, err := e.EffectivePolicy(ctx, r.Target)
	if err != nil {
		return
	}
	_, name := e.AddressOf(ctx, r.PrincipalID)
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
	for _, id := range e.approversOf(ctx, st) {
		if id == r.PrincipalID || id == r.CreatedBy {
			continue
		}
		addr, _ := e.AddressOf(ctx, id)
		d := requestData(notify.ApprovalNeeded, r)
		d.PrincipalName = name
		if e.links != nil {
			link, err := e.links.ApprovalLink(r.ID, st.ID, id, st.TimeoutAt)
			if err != nil {
				c.Log.ErrorContext(ctx, "approval link failed", "error", err)
			}
			d.Link = link
		}
		e.QueueMail(ctx, c, "req:"+r.ID+":"+st.ID+":approver:"+string(id), []string{addr}, d)
	}
	if len(extra) > 0 {
		d := requestData(notify.ApprovalNeeded, r)
		d.PrincipalName = name
		e.QueueMail(ctx, c, "req:"+r.ID+":"+st.ID+":extra", extra, d)
	}
}

// FlushMail sends the mail this call queued, right away; what fails stays
// in the outbox for the timer.
func (k *Kernel) FlushMail(ctx context.Context, c *Call) {
	if err := k.auditGiveUps(ctx, c, k.mail.Send(ctx, c.Now, c.Log, c.queued)); err != nil {
		// The answer has been decided; the mail's give-up is already
		// stored by the outbox, so only the log can carry this.
		c.Log.ErrorContext(ctx, "recording given-up mail failed", "error", err)
	}
	c.queued = nil
}

// DeliverMail sends due mail from the outbox, retrying failures with backoff.
func (k *Kernel) DeliverMail(ctx context.Context, c *Call) (outbox.Result, error) {
	res, gaveUp, err := k.mail.Deliver(ctx, c.Now, c.Log)
	return res, errors.Join(err, k.auditGiveUps(ctx, c, gaveUp))
}

func (k *Kernel) auditGiveUps(ctx context.Context, c *Call, mails []domain.Mail) error {
	for _, m := range mails {
		if err := k.Audit(ctx, c, domain.AuditRecord{Action: "mail.giveUp", Category: "Notification", Outcome: "failure", Reason: m.LastError,
			Details: map[string]string{"mail_id": m.ID, "subject": m.Subject}}); err != nil {
			return err
		}
	}
	return nil
}

// AdminAddresses are the administrators' mail addresses: AdminRecipients,
// else the admin group's members.
func (k *Kernel) AdminAddresses(ctx context.Context, c *Call) []string {
	if len(k.cfg.AdminRecipients) > 0 {
		return k.cfg.AdminRecipients
	}
	if k.cfg.AdminGroupID == "" {
		return nil
	}
	members, err := k.dir.ListGroupMembers(ctx, k.cfg.AdminGroupID)
	if err != nil {
		c.Log.ErrorContext(ctx, "listing the admin group for a mail failed", "error", err)
		return nil
	}
	var out []string
	for _, m := range members {
		if m.Mail != "" {
			out = append(out, m.Mail)
		} else if m.UserPrincipalName != "" {
			out = append(out, m.UserPrincipalName)
		}
	}
	return out
}

// ReminderWindow is how long before the end an expiring assignment is announced.
const ReminderWindow = 14 * 24 * time.Hour

// SendReminders queues one "expires soon" mail per eligibility or admin
// assignment ending within 14 days; activations are short and not announced.
func (e *Engine) SendReminders(ctx context.Context, c *Call) (int, error) {
	due, err := e.store.SchedulesEndingBy(ctx, c.Now.Add(ReminderWindow), 10*e.cfg.SweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range due {
		if s.AssignmentType == domain.AssignmentActivated || !s.End.After(c.Now) || e.isBreakGlass(s.PrincipalID) {
			continue
		}
		p, err := e.EffectivePolicy(ctx, s.Target)
		if err != nil {
			continue
		}
		event := domain.EventAdminAssignment
		if s.Kind == domain.KindEligibility {
			event = domain.EventAdminEligibility
		}
		d := notify.Data{Kind: notify.ExpiringSoon, TargetName: domain.TargetName(s.Target), Start: s.Start, End: s.End, RequestID: s.CreatedUsing}
		e.notifyByPolicy(ctx, c, p, event, "expiring:"+s.ID+":"+s.End.UTC().Format(time.RFC3339), s.PrincipalID, d)
		n++
	}
	_, err = e.DeliverMail(ctx, c)
	return n, err
}

// notifyExpired tells the holder an eligibility or admin assignment ended.
func (e *Engine) notifyExpired(ctx context.Context, c *Call, s domain.Schedule) {
	if s.AssignmentType == domain.AssignmentActivated {
		return
	}
	p, err := e.EffectivePolicy(ctx, s.Target)
	if err != nil {
		return
	}
	event := domain.EventAdminAssignment
	if s.Kind == domain.KindEligibility {
		event = domain.EventAdminEligibility
	}
	d := notify.Data{Kind: notify.Expired, TargetName: domain.TargetName(s.Target), Start: s.Start, End: s.End, RequestID: s.CreatedUsing}
	e.notifyByPolicy(ctx, c, p, event, "expired:"+s.ID, s.PrincipalID, d)
}
