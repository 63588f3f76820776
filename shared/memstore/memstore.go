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

// Store is safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	seq       int64
	requests  map[string]domain.Request
	schedules map[string]domain.Schedule
	grants    map[string]domain.Grant
	policies  map[string]domain.Policy
	audit     []domain.AuditRecord
	mail      map[string]domain.Mail
	claims    map[string]time.Time
	// Calls counts operations by name, for round-trip figures in benchmarks.
	calls map[string]int
}

// New returns an empty store.
func New() *Store {
	return &Store{
		requests:  map[string]domain.Request{},
		schedules: map[string]domain.Schedule{},
		grants:    map[string]domain.Grant{},
		policies:  map[string]domain.Policy{},
		mail:      map[string]domain.Mail{},
		calls:     map[string]int{},
	}
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

func (s *Store) next(op string) string {
	s.calls[op]++
	s.seq++
	return strconv.FormatInt(s.seq, 10)
}

func (s *Store) count(op string) { s.calls[op]++ }

func conflict(what, id string) error {
	return domain.Errorf(domain.CodeConflict, "%s %s was changed by someone else; read it again", what, id)
}

func notFound(what, id string) error {
	return domain.Errorf(domain.CodeNotFound, "%s %s does not exist", what, id)
}

func exists(what, id string) error {
	return domain.Errorf(domain.CodeConflict, "%s %s already exists", what, id)
}

// CreateRequest implements domain.Store.
func (s *Store) CreateRequest(ctx context.Context, r *domain.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		s.count("CreateRequest")
		return exists("request", r.ID)
	}
	r.Version = s.next("CreateRequest")
	s.requests[r.ID] = r.Clone()
	return nil
}

// GetRequest implements domain.Store.
func (s *Store) GetRequest(ctx context.Context, id string) (domain.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("GetRequest")
	r, ok := s.requests[id]
	if !ok {
		return domain.Request{}, notFound("request", id)
	}
	return r.Clone(), nil
}

// UpdateRequest implements domain.Store.
func (s *Store) UpdateRequest(ctx context.Context, r *domain.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.requests[r.ID]
	if !ok {
		s.count("UpdateRequest")
		return notFound("request", r.ID)
	}
	if cur.Version != r.Version {
		s.count("UpdateRequest")
		return conflict("request", r.ID)
	}
	r.Version = s.next("UpdateRequest")
	s.requests[r.ID] = r.Clone()
	return nil
}

// ListRequests implements domain.Store, oldest first.
func (s *Store) ListRequests(ctx context.Context, q domain.RequestQuery) (domain.Page[domain.Request], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ListRequests")
	var all []domain.Request
	for _, r := range s.requests {
		if (q.Kind == "" || r.Kind == q.Kind) && (q.PrincipalID == "" || r.PrincipalID == q.PrincipalID) &&
			(q.TargetKey == "" || r.Target.Key() == q.TargetKey) && (len(q.Statuses) == 0 || slices.Contains(q.Statuses, r.Status)) {
			all = append(all, r.Clone())
		}
	}
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
func (s *Store) CreateSchedule(ctx context.Context, sc *domain.Schedule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.schedules[sc.ID]; ok {
		s.count("CreateSchedule")
		return exists("schedule", sc.ID)
	}
	sc.Version = s.next("CreateSchedule")
	s.schedules[sc.ID] = *sc
	return nil
}

// GetSchedule implements domain.Store.
func (s *Store) GetSchedule(ctx context.Context, id string) (domain.Schedule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("GetSchedule")
	sc, ok := s.schedules[id]
	if !ok {
		return domain.Schedule{}, notFound("schedule", id)
	}
	return sc, nil
}

// UpdateSchedule implements domain.Store.
func (s *Store) UpdateSchedule(ctx context.Context, sc *domain.Schedule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.schedules[sc.ID]
	if !ok {
		s.count("UpdateSchedule")
		return notFound("schedule", sc.ID)
	}
	if cur.Version != sc.Version {
		s.count("UpdateSchedule")
		return conflict("schedule", sc.ID)
	}
	sc.Version = s.next("UpdateSchedule")
	s.schedules[sc.ID] = *sc
	return nil
}

// ListSchedules implements domain.Store, ordered by start then id.
func (s *Store) ListSchedules(ctx context.Context, q domain.ScheduleQuery) (domain.Page[domain.Schedule], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ListSchedules")
	var all []domain.Schedule
	for _, sc := range s.schedules {
		if (q.Kind == "" || sc.Kind == q.Kind) && (q.PrincipalID == "" || sc.PrincipalID == q.PrincipalID) &&
			(q.TargetKey == "" || sc.Target.Key() == q.TargetKey) && (q.IncludeEnded || sc.Status == domain.ScheduleProvisioned) {
			all = append(all, sc)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].Start.Equal(all[j].Start) {
			return all[i].Start.Before(all[j].Start)
		}
		return all[i].ID < all[j].ID
	})
	return page(all, q.Cursor, q.Limit)
}

// SchedulesEndingBy implements domain.Store. The in-memory store scans; the
// Table Storage store reads a time-bucketed index.
func (s *Store) SchedulesEndingBy(ctx context.Context, t time.Time, limit int) ([]domain.Schedule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("SchedulesEndingBy")
	var due []domain.Schedule
	for _, sc := range s.schedules {
		if sc.Status == domain.ScheduleProvisioned && !sc.End.IsZero() && !sc.End.After(t) {
			due = append(due, sc)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].End.Equal(due[j].End) {
			return due[i].End.Before(due[j].End)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("GetGrant")
	g, ok := s.grants[key]
	if !ok {
		return domain.Grant{}, notFound("grant", key)
	}
	return g.Clone(), nil
}

// PutGrant implements domain.Store.
func (s *Store) PutGrant(ctx context.Context, g *domain.Grant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := g.Key()
	cur, ok := s.grants[key]
	switch {
	case g.Version == "" && ok:
		s.count("PutGrant")
		return exists("grant", key)
	case g.Version != "" && (!ok || cur.Version != g.Version):
		s.count("PutGrant")
		return conflict("grant", key)
	}
	g.Version = s.next("PutGrant")
	s.grants[key] = g.Clone()
	return nil
}

// UnsettledGrants implements domain.Store.
func (s *Store) UnsettledGrants(ctx context.Context, limit int) ([]domain.Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("UnsettledGrants")
	var out []domain.Grant
	for _, g := range s.grants {
		if !g.Settled() {
			out = append(out, g.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// GetPolicy implements domain.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("GetPolicy")
	p, ok := s.policies[id]
	if !ok {
		return domain.Policy{}, notFound("policy", id)
	}
	return p.Clone(), nil
}

// PutPolicy implements domain.Store.
func (s *Store) PutPolicy(ctx context.Context, p *domain.Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.policies[p.ID]
	switch {
	case p.Version == "" && ok:
		s.count("PutPolicy")
		return exists("policy", p.ID)
	case p.Version != "" && (!ok || cur.Version != p.Version):
		s.count("PutPolicy")
		return conflict("policy", p.ID)
	}
	p.Version = s.next("PutPolicy")
	s.policies[p.ID] = p.Clone()
	return nil
}

// ListPolicies implements domain.Store, ordered by id.
func (s *Store) ListPolicies(ctx context.Context) ([]domain.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ListPolicies")
	out := make([]domain.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		out = append(out, p.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AppendAudit implements domain.Store. Records are hash-chained in order.
func (s *Store) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("AppendAudit")
	prev := ""
	if n := len(s.audit); n > 0 {
		prev = s.audit[n-1].Hash
	}
	rec.PrevHash = prev
	rec.Hash = domain.AuditHash(*rec)
	c := *rec
	c.Details = maps.Clone(rec.Details)
	s.audit = append(s.audit, c)
	return nil
}

// ListAudit implements domain.Store, newest first.
func (s *Store) ListAudit(ctx context.Context, q domain.AuditQuery) (domain.Page[domain.AuditRecord], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ListAudit")
	all := make([]domain.AuditRecord, len(s.audit))
	for i, r := range s.audit {
		r.Details = maps.Clone(r.Details)
		all[len(s.audit)-1-i] = r
	}
	return page(all, q.Cursor, q.Limit)
}

// EnqueueMail implements domain.Store.
func (s *Store) EnqueueMail(ctx context.Context, m *domain.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mail[m.ID]; ok {
		s.count("EnqueueMail")
		return exists("mail", m.ID)
	}
	m.Version = s.next("EnqueueMail")
	c := *m
	c.To = slices.Clone(m.To)
	s.mail[m.ID] = c
	return nil
}

// MailDue implements domain.Store.
func (s *Store) MailDue(ctx context.Context, t time.Time, limit int) ([]domain.Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("MailDue")
	var out []domain.Mail
	for _, m := range s.mail {
		if m.SentAt.IsZero() && !m.NextAttempt.After(t) {
			m.To = slices.Clone(m.To)
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

// UpdateMail implements domain.Store.
func (s *Store) UpdateMail(ctx context.Context, m *domain.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.mail[m.ID]
	if !ok {
		s.count("UpdateMail")
		return notFound("mail", m.ID)
	}
	if cur.Version != m.Version {
		s.count("UpdateMail")
		return conflict("mail", m.ID)
	}
	m.Version = s.next("UpdateMail")
	c := *m
	c.To = slices.Clone(m.To)
	s.mail[m.ID] = c
	return nil
}

// ClaimOnce implements domain.Store.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ClaimOnce")
	if s.claims == nil {
		s.claims = map[string]time.Time{}
	}
	if _, ok := s.claims[key]; ok {
		return domain.Errorf(domain.CodeConflict, "%s was already used", key)
	}
	s.claims[key] = expires
	return nil
}
