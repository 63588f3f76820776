package domain

import (
	"strconv"
	"strings"
)

// ObjectID is an Entra object id (a user, group, service principal or role
// definition) in its one canonical spelling: a lower-case GUID. Entra compares
// object ids case-insensitively, so two spellings of one id are one
// identity; keeping only the canonical spelling past the boundary makes
// plain == the right comparison everywhere (break-glass lists, grant keys,
// self-approval, admin checks) and no code needs to remember to fold case.
//
// Values come from ParseObjectID (input from people, tokens, files and
// settings) or CanonicalID (ids read back from storage or the directory,
// which the boundary already parsed); a conversion ObjectID(s) outside this
// package is allowed only for constants and tests (a test enforces it).
type ObjectID string

// NoID is the zero ObjectID: "not given".
const NoID ObjectID = ""

// ParseObjectID parses s as an object id for the named input field. Any
// letter case is accepted and folded; anything else that is not exactly the
// 8-4-4-4-12 hex form (braces, surrounding space, a urn: prefix, a missing
// dash) is refused with CodeInvalid naming the field, because guessing at a
// malformed id is how one spelling slips past a guard another one trips.
func ParseObjectID(field, s string) (ObjectID, error) {
	if !IsGUID(s) {
		if s == "" {
			return NoID, Invalid(field, "is required: an object id (a GUID such as 00000000-0000-0000-0000-000000000000)")
		}
		return NoID, Invalid(field, "must be an object id (a GUID such as 00000000-0000-0000-0000-000000000000), got %q", clipForMessage(s))
	}
	return ObjectID(strings.ToLower(s)), nil
}

// ParseOptionalObjectID is ParseObjectID where the field may be left empty.
func ParseOptionalObjectID(field, s string) (ObjectID, error) {
	if s == "" {
		return NoID, nil
	}
	return ParseObjectID(field, s)
}

// ParseObjectIDs parses a list; the field of an element is field[i].
func ParseObjectIDs(field string, ss []string) ([]ObjectID, error) {
	out := make([]ObjectID, 0, len(ss))
	for i, s := range ss {
		id, err := ParseObjectID(field+"["+strconv.Itoa(i)+"]", s)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// CanonicalID folds an id read back from storage or from the directory into
// the canonical spelling. Records written before ids were canonical may hold
// upper-case letters; folding on read keeps them the same identity. A value
// that is not a GUID (the timers' actor "jitpim", a corrupt row) is kept
// as it is, lower-cased, and can never equal a parsed id.
func CanonicalID(s string) ObjectID { return ObjectID(strings.ToLower(s)) }

// String returns the canonical spelling.
func (id ObjectID) String() string { return string(id) }

// IsZero reports whether the id is empty.
func (id ObjectID) IsZero() bool { return id == NoID }

// Valid reports whether id is a canonical object id.
func (id ObjectID) Valid() bool {
	return IsGUID(string(id)) && strings.ToLower(string(id)) == string(id)
}

// ContainsID reports whether ids holds id. Both sides are canonical, so this
// is the one membership test (the break-glass list, approver lists).
func ContainsID(ids []ObjectID, id ObjectID) bool {
	if id == NoID {
		return false
	}
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// IDStrings returns the ids as plain strings, for wire formats.
func IDStrings(ids []ObjectID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

func clipForMessage(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// UnmarshalText folds an id decoded from stored JSON (approval stages,
// grant holders, policy rules) into the canonical spelling, so records
// written before ids were canonical read back as the same identity.
func (id *ObjectID) UnmarshalText(b []byte) error {
	*id = CanonicalID(string(b))
	return nil
}
