package snsim

import (
	"strings"
)

// query is an encoded query: NQ-separated alternatives, each an AND of
// clauses, each clause an OR of terms (ServiceNow's precedence: ^OR binds
// tighter than ^).
type query struct {
	alts [][][]term
}

type term struct {
	field, op, value string
	bad              bool // an unknown field or operator: matches nothing
}

// Operators, longest first so "!=" is not read as "=".
var operators = []string{"ISNOTEMPTY", "ISEMPTY", "STARTSWITH", "ENDSWITH", "NOT IN", "NOTLIKE", "LIKE", "IN", "!=", "="}

// parseQuery reads the subset of encoded queries jitpim and the tests use.
// It splits on every '^' exactly as ServiceNow does, which is why a value
// must never contain one: "number=INC1^ORnumber=INC2" is two terms.
func parseQuery(s string) query {
	var q query
	if strings.TrimSpace(s) == "" {
		return q
	}
	alt := [][]term{}
	for i, part := range strings.Split(s, "^") {
		switch {
		case part == "" || part == "EQ" || strings.HasPrefix(part, "ORDERBY"):
			continue
		case strings.HasPrefix(part, "NQ"):
			q.alts = append(q.alts, alt)
			alt = [][]term{}
			part = part[2:]
		case strings.HasPrefix(part, "OR") && i > 0 && len(alt) > 0:
			last := len(alt) - 1
			alt[last] = append(alt[last], parseTerm(part[2:]))
			continue
		}
		if part != "" {
			alt = append(alt, []term{parseTerm(part)})
		}
	}
	q.alts = append(q.alts, alt)
	return q
}

func parseTerm(s string) term {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_' || s[i] == '.') {
		i++
	}
	field, rest := s[:i], s[i:]
	for _, op := range operators {
		if strings.HasPrefix(rest, op) {
			return term{field: field, op: op, value: rest[len(op):], bad: field == ""}
		}
	}
	return term{bad: true}
}

// match reports whether a record matches; get resolves a field (false when
// the table has no such field). An empty query matches everything.
func (q query) match(get func(string) (string, bool)) bool {
	if len(q.alts) == 0 {
		return true
	}
	for _, alt := range q.alts {
		ok := true
		for _, clause := range alt {
			any := false
			for _, t := range clause {
				if t.eval(get) {
					any = true
					break
				}
			}
			if !any {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// eval compares case-insensitively, as ServiceNow's database does.
func (t term) eval(get func(string) (string, bool)) bool {
	if t.bad {
		return false
	}
	v, ok := get(t.field)
	if !ok {
		return false
	}
	lv, lt := strings.ToLower(v), strings.ToLower(t.value)
	switch t.op {
	case "=":
		return lv == lt
	case "!=":
		return lv != lt
	case "LIKE":
		return strings.Contains(lv, lt)
	case "NOTLIKE":
		return !strings.Contains(lv, lt)
	case "STARTSWITH":
		return strings.HasPrefix(lv, lt)
	case "ENDSWITH":
		return strings.HasSuffix(lv, lt)
	case "ISEMPTY":
		return v == ""
	case "ISNOTEMPTY":
		return v != ""
	case "IN", "NOT IN":
		in := false
		for _, x := range strings.Split(lt, ",") {
			if x == lv {
				in = true
			}
		}
		return in == (t.op == "IN")
	}
	return false
}
