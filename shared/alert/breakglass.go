package alert

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// BreakGlassResult counts one break-glass check.
type BreakGlassResult struct {
	Accounts    int       `json:"accounts"`
	WindowStart time.Time `json:"windowStart"` // sign-ins read from here on
	SignIns     int       `json:"signIns"`     // sign-ins read (seen before or not)
	NewSignIns  int       `json:"newSignIns"`
	Problems    int       `json:"problems"` // misconfiguration incidents
	Errors      int       `json:"errors"`
}

// CheckBreakGlass is the break-glass timer's job (every 5 minutes). It
// checks that the configured emergency accounts (two or more) exist, are
// enabled, hold permanent active Global Administrator directly at the
// tenant scope, and were tested (signed in) within the test interval; and
// it reports every sign-in of theirs, successful or not, as a high-severity
// incident: one audit record and one mail per sign-in. jitpim never grants,
// revokes, reviews or sweeps these accounts.
//
// "Since the last check" is durable: the sign-in alert's LastScanned, which
// moves only when every account's log was read. Each check reads from
// min(LastScanned, now) minus BreakGlassLogDelay (sign-ins reach the log
// late), so a restart, a skipped run or a clock step misses nothing, and
// the overlap is de-duplicated by sign-in id: incidents keep seen sign-ins
// for 30 days, and mail is keyed by sign-in id, so a duplicated or
// concurrent run mails nothing twice. The first check ever reads
// BreakGlassLookback back.
//
// Cost per run: per account one user read, one role-assignment list and one
// sign-in log query covering about LogDelay + 5 minutes (more after an
// outage, at most 30 days), plus two alert reads and writes, one summary
// audit record and one per new sign-in. It grows with the number of
// accounts and their sign-ins, never with the tenant.
func (svc *Service) CheckBreakGlass(ctx context.Context, c *engine.Call) (BreakGlassResult, error) {
	var res BreakGlassResult
	if svc.alerts == nil || svc.signIns == nil {
		return res, domain.Errorf(domain.CodeInvalid, "the break-glass check is off: it needs an alert store and a sign-in log")
	}
	st := svc.settings
	signInDef, _ := DefinitionByID(domain.AlertBreakGlassSignIn)
	misDef, _ := DefinitionByID(domain.AlertBreakGlassMisconfig)

	res.WindowStart = c.Now.Add(-st.BreakGlassLookback)
	prev, err := svc.alerts.GetAlert(ctx, domain.AlertBreakGlassSignIn)
	switch {
	case err == nil && !prev.LastScanned.IsZero():
		last := prev.LastScanned
		if last.After(c.Now) { // the clock stepped back: trust neither, read more
			last = c.Now
		}
		res.WindowStart = last.Add(-st.BreakGlassLogDelay)
	case err != nil && !domain.IsCode(err, domain.CodeNotFound):
		return res, err
	}
	if floor := c.Now.Add(-signInRetention); res.WindowStart.Before(floor) {
		res.WindowStart = floor
	}

	ga := domain.RoleTarget(domain.RoleGlobalAdministrator, domain.TenantScope)
	var ids []domain.ObjectID
	for _, id := range svc.breakGlass {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	res.Accounts = len(ids)
	var signIns, problems []domain.AlertIncident
	unchecked := map[domain.ObjectID]bool{} // accounts whose state could not be read: keep their incidents
	signInsRead := true
	if len(ids) < 2 {
		problems = append(problems, domain.AlertIncident{ID: "breakglass:count", Target: ga,
			Description: fmt.Sprintf("%d break-glass account(s) configured; keep at least two (JITPIM_BREAK_GLASS_IDS)", len(ids)),
			Details:     map[string]string{"configured": fmt.Sprint(len(ids))}})
	}
	for _, id := range ids {
		problem := func(kind, text string) {
			problems = append(problems, domain.AlertIncident{ID: "breakglass:" + string(id) + ":" + kind, PrincipalID: id, Target: ga,
				Description: text, Details: map[string]string{"problem": kind}})
		}
		name := domain.UnnamedUser(id)
		u, err := svc.dir.GetUser(ctx, id)
		exists := err == nil
		switch {
		case domain.IsCode(err, domain.CodeNotFound):
			problem("missing", "break-glass account "+string(id)+" does not exist in the directory")
		case err != nil:
			res.Errors++
			unchecked[id] = true
			c.Log.ErrorContext(ctx, "break-glass check: reading the account failed", "principal_id", id, "error", err)
		default:
			name = domain.PersonName(u)
			if !u.Enabled {
				problem("disabled", "break-glass account "+name+" is disabled")
			}
			if !u.LastSignIn.IsZero() && c.Now.Sub(u.LastSignIn) > time.Duration(st.BreakGlassTestDays)*24*time.Hour {
				problem("untested", fmt.Sprintf("break-glass account %s last signed in %s (%d days ago): test it at least every %d days",
					name, u.LastSignIn.UTC().Format(time.RFC3339), int(c.Now.Sub(u.LastSignIn).Hours()/24), st.BreakGlassTestDays))
			}
		}
		if exists {
			ras, err := svc.dir.ListRoleAssignments(ctx, id)
			if err != nil {
				res.Errors++
				unchecked[id] = true
				c.Log.ErrorContext(ctx, "break-glass check: listing the account's roles failed", "principal_id", id, "error", err)
			} else if !slices.ContainsFunc(ras, func(ra domain.RoleAssignment) bool {
				return ra.RoleDefinitionID == domain.RoleGlobalAdministrator && ra.DirectoryScopeID == domain.TenantScope
			}) {
				problem("norole", "break-glass account "+name+" does not hold Global Administrator directly at the tenant scope")
			}
		}
		list, err := svc.signIns.SignInsSince(ctx, id, res.WindowStart)
		if err != nil {
			res.Errors++
			signInsRead = false
			c.Log.ErrorContext(ctx, "break-glass check: reading the sign-in log failed; the next check reads this window again", "principal_id", id, "error", err)
			continue
		}
		for _, si := range list {
			if si.ID == "" || si.UserID != id {
				continue
			}
			res.SignIns++
			outcome := "failed"
			if si.Succeeded {
				outcome = "succeeded"
			}
			signIns = append(signIns, domain.AlertIncident{ID: "signin:" + si.ID, PrincipalID: id, Target: ga,
				Description: fmt.Sprintf("break-glass account %s signed in at %s from %s (%s): %s", name, si.Time.UTC().Format(time.RFC3339),
					orUnknown(si.IPAddress), orUnknown(si.App), outcome),
				Details: map[string]string{"signInId": si.ID, "signInDateTime": si.Time.UTC().Format(time.RFC3339), "ipAddress": si.IPAddress,
					"appDisplayName": si.App, "status": outcome}})
		}
	}

	var errs []error
	// Sign-ins accumulate (a later check does not see an earlier one's
	// window): seen ones stay 30 days, so re-reading never repeats them.
	keepSeen := func(inc domain.AlertIncident) bool { return c.Now.Sub(inc.FirstSeen) < signInRetention+24*time.Hour }
	out, err := svc.alarms.put(ctx, c, alertWrite{def: signInDef, severity: signInDef.Severity, found: signIns, keep: keepSeen, scanned: signInsRead,
		mail: func(added []domain.AlertIncident) {
			for _, inc := range added { // one mail per sign-in, keyed by its id
				svc.alarms.queueAlertMail(ctx, c, "breakglass:"+inc.ID, signInDef, signInDef.Severity, []domain.AlertIncident{inc})
			}
		}})
	if err != nil {
		errs = append(errs, err)
	}
	res.NewSignIns = len(out.added)
	keepUnchecked := func(inc domain.AlertIncident) bool { return unchecked[inc.PrincipalID] }
	mis, err := svc.alarms.put(ctx, c, alertWrite{def: misDef, severity: misDef.Severity, found: problems, keep: keepUnchecked, scanned: true,
		mail: svc.alarms.alertMail(ctx, c, misDef, misDef.Severity)})
	if err != nil {
		errs = append(errs, err)
	}
	res.Problems = mis.alert.IncidentCount
	res.Errors += len(errs)
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: summaryAction(c, "timer.breakGlassCheck"), Category: "Governance", Outcome: outcomeOf(res.Errors),
		Details: map[string]string{"check": "breakGlassCheck", "accounts": fmt.Sprint(res.Accounts), "window_start": res.WindowStart.UTC().Format(time.RFC3339),
			"sign_ins": fmt.Sprint(res.SignIns), "new_sign_ins": fmt.Sprint(res.NewSignIns), "problems": fmt.Sprint(res.Problems),
			"errors": fmt.Sprint(res.Errors)}}); err != nil {
		return res, err
	}
	svc.eng.FlushMail(ctx, c)
	if len(errs) > 0 {
		return res, errs[0]
	}
	if res.Errors > 0 {
		return res, domain.Errorf(domain.CodeTransient, "break-glass check: %d directory reads failed (logged); what could be read was recorded, and the next check reads the sign-in window again", res.Errors)
	}
	return res, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// summaryAction names a run summary: the timer's action, or alert.refresh
// when an admin ran the check through the API.
func summaryAction(c *engine.Call, timer string) string {
	if c.Caller.ID != engine.SystemActor {
		return "alert.refresh"
	}
	return timer
}

func outcomeOf(errors int) string {
	if errors > 0 {
		return "failure"
	}
	return "success"
}
