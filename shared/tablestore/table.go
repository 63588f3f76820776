package tablestore

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// The reads and conditional writes every kind of record shares are here
// once, with the mapping of the service's answers to the domain's codes
// (404 CodeNotFound, 409 and 412 CodeConflict); a kind supplies only its
// key and its encoding.

// kind names one kind of record in messages and says how its writes fail.
type kind struct {
	what string // "policy"
	// missingIsConflict makes a conditional write of a missing record a
	// conflict rather than not-found: the version it names is not there
	// (grants, policies, alerts and mail, as in memstore).
	missingIsConflict bool
}

func (k kind) plural() string {
	if w, ok := strings.CutSuffix(k.what, "y"); ok {
		return w + "ies"
	}
	return k.what + "s"
}

// notFound answers a read of a record that does not exist.
func (k kind) notFound(id string) error {
	return domain.Errorf(domain.CodeNotFound, "%s %s does not exist", k.what, id)
}

// missing answers a conditional write of a record that does not exist.
func (k kind) missing(id string, cause error) error {
	if k.missingIsConflict {
		return k.changed(id, cause)
	}
	return domain.Wrap(domain.CodeNotFound, cause, "%s %s does not exist", k.what, id)
}

func (k kind) changed(id string, cause error) error {
	return domain.Wrap(domain.CodeConflict, cause, "%s %s was changed by someone else; read it again", k.what, id)
}

// writeFailed maps a failed insert or conditional replace: 409 the key is
// taken, 412 the version is stale, 404 the record is gone.
func (k kind) writeFailed(s *Store, id string, err error) error {
	switch statusOf(err) {
	case http.StatusConflict:
		return domain.Wrap(domain.CodeConflict, err, "%s %s already exists", k.what, id)
	case http.StatusPreconditionFailed:
		return k.changed(id, err)
	case http.StatusNotFound:
		return k.missing(id, err)
	}
	return s.fail(err, "writing %s %s", k.what, id)
}

// codec is how a kind's values become entity properties and back, and
// where a value keeps its Version (the entity's ETag).
type codec[T any] struct {
	encode func(*T) *props
	decode func(entity) (T, error)
	ver    func(*T) *string
}

// key is where one record lives, and the id its messages name.
type key struct{ pk, rk, id string }

// check says why k cannot be stored: no id (or an empty key), or a key
// over the service's limit.
func (k key) check() error {
	if k.id == "" || k.pk == "" || k.rk == "" {
		return domain.Invalid("id", "is required")
	}
	if err := checkKey(k.pk); err != nil {
		return err
	}
	return checkKey(k.rk)
}

// usable reports whether k can exist. A read of a key that cannot finds
// nothing without asking.
func (k key) usable() bool { return k.check() == nil }

// table is a kind of record kept as single entities of one table (no
// index entries; see family for those).
type table[T any] struct {
	kind
	codec[T]
	s *Store
	c *aztables.Client
}

// get reads one record.
func (t *table[T]) get(ctx context.Context, k key) (T, error) {
	e, err := t.s.read(ctx, t.c, t.kind, k)
	if err != nil {
		var zero T
		return zero, err
	}
	return t.decode(e)
}

// current reads the version of one record without decoding it.
func (t *table[T]) current(ctx context.Context, k key) (string, error) {
	e, err := t.s.read(ctx, t.c, t.kind, k)
	return e.ETag, err
}

// read reads the entity at k, a record of kind kd: CodeNotFound when it
// is missing or k cannot exist.
func (s *Store) read(ctx context.Context, c *aztables.Client, kd kind, k key) (entity, error) {
	if !k.usable() {
		return entity{}, kd.notFound(k.id)
	}
	e, err := s.get(ctx, c, k.pk, k.rk)
	switch {
	case statusOf(err) == http.StatusNotFound:
		return entity{}, kd.notFound(k.id)
	case err != nil:
		return entity{}, s.fail(err, "reading %s %s", kd.what, k.id)
	}
	return e, nil
}

// insert creates the record; CodeConflict when it exists.
func (t *table[T]) insert(ctx context.Context, k key, v *T) error {
	return t.write(ctx, k, v, "")
}

// put inserts v when it has no Version, else replaces the record if that
// Version is still its ETag.
func (t *table[T]) put(ctx context.Context, k key, v *T) error {
	return t.write(ctx, k, v, *t.ver(v))
}

// write sends v (insert when version is empty, else replace If-Match
// version) and sets v's Version to the new ETag. writeMain tells a retry
// that meets its own earlier success from a real conflict.
func (t *table[T]) write(ctx context.Context, k key, v *T, version string, marks ...entity) error {
	p := t.encode(v)
	if p.err != nil {
		return p.err
	}
	if err := k.check(); err != nil {
		return err
	}
	p.m["WriteId"] = writeID()
	e := entity{PK: k.pk, RK: k.rk, Props: p.m}
	if err := checkEntity(e); err != nil {
		return err
	}
	etag, _, err := t.s.writeMain(ctx, t.c, e, version, time.Time{}, marks...)
	if err == nil {
		*t.ver(v) = etag
		return nil
	}
	if statusOf(err) == http.StatusBadRequest && version != "" && !t.missingIsConflict {
		// A version this store never issued (not an ETag) draws 400 before
		// the service looks for the record. Where a missing record is
		// not-found rather than a conflict, a fresh read tells which it
		// is; elsewhere 400 stays "storage refused the data".
		if _, gerr := t.s.get(ctx, t.c, k.pk, k.rk); statusOf(gerr) == http.StatusNotFound {
			return t.missing(k.id, err)
		} else if gerr == nil {
			return t.changed(k.id, err)
		}
	}
	return t.writeFailed(t.s, k.id, err)
}

// putAudited is put with the change's audit records, written as the
// indexed kinds write theirs (see the package doc): pending rows first,
// then the record and its markers in one transaction. name is the table's
// name without prefix. also are more rows of the record's partition that
// go in the same transaction (see writeMain).
func (t *table[T]) putAudited(ctx context.Context, name string, k key, v *T, audit []domain.AuditRecord, also ...entity) error {
	if len(audit) == 0 {
		return t.write(ctx, k, v, *t.ver(v), also...)
	}
	if err := k.check(); err != nil {
		return err
	}
	pending, marks, err := t.s.pendingFor(name, k.pk, audit)
	if err != nil {
		return err
	}
	if err := t.s.writePending(ctx, pending); err != nil {
		return t.s.fail(err, "recording the audit records of %s %s", t.what, k.id)
	}
	err = t.write(ctx, k, v, *t.ver(v), append(marks, also...)...)
	if domain.IsCode(err, domain.CodeConflict) || domain.IsCode(err, domain.CodeNotFound) || domain.IsCode(err, domain.CodeInvalid) {
		// Not written: the records describe nothing that happened.
		t.s.dropIndex(ctx, t.s.audit, pending)
	}
	return err
}

// remove deletes the record if version is still its ETag (whatever its
// version when empty); a record already gone counts as removed.
func (t *table[T]) remove(ctx context.Context, k key, version string) error {
	err := t.s.del(ctx, t.c, k.pk, k.rk, version)
	switch {
	case statusOf(err) == http.StatusPreconditionFailed:
		return t.changed(k.id, err)
	case err != nil:
		return t.s.fail(err, "deleting %s %s", t.what, k.id)
	}
	return nil
}

// list reads every record filter selects (a partition, mostly),
// following continuations, in the table's key order.
func (t *table[T]) list(ctx context.Context, filter string) ([]T, error) {
	ents, _, err := t.s.query(ctx, t.c, filter, 0)
	if err != nil {
		return nil, t.s.fail(err, "listing %s", t.plural())
	}
	out := make([]T, 0, len(ents))
	for _, e := range ents {
		v, err := t.decode(e)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// partition is the filter of one partition.
func partition(pk string) string { return "PartitionKey eq " + odataString(pk) }

// indexed is a kind of record kept as one main entity per id plus index
// entries in a second table (see family and put): a kind says where its
// id is, how it is encoded and which index entries it needs.
type indexed[T any] struct {
	*family
	codec[T]
	s     *Store
	id    func(*T) string
	wants func(*T) []ixWant
}

// get reads one record.
func (x *indexed[T]) get(ctx context.Context, id string) (T, error) {
	m, err := x.s.getMain(ctx, x.family, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return x.decode(m)
}

// create inserts v; CodeConflict when its id exists.
func (x *indexed[T]) create(ctx context.Context, v *T, audit []domain.AuditRecord) error {
	return x.write(ctx, v, "", audit)
}

// update replaces the record if v's Version is current.
func (x *indexed[T]) update(ctx context.Context, v *T, audit []domain.AuditRecord) error {
	if *x.ver(v) == "" {
		return x.changed(x.id(v), nil)
	}
	return x.put(ctx, v, audit)
}

// put inserts v when it has no Version, else replaces it as update does.
func (x *indexed[T]) put(ctx context.Context, v *T, audit []domain.AuditRecord) error {
	return x.write(ctx, v, *x.ver(v), audit)
}

func (x *indexed[T]) write(ctx context.Context, v *T, version string, audit []domain.AuditRecord) error {
	etag, err := x.s.put(ctx, x.family, x.id(v), x.encode(v), x.wants(v), version, audit)
	if err != nil {
		return err
	}
	*x.ver(v) = etag
	return nil
}
