package policyfile

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Change is one step of a plan: a tier, a policy or an assignment to add,
// change or remove, with the API calls that make it.
type Change struct {
	Op      string   `json:"op"`   // add, change, remove
	Kind    string   `json:"kind"` // tier, policy, assignment, review
	Subject string   `json:"subject"`
	Details []string `json:"details,omitempty"`
	// Held is a removal that apply skips without --allow-removals.
	Held bool `json:"held,omitempty"`
	// Regrant is the removal that this addition undoes: apply refuses the
	// whole plan over it without --allow-regrant.
	Regrant *Removal  `json:"regrant,omitempty"`
	Calls   []APICall `json:"calls"`
}

// APICall is one request apply sends.
type APICall struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body,omitempty"`
}

// NotApplied is a kind of thing the file says that jitpim cannot carry
// out yet: why, and each such thing.
type NotApplied struct {
	What   string   `json:"what"`
	Reason string   `json:"reason"`
	Items  []string `json:"items"`
}

// Plan is the difference between a file and the live state.
type Plan struct {
	File          string       `json:"file"`
	AllowRemovals bool         `json:"allowRemovals"`
	AllowRegrant  bool         `json:"allowRegrant"`
	Changes       []Change     `json:"changes"`
	NotApplied    []NotApplied `json:"notApplied"`
	Warnings      []string     `json:"warnings,omitempty"`
	Notes         []string     `json:"notes,omitempty"`
	// Unchanged are the file's access reviews that match a live definition.
	Unchanged []string `json:"unchanged,omitempty"`
	// AppSettings are the deployment settings the file implies (alert
	// thresholds, break-glass accounts): apply cannot set them.
	AppSettings []AppSetting `json:"appSettings,omitempty"`
	// BreakGlass is what the handler answered about each break-glass account.
	BreakGlass []string `json:"breakGlass,omitempty"`
}

// Counts returns how many changes would be applied, by op, and how many
// removals are held back.
func (p *Plan) Counts() (add, change, remove, held int) {
	for _, c := range p.Changes {
		switch {
		case c.Held:
			held++
		case c.Op == "add":
			add++
		case c.Op == "change":
			change++
		case c.Op == "remove":
			remove++
		}
	}
	return
}

// Regrants are the additions that give back what an access review or an
// administrator removed, which apply refuses without --allow-regrant.
func (p *Plan) Regrants() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Regrant != nil {
			out = append(out, c)
		}
	}
	return out
}

// Empty reports whether applying the plan would change nothing.
func (p *Plan) Empty() bool {
	a, c, r, _ := p.Counts()
	return a+c+r == 0
}

// PlanOptions tunes a plan.
type PlanOptions struct {
	AllowRemovals bool
	// AllowRegrant lets apply give back what an access review or an
	// administrator removed; the requests' justification says so.
	AllowRegrant bool
	Now          time.Time
}

const defaultJustification = "jitpim config apply"

// BuildPlan compares a valid file with the live state.
func BuildPlan(f *File, live *Live, o PlanOptions) *Plan {
	n := newNamer(f)
	d := f.Desired()
	pl := &Plan{File: f.Path, AllowRemovals: o.AllowRemovals, AllowRegrant: o.AllowRegrant, Changes: []Change{}, NotApplied: []NotApplied{}}

	// Tiers first: targets that inherit them are compared with what they
	// will inherit after the tiers are applied.
	var tiersAfter []domain.Policy
	inFile := map[string]bool{}
	for _, dt := range d.Tiers {
		id := domain.TierPolicyID(dt.Name)
		inFile[id] = true
		have, exists := live.Policies[id]
		if !exists {
			have = domain.DefaultPolicy()
		}
		details, patches := n.diffPolicy(have, dt.Policy)
		var calls []APICall
		for _, rp := range patches {
			calls = append(calls, APICall{"PATCH", pathPolicies + "/" + id + "/rules/" + rp.RuleID, rp.Body})
		}
		meta := map[string]any{}
		// Taking a target out of a tier changes what it inherits: that is a
		// removal, held back without --allow-removals.
		added, removed := targetDiff(have.TierTargets, dt.Targets)
		after := dt.Targets
		var held *Change
		if len(removed) > 0 && !o.AllowRemovals {
			after = append(slices.Clone(dt.Targets), removed...)
			sortTargets(after)
			var names []string
			for _, t := range removed {
				names = append(names, n.target(t))
			}
			held = &Change{Op: "remove", Kind: "tier", Subject: "tier " + dt.Name + " (" + id + "): targets the file does not list",
				Details: []string{"stop applying it to: " + strings.Join(names, ", ")}, Held: true,
				Calls: []APICall{{"PATCH", pathPolicies + "/" + id, map[string]any{"tierTargets": tierTargetsJSON(dt.Targets)}}}}
			removed = nil
		}
		if len(added)+len(removed) > 0 {
			var parts []string
			for _, t := range added {
				parts = append(parts, "+ "+n.target(t))
			}
			for _, t := range removed {
				parts = append(parts, "- "+n.target(t))
			}
			details = append([]string{"targets: " + strings.Join(parts, ", ")}, details...)
			meta["tierTargets"] = tierTargetsJSON(after)
		}
		if dt.Description != "" && dt.Description != have.Description {
			details = append(details, fmt.Sprintf("description: %q → %q", have.Description, dt.Description))
			meta["description"] = dt.Description
		}
		if len(meta) > 0 {
			call := APICall{"PATCH", pathPolicies + "/" + id, meta}
			// A tier's rules are checked against its targets: set the targets
			// first when the new rules would not fit the old ones (group activations
			// are at most 8 h), else last.
			if dt.Policy.Activation.MaxDuration > domain.MaxGroupActivation {
				calls = append([]APICall{call}, calls...)
			} else {
				calls = append(calls, call)
			}
		}
		if len(calls) > 0 {
			op := "change"
			if !exists {
				op = "add"
			}
			pl.Changes = append(pl.Changes, Change{Op: op, Kind: "tier", Subject: "tier " + dt.Name + " (" + id + ")", Details: details, Calls: calls})
		}
		if held != nil {
			pl.Changes = append(pl.Changes, *held)
		}
		tp := dt.Policy
		tp.TierTargets = after
		tiersAfter = append(tiersAfter, tp)
	}
	var liveIDs []string
	for id := range live.Policies {
		liveIDs = append(liveIDs, id)
	}
	sort.Strings(liveIDs)
	// Tiers the file does not name are outside it, like targets it does
	// not declare: left as they are (there is no way to delete a tier; a
	// tier listed with no targets applies to nothing).
	for _, id := range liveIDs {
		p := live.Policies[id]
		if p.Scope != domain.ScopeTier || inFile[id] {
			continue
		}
		tiersAfter = append(tiersAfter, p)
		if len(p.TierTargets) == 0 {
			continue
		}
		var names []string
		for _, t := range p.TierTargets {
			names = append(names, n.target(t))
		}
		pl.Notes = append(pl.Notes, fmt.Sprintf("tier %s (%s) is not in the file: left as it is; it applies to %s", p.Tier, id, strings.Join(names, ", ")))
	}

	defAfter := live.Default
	if d.Default != nil {
		details, patches := n.diffPolicy(live.Default, *d.Default)
		if len(patches) > 0 {
			pl.Changes = append(pl.Changes, Change{Op: "change", Kind: "policy", Subject: "default policy (Default)", Details: details, Calls: ruleCalls(domain.DefaultPolicyID, patches)})
		}
		defAfter = *d.Default
	}

	declared := map[string]bool{}
	for _, dt := range d.Targets {
		id := domain.PolicyID(dt.Target.T)
		declared[id] = true
		have := effective(dt.Target.T, live.Policies, slices.Clone(tiersAfter), defAfter)
		details, patches := n.diffPolicy(have, dt.Policy)
		if len(patches) == 0 {
			continue
		}
		if have.Scope != domain.ScopeTarget {
			details = append(details, "(it now inherits "+have.ID+"; it gets a policy of its own)")
		}
		pl.Changes = append(pl.Changes, Change{Op: "change", Kind: "policy", Subject: n.target(dt.Target.T) + " (" + id + ")", Details: details, Calls: ruleCalls(id, patches)})
	}
	for _, id := range liveIDs {
		p := live.Policies[id]
		if p.Scope == domain.ScopeTarget && !declared[id] {
			pl.Notes = append(pl.Notes, fmt.Sprintf("%s (%s) has a policy of its own but is not in the file: left as it is", n.target(p.Target), id))
		}
	}

	var removals []Change
	for _, dt := range d.Targets {
		for _, active := range []bool{false, true} {
			as := dt.Eligible
			if active {
				as = dt.Active
			}
			adds, rems := planAssignments(n, dt, as, active, live, o)
			pl.Changes = append(pl.Changes, adds...)
			removals = append(removals, rems...)
		}
	}
	pl.planReviews(f, live, o)
	pl.Changes = append(pl.Changes, removals...)
	pl.notApplied(f, n, live)
	pl.appSettings(f)
	return pl
}

func ruleCalls(id string, patches []rulePatch) []APICall {
	var calls []APICall
	for _, rp := range patches {
		calls = append(calls, APICall{"PATCH", pathPolicies + "/" + id + "/rules/" + rp.RuleID, rp.Body})
	}
	return calls
}

func targetDiff(have, want []domain.Target) (added, removed []domain.Target) {
	for _, t := range want {
		if !slices.Contains(have, t) {
			added = append(added, t)
		}
	}
	for _, t := range have {
		if !slices.Contains(want, t) {
			removed = append(removed, t)
		}
	}
	return
}

func tierTargetsJSON(ts []domain.Target) []map[string]string {
	out := []map[string]string{}
	for _, t := range ts {
		if t.Kind == domain.TargetGroup {
			out = append(out, map[string]string{"groupId": string(t.GroupID), "accessId": t.AccessID})
		} else {
			out = append(out, map[string]string{"roleDefinitionId": string(t.RoleDefinitionID), "directoryScopeId": t.DirectoryScopeID})
		}
	}
	return out
}

// wantExpiry is when an assignment should end: as written, else the
// longest its policy allows.
func wantExpiry(a *Assignment, p domain.Policy) Expiry {
	if a.Expiration.Set {
		return a.Expiration.V
	}
	r := p.Eligible
	if a.Active {
		r = p.Active
	}
	if r.AllowPermanent {
		return Expiry{Permanent: true}
	}
	return Expiry{Duration: r.MaxDuration}
}

func expirationJSON(e Expiry) map[string]any {
	switch {
	case e.Permanent:
		return map[string]any{"type": "noExpiration"}
	case !e.Until.IsZero():
		return map[string]any{"type": "afterDateTime", "endDateTime": e.Until.UTC().Format(time.RFC3339)}
	}
	return map[string]any{"type": "afterDuration", "duration": domain.FormatISODuration(e.Duration)}
}

func liveExpiry(s Schedule) string {
	if s.End.IsZero() {
		return "permanent"
	}
	return "until " + s.End.UTC().Format(time.RFC3339)
}

// satisfied tells whether a live schedule ends as the file wants. A
// duration is counted from when the assignment was made, so any end
// satisfies it: apply never silently renews.
func satisfied(s Schedule, e Expiry) bool {
	switch {
	case e.Permanent:
		return s.End.IsZero()
	case !e.Until.IsZero():
		diff := s.End.Sub(e.Until)
		return !s.End.IsZero() && diff < time.Minute && diff > -time.Minute
	}
	return !s.End.IsZero()
}

func requestPath(t domain.Target, active bool) string {
	switch {
	case t.Kind == domain.TargetGroup && active:
		return pgBase + "assignmentScheduleRequests"
	case t.Kind == domain.TargetGroup:
		return pgBase + "eligibilityScheduleRequests"
	case active:
		return rmBase + "roleAssignmentScheduleRequests"
	}
	return rmBase + "roleEligibilityScheduleRequests"
}

func requestBody(action string, principal domain.ObjectID, t domain.Target, justification string, exp map[string]any, scheduleID string) map[string]any {
	b := map[string]any{"action": action, "principalId": principal, "justification": justification}
	if t.Kind == domain.TargetGroup {
		b["groupId"], b["accessId"] = t.GroupID, t.AccessID
	} else {
		b["roleDefinitionId"], b["directoryScopeId"] = t.RoleDefinitionID, t.DirectoryScopeID
	}
	if exp != nil {
		b["scheduleInfo"] = map[string]any{"expiration": exp}
	}
	if scheduleID != "" {
		b["targetScheduleId"] = scheduleID
	}
	return b
}

func planAssignments(n namer, dt DesiredTarget, as []*Assignment, active bool, live *Live, o PlanOptions) (adds, removals []Change) {
	t := dt.Target.T
	kind, rk := "eligible", domain.KindEligibility
	if active {
		kind, rk = "active", domain.KindAssignment
	}
	var have []Schedule
	for _, s := range live.Schedules {
		if s.Kind == rk && s.Target == t {
			have = append(have, s)
		}
	}
	used := map[string]bool{}
	path := requestPath(t, active)
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, a := range as {
		if a.Principal.Group && t.Kind != domain.TargetRole {
			continue // reported as not applied
		}
		pid := a.Principal.ID
		who := a.Principal.Name
		if a.Principal.Group {
			who = "group " + who
		}
		subject := fmt.Sprintf("%s: %s for %s", who, kind, n.target(t))
		want := wantExpiry(a, dt.Policy)
		just := a.Justification
		if just == "" {
			just = defaultJustification
		}
		var match *Schedule
		for i := range have {
			if have[i].PrincipalID == pid && !used[have[i].ID] {
				match = &have[i]
				break
			}
		}
		if match == nil {
			c := Change{Op: "add", Kind: "assignment", Subject: subject, Details: []string{want.String()}}
			if rm, ok := live.RemovalOf(rk, pid, t); ok {
				rm.Summary = n.regrantLine(rm)
				c.Regrant = &rm
				if o.AllowRegrant {
					just = n.regrantJustification(just, rm)
				}
			}
			c.Calls = []APICall{{"POST", path, requestBody("adminAssign", pid, t, just, expirationJSON(want), "")}}
			adds = append(adds, c)
			continue
		}
		used[match.ID] = true
		if satisfied(*match, want) {
			continue
		}
		// The engine counts a new length from the assignment's start. When
		// that end has already passed, the assignment is replaced: removed,
		// then made again from now.
		if want.Duration > 0 && !match.Start.IsZero() && !match.Start.Add(want.Duration).After(now) {
			adds = append(adds, Change{Op: "change", Kind: "assignment", Subject: subject,
				Details: []string{fmt.Sprintf("%s → %s (it started %s, so it is replaced by a new assignment from now)", liveExpiry(*match), want.String(), match.Start.UTC().Format("2006-01-02"))},
				Calls: []APICall{
					{"POST", path, requestBody("adminRemove", pid, t, just+" (replaced: new expiration)", nil, match.ID)},
					{"POST", path, requestBody("adminAssign", pid, t, just, expirationJSON(want), "")},
				}})
			continue
		}
		adds = append(adds, Change{Op: "change", Kind: "assignment", Subject: subject, Details: []string{liveExpiry(*match) + " → " + want.String()},
			Calls: []APICall{{"POST", path, requestBody("adminUpdate", pid, t, just, expirationJSON(want), match.ID)}}})
	}
	for _, s := range have {
		if used[s.ID] {
			continue
		}
		subject := fmt.Sprintf("%s: %s for %s, not in the file", n.principal(s.PrincipalID), kind, n.target(t))
		removals = append(removals, Change{Op: "remove", Kind: "assignment", Subject: subject, Details: []string{liveExpiry(s)}, Held: !o.AllowRemovals,
			Calls: []APICall{{"POST", path, requestBody("adminRemove", s.PrincipalID, t, "removed by jitpim config apply: not in the policy file", nil, s.ID)}}})
	}
	return adds, removals
}

func (pl *Plan) notApplied(f *File, n namer, live *Live) {
	groups := NotApplied{What: "groups given group membership or ownership",
		Reason: "jitpim gives groups directory roles only (as Entra does for role-assignable groups): make the group's members eligible for the group instead"}
	for _, t := range f.Targets {
		for _, a := range append(append([]*Assignment{}, t.Eligible...), t.Active...) {
			if !a.Principal.Group || t.T.Kind == domain.TargetRole {
				continue
			}
			kind := "eligible"
			if a.Active {
				kind = "active"
			}
			groups.Items = append(groups.Items, fmt.Sprintf("group %s: %s for %s", a.Principal.Name, kind, n.target(t.T)))
		}
	}
	if len(groups.Items) > 0 {
		pl.NotApplied = append(pl.NotApplied, groups)
	}
	for _, r := range f.BreakGlass {
		c := live.BreakGlass[r.ID]
		pl.BreakGlass = append(pl.BreakGlass, fmt.Sprintf("%s (%s): %s", r.Name, r.ID, c.Answer))
		if !c.Protected {
			pl.Warnings = append(pl.Warnings, fmt.Sprintf("break-glass account %s (%s) is NOT protected by the handler: add its object id to JITPIM_BREAK_GLASS_IDS", r.Name, r.ID))
		}
	}
}

// Text renders the plan for people.
func (pl *Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for %s\n", pl.File)
	section := ""
	titles := map[string]string{"tier": "Tiers", "policy": "Policies", "assignment": "Assignments", "review": "Access reviews"}
	sign := map[string]string{"add": "+", "change": "~", "remove": "-"}
	for _, c := range pl.Changes {
		if titles[c.Kind] != section {
			section = titles[c.Kind]
			fmt.Fprintf(&b, "\n%s\n", section)
		}
		line := fmt.Sprintf("  %s %s", sign[c.Op], c.Subject)
		if c.Kind == "assignment" && len(c.Details) == 1 {
			line += ": " + c.Details[0]
		}
		switch {
		case c.Held && c.Op == "change":
			line += "  [held back: pass --allow-removals to delete and re-create]"
		case c.Held:
			line += "  [held back: pass --allow-removals to remove]"
		case c.Regrant != nil && pl.AllowRegrant:
			line += "  [re-grant allowed by --allow-regrant]"
		case c.Regrant != nil:
			line += "  [refused: pass --allow-regrant to re-grant]"
		}
		b.WriteString(line + "\n")
		if c.Regrant != nil {
			fmt.Fprintf(&b, "      ! %s\n", c.Regrant.Summary)
		}
		if c.Kind != "assignment" || len(c.Details) != 1 {
			for _, d := range c.Details {
				fmt.Fprintf(&b, "      %s\n", d)
			}
		}
	}
	if len(pl.Unchanged) > 0 {
		b.WriteString("\nAccess reviews unchanged\n")
		for _, u := range pl.Unchanged {
			fmt.Fprintf(&b, "  = %s\n", u)
		}
	}
	if len(pl.AppSettings) > 0 {
		b.WriteString("\nApp settings to set (Function App configuration; apply cannot set these)\n")
		for _, a := range pl.AppSettings {
			fmt.Fprintf(&b, "  %s=%s    # %s\n", a.Name, a.Value, a.Why)
		}
		for _, x := range pl.BreakGlass {
			fmt.Fprintf(&b, "      break-glass check: %s\n", x)
		}
	}
	if len(pl.Warnings) > 0 {
		b.WriteString("\nWarnings\n")
		for _, w := range pl.Warnings {
			fmt.Fprintf(&b, "  ! %s\n", w)
		}
	}
	if len(pl.NotApplied) > 0 {
		b.WriteString("\nNot applied (checked, but jitpim cannot carry these out yet)\n")
		for _, x := range pl.NotApplied {
			fmt.Fprintf(&b, "  * %s: not applied: %s\n", x.What, x.Reason)
			for _, it := range x.Items {
				fmt.Fprintf(&b, "      %s\n", it)
			}
		}
	}
	if len(pl.Notes) > 0 {
		b.WriteString("\nNotes\n")
		for _, x := range pl.Notes {
			fmt.Fprintf(&b, "  - %s\n", x)
		}
	}
	b.WriteString("\n" + pl.Summary() + "\n")
	return b.String()
}

// Summary is the plan's last line.
func (pl *Plan) Summary() string {
	a, c, r, held := pl.Counts()
	s := ""
	switch {
	case a+c+r == 0 && held == 0:
		s = "No changes: the live state matches the file."
	case a+c+r == 0:
		s = "No changes to apply."
	default:
		s = fmt.Sprintf("Plan: %d to add, %d to change, %d to remove.", a, c, r)
	}
	if held > 0 {
		s += fmt.Sprintf(" %d removal(s) held back: pass --allow-removals to remove.", held)
	}
	if n := len(pl.Regrants()); n > 0 && !pl.AllowRegrant {
		s += fmt.Sprintf(" %d addition(s) re-grant access that was removed (marked !): apply refuses them without --allow-regrant.", n)
	}
	return s
}
