package enginetest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// countingStore counts the calls made to a store, by operation, so that a
// test can see on any store that a refusal wrote nothing or that the sweep
// asked the due index once. The counters are fixed at construction and
// atomic: counting takes no lock and allocates nothing, which keeps
// benchmarks on the memory store honest.
type countingStore struct {
	next domain.Store
	n    map[string]*atomic.Int64
	// afterDue, when set, runs once right after the due index is read: a
	// test puts a concurrent call between the sweep's read and its writes.
	afterDue func()
}

var storeOps = []string{
	"CreateRequest", "GetRequest", "UpdateRequest", "ListRequests",
	"CreateSchedule", "GetSchedule", "UpdateSchedule", "ListSchedules", "SchedulesDueBy",
	"GetGrant", "PutGrant", "UnsettledGrants",
	"GetPolicy", "PutPolicy", "ListPolicies",
	"AppendAudit", "ChainAudit", "ListAudit",
	"EnqueueMail", "MailDue", "UpdateMail",
	"ClaimOnce",
}

func newCountingStore(next domain.Store) *countingStore {
	s := &countingStore{next: next, n: map[string]*atomic.Int64{}}
	for _, op := range storeOps {
		s.n[op] = new(atomic.Int64)
	}
	return s
}

func (s *countingStore) count(op string) { s.n[op].Add(1) }

func (s *countingStore) calls() map[string]int {
	out := map[string]int{}
	for op, n := range s.n {
		if v := n.Load(); v > 0 {
			out[op] = int(v)
		}
	}
	return out
}

func (s *countingStore) CreateRequest(ctx context.Context, r *domain.Request, audit ...domain.AuditRecord) error {
	s.count("CreateRequest")
	return s.next.CreateRequest(ctx, r, audit...)
}

func (s *countingStore) GetRequest(ctx context.Context, id string) (domain.Request, error) {
	s.count("GetRequest")
	return s.next.GetRequest(ctx, id)
}

func (s *countingStore) UpdateRequest(ctx context.Context, r *domain.Request, audit ...domain.AuditRecord) error {
	s.count("UpdateRequest")
	return s.next.UpdateRequest(ctx, r, audit...)
}

func (s *countingStore) ListRequests(ctx context.Context, q domain.RequestQuery) (domain.Page[domain.Request], error) {
	s.count("ListRequests")
	return s.next.ListRequests(ctx, q)
}

func (s *countingStore) CreateSchedule(ctx context.Context, sc *domain.Schedule, audit ...domain.AuditRecord) error {
	s.count("CreateSchedule")
	return s.next.CreateSchedule(ctx, sc, audit...)
}

func (s *countingStore) GetSchedule(ctx context.Context, id string) (domain.Schedule, error) {
	s.count("GetSchedule")
	return s.next.GetSchedule(ctx, id)
}

func (s *countingStore) UpdateSchedule(ctx context.Context, sc *domain.Schedule, audit ...domain.AuditRecord) error {
	s.count("UpdateSchedule")
	return s.next.UpdateSchedule(ctx, sc, audit...)
}

func (s *countingStore) ListSchedules(ctx context.Context, q domain.ScheduleQuery) (domain.Page[domain.Schedule], error) {
	s.count("ListSchedules")
	return s.next.ListSchedules(ctx, q)
}

func (s *countingStore) SchedulesDueBy(ctx context.Context, t time.Time, limit int) ([]domain.Schedule, error) {
	s.count("SchedulesDueBy")
	due, err := s.next.SchedulesDueBy(ctx, t, limit)
	if h := s.afterDue; h != nil {
		s.afterDue = nil
		h()
	}
	return due, err
}

func (s *countingStore) GetGrant(ctx context.Context, key string) (domain.Grant, error) {
	s.count("GetGrant")
	return s.next.GetGrant(ctx, key)
}

func (s *countingStore) PutGrant(ctx context.Context, g *domain.Grant, audit ...domain.AuditRecord) error {
	s.count("PutGrant")
	return s.next.PutGrant(ctx, g, audit...)
}

func (s *countingStore) UnsettledGrants(ctx context.Context, limit int) ([]domain.Grant, error) {
	s.count("UnsettledGrants")
	return s.next.UnsettledGrants(ctx, limit)
}

func (s *countingStore) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	s.count("GetPolicy")
	return s.next.GetPolicy(ctx, id)
}

func (s *countingStore) PutPolicy(ctx context.Context, p *domain.Policy, audit ...domain.AuditRecord) error {
	s.count("PutPolicy")
	return s.next.PutPolicy(ctx, p, audit...)
}

func (s *countingStore) ListPolicies(ctx context.Context) ([]domain.Policy, error) {
	s.count("ListPolicies")
	return s.next.ListPolicies(ctx)
}

func (s *countingStore) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	s.count("AppendAudit")
	return s.next.AppendAudit(ctx, rec)
}

func (s *countingStore) ChainAudit(ctx context.Context) (int, error) {
	s.count("ChainAudit")
	return s.next.ChainAudit(ctx)
}

func (s *countingStore) ListAudit(ctx context.Context, q domain.AuditQuery) (domain.Page[domain.AuditRecord], error) {
	s.count("ListAudit")
	return s.next.ListAudit(ctx, q)
}

func (s *countingStore) EnqueueMail(ctx context.Context, m *domain.Mail) error {
	s.count("EnqueueMail")
	return s.next.EnqueueMail(ctx, m)
}

func (s *countingStore) MailDue(ctx context.Context, t time.Time, limit int) ([]domain.Mail, error) {
	s.count("MailDue")
	return s.next.MailDue(ctx, t, limit)
}

func (s *countingStore) UpdateMail(ctx context.Context, m *domain.Mail, audit ...domain.AuditRecord) error {
	s.count("UpdateMail")
	return s.next.UpdateMail(ctx, m, audit...)
}

func (s *countingStore) ClaimOnce(ctx context.Context, key string, expires time.Time) error {
	s.count("ClaimOnce")
	return s.next.ClaimOnce(ctx, key, expires)
}
