package policyfile

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jitpim/jitpim/shared/domain"
)

var reviewKeys = []string{"name", "scope", "reviewers", "fallbackReviewers", "recurrence", "durationInDays", "defaultDecision",
	"autoApply", "justificationRequired", "recommendations", "reminders"}

// reviews reads accessReviews: what is reviewed, by whom, how often, and
// what happens to unanswered decisions.
func (p *parser) reviews(root *mapping) {
	items, _, declared := root.list("accessReviews")
	p.f.ReviewsDeclared = declared
	names := map[string]int{}
	for i, it := range items {
		what := fmt.Sprintf("accessReviews[%d]", i+1)
		m := p.d.asMapping(it, what)
		r := &Review{Line: it.Line}
		name := m.str("name")
		r.Name = strings.TrimSpace(name.V)
		switch {
		case r.Name == "":
			p.d.errorf(it.Line, "%s needs a name", what)
		case names[r.Name] != 0:
			p.d.errorf(name.Line, "%s: the name %q is already used at line %d", what, r.Name, names[r.Name])
		default:
			names[r.Name] = name.Line
			what = fmt.Sprintf("access review %q", r.Name)
		}
		p.reviewScope(m, r, what)
		p.reviewers(m, r, what)
		if fn := m.get("fallbackReviewers"); !isNull(fn) {
			if fn.Kind != yaml.SequenceNode {
				p.d.errorf(fn.Line, "%s: fallbackReviewers must be a list of users or groups", what)
			} else {
				r.Fallback = p.refs(fn.Content, what+": fallbackReviewers")
			}
		}
		p.recurrence(m, r, what)
		dur := m.integer("durationInDays")
		r.DurationInDays = dur.V
		period := r.Every * 7
		if r.Unit == "months" {
			period = r.Every * 28
		}
		switch {
		case !dur.Set:
			p.d.errorf(it.Line, "%s needs durationInDays: how many days reviewers have to answer", what)
		case dur.V < 1:
			p.d.errorf(dur.Line, "%s: durationInDays must be at least 1, got %d", what, dur.V)
		case period > 0 && dur.V > period:
			p.d.errorf(dur.Line, "%s: durationInDays %d is longer than the time between reviews (%d days): one review would still run when the next starts", what, dur.V, period)
		}
		r.DefaultDecision = "None"
		if v := m.str("defaultDecision"); v.Set {
			switch strings.ToLower(v.V) {
			case "none":
			case "approve":
				r.DefaultDecision = "Approve"
			case "deny":
				r.DefaultDecision = "Deny"
			case "recommendation":
				r.DefaultDecision = "Recommendation"
			default:
				p.d.errorf(v.Line, "%s: defaultDecision must be none, approve, deny or recommendation; got %q", what, v.V)
			}
		}
		auto := m.boolean("autoApply")
		r.AutoApply = auto.V
		r.JustificationRequired = m.boolean("justificationRequired").V
		r.Recommendations = m.boolean("recommendations").V
		r.Reminders = m.boolean("reminders").V
		if r.AutoApply && r.DefaultDecision == "Deny" {
			p.d.warnf(auto.Line, "%s: autoApply with defaultDecision deny REMOVES the access of everyone whose reviewer does not answer in %d days; make sure that is what you want", what, r.DurationInDays)
		}
		if r.AutoApply && r.DefaultDecision == "Recommendation" && r.Recommendations {
			p.d.warnf(auto.Line, "%s: autoApply with recommendations removes the access of everyone who has not signed in for 30 days when the reviewer does not answer", what)
		}
		m.done(reviewKeys...)
		p.f.Reviews = append(p.f.Reviews, r)
	}
}

func (p *parser) reviewScope(m *mapping, r *Review, what string) {
	n := m.get("scope")
	if isNull(n) {
		p.d.errorf(m.line(), "%s needs a scope: {role: <role>}, {privilegedRoles: true}, {group: <group>, access: member} or {azureRole: <role> on <scope>}", what)
		return
	}
	s := p.d.asMapping(n, what+": scope")
	role, group, access, azure := s.str("role"), s.str("group"), s.str("access"), s.str("azureRole")
	privileged, expand := s.boolean("privilegedRoles"), s.boolean("expandGroupMembers")
	r.ExpandGroupMembers = expand.V
	if expand.V && !role.Set && !privileged.V {
		p.d.errorf(expand.Line, "%s: scope.expandGroupMembers applies to role reviews (role: or privilegedRoles: true)", what)
	}
	switch {
	case privileged.V && (role.Set || group.Set || azure.Set):
		p.d.errorf(n.Line, "%s: scope is privilegedRoles, a role, a group or an Azure role, not several", what)
	case privileged.V:
		r.ScopePrivilegedRoles, r.ScopeName = true, "every privileged role"
	case role.Set && group.Set || azure.Set && (role.Set || group.Set):
		p.d.errorf(n.Line, "%s: scope names one role, group or Azure role", what)
	case azure.Set:
		if access.Set {
			p.d.errorf(access.Line, "%s: scope.access applies to groups only", what)
		}
		if t, name, ok := p.resolveAzureTarget(azure.V, azure.Line); ok {
			r.ScopeAzure, r.ScopeName = t, name
		}
	case role.Set:
		if access.Set {
			p.d.errorf(access.Line, "%s: scope.access applies to groups only", what)
		}
		if id, name, ok := p.resolveRole(role.V, role.Line); ok {
			r.ScopeRole, r.ScopeName = id, name
		}
	case group.Set:
		acc := strings.ToLower(access.V)
		if !access.Set {
			acc = domain.AccessMember
		} else if acc != domain.AccessMember && acc != domain.AccessOwner {
			p.d.errorf(access.Line, "%s: scope.access must be member or owner, got %q", what, access.V)
		}
		if id, name, ok := p.resolveGroup(group.V, group.Line, what+": scope"); ok {
			r.ScopeGroup, r.ScopeAccess, r.ScopeName = id, acc, name+" "+acc
		}
	default:
		p.d.errorf(n.Line, "%s: scope needs role:, group:, azureRole: or privilegedRoles: true", what)
	}
	s.done("role", "group", "access", "azureRole", "privilegedRoles", "expandGroupMembers")
}

func (p *parser) reviewers(m *mapping, r *Review, what string) {
	n := m.get("reviewers")
	switch {
	case isNull(n):
		p.d.errorf(m.line(), "%s needs reviewers: a list of users or groups, or one of self, manager, groupOwners", what)
	case n.Kind == yaml.ScalarNode:
		switch strings.ToLower(n.Value) {
		case "self":
			r.ReviewerKind = "self"
		case "manager":
			r.ReviewerKind = "manager"
		case "groupowners":
			r.ReviewerKind = "groupOwners"
			if r.ScopeRole != "" || r.ScopePrivilegedRoles || r.ScopeAzure.Kind != "" {
				p.d.errorf(n.Line, "%s: groupOwners review a group; this review's scope is a role", what)
			}
		default:
			p.d.errorf(n.Line, "%s: reviewers must be a list of users or groups, or one of self, manager, groupOwners; got %q", what, n.Value)
		}
		if r.ReviewerKind == "self" {
			p.d.warnf(n.Line, "%s: self-review lets every holder keep their own access; prefer named reviewers for privileged roles", what)
		}
	case n.Kind == yaml.SequenceNode:
		r.Reviewers = p.refs(n.Content, what+": reviewers")
		if len(n.Content) == 0 {
			p.d.errorf(n.Line, "%s: reviewers is empty", what)
		}
	default:
		p.d.errorf(n.Line, "%s: reviewers must be a list of users or groups, or one of self, manager, groupOwners", what)
	}
}

func (p *parser) recurrence(m *mapping, r *Review, what string) {
	n := m.get("recurrence")
	if isNull(n) {
		p.d.errorf(m.line(), "%s needs a recurrence such as {every: 3, unit: months}", what)
		return
	}
	rm := p.d.asMapping(n, what+": recurrence")
	every, unit := rm.integer("every"), rm.str("unit")
	r.Every = every.V
	switch strings.ToLower(unit.V) {
	case "week", "weeks":
		r.Unit = "weeks"
	case "month", "months":
		r.Unit = "months"
	default:
		p.d.errorf(n.Line, "%s: recurrence.unit must be weeks or months, got %q", what, unit.V)
	}
	limit := map[string]int{"weeks": 52, "months": 12}[r.Unit]
	switch {
	case !every.Set:
		p.d.errorf(n.Line, "%s: recurrence.every is missing (e.g. every: 3 for each quarter)", what)
	case every.V < 1:
		p.d.errorf(every.Line, "%s: recurrence.every must be at least 1, got %d", what, every.V)
	case limit > 0 && every.V > limit:
		p.d.errorf(every.Line, "%s: recurrence.every must be 1 to %d %s, got %d", what, limit, r.Unit, every.V)
	}
	rm.done("every", "unit")
}

var alertKeys = []string{"tooManyGlobalAdmins", "rolesAssignedOutsidePIM", "adminsNotUsingRoles", "staleAccounts",
	"rolesWithoutMFA", "activatedTooOften", "breakGlassSignIn"}

// alerts reads alert thresholds. A threshold alert is a mapping, or false
// to turn it off; a plain alert is true or false.
func (p *parser) alerts(n *yaml.Node) *Alerts {
	m := p.d.asMapping(n, "alerts")
	a := &Alerts{Line: n.Line}
	off := func(key string) (*mapping, bool) {
		v := m.get(key)
		if isNull(v) {
			return nil, false
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
			if strings.EqualFold(v.Value, "true") {
				p.d.errorf(v.Line, "alerts.%s needs its thresholds, not true", key)
			}
			return nil, false
		}
		return p.d.asMapping(v, "alerts."+key), true
	}
	intIn := func(sm *mapping, key, what string, lo, hi int) int {
		v := sm.integer(key)
		if !v.Set {
			p.d.errorf(sm.line(), "alerts.%s needs %s", what, key)
			return 0
		}
		if v.V < lo || v.V > hi {
			p.d.errorf(v.Line, "alerts.%s.%s must be %d to %d, got %d", what, key, lo, hi, v.V)
		}
		return v.V
	}
	if sm, ok := off("tooManyGlobalAdmins"); ok {
		a.TooManyGlobalAdminsCount = intIn(sm, "count", "tooManyGlobalAdmins", 2, 100)
		a.TooManyGlobalAdminsPct = intIn(sm, "percentage", "tooManyGlobalAdmins", 1, 100)
		sm.done("count", "percentage")
		a.Configured = append(a.Configured, fmt.Sprintf("too many Global Administrators (more than %d and more than %d%% of privileged users)", a.TooManyGlobalAdminsCount, a.TooManyGlobalAdminsPct))
	}
	if v := m.boolean("rolesAssignedOutsidePIM"); v.V {
		a.RolesAssignedOutsidePIM = true
		a.Configured = append(a.Configured, "roles assigned outside PIM")
	}
	if sm, ok := off("adminsNotUsingRoles"); ok {
		a.AdminsNotUsingRolesDays = intIn(sm, "days", "adminsNotUsingRoles", 1, 365)
		sm.done("days")
		a.Configured = append(a.Configured, fmt.Sprintf("administrators not using their roles for %d days", a.AdminsNotUsingRolesDays))
	}
	if sm, ok := off("staleAccounts"); ok {
		a.StaleAccountDays = intIn(sm, "days", "staleAccounts", 1, 365)
		sm.done("days")
		a.Configured = append(a.Configured, fmt.Sprintf("stale accounts in privileged roles (no sign-in for %d days)", a.StaleAccountDays))
	}
	if v := m.boolean("rolesWithoutMFA"); v.V {
		a.RolesWithoutMFA = true
		a.Configured = append(a.Configured, "roles without MFA on activation")
	}
	if sm, ok := off("activatedTooOften"); ok {
		a.ActivatedTooOftenCount = intIn(sm, "count", "activatedTooOften", 2, 100)
		w := sm.duration("within")
		switch {
		case !w.Set:
			p.d.errorf(sm.line(), "alerts.activatedTooOften needs within: the window, such as PT24H")
		case w.V < time.Hour || w.V > 30*24*time.Hour:
			p.d.errorf(w.Line, "alerts.activatedTooOften.within must be PT1H to P30D, got %s", domain.FormatISODuration(w.V))
		}
		a.ActivatedTooOftenWithin = w.V
		sm.done("count", "within")
		a.Configured = append(a.Configured, fmt.Sprintf("roles activated more than %d times within %s", a.ActivatedTooOftenCount, domain.FormatISODuration(w.V)))
	}
	if v := m.boolean("breakGlassSignIn"); v.V {
		a.BreakGlassSignIn = true
		a.Configured = append(a.Configured, "every break-glass sign-in")
	}
	m.done(alertKeys...)
	return a
}
