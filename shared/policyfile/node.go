package policyfile

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jitpim/jitpim/shared/domain"
)

// Diagnostic is one finding about a policy file, tied to a line.
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Warning bool   `json:"warning,omitempty"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string {
	if d.Warning {
		return fmt.Sprintf("%s:%d: warning: %s", d.File, d.Line, d.Message)
	}
	return fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.Message)
}

// diags collects diagnostics while a file is read and checked.
type diags struct {
	file string
	list []Diagnostic
}

func (d *diags) errorf(line int, format string, a ...any) {
	d.list = append(d.list, Diagnostic{File: d.file, Line: max(line, 1), Message: fmt.Sprintf(format, a...)})
}

func (d *diags) warnf(line int, format string, a ...any) {
	d.list = append(d.list, Diagnostic{File: d.file, Line: max(line, 1), Warning: true, Message: fmt.Sprintf(format, a...)})
}

// sorted returns the diagnostics by line, errors before warnings on a line,
// in the order found otherwise.
func (d *diags) sorted() []Diagnostic {
	out := append([]Diagnostic(nil), d.list...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return !out[i].Warning && out[j].Warning
	})
	return out
}

// Val is a value read from the file with the line it was written on; Set
// tells a value given from one left out.
type Val[T any] struct {
	V    T
	Line int
	Set  bool
}

func set[T any](v T, line int) Val[T] { return Val[T]{V: v, Line: line, Set: true} }

// mapping reads one YAML mapping: each key may be read once, and keys never
// read are reported as unknown by done.
type mapping struct {
	d     *diags
	node  *yaml.Node
	what  string
	keys  []string
	vals  map[string]*yaml.Node
	lines map[string]int
	used  map[string]bool
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "an empty value"
	case n.Tag == "!!bool":
		return "true/false"
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "a number"
	}
	return fmt.Sprintf("the text %q", n.Value)
}

// asMapping reads n as a mapping; anything else is reported and read as empty.
func (d *diags) asMapping(n *yaml.Node, what string) *mapping {
	n = deref(n)
	m := &mapping{d: d, node: n, what: what, vals: map[string]*yaml.Node{}, lines: map[string]int{}, used: map[string]bool{}}
	if n == nil || n.Tag == "!!null" {
		return m
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%s must be a mapping (key: value lines), got %s", what, kindName(n))
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, "%s: keys must be plain text", what)
			continue
		}
		if k.Value == "<<" {
			d.errorf(k.Line, "%s: YAML merge keys (<<) are not supported: write the settings out, or use a tier", what)
			continue
		}
		if first, dup := m.lines[k.Value]; dup {
			d.errorf(k.Line, "%s: %q is given twice (first at line %d)", what, k.Value, first)
			continue
		}
		m.keys = append(m.keys, k.Value)
		m.vals[k.Value] = v
		m.lines[k.Value] = k.Line
	}
	return m
}

func (m *mapping) line() int {
	if m.node == nil {
		return 1
	}
	return m.node.Line
}

// has reports whether key is present, without reading it.
func (m *mapping) has(key string) bool { _, ok := m.vals[key]; return ok }

// get returns the value node of key, or nil; it marks the key read.
func (m *mapping) get(key string) *yaml.Node {
	m.used[key] = true
	return deref(m.vals[key])
}

// done reports every key that was never read, with a suggestion.
func (m *mapping) done(allowed ...string) {
	for _, k := range m.keys {
		if m.used[k] {
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %q", m.what, k)
		if s, ok := aliases[strings.ToLower(k)]; ok && slices.Contains(allowed, s) {
			msg += fmt.Sprintf("; this file calls it %q", s)
		} else if s := closest(k, allowed); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(allowed) > 0 {
			msg += "; known keys: " + strings.Join(allowed, ", ")
		}
		m.d.errorf(m.lines[k], "%s", msg)
	}
}

func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

func (m *mapping) str(key string) Val[string] {
	n := m.get(key)
	if isNull(n) {
		return Val[string]{}
	}
	if n.Kind != yaml.ScalarNode {
		m.d.errorf(n.Line, "%s.%s must be text, got %s", m.what, key, kindName(n))
		return Val[string]{}
	}
	return set(n.Value, n.Line)
}

func (m *mapping) boolean(key string) Val[bool] {
	n := m.get(key)
	if isNull(n) {
		return Val[bool]{}
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		m.d.errorf(n.Line, "%s.%s must be true or false, got %s", m.what, key, kindName(n))
		return Val[bool]{}
	}
	b, _ := strconv.ParseBool(strings.ToLower(n.Value))
	return set(b, n.Line)
}

func (m *mapping) integer(key string) Val[int] {
	n := m.get(key)
	if isNull(n) {
		return Val[int]{}
	}
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		m.d.errorf(n.Line, "%s.%s must be a whole number, got %s", m.what, key, kindName(n))
		return Val[int]{}
	}
	return set(i, n.Line)
}

// duration reads an ISO 8601 duration (PT1H, P180D).
func (m *mapping) duration(key string) Val[time.Duration] {
	v := m.str(key)
	if !v.Set {
		return Val[time.Duration]{}
	}
	d, err := domain.ParseISODuration(strings.TrimSpace(v.V))
	if err != nil {
		m.d.errorf(v.Line, "%s.%s: %v", m.what, key, err)
		return Val[time.Duration]{}
	}
	return set(d, v.Line)
}

// list reads a sequence; a single scalar is not accepted as a list.
func (m *mapping) list(key string) ([]*yaml.Node, int, bool) {
	n := m.get(key)
	if isNull(n) {
		return nil, 0, m.has(key)
	}
	if n.Kind != yaml.SequenceNode {
		m.d.errorf(n.Line, "%s.%s must be a list (lines starting with \"- \", or [a, b]), got %s", m.what, key, kindName(n))
		return nil, n.Line, false
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, deref(c))
	}
	return out, n.Line, true
}

// strings reads a list of text values.
func (m *mapping) strings(key string) Val[[]string] {
	items, line, ok := m.list(key)
	if !ok {
		return Val[[]string]{}
	}
	out := []string{}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || isNull(it) {
			m.d.errorf(it.Line, "%s.%s: each entry must be text, got %s", m.what, key, kindName(it))
			continue
		}
		out = append(out, it.Value)
	}
	return set(out, line)
}

// aliases are names people bring from Entra's portal or Graph, and the
// key this file uses for them.
var aliases = map[string]string{
	"requiremfa": "mfa", "requiremultifactorauthentication": "mfa", "multifactorauthentication": "mfa",
	"requirejustification": "justification", "requireticket": "ticket", "requireticketinfo": "ticket", "ticketing": "ticket",
	"incidentticket": "ticket", "requireapproval": "approval", "isapprovalrequired": "approval", "approver": "approvers",
	"primaryapprovers": "approvers", "maximumduration": "activationDuration", "maxduration": "activationDuration",
	"maxactivationduration": "activationDuration", "conditionalaccess": "authContext", "authenticationcontext": "authContext",
	"claimvalue": "authContext", "notifications": "notification", "eligibleassignmentexpiration": "eligibleExpiration",
	"activeassignmentexpiration": "activeExpiration", "members": "eligible", "eligiblemembers": "eligible",
	"break-glass": "breakGlass", "breakglassaccounts": "breakGlass", "emergencyaccounts": "breakGlass", "reviews": "accessReviews",
	"groups": "privilegedAccessGroups", "pags": "privilegedAccessGroups",
}

// closest suggests the allowed key nearest to k, if it is near enough.
func closest(k string, allowed []string) string {
	best, bestD := "", 1<<30
	for _, a := range allowed {
		d := editDistance(strings.ToLower(k), strings.ToLower(a))
		if d < bestD {
			best, bestD = a, d
		}
	}
	if bestD <= max(2, len(k)/3) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
