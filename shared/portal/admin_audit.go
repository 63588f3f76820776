package portal

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

type auditView struct {
	Person, Target, Action, From, To string
	Rows                             []auditRow
	Scanned                          int
	Truncated                        bool // the scan stopped at its bound before the log's start (or From)
	CSVURL, JSONURL, VerifyURL       string
	Chain                            string // the verification's result, in words
	ChainBroken                      bool
}

type auditRow struct {
	When                                  *when
	Actor, Principal                      person
	Action, Target, Outcome, Reason, Note string
}

// Bounds of one audit search: records read (newest first) and matches
// shown. An export reads up to maxAuditExport records.
const (
	maxAuditScan   = 5000
	maxAuditShown  = 200
	maxAuditExport = 50000
)

// auditFilter is the audit screen's query: who (a name, UPN or object id,
// as actor or as the person whose access changed), which target (a name or
// part of it), which action (e.g. "request", "grant.add") and when (dates,
// UTC, both ends included).
type auditFilter struct {
	person, target, action string
	personID               domain.ObjectID
	from, to               time.Time
}

func parseAuditFilter(q url.Values) (auditFilter, error) {
	f := auditFilter{person: strings.TrimSpace(q.Get("person")), target: strings.TrimSpace(q.Get("target")), action: strings.TrimSpace(q.Get("action"))}
	if id, err := domain.ParseObjectID("person", f.person); err == nil {
		f.personID = id
	}
	for _, d := range []struct {
		field string
		to    *time.Time
		add   time.Duration
	}{{"from", &f.from, 0}, {"to", &f.to, 24 * time.Hour}} {
		s := strings.TrimSpace(q.Get(d.field))
		if s == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return f, domain.Invalid(d.field, "give a date as YYYY-MM-DD")
		}
		*d.to = t.Add(d.add)
	}
	if !f.from.IsZero() && !f.to.IsZero() && !f.from.Before(f.to) {
		return f, domain.Invalid("to", "must not be before from")
	}
	return f, nil
}

// auditMatch is one matching record with the names it shows.
type auditMatch struct {
	rec              domain.AuditRecord
	actor, principal person
	target           string
}

// searchAudit reads the audit log newest first, through the engine (admins
// only), and returns the records that match, up to limit matches or scan
// records read. Names come from the page's name cache, so each person
// costs one directory lookup per page at most.
func (p *Portal) searchAudit(ctx context.Context, v *visit, f auditFilter, limit, scan int) (out []auditMatch, scanned int, truncated bool, err error) {
	n := p.names(v)
	targets := map[string]string{}
	targetName := func(t domain.Target) string {
		if t.Key() == (domain.Target{}).Key() {
			return ""
		}
		k := t.Key()
		if _, ok := targets[k]; !ok {
			targets[k] = p.eng.Names().Target(ctx, t)
		}
		return targets[k]
	}
	personMatches := func(pp person, id domain.ObjectID) bool {
		if f.personID != "" {
			return id == f.personID
		}
		q := strings.ToLower(f.person)
		return id != "" && (strings.Contains(strings.ToLower(pp.Name), q) || strings.Contains(strings.ToLower(pp.UPN), q))
	}
	q := domain.AuditQuery{Limit: 500}
	for {
		pg, err := p.eng.ListAudit(ctx, v.call, q)
		if err != nil {
			return nil, scanned, false, err
		}
		for _, r := range pg.Items {
			scanned++
			if !f.from.IsZero() && r.Time.Before(f.from) {
				return out, scanned, false, nil // newest first: nothing older matches
			}
			if scanned > scan || len(out) >= limit {
				return out, scanned - 1, true, nil
			}
			if !f.to.IsZero() && !r.Time.Before(f.to) {
				continue
			}
			if f.action != "" && !strings.Contains(strings.ToLower(r.Action), strings.ToLower(f.action)) {
				continue
			}
			m := auditMatch{rec: r, target: targetName(r.Target)}
			if f.target != "" && !strings.Contains(strings.ToLower(m.target), strings.ToLower(f.target)) && r.Target.Key() != f.target {
				continue
			}
			m.actor = auditActor(n, r.ActorID)
			if r.PrincipalID != "" {
				m.principal = n.person(r.PrincipalID)
			}
			if f.person != "" && !personMatches(m.actor, r.ActorID) && !personMatches(m.principal, r.PrincipalID) {
				continue
			}
			out = append(out, m)
		}
		if pg.Next == "" {
			return out, scanned, false, nil
		}
		q.Cursor = pg.Next
	}
}

// auditActor names who acted: a person, or jitpim itself (its timers).
func auditActor(n *names, id domain.ObjectID) person {
	switch {
	case id == engine.SystemActor:
		return person{Name: "jitpim (a timer)", ID: string(id)}
	case !id.Valid():
		return person{Name: "unknown actor " + string(id), ID: string(id)}
	}
	return n.person(id)
}

// adminAudit is the audit log screen: a filter, the matching records with
// names, links to export them, and the chain's verification status.
func (p *Portal) adminAudit(v *visit, pg page) {
	p.auditScreen(v, pg, false)
}

// adminAuditVerify is the audit screen with the hash chain checked, as
// `jitpim audit verify` checks it. It only reads: a GET.
func (p *Portal) adminAuditVerify(v *visit, pg page) {
	p.auditScreen(v, pg, true)
}

func (p *Portal) auditScreen(v *visit, pg page, verify bool) {
	ctx := v.r.Context()
	q := v.r.URL.Query()
	view := &auditView{Person: q.Get("person"), Target: q.Get("target"), Action: q.Get("action"), From: q.Get("from"), To: q.Get("to")}
	keep := url.Values{}
	for _, k := range []string{"person", "target", "action", "from", "to"} {
		if s := q.Get(k); s != "" {
			keep.Set(k, s)
		}
	}
	view.CSVURL, view.JSONURL = Prefix+"admin/audit.csv?"+keep.Encode(), Prefix+"admin/audit.jsonl?"+keep.Encode()
	view.VerifyURL = Prefix + "admin/audit/verify?" + keep.Encode()
	f, err := parseAuditFilter(q)
	if err != nil {
		pg.Admin = &adminView{Tab: "admin/audit", Audit: view}
		p.fail(v.w, pg, err)
		return
	}
	matches, scanned, truncated, err := p.searchAudit(ctx, v, f, maxAuditShown, maxAuditScan)
	if err != nil {
		p.adminFail(v, pg, "admin/audit", err)
		return
	}
	view.Scanned, view.Truncated = scanned, truncated
	for _, m := range matches {
		view.Rows = append(view.Rows, auditRow{When: at(m.rec.Time), Actor: m.actor, Principal: m.principal, Action: m.rec.Action,
			Target: m.target, Outcome: m.rec.Outcome, Reason: m.rec.Reason, Note: auditNote(m.rec)})
	}
	view.Chain = p.chainStatus(ctx, verify)
	view.ChainBroken = verify && strings.HasPrefix(view.Chain, "Broken")
	if len(view.Rows) == 0 {
		pg.Message = "No audit record matches."
	}
	p.adminPage(v, pg, http.StatusOK, "Audit log", adminView{Tab: "admin/audit", Audit: view})
}

// auditNote is a record's details in one line, keys sorted.
func auditNote(r domain.AuditRecord) string {
	keys := make([]string, 0, len(r.Details))
	for k := range r.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+r.Details[k])
	}
	return strings.Join(parts, "; ")
}

// chainStatus says what is known of the hash chain: without verify, how
// many records wait to be linked (one query); with it, the whole check.
func (p *Portal) chainStatus(ctx context.Context, verify bool) string {
	if p.adm.Chain == nil {
		return "The hash chain cannot be verified here: this deployment keeps its state in memory (JITPIM_STORE=memory)."
	}
	pending, perr := p.adm.Chain.Pending(ctx)
	waiting := ""
	switch {
	case perr != nil:
		waiting = " Records waiting to be linked: unknown (" + messageOf(perr) + ")."
	case pending == 0:
		waiting = " No record is waiting to be linked."
	default:
		waiting = " " + domain.Plural(pending, "record") + " written but not yet linked into the chain (the expirySweep timer links them every minute)."
	}
	if !verify {
		return "Not verified on this view." + waiting
	}
	n, err := p.adm.Chain.Verify(ctx)
	if err != nil {
		if domain.IsCode(err, domain.CodeConflict) {
			return "Broken: " + messageOf(err) + waiting
		}
		return "Not verified: " + messageOf(err) + waiting
	}
	return "Intact: " + domain.Plural(n, "record") + " verified, each linked to the one before and to the chain's head." + waiting
}

// adminAuditExport downloads the matching records (up to maxAuditExport
// read) as CSV or JSON lines, with names beside the ids. A GET that
// changes nothing.
func (p *Portal) adminAuditExport(v *visit, pg page, format string) {
	ctx := v.r.Context()
	f, err := parseAuditFilter(v.r.URL.Query())
	if err != nil {
		p.adminFail(v, pg, "admin/audit", err)
		return
	}
	matches, _, truncated, err := p.searchAudit(ctx, v, f, maxAuditExport, maxAuditExport)
	if err != nil {
		p.adminFail(v, pg, "admin/audit", err)
		return
	}
	h := v.w.Header()
	name := "jitpim-audit-" + v.call.Now.Format("20060102-150405")
	if truncated {
		h.Set("X-Jitpim-Truncated", "the export stopped after "+strconv.Itoa(maxAuditExport)+" records; narrow the time range")
	}
	v.call.Log.Info("audit exported through the portal", "format", format, "records", len(matches))
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w := csv.NewWriter(v.w)
		_ = w.Write([]string{"time", "action", "outcome", "actor_id", "actor_name", "principal_id", "principal_name", "target", "target_name",
			"request_id", "reason", "details", "invocation_id", "record_id", "hash"})
		for _, m := range matches {
			r := m.rec
			details, _ := json.Marshal(r.Details)
			row := []string{r.Time.UTC().Format(time.RFC3339Nano), r.Action, r.Outcome, string(r.ActorID), m.actor.Name, string(r.PrincipalID), m.principal.Name,
				r.Target.Key(), m.target, r.RequestID, r.Reason, string(details), r.InvocationID, r.ID, r.Hash}
			for i := range row {
				row[i] = defuseCell(row[i])
			}
			_ = w.Write(row)
		}
		w.Flush()
		return
	}
	h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.jsonl"`)
	enc := json.NewEncoder(v.w)
	for _, m := range matches {
		r := m.rec
		_ = enc.Encode(map[string]any{"time": r.Time.UTC().Format(time.RFC3339Nano), "action": r.Action, "category": r.Category, "outcome": r.Outcome,
			"actorId": r.ActorID, "actorName": m.actor.Name, "principalId": r.PrincipalID, "principalName": m.principal.Name,
			"target": r.Target.Key(), "targetName": m.target, "requestId": r.RequestID, "reason": r.Reason, "details": r.Details,
			"invocationId": r.InvocationID, "id": r.ID, "prevHash": r.PrevHash, "hash": r.Hash})
	}
}

// defuseCell keeps a spreadsheet from reading a cell as a formula: a
// justification typed as "=HYPERLINK(…)" must stay text (OWASP CSV
// injection). The quote is visible, and the JSON lines export keeps the
// value exact.
func defuseCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
