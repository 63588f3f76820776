package alert_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/memstore"
)

var (
	roleExchange = domain.RoleTarget("29232cdf-9323-42fd-ade2-1d097af3e4de", domain.TenantScope) // not marked privileged
	roleHelpdesk = domain.RoleTarget("729827e3-9c14-49f7-bb1b-9608f156bbb8", domain.TenantScope) // privileged
)

const securityMail = "security@contoso.example"

// fixture is the engine suite's fixture on a memory store with the alert
// service wired to the fake directory, and admins mailed at securityMail.
type fixture struct {
	*enginetest.Fixture
	store    *memstore.Store
	settings alert.Settings
	svc      *alert.Service
}

func newAlertFixture(t testing.TB, settings alert.Settings) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), settings: settings}
	f.Fixture = enginetest.NewFixture(t, f.store, func(s *enginetest.Setup) { s.Config.AdminRecipients = []string{securityMail} })
	f.restart()
	return f
}

// restart builds the services again on the same store and directory, with
// Cfg and settings as the test left them: nothing survives but what is
// stored.
func (f *fixture) restart() {
	f.Restart()
	f.svc = alert.New(alert.Deps{Engine: f.Eng, Alarms: f.Alarms, Store: f.Store, Directory: f.Dir, Reader: f.Dir, SignIns: f.Dir}, f.settings)
}

// setSettings changes the alert settings, as a restart with new app settings does.
func (f *fixture) setSettings(s alert.Settings) {
	f.T.Helper()
	if err := s.Validate(); err != nil {
		f.T.Fatal(err)
	}
	f.settings = s
	f.restart()
}

// raise raises incidents as the sweep and access reviews do, through the
// engine's alarm.
func (f *fixture) raise(definitionID, severity string, incs []domain.AlertIncident) error {
	return f.Alarms.RaiseAlert(f.Ctx, domain.AlertRaise{Now: f.Now, InvocationID: "raise", ActorID: engine.SystemActor,
		DefinitionID: definitionID, Severity: severity, Incidents: incs})
}

// breakGlassPair configures two healthy emergency accounts: enabled, with
// Global Administrator directly at the tenant scope.
func (f *fixture) breakGlassPair() (bg1, bg2 domain.ObjectID) {
	f.T.Helper()
	bg1, bg2 = f.BreakGlass, f.NewUser()
	f.Cfg.BreakGlass = []domain.ObjectID{bg1, bg2}
	for _, id := range f.Cfg.BreakGlass {
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, id, domain.RoleGlobalAdministrator, "/"); err != nil {
			f.T.Fatal(err)
		}
	}
	f.restart()
	return bg1, bg2
}

func (f *fixture) checkBreakGlass() alert.BreakGlassResult {
	f.T.Helper()
	res, err := f.svc.CheckBreakGlass(f.Ctx, f.System())
	if err != nil {
		f.T.Fatalf("CheckBreakGlass: %v", err)
	}
	return res
}

func (f *fixture) scanAlerts() alert.ScanResult {
	f.T.Helper()
	res, err := f.svc.ScanAlerts(f.Ctx, f.System())
	if err != nil {
		f.T.Fatalf("ScanAlerts: %v", err)
	}
	return res
}

func (f *fixture) alert(id string) domain.Alert {
	f.T.Helper()
	a, err := f.svc.GetAlert(f.Ctx, f.Call(f.Admin), id)
	if err != nil {
		f.T.Fatalf("GetAlert %s: %v", id, err)
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
	f.T.Helper()
	due, err := f.store.MailDue(f.Ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		f.T.Fatal(err)
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
	for _, r := range f.Audits("alert.raise") {
		if r.Details["incident_id"] == incidentID {
			n++
		}
	}
	return n
}

const bgSubject = "A break-glass account signed in"

func TestBreakGlassSignInAlertsExactlyOnce(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	bg1, _ := f.breakGlassPair()
	if res := f.checkBreakGlass(); res.NewSignIns != 0 || res.Problems != 0 || res.Accounts != 2 {
		t.Fatalf("healthy accounts, no sign-in: %+v", res)
	}
	if a := f.alert(domain.AlertBreakGlassSignIn); a.IsActive || a.LastScanned.IsZero() {
		t.Fatalf("alert before any sign-in: %+v", a)
	}

	f.Advance(5 * time.Minute)
	f.Dir.AddSignIn(domain.SignIn{ID: "si-1", UserID: bg1, Time: f.Now.Add(-2 * time.Minute), App: "Azure Portal", IPAddress: "203.0.113.9", Succeeded: true})
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
	f.Advance(5 * time.Minute)
	if res := f.checkBreakGlass(); res.NewSignIns != 0 || res.SignIns != 1 {
		t.Fatalf("second check: %+v", res)
	}
	// A restart keeps nothing in memory: still nothing repeats.
	f.restart()
	f.Advance(5 * time.Minute)
	f.checkBreakGlass()
	if len(f.mails(bgSubject)) != 1 || f.raised("signin:si-1") != 1 || f.alert(domain.AlertBreakGlassSignIn).IncidentCount != 1 {
		t.Fatal("a later or restarted check reported the sign-in again")
	}
	if len(f.Audits("timer.breakGlassCheck")) != 4 {
		t.Fatalf("%d run summaries, want 4", len(f.Audits("timer.breakGlassCheck")))
	}
	// Hours later, past the re-read window, the sign-in is still on the alert until someone dismisses it.
	f.Advance(6 * time.Hour)
	f.checkBreakGlass()
	f.Advance(5 * time.Minute)
	if res := f.checkBreakGlass(); res.SignIns != 0 {
		t.Fatalf("the window did not move on: %+v", res)
	}
	if a := f.alert(domain.AlertBreakGlassSignIn); !a.IsActive || !hasIncident(a, "signin:si-1") {
		t.Fatalf("the sign-in left the alert undismissed: %+v", a)
	}
	// After 31 days it is gone from the alert (the sign-in log keeps 30).
	f.Advance(31 * 24 * time.Hour)
	f.checkBreakGlass()
	if a := f.alert(domain.AlertBreakGlassSignIn); a.IsActive || a.IncidentCount != 0 {
		t.Fatalf("a 31-day-old sign-in is still listed: %+v", a)
	}
}

func TestBreakGlassNoSignInMissedAcrossDowntime(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	bg1, bg2 := f.breakGlassPair()
	f.checkBreakGlass()
	last := f.Now

	// Down for three hours: the handler restarts with nothing in memory.
	f.Advance(3 * time.Hour)
	f.restart()
	f.Dir.AddSignIn(domain.SignIn{ID: "while-down", UserID: bg2, Time: last.Add(10 * time.Minute), IPAddress: "198.51.100.1"})
	if res := f.checkBreakGlass(); res.NewSignIns != 1 || res.WindowStart.After(last) {
		t.Fatalf("sign-in during the downtime: %+v", res)
	}

	// A sign-in that reaches the log late (its time is before the last check) is still caught.
	checked := f.Now
	f.Advance(5 * time.Minute)
	f.Dir.AddSignIn(domain.SignIn{ID: "late", UserID: bg1, Time: checked.Add(-10 * time.Minute), Succeeded: false})
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
	f := newAlertFixture(t, alert.Settings{})
	bg1, _ := f.breakGlassPair()
	f.checkBreakGlass()
	t0 := f.Now
	f.Advance(3 * time.Hour)
	f.Dir.Fail = func(op string) error {
		if op == "SignInsSince" {
			return domain.Errorf(domain.CodeTransient, "graph is down")
		}
		return nil
	}
	f.Dir.AddSignIn(domain.SignIn{ID: "during-outage", UserID: bg1, Time: t0.Add(50 * time.Minute)})
	res, err := f.svc.CheckBreakGlass(f.Ctx, f.System())
	enginetest.WantCode(t, err, domain.CodeTransient)
	if res.Errors == 0 || res.NewSignIns != 0 {
		t.Fatalf("failed check: %+v", res)
	}
	if a := f.alert(domain.AlertBreakGlassSignIn); !a.LastScanned.Equal(t0) {
		t.Fatalf("the watermark moved to %s although the log was not read", a.LastScanned)
	}
	f.Dir.Fail = nil
	f.Advance(5 * time.Minute)
	// Had the failed run moved the watermark, this check would start after the sign-in.
	if res := f.checkBreakGlass(); res.NewSignIns != 1 {
		t.Fatalf("the sign-in during the outage was missed: %+v", res)
	}
}

func TestBreakGlassDuplicatedRunsMailOnce(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	bg1, _ := f.breakGlassPair()
	f.checkBreakGlass()
	f.Advance(5 * time.Minute)
	f.Dir.AddSignIn(domain.SignIn{ID: "dup", UserID: bg1, Time: f.Now.Add(-time.Minute)})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.CheckBreakGlass(f.Ctx, f.System()); err != nil {
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
		f := newAlertFixture(t, alert.Settings{})
		_, bg2 := f.breakGlassPair()
		var raID string
		ras, _ := f.Dir.ListRoleAssignments(f.Ctx, bg2)
		raID = ras[0].ID
		if err := f.Dir.RemoveRoleAssignment(f.Ctx, raID); err != nil {
			t.Fatal(err)
		}
		// A Global Administrator held through jitpim or a group does not count: only a direct, permanent one.
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, bg2, domain.RoleGlobalAdministrator, "/administrativeUnits/x"); err != nil {
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
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, bg2, domain.RoleGlobalAdministrator, "/"); err != nil {
			t.Fatal(err)
		}
		f.Advance(5 * time.Minute)
		f.checkBreakGlass()
		if a := f.alert(domain.AlertBreakGlassMisconfig); a.IsActive || a.IncidentCount != 0 {
			t.Fatalf("alert after the fix: %+v", a)
		}
		if len(f.Audits("alert.resolve")) != 1 {
			t.Fatal("the resolution was not audited")
		}
	})
	t.Run("FewerThanTwo", func(t *testing.T) {
		f := newAlertFixture(t, alert.Settings{})
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, f.BreakGlass, domain.RoleGlobalAdministrator, "/"); err != nil {
			t.Fatal(err)
		}
		f.checkBreakGlass()
		if a := f.alert(domain.AlertBreakGlassMisconfig); !a.IsActive || incidentIDs(a)[0] != "breakglass:count" || a.IncidentCount != 1 {
			t.Fatalf("one account: %+v", a)
		}
	})
	t.Run("DisabledMissingUntested", func(t *testing.T) {
		f := newAlertFixture(t, alert.Settings{})
		bg1, bg2 := f.breakGlassPair()
		ghost := f.NewID()
		f.Cfg.BreakGlass = append(f.Cfg.BreakGlass, ghost)
		f.restart()
		f.Dir.SetEnabled(bg1, false)
		f.Dir.AddSignIn(domain.SignIn{ID: "old-test", UserID: bg2, Time: f.Now.Add(-100 * 24 * time.Hour), Succeeded: true})
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
		if f.Dir.HasRole(bg1, domain.RoleGlobalAdministrator, "/") == false {
			t.Fatal("the disabled account lost its role")
		}
	})
	t.Run("UnreadableAccountKeepsItsIncidents", func(t *testing.T) {
		f := newAlertFixture(t, alert.Settings{})
		bg1, _ := f.breakGlassPair()
		f.Dir.SetEnabled(bg1, false)
		f.checkBreakGlass()
		f.Dir.Fail = func(op string) error {
			if op == "GetUser" {
				return domain.Errorf(domain.CodeTransient, "throttled")
			}
			return nil
		}
		f.Advance(5 * time.Minute)
		if _, err := f.svc.CheckBreakGlass(f.Ctx, f.System()); err == nil {
			t.Fatal("a failed read was not reported")
		}
		if a := f.alert(domain.AlertBreakGlassMisconfig); !hasIncident(a, "breakglass:"+string(bg1)+":disabled") || !a.IsActive {
			t.Fatalf("an unreadable account's problem was resolved: %v", incidentIDs(a))
		}
		if len(f.Audits("alert.resolve")) != 0 {
			t.Fatal("resolved on a failed read")
		}
	})
}

func TestBreakGlassDismissStaysUntilNewSignIn(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	bg1, _ := f.breakGlassPair()
	f.Dir.AddSignIn(domain.SignIn{ID: "a", UserID: bg1, Time: f.Now.Add(-time.Minute)})
	f.checkBreakGlass()
	if err := f.svc.DismissAlert(f.Ctx, f.Call(f.Admin), domain.AlertBreakGlassSignIn); err != nil {
		t.Fatal(err)
	}
	a := f.alert(domain.AlertBreakGlassSignIn)
	if a.IsActive || a.DismissedBy != f.Admin || a.IncidentCount != 1 {
		t.Fatalf("dismissed: %+v", a)
	}
	f.Advance(5 * time.Minute)
	f.checkBreakGlass()
	if f.alert(domain.AlertBreakGlassSignIn).IsActive {
		t.Fatal("a rescan without a new sign-in re-opened the dismissed alert")
	}
	f.Dir.AddSignIn(domain.SignIn{ID: "b", UserID: bg1, Time: f.Now.Add(-time.Minute)})
	f.Advance(5 * time.Minute)
	f.checkBreakGlass()
	if a := f.alert(domain.AlertBreakGlassSignIn); !a.IsActive || !a.DismissedAt.IsZero() || a.IncidentCount != 2 {
		t.Fatalf("a new sign-in did not re-open the alert: %+v", a)
	}
	if len(f.Audits("alert.dismiss")) != 1 {
		t.Fatal("the dismissal was not audited")
	}
	// Only admins dismiss.
	enginetest.WantCode(t, f.svc.DismissAlert(f.Ctx, f.Call(f.NewUser()), domain.AlertBreakGlassSignIn), domain.CodeForbidden)
}

func TestAlertScanRolesOutsideJitpim(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	bg1, _ := f.breakGlassPair()
	sam := f.NewUser()
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	// An activation through jitpim is not "outside".
	alice := f.NewUser()
	f.Dir.AddSignIn(domain.SignIn{ID: "x", UserID: alice, Time: f.Now})
	f.MakeEligible(alice, enginetest.RoleGA)
	if _, err := f.Activate(alice, enginetest.RoleGA, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A group holding a role: reported unless jitpim manages its membership.
	unmanaged, managed := f.NewID(), f.NewID()
	for _, g := range []domain.ObjectID{unmanaged, managed} {
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, g, roleHelpdesk.RoleDefinitionID, "/"); err != nil {
			t.Fatal(err)
		}
	}
	f.MakeEligible(alice, domain.GroupTarget(managed, domain.AccessMember))

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
	if !f.Dir.HasRole(sam, roleExchange.RoleDefinitionID, "/") {
		t.Fatal("the outside assignment was removed without JITPIM_ALERT_REMOVE_OUTSIDE")
	}
	const subject = "Roles are being assigned outside of jitpim"
	if len(f.mails(subject)) != 1 {
		t.Fatal("high-severity alert not mailed")
	}
	// A rescan finds the same: no new mail, no new audit record.
	f.Advance(24 * time.Hour)
	if res := f.scanAlerts(); res.NewIncidents != 0 {
		t.Fatalf("rescan: %+v", res)
	}
	if len(f.mails(subject)) != 1 || f.raised(want[0]) != 1 {
		t.Fatal("a rescan repeated the alert")
	}
	if len(f.Audits("timer.alertScan")) != 2 {
		t.Fatal("run summaries missing")
	}
	// The assignment goes away: the alert keeps only what is still there.
	ras, _ := f.Dir.ListRoleAssignments(f.Ctx, sam)
	_ = f.Dir.RemoveRoleAssignment(f.Ctx, ras[0].ID)
	f.scanAlerts()
	if a := f.alert(domain.AlertRolesOutsidePIM); a.IncidentCount != 1 || hasIncident(a, want[0]) {
		t.Fatalf("after removal: %v", incidentIDs(a))
	}
}

func TestAlertScanRemovesOutsideAssignmentsWhenConfigured(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{RemoveOutside: true})
	bg1, _ := f.breakGlassPair()
	sam, group := f.NewUser(), f.NewID()
	for _, p := range []domain.ObjectID{sam, group} {
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, p, roleExchange.RoleDefinitionID, "/"); err != nil {
			t.Fatal(err)
		}
	}
	res := f.scanAlerts()
	if res.Removed != 1 || f.Dir.HasRole(sam, roleExchange.RoleDefinitionID, "/") {
		t.Fatalf("the user's outside assignment was not removed: %+v", res)
	}
	if !f.Dir.HasRole(group, roleExchange.RoleDefinitionID, "/") || !f.Dir.HasRole(bg1, domain.RoleGlobalAdministrator, "/") {
		t.Fatal("removed a group's assignment or a break-glass account's role")
	}
	if len(f.AuditsFor("alert.remediate", sam)) != 1 || len(f.AuditsFor("grant.remove", sam)) != 1 {
		t.Fatal("the removal did not go through the revoke path with its audit records")
	}
	if g, ok := f.Grant(sam, roleExchange); !ok || g.Applied || !g.Settled() {
		t.Fatalf("grant after removal: %+v", g)
	}
	// Still reported: the alert says what was found.
	if !hasIncident(f.alert(domain.AlertRolesOutsidePIM), "outside:"+string(sam)+"|"+roleExchange.Key()) {
		t.Fatal("the removed assignment was not reported")
	}
}

func TestAlertScanRemovalFailureGoesToTheSweep(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{RemoveOutside: true})
	sam := f.NewUser()
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	f.Dir.Fail = func(op string) error {
		if op == "RemoveRoleAssignment" {
			return errors.New("403 insufficient privileges")
		}
		return nil
	}
	if _, err := f.svc.ScanAlerts(f.Ctx, f.System()); err == nil {
		t.Fatal("a failed removal was not reported")
	}
	if g, ok := f.Grant(sam, roleExchange); !ok || g.Settled() || g.FailedAttempts != 1 {
		t.Fatalf("the failed removal is not left for the sweep: %+v", g)
	}
	f.Dir.Fail = nil
	f.Advance(2 * time.Minute)
	f.Sweep()
	if f.Dir.HasRole(sam, roleExchange.RoleDefinitionID, "/") {
		t.Fatal("the sweep did not finish the removal")
	}
}

func TestAlertScanTooManyGlobalAdmins(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{GlobalAdminCount: 3, GlobalAdminPercent: 20})
	bg1, bg2 := f.breakGlassPair()
	direct, m1, m2, activator := f.NewUser(), f.NewUser(), f.NewUser(), f.NewUser()
	group := f.NewID()
	f.Dir.AddMember(group, m1)
	f.Dir.AddMember(group, m2)
	for _, p := range []domain.ObjectID{direct, group} {
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, p, domain.RoleGlobalAdministrator, "/"); err != nil {
			t.Fatal(err)
		}
	}
	f.MakeEligible(activator, enginetest.RoleGA)
	if _, err := f.Activate(activator, enginetest.RoleGA, time.Hour); err != nil {
		t.Fatal(err)
	}
	res := f.scanAlerts()
	// bg1, bg2, direct, m1, m2 and the activation: 6 of 8 users (admin and f.BreakGlass's neighbours included).
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
	f.setSettings(alert.Settings{GlobalAdminCount: 10})
	f.scanAlerts()
	if a := f.alert(domain.AlertTooManyGlobalAdmins); a.IsActive || a.IncidentCount != 0 {
		t.Fatalf("below the count limit: %+v", a)
	}
	// Both limits must be passed: many admins in a large tenant is fine.
	f.setSettings(alert.Settings{GlobalAdminCount: 2, GlobalAdminPercent: 90})
	f.scanAlerts()
	if f.alert(domain.AlertTooManyGlobalAdmins).IsActive {
		t.Fatal("fired below the percentage limit")
	}
}

func TestAlertScanEligibilities(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{UnusedDays: 30, ActivationCount: 3, ActivationWindow: 12 * time.Hour})
	idle, busy := f.NewUser(), f.NewUser()
	f.MakeEligible(idle, roleHelpdesk)
	f.MakeEligible(busy, roleHelpdesk)
	f.Advance(31 * 24 * time.Hour)
	for range 3 {
		if _, err := f.Activate(busy, roleHelpdesk, time.Hour); err != nil {
			t.Fatal(err)
		}
		f.Advance(10 * time.Minute)
		f.MustSubmit(busy, enginetest.DeactivationSub(busy, roleHelpdesk))
		f.Advance(time.Hour)
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
	f.Advance(24 * time.Hour)
	if _, err := f.Activate(idle, roleHelpdesk, time.Hour); err != nil {
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
	f := newAlertFixture(t, alert.Settings{StaleDays: 60})
	bg1, _ := f.breakGlassPair()
	fresh, old, never := f.NewUser(), f.NewUser(), f.NewUser()
	f.Dir.AddSignIn(domain.SignIn{ID: "1", UserID: fresh, Time: f.Now.Add(-24 * time.Hour)})
	f.Dir.AddSignIn(domain.SignIn{ID: "2", UserID: old, Time: f.Now.Add(-61 * 24 * time.Hour)})
	f.MakeEligible(fresh, roleHelpdesk)
	f.MakeEligible(never, roleHelpdesk)
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, old, roleExchange.RoleDefinitionID, "/"); err != nil { // outside jitpim
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
	f := newAlertFixture(t, alert.Settings{})
	f.scanAlerts()
	if a := f.alert(domain.AlertNoMFAOnActivation); a.IsActive {
		t.Fatalf("the defaults require MFA: %v", incidentIDs(a))
	}
	f.SetPolicy(domain.PolicyID(roleHelpdesk), func(p *domain.Policy) { p.Activation.RequireMFA = false })
	group := domain.GroupTarget(f.NewID(), domain.AccessMember)
	f.SetPolicy(domain.PolicyID(group), func(p *domain.Policy) { p.Activation.RequireMFA = false })
	f.MakeEligible(f.NewUser(), group)
	exchangeAuthContext := func(p *domain.Policy) { p.Activation.RequireMFA, p.Activation.AuthContext = false, "c1" }
	f.SetPolicy(domain.PolicyID(roleExchange), exchangeAuthContext)
	f.MakeEligible(f.NewUser(), roleExchange)
	f.scanAlerts()
	a := f.alert(domain.AlertNoMFAOnActivation)
	if a.IncidentCount != 2 || !hasIncident(a, "nomfa:"+roleHelpdesk.Key()) || !hasIncident(a, "nomfa:"+group.Key()) {
		t.Fatalf("no-MFA incidents (an authentication context counts as step-up): %v", incidentIDs(a))
	}
}

func TestAlertScanKeepsIncidentsWhenReadsFail(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	sam := f.NewUser()
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	f.Dir.Fail = func(op string) error {
		if op == "ListRoleAssignmentsByRole" {
			return domain.Errorf(domain.CodeTransient, "throttled")
		}
		return nil
	}
	res, err := f.svc.ScanAlerts(f.Ctx, f.System())
	enginetest.WantCode(t, err, domain.CodeTransient)
	if res.Errors == 0 {
		t.Fatalf("scan: %+v", res)
	}
	if a := f.alert(domain.AlertRolesOutsidePIM); !a.IsActive || a.IncidentCount != 1 {
		t.Fatalf("a failed read resolved the alert: %+v", a)
	}
}

func TestAlertScanDismissAndConcurrency(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	sam := f.NewUser()
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, sam, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.ScanAlerts(context.Background(), f.System()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	id := "outside:" + string(sam) + "|" + roleExchange.Key()
	if f.raised(id) != 1 || len(f.mails("Roles are being assigned outside")) != 1 {
		t.Fatalf("concurrent scans: %d audits, %d mails", f.raised(id), len(f.mails("Roles are being assigned outside")))
	}
	if err := f.svc.DismissAlert(f.Ctx, f.Call(f.Admin), domain.AlertRolesOutsidePIM); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if f.alert(domain.AlertRolesOutsidePIM).IsActive {
		t.Fatal("a rescan re-opened a dismissed alert with no new incident")
	}
	other := f.NewUser()
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, other, roleExchange.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	f.scanAlerts()
	if a := f.alert(domain.AlertRolesOutsidePIM); !a.IsActive || a.IncidentCount != 2 || a.DismissedBy != "" {
		t.Fatalf("a new incident did not re-open the alert: %+v", a)
	}
}

func TestAlertAPIForAdminsOnly(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	user := f.NewUser()
	_, err := f.svc.ListAlerts(f.Ctx, f.Call(user))
	enginetest.WantCode(t, err, domain.CodeForbidden)
	enginetest.WantCode(t, f.svc.RefreshAlert(f.Ctx, f.Call(user), ""), domain.CodeForbidden)
	list, err := f.svc.ListAlerts(f.Ctx, f.Call(f.Admin))
	if err != nil || len(list) != len(alert.Definitions) {
		t.Fatalf("list: %d alerts, %v", len(list), err)
	}
	for _, a := range list {
		if a.IsActive || !a.LastScanned.IsZero() {
			t.Fatalf("never scanned, yet %+v", a)
		}
	}
	_, err = f.svc.GetAlert(f.Ctx, f.Call(f.Admin), "NoSuchAlert")
	enginetest.WantCode(t, err, domain.CodeNotFound)
	if err := f.svc.RefreshAlert(f.Ctx, f.Call(f.Admin), domain.AlertStaleSignIn); err != nil {
		t.Fatal(err)
	}
	if r := f.Audits("alert.refresh"); len(r) != 1 || r[0].Details["check"] != "alertScan" || r[0].ActorID != f.Admin {
		t.Fatal("refresh of a scan alert should run the scan only, audited as a refresh")
	}
}

func TestRaiseAlert(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	u := f.NewUser()
	inc := domain.AlertIncident{ID: "revoke:" + string(u), PrincipalID: u, Target: enginetest.RoleGA, Description: "revoke keeps failing",
		Details: map[string]string{"attempts": "5"}}
	for range 2 {
		if err := f.raise(domain.AlertRevokeFailing, "", []domain.AlertIncident{inc}); err != nil {
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
	if err := f.raise(domain.AlertRevokeFailing, "", []domain.AlertIncident{other}); err != nil {
		t.Fatal(err)
	}
	if a := f.alert(domain.AlertRevokeFailing); a.IncidentCount != 2 {
		t.Fatalf("raise does not merge: %v", incidentIDs(a))
	}
	enginetest.WantCode(t, f.raise("Nope", "", nil), domain.CodeInvalid)
	enginetest.WantCode(t, f.raise(domain.AlertRevokeFailing, "critical", nil), domain.CodeInvalid)
	// Incidents are bounded in size.
	big := domain.AlertIncident{ID: "big", Description: strings.Repeat("x", 5000)}
	if err := f.raise(domain.AlertRevokeFailing, "", []domain.AlertIncident{big}); err != nil {
		t.Fatal(err)
	}
	for _, inc := range f.alert(domain.AlertRevokeFailing).Incidents {
		if len(inc.Description) > 400 {
			t.Fatalf("an incident description of %d bytes was stored", len(inc.Description))
		}
	}
}

func TestAlertSettingsValidate(t *testing.T) {
	for _, bad := range []alert.Settings{{GlobalAdminCount: 1}, {GlobalAdminCount: 101}, {GlobalAdminPercent: 101},
		{UnusedDays: 366}, {StaleDays: -1}, {ActivationCount: 1}, {ActivationWindow: time.Minute}, {BreakGlassLookback: 31 * 24 * time.Hour}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (alert.Settings{}).Validate(); err != nil {
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
	f := newAlertFixture(b, alert.Settings{})
	f.breakGlassPair()
	for i := 0; i < 200; i++ {
		u := f.NewUser()
		f.Dir.AddSignIn(domain.SignIn{ID: string(u), UserID: u, Time: f.Now})
		f.MakeEligible(u, roleHelpdesk)
		if _, err := f.Activate(u, roleHelpdesk, time.Hour); err != nil {
			b.Fatal(err)
		}
		f.MustSubmit(u, enginetest.DeactivationSub(u, roleHelpdesk))
	}
	for i := 0; i < 50; i++ {
		if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, f.NewUser(), roleExchange.RoleDefinitionID, "/"); err != nil {
			b.Fatal(err)
		}
	}
	f.scanAlerts()
	dir0, store0 := sumCalls(f.Dir.Calls()), sumCalls(f.store.Calls())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.scanAlerts()
	}
	b.StopTimer()
	b.ReportMetric(float64(sumCalls(f.Dir.Calls())-dir0)/float64(b.N), "dir-calls/op")
	b.ReportMetric(float64(sumCalls(f.store.Calls())-store0)/float64(b.N), "store-calls/op")
}

// BenchmarkBreakGlassCheck measures one 5-minute check of two accounts with
// no new sign-in, and reports its directory calls.
func BenchmarkBreakGlassCheck(b *testing.B) {
	f := newAlertFixture(b, alert.Settings{})
	f.breakGlassPair()
	f.checkBreakGlass()
	dir0 := sumCalls(f.Dir.Calls())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.checkBreakGlass()
	}
	b.StopTimer()
	b.ReportMetric(float64(sumCalls(f.Dir.Calls())-dir0)/float64(b.N), "dir-calls/op")
}

// TestRepeatedRevokeFailureRaisesAlert: access that should be gone but whose
// removal keeps failing becomes a high-severity alert after
// RevokeAlertAfter attempts, not before; a later success leaves the alert
// for people to dismiss.
func TestRepeatedRevokeFailureRaisesAlert(t *testing.T) {
	f := newAlertFixture(t, alert.Settings{})
	alice := f.NewUser()
	f.MakeEligible(alice, enginetest.RoleOther)
	if _, err := f.Activate(alice, enginetest.RoleOther, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.Dir.Fail = func(op string) error {
		if op == "RemoveRoleAssignment" {
			return domain.Errorf(domain.CodeTransient, "503 from Graph")
		}
		return nil
	}
	f.Advance(61 * time.Minute)
	alertOf := func() (domain.Alert, bool) {
		a, err := f.store.GetAlert(f.Ctx, domain.AlertRevokeFailing)
		return a, err == nil && a.IsActive
	}
	for i := 1; i < engine.RevokeAlertAfter; i++ {
		f.Sweep()
		if _, active := alertOf(); active {
			t.Fatalf("alert after %d failures", i)
		}
		f.Advance(2 * time.Hour) // past any backoff
	}
	f.Sweep()
	a, active := alertOf()
	if !active || a.Severity != domain.SeverityHigh || a.IncidentCount != 1 || a.Incidents[0].PrincipalID != alice {
		t.Fatalf("alert %+v active=%v", a, active)
	}
	if !f.HasRole(alice, enginetest.RoleOther) {
		t.Fatal("the fake directory lost the role although every revoke failed")
	}
	f.Dir.Fail = nil
	f.Advance(2 * time.Hour)
	f.Sweep()
	if f.HasRole(alice, enginetest.RoleOther) {
		t.Fatal("revoke not finished after the directory recovered")
	}
}
