package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

type segmentKind int

// Values double as ASP.NET's inbound precedence digits (lower = more
// specific); 2 is ASP.NET's "complex segment", which we reject.
const (
	segLiteral     segmentKind = 1
	segConstrained segmentKind = 3
	segParam       segmentKind = 4
	segCatchAll    segmentKind = 5
)

type segment struct {
	kind     segmentKind
	literal  string // segLiteral
	name     string // parameters
	optional bool
	def      *string // {name=default}
	// maxLen and minLen enforce maxlength(n) and minlength(n), which
	// jitpim's root route uses ({home:maxlength(0)?}); -1 = none.
	maxLen, minLen int
}

type routeTemplate struct {
	text     string
	segments []segment
}

// parseRouteTemplate understands the subset of ASP.NET route templates that
// Functions apps use. Anything it would match differently from ASP.NET (e.g.
// "{a}.{b}" complex segments) is rejected so the mismatch shows at start-up.
func parseRouteTemplate(text string) (*routeTemplate, error) {
	t := &routeTemplate{text: text}
	if text == "" {
		return t, nil
	}
	seen := map[string]bool{}
	parts := strings.Split(text, "/")
	for i, p := range parts {
		if p == "" {
			return nil, errors.New("empty segment (\"//\")")
		}
		if !strings.ContainsAny(p, "{}") {
			t.segments = append(t.segments, segment{kind: segLiteral, literal: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.Count(p, "{") != 1 || strings.Count(p, "}") != 1 {
			return nil, fmt.Errorf("segment %q: only whole-segment parameters like {name} are supported", p)
		}
		s, err := parseParam(p[1 : len(p)-1])
		if err != nil {
			return nil, fmt.Errorf("segment %q: %w", p, err)
		}
		if seen[strings.ToLower(s.name)] {
			return nil, fmt.Errorf("parameter %q appears twice", s.name)
		}
		seen[strings.ToLower(s.name)] = true
		if s.kind == segCatchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("catch-all %q must be the last segment", p)
		}
		t.segments = append(t.segments, s)
	}
	// As in ASP.NET, once a segment may be omitted, all later ones must be too.
	for i := 1; i < len(t.segments); i++ {
		prev, cur := t.segments[i-1], t.segments[i]
		if prev.omittable() && !cur.omittable() {
			return nil, fmt.Errorf("segment %d follows an optional segment but is required", i+1)
		}
	}
	return t, nil
}

func parseParam(body string) (segment, error) {
	s := segment{kind: segParam, maxLen: -1, minLen: -1}
	if strings.HasPrefix(body, "*") {
		s.kind = segCatchAll
		body = strings.TrimLeft(body, "*") // "{**x}" is also a catch-all
	}
	end := strings.IndexAny(body, ":=?")
	if end < 0 {
		end = len(body)
	}
	s.name, body = body[:end], body[end:]
	if s.name == "" {
		return s, errors.New("parameter has no name")
	}
	if strings.HasSuffix(body, "?") {
		s.optional = true
		body = body[:len(body)-1]
	}
	// A default follows the last '=' outside constraint parentheses.
	depth, eq := 0, -1
	for i, r := range body {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case '=':
			if depth == 0 {
				eq = i
			}
		}
	}
	if eq >= 0 {
		d := body[eq+1:]
		s.def = &d
		body = body[:eq]
	}
	if body != "" {
		if body[0] != ':' {
			return s, fmt.Errorf("cannot parse %q", body)
		}
		// maxlength and minlength are enforced; other constraints are
		// accepted but not enforced, and only affect precedence, as in ASP.NET.
		for _, c := range strings.Split(body[1:], ":") {
			for _, lim := range []struct {
				name string
				to   *int
			}{{"maxlength(", &s.maxLen}, {"minlength(", &s.minLen}} {
				if arg, ok := strings.CutPrefix(c, lim.name); ok {
					n, err := strconv.Atoi(strings.TrimSuffix(arg, ")"))
					if err != nil || !strings.HasSuffix(arg, ")") || n < 0 {
						return s, fmt.Errorf("constraint %q needs a whole number", c)
					}
					*lim.to = n
				}
			}
		}
		if s.kind == segParam {
			s.kind = segConstrained
		}
	}
	if s.optional && s.def != nil {
		return s, errors.New("a parameter cannot be both optional and have a default")
	}
	return s, nil
}

func (s segment) omittable() bool {
	return s.optional || s.def != nil || s.kind == segCatchAll
}

// match reports whether the decoded path segments fit the template and, if
// so, the route parameters.
func (t *routeTemplate) match(path []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, s := range t.segments {
		if i >= len(path) {
			if !s.omittable() {
				return nil, false
			}
			if s.def != nil {
				params[s.name] = *s.def
			}
			continue
		}
		switch s.kind {
		case segLiteral:
			if !strings.EqualFold(s.literal, path[i]) {
				return nil, false
			}
		case segCatchAll:
			params[s.name] = strings.Join(path[i:], "/")
			return params, true
		default:
			if path[i] == "" || (s.maxLen >= 0 && len(path[i]) > s.maxLen) || (s.minLen >= 0 && len(path[i]) < s.minLen) {
				return nil, false
			}
			params[s.name] = path[i]
		}
	}
	if len(path) > len(t.segments) {
		return nil, false
	}
	return params, true
}

// comparePrecedence orders templates the way ASP.NET's inbound precedence
// does: segment by segment, literal before parameter before catch-all, and a
// template that has run out of segments before one that has not.
func comparePrecedence(a, b *routeTemplate) int {
	for i := 0; i < max(len(a.segments), len(b.segments)); i++ {
		var ka, kb segmentKind
		if i < len(a.segments) {
			ka = a.segments[i].kind
		}
		if i < len(b.segments) {
			kb = b.segments[i].kind
		}
		if ka != kb {
			return cmp.Compare(ka, kb)
		}
	}
	return cmp.Compare(strings.ToLower(a.text), strings.ToLower(b.text))
}

// router holds the HTTP functions in precedence order.
type router struct {
	prefix []string
	fns    []*function
}

func newRouter(prefix string, fns []*function) *router {
	r := &router{}
	if prefix != "" {
		r.prefix = strings.Split(prefix, "/")
	}
	for _, f := range fns {
		if f.Kind == kindHTTP {
			r.fns = append(r.fns, f)
		}
	}
	slices.SortStableFunc(r.fns, func(a, b *function) int {
		if c := comparePrecedence(a.template, b.template); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return r
}

// splitPath turns an escaped URL path into decoded segments, so that an
// encoded "/" inside a segment does not create a new segment.
func splitPath(escaped string) ([]string, error) {
	escaped = strings.TrimPrefix(escaped, "/")
	escaped = strings.TrimSuffix(escaped, "/") // ASP.NET ignores one trailing slash
	if escaped == "" {
		return nil, nil
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		d, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = d
	}
	return parts, nil
}

// lookup finds the function serving method + escaped path. Like ASP.NET, a
// route whose method list excludes the method is skipped, not an error.
func (r *router) lookup(method, escapedPath string) (*function, map[string]string, bool) {
	path, err := splitPath(escapedPath)
	if err != nil || len(path) < len(r.prefix) {
		return nil, nil, false
	}
	for i, p := range r.prefix {
		if !strings.EqualFold(p, path[i]) {
			return nil, nil, false
		}
	}
	path = path[len(r.prefix):]
	for _, f := range r.fns {
		if !f.allows(method) {
			continue
		}
		if params, ok := f.template.match(path); ok {
			return f, params, true
		}
	}
	return nil, nil, false
}
