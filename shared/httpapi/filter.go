package httpapi

import (
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
)

// Condition is one `property eq 'value'` term of an OData $filter.
type Condition struct {
	Property string
	Value    string
}

// ParseFilter reads the subset of OData $filter that PIM clients send:
// terms `property eq 'value'` joined by `and`. Anything else is refused
// with a message naming what was not understood; properties outside
// allowed are refused too, so a filter is never silently ignored.
func ParseFilter(s string, allowed []string) ([]Condition, error) {
	var out []Condition
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, nil
	}
	if len(rest) > 2000 {
		return nil, domain.Invalid("$filter", "is too long")
	}
	for {
		prop, after, ok := cutSpace(rest)
		if !ok {
			return nil, domain.Invalid("$filter", "expected `property eq 'value'` near %q", clip(rest))
		}
		op, after, ok := cutSpace(after)
		if !ok || !strings.EqualFold(op, "eq") {
			return nil, domain.Invalid("$filter", "only the eq operator is supported, near %q", clip(rest))
		}
		val, after, err := readLiteral(after)
		if err != nil {
			return nil, err
		}
		name := ""
		for _, a := range allowed {
			if strings.EqualFold(a, prop) {
				name = a
			}
		}
		if name == "" {
			return nil, domain.Invalid("$filter", "cannot filter on %q; supported: %s", prop, strings.Join(allowed, ", "))
		}
		out = append(out, Condition{Property: name, Value: val})
		after = strings.TrimSpace(after)
		if after == "" {
			return out, nil
		}
		conj, after2, ok := cutSpace(after)
		if !ok || !strings.EqualFold(conj, "and") {
			return nil, domain.Invalid("$filter", "only `and` joins terms, near %q", clip(after))
		}
		rest = strings.TrimSpace(after2)
	}
}

func cutSpace(s string) (string, string, bool) {
	s = strings.TrimLeft(s, " ")
	i := strings.IndexByte(s, ' ')
	if i <= 0 {
		return "", "", false
	}
	return s[:i], strings.TrimLeft(s[i+1:], " "), true
}

// readLiteral reads a quoted string (” escapes a quote) or a bare token
// such as a GUID or true/false.
func readLiteral(s string) (string, string, error) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return "", "", domain.Invalid("$filter", "a value is missing")
	}
	if s[0] != '\'' {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		return s[:i], s[i:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '\'' {
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		b.WriteByte(s[i])
	}
	return "", "", domain.Invalid("$filter", "a quoted value is not closed")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
