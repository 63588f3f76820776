// Package memstore is an in-memory domain.Store for unit tests and
// benchmarks. It keeps the same contract as the Table Storage store
// (conditional writes on versions, create-if-absent), proven by the shared
// conformance suite in package storetest.
package memstore

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Store is safe for concurrent use: one mutex guards all of its state,
// the alerts and access reviews included.
type Store struct {
	mu sync.Mutex
	// seq numbers the versions of the domain.Store records; alerts and
	// reviews number theirs apart, as they always have.
	seq, alertSeq, reviewSeq versions

	requests  *table[domain.Request]
	schedules *table[domain.Schedule]
	grants    *table[domain.Grant]
	policies  *table[domain.Policy]
	mail      *table[domain.Mail]
	audit     []domain.AuditRecord
	claims    map[string]time.Time

	alerts      *table[domain.Alert]
	definitions *table[domain.ReviewDefinition]
	instances   *table[domain.ReviewInstance]
	decisions   map[string]*table[domain.ReviewDecision] // by instance

	// calls counts operations by name, for round-trip figures in benchmarks.
	calls map[string]int
}

// New returns an empty store.
func New() *Store {
	s := &Store{
		alertSeq: versions{prefix: "a"},
		claims:   map[string]time.Time{},
		calls:    map[string]int{},
	}
	s.requests = newTable("request", &s.seq, domain.Request.Clone, func(r *domain.Request) *string { return &r.Version })
	s.schedules = newTable("schedule", &s.seq, plain[domain.Schedule], func(sc *domain.Schedule) *string { return &sc.Version })
	s.grants = newTable("grant", &s.seq, domain.Grant.Clone, func(g *domain.Grant) *string { return &g.Version })
	s.policies = newTable("policy", &s.seq, domain.Policy.Clone, func(p *domain.Policy) *string { return &p.Version })
	s.mail = newTable("mail", &s.seq, cloneMail, func(m *domain.Mail) *string { return &m.Version })
	s.alerts = newTable("alert", &s.alertSeq, cloneAlert, func(a *domain.Alert) *string { return &a.Version })
	s.definitions = newTable("access review definition", &s.reviewSeq, domain.ReviewDefinition.Clone,
		func(d *domain.ReviewDefinition) *string { return &d.Version })
	s.instances = newTable("access review instance", &s.reviewSeq, domain.ReviewInstance.Clone,
		func(in *domain.ReviewInstance) *string { return &in.Version })
	s.decisions = map[string]*table[domain.ReviewDecision]{}
	return s
}

// Calls returns a copy of the per-operation call counts.
func (s *Store) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls zeroes the call counts.
func (s *Store) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// lock takes the store's mutex and counts op; callers unlock.
func (s *Store) lock(op string) {
	s.mu.Lock()
	s.calls[op]++
}

func cloneMail(m domain.Mail) domain.Mail {
	m.To = slices.Clone(m.To)
	return m
}

// CreateRequest implements domain.Store.
func (s *Store) CreateRequest(ctx context.Context, r *domain.Request, audit ...domain.AuditRecord) error {
	s.lock("CreateRequest")
	defer s.mu.Unlock()
	return s.withAudit(s.requests.create(r.ID, r), audit)
}

// GetRequest implements domain.Store.
func (s *Store) GetRequest(ctx context.Context, id string) (domain.Request, error) {
	s.lock("GetRequest")
	defer s.mu.Unlock()
	return s.requests.get(id)
}

// UpdateRequest implements domain.Store.
func (s *Store) UpdateRequest(ctx context.Context, r *domain.Request, audit ...domain.AuditRecord) error {
	s.lock("UpdateRequest")
	defer s.mu.Unlock()
	return s.withAudit(s.requests.update(r.ID, r), audit)
}

// ListRequests implements domain.Store, oldest first.
func (s *Store) ListRequests(ctx context.Context, q domain.RequestQuery) (domain.Page[domain.Request], error) {
	s.lock("ListRequests")
	defer s.mu.Unlock()
	all := s.requests.filter(func(r *domain.Request) bool {
		return (q.Kind == "" || r.Kind == q.Kind) && (q.PrincipalID == "" || r.PrincipalID == q.PrincipalID) &&
			(q.TargetKey == "" || r.Target.Key() == q.TargetKey) && (len(q.Statuses) == 0 || slices.Contains(q.Statuses, r.Status))
	})
	sort.Slice(all, func(i, j int) bool {
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.Before(all[j].CreatedAt)
		}
		return all[i].ID < all[j].ID
	})
	return page(all, q.Cursor, q.Limit)
}

func page[T any](all []T, cursor string, limit int) (domain.Page[T], error) {
	start := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return domain.Page[T]{}, domain.Invalid("$skiptoken", "is not a token this service issued")
		}
		start = min(n, len(all))
	}
	if limit <= 0 {
		limit = 100
	}
	end := min(start+limit, len(all))
	p := domain.Page[T]{Items: all[start:end]}
	if end < len(all) {
		p.Next = strconv.Itoa(end)
	}
	return p, nil
}

// CreateSchedule implements domain.Store.
func (s *Store) CreateSchedule(ctx context.Context, sc *domain.Schedule, audit ...domain.AuditRecord) error {
	s.lock("CreateSchedule")
	defer s.mu.Unlock()
	return s.withAudit(s.schedules.create(sc.ID, sc), audit)
}

// GetSchedule implements domain.Store.
func (s *Store) GetSchedule(ctx context.Context, id string) (domain.Schedule, error) {
	s.lock("GetSchedule")
	defer s.mu.Unlock()
	return s.schedules.get(id)
}

// UpdateSchedule implements domain.Store.
func (s *Store) UpdateSchedule(ctx context.Context, sc *domain.Schedule, audit ...domain.AuditRecord) error {
	s.lock("UpdateSchedule")
	defer s.mu.Unlock()
	return s.withAudit(s.schedules.update(sc.ID, sc), audit)
}

// ListSchedules implements domain.Store, ordered by start then id.
func (s *Store) ListSchedules(ctx context.Context, q domain.ScheduleQuery) (domain.Page[domain.Schedule], error) {
	s.lock("ListSchedules")
	defer s.mu.Unlock()
	all := s.schedules.filter(func(sc *domain.Schedule) bool {
		return (q.Kind == "" || sc.Kind == q.Kind) && (q.PrincipalID == "" || sc.PrincipalID == q.PrincipalID) &&
			(q.TargetKey == "" || sc.Target.Key() == q.TargetKey) && (q.IncludeEnded || sc.Status == domain.ScheduleProvisioned)
	})
	sort.Slice(all, func(i, j int) bool {
		if !all[i].Start.Equal(all[j].Start) {
			return all[i].Start.Before(all[j].Start)
		}
		return all[i].ID < all[j].ID
	})
	return page(all, q.Cursor, q.Limit)
}

// SchedulesDueBy implements domain.Store. The in-memory store scans; the
// Table Storage store reads a time-bucketed index.
func (s *Store) SchedulesDueBy(ctx context.Context, t time.Time, limit int) ([]domain.Schedule, error) {
	s.lock("SchedulesDueBy")
	defer s.mu.Unlock()
	due := s.schedules.filter(func(sc *domain.Schedule) bool {
		d := sc.DueAt()
		return !d.IsZero() && !d.After(t)
	})
	sort.Slice(due, func(i, j int) bool {
		if di, dj := due[i].DueAt(), due[j].DueAt(); !di.Equal(dj) {
			return di.Before(dj)
		}
		return due[i].ID < due[j].ID
	})
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	return due, nil
}

// GetGrant implements domain.Store.
func (s *Store) GetGrant(ctx context.Context, key string) (domain.Grant, error) {
	s.lock("GetGrant")
	defer s.mu.Unlock()
	return s.grants.get(key)
}

// PutGrant implements domain.Store.
func (s *Store) PutGrant(ctx context.Context, g *domain.Grant, audit ...domain.AuditRecord) error {
	s.lock("PutGrant")
	defer s.mu.Unlock()
	return s.withAudit(s.grants.put(g.Key(), g), audit)
}

// UnsettledGrants implements domain.Store.
func (s *Store) UnsettledGrants(ctx context.Context, limit int) ([]domain.Grant, error) {
	s.lock("UnsettledGrants")
	defer s.mu.Unlock()
	out := s.grants.filter(func(g *domain.Grant) bool { return !g.Settled() })
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// GetPolicy implements domain.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	s.lock("GetPolicy")
	defer s.mu.Unlock()
	return s.policies.get(id)
}

// PutPolicy implements domain.Store.
func (s *Store) PutPolicy(ctx context.Context, p *domain.Policy, audit ...domain.AuditRecord) error {
	s.lock("PutPolicy")
	defer s.mu.Unlock()
	return s.withAudit(s.policies.put(p.ID, p), audit)
}

// ListPolicies implements domain.Store, ordered by id.
func (s *Store) ListPolicies(ctx context.Context) ([]domain.Policy, error) {
	s.lock("ListPolicies")
	defer s.mu.Unlock()
	out := s.policies.all()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AppendAudit implements domain.Store. Records are hash-chained in order.
func (s *Store) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	s.lock("AppendAudit")
	defer s.mu.Unlock()
	*rec = s.chain(*rec)
	return nil
}

// withAudit chains the records of a write that succeeded (err nil), under
// the same lock as the write: the change and its records are one step.
func (s *Store) withAudit(err error, audit []domain.AuditRecord) error {
	if err != nil {
		return err
	}
	for _, r := range audit {
		s.chain(r)
	}
	return nil
}

// chain links one record after the newest; the caller holds the lock.
func (s *Store) chain(rec domain.AuditRecord) domain.AuditRecord {
	prev := ""
	if n := len(s.audit); n > 0 {
		prev = s.audit[n-1].Hash
	}
	rec.PrevHash = prev
	rec.Hash = domain.AuditHash(rec)
	c := rec
	c.Details = maps.Clone(rec.Details)
	s.audit = append(s.audit, c)
	return rec
}

// ChainAudit implements domain.Store: the memory store links every record
// as it is written, so nothing is ever pending.
func (s *Store) ChainAudit(ctx context.Context) (int, error) { return 0, nil }

// ListAudit implements domain.Store, newest first.
func (s *Store) ListAudit(ctx context.Context, q domain.AuditQuery) (domain.Page[domain.AuditRecord], error) {
	s.lock("ListAudit")
	defer s.mu.Unlock()
	all := make([]domain.AuditRecord, len(s.audit))
	for i, r := range s.audit {
		r.Details = maps.Clone(r.Details)
		all[len(s.audit)-1-i] = r
	}
	return page(all, q.Cursor, q.Limit)
}

// EnqueueMail implements domain.Store.
func (s *Store) EnqueueMail(ctx context.Context, m *domain.Mail) error {
	s.lock("EnqueueMail")
	defer s.mu.Unlock()
	return s.mail.create(m.ID, m)
}

// MailDue implements domain.Store.
func (s *Store) MailDue(ctx context.Context, t time.Time, limit int) ([]domain.Mail, error) {
	s.lock("MailDue")
	defer s.mu.Unlock()
	out := s.mail.filter(func(m *domain.Mail) bool { return m.SentAt.IsZero() && !m.NextAttempt.After(t) })
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

// UpdateMail implements domain.Store.
func (s *Store) UpdateMail(ctx context.Context, m *domain.Mail, audit ...domain.AuditRecord) error {
	s.lock("UpdateMail")
	defer s.mu.Unlock()
	return s.withAudit(s.mail.update(m.ID, m), audit)
}

// ClaimOnce implements domain.Store.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) error {
	s.lock("ClaimOnce")
	defer s.mu.Unlock()
	if _, ok := s.claims[key]; ok {
		return domain.Errorf(domain.CodeConflict, "%s was already used", key)
	}
	s.claims[key] = expires
	return nil
}
