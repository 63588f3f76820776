package alert

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// ---- the daily scan -----------------------------------------------------------

// ScanResult counts one alert scan.
type ScanResult struct {
	Roles         int            `json:"roles"`         // role definitions whose assignments were read
	Assignments   int            `json:"assignments"`   // directory role assignments read
	GlobalAdmins  int            `json:"globalAdmins"`  // principals holding Global Administrator (group members expanded)
	Users         int            `json:"users"`         // the tenant's users, for the percentage
	Eligibilities int            `json:"eligibilities"` // live eligibilities looked at
	Principals    int            `json:"principals"`    // accounts whose last sign-in was read
	Incidents     map[string]int `json:"incidents"`     // per alert definition
	NewIncidents  int            `json:"newIncidents"`
	Removed       int            `json:"removed"` // assignments outside jitpim removed (RemoveOutside)
	Errors        int            `json:"errors"`
}

// scanDefinitions are the alerts ScanAlerts evaluates, in order.
var scanDefinitions = []string{domain.AlertTooManyGlobalAdmins, domain.AlertRolesOutsidePIM, domain.AlertAdminsNotUsingRoles,
	domain.AlertStaleSignIn, domain.AlertNoMFAOnActivation, domain.AlertActivatedTooOften}

// scan is one alert scan's working set: what it read once and what each
// alert found. partial marks an alert whose inputs could not all be read:
// it keeps its previous incidents instead of resolving them.
type scan struct {
	svc           *Service
	c             *engine.Call
	st            Settings
	res           *ScanResult
	users         map[domain.ObjectID]userLookup
	live          []domain.Schedule
	managedGroups map[domain.ObjectID]bool // groups whose membership jitpim manages
	azureManaged  map[string]bool          // Azure targets (by key) jitpim manages: eligible, active or with a policy
	assignments   []domain.RoleAssignment
	rolesPartial  bool
	gaRead        bool
	found         map[string][]domain.AlertIncident
	partial       map[string]bool
}

type userLookup struct {
	u   domain.User
	err error
}

func (s *scan) fail(ctx context.Context, what string, err error, defs ...string) {
	s.res.Errors++
	for _, d := range defs {
		s.partial[d] = true
	}
	s.c.Log.ErrorContext(ctx, "alert scan: "+what+" failed", "error", err)
}

func (s *scan) add(def string, inc domain.AlertIncident) { s.found[def] = append(s.found[def], inc) }

// user reads an account once per scan; CodeNotFound marks a principal
// that is not a user (a group or a service principal).
func (s *scan) user(ctx context.Context, id domain.ObjectID) (domain.User, error) {
	if l, ok := s.users[id]; ok {
		return l.u, l.err
	}
	u, err := s.svc.dir.GetUser(ctx, id)
	s.users[id] = userLookup{u, err}
	return u, err
}

// name names a principal for the alert's text: a user by name, a
// role-assignable group by its name, anything else by id, marked.
func (s *scan) name(ctx context.Context, id domain.ObjectID) string {
	u, err := s.user(ctx, id)
	switch {
	case err == nil:
		return domain.PersonName(u)
	case domain.IsCode(err, domain.CodeNotFound):
		if g, ok := s.svc.eng.Names().GroupName(ctx, id); ok {
			return "group " + g
		}
		return "principal " + string(id) + " (not a user; name not found)"
	}
	return domain.UnnamedUser(id)
}

// ScanAlerts is the daily alert timer's job: it evaluates every alert
// definition except the break-glass ones and stores one alert per
// definition. Incidents have stable ids (principal and target), so a rescan
// de-duplicates them; an alert whose scan finds nothing becomes inactive; a
// part that could not be read keeps its previous incidents instead of
// resolving them. Running it twice, or two at once, gives the same alerts,
// audit records and mails as running it once.
//
// Cost per run, with R = built-in roles (34) plus roles jitpim manages,
// A = their directory assignments, P = distinct principals among those and
// jitpim's live schedules, L = live schedules, E = live eligibilities, and
// H = the activation history of one principal on one target:
// Graph: R assignment lists (paged) + P user reads + one user count + one
// member list per group holding Global Administrator; store: one scan of
// the L live schedules, one policy list, A grant reads, E history queries
// (each growing with H), one policy read per target checked for MFA
// (privileged built-in roles plus eligible targets), and one read and
// write per alert. It grows with privileged access, not with the tenant.
func (svc *Service) ScanAlerts(ctx context.Context, c *engine.Call) (ScanResult, error) {
	res := ScanResult{Incidents: map[string]int{}}
	if svc.alerts == nil || svc.reader == nil {
		return res, domain.Errorf(domain.CodeInvalid, "the alert scan is off: it needs an alert store and a directory reader")
	}
	s := &scan{svc: svc, c: c, st: svc.settings, res: &res, users: map[domain.ObjectID]userLookup{},
		managedGroups: map[domain.ObjectID]bool{}, azureManaged: map[string]bool{}, found: map[string][]domain.AlertIncident{}, partial: map[string]bool{}}
	if err := s.load(ctx); err != nil {
		return res, err
	}
	s.globalAdmins(ctx)
	s.outsideJitpim(ctx)
	s.outsideAzure(ctx)
	eligible := s.eligibilities(ctx)
	s.staleAccounts(ctx)
	s.noMFA(ctx, eligible)

	var firstErr error
	for _, id := range scanDefinitions {
		def, _ := DefinitionByID(id)
		w := alertWrite{def: def, severity: def.Severity, found: s.found[id], scanned: true}
		if s.partial[id] {
			w.keep = func(domain.AlertIncident) bool { return true }
		}
		if def.Severity == domain.SeverityHigh {
			w.mail = svc.alarms.alertMail(ctx, c, def, def.Severity)
		}
		out, err := svc.alarms.put(ctx, c, w)
		if err != nil {
			s.fail(ctx, "storing alert "+id, err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		res.Incidents[id] = out.alert.IncidentCount
		res.NewIncidents += len(out.added)
	}
	details := map[string]string{"check": "alertScan", "roles": fmt.Sprint(res.Roles), "assignments": fmt.Sprint(res.Assignments), "global_admins": fmt.Sprint(res.GlobalAdmins),
		"users": fmt.Sprint(res.Users), "eligibilities": fmt.Sprint(res.Eligibilities), "principals": fmt.Sprint(res.Principals),
		"new_incidents": fmt.Sprint(res.NewIncidents), "removed": fmt.Sprint(res.Removed), "errors": fmt.Sprint(res.Errors)}
	for id, n := range res.Incidents {
		details["incidents:"+id] = fmt.Sprint(n)
	}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: summaryAction(c, "timer.alertScan"), Category: "Governance", Outcome: outcomeOf(res.Errors), Details: details}); err != nil {
		return res, err
	}
	svc.eng.FlushMail(ctx, c)
	if firstErr == nil && res.Errors > 0 {
		firstErr = domain.Errorf(domain.CodeTransient, "alert scan: %d reads failed (logged); the alerts they feed kept their previous incidents", res.Errors)
	}
	return res, firstErr
}

// load reads jitpim's live schedules and policies and the directory
// assignments of every built-in role and every role jitpim manages.
func (s *scan) load(ctx context.Context) error {
	q := domain.ScheduleQuery{Limit: 500}
	for {
		p, err := s.svc.store.ListSchedules(ctx, q)
		if err != nil {
			return err
		}
		for _, sc := range p.Items {
			if sc.Live(s.c.Now) {
				s.live = append(s.live, sc)
			}
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	roles := map[domain.ObjectID]bool{}
	for _, r := range domain.BuiltInRoles {
		roles[r.ID] = true
	}
	for _, sc := range s.live {
		if sc.Target.Kind == domain.TargetGroup {
			s.managedGroups[sc.Target.GroupID] = true
		} else if sc.Target.Kind == domain.TargetAzureRole {
			s.azureManaged[sc.Target.Key()] = true
		} else {
			roles[sc.Target.RoleDefinitionID] = true
		}
	}
	policies, err := s.svc.store.ListPolicies(ctx)
	if err != nil {
		return err
	}
	for _, p := range policies {
		for _, t := range append([]domain.Target{p.Target}, p.TierTargets...) {
			if t.Kind == domain.TargetGroup {
				s.managedGroups[t.GroupID] = true
			} else if t.Kind == domain.TargetAzureRole {
				s.azureManaged[t.Key()] = true
			} else if t.Kind == domain.TargetRole {
				roles[t.RoleDefinitionID] = true
			}
		}
	}
	ids := make([]domain.ObjectID, 0, len(roles))
	for id := range roles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ras, err := s.svc.reader.ListRoleAssignmentsByRole(ctx, id)
		if err != nil {
			s.rolesPartial = true
			s.fail(ctx, "listing the assignments of role "+string(id), err, domain.AlertRolesOutsidePIM, domain.AlertStaleSignIn)
			continue
		}
		s.res.Roles++
		s.gaRead = s.gaRead || id == domain.RoleGlobalAdministrator
		s.assignments = append(s.assignments, ras...)
	}
	s.res.Assignments = len(s.assignments)
	return nil
}

// globalAdmins counts every holder of Global Administrator as Entra does:
// break-glass accounts, jitpim activations and members of groups holding
// the role (transitively) all count.
func (s *scan) globalAdmins(ctx context.Context) {
	const def = domain.AlertTooManyGlobalAdmins
	if !s.gaRead {
		s.partial[def] = true
		return
	}
	holders := map[domain.ObjectID]string{} // principal → how it holds the role
	for _, ra := range s.assignments {
		if ra.RoleDefinitionID != domain.RoleGlobalAdministrator || ra.DirectoryScopeID != domain.TenantScope {
			continue
		}
		_, err := s.user(ctx, ra.PrincipalID)
		switch {
		case err == nil:
			holders[ra.PrincipalID] = "direct assignment"
		case domain.IsCode(err, domain.CodeNotFound):
			members, merr := s.svc.dir.ListGroupMembers(ctx, ra.PrincipalID)
			if domain.IsCode(merr, domain.CodeNotFound) {
				holders[ra.PrincipalID] = "service principal or other object"
				continue
			}
			if merr != nil {
				s.fail(ctx, "listing the members of group "+string(ra.PrincipalID), merr, def)
				continue
			}
			via := "member of group " + s.svc.eng.Names().Group(ctx, ra.PrincipalID)
			for _, m := range members {
				if _, ok := holders[m.ID]; !ok {
					holders[m.ID] = via
				}
			}
		default:
			s.fail(ctx, "reading principal "+string(ra.PrincipalID), err, def)
		}
	}
	s.res.GlobalAdmins = len(holders)
	n, err := s.svc.reader.CountUsers(ctx)
	if err != nil {
		s.fail(ctx, "counting users", err, def)
		return
	}
	s.res.Users = n
	pct := 0.0
	if n > 0 {
		pct = 100 * float64(len(holders)) / float64(n)
	}
	if s.partial[def] || len(holders) <= s.st.GlobalAdminCount || pct <= s.st.GlobalAdminPercent {
		return
	}
	ga := domain.RoleTarget(domain.RoleGlobalAdministrator, domain.TenantScope)
	for id, how := range holders {
		s.add(def, domain.AlertIncident{ID: "globalAdmin:" + string(id), PrincipalID: id, Target: ga,
			Description: fmt.Sprintf("%s holds Global Administrator (%s): one of %d holders, %.1f%% of %d users; the limits are %d and %.1f%%",
				s.name(ctx, id), how, len(holders), pct, n, s.st.GlobalAdminCount, s.st.GlobalAdminPercent),
			Details: map[string]string{"holders": fmt.Sprint(len(holders)), "users": fmt.Sprint(n), "how": how}})
	}
}

// outsideJitpim reports directory assignments no live jitpim grant covers.
// Break-glass accounts and groups whose membership jitpim manages are left
// out. With RemoveOutside, users' assignments are removed; groups' and
// service principals' are only reported.
func (s *scan) outsideJitpim(ctx context.Context) {
	const def = domain.AlertRolesOutsidePIM
	for _, ra := range s.assignments {
		if s.svc.breakGlass.Protects(ra.PrincipalID) {
			continue
		}
		t := domain.RoleTarget(ra.RoleDefinitionID, ra.DirectoryScopeID)
		g, err := s.svc.store.GetGrant(ctx, domain.GrantKey(ra.PrincipalID, t))
		if err == nil && (g.Wanted() || !g.Settled()) {
			continue // jitpim holds it for a live schedule, or is changing it right now
		} else if err != nil && !domain.IsCode(err, domain.CodeNotFound) {
			s.fail(ctx, "reading grant "+domain.GrantKey(ra.PrincipalID, t), err, def)
			continue
		}
		kind := "user"
		if _, err := s.user(ctx, ra.PrincipalID); domain.IsCode(err, domain.CodeNotFound) {
			if s.managedGroups[ra.PrincipalID] {
				continue // a privileged access group: jitpim manages who is in it
			}
			kind = "group or service principal"
		} else if err != nil {
			s.fail(ctx, "reading principal "+string(ra.PrincipalID), err, def)
			continue
		}
		s.add(def, domain.AlertIncident{ID: "outside:" + domain.GrantKey(ra.PrincipalID, t), PrincipalID: ra.PrincipalID, Target: t,
			Description: fmt.Sprintf("%s (%s) holds %s through an assignment jitpim did not grant", s.name(ctx, ra.PrincipalID), kind, s.svc.eng.Names().Target(ctx, t)),
			Details:     map[string]string{"assignmentId": ra.ID, "principalType": kind}})
		if s.st.RemoveOutside && kind == "user" {
			if err := s.svc.removeOutside(ctx, s.c, ra, t); err != nil {
				s.fail(ctx, "removing assignment "+ra.ID, err)
			} else {
				s.res.Removed++
			}
		}
	}
}

// eligibilities reports eligibilities not used for UnusedDays and targets
// activated ActivationCount times within ActivationWindow, and returns the
// targets people are eligible for.
func (s *scan) eligibilities(ctx context.Context) map[string]domain.Target {
	targets := map[string]domain.Target{}
	unusedSince := s.c.Now.Add(-time.Duration(s.st.UnusedDays) * 24 * time.Hour)
	windowStart := s.c.Now.Add(-s.st.ActivationWindow)
	history := map[string][]time.Time{}
	for _, sc := range s.live {
		if sc.Kind != domain.KindEligibility || s.svc.breakGlass.Protects(sc.PrincipalID) {
			continue
		}
		s.res.Eligibilities++
		targets[sc.Target.Key()] = sc.Target
		key := domain.GrantKey(sc.PrincipalID, sc.Target)
		starts, ok := history[key]
		if !ok {
			var err error
			if starts, err = s.svc.activationStarts(ctx, sc.PrincipalID, sc.Target); err != nil {
				s.fail(ctx, "reading the activations of "+key, err, domain.AlertAdminsNotUsingRoles, domain.AlertActivatedTooOften)
				continue
			}
			history[key] = starts
		}
		id := domain.GrantKey(sc.PrincipalID, sc.Target)
		used, inWindow := false, 0
		var last time.Time
		for _, t := range starts {
			used = used || !t.Before(unusedSince)
			if !t.Before(windowStart) && !t.After(s.c.Now) {
				inWindow++
			}
			if t.After(last) {
				last = t
			}
		}
		if sc.Start.Before(unusedSince) && !used {
			lastText := "never activated"
			if !last.IsZero() {
				lastText = "last activated " + last.UTC().Format(time.RFC3339)
			}
			s.add(domain.AlertAdminsNotUsingRoles, domain.AlertIncident{ID: "unused:" + id, PrincipalID: sc.PrincipalID, Target: sc.Target,
				Description: fmt.Sprintf("%s has been eligible for %s since %s without activating it in %d days (%s)",
					s.name(ctx, sc.PrincipalID), s.svc.eng.Names().Target(ctx, sc.Target), sc.Start.UTC().Format(time.RFC3339), s.st.UnusedDays, lastText),
				Details: map[string]string{"eligibilityScheduleId": sc.ID}})
		}
		if inWindow >= s.st.ActivationCount {
			s.add(domain.AlertActivatedTooOften, domain.AlertIncident{ID: "often:" + id, PrincipalID: sc.PrincipalID, Target: sc.Target,
				Description: fmt.Sprintf("%s activated %s %d times within %s (limit %d)", s.name(ctx, sc.PrincipalID), s.svc.eng.Names().Target(ctx, sc.Target),
					inWindow, s.st.ActivationWindow, s.st.ActivationCount),
				Details: map[string]string{"activations": fmt.Sprint(inWindow), "window": s.st.ActivationWindow.String()}})
		}
	}
	return targets
}

// staleAccounts reports accounts without a sign-in for StaleDays among
// everyone jitpim has made eligible or active and every user holding a
// scanned role. Break-glass accounts are the break-glass check's.
func (s *scan) staleAccounts(ctx context.Context) {
	const def = domain.AlertStaleSignIn
	principals := map[domain.ObjectID]bool{}
	for _, sc := range s.live {
		principals[sc.PrincipalID] = true
	}
	for _, ra := range s.assignments {
		principals[ra.PrincipalID] = true
	}
	ids := make([]domain.ObjectID, 0, len(principals))
	for id := range principals {
		if !s.svc.breakGlass.Protects(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	staleBefore := s.c.Now.Add(-time.Duration(s.st.StaleDays) * 24 * time.Hour)
	for _, id := range ids {
		u, err := s.user(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			continue // a group or service principal: it does not sign in itself
		} else if err != nil {
			s.fail(ctx, "reading principal "+string(id), err, def)
			continue
		}
		s.res.Principals++
		if !u.LastSignIn.IsZero() && !u.LastSignIn.Before(staleBefore) {
			continue
		}
		text := fmt.Sprintf("%s has not signed in for more than %d days (last sign-in %s)", s.name(ctx, id), s.st.StaleDays, u.LastSignIn.UTC().Format(time.RFC3339))
		if u.LastSignIn.IsZero() {
			text = fmt.Sprintf("%s has no sign-in on record (never signed in, or the sign-in activity cannot be read)", s.name(ctx, id))
		}
		if !u.Enabled {
			text += "; the account is disabled"
		}
		s.add(def, domain.AlertIncident{ID: "stale:" + string(id), PrincipalID: id, Description: text,
			Details: map[string]string{"lastSignInDateTime": timeOrNever(u.LastSignIn), "enabled": fmt.Sprint(u.Enabled)}})
	}
}

// noMFA reports targets whose effective policy lets people activate
// without MFA or an authentication context: every privileged built-in role
// and every target someone is eligible for.
func (s *scan) noMFA(ctx context.Context, targets map[string]domain.Target) {
	const def = domain.AlertNoMFAOnActivation
	for _, r := range domain.BuiltInRoles {
		if r.Privileged {
			t := domain.RoleTarget(r.ID, domain.TenantScope)
			targets[t.Key()] = t
		}
	}
	keys := make([]string, 0, len(targets))
	for k := range targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := targets[k]
		p, err := s.svc.eng.EffectivePolicy(ctx, t)
		if err != nil {
			s.fail(ctx, "reading the policy of "+k, err, def)
			continue
		}
		if p.Activation.RequireMFA || p.Activation.AuthContext != "" {
			continue
		}
		from := p.ID
		if p.InheritedFrom != "" {
			from = p.InheritedFrom
		}
		s.add(def, domain.AlertIncident{ID: "nomfa:" + k, Target: t,
			Description: fmt.Sprintf("activating %s needs neither MFA nor an authentication context (policy %s)", s.svc.eng.Names().Target(ctx, t), from),
			Details:     map[string]string{"policyId": from}})
	}
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// activationStarts lists when principal activated t, ended activations
// included. Its cost grows with the principal's history on the target.
func (svc *Service) activationStarts(ctx context.Context, principal domain.ObjectID, t domain.Target) ([]time.Time, error) {
	var out []time.Time
	q := domain.ScheduleQuery{Kind: domain.KindAssignment, PrincipalID: principal, TargetKey: t.Key(), IncludeEnded: true, Limit: 500}
	for {
		p, err := svc.store.ListSchedules(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, sc := range p.Items {
			if sc.AssignmentType == domain.AssignmentActivated {
				out = append(out, sc.Start)
			}
		}
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

// removeOutside takes away an assignment made outside jitpim through the
// engine's normal revoke path. Only with Settings.RemoveOutside.
func (svc *Service) removeOutside(ctx context.Context, c *engine.Call, ra domain.RoleAssignment, t domain.Target) error {
	return svc.eng.RevokeOutside(ctx, c, ra, t, "role assigned outside jitpim; removal is on (JITPIM_ALERT_REMOVE_OUTSIDE)",
		map[string]string{"alert_id": domain.AlertRolesOutsidePIM, "assignment_id": ra.ID})
}
