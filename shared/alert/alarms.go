package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/notify"
)

// Alarms is the one write path of alerts: the alert service's scans and
// checks store their findings through it, and the request engine and access
// reviews raise incidents through it (as domain.Alarm). It needs only the
// kernel, so it exists before the engine that raises through it.
type Alarms struct {
	k      *engine.Kernel
	alerts domain.AlertStore
	log    *slog.Logger
}

// NewAlarms builds the write path; alerts nil turns alerts off (raising
// does nothing, the API answers that alerts are off).
func NewAlarms(k *engine.Kernel, alerts domain.AlertStore, log *slog.Logger) *Alarms {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Alarms{k: k, alerts: alerts, log: log}
}

// alertWrite is one scan's (or one raise's) findings for one alert.
type alertWrite struct {
	def      Definition
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

// put merges a write into the stored alert with a conditional write,
// re-reading on a lost race, and audits what changed. Incidents keep their
// first-seen time across scans; an incident not seen before is new: it
// re-opens a dismissed alert, is audited once, and is mailed once (high
// severity). Cost: one read and one write (more only on lost races).
func (al *Alarms) put(ctx context.Context, c *engine.Call, w alertWrite) (alertOutcome, error) {
	var out alertOutcome
	found := normaliseIncidents(w.found, c.Now)
	keepAtMost := domain.MaxAlertIncidents
	err := engine.Retry(func() error {
		prev, err := al.alerts.GetAlert(ctx, w.def.ID)
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
		if err := al.alerts.PutAlert(ctx, &a); domain.IsCode(err, domain.CodeInvalid) && keepAtMost > 10 {
			// Too large to store (long non-Latin text): keep fewer incidents; the count stays whole.
			c.Log.WarnContext(ctx, "alert too large to store; keeping fewer incidents", "alert_id", w.def.ID, "kept", keepAtMost/2, "error", err)
			keepAtMost /= 2
			return engine.ErrStale
		} else if err != nil {
			return engine.Stale(err)
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
			if err := al.k.Audit(ctx, c, domain.AuditRecord{Action: "alert.raise", Category: "Governance", Reason: fmt.Sprintf("%d more new incidents", len(out.added)-i),
				Details: map[string]string{"alert_id": w.def.ID, "severity": w.severity}}); err != nil {
				return out, err
			}
			break
		}
		d := map[string]string{"alert_id": w.def.ID, "incident_id": inc.ID, "severity": w.severity}
		for k, v := range inc.Details {
			if _, taken := d[k]; !taken {
				d[k] = v
			}
		}
		if err := al.k.Audit(ctx, c, domain.AuditRecord{Action: "alert.raise", Category: "Governance", Target: inc.Target, PrincipalID: inc.PrincipalID,
			Outcome: "failure", Reason: inc.Description, Details: d}); err != nil {
			return out, err
		}
	}
	if out.resolved {
		if err := al.k.Audit(ctx, c, domain.AuditRecord{Action: "alert.resolve", Category: "Governance", Reason: "no incidents remain",
			Details: map[string]string{"alert_id": w.def.ID}}); err != nil {
			return out, err
		}
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
		inc.ID = domain.Clip(strings.TrimSpace(inc.ID), 300)
		if inc.ID == "" || seen[inc.ID] {
			continue
		}
		seen[inc.ID] = true
		inc.Description = domain.Clip(inc.Description, maxIncidentText)
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
				d[domain.Clip(k, maxDetailKey)] = domain.Clip(inc.Details[k], maxDetailValue)
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
func (al *Alarms) alertMail(ctx context.Context, c *engine.Call, def Definition, severity string) func([]domain.AlertIncident) {
	return func(added []domain.AlertIncident) {
		ids := make([]string, len(added))
		for i, inc := range added {
			ids[i] = inc.ID
		}
		sort.Strings(ids)
		h := sha256.Sum256([]byte(strings.Join(ids, "\n")))
		al.queueAlertMail(ctx, c, "alert:"+def.ID+":"+hex.EncodeToString(h[:12]), def, severity, added)
	}
}

func (al *Alarms) queueAlertMail(ctx context.Context, c *engine.Call, key string, def Definition, severity string, incs []domain.AlertIncident) {
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
	to := al.k.AdminAddresses(ctx, c)
	if len(to) == 0 {
		c.Log.ErrorContext(ctx, "alert raised but nobody to mail: set JITPIM_ADMIN_MAIL", "alert_id", def.ID)
		return
	}
	al.k.QueueMail(ctx, c, key, to, d)
}

// RaiseAlert adds incidents to an alert, merged by id with those it holds:
// an incident raised again is updated, not repeated; a new one re-opens a
// dismissed alert, is audited, and (high severity) mailed to the admins at
// once. An incident not raised again leaves the alert 30 days after it was
// first raised. An empty severity takes the definition's. With alerts off
// it does nothing.
func (al *Alarms) RaiseAlert(ctx context.Context, r domain.AlertRaise) error {
	if al.alerts == nil {
		return nil
	}
	def, ok := DefinitionByID(r.DefinitionID)
	if !ok {
		return domain.Invalid("alertDefinitionId", "unknown alert definition %q", r.DefinitionID)
	}
	severity := r.Severity
	if severity == "" {
		severity = def.Severity
	}
	if severity != domain.SeverityLow && severity != domain.SeverityMedium && severity != domain.SeverityHigh {
		return domain.Invalid("severity", "must be low, medium or high, got %q", severity)
	}
	c := engine.NewCall(r.Now, r.InvocationID, engine.Caller{ID: r.ActorID}, al.log)
	keep := func(inc domain.AlertIncident) bool { return c.Now.Sub(inc.FirstSeen) < raisedIncidentTTL }
	w := alertWrite{def: def, severity: severity, found: r.Incidents, keep: keep, scanned: true}
	if severity == domain.SeverityHigh {
		w.mail = al.alertMail(ctx, c, def, severity)
	}
	_, err := al.put(ctx, c, w)
	al.k.FlushMail(ctx, c)
	return err
}
