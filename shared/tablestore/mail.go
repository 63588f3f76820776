package tablestore

import (
	"context"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

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

// Writing a mail that is missing with a version is a conflict, as in
// memstore: the version names a queued mail that is not there.
func mailRecords(s *Store, c *aztables.Client) *table[domain.Mail] {
	return &table[domain.Mail]{
		kind:  kind{what: "mail", missingIsConflict: true},
		codec: codec[domain.Mail]{mailProps, mailFrom, func(m *domain.Mail) *string { return &m.Version }},
		s:     s,
		c:     c,
	}
}

func mailKey(pk, id string) key { return key{pk, EscapeKey(id), id} }

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

// EnqueueMail implements domain.Store: refused when the id was sent
// already, else inserted into the queue.
func (s *Store) EnqueueMail(ctx context.Context, m *domain.Mail) error {
	if _, err := s.mail.current(ctx, mailKey(mailSentPK, m.ID)); err == nil {
		return domain.Errorf(domain.CodeConflict, "mail %s was already sent", m.ID)
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return err
	}
	return s.mail.insert(ctx, mailKey(mailQueuePK, m.ID), m)
}

// MailDue implements domain.Store: it reads the queue partition only.
func (s *Store) MailDue(ctx context.Context, t time.Time, limit int) ([]domain.Mail, error) {
	// Audit markers share the partition; their keys sort after every id.
	queued, err := s.mail.list(ctx, partition(mailQueuePK)+" and RowKey lt "+odataString(markPrefix[:2]))
	if err != nil {
		return nil, err
	}
	var out []domain.Mail
	for _, m := range queued {
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
// An unsent mail's update carries its audit records (a mail given up) as
// every audited change does: pending rows, then the mail and their markers
// in one transaction of the queue partition.
func (s *Store) UpdateMail(ctx context.Context, m *domain.Mail, audit ...domain.AuditRecord) error {
	queued := mailKey(mailQueuePK, m.ID)
	if m.SentAt.IsZero() {
		return s.mail.putAudited(ctx, tblMail, queued, m, audit)
	}
	if len(audit) > 0 {
		return domain.Errorf(domain.CodeInvalid, "tablestore: audit records go with an unsent mail's update, not with its sending")
	}
	if p := mailProps(m); p.err != nil {
		return p.err // before anything is read
	}
	etag, err := s.mail.current(ctx, queued)
	if domain.IsCode(err, domain.CodeNotFound) || (err == nil && etag != m.Version) {
		return s.mail.changed(m.ID, err)
	} else if err != nil {
		return err
	}
	sent := *m
	sent.Version = ""
	// A sent copy that exists already is an earlier try of this move.
	if err := s.mail.insert(ctx, mailKey(mailSentPK, m.ID), &sent); err != nil && !domain.IsCode(err, domain.CodeConflict) {
		return err
	}
	if err := s.mail.remove(ctx, queued, m.Version); err != nil {
		return err
	}
	m.Version = sent.Version
	return nil
}
