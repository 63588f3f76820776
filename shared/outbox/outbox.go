// Package outbox keeps jitpim's mail until it is sent. A mail is rendered
// and queued under a key, once per key, so retries and duplicated timer
// runs never send twice; the call that queued it sends it at once when it
// can, and the mail timer sends what is left, with backoff. Every send is
// claimed first with a conditional write, so two instances never both send.
package outbox

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
)

// Store keeps the queued mail (domain.Store includes it).
type Store interface {
	EnqueueMail(ctx context.Context, m *domain.Mail) error
	MailDue(ctx context.Context, t time.Time, limit int) ([]domain.Mail, error)
	UpdateMail(ctx context.Context, m *domain.Mail, audit ...domain.AuditRecord) error
}

// GiveUpRecord is the audit record of a mail given up; it is written with
// the update that gives the mail up, or neither is.
type GiveUpRecord func(m domain.Mail) domain.AuditRecord

// Outbox queues and sends mail.
type Outbox struct {
	store  Store
	mailer domain.Mailer
	batch  int
}

// New builds an outbox; mailer nil leaves mail queued; batch bounds the
// mail one run reads.
func New(store Store, mailer domain.Mailer, batch int) *Outbox {
	return &Outbox{store: store, mailer: mailer, batch: batch}
}

// Result counts one delivery run.
type Result struct{ Sent, Failed int }

// MaxAttempts bounds retries; a mail given up is recorded by the record
// the caller's GiveUpRecord makes.
const MaxAttempts = 20

var mailNamespace = uuid.MustParse("3c9b5e8e-55a4-4b0b-9d0f-0f4ad1c7e2a7")

// Queue renders d and queues it to the given addresses under key. It
// returns the mail's id, or "" when nothing was queued: no usable address,
// or a failure (logged; mail never stops the change it announces).
func (o *Outbox) Queue(ctx context.Context, now time.Time, log *slog.Logger, key string, to []string, d notify.Data) string {
	to = cleanAddresses(to)
	if len(to) == 0 {
		return ""
	}
	subject, html, text, err := notify.Render(d)
	if err != nil {
		log.ErrorContext(ctx, "rendering mail failed", "kind", d.Kind, "error", err)
		return ""
	}
	m := domain.Mail{ID: uuid.NewSHA1(mailNamespace, []byte(key)).String(), Key: key, To: to, Subject: subject, HTML: html, Text: text,
		CreatedAt: now, NextAttempt: now}
	if err := o.store.EnqueueMail(ctx, &m); err != nil && !domain.IsCode(err, domain.CodeConflict) {
		log.ErrorContext(ctx, "queueing mail failed", "kind", d.Kind, "error", err)
		return ""
	}
	return m.ID
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

// Send sends, right away, those of the given mails that are still due;
// what fails stays queued for Deliver.
func (o *Outbox) Send(ctx context.Context, now time.Time, log *slog.Logger, ids []string, giveUp GiveUpRecord) {
	if len(ids) == 0 || o.mailer == nil {
		return
	}
	due, err := o.store.MailDue(ctx, now, o.batch)
	if err != nil {
		return
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for _, m := range due {
		if want[m.ID] {
			o.send(ctx, now, log, &m, giveUp)
		}
	}
}

// Deliver sends due mail, retrying failures with backoff.
func (o *Outbox) Deliver(ctx context.Context, now time.Time, log *slog.Logger, giveUp GiveUpRecord) (Result, error) {
	var res Result
	if o.mailer == nil {
		return res, nil
	}
	due, err := o.store.MailDue(ctx, now, o.batch)
	if err != nil {
		return res, err
	}
	for _, m := range due {
		if o.send(ctx, now, log, &m, giveUp) {
			res.Sent++
		} else {
			res.Failed++
		}
	}
	return res, nil
}

// send claims a mail with a conditional write before sending, so two
// instances never both send it, then records the outcome; m holds it. A
// mail given up is written with its audit record: if that write fails the
// mail stays claimed with its backoff, and a later run gives it up again.
func (o *Outbox) send(ctx context.Context, now time.Time, log *slog.Logger, m *domain.Mail, giveUp GiveUpRecord) (sent bool) {
	m.Attempts++
	m.NextAttempt = now.Add(domain.RetryBackoff(m.Attempts))
	if err := o.store.UpdateMail(ctx, m); err != nil {
		return false // another instance has it
	}
	err := o.mailer.SendMail(ctx, m.To, m.Subject, m.HTML, m.Text)
	var recs []domain.AuditRecord
	if err == nil {
		m.SentAt, m.LastError = now, ""
	} else {
		m.LastError = domain.Clip(err.Error(), 1000)
		if m.Attempts >= MaxAttempts {
			m.NextAttempt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			recs = append(recs, giveUp(*m))
			log.ErrorContext(ctx, "giving up sending mail", "mail_id", m.ID, "attempt", m.Attempts, "error", err)
		} else {
			log.WarnContext(ctx, "sending mail failed; will retry", "mail_id", m.ID, "attempt", m.Attempts, "error", err)
		}
	}
	if uerr := o.store.UpdateMail(ctx, m, recs...); uerr != nil {
		log.ErrorContext(ctx, "recording mail outcome failed", "mail_id", m.ID, "error", uerr)
	}
	return err == nil
}
