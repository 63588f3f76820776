package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
	"github.com/jitpim/jitpim/shared/outbox"
)

// QueueMail renders and queues one mail under a key: the same key is queued
// once, so retries and duplicated timer runs never send twice. FlushMail
// sends what a call queued.
func (k *Kernel) QueueMail(ctx context.Context, c *Call, key string, to []string, d notify.Data) {
	if id := k.mail.Queue(ctx, c.Now, c.Log, key, to, d); id != "" {
		c.queued = append(c.queued, id)
	}
}

// AddressOf is where mail for a user goes (mail, else UPN), and the name
// to greet them by. It reads through the name cache: an address is at
// most its TTL old, and the user the account check of this activation has
// just read costs no second directory call.
func (k *Kernel) AddressOf(ctx context.Context, id domain.ObjectID) (string, string) {
	u, ok := k.names.User(ctx, id)
	if !ok {
		return "", domain.UnnamedUser(id)
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

// FlushMail sends the mail this call queued, right away; what fails stays
// in the outbox for the timer.
func (k *Kernel) FlushMail(ctx context.Context, c *Call) {
	k.mail.Send(ctx, c.Now, c.Log, c.queued, k.giveUpRecord(c))
	c.queued = nil
}

// DeliverMail sends due mail from the outbox, retrying failures with backoff.
func (k *Kernel) DeliverMail(ctx context.Context, c *Call) (outbox.Result, error) {
	return k.mail.Deliver(ctx, c.Now, c.Log, k.giveUpRecord(c))
}

// giveUpRecord makes the audit record the outbox writes with a mail it
// gives up.
func (k *Kernel) giveUpRecord(c *Call) outbox.GiveUpRecord {
	return func(m domain.Mail) domain.AuditRecord {
		return k.Stamp(c, domain.AuditRecord{Action: "mail.giveUp", Category: "Notification", Outcome: "failure", Reason: m.LastError,
			Details: map[string]string{"mail_id": m.ID, "subject": m.Subject}})
	}
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

// ApproverIDs expands a stage's approvers into users, groups transitively;
// a stage without approvers falls to the admin group.
func (k *Kernel) ApproverIDs(ctx context.Context, s domain.ApprovalStage) []domain.ObjectID {
	var ids []domain.ObjectID
	approvers := s.AllApprovers()
	if len(approvers) == 0 && k.cfg.AdminGroupID != "" {
		approvers = []domain.Approver{{Kind: domain.ApproverGroup, ID: k.cfg.AdminGroupID}}
	}
	for _, a := range approvers {
		if a.Kind == domain.ApproverUser {
			ids = append(ids, a.ID)
			continue
		}
		members, err := k.dir.ListGroupMembers(ctx, a.ID)
		if err != nil {
			continue
		}
		for _, m := range members {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// notify is the notifier, or one that tells nobody.
func (e *Engine) notify() Notifier {
	if e.notices == nil {
		return silent{}
	}
	return e.notices
}

type silent struct{}

func (silent) Provisioned(context.Context, *Call, domain.Request)                   {}
func (silent) Decision(context.Context, *Call, domain.Request, notify.Kind, string) {}
func (silent) Approvers(context.Context, *Call, domain.Request)                     {}
func (silent) Expired(context.Context, *Call, domain.Schedule)                      {}
func (silent) TicketNote(context.Context, *Call, domain.Request, string)            {}
func (silent) Pending(context.Context, *Call, domain.Request)                       {}
