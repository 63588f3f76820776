package engine

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
)

var mailNamespace = uuid.MustParse("3c9b5e8e-55a4-4b0b-9d0f-0f4ad1c7e2a7")

// critical kinds need someone to act; a rule at level Critical sends only these.
func critical(k notify.Kind) bool {
	return k == notify.ApprovalNeeded || k == notify.ExpiringSoon || k == notify.TicketConfirm
}

// queueMail renders and queues one mail under a key: the same key is queued
// once, so retries and duplicated timer runs never send twice.
func (e *Engine) queueMail(ctx context.Context, c *Call, key string, to []string, d notify.Data) {
	to = cleanAddresses(to)
	if len(to) == 0 {
		return
	}
	subject, html, text, err := notify.Render(d)
	if err != nil {
		c.Log.ErrorContext(ctx, "rendering mail failed", "kind", d.Kind, "error", err)
		return
	}
	m := domain.Mail{ID: uuid.NewSHA1(mailNamespace, []byte(key)).String(), Key: key, To: to, Subject: subject, HTML: html, Text: text,
		CreatedAt: c.Now, NextAttempt: c.Now}
	if err := e.store.EnqueueMail(ctx, &m); err != nil && !domain.IsCode(err, domain.CodeConflict) {
		c.Log.ErrorContext(ctx, "queueing mail failed", "kind", d.Kind, "error", err)
		return
	}
	c.queued = append(c.queued, m.ID)
}

func cleanAddresses(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range in {
		a = strings.TrimSpace(a)
		if a == "" || !strings.Contains(a, "@") || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	return out
}

// addressOf is where mail for a user goes: mail, else UPN.
func (e *Engine) addressOf(ctx context.Context, id domain.ObjectID) (string, string) {
	u, err := e.dir.GetUser(ctx, id)
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
	addr, name := e.addressOf(ctx, principalID)
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
		e.queueMail(ctx, c, key+"|"+rule.Recipient, to, d)
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
	_, actor := e.addressOf(ctx, r.CreatedBy)
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
	addr, name := e.addressOf(ctx, r.PrincipalID)
	_, actor := e.addressOf(ctx, c.Caller.ID)
	d := requestData(kind, r)
	d.PrincipalName, d.Actor, d.Reason = name, actor, reason
	e.queueMail(ctx, c, "req:"+r.ID+":"+string(kind), []string{addr}, d)
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
		addr, name := e.addressOf(ctx, r.PrincipalID)
		d := requestData(notify.TicketConfirm, r)
		d.PrincipalName = name
		if e.cfg.ApprovalLink != nil {
			d.Link, _ = e.cfg.ApprovalLink(r.ID, st.ID, r.PrincipalID, st.TimeoutAt)
		}
		e.queueMail(ctx, c, "req:"+r.ID+":confirm", []string{addr}, d)
		return
	}
	p, err := e.EffectivePolicy(ctx, r.Target)
	if err != nil {
		return
	}
	_, name := e.addressOf(ctx, r.PrincipalID)
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
		addr, _ := e.addressOf(ctx, id)
		d := requestData(notify.ApprovalNeeded, r)
		d.PrincipalName = name
		if e.cfg.ApprovalLink != nil {
			link, err := e.cfg.ApprovalLink(r.ID, st.ID, id, st.TimeoutAt)
			if err != nil {
				c.Log.ErrorContext(ctx, "approval link failed", "error", err)
			}
			d.Link = link
		}
		e.queueMail(ctx, c, "req:"+r.ID+":"+st.ID+":approver:"+string(id), []string{addr}, d)
	}
	if len(extra) > 0 {
		d := requestData(notify.ApprovalNeeded, r)
		d.PrincipalName = name
		e.queueMail(ctx, c, "req:"+r.ID+":"+st.ID+":extra", extra, d)
	}
}

// FlushMail sends the mail this call queued, right away; what fails stays
// in the outbox for the timer.
func (e *Engine) FlushMail(ctx context.Context, c *Call) {
	if len(c.queued) == 0 || e.cfg.Mailer == nil {
		return
	}
	due, err := e.store.MailDue(ctx, c.Now, e.cfg.SweepBatch)
	if err != nil {
		return
	}
	want := map[string]bool{}
	for _, id := range c.queued {
		want[id] = true
	}
	for _, m := range due {
		if want[m.ID] {
			e.send(ctx, c, m)
		}
	}
	c.queued = nil
}

// MailResult counts one outbox run.
type MailResult struct{ Sent, Failed int }

// DeliverMail sends due mail from the outbox, retrying failures with backoff.
func (e *Engine) DeliverMail(ctx context.Context, c *Call) (MailResult, error) {
	var res MailResult
	if e.cfg.Mailer == nil {
		return res, nil
	}
	due, err := e.store.MailDue(ctx, c.Now, e.cfg.SweepBatch)
	if err != nil {
		return res, err
	}
	for _, m := range due {
		if e.send(ctx, c, m) {
			res.Sent++
		} else {
			res.Failed++
		}
	}
	return res, nil
}

// maxMailAttempts bounds retries; a mail that keeps failing is audited.
const maxMailAttempts = 20

// send claims a mail with a conditional write before sending, so two
// instances never both send it, then records the outcome.
func (e *Engine) send(ctx context.Context, c *Call, m domain.Mail) bool {
	m.Attempts++
	m.NextAttempt = c.Now.Add(backoff(m.Attempts))
	if err := e.store.UpdateMail(ctx, &m); err != nil {
		return false // another instance has it
	}
	err := e.cfg.Mailer.SendMail(ctx, m.To, m.Subject, m.HTML, m.Text)
	if err == nil {
		m.SentAt, m.LastError = c.Now, ""
	} else {
		m.LastError = clip(err.Error(), 1000)
		if m.Attempts >= maxMailAttempts {
			m.NextAttempt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			e.audit(ctx, c, domain.AuditRecord{Action: "mail.giveUp", Category: "Notification", Outcome: "failure", Reason: m.LastError,
				Details: map[string]string{"mail_id": m.ID, "subject": m.Subject}})
		}
		c.Log.WarnContext(ctx, "sending mail failed; will retry", "mail_id", m.ID, "attempt", m.Attempts, "error", err)
	}
	if uerr := e.store.UpdateMail(ctx, &m); uerr != nil {
		c.Log.ErrorContext(ctx, "recording mail outcome failed", "mail_id", m.ID, "error", uerr)
	}
	return err == nil
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
