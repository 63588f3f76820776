package tablestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// mainRK is the RowKey of every main entity: one entity per partition.
const mainRK = "@"

// family is a kind of record kept as main entities (PartitionKey = escaped
// id) plus index entities in a second table.
type family struct {
	kind
	name        string // the main table's name without prefix: where its audit markers are
	main, index *aztables.Client
}

// ixRef names one index entity a main entity references. Its RowKey ends
// in a generation suffix written once, so a key is never reused.
type ixRef struct{ PK, RK, FP string }

func (r ixRef) MarshalJSON() ([]byte, error) { return json.Marshal([3]string{r.PK, r.RK, r.FP}) }

func (r *ixRef) UnmarshalJSON(b []byte) error {
	var a [3]string
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	r.PK, r.RK, r.FP = a[0], a[1], a[2]
	return nil
}

// ixWant is an index entry a record's current content calls for: its
// partition, its RowKey before the generation suffix, and the properties
// readers filter on.
type ixWant struct {
	PK, Prefix string
	Props      map[string]string
}

func (w ixWant) fingerprint() string {
	keys := make([]string, 0, len(w.Props))
	for k := range w.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(w.Props[k]), w.Props[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (w ixWant) matches(r ixRef) bool {
	return r.PK == w.PK && len(r.RK) == len(w.Prefix)+1+genLen &&
		strings.HasPrefix(r.RK, w.Prefix+"|") && r.FP == w.fingerprint()
}

// refsOf reads the index references a main entity holds.
func refsOf(e entity) ([]ixRef, error) {
	s, _ := e.Props["Idx"].(string)
	if s == "" {
		return nil, nil
	}
	var refs []ixRef
	if err := json.Unmarshal([]byte(s), &refs); err != nil {
		return nil, fmt.Errorf("tablestore: bad index references on %s: %w", e.PK, err)
	}
	return refs, nil
}

// cached is what this process knows of one version of a record: the index
// entries that version references. It saves the read-before-write an
// update otherwise needs to find the entries it replaces.
type cached struct {
	etag string
	refs []ixRef
}

func (s *Store) remember(f *family, id, etag string, refs []ixRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= cacheMax {
		clear(s.cache)
	}
	s.cache[f.what+"\x00"+id] = cached{etag, refs}
}

func (s *Store) recall(f *family, id, etag string) ([]ixRef, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[f.what+"\x00"+id]
	if !ok || c.etag != etag {
		return nil, false
	}
	return c.refs, true
}

func (s *Store) forget(f *family, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, f.what+"\x00"+id)
}

// put creates (version "") or conditionally replaces the record id with
// the given properties and index entries. The order is what keeps the
// indexes safe (see the package doc):
//
//  1. index entries the new content needs and the old one lacks are
//     inserted, under fresh generation keys;
//  2. the main entity is written (insert, or replace If-Match version),
//     naming in "Idx" exactly the index entries it relies on;
//  3. only after that succeeds are the entries it no longer names deleted.
//
// A crash anywhere leaves at worst unreferenced index entries, which
// readers skip and eventually delete; it never leaves a record without
// the entries it names.
func (s *Store) put(ctx context.Context, f *family, id string, p *props, wants []ixWant, version string, audit []domain.AuditRecord) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	pk := EscapeKey(id)
	if err := (key{pk, mainRK, id}).check(); err != nil {
		return "", err
	}

	// What does the current version reference?
	var old []ixRef
	if version != "" {
		if refs, ok := s.recall(f, id, version); ok {
			old = refs
		} else {
			cur, err := s.get(ctx, f.main, pk, mainRK)
			switch {
			case statusOf(err) == http.StatusNotFound:
				return "", f.missing(id, nil)
			case err != nil:
				return "", s.fail(err, "reading %s %s", f.what, id)
			case cur.ETag != version:
				return "", f.changed(id, nil)
			}
			if old, err = refsOf(cur); err != nil {
				return "", domain.Wrap(domain.CodeInternal, err, "reading %s %s", f.what, id)
			}
		}
	}

	// Plan: keep the entries whose key and filter properties still hold,
	// add fresh ones for the rest, drop what is no longer wanted.
	var refs []ixRef
	var fresh []entity
	kept := map[int]bool{}
	for _, w := range wants {
		i := slices.IndexFunc(old, w.matches)
		if i >= 0 && !kept[i] {
			kept[i] = true
			refs = append(refs, old[i])
			continue
		}
		r := ixRef{PK: w.PK, RK: w.Prefix + "|" + newGen(), FP: w.fingerprint()}
		refs = append(refs, r)
		ip := map[string]any{"Id": id}
		for k, v := range w.Props {
			if v != "" {
				ip[k] = v
			}
		}
		fresh = append(fresh, entity{PK: r.PK, RK: r.RK, Props: ip})
	}
	var stale []ixRef
	for i, r := range old {
		if !kept[i] {
			stale = append(stale, r)
		}
	}
	idx, err := json.Marshal(refs)
	if err != nil {
		return "", err
	}
	p.m["Idx"] = string(idx)
	p.m["WriteId"] = writeID()
	main := entity{PK: pk, RK: mainRK, Props: p.m}
	if err := checkEntity(main); err != nil {
		return "", err
	}
	for _, e := range fresh {
		if err := checkEntity(e); err != nil {
			return "", err
		}
	}
	pending, marks, err := s.pendingFor(f.name, pk, audit)
	if err != nil {
		return "", err
	}

	// 0. The audit records, pending, so the chain writer finds them; their
	// markers go in one transaction with the entity (step 2).
	start := time.Now()
	if err := s.writePending(ctx, pending); err != nil {
		return "", s.fail(err, "recording the audit records of %s %s", f.what, id)
	}

	// 1. New index entries first.
	errs := parallel(len(fresh), func(i int) error { return s.insertIndex(ctx, f.index, fresh[i]) })
	if err := errors.Join(errs...); err != nil {
		s.dropIndex(ctx, f.index, fresh)
		s.dropIndex(ctx, s.audit, pending)
		return "", s.fail(err, "indexing %s %s", f.what, id)
	}

	// 2. The record itself.
	etag, maybeApplied, err := s.writeMain(ctx, f.main, main, version, start, marks...)
	if err != nil {
		s.forget(f, id)
		st := statusOf(err)
		if !maybeApplied || st == http.StatusConflict || st == http.StatusPreconditionFailed || st == http.StatusNotFound {
			// Definitely not written: nobody references the fresh entries,
			// and the records describe a change that did not happen.
			s.dropIndex(ctx, f.index, fresh)
			s.dropIndex(ctx, s.audit, pending)
		}
		return "", f.writeFailed(s, id, err)
	}

	// 3. Entries the new version no longer names. Best effort: a leftover
	// is unreferenced, so readers skip it and clean it up later.
	olds := make([]entity, len(stale))
	for i, r := range stale {
		olds[i] = entity{PK: r.PK, RK: r.RK}
	}
	s.dropIndex(ctx, f.index, olds)
	s.remember(f, id, etag, refs)
	return etag, nil
}

// insertIndex adds one index entity. Its key is fresh, so a 409 after a
// retry can only be our own earlier attempt.
func (s *Store) insertIndex(ctx context.Context, c *aztables.Client, e entity) error {
	body, err := e.marshal()
	if err != nil {
		return err
	}
	return s.try(ctx, func(ctx context.Context, retried bool) error {
		_, err := c.AddEntity(ctx, body, nil)
		if retried && statusOf(err) == http.StatusConflict {
			return nil
		}
		return err
	})
}

// dropIndex deletes index entities, best effort.
func (s *Store) dropIndex(ctx context.Context, c *aztables.Client, ents []entity) {
	parallel(len(ents), func(i int) error { return s.del(ctx, c, ents[i].PK, ents[i].RK, ents[i].ETag) })
}

// writeMain inserts (version "") or replaces If-Match version one entity
// carrying a WriteId. When a retry meets 409/412 it reads the entity back:
// if the WriteId is ours, the earlier attempt landed and this is success.
// maybeApplied reports an attempt that failed in a way that may have
// written. A non-zero start refuses to send once writeDeadline has passed.
// marks are more rows of e's partition sent in the same entity group
// transaction: each inserted, or written whatever is there when its ETag
// is upsert.
func (s *Store) writeMain(ctx context.Context, c *aztables.Client, e entity, version string, start time.Time, marks ...entity) (etag string, maybeApplied bool, err error) {
	body, err := e.marshal()
	if err != nil {
		return "", false, err
	}
	wid, _ := e.Props["WriteId"].(string)
	var actions []aztables.TransactionAction
	if len(marks) > 0 {
		a := aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: body}
		if version != "" {
			v := azcore.ETag(version)
			a = aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateReplace, Entity: body, IfMatch: &v}
		}
		actions = append(actions, a)
		for _, m := range marks {
			b, err := m.marshal()
			if err != nil {
				return "", false, err
			}
			typ := aztables.TransactionTypeAdd
			if m.ETag == upsert {
				typ = aztables.TransactionTypeInsertReplace
			}
			actions = append(actions, aztables.TransactionAction{ActionType: typ, Entity: b})
		}
	}
	err = s.try(ctx, func(ctx context.Context, retried bool) error {
		if !start.IsZero() && time.Since(start) > writeDeadline {
			return errDeadline
		}
		var err error
		if actions != nil {
			// The entity and its audit markers, all or nothing. The SDK
			// drops the ETags of a transaction's answer; batchETags keeps
			// them, and failing that the entity is read back.
			slot := &etagSlot{}
			if _, err = c.SubmitTransaction(context.WithValue(ctx, etagSlotKey{}, slot), actions, nil); err == nil {
				if len(slot.etags) == len(actions) {
					etag = slot.etags[0] // the answer names each operation's ETag, the entity's first
					return nil
				}
				cur, gerr := s.get(ctx, c, e.PK, e.RK)
				switch {
				case gerr != nil:
					return gerr
				case cur.Props["WriteId"] == wid:
					etag = cur.ETag
				default:
					// Someone wrote after us already: our version is
					// stale, and a write conditional on it must fail.
					etag = supersededETag
				}
				return nil
			}
		} else if version == "" {
			var resp aztables.AddEntityResponse
			if resp, err = c.AddEntity(ctx, body, nil); err == nil {
				etag = string(resp.ETag)
				return nil
			}
		} else {
			v := azcore.ETag(version)
			var resp aztables.UpdateEntityResponse
			if resp, err = c.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &v, UpdateMode: aztables.UpdateModeReplace}); err == nil {
				etag = string(resp.ETag)
				return nil
			}
		}
		maybeApplied = maybeApplied || mayHaveApplied(err)
		if st := statusOf(err); retried && (st == http.StatusConflict || st == http.StatusPreconditionFailed) {
			cur, gerr := s.get(ctx, c, e.PK, e.RK)
			if gerr != nil && statusOf(gerr) != http.StatusNotFound {
				return gerr
			}
			if gerr == nil && wid != "" && cur.Props["WriteId"] == wid {
				etag = cur.ETag
				return nil
			}
			if gerr == nil && wid != "" && len(marks) > 0 {
				// Our transaction may have landed and been overwritten
				// since; its first marker says.
				if _, merr := s.get(ctx, c, marks[0].PK, marks[0].RK); merr == nil {
					etag = supersededETag
					return nil
				}
			}
		}
		return err
	})
	return etag, maybeApplied, err
}

// supersededETag is the version of a write that another writer replaced
// before this one could read its ETag back: a well-formed ETag no entity
// has, so a write conditional on it fails with 412.
const supersededETag = `W/"datetime'1601-01-01T00%3A00%3A00.0000000Z'"`

// mayHaveApplied reports whether a failed write may still have been
// carried out: any transient failure except the service saying it was too
// busy to take the request (429, 503).
func mayHaveApplied(err error) bool {
	if !transientErr(err) {
		return false
	}
	st := statusOf(err)
	return st != http.StatusTooManyRequests && st != http.StatusServiceUnavailable
}

// resolve reads the main entities that index entries point to. It returns,
// aligned with ents, the main entity where it still references the entry
// and a zero entity where the entry is stale. Stale entries older than
// staleGrace are deleted; younger ones may belong to a write in flight.
func (s *Store) resolve(ctx context.Context, f *family, ents []entity) ([]entity, error) {
	out := make([]entity, len(ents))
	errs := parallel(len(ents), func(i int) error {
		ie := ents[i]
		id, _ := ie.Props["Id"].(string)
		m, err := s.get(ctx, f.main, EscapeKey(id), mainRK)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
		if err == nil {
			refs, rerr := refsOf(m)
			if rerr != nil {
				return rerr
			}
			if slices.ContainsFunc(refs, func(r ixRef) bool { return r.PK == ie.PK && r.RK == ie.RK }) {
				s.remember(f, id, m.ETag, refs)
				out[i] = m
				return nil
			}
		}
		if !ie.Timestamp.IsZero() && s.now().Sub(ie.Timestamp) > staleGrace {
			_ = s.del(ctx, f.index, ie.PK, ie.RK, ie.ETag)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// listIndexed serves one page from index partitions pks, merged in RowKey
// order, after the RowKey cursor. filter narrows the index entries on
// their own properties; match is applied to the main entities, which are
// the truth. It returns the main entities and the RowKey to continue
// after ("" at the end).
func (s *Store) listIndexed(ctx context.Context, f *family, pks []string, filter, after string, limit int, match func(entity) bool) ([]entity, string, error) {
	if limit <= 0 {
		limit = 100
	}
	cur := after
	var out []entity
	seen := map[string]bool{}
	for {
		want := limit - len(out) + 1
		type part struct {
			ents []entity
			full bool
		}
		parts := make([]part, len(pks))
		errs := parallel(len(pks), func(i int) error {
			q := "PartitionKey eq " + odataString(pks[i])
			if cur != "" {
				q += " and RowKey gt " + odataString(cur)
			}
			if filter != "" {
				q += " and " + filter
			}
			ents, more, err := s.query(ctx, f.index, q, want)
			parts[i] = part{ents, more || len(ents) >= want}
			return err
		})
		if err := errors.Join(errs...); err != nil {
			return nil, "", s.fail(err, "listing %s", f.plural())
		}
		var cands []entity
		bound, anyFull := "", false
		for _, p := range parts {
			cands = append(cands, p.ents...)
			if p.full && len(p.ents) > 0 {
				last := p.ents[len(p.ents)-1].RK
				if !anyFull || last < bound {
					bound = last
				}
				anyFull = true
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].RK < cands[j].RK })
		if anyFull {
			n := sort.Search(len(cands), func(i int) bool { return cands[i].RK > bound })
			cands = cands[:n]
		}
		used := 0
		for used < len(cands) && len(out) < limit {
			chunk := cands[used:min(len(cands), used+limit-len(out))]
			mains, err := s.resolve(ctx, f, chunk)
			if err != nil {
				return nil, "", s.fail(err, "listing %s", f.plural())
			}
			for j, m := range mains {
				used++
				cur = chunk[j].RK
				if m.PK != "" && !seen[m.PK] && match(m) {
					seen[m.PK] = true
					out = append(out, m)
					if len(out) == limit {
						break
					}
				}
			}
		}
		if len(out) == limit {
			if used < len(cands) || anyFull {
				return out, cur, nil
			}
			return out, "", nil
		}
		if !anyFull {
			return out, "", nil
		}
	}
}

// scan serves one page from a main table by PartitionKey order, for
// queries no index serves. filter is evaluated by the service.
func (s *Store) scan(ctx context.Context, f *family, filter, after string, limit int) ([]entity, string, error) {
	if limit <= 0 {
		limit = 100
	}
	q := "RowKey eq " + odataString(mainRK)
	if after != "" {
		q = "PartitionKey gt " + odataString(after) + " and " + q
	}
	if filter != "" {
		q += " and " + filter
	}
	ents, _, err := s.query(ctx, f.main, q, limit+1)
	if err != nil {
		return nil, "", s.fail(err, "listing %s", f.plural())
	}
	for _, m := range ents {
		if refs, err := refsOf(m); err == nil {
			id, _ := m.Props["Id"].(string)
			s.remember(f, id, m.ETag, refs)
		}
	}
	if len(ents) > limit {
		return ents[:limit], ents[limit-1].PK, nil
	}
	return ents, "", nil
}

// getMain reads one record.
func (s *Store) getMain(ctx context.Context, f *family, id string) (entity, error) {
	m, err := s.read(ctx, f.main, f.kind, key{EscapeKey(id), mainRK, id})
	if err != nil {
		return entity{}, err
	}
	if refs, err := refsOf(m); err == nil {
		s.remember(f, id, m.ETag, refs)
	}
	return m, nil
}

// eqFilter builds "A eq 'x' and B eq 'y'" for the non-empty values.
func eqFilter(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			parts = append(parts, pairs[i]+" eq "+odataString(pairs[i+1]))
		}
	}
	return strings.Join(parts, " and ")
}

func andFilter(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, "("+p+")")
		}
	}
	return strings.Join(nonEmpty, " and ")
}
