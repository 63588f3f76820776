package tablestore

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jitpim/jitpim/shared/domain"
)

// escMark starts an escape: "~" and two upper-case hex digits of one byte.
// '%' is avoided on purpose: keys travel inside URL paths
// (Table(PartitionKey='…',RowKey='…')) and a literal '%' there is easy for
// a proxy or client to decode twice.
const escMark = '~'

// keySafe reports whether an ASCII byte may stand for itself in a key. The
// set is deliberately small: letters, digits and "-_.:|@". Everything else,
// including the characters Table Storage forbids (/ \ # ? and control
// characters), the quote that OData literals would need doubled, the escape
// mark itself and every non-ASCII byte, is escaped, so keys are plain ASCII
// and sort bytewise.
func keySafe(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '-', c == '_', c == '.', c == ':', c == '|', c == '@':
		return true
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

// EscapeKey makes any string (even invalid UTF-8) usable inside a
// PartitionKey or RowKey. It is reversible with UnescapeKey.
func EscapeKey(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keySafe(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keySafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escMark)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

var errBadEscape = errors.New("tablestore: malformed key escape")

// UnescapeKey is the inverse of EscapeKey.
func UnescapeKey(k string) (string, error) {
	if strings.IndexByte(k, escMark) < 0 {
		return k, nil
	}
	b := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c != escMark {
			b = append(b, c)
			continue
		}
		if i+2 >= len(k) {
			return "", errBadEscape
		}
		hi, lo := unhex(k[i+1]), unhex(k[i+2])
		if hi < 0 || lo < 0 {
			return "", errBadEscape
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// timeKey renders t (UTC) as a fixed-width string that sorts like time:
// "20261121090000.000000000".
func timeKey(t time.Time) string {
	return t.UTC().Format("20060102150405.000000000")
}

// endBucket is the due-index partition of an end time: one per hour.
func endBucket(t time.Time) string {
	return "end-" + t.UTC().Format("2006010215")
}

// genLen is the length of a generation suffix.
const genLen = 12

// newGen returns a random generation suffix for an index entry, so that an
// entry is never written twice under one key.
func newGen() string {
	var b [genLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tablestore: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// Cursors are opaque to callers: base64url of route, NUL, last key served.
// The route ties a cursor to the index it came from.
func encodeCursor(route, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(route + "\x00" + key))
}

func decodeCursor(c, route string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		r, key, ok := strings.Cut(string(b), "\x00")
		if ok && r == route && utf8.ValidString(key) {
			return key, nil
		}
	}
	return "", domain.Invalid("$skiptoken", "is not a token this service issued")
}

// odataString quotes s as an OData string literal.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
