package tablestore

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// The Mail table holds the notification outbox in two partitions:
// "queue" has only unsent mail, so MailDue reads what is waiting and never
// the history; "sent" keeps sent mail by id, so a mail key queued again
// after it was sent is still recognised (reminders go out once).
const (
	mailQueuePK = "queue"
	mailSentPK  = "sent"
)

func mailProps(m *domain.Mail) *props {
	p := newProps()
	p.str("Id", m.ID)
	p.str("Key", m.Key)
	p.js("To", m.To, m.To == nil)
	p.str("Subject", m.Subject)
	p.str("Html", m.HTML)
	p.str("Text", m.Text)
	p.tm("CreatedAt", m.CreatedAt)
	p.i32("Attempts", m.Attempts)
	p.tm("NextAttempt", m.NextAttempt)
	p.tm("SentAt", m.SentAt)
	p.str("LastError", m.LastError)
	return p
}

func mailFrom(e entity) (domain.Mail, error) {
	rd := &reader{m: e.Props}
	m := domain.Mail{ID: rd.str("Id"), Key: rd.str("Key"), Subject: rd.str("Subject"), HTML: rd.str("Html"), Text: rd.str("Text"),
		CreatedAt: rd.tm("CreatedAt"), Attempts: rd.i32("Attempts"), NextAttempt: rd.tm("NextAttempt"), SentAt: rd.tm("SentAt"),
		LastError: rd.str("LastError"), Version: e.ETag}
	rd.js("To", &m.To)
	return m, rd.err
}

// EnqueueMail implements domain.Store.
func (s *Store) EnqueueMail(ctx context.Context, m *domain.Mail) error {
	rk := EscapeKey(m.ID)
	if err := checkKey("id", rk); err != nil || m.ID == "" {
		return domain.Invalid("id", "is not a usable mail id")
	}
	if _, err := s.get(ctx, s.mail, mailSentPK, rk); err == nil {
		return domain.Errorf(domain.CodeConflict, "mail %s was already sent", m.ID)
	} else if statusOf(err) != http.StatusNotFound {
		return s.fail(err, "reading mail %s", m.ID)
	}
	p := mailProps(m)
	if p.err != nil {
		return p.err
	}
	p.m["WriteId"] = writeID()
	e := entity{PK: mailQueuePK, RK: rk, Props: p.m}
	if err := checkEntity(e); err != nil {
		return err
	}
	etag, _, err := s.writeMain(ctx, s.mail, e, "", time.Time{})
	if statusOf(err) == http.StatusConflict {
		return domain.Wrap(domain.CodeConflict, err, "mail %s is already queued", m.ID)
	}
	if err != nil {
		return s.fail(err, "queueing mail %s", m.ID)
	}
	m.Version = etag
	return nil
}

// MailDue implements domain.Store: it reads the queue partition only.
func (s *Store) MailDue(ctx context.Context, t time.Time, limit int) ([]domain.Mail, error) {
	ents, _, err := s.query(ctx, s.mail, "PartitionKey eq "+odataString(mailQueuePK), 0)
	if err != nil {
		return nil, s.fail(err, "reading the mail queue")
	}
	var out []domain.Mail
	for _, e := range ents {
		m, err := mailFrom(e)
		if err != nil {
			return nil, err
		}
		if m.SentAt.IsZero() && !m.NextAttempt.After(t) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UpdateMail implements domain.Store. A sent mail moves from the queue to
// the sent partition: the sent copy is written first and the queued one
// then deleted on its ETag, so a crash in between leaves both, never neither.
func (s *Store) UpdateMail(ctx context.Context, m *domain.Mail) error {
	rk := EscapeKey(m.ID)
	p := mailProps(m)
	if p.err != nil {
		return p.err
	}
	p.m["WriteId"] = writeID()
	if !m.SentAt.IsZero() {
		cur, err := s.get(ctx, s.mail, mailQueuePK, rk)
		if statusOf(err) == http.StatusNotFound || (err == nil && cur.ETag != m.Version) {
			return domain.Errorf(domain.CodeConflict, "mail %s was changed by someone else", m.ID)
		} else if err != nil {
			return s.fail(err, "reading mail %s", m.ID)
		}
		sent := entity{PK: mailSentPK, RK: rk, Props: p.m}
		if err := checkEntity(sent); err != nil {
			return err
		}
		etag, _, err := s.writeMain(ctx, s.mail, sent, "", time.Time{})
		if err != nil && statusOf(err) != http.StatusConflict {
			return s.fail(err, "recording mail %s as sent", m.ID)
		}
		if err := s.del(ctx, s.mail, mailQueuePK, rk, m.Version); err != nil {
			if statusOf(err) == http.StatusPreconditionFailed {
				return domain.Wrap(domain.CodeConflict, err, "mail %s was changed by someone else", m.ID)
			}
			return s.fail(err, "removing mail %s from the queue", m.ID)
		}
		m.Version = etag
		return nil
	}
	e := entity{PK: mailQueuePK, RK: rk, Props: p.m}
	if err := checkEntity(e); err != nil {
		return err
	}
	etag, _, err := s.writeMain(ctx, s.mail, e, m.Version, time.Time{})
	switch statusOf(err) {
	case 0:
	case http.StatusPreconditionFailed, http.StatusNotFound, http.StatusConflict:
		return domain.Wrap(domain.CodeConflict, err, "mail %s was changed by someone else", m.ID)
	}
	if err != nil {
		return s.fail(err, "writing mail %s", m.ID)
	}
	m.Version = etag
	return nil
}
