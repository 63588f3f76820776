package policyfile

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jitpim/jitpim/shared/domain"
)

// SchemaVersion is the policy file format this package reads.
const SchemaVersion = 1

// Load reads and checks a policy file. The error is only for a file that
// cannot be read; problems in the file are its Diagnostics.
func Load(path string, now time.Time) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, now), nil
}

// Parse reads and checks a policy file: every problem becomes a
// diagnostic with its line. now dates the checks of fixed end dates.
func Parse(name string, data []byte, now time.Time) *File {
	p := &parser{d: &diags{file: name}, f: &File{Path: name}, now: now,
		users: map[string]*Name{}, groups: map[string]*Name{}, roles: map[string]*Name{}, subs: map[string]*Name{}}
	if p.parse(data) {
		p.validate()
	}
	p.f.Diagnostics = p.d.sorted()
	return p.f
}

type parser struct {
	d      *diags
	f      *File
	now    time.Time
	users  map[string]*Name // by name
	groups map[string]*Name
	roles  map[string]*Name // custom roles by name (lower case)
	subs   map[string]*Name // Azure subscriptions by name
	tiers  map[string]*Tier
	// targets by policy id, to find a target declared twice
	seen map[string]*Target
	// reported keeps a merged-policy problem from being reported once per target
	reported map[string]bool
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

var topKeys = []string{"version", "directory", "defaults", "tiers", "roles", "privilegedAccessGroups", "azureRoles", "breakGlass", "accessReviews", "alerts"}

// parse reads the file; false when it is not YAML at all.
func (p *parser) parse(data []byte) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 1
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		if strings.Contains(msg, "did not find expected key") || strings.Contains(msg, "mapping values are not allowed") {
			msg += " (check the indentation of this block: keys at one level must line up)"
		}
		p.d.errorf(line, "not valid YAML: %s", msg)
		return false
	}
	if len(doc.Content) == 0 {
		p.d.errorf(1, "the file is empty: it needs at least \"version: %d\"", SchemaVersion)
		return false
	}
	root := p.d.asMapping(doc.Content[0], "the file")
	v := root.integer("version")
	switch {
	case !root.has("version"):
		p.d.errorf(root.line(), "version is missing: start the file with \"version: %d\"", SchemaVersion)
	case v.Set && v.V != SchemaVersion:
		p.d.errorf(v.Line, "version %d is not supported: this jitpim reads version %d", v.V, SchemaVersion)
	}
	p.f.Version = v.V
	p.directory(root.get("directory"))
	p.tierSection(root.get("tiers"))
	if n := root.get("defaults"); !isNull(n) {
		p.f.Defaults = p.settings(n, "defaults")
	}
	p.rolesSection(root.get("roles"))
	p.groupsSection(root.get("privilegedAccessGroups"))
	p.azureRolesSection(root.get("azureRoles"))
	p.breakGlass(root)
	p.reviews(root)
	if n := root.get("alerts"); !isNull(n) {
		p.f.Alerts = p.alerts(n)
	}
	root.done(topKeys...)
	return true
}

func (p *parser) directory(n *yaml.Node) {
	if isNull(n) {
		return
	}
	m := p.d.asMapping(n, "directory")
	ids := map[domain.ObjectID]*Name{}
	read := func(key string, into map[string]*Name, list *[]*Name, lower bool) {
		sub := p.d.asMapping(m.get(key), "directory."+key)
		for _, name := range sub.keys {
			v := sub.str(name)
			if !v.Set {
				p.d.errorf(sub.lines[name], "directory.%s.%s needs an object id", key, name)
				continue
			}
			id, err := domain.ParseObjectID("directory."+key+"."+name, strings.TrimSpace(v.V))
			if err != nil {
				p.d.errorf(v.Line, "directory.%s.%s: %q is not an object id (a GUID such as 5f5e9064-8c0a-4d93-a415-69bda49e5511)", key, name, v.V)
				continue
			}
			if prev, ok := ids[id]; ok {
				p.d.errorf(v.Line, "directory.%s.%s has the same object id as %q (line %d): one object, one name", key, name, prev.Name, prev.Line)
				continue
			}
			nm := &Name{Name: name, ID: id, Line: sub.lines[name]}
			ids[id] = nm
			k := name
			if lower {
				k = strings.ToLower(name)
			}
			into[k] = nm
			*list = append(*list, nm)
		}
	}
	read("users", p.users, &p.f.Users, false)
	read("groups", p.groups, &p.f.Groups, false)
	read("customRoles", p.roles, &p.f.CustomRoles, true)
	read("subscriptions", p.subs, &p.f.Subscriptions, false)
	for _, u := range p.f.Users {
		if g, ok := p.groups[u.Name]; ok {
			p.d.errorf(g.Line, "directory: %q names both a user (line %d) and a group: use different names", u.Name, u.Line)
		}
	}
	for _, r := range p.f.CustomRoles {
		if b, ok := domain.BuiltInRoleByName(r.Name); ok {
			p.d.errorf(r.Line, "directory.customRoles: %q is the name of a built-in role (%s): name the role by that, or rename it", r.Name, b.ID)
		}
		if b, ok := domain.BuiltInRoleByID(r.ID); ok {
			p.d.errorf(r.Line, "directory.customRoles.%s: %s is the built-in role %q, not a custom role", r.Name, r.ID, b.DisplayName)
		}
	}
	m.done("users", "groups", "customRoles", "subscriptions")
}

// resolveRole finds a role by display name or template id.
func (p *parser) resolveRole(text string, line int) (domain.ObjectID, string, bool) {
	t := strings.TrimSpace(text)
	if r, ok := domain.BuiltInRoleByName(t); ok {
		return r.ID, r.DisplayName, true
	}
	if id, err := domain.ParseObjectID("role", t); err == nil {
		if r, ok := domain.BuiltInRoleByID(id); ok {
			return r.ID, r.DisplayName, true
		}
		for _, c := range p.f.CustomRoles {
			if c.ID == id {
				return c.ID, c.Name, true
			}
		}
	}
	if c, ok := p.roles[strings.ToLower(t)]; ok {
		return c.ID, c.Name, true
	}
	if domain.IsGUID(t) {
		p.d.errorf(line, "unknown role %q: it is not an Entra built-in role template id; declare a custom role under directory.customRoles", t)
	} else {
		msg := fmt.Sprintf("unknown role %q: not an Entra built-in role", t)
		if s := closestRole(t); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.d.errorf(line, "%s; custom roles go under directory.customRoles", msg)
	}
	return "", "", false
}

func closestRole(t string) string {
	names := make([]string, 0, len(domain.BuiltInRoles))
	for _, r := range domain.BuiltInRoles {
		names = append(names, r.DisplayName)
	}
	return closest(t, names)
}

// resolveGroup finds a group by directory name or object id.
func (p *parser) resolveGroup(text string, line int, what string) (domain.ObjectID, string, bool) {
	t := strings.TrimSpace(text)
	if g, ok := p.groups[t]; ok {
		return g.ID, g.Name, true
	}
	if id, err := domain.ParseObjectID(what, t); err == nil {
		for _, g := range p.f.Groups {
			if g.ID == id {
				return id, g.Name, true
			}
		}
		return id, string(id), true
	}
	if _, ok := p.users[t]; ok {
		p.d.errorf(line, "%s: %q is a user, not a group", what, t)
		return "", "", false
	}
	p.d.errorf(line, "%s: unknown group %q: add it under directory.groups with its object id", what, t)
	return "", "", false
}

// principal reads a user or group reference: text (a name from the
// directory, or an object id, taken as a user) or {user: X} / {group: X}.
func (p *parser) principal(n *yaml.Node, what string) (*Ref, *mapping) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return p.refText(n.Value, n.Line, "", what), nil
	}
	if n.Kind != yaml.MappingNode {
		p.d.errorf(n.Line, "%s: each entry must be a name, an object id, or {user: name} / {group: name}; got %s", what, kindName(n))
		return nil, nil
	}
	m := p.d.asMapping(n, what)
	u, g := m.str("user"), m.str("group")
	switch {
	case u.Set && g.Set:
		p.d.errorf(n.Line, "%s: give user or group, not both", what)
		return nil, m
	case u.Set:
		return p.refText(u.V, u.Line, "user", what), m
	case g.Set:
		return p.refText(g.V, g.Line, "group", what), m
	}
	p.d.errorf(n.Line, "%s: each entry needs user: or group:", what)
	return nil, m
}

func (p *parser) refText(text string, line int, kind, what string) *Ref {
	t := strings.TrimSpace(text)
	r := &Ref{Text: t, Line: line}
	switch kind {
	case "group":
		r.Group = true
		r.ID, r.Name, _ = p.resolveGroup(t, line, what)
		if r.ID == "" {
			return nil
		}
		return r
	case "user":
		if u, ok := p.users[t]; ok {
			r.ID, r.Name = u.ID, u.Name
			return r
		}
		if _, ok := p.groups[t]; ok {
			p.d.errorf(line, "%s: %q is a group, not a user", what, t)
			return nil
		}
	default:
		if u, ok := p.users[t]; ok {
			r.ID, r.Name = u.ID, u.Name
			return r
		}
		if g, ok := p.groups[t]; ok {
			r.Group, r.ID, r.Name = true, g.ID, g.Name
			return r
		}
	}
	if id, err := domain.ParseObjectID(what, t); err == nil {
		r.ID = id
		r.Name = string(id)
		for _, u := range p.f.Users {
			if u.ID == r.ID {
				r.Name = u.Name
			}
		}
		for _, g := range p.f.Groups {
			if g.ID == r.ID {
				r.Group, r.Name = true, g.Name
			}
		}
		return r
	}
	p.d.errorf(line, "%s: unknown user %q: add it under directory.users with its object id", what, t)
	return nil
}

var tierKeys = []string{"description", "settings"}

func (p *parser) tierSection(n *yaml.Node) {
	p.tiers = map[string]*Tier{}
	if isNull(n) {
		return
	}
	m := p.d.asMapping(n, "tiers")
	for _, name := range m.keys {
		line := m.lines[name]
		if !domain.ValidTierName(name) {
			p.d.errorf(line, "tier name %q: use 1 to 64 letters, digits, '-' or '_' (it becomes the policy id Tier_%s)", name, name)
		}
		t := &Tier{Name: name, Line: line}
		body := p.d.asMapping(m.get(name), "tiers."+name)
		t.Description = body.str("description").V
		if sn := body.get("settings"); !isNull(sn) {
			t.Settings = p.settings(sn, "tiers."+name+".settings")
		}
		body.done(tierKeys...)
		p.tiers[name] = t
		p.f.Tiers = append(p.f.Tiers, t)
	}
}

var targetKeys = []string{"tier", "settings", "eligible", "active"}

func (p *parser) rolesSection(n *yaml.Node) {
	p.seen = map[string]*Target{}
	if isNull(n) {
		return
	}
	m := p.d.asMapping(n, "roles")
	for _, key := range m.keys {
		line := m.lines[key]
		id, name, ok := p.resolveRole(key, line)
		body := m.get(key)
		t := &Target{Key: key, Line: line, Name: name}
		if ok {
			t.T = domain.RoleTarget(id, domain.TenantScope)
		}
		p.targetBody(t, body, "roles."+key)
		if ok && p.unique(t) {
			p.f.Targets = append(p.f.Targets, t)
		}
	}
}

func (p *parser) unique(t *Target) bool {
	id := domain.PolicyID(t.T)
	if prev, ok := p.seen[id]; ok {
		p.d.errorf(t.Line, "%s is declared twice (also at line %d): merge the two", t.Name, prev.Line)
		return false
	}
	p.seen[id] = t
	return true
}

func (p *parser) targetBody(t *Target, n *yaml.Node, what string) {
	body := p.d.asMapping(n, what)
	t.Tier = body.str("tier")
	if sn := body.get("settings"); !isNull(sn) {
		t.Settings = p.settings(sn, what+".settings")
	}
	t.Eligible = p.assignments(body, "eligible", t, false, what)
	t.Active = p.assignments(body, "active", t, true, what)
	body.done(targetKeys...)
}

func (p *parser) assignments(body *mapping, key string, t *Target, active bool, what string) []*Assignment {
	items, _, _ := body.list(key)
	var out []*Assignment
	for _, it := range items {
		ref, m := p.principal(it, what+"."+key)
		a := &Assignment{Line: it.Line, Principal: ref, Active: active, Target: t}
		if m != nil {
			if v := m.str("expiration"); v.Set {
				if e, ok := p.expiry(v, what+"."+key+".expiration", true); ok {
					a.Expiration = set(e, v.Line)
				}
			}
			a.Justification = m.str("justification").V
			m.done("user", "group", "expiration", "justification")
		}
		if ref != nil {
			out = append(out, a)
		}
	}
	return out
}

// expiry reads "permanent", an ISO duration, or (for assignments) a date.
func (p *parser) expiry(v Val[string], what string, dates bool) (Expiry, bool) {
	s := strings.TrimSpace(v.V)
	if strings.EqualFold(s, "permanent") {
		return Expiry{Permanent: true}, true
	}
	if strings.HasPrefix(s, "P") {
		d, err := domain.ParseISODuration(s)
		if err != nil {
			p.d.errorf(v.Line, "%s: %v", what, err)
			return Expiry{}, false
		}
		if d < time.Hour {
			p.d.errorf(v.Line, "%s: %s is too short to be useful; give days, such as P90D", what, s)
			return Expiry{}, false
		}
		return Expiry{Duration: d}, true
	}
	if dates {
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return Expiry{Until: t.UTC()}, true
			}
		}
		p.d.errorf(v.Line, "%s: %q is not permanent, a duration such as P180D, or a date such as 2026-12-31", what, s)
		return Expiry{}, false
	}
	p.d.errorf(v.Line, "%s: %q is not permanent or a duration such as P180D", what, s)
	return Expiry{}, false
}

var groupKeys = []string{"description", "member", "owner"}

func (p *parser) groupsSection(n *yaml.Node) {
	if isNull(n) {
		return
	}
	m := p.d.asMapping(n, "privilegedAccessGroups")
	seen := map[domain.ObjectID]*Group{}
	for _, key := range m.keys {
		line := m.lines[key]
		id, name, ok := p.resolveGroup(key, line, "privilegedAccessGroups")
		g := &Group{Key: key, Line: line, ID: id, Name: name}
		body := p.d.asMapping(m.get(key), "privilegedAccessGroups."+key)
		g.Description = body.str("description").V
		for _, acc := range []string{domain.AccessMember, domain.AccessOwner} {
			an := body.get(acc)
			if !body.has(acc) {
				continue
			}
			t := &Target{Key: key, Line: body.lines[acc], Name: name + " " + acc, Group: g}
			if ok {
				t.T = domain.GroupTarget(id, acc)
			}
			p.targetBody(t, an, "privilegedAccessGroups."+key+"."+acc)
			if acc == domain.AccessMember {
				g.Member = t
			} else {
				g.Owner = t
			}
			if ok && p.unique(t) {
				p.f.Targets = append(p.f.Targets, t)
			}
		}
		body.done(groupKeys...)
		if !ok {
			continue
		}
		if prev, dup := seen[id]; dup {
			p.d.errorf(line, "group %s is declared twice (also at line %d): merge the two", name, prev.Line)
			continue
		}
		seen[id] = g
		p.f.PAGs = append(p.f.PAGs, g)
	}
}

var settingKeys = []string{"activationDuration", "mfa", "authContext", "justification", "ticket", "ticketValidation", "approval",
	"approvers", "approvalTimeoutDays", "approverJustification", "escalation", "notification", "notificationLevel",
	"notificationRecipients", "eligibleExpiration", "activeExpiration", "mfaOnActiveAssignment", "justificationOnActiveAssignment"}

// settings reads a settings block and checks each value on its own; rules
// that need the merged policy are checked in validate.
func (p *parser) settings(n *yaml.Node, what string) *Settings {
	m := p.d.asMapping(n, what)
	s := &Settings{Line: m.line()}
	s.ActivationDuration = m.duration("activationDuration")
	if v := s.ActivationDuration; v.Set {
		switch {
		case v.V > domain.MaxActivationDuration:
			p.d.errorf(v.Line, "%s.activationDuration: an activation may last at most 24 hours (PT24H), got %s", what, hours(v.V))
		case v.V < 30*time.Minute:
			p.d.errorf(v.Line, "%s.activationDuration: an activation must last at least 30 minutes (PT30M), got %s", what, domain.FormatISODuration(v.V))
		}
	}
	s.MFA = m.boolean("mfa")
	if an := m.get("authContext"); !isNull(an) {
		switch {
		case an.Kind == yaml.ScalarNode && an.Tag == "!!bool" && strings.EqualFold(an.Value, "false"):
			s.AuthContext = set("", an.Line)
		case an.Kind == yaml.ScalarNode && an.Tag == "!!str":
			v := strings.TrimSpace(an.Value)
			if len(v) > 32 || strings.ContainsAny(v, " \t") {
				p.d.errorf(an.Line, "%s.authContext: %q is not a Conditional Access authentication context id such as c1", what, an.Value)
			}
			s.AuthContext = set(v, an.Line)
		default:
			p.d.errorf(an.Line, "%s.authContext must be an authentication context id such as c1, or false; got %s", what, kindName(an))
		}
	}
	s.Justification = m.boolean("justification")
	s.Ticket = m.boolean("ticket")
	s.TicketValidation = m.boolean("ticketValidation")
	s.Approval = m.boolean("approval")
	if items, line, ok := m.list("approvers"); ok {
		s.Approvers = set(p.approverRefs(items, what+".approvers"), line)
		if len(items) > domain.MaxApproversPerStage {
			p.d.errorf(line, "%s.approvers: at most %d approvers, got %d; name a group instead", what, domain.MaxApproversPerStage, len(items))
		}
	}
	s.ApprovalTimeoutDays = m.integer("approvalTimeoutDays")
	if v := s.ApprovalTimeoutDays; v.Set && (v.V < 1 || v.V > 7) {
		p.d.errorf(v.Line, "%s.approvalTimeoutDays: an approval stage times out after 1 to 7 days, got %d", what, v.V)
	}
	s.ApproverJustification = m.boolean("approverJustification")
	if en := m.get("escalation"); !isNull(en) {
		em := p.d.asMapping(en, what+".escalation")
		e := &Escalation{Line: en.Line}
		after := em.integer("afterMinutes")
		e.AfterMinutes = after.V
		if !after.Set || after.V < 1 {
			p.d.errorf(en.Line, "%s.escalation needs afterMinutes: how long approvers have before it escalates (at least 1)", what)
		}
		items, _, _ := em.list("approvers")
		e.Approvers = p.approverRefs(items, what+".escalation.approvers")
		if len(items) == 0 {
			p.d.errorf(en.Line, "%s.escalation needs approvers to escalate to", what)
		}
		em.done("afterMinutes", "approvers")
		s.Escalation = set(e, en.Line)
	}
	s.Notification = m.boolean("notification")
	if v := m.str("notificationLevel"); v.Set {
		switch strings.ToLower(v.V) {
		case "all":
			s.NotificationLevel = set(domain.LevelAll, v.Line)
		case "critical":
			s.NotificationLevel = set(domain.LevelCritical, v.Line)
		default:
			p.d.errorf(v.Line, "%s.notificationLevel must be all or critical, got %q", what, v.V)
		}
	}
	s.NotificationRecips = m.strings("notificationRecipients")
	if v := s.NotificationRecips; v.Set {
		if len(v.V) > 25 {
			p.d.errorf(v.Line, "%s.notificationRecipients: at most 25 addresses, got %d", what, len(v.V))
		}
		for _, a := range v.V {
			if !strings.Contains(a, "@") || len(a) > 254 || strings.ContainsAny(a, " \t") {
				p.d.errorf(v.Line, "%s.notificationRecipients: %q is not an e-mail address", what, a)
			}
		}
	}
	for _, k := range []struct {
		key string
		dst *Val[Expiry]
	}{{"eligibleExpiration", &s.EligibleExpiration}, {"activeExpiration", &s.ActiveExpiration}} {
		if v := m.str(k.key); v.Set {
			if e, ok := p.expiry(v, what+"."+k.key, false); ok {
				*k.dst = set(e, v.Line)
			}
		}
	}
	s.MFAOnActive = m.boolean("mfaOnActiveAssignment")
	s.JustificationOnActive = m.boolean("justificationOnActiveAssignment")
	m.done(settingKeys...)
	return s
}

func (p *parser) refs(items []*yaml.Node, what string) []*Ref {
	var out []*Ref
	for _, it := range items {
		r, m := p.principal(it, what)
		if m != nil {
			m.done("user", "group")
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// OtherOwners is the approver that names the other owners of an Azure
// resource (the settings table's Owner row), in place of a user or group.
const OtherOwners = "otherOwners"

// approverRefs reads approvers: users, groups, or otherOwners.
func (p *parser) approverRefs(items []*yaml.Node, what string) []*Ref {
	var out []*Ref
	for _, it := range items {
		if it.Kind == yaml.ScalarNode && strings.TrimSpace(it.Value) == OtherOwners {
			out = append(out, &Ref{Text: OtherOwners, Line: it.Line, ResourceOwners: true, Name: "other owners of the resource"})
			continue
		}
		out = append(out, p.refs([]*yaml.Node{it}, what)...)
	}
	return out
}

func (p *parser) breakGlass(root *mapping) {
	items, line, ok := root.list("breakGlass")
	if !ok {
		return
	}
	seen := map[domain.ObjectID]int{}
	for _, it := range items {
		r, m := p.principal(it, "breakGlass")
		if m != nil {
			m.done("user")
		}
		if r == nil {
			continue
		}
		if r.Group {
			p.d.errorf(r.Line, "breakGlass: %q is a group; break-glass accounts are users", r.Text)
			continue
		}
		if first, dup := seen[r.ID]; dup {
			p.d.errorf(r.Line, "breakGlass: %s is listed twice (first at line %d)", r.Name, first)
			continue
		}
		seen[r.ID] = r.Line
		p.f.BreakGlass = append(p.f.BreakGlass, r)
	}
	if len(p.f.BreakGlass) == 1 {
		p.d.warnf(line, "breakGlass: only one break-glass account; keep at least two, so losing one does not lock you out")
	}
}
