package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// obj is one JSON object as Graph would send it.
type obj = map[string]any

// graphError is an OData error answer.
type graphError struct {
	status  int
	code    string
	message string
}

func (e *graphError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errBadRequest(code, format string, a ...any) *graphError {
	return &graphError{http.StatusBadRequest, code, fmt.Sprintf(format, a...)}
}

func errNotFound(id string) *graphError {
	return &graphError{http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)}
}

// ---- $filter ---------------------------------------------------------------

// filterClause is "path op literal" or startswith(path,'literal').
type filterClause struct {
	path []string
	op   string // eq ne gt ge lt le startswith
	lit  any    // string, bool, float64, time.Time or nil
}

// parseFilter parses the $filter subset the adapter and the Graph
// documentation examples use: clauses joined with "and", each a comparison
// of a property (nested with /) to a quoted string, number, boolean, null or
// unquoted date-time literal, or startswith(property,'text').
func parseFilter(s string) ([]filterClause, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(splitKeyword(s, " or ")) > 1 {
		return nil, errBadRequest("Request_UnsupportedQuery", "Unsupported query: 'or' is not supported by this simulator.")
	}
	var out []filterClause
	for _, part := range splitAnd(s) {
		c, err := parseClause(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// splitAnd splits on the keyword "and" outside quotes.
func splitAnd(s string) []string { return splitKeyword(s, " and ") }

// splitKeyword splits s on kw (lower case, with its spaces) outside quotes.
func splitKeyword(s, kw string) []string {
	var parts []string
	inQuote := false
	start := 0
	lower := strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote
		case !inQuote && i+len(kw) <= len(s) && lower[i:i+len(kw)] == kw:
			parts = append(parts, s[start:i])
			start = i + len(kw)
			i += len(kw) - 1
		}
	}
	return append(parts, s[start:])
}

func parseClause(s string) (filterClause, error) {
	bad := errBadRequest("BadRequest", "Invalid filter clause: %s", s)
	if strings.HasPrefix(strings.ToLower(s), "startswith(") && strings.HasSuffix(s, ")") {
		inner := s[len("startswith(") : len(s)-1]
		i := strings.Index(inner, ",")
		if i < 0 {
			return filterClause{}, bad
		}
		lit, err := parseLiteral(strings.TrimSpace(inner[i+1:]))
		str, ok := lit.(string)
		if err != nil || !ok {
			return filterClause{}, bad
		}
		return filterClause{path: strings.Split(strings.TrimSpace(inner[:i]), "/"), op: "startswith", lit: str}, nil
	}
	fields := strings.SplitN(s, " ", 3)
	if len(fields) != 3 {
		return filterClause{}, bad
	}
	op := strings.ToLower(fields[1])
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return filterClause{}, errBadRequest("BadRequest", "Unsupported or invalid query filter clause specified for property '%s': operator '%s'.", fields[0], fields[1])
	}
	lit, err := parseLiteral(strings.TrimSpace(fields[2]))
	if err != nil {
		return filterClause{}, bad
	}
	return filterClause{path: strings.Split(fields[0], "/"), op: op, lit: lit}, nil
}

func parseLiteral(s string) (any, error) {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		inner := s[1 : len(s)-1]
		// OData escapes a quote by doubling it; a lone quote is malformed.
		if strings.Count(strings.ReplaceAll(inner, "''", ""), "'") > 0 {
			return nil, fmt.Errorf("unbalanced quote")
		}
		return strings.ReplaceAll(inner, "''", "'"), nil
	}
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("bad literal %q", s)
}

func lookup(o obj, path []string) any {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(obj)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func (c filterClause) match(o obj) bool {
	v := lookup(o, c.path)
	if c.op == "startswith" {
		s, ok := v.(string)
		return ok && strings.HasPrefix(strings.ToLower(s), strings.ToLower(c.lit.(string)))
	}
	cmp, ok := compare(v, c.lit)
	if !ok {
		// Only eq/ne are defined on values that do not compare (null).
		switch c.op {
		case "eq":
			return v == nil && c.lit == nil
		case "ne":
			return !(v == nil && c.lit == nil)
		}
		return false
	}
	switch c.op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	}
	return false
}

// compare orders a property value against a literal; strings compare
// case-insensitively like directory string properties do.
func compare(v, lit any) (int, bool) {
	switch l := lit.(type) {
	case time.Time:
		var t time.Time
		switch x := v.(type) {
		case string:
			p, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return 0, false
			}
			t = p
		case time.Time:
			t = x
		default:
			return 0, false
		}
		return t.Compare(l), true
	case string:
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(strings.ToLower(s), strings.ToLower(l)), true
	case bool:
		b, ok := v.(bool)
		if !ok {
			return 0, false
		}
		if b == l {
			return 0, true
		}
		return 1, true
	case float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		default:
			return 0, false
		}
		switch {
		case f < l:
			return -1, true
		case f > l:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func filterObjects(items []obj, clauses []filterClause) []obj {
	if len(clauses) == 0 {
		return items
	}
	var out []obj
next:
	for _, it := range items {
		for _, c := range clauses {
			if !c.match(it) {
				continue next
			}
		}
		out = append(out, it)
	}
	return out
}

// ---- $select ---------------------------------------------------------------

func selectList(q url.Values) []string {
	v := q.Get("$select")
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// project keeps the selected properties (case-insensitively, unknown ones
// ignored) or, without $select, the default set when one is given; the id
// always stays.
func project(o obj, sel, defaults []string) obj {
	keep := sel
	if len(keep) == 0 {
		keep = defaults
	}
	if len(keep) == 0 {
		return o
	}
	out := obj{}
	for k, v := range o {
		// Graph returns the key of an entity whatever $select says.
		if strings.HasPrefix(k, "@odata.") || k == "id" {
			out[k] = v
		}
	}
	for _, want := range keep {
		for k, v := range o {
			if strings.EqualFold(k, want) {
				out[k] = v
			}
		}
	}
	return out
}

func hasSelected(sel []string, prop string) bool {
	for _, s := range sel {
		if strings.EqualFold(s, prop) {
			return true
		}
	}
	return false
}

// ---- paging ----------------------------------------------------------------

func encodeSkip(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(n)))
}

func decodeSkip(s string) (int, *graphError) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), "o:") {
		return 0, errBadRequest("BadRequest", "Invalid $skiptoken.")
	}
	n, err := strconv.Atoi(string(b[2:]))
	if err != nil || n < 0 {
		return 0, errBadRequest("BadRequest", "Invalid $skiptoken.")
	}
	return n, nil
}

// page cuts one page out of items and builds the nextLink that keeps the
// request's other query options, as Graph does.
func page(r *http.Request, items []obj, pageSize int) ([]obj, string, *graphError) {
	q := r.URL.Query()
	size := pageSize
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return nil, "", errBadRequest("BadRequest", "Invalid value '%s' for $top.", t)
		}
		if n < size {
			size = n
		}
	}
	off := 0
	if s := q.Get("$skiptoken"); s != "" {
		n, gerr := decodeSkip(s)
		if gerr != nil {
			return nil, "", gerr
		}
		off = n
	}
	if off > len(items) {
		off = len(items)
	}
	end := off + size
	if end >= len(items) {
		return items[off:], "", nil
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "$skiptoken" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(baseURL(r))
	b.WriteString(r.URL.Path)
	b.WriteByte('?')
	for _, k := range keys {
		for _, v := range q[k] {
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
			b.WriteByte('&')
		}
	}
	b.WriteString("$skiptoken=")
	b.WriteString(encodeSkip(end))
	return items[off:end], b.String(), nil
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// contextURL is the @odata.context of an answer: base/v1.0/$metadata#fragment.
func contextURL(r *http.Request, fragment string, sel []string) string {
	if len(sel) > 0 {
		if strings.HasSuffix(fragment, "/$entity") {
			fragment = strings.TrimSuffix(fragment, "/$entity") + "(" + strings.Join(sel, ",") + ")/$entity"
		} else {
			fragment += "(" + strings.Join(sel, ",") + ")"
		}
	}
	return baseURL(r) + "/v1.0/$metadata#" + fragment
}

// ---- writing ---------------------------------------------------------------

const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *graphError, now time.Time) {
	writeJSON(w, e.status, obj{"error": obj{
		"code":    e.code,
		"message": e.message,
		"innerError": obj{
			"date":              now.UTC().Format("2006-01-02T15:04:05"),
			"request-id":        w.Header().Get("request-id"),
			"client-request-id": w.Header().Get("client-request-id"),
		},
	}})
}

func collection(r *http.Request, fragment string, sel []string, items []obj, next string) obj {
	if items == nil {
		items = []obj{}
	}
	out := obj{"@odata.context": contextURL(r, fragment, sel), "value": items}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	return out
}
