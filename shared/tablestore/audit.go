package tablestore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

const (
	auditPK = "audit"
	headRK  = "head" // sorts after every record key (digits)
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

// Pending records and their commit markers (see the package doc, "Audit
// outbox and chain"). A pending record waits in the audit partition under
// pendingRK until the chain writer links it; a record that accompanies a
// write also has a marker row (markRK) in the written entity's partition,
// inserted in the same entity group transaction as the entity itself: the
// marker is the proof that the change happened.
const (
	pendingPrefix = "p|"
	pendingEnd    = "p}" // '}' follows '|': the end of the pending range
	// markPrefix sorts after every escaped id and after mainRK: EscapeKey
	// never writes "~~", and main-table scans ask for RowKey eq '@'.
	markPrefix = "~~audit|"
	// chainBatch is how many records one chain transaction links: each
	// takes an insert and the delete of its pending row, plus the head, in
	// the limit of 100 operations per transaction.
	chainBatch = 49
	// maxPendingRead bounds one read of the pending rows.
	maxPendingRead = 1000
	// maxChainRounds bounds one ChainAudit call.
	maxChainRounds = 200
)

// auditMark is where a pending record's commit marker lives: the
// written entity's table and partition, and a fresh key. Keys are fresh
// rather than the record id's, so that two records with the same id (ids
// come from callers) never collide.
type auditMark struct {
	table, pk, rk string
}

// pendingEntity is a record waiting to be chained; mark is empty for a
// record that is its own proof (AppendAudit).
func (s *Store) pendingEntity(r *domain.AuditRecord, mark auditMark) (entity, error) {
	if r.ID == "" {
		return entity{}, domain.Invalid("audit.id", "is required")
	}
	r.PrevHash, r.Hash = "", ""
	p := auditProps(r, 0)
	if p.err != nil {
		return entity{}, p.err
	}
	p.str("MarkTable", mark.table)
	p.str("MarkPK", mark.pk)
	p.str("MarkRK", mark.rk)
	p.tm("WrittenAt", s.now())
	// Pending rows are chained in key order: the record's time, then the
	// store's clock, so records of one instant keep the order they were
	// written in.
	e := entity{PK: auditPK, RK: pendingPrefix + timeKey(r.Time) + "|" + timeKey(s.now()) + "|" + newGen(), Props: p.m}
	if err := checkKey(e.RK); err != nil {
		return entity{}, err
	}
	return e, checkEntity(e)
}

// writePending inserts pending records, in one transaction when there are
// several (one partition). Their keys are fresh, so a 409 on a retry is
// our own earlier attempt.
func (s *Store) writePending(ctx context.Context, ents []entity) error {
	if len(ents) == 0 {
		return nil
	}
	if len(ents) == 1 {
		return s.insertIndex(ctx, s.audit, ents[0])
	}
	actions := make([]aztables.TransactionAction, len(ents))
	for i, e := range ents {
		b, err := e.marshal()
		if err != nil {
			return err
		}
		actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: b}
	}
	return s.try(ctx, func(ctx context.Context, retried bool) error {
		_, err := s.audit.SubmitTransaction(ctx, actions, nil)
		if retried && statusOf(err) == http.StatusConflict {
			return nil
		}
		return err
	})
}

// pendingFor builds the pending rows and markers of the records that go
// with a write of the entity at (table, pk).
func (s *Store) pendingFor(table, pk string, audit []domain.AuditRecord) (pending, marks []entity, err error) {
	for i := range audit {
		r := audit[i]
		m := auditMark{table, pk, markPrefix + newGen()}
		e, err := s.pendingEntity(&r, m)
		if err != nil {
			return nil, nil, err
		}
		pending = append(pending, e)
		marks = append(marks, entity{PK: pk, RK: m.rk, Props: map[string]any{"AuditId": r.ID}})
	}
	return pending, marks, nil
}

// AppendAudit implements domain.Store: one insert of a pending record,
// which no other writer contends for; the chain writer links it.
func (s *Store) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	e, err := s.pendingEntity(rec, auditMark{})
	if err != nil {
		return err
	}
	if err := s.writePending(ctx, []entity{e}); err != nil {
		return s.fail(err, "writing audit record %s", rec.ID)
	}
	return nil
}

// pendingRecord is one pending row as the chain writer classifies it.
type pendingRecord struct {
	ent       entity
	rec       domain.AuditRecord
	mark      auditMark
	committed bool
	abandoned bool
}

// ChainAudit implements domain.Store. One round reads the pending
// records, keeps those whose change committed (their marker exists, or
// they need none), and links up to chainBatch of them in one transaction
// of the audit partition: insert records n+1..n+k, replace the head, and
// delete the k pending rows, each If-Match the ETag it was read with. Two
// chain writers that read the same pending rows cannot both link them:
// the second transaction fails whole (record n+1 exists, or a pending row
// is gone), and it re-reads. Pending rows whose marker is still missing
// staleGrace after they were written belong to a change that never
// happened; they are deleted in the same transaction, unchained.
func (s *Store) ChainAudit(ctx context.Context) (int, error) {
	linked := 0
	for round := 0; round < maxChainRounds; round++ {
		ents, _, err := s.query(ctx, s.audit, "PartitionKey eq "+odataString(auditPK)+" and RowKey ge "+odataString(pendingPrefix)+
			" and RowKey lt "+odataString(pendingEnd), maxPendingRead)
		if err != nil {
			return linked, s.fail(err, "reading pending audit records")
		}
		if len(ents) == 0 {
			return linked, nil
		}
		h := s.cachedHead()
		if !h.known {
			if h, err = s.readHead(ctx); err != nil {
				return linked, s.fail(err, "reading the audit chain head")
			}
		}
		pend, err := s.classify(ctx, ents)
		if err != nil {
			return linked, err
		}
		var commit, drop []pendingRecord
		for _, p := range pend {
			switch {
			case p.committed:
				commit = append(commit, p)
			case p.abandoned && len(drop) < 100-1-2*chainBatch:
				drop = append(drop, p)
			}
		}
		if len(commit) == 0 && len(drop) == 0 {
			return linked, nil
		}
		// Link what this read found, 49 per transaction, without reading
		// again unless another chain writer gets in between.
		lost := false
		for off := 0; off < len(commit) || (off == 0 && len(drop) > 0); off += chainBatch {
			batch := commit[off:min(off+chainBatch, len(commit))]
			var d []pendingRecord
			if off == 0 {
				d = drop
			}
			ok, err := s.linkBatch(ctx, h, batch, d)
			if err != nil {
				return linked, err
			}
			if !ok {
				lost = true
				break
			}
			linked += len(batch)
			h = s.cachedHead()
			// The markers have served: a leftover one is never read again.
			parallel(len(batch), func(i int) error {
				m := batch[i].mark
				if m.table == "" {
					return nil
				}
				return s.del(ctx, s.markTable(m.table), m.pk, m.rk, "")
			})
		}
		if lost {
			j, _ := rand.Int(rand.Reader, big.NewInt(int64(time.Millisecond)*int64(5+round%20)))
			if err := sleep(ctx, time.Duration(j.Int64())); err != nil {
				return linked, s.fail(err, "chaining audit records")
			}
			continue
		}
		if len(ents) < maxPendingRead && len(drop) < 100-1-2*chainBatch {
			return linked, nil // what was pending when this round read is linked
		}
	}
	return linked, domain.Errorf(domain.CodeTransient, "the audit chain is busy: records remain pending after %d rounds", maxChainRounds)
}

// classify decodes pending rows and looks up their markers (eight at a
// time).
func (s *Store) classify(ctx context.Context, ents []entity) ([]pendingRecord, error) {
	out := make([]pendingRecord, len(ents))
	for i, e := range ents {
		r, err := auditFrom(e)
		if err != nil {
			return nil, err
		}
		rd := &reader{m: e.Props}
		out[i] = pendingRecord{ent: e, rec: r, mark: auditMark{rd.str("MarkTable"), rd.str("MarkPK"), rd.str("MarkRK")}}
		written := rd.tm("WrittenAt")
		if rd.err != nil {
			return nil, wrapDecode(rd.err, "pending audit record", r.ID)
		}
		out[i].committed = out[i].mark.table == ""
		out[i].abandoned = s.now().Sub(written) > staleGrace
	}
	errs := parallel(len(out), func(i int) error {
		p := &out[i]
		if p.committed {
			return nil
		}
		c := s.markTable(p.mark.table)
		if c == nil {
			return domain.Errorf(domain.CodeInternal, "pending audit record %s names an unknown table %q", p.rec.ID, p.mark.table)
		}
		_, err := s.get(ctx, c, p.mark.pk, p.mark.rk)
		switch {
		case err == nil:
			p.committed = true
		case statusOf(err) != http.StatusNotFound:
			return s.fail(err, "reading the commit marker of audit record %s", p.rec.ID)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// markTable is the client of a table that holds commit markers.
func (s *Store) markTable(name string) *aztables.Client {
	switch name {
	case tblRequests:
		return s.requests.main
	case tblSchedules:
		return s.schedules.main
	case tblGrants:
		return s.grants.main
	case tblPolicies:
		return s.policies.c
	case tblMail:
		return s.mail.c
	}
	return nil
}

// linkBatch submits one chain transaction. ok is false when another chain
// writer won the race: the caller reads again.
func (s *Store) linkBatch(ctx context.Context, h auditHead, batch, drop []pendingRecord) (ok bool, err error) {
	var actions []aztables.TransactionAction
	add := func(t aztables.TransactionType, e entity, etag string) error {
		b, err := e.marshal()
		if err != nil {
			return err
		}
		a := aztables.TransactionAction{ActionType: t, Entity: b}
		if etag != "" {
			v := azcore.ETag(etag)
			a.IfMatch = &v
		}
		actions = append(actions, a)
		return nil
	}
	wid := writeID()
	seq, hash, lastID := h.seq, h.hash, ""
	for i, p := range batch {
		rec := p.rec
		rec.PrevHash = hash
		rec.Hash = domain.AuditHash(rec)
		seq++
		pr := auditProps(&rec, seq)
		if pr.err != nil {
			return false, pr.err
		}
		if i == 0 {
			pr.m["WriteId"] = wid
		}
		if err := add(aztables.TransactionTypeAdd, entity{PK: auditPK, RK: seqRK(seq), Props: pr.m}, ""); err != nil {
			return false, err
		}
		hash, lastID = rec.Hash, rec.ID
	}
	for _, p := range append(slices.Clip(batch), drop...) {
		if err := add(aztables.TransactionTypeDelete, entity{PK: auditPK, RK: p.ent.RK}, p.ent.ETag); err != nil {
			return false, err
		}
	}
	if len(batch) > 0 {
		head := entity{PK: auditPK, RK: headRK, Props: map[string]any{
			"Seq": aztables.EDMInt64(seq), "Hash": hash, "Id": lastID, "WriteId": wid,
		}}
		switch {
		case !h.exists:
			err = add(aztables.TransactionTypeAdd, head, "")
		case h.etag != "":
			err = add(aztables.TransactionTypeUpdateReplace, head, h.etag)
		default:
			err = add(aztables.TransactionTypeUpdateReplace, head, string(azcore.ETagAny))
		}
		if err != nil {
			return false, err
		}
	}
	maybeApplied := false
	err = s.try(ctx, func(ctx context.Context, _ bool) error {
		_, err := s.audit.SubmitTransaction(ctx, actions, nil)
		maybeApplied = maybeApplied || mayHaveApplied(err)
		return err
	})
	if err == nil {
		if len(batch) > 0 {
			s.setHead(auditHead{known: true, exists: true, seq: seq, hash: hash})
		}
		return true, nil
	}
	s.setHead(auditHead{})
	st := statusOf(err)
	lost := st == http.StatusConflict || st == http.StatusPreconditionFailed || st == http.StatusNotFound
	if !lost && !maybeApplied {
		return false, s.fail(err, "chaining audit records")
	}
	if len(batch) == 0 {
		return false, nil // only deletes: the next round reads what is left
	}
	// Lost to another chain writer, or our transaction landed before a
	// failure: record n+1 tells which, by its write id.
	first, gerr := s.get(ctx, s.audit, auditPK, seqRK(h.seq+1))
	switch {
	case gerr == nil && first.Props["WriteId"] == wid:
		s.setHead(auditHead{known: true, exists: true, seq: seq, hash: hash})
		return true, nil
	case gerr != nil && statusOf(gerr) != http.StatusNotFound:
		return false, s.fail(gerr, "reading the audit log")
	case !lost:
		return false, s.fail(err, "chaining audit records")
	}
	return false, nil
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
	if q.Cursor == "" {
		// Readers see every committed record: link what is pending first.
		if _, err := s.ChainAudit(ctx); err != nil {
			return domain.Page[domain.AuditRecord]{}, err
		}
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
