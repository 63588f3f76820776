package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

var (
	roleExchange = domain.RoleTarget("29232cdf-9323-42fd-ade2-1d097af3e4de", domain.TenantScope) // not marked privileged
	roleHelpdesk = domain.RoleTarget("729827e3-9c14-49f7-bb1b-9608f156bbb8", domain.TenantScope) // privileged
)

const securityMail = "security@contoso.example"

// newAlertFixture is a fixture with the governance ports wired to the fake
// directory and the memory store, and admins mailed at securityMail.
func newAlertFixture(t testing.TB, settings engine.AlertSettings) *fixture {
	t.Helper()
	f := newFixture(t)
	f.cfg.Reader, f.cfg.SignIns, f.cfg.Alerts = f.dir, f.dir, f.store
	f.cfg.AdminRecipients = []string{securityMail}
	f.cfg.AlertSettings = settings
	f.restart()
	return f
}

// restart builds a new engine on the same store and directory: nothing
// survives but what is stored.
func (f *fixture) restart() { f.eng = engine.New(f.store, f.dir, f.cfg) }

// breakGlassPair configures two healthy emergency accounts: enabled, with
// Global Administrator directly at the tenant scope.
func (f *fixture) breakGlassPair() (bg1, bg2 domain.ObjectID) {
	f.t.Helper()
	bg1, bg2 = f.breakGlass, f.newUser()
	f.cfg.BreakGlass = []domain.ObjectID{bg1, bg2}
	for _, id := range f.cfg.BreakGlass {
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, id, domain.RoleGlobalAdministrator, "/"); err != nil {
			f.t.Fatal(err)
		}
	}
	f.restart()
	return bg1, bg2
}

func (f *fixture) checkBreakGlass() engine.BreakGlassResult {
	f.t.Helper()
	res, err := f.eng.CheckBreakGlass(f.ctx, f.system())
	if err != nil {
		f.t.Fatalf("CheckBreakGlass: %v", err)
	}
	return res
}

func (f *fixture) scanAlerts() engine.AlertScanResult {
	f.t.Helper()
	res, err := f.eng.ScanAlerts(f.ctx, f.system())
	if err != nil {
		f.t.Fatalf("ScanAlerts: %v", err)
	}
	return res
}

func (f *fixture) alert(id string) domain.Alert {
	f.t.Helper()
	a, err := f.eng.GetAlert(f.ctx, f.call(f.admin), id)
	if err != nil {
		f.t.Fatalf("GetAlert %s: %v", id, err)
	}
	return a
}

func incidentIDs(a domain.Alert) []string {
	var ids []string
	for _, inc := range a.Incidents {
		ids = append(ids, inc.ID)
	}
	return ids
}

func hasIncident(a domain.Alert, id string) bool {
	for _, inc := range a.Incidents {
		if inc.ID == id {
			return true
		}
	}
	return false
}

// mails returns the queued mail whose subject contains sub.
func (f *fixture) mails(sub string) []domain.Mail {
	f.t.Helper()
	due, err := f.store.MailDue(f.ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []domain.Mail
	for _, m := range due {
		if strings.Contains(m.Subject, sub) {
			out = append(out, m)
		}
	}
	return out
}

// raised counts alert.raise audit records for an incident.
func (f *fixture) raised(incidentID string) int {
	n := 0
	for _, r := range f.audits("alert.raise") {
		if r.Details["incident_id"] == incidentID {
			n++
		}
	}
	return n
}

const bgSubject = "A break-glass account signed in"

func TestBreakGlassSignInAlertsExactlyOnce(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	bg1, _ := f.breakGlassPair()
	if res := f.checkBreakGlass(); res.NewSignIns != 0 || res.Problems != 0 || res.Accounts != 2 {
		t.Fatalf("healthy accounts, no sign-in: %+v", res)
	}
	if a := f.alert(domain.AlertBreakGlassSignIn); a.IsActive || a.LastScanned.IsZero() {
		t.Fatalf("alert before any sign-in: %+v", a)
	}

	f.advance(5 * time.Minute)
	f.dir.AddSignIn(domain.SignIn{ID: "si-1", UserID: bg1, Time: f.now.Add(-2 * time.Minute), App: "Azure Portal", IPAddress: "203.0.113.9", Succeeded: true})
	if res := f.checkBreakGlass(); res.NewSignIns != 1 {
		t.Fatalf("sign-in not reported: %+v", res)
	}
	a := f.alert(domain.AlertBreakGlassSignIn)
	if !a.IsActive || a.IncidentCount != 1 || !hasIncident(a, "signin:si-1") || a.Severity != domain.SeverityHigh {
		t.Fatalf("alert after the sign-in: %+v", a)
	}
	inc := a.Incidents[0]
	if inc.PrincipalID != bg1 || inc.Details["ipAddress"] != "203.0.113.9" || !strings.Contains(inc.Description, "succeeded") {
		t.Fatalf("incident: %+v", inc)
	}
	mails := f.mails(bgSubject)
	if len(mails) != 1 || mails[0].To[0] != securityMail || !strings.Contains(mails[0].Text, "203.0.113.9") {
		t.Fatalf("mails: %+v", mails)
	}
	if f.raised("signin:si-1") != 1 {
		t.Fatal("the sign-in was not audited once")
	}

	// The next check re-reads the overlap and finds the same sign-in: nothing repeats.
	f.advance(5 * time.Minute)
	if res := f.checkBreakGlass(); res.NewSignIns != 0 || res.SignIns != 1 {
		t.Fatalf("second check: %+v", res)
	}
	// A restart keeps nothing in memory: still nothing repeats.
	f.restart()
	f.advance(5 * time.Minute)
	f.checkBreakGlass()
	if len(f.mails(bgSubject)) != 1 || f.raised("signin:si-1") != 1 || f.alert(domain.AlertBreakGlassSignIn).IncidentCount != 1 {
		t.Fatal("a later or restarted check reported the sign-in again")
	}
	if len(f.audits("timer.breakGlassCheck")) != 4 {
		t.Fatalf("%d run summaries, want 4", len(f.audits("timer.breakGlassCheck")))
	}
	// Hours later, past the re-read window, the sign-in is still on the alert until someone dismisses it.
	f.advance(6 * time.Hour)
	f.checkBreakGlass()
	f.advance(5 * time.Minute)
	if res := f.checkBreakGlass(); res.SignIns != 0 {
		t.Fatalf("the window did not move on: %+v", res)
	}
	if a := f.alert(domain.AlertBreakGlassSignIn); !a.IsActive || !hasIncident(a, "signin:si-1") {
		t.Fatalf("the sign-in left the alert undismissed: %+v", a)
	}
	// After 31 days it is gone from the alert (the sign-in log keeps 30).
	f.advance(31 * 24 * time.Hour)
	f.checkBreakGlass()
	if a := f.alert(domain.AlertBreakGlassSignIn); a.IsActive || a.IncidentCount != 0 {
		t.Fatalf("a 31-day-old sign-in is still listed: %+v", a)
	}
}

func TestBreakGlassNoSignInMissedAcrossDowntime(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	bg1, bg2 := f.breakGlassPair()
	f.checkBreakGlass()
	last := f.now

	// Down for three hours: the handler restarts with nothing in memory.
	f.advance(3 * time.Hour)
	f.restart()
	f.dir.AddSignIn(domain.SignIn{ID: "while-down", UserID: bg2, Time: last.Add(10 * time.Minute), IPAddress: "198.51.100.1"})
	if res := f.checkBreakGlass(); res.NewSignIns != 1 || res.WindowStart.After(last) {
		t.Fatalf("sign-in during the downtime: %+v", res)
	}

	// A sign-in that reaches the log late (its time is before the last check) is still caught.
	checked := f.now
	f.advance(5 * time.Minute)
	f.dir.AddSignIn(domain.SignIn{ID: "late", UserID: bg1, Time: checked.Add(-10 * time.Minute), Succeeded: false})
	if res := f.checkBreakGlass(); res.NewSignIns != 1 {
		t.Fatalf("late sign-in: %+v", res)
	}
	a := f.alert(domain.AlertBreakGlassSignIn)
	if a.IncidentCount != 2 || !hasIncident(a, "signin:late") || !hasIncident(a, "signin:while-down") {
		t.Fatalf("incidents: %v", incidentIDs(a))
	}
	if len(f.mails(bgSubject)) != 2 {
		t.Fatalf("want one mail per sign-in, got %d", len(f.mails(bgSubject)))
	}
}

func TestBreakGlassFailedReadDoesNotMoveTheWatermark(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	bg1, _ := f.breakGlassPair()
	f.checkBreakGlass()
	t0 := f.now
	f.advance(3 * time.Hour)
	f.dir.Fail = func(op string) error {
		if op == "SignInsSince" {
			return domain.Errorf(domain.CodeTransient, "graph is down")
		}
		return nil
	}
	f.dir.AddSignIn(domain.SignIn{ID: "during-outage", UserID: bg1, Time: t0.Add(50 * time.Minute)})
	res, err := f.eng.CheckBreakGlass(f.ctx, f.system())
	wantCode(t, err, domain.CodeTransient)
	if res.Errors == 0 || res.NewSignIns != 0 {
		t.Fatalf("failed check: %+v", res)
	}
	if a := f.alert(domain.AlertBreakGlassSignIn); !a.LastScanned.Equal(t0) {
		t.Fatalf("the watermark moved to %s although the log was not read", a.LastScanned)
	}
	f.dir.Fail = nil
	f.advance(5 * time.Minute)
	// Had the failed run moved the watermark, this check would start after the sign-in.
	if res := f.checkBreakGlass(); res.NewSignIns != 1 {
		t.Fatalf("the sign-in during the outage was missed: %+v", res)
	}
}

func TestBreakGlassDuplicatedRunsMailOnce(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	bg1, _ := f.breakGlassPair()
	f.checkBreakGlass()
	f.advance(5 * time.Minute)
	f.dir.AddSignIn(domain.SignIn{ID: "dup", UserID: bg1, Time: f.now.Add(-time.Minute)})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.eng.CheckBreakGlass(f.ctx, f.system()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(f.mails(bgSubject)); n != 1 {
		t.Fatalf("%d mails for one sign-in", n)
	}
	if n := f.raised("signin:dup"); n != 1 {
		t.Fatalf("%d audit records for one sign-in", n)
	}
}

func TestBreakGlassMisconfiguration(t *testing.T) {
	const misSubject = "Break-glass accounts are missing or misconfigured"
	t.Run("MissingRole", func(t *testing.T) {
		f := newAlertFixture(t, engine.AlertSettings{})
		_, bg2 := f.breakGlassPair()
		var raID string
		ras, _ := f.dir.ListRoleAssignments(f.ctx, bg2)
		raID = ras[0].ID
		if err := f.dir.RemoveRoleAssignment(f.ctx, raID); err != nil {
			t.Fatal(err)
		}
		// A Global Administrator held through jitpim or a group does not count: only a direct, permanent one.
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, bg2, domain.RoleGlobalAdministrator, "/administrativeUnits/x"); err != nil {
			t.Fatal(err)
		}
		if res := f.checkBreakGlass(); res.Problems != 1 {
			t.Fatalf("missing role: %+v", res)
		}
		a := f.alert(domain.AlertBreakGlassMisconfig)
		if !a.IsActive || !hasIncident(a, "breakglass:"+string(bg2)+":norole") {
			t.Fatalf("alert: %v", incidentIDs(a))
		}
		if len(f.mails(misSubject)) != 1 {
			t.Fatal("admins were not mailed")
		}
		// Fixed: the alert clears.
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, bg2, domain.RoleGlobalAdministrator, "/"); err != nil {
			t.Fatal(err)
		}
		f.advance(5 * time.Minute)
		f.checkBreakGlass()
		if a := f.alert(domain.AlertBreakGlassMisconfig); a.IsActive || a.IncidentCount != 0 {
			t.Fatalf("alert after the fix: %+v", a)
		}
		if len(f.audits("alert.resolve")) != 1 {
			t.Fatal("the resolution was not audited")
		}
	})
	t.Run("FewerThanTwo", func(t *testing.T) {
		f := newAlertFixture(t, engine.AlertSettings{})
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, f.breakGlass, domain.RoleGlobalAdministrator, "/"); err != nil {
			t.Fatal(err)
		}
		f.checkBreakGlass()
		if a := f.alert(domain.AlertBreakGlassMisconfig); !a.IsActive || incidentIDs(a)[0] != "breakglass:count" || a.IncidentCount != 1 {
			t.Fatalf("one account: %+v", a)
		}
	})
	t.Run("DisabledMissingUntested", func(t *testing.T) {
		f := newAlertFixture(t, engine.AlertSettings{})
		bg1, bg2 := f.breakGlassPair()
		ghost := f.newID()
		f.cfg.BreakGlass = append(f.cfg.BreakGlass, ghost)
		f.restart()
		f.dir.SetEnabled(bg1, false)
		f.dir.AddSignIn(domain.SignIn{ID: "old-test", UserID: bg2, Time: f.now.Add(-100 * 24 * time.Hour), Succeeded: true})
		f.checkBreakGlass()
		a := f.alert(domain.AlertBreakGlassMisconfig)
		for _, id := range []string{"breakglass:" + string(bg1) + ":disabled", "breakglass:" + string(ghost) + ":missing", "breakglass:" + string(bg2) + ":untested"} {
			if !hasIncident(a, id) {
				t.Errorf("no incident %s in %v", id, incidentIDs(a))
			}
		}
		if a.IncidentCount != 3 {
			t.Fatalf("incidents: %v", incidentIDs(a))
		}
		// The 100-day-old sign-in is before the first check's look-back: not a new sign-in alert.
		if f.alert(domain.AlertBreakGlassSignIn).IsActive {
			t.Fatal("an old sign-in was reported as new")
		}
		// jitpim still never touches these accounts.
		if f.dir.HasRole(bg1, domain.RoleGlobalAdministrator, "/") == false {
			t.Fatal("the disabled account lost its role")
		}
	})
	t.Run("UnreadableAccountKeepsItsIncidents", func(t *testing.T) {
		f := newAlertFixture(t, engine.AlertSettings{})
		bg1, _ := f.breakGlassPair()
		f.dir.SetEnabled(bg1, false)
		f.checkBreakGlass()
		f.dir.Fail = func(op string) error {
			if op == "GetUser" {
				return domain.Errorf(domain.CodeTransient, "throttled")
			}
			return nil
		}
		f.advance(5 * time.Minute)
		if _, err := f.eng.CheckBreakGlass(f.ctx, f.system()); err == nil {
			t.Fatal("a failed read was not reported")
		}
		if a := f.alert(domain.AlertBreakGlassMisconfig); !hasIncident(a, "breakglass:"+string(bg1)+":disabled") || !a.IsActive {
			t.Fatalf("an unreadable account's problem was resolved: %v", incidentIDs(a))
		}
		if len(f.audits("alert.resolve")) != 0 {
			t.Fatal("resolved on a failed read")
		}
	})
}

func TestBreakGlassDismissStaysUntilNewSignIn(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	bg1, _ := f.breakGlassPair()
	f.dir.AddSignIn(domain.SignIn{ID: "a", UserID: bg1, Time: f.now.Add(-time.Minute)})
	f.checkBreakGlass()
	if err := f.eng.DismissAlert(f.ctx, f.call(f.admin), domain.AlertBreakGlassSignIn); err != nil {
		t.Fatal(err)
	}
	a := f.alert(domain.AlertBreakGlassSignIn)
	if a.IsActive || a.DismissedBy != f.admin || a.IncidentCount != 1 {
		t.Fatalf("dismissed: %+v", a)
	}
	f.advance(5 * time.Minute)
	f.checkBreakGlass()
	if f.alert(domain.AlertBreakGlassSignIn).IsActive {
		t.Fatal("a rescan without a new sign-in re-opened the dismissed alert")
	}
	f.dir.AddSignIn(domain.SignIn{ID: "b", UserID: bg1, Time: f.now.Add(-time.Minute)})
	f.advance(5 * time.Minute)
	f.checkBreakGlass()
	if a := f.alert(domain.AlertBreakGlassSignIn); !a.IsActive || !a.DismissedAt.IsZero() || a.IncidentCount != 2 {
		t.Fatalf("a new sign-in did not re-open the alert: %+v", a)
	}
	if len(f.audits("alert.dismiss")) != 1 {
		t.Fatal("the dismissal was not audited")
	}
	// Only admins dismiss.
	wantCode(t, f.eng.DismissAlert(f.ctx, f.call(f.newUser()), domain.AlertBreakGlassSignIn), domain.CodeForbidden)
}

func TestAlertScanRolesOutsideJitpim(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	bg1, _ := f.breakGlassPair()
	sam := f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	// An activation through jitpim is not "outside".
	alice := f.newUser()
	f.dir.AddSignIn(domain.SignIn{ID: "x", UserID: alice, Time: f.now})
	f.makeEligible(alice, roleGA)
	if _, err := f.activate(alice, roleGA, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A group holding a role: reported unless jitpim manages its membership.
	unmanaged, managed := f.newID(), f.newID()
	for _, g := range []domain.ObjectID{unmanaged, managed} {
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, g, roleHelpdesk.RoleDefinitionID, "/"); err != nil {
			t.Fatal(err)
		}
	}
	f.makeEligible(alice, domain.GroupTarget(managed, domain.AccessMember))

	res := f.scanAlerts()
	a := f.alert(domain.AlertRolesOutsidePIM)
	want := []string{"outside:" + string(sam) + "|" + roleExchange.Key(), "outside:" + string(unmanaged) + "|" + roleHelpdesk.Key()}
	if !a.IsActive || a.IncidentCount != 2 || !hasIncident(a, want[0]) || !hasIncident(a, want[1]) {
		t.Fatalf("outside incidents %v, want %v (break-glass %s and jitpim's own grants excluded)", incidentIDs(a), want, bg1)
	}
	if res.Roles < len(domain.BuiltInRoles) || res.Removed != 0 {
		t.Fatalf("scan: %+v", res)
	}
	// Warn-only by default: nothing is removed.
	if !f.dir.HasRole(sam, roleExchange.RoleDefinitionID, "/") {
		t.Fatal("the outside assignment was removed without JITPIM_ALERT_REMOVE_OUTSIDE")
	}
	const subject = "Roles are being assigned outside of jitpim"
	if len(f.mails(subject)) != 1 {
		t.Fatal("high-severity alert not mailed")
	}
	// A rescan finds the same: no new mail, no new audit record.
	f.advance(24 * time.Hour)
	if res := f.scanAlerts(); res.NewIncidents != 0 {
		t.Fatalf("rescan: %+v", res)
	}
	if len(f.mails(subject)) != 1 || f.raised(want[0]) != 1 {
		t.Fatal("a rescan repeated the alert")
	}
	if len(f.audits("timer.alertScan")) != 2 {
		t.Fatal("run summaries missing")
	}
	// The assignment goes away: the alert keeps only what is still there.
	ras, _ := f.dir.ListRoleAssignments(f.ctx, sam)
	_ = f.dir.RemoveRoleAssignment(f.ctx, ras[0].ID)
	f.scanAlerts()
	if a := f.alert(domain.AlertRolesOutsidePIM); a.IncidentCount != 1 || hasIncident(a, want[0]) {
		t.Fatalf("after removal: %v", incidentIDs(a))
	}
}

func TestAlertScanRemovesOutsideAssignmentsWhenConfigured(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{RemoveOutside: true})
	bg1, _ := f.breakGlassPair()
	sam, group := f.newUser(), f.newID()
	for _, p := range []domain.ObjectID{sam, group} {
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, p, roleExchange.RoleDefinitionID, "/"); err != nil {
			t.Fatal(err)
		}
	}
	res := f.scanAlerts()
	if res.Removed != 1 || f.dir.HasRole(sam, roleExchange.RoleDefinitionID, "/") {
		t.Fatalf("the user's outside assignment was not removed: %+v", res)
	}
	if !f.dir.HasRole(group, roleExchange.RoleDefinitionID, "/") || !f.dir.HasRole(bg1, domain.RoleGlobalAdministrator, "/") {
		t.Fatal("removed a group's assignment or a break-glass account's role")
	}
	if len(f.auditsFor("alert.remediate", sam)) != 1 || len(f.auditsFor("grant.remove", sam)) != 1 {
		t.Fatal("the removal did not go through the revoke path with its audit records")
	}
	if g, ok := f.grant(sam, roleExchange); !ok || g.Applied || !g.Settled() {
		t.Fatalf("grant after removal: %+v", g)
	}
	// Still reported: the alert says what was found.
	if !hasIncident(f.alert(domain.AlertRolesOutsidePIM), "outside:"+string(sam)+"|"+roleExchange.Key()) {
		t.Fatal("the removed assignment was not reported")
	}
}

func TestAlertScanRemovalFailureGoesToTheSweep(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{RemoveOutside: true})
	sam := f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	f.dir.Fail = func(op string) error {
		if op == "RemoveRoleAssignment" {
			return errors.New("403 insufficient privileges")
		}
		return nil
	}
	if _, err := f.eng.ScanAlerts(f.ctx, f.system()); err == nil {
		t.Fatal("a failed removal was not reported")
	}
	if g, ok := f.grant(sam, roleExchange); !ok || g.Settled() || g.FailedAttempts != 1 {
		t.Fatalf("the failed removal is not left for the sweep: %+v", g)
	}
	f.dir.Fail = nil
	f.advance(2 * time.Minute)
	f.sweep()
	if f.dir.HasRole(sam, roleExchange.RoleDefinitionID, "/") {
		t.Fatal("the sweep did not finish the removal")
	}
}

func TestAlertScanTooManyGlobalAdmins(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{GlobalAdminCount: 3, GlobalAdminPercent: 20})
	bg1, bg2 := f.breakGlassPair()
	direct, m1, m2, activator := f.newUser(), f.newUser(), f.newUser(), f.newUser()
	group := f.newID()
	f.dir.AddMember(group, m1)
	f.dir.AddMember(group, m2)
	for _, p := range []domain.ObjectID{direct, group} {
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, p, domain.RoleGlobalAdministrator, "/"); err != nil {
			t.Fatal(err)
		}
	}
	f.makeEligible(activator, roleGA)
	if _, err := f.activate(activator, roleGA, time.Hour); err != nil {
		t.Fatal(err)
	}
	res := f.scanAlerts()
	// bg1, bg2, direct, m1, m2 and the activation: 6 of 8 users (admin and f.breakGlass's neighbours included).
	if res.GlobalAdmins != 6 {
		t.Fatalf("counted %d Global Administrators, want 6: %+v", res.GlobalAdmins, res)
	}
	a := f.alert(domain.AlertTooManyGlobalAdmins)
	for _, id := range []domain.ObjectID{bg1, bg2, direct, m1, m2, activator} {
		if !hasIncident(a, "globalAdmin:"+string(id)) {
			t.Errorf("holder %s not listed: %v", id, incidentIDs(a))
		}
	}
	if !a.IsActive || a.Severity != domain.SeverityLow {
		t.Fatalf("alert: %+v", a)
	}
	// Within the limits: the alert clears.
	if err := f.eng.SetAlertSettings(engine.AlertSettings{GlobalAdminCount: 10}); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if a := f.alert(domain.AlertTooManyGlobalAdmins); a.IsActive || a.IncidentCount != 0 {
		t.Fatalf("below the count limit: %+v", a)
	}
	// Both limits must be passed: many admins in a large tenant is fine.
	if err := f.eng.SetAlertSettings(engine.AlertSettings{GlobalAdminCount: 2, GlobalAdminPercent: 90}); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if f.alert(domain.AlertTooManyGlobalAdmins).IsActive {
		t.Fatal("fired below the percentage limit")
	}
}

func TestAlertScanEligibilities(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{UnusedDays: 30, ActivationCount: 3, ActivationWindow: 12 * time.Hour})
	idle, busy := f.newUser(), f.newUser()
	f.makeEligible(idle, roleHelpdesk)
	f.makeEligible(busy, roleHelpdesk)
	f.advance(31 * 24 * time.Hour)
	for range 3 {
		if _, err := f.activate(busy, roleHelpdesk, time.Hour); err != nil {
			t.Fatal(err)
		}
		f.advance(10 * time.Minute)
		f.mustSubmit(busy, deactivationSub(busy, roleHelpdesk))
		f.advance(time.Hour)
	}
	f.scanAlerts()
	unused := f.alert(domain.AlertAdminsNotUsingRoles)
	if unused.IncidentCount != 1 || !hasIncident(unused, "unused:"+string(idle)+"|"+roleHelpdesk.Key()) {
		t.Fatalf("unused: %v", incidentIDs(unused))
	}
	often := f.alert(domain.AlertActivatedTooOften)
	if often.IncidentCount != 1 || !hasIncident(often, "often:"+string(busy)+"|"+roleHelpdesk.Key()) {
		t.Fatalf("too often: %v", incidentIDs(often))
	}
	// Later: the window has passed, and idle has used the role.
	f.advance(24 * time.Hour)
	if _, err := f.activate(idle, roleHelpdesk, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if a := f.alert(domain.AlertAdminsNotUsingRoles); a.IsActive {
		t.Fatalf("unused after an activation: %v", incidentIDs(a))
	}
	if a := f.alert(domain.AlertActivatedTooOften); a.IsActive {
		t.Fatalf("too often after the window: %v", incidentIDs(a))
	}
}

func TestAlertScanStaleAccounts(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{StaleDays: 60})
	bg1, _ := f.breakGlassPair()
	fresh, old, never := f.newUser(), f.newUser(), f.newUser()
	f.dir.AddSignIn(domain.SignIn{ID: "1", UserID: fresh, Time: f.now.Add(-24 * time.Hour)})
	f.dir.AddSignIn(domain.SignIn{ID: "2", UserID: old, Time: f.now.Add(-61 * 24 * time.Hour)})
	f.makeEligible(fresh, roleHelpdesk)
	f.makeEligible(never, roleHelpdesk)
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, old, roleExchange.RoleDefinitionID, "/"); err != nil { // outside jitpim
		t.Fatal(err)
	}
	f.scanAlerts()
	a := f.alert(domain.AlertStaleSignIn)
	if a.IncidentCount != 2 || !hasIncident(a, "stale:"+string(old)) || !hasIncident(a, "stale:"+string(never)) || hasIncident(a, "stale:"+string(bg1)) {
		t.Fatalf("stale: %v", incidentIDs(a))
	}
	if a.Severity != domain.SeverityMedium {
		t.Fatalf("severity %s", a.Severity)
	}
}

func TestAlertScanNoMFA(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	f.scanAlerts()
	if a := f.alert(domain.AlertNoMFAOnActivation); a.IsActive {
		t.Fatalf("the defaults require MFA: %v", incidentIDs(a))
	}
	f.setPolicy(domain.PolicyID(roleHelpdesk), func(p *domain.Policy) { p.Activation.RequireMFA = false })
	group := domain.GroupTarget(f.newID(), domain.AccessMember)
	f.setPolicy(domain.PolicyID(group), func(p *domain.Policy) { p.Activation.RequireMFA = false })
	f.makeEligible(f.newUser(), group)
	exchangeAuthContext := func(p *domain.Policy) { p.Activation.RequireMFA, p.Activation.AuthContext = false, "c1" }
	f.setPolicy(domain.PolicyID(roleExchange), exchangeAuthContext)
	f.makeEligible(f.newUser(), roleExchange)
	f.scanAlerts()
	a := f.alert(domain.AlertNoMFAOnActivation)
	if a.IncidentCount != 2 || !hasIncident(a, "nomfa:"+roleHelpdesk.Key()) || !hasIncident(a, "nomfa:"+group.Key()) {
		t.Fatalf("no-MFA incidents (an authentication context counts as step-up): %v", incidentIDs(a))
	}
}

func TestAlertScanKeepsIncidentsWhenReadsFail(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	sam := f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	f.dir.Fail = func(op string) error {
		if op == "ListRoleAssignmentsByRole" {
			return domain.Errorf(domain.CodeTransient, "throttled")
		}
		return nil
	}
	res, err := f.eng.ScanAlerts(f.ctx, f.system())
	wantCode(t, err, domain.CodeTransient)
	if res.Errors == 0 {
		t.Fatalf("scan: %+v", res)
	}
	if a := f.alert(domain.AlertRolesOutsidePIM); !a.IsActive || a.IncidentCount != 1 {
		t.Fatalf("a failed read resolved the alert: %+v", a)
	}
}

func TestAlertScanDismissAndConcurrency(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	sam := f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.eng.ScanAlerts(context.Background(), f.system()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	id := "outside:" + string(sam) + "|" + roleExchange.Key()
	if f.raised(id) != 1 || len(f.mails("Roles are being assigned outside")) != 1 {
		t.Fatalf("concurrent scans: %d audits, %d mails", f.raised(id), len(f.mails("Roles are being assigned outside")))
	}
	if err := f.eng.DismissAlert(f.ctx, f.call(f.admin), domain.AlertRolesOutsidePIM); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if f.alert(domain.AlertRolesOutsidePIM).IsActive {
		t.Fatal("a rescan re-opened a dismissed alert with no new incident")
	}
	other := f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, other, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if a := f.alert(domain.AlertRolesOutsidePIM); !a.IsActive || a.IncidentCount != 2 || a.DismissedBy != "" {
		t.Fatalf("a new incident did not re-open the alert: %+v", a)
	}
}

func TestAlertAPIForAdminsOnly(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	user := f.newUser()
	_, err := f.eng.ListAlerts(f.ctx, f.call(user))
	wantCode(t, err, domain.CodeForbidden)
	wantCode(t, f.eng.RefreshAlert(f.ctx, f.call(user), ""), domain.CodeForbidden)
	list, err := f.eng.ListAlerts(f.ctx, f.call(f.admin))
	if err != nil || len(list) != len(engine.AlertDefinitions) {
		t.Fatalf("list: %d alerts, %v", len(list), err)
	}
	for _, a := range list {
		if a.IsActive || !a.LastScanned.IsZero() {
			t.Fatalf("never scanned, yet %+v", a)
		}
	}
	_, err = f.eng.GetAlert(f.ctx, f.call(f.admin), "NoSuchAlert")
	wantCode(t, err, domain.CodeNotFound)
	if err := f.eng.RefreshAlert(f.ctx, f.call(f.admin), domain.AlertStaleSignIn); err != nil {
		t.Fatal(err)
	}
	if r := f.audits("alert.refresh"); len(r) != 1 || r[0].Details["check"] != "alertScan" || r[0].ActorID != f.admin {
		t.Fatal("refresh of a scan alert should run the scan only, audited as a refresh")
	}
}

func TestRaiseAlert(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	u := f.newUser()
	inc := domain.AlertIncident{ID: "revoke:" + string(u), PrincipalID: u, Target: roleGA, Description: "revoke keeps failing",
		Details: map[string]string{"attempts": "5"}}
	for range 2 {
		if err := f.eng.RaiseAlert(f.ctx, f.system(), domain.AlertRevokeFailing, "", []domain.AlertIncident{inc}); err != nil {
			t.Fatal(err)
		}
	}
	a := f.alert(domain.AlertRevokeFailing)
	if !a.IsActive || a.IncidentCount != 1 || a.Severity != domain.SeverityHigh {
		t.Fatalf("raised: %+v", a)
	}
	if len(f.mails("Revoking access keeps failing")) != 1 || f.raised(inc.ID) != 1 {
		t.Fatal("raising twice repeated the mail or the audit record")
	}
	other := inc
	other.ID = "revoke:other"
	if err := f.eng.RaiseAlert(f.ctx, f.system(), domain.AlertRevokeFailing, "", []domain.AlertIncident{other}); err != nil {
		t.Fatal(err)
	}
	if a := f.alert(domain.AlertRevokeFailing); a.IncidentCount != 2 {
		t.Fatalf("raise does not merge: %v", incidentIDs(a))
	}
	wantCode(t, f.eng.RaiseAlert(f.ctx, f.system(), "Nope", "", nil), domain.CodeInvalid)
	wantCode(t, f.eng.RaiseAlert(f.ctx, f.system(), domain.AlertRevokeFailing, "critical", nil), domain.CodeInvalid)
	// Incidents are bounded in size.
	big := domain.AlertIncident{ID: "big", Description: strings.Repeat("x", 5000)}
	if err := f.eng.RaiseAlert(f.ctx, f.system(), domain.AlertRevokeFailing, "", []domain.AlertIncident{big}); err != nil {
		t.Fatal(err)
	}
	for _, inc := range f.alert(domain.AlertRevokeFailing).Incidents {
		if len(inc.Description) > 400 {
			t.Fatalf("an incident description of %d bytes was stored", len(inc.Description))
		}
	}
}

func TestAlertSettingsValidate(t *testing.T) {
	for _, bad := range []engine.AlertSettings{{GlobalAdminCount: 1}, {GlobalAdminCount: 101}, {GlobalAdminPercent: 101},
		{UnusedDays: 366}, {StaleDays: -1}, {ActivationCount: 1}, {ActivationWindow: time.Minute}, {BreakGlassLookback: 31 * 24 * time.Hour}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (engine.AlertSettings{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func sumCalls(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// BenchmarkAlertScan measures one daily scan on memstore and fakedir over
// 200 eligible users (each with one activation in their history), 50
// assignments made outside jitpim and two break-glass accounts, and reports
// the directory and store calls one scan makes.
func BenchmarkAlertScan(b *testing.B) {
	f := newAlertFixture(b, engine.AlertSettings{})
	f.breakGlassPair()
	for i := 0; i < 200; i++ {
		u := f.newUser()
		f.dir.AddSignIn(domain.SignIn{ID: string(u), UserID: u, Time: f.now})
		f.makeEligible(u, roleHelpdesk)
		if _, err := f.activate(u, roleHelpdesk, time.Hour); err != nil {
			b.Fatal(err)
		}
		f.mustSubmit(u, deactivationSub(u, roleHelpdesk))
	}
	for i := 0; i < 50; i++ {
		if _, _, err := f.dir.AddRoleAssignment(f.ctx, f.newUser(), roleExchange.RoleDefinitionID, "/"); err != nil {
			b.Fatal(err)
		}
	}
	f.scanAlerts()
	dir0, store0 := sumCalls(f.dir.Calls()), sumCalls(f.store.Calls())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.scanAlerts()
	}
	b.StopTimer()
	b.ReportMetric(float64(sumCalls(f.dir.Calls())-dir0)/float64(b.N), "dir-calls/op")
	b.ReportMetric(float64(sumCalls(f.store.Calls())-store0)/float64(b.N), "store-calls/op")
}

// BenchmarkBreakGlassCheck measures one 5-minute check of two accounts with
// no new sign-in, and reports its directory calls.
func BenchmarkBreakGlassCheck(b *testing.B) {
	f := newAlertFixture(b, engine.AlertSettings{})
	f.breakGlassPair()
	f.checkBreakGlass()
	dir0 := sumCalls(f.dir.Calls())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.checkBreakGlass()
	}
	b.StopTimer()
	b.ReportMetric(float64(sumCalls(f.dir.Calls())-dir0)/float64(b.N), "dir-calls/op")
}

// TestRepeatedRevokeFailureRaisesAlert: access that should be gone but whose
// removal keeps failing becomes a high-severity alert after
// RevokeAlertAfter attempts, not before; a later success leaves the alert
// for people to dismiss.
func TestRepeatedRevokeFailureRaisesAlert(t *testing.T) {
	f := newAlertFixture(t, engine.AlertSettings{})
	alice := f.newUser()
	f.makeEligible(alice, roleOther)
	if _, err := f.activate(alice, roleOther, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.dir.Fail = func(op string) error {
		if op == "RemoveRoleAssignment" {
			return domain.Errorf(domain.CodeTransient, "503 from Graph")
		}
		return nil
	}
	f.advance(61 * time.Minute)
	alertOf := func() (domain.Alert, bool) {
		a, err := f.store.GetAlert(f.ctx, domain.AlertRevokeFailing)
		return a, err == nil && a.IsActive
	}
	for i := 1; i < engine.RevokeAlertAfter; i++ {
		f.sweep()
		if _, active := alertOf(); active {
			t.Fatalf("alert after %d failures", i)
		}
		f.advance(2 * time.Hour) // past any backoff
	}
	f.sweep()
	a, active := alertOf()
	if !active || a.Severity != domain.SeverityHigh || a.IncidentCount != 1 || a.Incidents[0].PrincipalID != alice {
		t.Fatalf("alert %+v active=%v", a, active)
	}
	if !f.hasRole(alice, roleOther) {
		t.Fatal("the fake directory lost the role although every revoke failed")
	}
	f.dir.Fail = nil
	f.advance(2 * time.Hour)
	f.sweep()
	if f.hasRole(alice, roleOther) {
		t.Fatal("revoke not finished after the directory recovered")
	}
}
