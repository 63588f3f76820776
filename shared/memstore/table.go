package memstore

import (
	"strconv"

	"github.com/jitpim/jitpim/shared/domain"
)

// versions numbers the versions a group of tables hands out. Each group
// keeps its own sequence (and alerts a prefix), so versions read exactly
// as they did when alerts and reviews lived beside the Store.
type versions struct {
	prefix string
	n      int64
}

func (v *versions) next() string {
	v.n++
	return v.prefix + strconv.FormatInt(v.n, 10)
}

// table is one kind of record by id, each with a version: the reads,
// create-if-absent and replace-if-current that every kind shares, so a
// kind only says how it copies a value and where its Version is. The
// Store's mutex guards it; values go in and come out as copies, so a
// caller's later change never reaches the store without a write.
type table[T any] struct {
	what  string // "request", in messages
	rows  map[string]T
	seq   *versions
	clone func(T) T
	ver   func(*T) *string
	// fixed, when set, carries what a record fixes at creation from the
	// stored copy into its replacement (a decision's reviewers).
	fixed func(stored T, next *T)
}

func newTable[T any](what string, seq *versions, clone func(T) T, ver func(*T) *string) *table[T] {
	return &table[T]{what: what, rows: map[string]T{}, seq: seq, clone: clone, ver: ver}
}

// plain is the clone of values without shared references.
func plain[T any](v T) T { return v }

func (t *table[T]) get(id string) (T, error) {
	v, ok := t.rows[id]
	if !ok {
		return v, notFound(t.what, id)
	}
	return t.clone(v), nil
}

func (t *table[T]) has(id string) bool {
	_, ok := t.rows[id]
	return ok
}

// create stores v under id unless id is taken, and sets v's Version.
func (t *table[T]) create(id string, v *T) error {
	if t.has(id) {
		return exists(t.what, id)
	}
	t.store(id, v, nil)
	return nil
}

// update replaces the record id if v carries its current version; a
// missing record is CodeNotFound.
func (t *table[T]) update(id string, v *T) error {
	cur, ok := t.rows[id]
	if !ok {
		return notFound(t.what, id)
	}
	if *t.ver(&cur) != *t.ver(v) {
		return conflict(t.what, id)
	}
	t.store(id, v, &cur)
	return nil
}

// put creates the record when v has no version, else replaces it if the
// version is current; replacing a missing record is a conflict (the
// version names something that is not there).
func (t *table[T]) put(id string, v *T) error {
	if *t.ver(v) == "" {
		return t.create(id, v)
	}
	if !t.has(id) {
		return conflict(t.what, id)
	}
	return t.update(id, v)
}

// store keeps a copy of v, replacing cur when there is one, and gives v
// its new version.
func (t *table[T]) store(id string, v *T, cur *T) {
	c := t.clone(*v)
	if cur != nil && t.fixed != nil {
		t.fixed(*cur, &c)
	}
	*t.ver(&c) = t.seq.next()
	t.rows[id] = c
	*t.ver(v) = *t.ver(&c)
}

// all returns copies of every record, in no particular order; empty, not
// nil, when there are none.
func (t *table[T]) all() []T {
	out := make([]T, 0, len(t.rows))
	for _, v := range t.rows {
		out = append(out, t.clone(v))
	}
	return out
}

// filter returns copies of the records keep accepts, in no particular
// order; nil when none does.
func (t *table[T]) filter(keep func(*T) bool) []T {
	var out []T
	for _, v := range t.rows {
		if keep(&v) {
			out = append(out, t.clone(v))
		}
	}
	return out
}

func conflict(what, id string) error {
	return domain.Errorf(domain.CodeConflict, "%s %s was changed by someone else; read it again", what, id)
}

func notFound(what, id string) error {
	return domain.Errorf(domain.CodeNotFound, "%s %s does not exist", what, id)
}

func exists(what, id string) error {
	return domain.Errorf(domain.CodeConflict, "%s %s already exists", what, id)
}
