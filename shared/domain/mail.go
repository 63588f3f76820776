package domain

import (
	"context"
	"time"
)

// Mail is a notification waiting in the outbox. Its id is derived from a
// key (e.g. "expiring:{schedule}"), so a reminder is queued once however
// often the timer that finds it runs.
type Mail struct {
	ID          string
	Key         string
	To          []string // e-mail addresses
	Subject     string
	HTML        string
	Text        string
	CreatedAt   time.Time
	Attempts    int
	NextAttempt time.Time
	SentAt      time.Time // zero until sent
	LastError   string
	Version     string
}

// Mailer sends mail; the Graph adapter implements it with sendMail.
type Mailer interface {
	SendMail(ctx context.Context, to []string, subject, html, text string) error
}
