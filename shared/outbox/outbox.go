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
	UpdateMail(ctx context.Context, m *domain.Mail) error
}

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

// MaxAttempts bounds retries; the caller audits a mail given up.
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
// what fails stays queued for Deliver. It returns the mails given up.
func (o *Outbox) Send(ctx context.Context, now time.Time, log *slog.Logger, ids []string) []domain.Mail {
	if len(ids) == 0 || o.mailer == nil {
		return nil
	}
	due, err := o.store.MailDue(ctx, now, o.batch)
	if err != nil {
		return nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var gaveUp []domain.Mail
	for _, m := range due {
		if want[m.ID] {
			if _, up := o.send(ctx, now, log, &m); up {
				gaveUp = append(gaveUp, m)
			}
		}
	}
	return gaveUp
}

// Deliver sends due mail, retrying failures with backoff. It returns the
// mails given up besides the counts.
func (o *Outbox) Deliver(ctx context.Context, now time.Time, log *slog.Logger) (Result, []domain.Mail, error) {
	var res Result
	if o.mailer == nil {
		return res, nil, nil
	}
	due, err := o.store.MailDue(ctx, now, o.batch)
	if err != nil {
		return res, nil, err
	}
	var gaveUp []domain.Mail
	for _, m := range due {
		sent, up := o.send(ctx, now, log, &m)
		if sent {
			res.Sent++
		} else {
			res.Failed++
		}
		if up {
			gaveUp = append(gaveUp, m)
		}
	}
	return res, gaveUp, nil
}

// send claims a mail with a conditional write before sending, so two
// instances never both send it, then records the outcome. gaveUp reports
// the last attempt failed; m holds the outcome.
func (o *Outbox) send(ctx context.Context, now time.Time, log *slog.Logger, m *domain.Mail) (sent, gaveUp bool) {
	m.Attempts++
	m.NextAttempt = now.Add(domain.RetryBackoff(m.Attempts))
	if err := o.store.UpdateMail(ctx, m); err != nil {
		return false, false // another instance has it
	}
	err := o.mailer.SendMail(ctx, m.To, m.Subject, m.HTML, m.Text)
	if err == nil {
		m.SentAt, m.LastError = now, ""
	} else {
		m.LastError = domain.Clip(err.Error(), 1000)
		if m.Attempts >= MaxAttempts {
			m.NextAttempt, gaveUp = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), true
		}
		log.WarnContext(ctx, "sending mail failed; will retry", "mail_id", m.ID, "attempt", m.Attempts, "error", err)
	}
	if uerr := o.store.UpdateMail(ctx, m); uerr != nil {
		log.ErrorContext(ctx, "recording mail outcome failed", "mail_id", m.ID, "error", uerr)
	}
	return err == nil, gaveUp
}
