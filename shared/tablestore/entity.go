package tablestore

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// Table Storage limits (REFERENCE §4).
const (
	maxKeyBytes      = 1024     // PartitionKey and RowKey, UTF-16
	maxStringBytes   = 64 << 10 // one string property, UTF-16
	maxEntityBytes   = 1 << 20  // one entity
	maxOwnProperties = 252
)

// entity is one Table Storage entity as this package handles it.
type entity struct {
	PK, RK    string
	Props     map[string]any
	ETag      string
	Timestamp time.Time
}

func (e entity) marshal() ([]byte, error) {
	return json.Marshal(aztables.EDMEntity{
		Entity:     aztables.Entity{PartitionKey: e.PK, RowKey: e.RK},
		Properties: e.Props,
	})
}

func unmarshalEntity(b []byte, etag string) (entity, error) {
	var m aztables.EDMEntity
	if err := json.Unmarshal(b, &m); err != nil {
		return entity{}, fmt.Errorf("tablestore: decoding an entity: %w", err)
	}
	if etag == "" {
		etag = m.ETag
	}
	return entity{PK: m.PartitionKey, RK: m.RowKey, Props: m.Properties, ETag: etag, Timestamp: time.Time(m.Timestamp)}, nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// checkKey refuses keys over the service's limit; keys are made of ids.
func checkKey(k string) error {
	if 2*utf16Len(k) > maxKeyBytes {
		return domain.Invalid("id", "is too long to be stored (a key may hold at most %d bytes once escaped)", maxKeyBytes)
	}
	return nil
}

// checkEntity applies Table Storage's limits before anything is sent, so an
// oversized value fails with CodeInvalid instead of being cut or rejected
// half-way through a multi-entity write. The size formula is the service's:
// 4 + keys + Σ(8 + name + value), strings and names counted in UTF-16.
func checkEntity(e entity) error {
	if err := checkKey(e.PK); err != nil {
		return err
	}
	if err := checkKey(e.RK); err != nil {
		return err
	}
	if len(e.Props) > maxOwnProperties {
		return domain.Errorf(domain.CodeInvalid, "an entity may have at most %d properties", maxOwnProperties)
	}
	size := 4 + 2*utf16Len(e.PK) + 2*utf16Len(e.RK)
	for name, v := range e.Props {
		size += 8 + 2*utf16Len(name)
		switch v := v.(type) {
		case string:
			n := 2 * utf16Len(v)
			if n > maxStringBytes {
				return domain.Invalid(fieldName(name), "is %d KiB once stored; Table Storage holds at most 64 KiB in one property", (n+1023)/1024)
			}
			size += 4 + n
		case bool:
			size++
		case int32:
			size += 4
		default: // EDMDateTime, EDMInt64, float64
			size += 8
		}
	}
	if size > maxEntityBytes {
		return domain.Errorf(domain.CodeInvalid, "the record is %d KiB once stored; Table Storage holds at most 1 MiB in one entity", (size+1023)/1024)
	}
	return nil
}

// fieldName turns a property name into the domain's field spelling.
func fieldName(prop string) string {
	if prop == "" {
		return prop
	}
	b := []byte(prop)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// props builds entity properties. Zero values are left out (an absent
// property reads back as the zero value), so round trips are exact.
type props struct {
	m   map[string]any
	err error
}

func newProps() *props { return &props{m: map[string]any{}} }

func (p *props) str(name, v string) {
	if v == "" {
		return
	}
	if !utf8.ValidString(v) {
		// JSON would replace the bad bytes: refuse rather than alter.
		p.fail(domain.Invalid(fieldName(name), "is not valid UTF-8"))
		return
	}
	p.m[name] = v
}

// id stores an object id in its canonical spelling.
func (p *props) id(name string, v domain.ObjectID) { p.str(name, string(v)) }

func (p *props) boolean(name string, v bool) {
	if v {
		p.m[name] = true
	}
}

func (p *props) i32(name string, v int) {
	if v == 0 {
		return
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		p.fail(domain.Invalid(fieldName(name), "is out of range"))
		return
	}
	p.m[name] = int32(v)
}

func (p *props) i64(name string, v int64) {
	if v != 0 {
		p.m[name] = aztables.EDMInt64(v)
	}
}

// tm stores a time as Edm.DateTime at millisecond precision (what every
// Table Storage implementation keeps, Azurite included) and the rest of
// the nanoseconds in an Int32 property "<name>Ns", so times round-trip
// exactly; audit hashes cover nanoseconds. Times come back in UTC.
func (p *props) tm(name string, t time.Time) {
	if t.IsZero() {
		return
	}
	u := t.UTC()
	if u.Year() < 1601 || u.Year() > 9999 {
		p.fail(domain.Invalid(fieldName(name), "must lie between the years 1601 and 9999, got %s", u.Format(time.RFC3339)))
		return
	}
	ms := u.Truncate(time.Millisecond)
	p.m[name] = aztables.EDMDateTime(ms)
	if rem := u.Sub(ms); rem != 0 {
		p.m[name+"Ns"] = int32(rem)
	}
}

// js stores nested data as a JSON string; nil stays absent.
func (p *props) js(name string, v any, isNil bool) {
	if isNil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		p.fail(fmt.Errorf("tablestore: encoding %s: %w", name, err))
		return
	}
	p.m[name] = string(b)
}

func (p *props) target(t domain.Target) {
	p.str("TargetKind", string(t.Kind))
	p.id("TargetRoleDefinitionId", t.RoleDefinitionID)
	p.str("TargetDirectoryScopeId", t.DirectoryScopeID)
	p.id("TargetGroupId", t.GroupID)
	p.str("TargetAccessId", t.AccessID)
	p.str("TargetResourceScope", t.ResourceScope)
	if t != (domain.Target{}) {
		p.str("TargetKey", t.Key())
	}
}

func (p *props) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// reader reads properties back; a property of an unexpected type is an
// error (the table was written by something else).
type reader struct {
	m   map[string]any
	err error
}

func (r *reader) fail(name string, v any) {
	if r.err == nil {
		r.err = fmt.Errorf("tablestore: property %s has unexpected type %T", name, v)
	}
}

// id reads an object id, folded to the canonical spelling: rows written
// before ids were canonical may hold upper-case letters.
func (r *reader) id(name string) domain.ObjectID { return domain.CanonicalID(r.str(name)) }

func (r *reader) str(name string) string {
	v, ok := r.m[name]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.fail(name, v)
	}
	return s
}

func (r *reader) boolean(name string) bool {
	v, ok := r.m[name]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.fail(name, v)
	}
	return b
}

func (r *reader) i64(name string) int64 {
	v, ok := r.m[name]
	if !ok || v == nil {
		return 0
	}
	switch v := v.(type) {
	case aztables.EDMInt64:
		return int64(v)
	case int32:
		return int64(v)
	case float64:
		return int64(v)
	}
	r.fail(name, v)
	return 0
}

func (r *reader) i32(name string) int { return int(r.i64(name)) }

func (r *reader) tm(name string) time.Time {
	v, ok := r.m[name]
	if !ok || v == nil {
		return time.Time{}
	}
	d, ok := v.(aztables.EDMDateTime)
	if !ok {
		r.fail(name, v)
		return time.Time{}
	}
	return time.Time(d).UTC().Add(time.Duration(r.i64(name + "Ns")))
}

func (r *reader) js(name string, dst any) {
	s := r.str(name)
	if s == "" {
		return
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil && r.err == nil {
		r.err = fmt.Errorf("tablestore: decoding %s: %w", name, err)
	}
}

func (r *reader) target() domain.Target {
	return domain.Target{
		Kind:             domain.TargetKind(r.str("TargetKind")),
		RoleDefinitionID: r.id("TargetRoleDefinitionId"),
		DirectoryScopeID: r.str("TargetDirectoryScopeId"),
		GroupID:          r.id("TargetGroupId"),
		AccessID:         r.str("TargetAccessId"),
		ResourceScope:    r.str("TargetResourceScope"),
	}
}
