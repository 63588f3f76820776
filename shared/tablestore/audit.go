package tablestore

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

const (
	auditPK = "audit"
	headRK  = "head" // sorts after every record key (digits)
	// maxAppendRounds bounds how often one append re-reads the head after
	// losing a race to another appender.
	maxAppendRounds = 50
)

// seqRK is a record's RowKey: the inverted sequence number, so the newest
// record comes first.
func seqRK(seq int64) string { return fmt.Sprintf("%019d", math.MaxInt64-seq) }

// auditHead is the chain head: the newest record's sequence number and
// hash. etag is known when the head was read, empty after this process
// wrote it (a batch does not return ETags).
type auditHead struct {
	known, exists bool
	seq           int64
	hash          string
	etag          string
}

func (s *Store) readHead(ctx context.Context) (auditHead, error) {
	e, err := s.get(ctx, s.audit, auditPK, headRK)
	if statusOf(err) == http.StatusNotFound {
		return auditHead{known: true}, nil
	}
	if err != nil {
		return auditHead{}, err
	}
	rd := &reader{m: e.Props}
	h := auditHead{known: true, exists: true, seq: rd.i64("Seq"), hash: rd.str("Hash"), etag: e.ETag}
	if rd.err != nil {
		return auditHead{}, rd.err
	}
	return h, nil
}

func (s *Store) cachedHead() auditHead {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

func (s *Store) setHead(h auditHead) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.head = h
}

// AppendAudit implements domain.Store. One entity group transaction in the
// audit partition inserts record n+1 (RowKey = inverted n+1) and replaces
// the head entity with (n+1, hash). Two appenders that both read head n
// both try to insert record n+1: the service lets exactly one batch
// through; the other fails whole, re-reads the head and re-links its
// record. The head replace carries the head's ETag when this process read
// it; after its own append (a batch returns no ETags) the insert of n+1 is
// the guard on its own, which is enough because records are never
// deleted. So the chain cannot fork and VerifyChain holds. A batch whose
// answer was lost is recognised by the WriteId on record n+1, not by its
// hash: two records may have the same content.
func (s *Store) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	for round := 0; round < maxAppendRounds; round++ {
		h := s.cachedHead()
		if !h.known {
			var err error
			if h, err = s.readHead(ctx); err != nil {
				return s.fail(err, "reading the audit chain head")
			}
		}
		rec.PrevHash = h.hash
		rec.Hash = domain.AuditHash(*rec)
		seq := h.seq + 1
		wid := writeID()
		p := auditProps(rec, seq)
		if p.err != nil {
			return p.err
		}
		p.m["WriteId"] = wid
		recEnt := entity{PK: auditPK, RK: seqRK(seq), Props: p.m}
		if err := checkEntity(recEnt); err != nil {
			return err
		}
		headEnt := entity{PK: auditPK, RK: headRK, Props: map[string]any{
			"Seq": aztables.EDMInt64(seq), "Hash": rec.Hash, "Id": rec.ID, "WriteId": wid,
		}}
		rb, err := recEnt.marshal()
		if err != nil {
			return err
		}
		hb, err := headEnt.marshal()
		if err != nil {
			return err
		}
		actions := []aztables.TransactionAction{{ActionType: aztables.TransactionTypeAdd, Entity: rb}}
		if !h.exists {
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: hb})
		} else {
			etag := azcore.ETagAny
			if h.etag != "" {
				etag = azcore.ETag(h.etag)
			}
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateReplace, Entity: hb, IfMatch: &etag})
		}
		maybeApplied := false
		err = s.try(ctx, func(ctx context.Context, _ bool) error {
			_, err := s.audit.SubmitTransaction(ctx, actions, nil)
			maybeApplied = maybeApplied || mayHaveApplied(err)
			return err
		})
		if err == nil {
			s.setHead(auditHead{known: true, exists: true, seq: seq, hash: rec.Hash})
			return nil
		}
		s.setHead(auditHead{})
		st := statusOf(err)
		lost := st == http.StatusConflict || st == http.StatusPreconditionFailed
		if !lost && !maybeApplied {
			return s.fail(err, "appending audit record %s", rec.ID)
		}
		// Another appender got there first, or our batch may have landed
		// before a failure: record n+1 tells which, by its write id (two
		// records may well have the same content and hash).
		mine, gerr := s.get(ctx, s.audit, auditPK, seqRK(seq))
		switch {
		case gerr == nil && mine.Props["WriteId"] == wid:
			s.setHead(auditHead{known: true, exists: true, seq: seq, hash: rec.Hash})
			return nil
		case gerr != nil && statusOf(gerr) != http.StatusNotFound:
			return s.fail(gerr, "reading the audit log")
		case !lost:
			return s.fail(err, "appending audit record %s", rec.ID)
		}
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(time.Millisecond)*int64(5+round)))
		if err := sleep(ctx, time.Duration(j.Int64())); err != nil {
			return s.fail(err, "appending audit record %s", rec.ID)
		}
	}
	return domain.Errorf(domain.CodeTransient, "the audit log is busy: record %s was not appended after %d tries", rec.ID, maxAppendRounds)
}

// ListAudit implements domain.Store: newest first, one query per page.
func (s *Store) ListAudit(ctx context.Context, q domain.AuditQuery) (domain.Page[domain.AuditRecord], error) {
	after, err := decodeCursor(q.Cursor, "a")
	if err != nil {
		return domain.Page[domain.AuditRecord]{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 999)
	filter := "PartitionKey eq " + odataString(auditPK) + " and RowKey lt " + odataString(headRK)
	if after != "" {
		filter += " and RowKey gt " + odataString(after)
	}
	ents, _, err := s.query(ctx, s.audit, filter, limit+1)
	if err != nil {
		return domain.Page[domain.AuditRecord]{}, s.fail(err, "listing the audit log")
	}
	page := domain.Page[domain.AuditRecord]{}
	if len(ents) > limit {
		ents = ents[:limit]
		page.Next = encodeCursor("a", ents[limit-1].RK)
	}
	for _, e := range ents {
		r, err := auditFrom(e)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, r)
	}
	return page, nil
}
