package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// auditRec is an audit record as the engine stamps one.
func auditRec(id, action string, at time.Time) domain.AuditRecord {
	return domain.AuditRecord{ID: id, Time: at, ActorID: userA, Action: action, Category: "RoleManagement",
		Target: domain.RoleTarget(roleGA, "/"), PrincipalID: userA, Outcome: "success", InvocationID: "inv"}
}

// chained reads the whole audit log, oldest first, and fails the test
// unless it verifies as one hash chain.
func chained(t *testing.T, s domain.Store) []domain.AuditRecord {
	t.Helper()
	ctx := context.Background()
	var all []domain.AuditRecord
	q := domain.AuditQuery{Limit: 500}
	for {
		p, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	oldest := make([]domain.AuditRecord, len(all))
	for i, r := range all {
		oldest[len(all)-1-i] = r
	}
	if i := domain.VerifyChain(oldest); i != -1 {
		t.Fatalf("audit chain broken at record %d of %d", i, len(oldest))
	}
	return oldest
}

func auditIDs(recs []domain.AuditRecord) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		out[r.ID] = true
	}
	return out
}

// testAuditWithChange: the records a write carries are stored exactly when
// the write is, and are chained for readers; a refused write leaves none.
func testAuditWithChange(t *testing.T, s domain.Store) {
	ctx := context.Background()
	r := sampleRequest("req-audited")
	if err := s.CreateRequest(ctx, &r, auditRec("c-1", "request.create", base), auditRec("c-2", "request.note", base)); err != nil {
		t.Fatal(err)
	}
	stale := r
	r.Status = domain.StatusGranted
	if err := s.UpdateRequest(ctx, &r, auditRec("u-1", "request.grant", base.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	// Refused writes: a stale version, an id that exists.
	stale.Status = domain.StatusCanceled
	wantCode(t, s.UpdateRequest(ctx, &stale, auditRec("lost-1", "request.cancel", base.Add(2*time.Second))), domain.CodeConflict)
	dup := sampleRequest("req-audited")
	wantCode(t, s.CreateRequest(ctx, &dup, auditRec("lost-2", "request.create", base.Add(2*time.Second))), domain.CodeConflict)

	g := domain.Grant{PrincipalID: userA, Target: domain.RoleTarget(roleGA, "/"), Holders: []domain.Holder{{ScheduleID: "s-a", End: base.Add(time.Hour)}}, ModifiedAt: base}
	if err := s.PutGrant(ctx, &g, auditRec("g-1", "grant.add", base.Add(3*time.Second))); err != nil {
		t.Fatal(err)
	}
	staleG := g
	staleG.Version = "W/\"datetime'2001-01-01T00%3A00%3A00.0000000Z'\""
	wantCode(t, s.PutGrant(ctx, &staleG, auditRec("lost-3", "grant.add", base.Add(4*time.Second))), domain.CodeConflict)

	sc := domain.Schedule{ID: "s-audited", Kind: domain.KindAssignment, PrincipalID: userA, Target: domain.RoleTarget(roleGA, "/"),
		Start: base, End: base.Add(time.Hour), Status: domain.ScheduleProvisioned, AssignmentType: domain.AssignmentActivated, CreatedAt: base, ModifiedAt: base}
	if err := s.CreateSchedule(ctx, &sc, auditRec("s-1", "schedule.create", base.Add(5*time.Second))); err != nil {
		t.Fatal(err)
	}
	sc.Status, sc.EndedAt = domain.ScheduleExpired, base.Add(6*time.Second)
	if err := s.UpdateSchedule(ctx, &sc, auditRec("s-2", "schedule.expire", base.Add(6*time.Second))); err != nil {
		t.Fatal(err)
	}

	pol := domain.DefaultPolicy()
	pol.ID = domain.PolicyID(domain.RoleTarget(roleGA, "/"))
	pol.Scope, pol.Target, pol.ModifiedBy, pol.ModifiedAt = domain.ScopeTarget, domain.RoleTarget(roleGA, "/"), userA, base
	if err := s.PutPolicy(ctx, &pol, auditRec("p-1", "policy.update", base.Add(7*time.Second))); err != nil {
		t.Fatal(err)
	}
	stalePol := pol
	stalePol.Version = staleG.Version
	wantCode(t, s.PutPolicy(ctx, &stalePol, auditRec("lost-4", "policy.update", base.Add(8*time.Second))), domain.CodeConflict)
	// Whatever a store keeps beside a policy until its record is chained
	// is no policy.
	if ps, err := s.ListPolicies(ctx); err != nil || len(ps) != 1 || ps[0].ID != pol.ID {
		t.Fatalf("policies before chaining: %d %v", len(ps), err)
	}

	// A mail given up carries its record; a stale update of it does not.
	m := domain.Mail{ID: "mail-audited", Key: "k-audited", To: []string{"a@example.com"}, Subject: "s", Text: "t", CreatedAt: base, NextAttempt: base}
	if err := s.EnqueueMail(ctx, &m); err != nil {
		t.Fatal(err)
	}
	staleM := m
	m.Attempts, m.LastError, m.NextAttempt = 20, "refused", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.UpdateMail(ctx, &m, auditRec("m-1", "mail.giveUp", base.Add(9*time.Second))); err != nil {
		t.Fatal(err)
	}
	staleM.Attempts = 1
	wantCode(t, s.UpdateMail(ctx, &staleM, auditRec("lost-5", "mail.giveUp", base.Add(10*time.Second))), domain.CodeConflict)
	// Whatever a store keeps beside a queued mail is no mail.
	if due, err := s.MailDue(ctx, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0); err != nil || len(due) != 1 || due[0].ID != m.ID {
		t.Fatalf("mail due before chaining: %d %v", len(due), err)
	}

	got := auditIDs(chained(t, s))
	for _, id := range []string{"c-1", "c-2", "u-1", "g-1", "s-1", "s-2", "p-1", "m-1"} {
		if !got[id] {
			t.Errorf("record %s of a stored change is missing from the audit log", id)
		}
	}
	for _, id := range []string{"lost-1", "lost-2", "lost-3", "lost-4", "lost-5"} {
		if got[id] {
			t.Errorf("record %s describes a refused write, yet it is in the audit log", id)
		}
	}
	if len(got) != 8 {
		t.Errorf("audit log holds %d records, want 8", len(got))
	}
	// Chaining twice links nothing twice.
	if _, err := s.ChainAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(chained(t, s)); n != 8 {
		t.Errorf("after chaining again the log holds %d records, want 8", n)
	}
}

// testAuditUnderContention: writers racing on one request and on their own
// requests; every successful write's record is in the chain, none of the
// failed ones', and the chain verifies. Chain writers run meanwhile.
func testAuditUnderContention(t *testing.T, s domain.Store) {
	ctx := context.Background()
	const writers, rounds = 8, 4
	shared := sampleRequest("req-shared")
	if err := s.CreateRequest(ctx, &shared); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	written := map[string]bool{}
	refused := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := sampleRequest(fmt.Sprintf("req-own-%d", w))
			id := fmt.Sprintf("own-%d-create", w)
			if err := s.CreateRequest(ctx, &own, auditRec(id, "request.create", base)); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			written[id] = true
			mu.Unlock()
			for i := range rounds {
				own.Justification = fmt.Sprint("round ", i)
				id := fmt.Sprintf("own-%d-%d", w, i)
				if err := s.UpdateRequest(ctx, &own, auditRec(id, "request.update", base.Add(time.Duration(i)*time.Millisecond))); err != nil {
					t.Error(err)
					return
				}
				cur, err := s.GetRequest(ctx, "req-shared")
				if err != nil {
					t.Error(err)
					return
				}
				cur.Justification = id
				sid := fmt.Sprintf("shared-%d-%d", w, i)
				err = s.UpdateRequest(ctx, &cur, auditRec(sid, "request.update", base.Add(time.Duration(i)*time.Millisecond)))
				mu.Lock()
				written[id] = true
				if err == nil {
					written[sid] = true
				} else if domain.IsCode(err, domain.CodeConflict) {
					refused[sid] = true
				} else {
					t.Error(err)
				}
				mu.Unlock()
				if w%4 == 0 {
					if _, err := s.ChainAudit(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	got := auditIDs(chained(t, s))
	for id := range written {
		if !got[id] {
			t.Errorf("record %s of a stored change is missing", id)
		}
	}
	for id := range refused {
		if got[id] {
			t.Errorf("record %s of a refused write is in the log", id)
		}
	}
	if len(got) != len(written) {
		t.Errorf("audit log holds %d records; %d changes were made", len(got), len(written))
	}
}
