package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/notify"
)

// AlertSettings tune the daily alert scan and the break-glass check. Entra
// documents no defaults for its PIM alerts; the defaults here are jitpim's.
type AlertSettings struct {
	// GlobalAdminCount and GlobalAdminPercent: "too many Global
	// Administrators" fires when more than GlobalAdminCount principals
	// (2–100; default 5) AND more than GlobalAdminPercent of the tenant's
	// users (0–100; default 10) hold Global Administrator.
	GlobalAdminCount   int
	GlobalAdminPercent float64
	// UnusedDays: eligible for this many days without one activation
	// (1–365; default 90).
	UnusedDays int
	// StaleDays: no sign-in for this many days while holding a role
	// (1–365; default 90).
	StaleDays int
	// ActivationCount activations of one target by one principal within
	// ActivationWindow are "too often" (2–100 and 1h–30d; default 5 in 24h).
	ActivationCount  int
	ActivationWindow time.Duration
	// RemoveOutside removes role assignments made outside jitpim (through
	// the normal revoke path); off by default: the alert only warns.
	RemoveOutside bool
	// BreakGlassLookback is how far the very first break-glass check reads
	// the sign-in log (default 24h, at most 30 days).
	BreakGlassLookback time.Duration
	// BreakGlassLogDelay is how late a sign-in may reach the sign-in log:
	// each check re-reads this much before the previous check (default 2h).
	BreakGlassLogDelay time.Duration
	// BreakGlassTestDays: an emergency account whose last sign-in is older
	// is overdue for its periodic test (default 90).
	BreakGlassTestDays int
}

// DefaultAlertSettings returns the defaults.
func DefaultAlertSettings() AlertSettings {
	return AlertSettings{GlobalAdminCount: 5, GlobalAdminPercent: 10, UnusedDays: 90, StaleDays: 90, ActivationCount: 5,
		ActivationWindow: 24 * time.Hour, BreakGlassLookback: 24 * time.Hour, BreakGlassLogDelay: 2 * time.Hour, BreakGlassTestDays: 90}
}

// withDefaults fills zero fields.
func (s AlertSettings) withDefaults() AlertSettings {
	d := DefaultAlertSettings()
	if s.GlobalAdminCount == 0 {
		s.GlobalAdminCount = d.GlobalAdminCount
	}
	if s.GlobalAdminPercent == 0 {
		s.GlobalAdminPercent = d.GlobalAdminPercent
	}
	if s.UnusedDays == 0 {
		s.UnusedDays = d.UnusedDays
	}
	if s.StaleDays == 0 {
		s.StaleDays = d.StaleDays
	}
	if s.ActivationCount == 0 {
		s.ActivationCount = d.ActivationCount
	}
	if s.ActivationWindow == 0 {
		s.ActivationWindow = d.ActivationWindow
	}
	if s.BreakGlassLookback == 0 {
		s.BreakGlassLookback = d.BreakGlassLookback
	}
	if s.BreakGlassLogDelay == 0 {
		s.BreakGlassLogDelay = d.BreakGlassLogDelay
	}
	if s.BreakGlassTestDays == 0 {
		s.BreakGlassTestDays = d.BreakGlassTestDays
	}
	return s
}

// Validate checks the ranges of the fields that are set.
func (s AlertSettings) Validate() error {
	v := s.withDefaults()
	switch {
	case v.GlobalAdminCount < 2 || v.GlobalAdminCount > 100:
		return domain.Invalid("globalAdminCount", "must be 2 to 100, got %d", v.GlobalAdminCount)
	case v.GlobalAdminPercent < 0 || v.GlobalAdminPercent > 100 || math.IsNaN(v.GlobalAdminPercent):
		return domain.Invalid("globalAdminPercent", "must be 0 to 100, got %v", v.GlobalAdminPercent)
	case v.UnusedDays < 1 || v.UnusedDays > 365:
		return domain.Invalid("unusedDays", "must be 1 to 365, got %d", v.UnusedDays)
	case v.StaleDays < 1 || v.StaleDays > 365:
		return domain.Invalid("staleDays", "must be 1 to 365, got %d", v.StaleDays)
	case v.ActivationCount < 2 || v.ActivationCount > 100:
		return domain.Invalid("activationCount", "must be 2 to 100, got %d", v.ActivationCount)
	case v.ActivationWindow < time.Hour || v.ActivationWindow > 30*24*time.Hour:
		return domain.Invalid("activationWindow", "must be 1h to 30 days, got %s", v.ActivationWindow)
	case v.BreakGlassLookback < 0 || v.BreakGlassLookback > signInRetention:
		return domain.Invalid("breakGlassLookback", "must be at most 30 days, got %s", v.BreakGlassLookback)
	case v.BreakGlassLogDelay < 0 || v.BreakGlassLogDelay > 24*time.Hour:
		return domain.Invalid("breakGlassLogDelay", "must be at most 24h, got %s", v.BreakGlassLogDelay)
	case v.BreakGlassTestDays < 1 || v.BreakGlassTestDays > 365:
		return domain.Invalid("breakGlassTestDays", "must be 1 to 365, got %d", v.BreakGlassTestDays)
	}
	return nil
}

// SetAlertSettings replaces the alert settings. Call it while wiring the
// engine, before it serves: it is not synchronised with running calls.
func (e *Engine) SetAlertSettings(s AlertSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	e.cfg.AlertSettings = s
	return nil
}

func (e *Engine) alertSettings() AlertSettings { return e.cfg.AlertSettings.withDefaults() }

// AlertDefinition describes one alert, as Graph's
// unifiedRoleManagementAlertDefinition.
type AlertDefinition struct {
	ID              string
	DisplayName     string
	Severity        string
	Description     string
	SecurityImpact  string
	MitigationSteps string
	HowToPrevent    string
	IsRemediatable  bool
}

// AlertDefinitions lists every alert jitpim raises, in the order the API shows them.
var AlertDefinitions = []AlertDefinition{
	{ID: domain.AlertBreakGlassSignIn, DisplayName: "A break-glass account signed in", Severity: domain.SeverityHigh,
		Description:     "An emergency access account signed in (or tried to). These accounts are for emergencies only; every sign-in must be explained.",
		SecurityImpact:  "Break-glass accounts hold permanent Global Administrator and are excluded from Conditional Access: a stolen one controls the tenant.",
		MitigationSteps: "Find out who signed in and why. If nobody can explain it, treat it as a compromise: reset the account's credentials and review the audit log.",
		HowToPrevent:    "Keep the credentials in a safe with dual control and test the accounts on a schedule, announcing each test."},
	{ID: domain.AlertBreakGlassMisconfig, DisplayName: "Break-glass accounts are missing or misconfigured", Severity: domain.SeverityHigh,
		Description:     "Fewer than two emergency access accounts are configured, or one of them does not exist, is disabled, lacks permanent active Global Administrator, or has not been tested (signed in) within the test interval.",
		SecurityImpact:  "Without working emergency access a Conditional Access mistake or an outage of the MFA provider can lock every administrator out.",
		MitigationSteps: "Create or enable the account, assign Global Administrator at the tenant scope directly (not through a group or jitpim), and test the sign-in.",
		HowToPrevent:    "Keep two or more cloud-only emergency accounts with permanent Global Administrator (JITPIM_BREAK_GLASS_IDS) and test them at least every 90 days."},
	{ID: domain.AlertRolesOutsidePIM, DisplayName: "Roles are being assigned outside of jitpim", Severity: domain.SeverityHigh,
		Description:     "A directory role is held through an assignment jitpim did not grant and does not manage.",
		SecurityImpact:  "Standing access granted outside jitpim skips its approvals, time limits and audit.",
		MitigationSteps: "Review each assignment. Remove it, or replace it with an eligibility in jitpim. Removal can be automated (JITPIM_ALERT_REMOVE_OUTSIDE=true).",
		HowToPrevent:    "Grant privileged roles only through jitpim; restrict who holds Privileged Role Administrator.", IsRemediatable: true},
	{ID: domain.AlertTooManyGlobalAdmins, DisplayName: "There are too many Global Administrators", Severity: domain.SeverityLow,
		Description:     "More principals hold Global Administrator than the configured count and percentage of users allow. Every current holder counts, as in Entra: break-glass accounts, jitpim activations and members of groups holding the role.",
		SecurityImpact:  "Global Administrator can do anything in the tenant; each holder is a target.",
		MitigationSteps: "Review the holders and move them to less privileged roles, or make them eligible through jitpim instead of permanently active.",
		HowToPrevent:    "Assign the least privileged role that does the job."},
	{ID: domain.AlertStaleSignIn, DisplayName: "Potential stale accounts in a privileged role", Severity: domain.SeverityMedium,
		Description:     "An account with an eligible or active privileged role has not signed in for the configured number of days (or has no sign-in on record).",
		SecurityImpact:  "Unused accounts in privileged roles are attractive to attackers and their misuse goes unnoticed.",
		MitigationSteps: "Confirm the account is still needed; remove its roles or disable it.",
		HowToPrevent:    "Review privileged access regularly (access reviews)."},
	{ID: domain.AlertAdminsNotUsingRoles, DisplayName: "Administrators aren't using their privileged roles", Severity: domain.SeverityLow,
		Description:     "A principal has been eligible for a role for the configured number of days without activating it once.",
		SecurityImpact:  "Eligibilities nobody needs widen the attack surface.",
		MitigationSteps: "Remove the eligibilities that are not needed.",
		HowToPrevent:    "Give eligibilities an end date and review them."},
	{ID: domain.AlertNoMFAOnActivation, DisplayName: "Roles don't require multifactor authentication for activation", Severity: domain.SeverityLow,
		Description:     "The policy of a privileged role, or of a target people are eligible for, lets them activate without MFA or a Conditional Access authentication context.",
		SecurityImpact:  "A stolen password is enough to activate the role.",
		MitigationSteps: "Enable MultiFactorAuthentication in Enablement_EndUser_Assignment, or require an authentication context.",
		HowToPrevent:    "Keep MFA on activation in the default and tier policies."},
	{ID: domain.AlertActivatedTooOften, DisplayName: "Roles are being activated too frequently", Severity: domain.SeverityLow,
		Description:     "A principal activated the same target more often than the configured count within the configured window.",
		SecurityImpact:  "Frequent re-activation can mean the maximum activation is too short for the work, or that access is being used as standing access.",
		MitigationSteps: "Ask the person why; adjust the role's maximum activation or assign a less privileged role.",
		HowToPrevent:    "Set activation lengths that match the tasks the role is used for."},
	{ID: domain.AlertRevokeFailing, DisplayName: "Revoking access keeps failing", Severity: domain.SeverityHigh,
		Description:     "jitpim tried repeatedly to remove access that has ended, and the directory refused each time; the access is still there.",
		SecurityImpact:  "Access outlives its approval window.",
		MitigationSteps: "Check jitpim's Graph permissions and the directory; remove the assignment by hand if needed. The expiry sweep keeps retrying.",
		HowToPrevent:    "Keep jitpim's managed identity's RoleManagement.ReadWrite.Directory and GroupMember.ReadWrite.All permissions."},
	{ID: domain.AlertAccessReviewAutoDeny, DisplayName: "An access review will remove access automatically", Severity: domain.SeverityHigh,
		Description:     "An access review applies its decisions automatically with Deny as the default decision: unanswered reviews remove access.",
		SecurityImpact:  "If reviewers do not answer, everyone in scope loses access.",
		MitigationSteps: "Make sure reviewers answer, or change the default decision before the review ends.",
		HowToPrevent:    "Use a default decision of Recommendation or Approve, or keep auto-apply off."},
}

// AlertDefinitionByID finds a definition.
func AlertDefinitionByID(id string) (AlertDefinition, bool) {
	for _, d := range AlertDefinitions {
		if d.ID == id {
			return d, true
		}
	}
	return AlertDefinition{}, false
}

// signInRetention is how long Graph keeps sign-ins (30 days with Entra ID
// P1/P2): the furthest a break-glass check reads, and how long seen
// sign-ins stay as incidents (so a re-read never reports one twice).
const signInRetention = 30 * 24 * time.Hour

// raisedIncidentTTL is how long an incident given to RaiseAlert stays
// without being raised again.
const raisedIncidentTTL = 30 * 24 * time.Hour

// Bounds on what one incident stores, so 200 incidents fit one storage entity.
const (
	maxIncidentText    = 400
	maxIncidentDetails = 6
	maxDetailKey       = 40
	maxDetailValue     = 150
)

func (e *Engine) alertsOn() error {
	if e.cfg.Alerts == nil {
		return domain.Errorf(domain.CodeNotFound, "alerts are off: this deployment has no alert store")
	}
	return nil
}

// ---- the one write path ------------------------------------------------------

// alertWrite is one scan's (or one raise's) findings for one alert.
type alertWrite struct {
	def      AlertDefinition
	severity string
	found    []domain.AlertIncident
	// keep says which stored incidents not found again stay; nil drops
	// them all (a completed scan replaces its incidents).
	keep func(domain.AlertIncident) bool
	// scanned moves LastScanned to now; false leaves it (the check did not finish).
	scanned bool
	// mail, when set, queues the mail for incidents new in this write. It
	// runs before the alert is stored, with keys derived from the incidents,
	// so a crash after it repeats nothing and a crash before it loses nothing.
	mail func(added []domain.AlertIncident)
}

// alertOutcome is what a write changed.
type alertOutcome struct {
	alert    domain.Alert
	added    []domain.AlertIncident // incidents new in this write
	resolved bool                   // it had incidents and now has none
}

// putAlert merges a write into the stored alert with a conditional write,
// re-reading on a lost race, and audits what changed. Incidents keep their
// first-seen time across scans; an incident not seen before is new: it
// re-opens a dismissed alert, is audited once, and is mailed once (high
// severity). Cost: one read and one write (more only on lost races).
func (e *Engine) putAlert(ctx context.Context, c *Call, w alertWrite) (alertOutcome, error) {
	var out alertOutcome
	found := normaliseIncidents(w.found, c.Now)
	keepAtMost := domain.MaxAlertIncidents
	err := retry(func() error {
		prev, err := e.cfg.Alerts.GetAlert(ctx, w.def.ID)
		if domain.IsCode(err, domain.CodeNotFound) {
			prev, err = domain.Alert{}, nil
		}
		if err != nil {
			return err
		}
		old := make(map[string]domain.AlertIncident, len(prev.Incidents))
		for _, inc := range prev.Incidents {
			old[inc.ID] = inc
		}
		next := make([]domain.AlertIncident, 0, len(found))
		seen := map[string]bool{}
		var added []domain.AlertIncident
		for _, inc := range found {
			if p, ok := old[inc.ID]; ok {
				inc.FirstSeen = p.FirstSeen
			} else {
				added = append(added, inc)
			}
			seen[inc.ID] = true
			next = append(next, inc)
		}
		if w.keep != nil {
			for _, p := range prev.Incidents {
				if !seen[p.ID] && w.keep(p) {
					next = append(next, p)
				}
			}
		}
		total := len(next)
		sort.SliceStable(next, func(i, j int) bool {
			if !next[i].FirstSeen.Equal(next[j].FirstSeen) {
				return next[i].FirstSeen.After(next[j].FirstSeen)
			}
			return next[i].ID < next[j].ID
		})
		if len(next) > keepAtMost {
			next = next[:keepAtMost]
		}
		if prev.IncidentCount > len(prev.Incidents) && total <= prev.IncidentCount {
			// The stored list was cut at the bound, so "not stored" does not mean "new".
			added = nil
		}
		a := prev
		a.ID, a.DefinitionID, a.Severity = w.def.ID, w.def.ID, w.severity
		if len(added) > 0 {
			a.DismissedBy, a.DismissedAt = "", time.Time{}
		}
		active := total > 0 && a.DismissedAt.IsZero()
		if prev.Version == "" || active != prev.IsActive || prev.Severity != w.severity || !sameIncidentIDs(prev.Incidents, next) || total != prev.IncidentCount {
			a.LastModified = c.Now
		}
		if total > 0 && prev.IncidentCount == 0 {
			a.FirstSeen = c.Now
		}
		a.IsActive, a.Incidents, a.IncidentCount = active, next, total
		if w.scanned {
			a.LastScanned = c.Now
		}
		if len(added) > 0 && w.mail != nil {
			w.mail(added)
		}
		if err := e.cfg.Alerts.PutAlert(ctx, &a); domain.IsCode(err, domain.CodeInvalid) && keepAtMost > 10 {
			// Too large to store (long non-Latin text): keep fewer incidents; the count stays whole.
			c.Log.WarnContext(ctx, "alert too large to store; keeping fewer incidents", "alert_id", w.def.ID, "kept", keepAtMost/2, "error", err)
			keepAtMost /= 2
			return errStale
		} else if err != nil {
			return stale(err)
		}
		out = alertOutcome{alert: a, added: added, resolved: prev.IncidentCount > 0 && total == 0}
		return nil
	})
	if err != nil {
		return out, err
	}
	const maxAudited = 50 // per alert and run; the summary counts the rest
	for i, inc := range out.added {
		if i == maxAudited {
			e.audit(ctx, c, domain.AuditRecord{Action: "alert.raise", Category: "Governance", Reason: fmt.Sprintf("%d more new incidents", len(out.added)-i),
				Details: map[string]string{"alert_id": w.def.ID, "severity": w.severity}})
			break
		}
		d := map[string]string{"alert_id": w.def.ID, "incident_id": inc.ID, "severity": w.severity}
		for k, v := range inc.Details {
			if _, taken := d[k]; !taken {
				d[k] = v
			}
		}
		e.audit(ctx, c, domain.AuditRecord{Action: "alert.raise", Category: "Governance", Target: inc.Target, PrincipalID: inc.PrincipalID,
			Outcome: "failure", Reason: inc.Description, Details: d})
	}
	if out.resolved {
		e.audit(ctx, c, domain.AuditRecord{Action: "alert.resolve", Category: "Governance", Reason: "no incidents remain",
			Details: map[string]string{"alert_id": w.def.ID}})
	}
	return out, nil
}

func sameIncidentIDs(a, b []domain.AlertIncident) bool {
	if len(a) != len(b) {
		return false
	}
	ids := make(map[string]bool, len(a))
	for _, x := range a {
		ids[x.ID] = true
	}
	for _, x := range b {
		if !ids[x.ID] {
			return false
		}
	}
	return true
}

// normaliseIncidents drops duplicate and empty ids, bounds the text, and
// stamps FirstSeen (kept from the stored incident when there is one).
func normaliseIncidents(in []domain.AlertIncident, now time.Time) []domain.AlertIncident {
	seen := map[string]bool{}
	out := make([]domain.AlertIncident, 0, len(in))
	for _, inc := range in {
		inc.ID = clip(strings.TrimSpace(inc.ID), 300)
		if inc.ID == "" || seen[inc.ID] {
			continue
		}
		seen[inc.ID] = true
		inc.Description = clip(inc.Description, maxIncidentText)
		if len(inc.Details) > 0 {
			keys := make([]string, 0, len(inc.Details))
			for k := range inc.Details {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			d := map[string]string{}
			for _, k := range keys {
				if len(d) == maxIncidentDetails {
					break
				}
				d[clip(k, maxDetailKey)] = clip(inc.Details[k], maxDetailValue)
			}
			inc.Details = d
		} else {
			inc.Details = nil
		}
		inc.FirstSeen = now
		out = append(out, inc)
	}
	return out
}

// alertMail queues one mail to the admins about an alert's new incidents.
// Its key is the alert and the set of new incident ids, so a duplicated run
// that finds the same incidents queues nothing more.
func (e *Engine) alertMail(ctx context.Context, c *Call, def AlertDefinition, severity string) func([]domain.AlertIncident) {
	return func(added []domain.AlertIncident) {
		ids := make([]string, len(added))
		for i, inc := range added {
			ids[i] = inc.ID
		}
		sort.Strings(ids)
		h := sha256.Sum256([]byte(strings.Join(ids, "\n")))
		e.queueAlertMail(ctx, c, "alert:"+def.ID+":"+hex.EncodeToString(h[:12]), def, severity, added)
	}
}

func (e *Engine) queueAlertMail(ctx context.Context, c *Call, key string, def AlertDefinition, severity string, incs []domain.AlertIncident) {
	var b strings.Builder
	if len(incs) == 1 {
		b.WriteString("New incident: ")
	} else {
		fmt.Fprintf(&b, "%d new incidents: ", len(incs))
	}
	for i, inc := range incs {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more. ", len(incs)-i)
			break
		}
		b.WriteString(inc.Description)
		b.WriteString(" [")
		b.WriteString(inc.ID)
		b.WriteString("] ")
	}
	b.WriteString("Review: GET /api/identityGovernance/roleManagementAlerts/alerts/" + def.ID + "?$expand=alertIncidents")
	d := notify.Data{Kind: notify.AlertRaised, TargetName: def.DisplayName + " (" + severity + " severity)", Reason: b.String()}
	to := e.adminAddresses(ctx, c)
	if len(to) == 0 {
		c.Log.ErrorContext(ctx, "alert raised but nobody to mail: set JITPIM_ADMIN_MAIL", "alert_id", def.ID)
		return
	}
	e.queueMail(ctx, c, key, to, d)
}

// adminAddresses are the admins' mail addresses: AdminRecipients, else
// the admin group's members.
func (e *Engine) adminAddresses(ctx context.Context, c *Call) []string {
	if len(e.cfg.AdminRecipients) > 0 {
		return e.cfg.AdminRecipients
	}
	if e.cfg.AdminGroupID == "" {
		return nil
	}
	members, err := e.dir.ListGroupMembers(ctx, e.cfg.AdminGroupID)
	if err != nil {
		c.Log.ErrorContext(ctx, "listing the admin group for an alert mail failed", "error", err)
		return nil
	}
	var out []string
	for _, m := range members {
		if m.Mail != "" {
			out = append(out, m.Mail)
		} else if m.UserPrincipalName != "" {
			out = append(out, m.UserPrincipalName)
		}
	}
	return out
}

// RaiseAlert adds incidents to an alert, merged by id with those it holds:
// an incident raised again is updated, not repeated; a new one re-opens a
// dismissed alert, is audited, and (high severity) mailed to the admins.
// An incident not raised again leaves the alert 30 days after it was first
// raised. An empty severity takes the definition's. With alerts off it does
// nothing.
func (e *Engine) RaiseAlert(ctx context.Context, c *Call, definitionID, severity string, incs []domain.AlertIncident) error {
	if e.cfg.Alerts == nil {
		return nil
	}
	def, ok := AlertDefinitionByID(definitionID)
	if !ok {
		return domain.Invalid("alertDefinitionId", "unknown alert definition %q", definitionID)
	}
	if severity == "" {
		severity = def.Severity
	}
	if severity != domain.SeverityLow && severity != domain.SeverityMedium && severity != domain.SeverityHigh {
		return domain.Invalid("severity", "must be low, medium or high, got %q", severity)
	}
	keep := func(inc domain.AlertIncident) bool { return c.Now.Sub(inc.FirstSeen) < raisedIncidentTTL }
	w := alertWrite{def: def, severity: severity, found: incs, keep: keep, scanned: true}
	if severity == domain.SeverityHigh {
		w.mail = e.alertMail(ctx, c, def, severity)
	}
	_, err := e.putAlert(ctx, c, w)
	return err
}

// ---- API --------------------------------------------------------------------

// ListAlerts returns one alert per definition, admins only. Definitions
// never scanned or raised come back inactive with no scan time.
func (e *Engine) ListAlerts(ctx context.Context, c *Call) ([]domain.Alert, error) {
	if err := e.requireAdmin(ctx, c, "reading alerts"); err != nil {
		return nil, err
	}
	if err := e.alertsOn(); err != nil {
		return nil, err
	}
	stored, err := e.cfg.Alerts.ListAlerts(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]domain.Alert{}
	for _, a := range stored {
		byID[a.ID] = a
	}
	out := make([]domain.Alert, 0, len(AlertDefinitions))
	for _, d := range AlertDefinitions {
		a, ok := byID[d.ID]
		if !ok {
			a = domain.Alert{ID: d.ID, DefinitionID: d.ID, Severity: d.Severity}
		}
		out = append(out, a)
	}
	return out, nil
}

// GetAlert returns one alert with its incidents, admins only.
func (e *Engine) GetAlert(ctx context.Context, c *Call, id string) (domain.Alert, error) {
	if err := e.requireAdmin(ctx, c, "reading alerts"); err != nil {
		return domain.Alert{}, err
	}
	if err := e.alertsOn(); err != nil {
		return domain.Alert{}, err
	}
	d, ok := AlertDefinitionByID(id)
	if !ok {
		return domain.Alert{}, domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
	}
	a, err := e.cfg.Alerts.GetAlert(ctx, id)
	if domain.IsCode(err, domain.CodeNotFound) {
		return domain.Alert{ID: d.ID, DefinitionID: d.ID, Severity: d.Severity}, nil
	}
	return a, err
}

// ListAlertDefinitions returns the definitions, admins only.
func (e *Engine) ListAlertDefinitions(ctx context.Context, c *Call) ([]AlertDefinition, error) {
	if err := e.requireAdmin(ctx, c, "reading alert definitions"); err != nil {
		return nil, err
	}
	return slices.Clone(AlertDefinitions), nil
}

// DismissAlert marks an alert dismissed by the caller, an admin: it stays
// inactive, incidents and all, until a scan finds a new incident.
func (e *Engine) DismissAlert(ctx context.Context, c *Call, id string) error {
	if err := e.requireAdminWrite(ctx, c, "dismissing an alert"); err != nil {
		return err
	}
	if err := e.alertsOn(); err != nil {
		return err
	}
	if _, ok := AlertDefinitionByID(id); !ok {
		return domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
	}
	changed := false
	var count int
	err := retry(func() error {
		a, err := e.cfg.Alerts.GetAlert(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			return nil // never raised: nothing to dismiss
		} else if err != nil {
			return err
		}
		if !a.DismissedAt.IsZero() {
			return nil
		}
		a.DismissedBy, a.DismissedAt, a.IsActive, a.LastModified = c.Caller.ID, c.Now, false, c.Now
		if err := e.cfg.Alerts.PutAlert(ctx, &a); err != nil {
			return stale(err)
		}
		changed, count = true, a.IncidentCount
		return nil
	})
	if err != nil {
		return err
	}
	if changed {
		e.audit(ctx, c, domain.AuditRecord{Action: "alert.dismiss", Category: "Governance",
			Details: map[string]string{"alert_id": id, "incident_count": fmt.Sprint(count)}})
	}
	return nil
}

// RefreshAlert runs now, for an admin, the check that feeds an alert: the
// break-glass check for the break-glass alerts, the alert scan for the
// others (all of them; id "" runs both).
func (e *Engine) RefreshAlert(ctx context.Context, c *Call, id string) error {
	if err := e.requireAdminWrite(ctx, c, "refreshing alerts"); err != nil {
		return err
	}
	if err := e.alertsOn(); err != nil {
		return err
	}
	if id != "" {
		if _, ok := AlertDefinitionByID(id); !ok {
			return domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
		}
	}
	bg := id == domain.AlertBreakGlassSignIn || id == domain.AlertBreakGlassMisconfig
	var err error
	if id == "" || bg {
		_, err = e.CheckBreakGlass(ctx, c)
	}
	if id == "" || !bg {
		if _, serr := e.ScanAlerts(ctx, c); err == nil {
			err = serr
		}
	}
	return err
}

// ---- the daily scan -----------------------------------------------------------

// AlertScanResult counts one alert scan.
type AlertScanResult struct {
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
	e             *Engine
	c             *Call
	st            AlertSettings
	res           *AlertScanResult
	users         map[domain.ObjectID]userLookup
	live          []domain.Schedule
	managedGroups map[domain.ObjectID]bool // groups whose membership jitpim manages
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
	u, err := s.e.dir.GetUser(ctx, id)
	s.users[id] = userLookup{u, err}
	return u, err
}

func (s *scan) name(ctx context.Context, id domain.ObjectID) string {
	if u, err := s.user(ctx, id); err == nil && u.UserPrincipalName != "" {
		return u.UserPrincipalName
	}
	return string(id)
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
func (e *Engine) ScanAlerts(ctx context.Context, c *Call) (AlertScanResult, error) {
	res := AlertScanResult{Incidents: map[string]int{}}
	if e.cfg.Alerts == nil || e.cfg.Reader == nil {
		return res, domain.Errorf(domain.CodeInvalid, "the alert scan is off: it needs an alert store and a directory reader")
	}
	s := &scan{e: e, c: c, st: e.alertSettings(), res: &res, users: map[domain.ObjectID]userLookup{},
		managedGroups: map[domain.ObjectID]bool{}, found: map[string][]domain.AlertIncident{}, partial: map[string]bool{}}
	if err := s.load(ctx); err != nil {
		return res, err
	}
	s.globalAdmins(ctx)
	s.outsideJitpim(ctx)
	eligible := s.eligibilities(ctx)
	s.staleAccounts(ctx)
	s.noMFA(ctx, eligible)

	var firstErr error
	for _, id := range scanDefinitions {
		def, _ := AlertDefinitionByID(id)
		w := alertWrite{def: def, severity: def.Severity, found: s.found[id], scanned: true}
		if s.partial[id] {
			w.keep = func(domain.AlertIncident) bool { return true }
		}
		if def.Severity == domain.SeverityHigh {
			w.mail = e.alertMail(ctx, c, def, def.Severity)
		}
		out, err := e.putAlert(ctx, c, w)
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
	e.audit(ctx, c, domain.AuditRecord{Action: summaryAction(c, "timer.alertScan"), Category: "Governance", Outcome: outcomeOf(res.Errors), Details: details})
	e.FlushMail(ctx, c)
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
		p, err := s.e.store.ListSchedules(ctx, q)
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
		} else {
			roles[sc.Target.RoleDefinitionID] = true
		}
	}
	policies, err := s.e.store.ListPolicies(ctx)
	if err != nil {
		return err
	}
	for _, p := range policies {
		for _, t := range append([]domain.Target{p.Target}, p.TierTargets...) {
			if t.Kind == domain.TargetGroup {
				s.managedGroups[t.GroupID] = true
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
		ras, err := s.e.cfg.Reader.ListRoleAssignmentsByRole(ctx, id)
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
			members, merr := s.e.dir.ListGroupMembers(ctx, ra.PrincipalID)
			if domain.IsCode(merr, domain.CodeNotFound) {
				holders[ra.PrincipalID] = "service principal or other object"
				continue
			}
			if merr != nil {
				s.fail(ctx, "listing the members of group "+string(ra.PrincipalID), merr, def)
				continue
			}
			for _, m := range members {
				if _, ok := holders[m.ID]; !ok {
					holders[m.ID] = "member of group " + string(ra.PrincipalID)
				}
			}
		default:
			s.fail(ctx, "reading principal "+string(ra.PrincipalID), err, def)
		}
	}
	s.res.GlobalAdmins = len(holders)
	n, err := s.e.cfg.Reader.CountUsers(ctx)
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
		if s.e.isBreakGlass(ra.PrincipalID) {
			continue
		}
		t := domain.RoleTarget(ra.RoleDefinitionID, ra.DirectoryScopeID)
		g, err := s.e.store.GetGrant(ctx, domain.GrantKey(ra.PrincipalID, t))
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
			Description: fmt.Sprintf("%s (%s) holds %s through an assignment jitpim did not grant", s.name(ctx, ra.PrincipalID), kind, domain.TargetName(t)),
			Details:     map[string]string{"assignmentId": ra.ID, "principalType": kind}})
		if s.st.RemoveOutside && kind == "user" {
			if err := s.e.removeOutside(ctx, s.c, ra, t); err != nil {
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
		if sc.Kind != domain.KindEligibility || s.e.isBreakGlass(sc.PrincipalID) {
			continue
		}
		s.res.Eligibilities++
		targets[sc.Target.Key()] = sc.Target
		key := domain.GrantKey(sc.PrincipalID, sc.Target)
		starts, ok := history[key]
		if !ok {
			var err error
			if starts, err = s.e.activationStarts(ctx, sc.PrincipalID, sc.Target); err != nil {
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
					s.name(ctx, sc.PrincipalID), domain.TargetName(sc.Target), sc.Start.UTC().Format(time.RFC3339), s.st.UnusedDays, lastText),
				Details: map[string]string{"eligibilityScheduleId": sc.ID}})
		}
		if inWindow >= s.st.ActivationCount {
			s.add(domain.AlertActivatedTooOften, domain.AlertIncident{ID: "often:" + id, PrincipalID: sc.PrincipalID, Target: sc.Target,
				Description: fmt.Sprintf("%s activated %s %d times within %s (limit %d)", s.name(ctx, sc.PrincipalID), domain.TargetName(sc.Target),
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
		if !s.e.isBreakGlass(id) {
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
		p, err := s.e.EffectivePolicy(ctx, t)
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
			Description: fmt.Sprintf("activating %s needs neither MFA nor an authentication context (policy %s)", domain.TargetName(t), from),
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
func (e *Engine) activationStarts(ctx context.Context, principal domain.ObjectID, t domain.Target) ([]time.Time, error) {
	var out []time.Time
	q := domain.ScheduleQuery{Kind: domain.KindAssignment, PrincipalID: principal, TargetKey: t.Key(), IncludeEnded: true, Limit: 500}
	for {
		p, err := e.store.ListSchedules(ctx, q)
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
// normal revoke path: the grant record says the directory holds it and
// nobody needs it, and reconcile removes it (the sweep retries when the
// directory refuses). Only with AlertSettings.RemoveOutside.
func (e *Engine) removeOutside(ctx context.Context, c *Call, ra domain.RoleAssignment, t domain.Target) error {
	if e.isBreakGlass(ra.PrincipalID) {
		return domain.Errorf(domain.CodeForbidden, "jitpim never revokes a break-glass account")
	}
	key := domain.GrantKey(ra.PrincipalID, t)
	err := retry(func() error {
		g, err := e.store.GetGrant(ctx, key)
		if domain.IsCode(err, domain.CodeNotFound) {
			g = domain.Grant{PrincipalID: ra.PrincipalID, Target: t}
		} else if err != nil {
			return err
		}
		if g.Wanted() {
			return domain.Errorf(domain.CodeConflict, "jitpim granted %s to %s meanwhile; left in place", t, ra.PrincipalID)
		}
		g.Applied, g.DirectoryID, g.External, g.ModifiedAt = true, ra.ID, false, c.Now
		return stale(e.store.PutGrant(ctx, &g))
	})
	if err != nil {
		return err
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "alert.remediate", Target: t, PrincipalID: ra.PrincipalID,
		Reason:  "role assigned outside jitpim; removal is on (JITPIM_ALERT_REMOVE_OUTSIDE)",
		Details: map[string]string{"alert_id": domain.AlertRolesOutsidePIM, "assignment_id": ra.ID}})
	return e.reconcile(ctx, c, ra.PrincipalID, t)
}
