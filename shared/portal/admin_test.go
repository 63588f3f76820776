package portal_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/portal"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/weblogin"
)

const site = "http://127.0.0.1:7071"

// adminFix is the portal over the engine fixture on memstore, signed in
// through the dev issuer as a browser is.
type adminFix struct {
	t   *testing.T
	f   *enginetest.Fixture
	web *weblogin.Web
	p   *portal.Portal
	rev *review.Service
}

func newAdminFix(t *testing.T) *adminFix {
	t.Helper()
	store := memstore.New()
	f := enginetest.NewFixture(t, store)
	iss := httptest.NewServer(nil)
	t.Cleanup(iss.Close)
	di, err := devissuer.New(iss.URL)
	if err != nil {
		t.Fatal(err)
	}
	iss.Config.Handler = di.Handler()
	web, err := weblogin.New(context.Background(), weblogin.Config{Issuer: iss.URL, ClientID: "jitpim-web",
		RedirectURL: site + "/api/approvals/callback", CookieKeys: [][]byte{[]byte(strings.Repeat("k", 32))}})
	if err != nil {
		t.Fatal(err)
	}
	reviews := review.New(review.Deps{Engine: f.Eng, Reviews: store, Store: f.Store, Directory: f.Dir, Reader: f.Dir, SignIns: f.Dir, Alarm: f.Alarms})
	alerts := alert.New(alert.Deps{Engine: f.Eng, Alarms: f.Alarms, Store: f.Store, Directory: f.Dir, Reader: f.Dir, SignIns: f.Dir}, alert.DefaultSettings())
	p := portal.New(web, f.Eng, reviews, nil, time.Now, slog.New(slog.DiscardHandler),
		portal.Admin{Policies: f.Policies, Reviews: reviews, Alerts: alerts})
	return &adminFix{t: t, f: f, web: web, p: p, rev: reviews}
}

// signIn signs user in through the dev issuer and returns the session cookie.
func (a *adminFix) signIn(user domain.ObjectID, mfa bool) *http.Cookie {
	t := a.t
	t.Helper()
	rec := httptest.NewRecorder()
	a.web.StartLogin(rec, httptest.NewRequest("GET", site+"/api/approvals/login", nil), "/portal/", domain.StepUp{MFA: mfa})
	res := rec.Result()
	u, _ := url.Parse(res.Header.Get("Location"))
	q := u.Query()
	q.Set("login_hint", string(user))
	q.Set("dev_mfa", map[bool]string{true: "true", false: "false"}[mfa])
	u.RawQuery = q.Encode()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ar, err := noRedirect.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	ar.Body.Close()
	cb := httptest.NewRequest("GET", ar.Header.Get("Location"), nil)
	for _, c := range res.Cookies() {
		cb.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	if _, err := a.web.Callback(rec, cb); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == weblogin.LoopbackSessionCookie {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// get and post answer with the status and the body.
func (a *adminFix) get(c *http.Cookie, path string) (int, string, http.Header) {
	a.t.Helper()
	req := httptest.NewRequest("GET", site+path, nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	a.p.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

func (a *adminFix) post(c *http.Cookie, path string, form url.Values) (int, string) {
	a.t.Helper()
	s, ok := strings.CutPrefix(path, "/portal/")
	if !ok {
		a.t.Fatalf("not a portal path: %s", path)
	}
	sess, err := a.web.Session(func() *http.Request { r := httptest.NewRequest("GET", site+"/", nil); r.AddCookie(c); return r }())
	if err != nil {
		a.t.Fatal(err)
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", a.web.CSRFToken(sess, s))
	}
	req := httptest.NewRequest("POST", site+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", site)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	a.p.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestAdminScreensOnlyForAdmins: a person who is not a jitpim
// administrator sees no Admin link and gets 403 in words on every Admin
// screen and export; an administrator sees the link.
func TestAdminScreensOnlyForAdmins(t *testing.T) {
	a := newAdminFix(t)
	user := a.f.NewUser()
	c := a.signIn(user, true)
	if _, body, _ := a.get(c, "/portal/"); strings.Contains(body, "/portal/admin") {
		t.Errorf("a non-admin's My roles links to Admin:\n%s", body)
	}
	for _, path := range []string{"/portal/admin", "/portal/admin/assignments", "/portal/admin/settings", "/portal/admin/settings/edit?id=Default",
		"/portal/admin/reviews", "/portal/admin/alerts", "/portal/admin/audit", "/portal/admin/audit.csv", "/portal/admin/audit.jsonl", "/portal/admin/audit/verify"} {
		code, body, _ := a.get(c, path)
		if code != http.StatusForbidden || !strings.Contains(body, "needs a jitpim administrator") {
			t.Errorf("GET %s as a non-admin: %d\n%s", path, code, body)
		}
	}
	before := a.f.Snapshot()
	code, body := a.post(c, "/portal/admin/assignments", url.Values{"op": {"add"}, "kind": {"eligibility"}, "principal": {string(user)},
		"target": {enginetest.RoleGA.Key()}, "end": {"permanent"}})
	if code != http.StatusForbidden || !strings.Contains(body, "needs a jitpim administrator") {
		t.Errorf("a non-admin's add: %d\n%s", code, body)
	}
	a.f.AssertNoWrites(t, before)
	if _, body, _ := a.get(a.signIn(a.f.Admin, true), "/portal/"); !strings.Contains(body, `href="/portal/admin/assignments"`) {
		t.Errorf("an admin's My roles has no Admin link:\n%s", body)
	}
}

// TestAdminWritesNeedMFA: an admin signed in without MFA is sent through
// step-up before any form that changes something (the audit screens only
// read and need none); a form posted anyway is refused by the service and
// changes nothing.
func TestAdminWritesNeedMFA(t *testing.T) {
	a := newAdminFix(t)
	c := a.signIn(a.f.Admin, false)
	for _, path := range []string{"/portal/admin/assignments", "/portal/admin/settings", "/portal/admin/reviews", "/portal/admin/alerts"} {
		code, body, h := a.get(c, path)
		stepUp := code == http.StatusSeeOther && strings.Contains(h.Get("Location"), "mfa=1")
		if !stepUp && (code != http.StatusForbidden || !strings.Contains(body, "not strong enough")) {
			t.Errorf("GET %s without MFA: %d %s\n%s", path, code, h.Get("Location"), body)
		}
	}
	if code, body, _ := a.get(c, "/portal/admin/audit"); code != http.StatusOK || !strings.Contains(body, "Hash chain") {
		t.Errorf("audit without MFA: %d\n%s", code, body)
	}
	before := a.f.Snapshot()
	code, body := a.post(c, "/portal/admin/settings/edit", policyForm(domain.PolicyID(enginetest.RoleGA), "PT30M"))
	if code != http.StatusForbidden || !strings.Contains(body, "Nothing was changed") {
		t.Errorf("saving without MFA: %d\n%s", code, body)
	}
	a.f.AssertNoWrites(t, before)
}

// policyForm is the settings form as a browser sends it: activation
// lasting max, MFA, justification and a ticket; no approval.
func policyForm(id, max string) url.Values {
	return url.Values{"id": {id}, "activation": {max}, "auth": {"mfa"}, "justification": {"on"}, "ticket": {"on"},
		"eligibleMax": {"P365D"}, "activeMax": {"P180D"}, "eligiblePermanent": {"on"}}
}

// TestAdminSettingBindsTheNextActivation: an admin shortens the maximum
// activation and requires a ticket through the settings form; the next
// activation is held to both, and the change is audited. Bad input is
// refused naming the field, and changes nothing.
func TestAdminSettingBindsTheNextActivation(t *testing.T) {
	a := newAdminFix(t)
	c := a.signIn(a.f.Admin, true)
	user := a.f.NewUser()
	a.f.SeedEligible(user, enginetest.RoleOther, time.Time{})
	id := domain.PolicyID(enginetest.RoleOther)

	bad := []struct {
		name, field, value, want string
	}{
		{"duration not in the list", "activation", "forever", "activation"},
		{"longer than a day", "activation", "PT25H", "between 30 minutes and 24 hours"},
		{"unknown sign-in rule", "auth", "retina", "auth"},
		{"approver not an id", "approvers", "alice", "approvers"},
		{"approval without approvers", "approval", "on", "name at least one approver"},
		{"not a mail address", "n0extra", "nobody", "n0extra"},
	}
	for _, b := range bad {
		before := a.f.Snapshot()
		form := policyForm(id, "PT1H")
		form.Set(b.field, b.value)
		code, body := a.post(c, "/portal/admin/settings/edit", form)
		if code != http.StatusBadRequest || !strings.Contains(body, b.want) {
			t.Errorf("%s: %d, want 400 naming %q:\n%s", b.name, code, b.want, body)
		}
		a.f.AssertNoWrites(t, before)
	}

	code, body := a.post(c, "/portal/admin/settings/edit", policyForm(id, "PT30M"))
	if code != http.StatusOK || !strings.Contains(body, "Saved. The next activation") {
		t.Fatalf("save: %d\n%s", code, body)
	}
	if _, err := a.f.Activate(user, enginetest.RoleOther, 30*time.Minute); !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), "ticket") {
		t.Errorf("30 minutes without a ticket after the change: %v", err)
	}
	in := enginetest.ActivationSub(user, enginetest.RoleOther, time.Hour)
	in.Ticket = domain.TicketInfo{Number: "INC1", System: "ServiceNow"}
	if _, err := a.f.Submit(user, in); !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), "maximum activation of PT30M") {
		t.Errorf("an hour with a ticket, at most 30 minutes allowed: %v", err)
	}
	in.Schedule.Duration = 30 * time.Minute
	if r, err := a.f.Submit(user, in); err != nil || r.Status != domain.StatusProvisioned {
		t.Errorf("30 minutes with a ticket: %v %v", r.Status, err)
	}
	if got := a.f.Audits("policy.update"); len(got) != 1 || got[0].ActorID != a.f.Admin {
		t.Errorf("policy.update records: %+v", got)
	}
	_, body, _ = a.get(c, "/portal/admin/settings")
	for _, want := range []string{"30 minutes", "Default (everything else)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the settings table lacks %q:\n%s", want, body)
		}
	}
}

// TestAdminAssignments: an admin adds an eligible assignment, sees it
// listed with the person's name, extends and removes it, all through the
// engine's admin requests; a bad person id is refused naming the field.
func TestAdminAssignments(t *testing.T) {
	a := newAdminFix(t)
	c := a.signIn(a.f.Admin, true)
	user := a.f.NewUser()
	add := url.Values{"op": {"add"}, "kind": {"eligibility"}, "principal": {string(user)}, "target": {enginetest.RoleOther.Key()},
		"end": {"P30D"}, "justification": {"on-call rota"}}

	before := a.f.Snapshot()
	bad := url.Values{}
	for k, v := range add {
		bad[k] = v
	}
	for _, b := range []struct{ field, value string }{
		{"principal", "Rita"}, {"kind", "owner"}, {"target", "Global Administrator"}, {"end", "P2Y"}, {"op", "promote"}, {"filter", "nonsense"},
	} {
		for k, v := range add {
			bad[k] = v
		}
		bad.Set(b.field, b.value)
		if code, body := a.post(c, "/portal/admin/assignments", bad); code != http.StatusBadRequest || !strings.Contains(body, b.field) || !strings.Contains(body, "Nothing was changed") {
			t.Errorf("bad %s: %d\n%s", b.field, code, body[strings.Index(body, "<main"):])
		}
		a.f.AssertNoWrites(t, before)
	}

	code, body := a.post(c, "/portal/admin/assignments", add)
	if code != http.StatusOK || !strings.Contains(body, "is eligible for") {
		t.Fatalf("add: %d\n%s", code, body)
	}
	if got := a.f.SchedulesOf(user, domain.KindEligibility); len(got) != 1 || got[0].Target != enginetest.RoleOther {
		t.Fatalf("schedules after add: %+v", got)
	}
	u, _ := a.f.Dir.GetUser(context.Background(), user)
	_, body, _ = a.get(c, "/portal/admin/assignments?target="+url.QueryEscape(enginetest.RoleOther.Key()))
	if !strings.Contains(body, u.DisplayName) || !strings.Contains(body, "Eligible") {
		t.Errorf("the listing does not name %q as eligible:\n%s", u.DisplayName, body)
	}
	ext := url.Values{"op": {"extend"}, "kind": {"eligibility"}, "principal": {string(user)}, "target": {enginetest.RoleOther.Key()}, "end": {"P90D"}}
	if code, body := a.post(c, "/portal/admin/assignments", ext); code != http.StatusOK || !strings.Contains(body, "is eligible for") {
		t.Errorf("extend: %d\n%s", code, body)
	}
	if got := a.f.SchedulesOf(user, domain.KindEligibility); len(got) != 1 || time.Until(got[0].End) < 80*24*time.Hour {
		t.Errorf("schedule after extend: %+v", got)
	}
	rm := url.Values{"op": {"remove"}, "kind": {"eligibility"}, "principal": {string(user)}, "target": {enginetest.RoleOther.Key()}}
	if code, body := a.post(c, "/portal/admin/assignments", rm); code != http.StatusOK || !strings.Contains(body, "is no longer eligible for") {
		t.Errorf("remove: %d\n%s", code, body)
	}
	// A break-glass account is never touched: the engine refuses, the page says so.
	bg := url.Values{"op": {"add"}, "kind": {"assignment"}, "principal": {string(a.f.BreakGlass)}, "target": {enginetest.RoleOther.Key()}, "end": {"P1D"}}
	if code, body := a.post(c, "/portal/admin/assignments", bg); code < 400 || !strings.Contains(body, "Nothing was changed") {
		t.Errorf("break-glass add: %d\n%s", code, body)
	}
}

// TestAdminAuditExport: the audit screen filters by person and the
// exports download the same records as CSV and JSON lines, with names,
// and a formula typed into a field stays text in the CSV.
func TestAdminAuditExport(t *testing.T) {
	a := newAdminFix(t)
	c := a.signIn(a.f.Admin, true)
	user, other := a.f.NewUser(), a.f.NewUser()
	a.f.SeedEligible(user, enginetest.RoleOther, time.Time{})
	a.f.SeedEligible(other, enginetest.RoleOther, time.Time{})
	a.f.MustActivate(user, enginetest.RoleOther, time.Hour)
	a.f.MustActivate(other, enginetest.RoleOther, time.Hour)
	u, _ := a.f.Dir.GetUser(context.Background(), user)

	code, body, _ := a.get(c, "/portal/admin/audit?person="+url.QueryEscape(u.DisplayName))
	if code != http.StatusOK || !strings.Contains(body, "request.create") || !strings.Contains(body, u.DisplayName) {
		t.Fatalf("audit by person: %d\n%s", code, body)
	}
	code, body, h := a.get(c, "/portal/admin/audit.csv?person="+string(user))
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", code, h)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 3 {
		t.Fatalf("csv rows: %v %d\n%s", err, len(rows), body)
	}
	for _, r := range rows[1:] {
		if r[3] != string(user) && r[5] != string(user) {
			t.Errorf("a record of someone else in the person's export: %v", r)
		}
	}
	code, body, _ = a.get(c, "/portal/admin/audit.jsonl?person="+string(user)+"&action=request.create")
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var rec map[string]any
	if code != http.StatusOK || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec["principalName"] != u.DisplayName {
		t.Errorf("jsonl: %d %d lines\n%s", code, len(lines), body)
	}
	if code, body, _ := a.get(c, "/portal/admin/audit?from=yesterday"); code != http.StatusBadRequest || !strings.Contains(body, "from") {
		t.Errorf("bad date: %d\n%s", code, body)
	}
	if _, body, _ := a.get(c, "/portal/admin/audit/verify"); !strings.Contains(body, "cannot be verified here") {
		t.Errorf("memory store verification:\n%s", body)
	}
}

// TestRemovedAdminLosesTheScreensAtOnce: the navigation remembers for a
// few minutes that a person is an administrator, but the Admin screens ask
// the directory on every view: a Global Administrator whose role is taken
// away is refused on the next view, while the link may still show.
func TestRemovedAdminLosesTheScreensAtOnce(t *testing.T) {
	a := newAdminFix(t)
	user := a.f.NewUser()
	ctx := context.Background()
	id, _, err := a.f.Dir.AddRoleAssignment(ctx, user, domain.RoleGlobalAdministrator, domain.TenantScope)
	if err != nil {
		t.Fatal(err)
	}
	c := a.signIn(user, true)
	if _, body, _ := a.get(c, "/portal/"); !strings.Contains(body, `href="/portal/admin/assignments"`) {
		t.Fatalf("an active Global Administrator has no Admin link:\n%s", body)
	}
	if code, _, _ := a.get(c, "/portal/admin/settings"); code != http.StatusOK {
		t.Fatalf("an active Global Administrator's settings screen: %d", code)
	}
	if err := a.f.Dir.RemoveRoleAssignment(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/portal/admin/settings", "/portal/admin/audit.csv"} {
		if code, body, _ := a.get(c, path); code != http.StatusForbidden || !strings.Contains(body, "Only for jitpim administrators") {
			t.Errorf("%s after the role was removed: %d\n%s", path, code, body)
		}
	}
}

// TestAdminAssignsAnAzureRole: Azure roles at a scope are targets like any
// other on the Assignments screen: added through adminAssign and listed by
// name with their scope.
func TestAdminAssignsAnAzureRole(t *testing.T) {
	a := newAdminFix(t)
	c := a.signIn(a.f.Admin, true)
	user := a.f.NewUser()
	add := url.Values{"op": {"add"}, "kind": {"eligibility"}, "principal": {string(user)}, "target": {enginetest.AzContributorRG.Key()},
		"end": {"P30D"}, "justification": {"web team"}}
	if code, body := a.post(c, "/portal/admin/assignments", add); code != http.StatusOK || !strings.Contains(body, "is eligible for") {
		t.Fatalf("add: %d\n%s", code, body)
	}
	if got := a.f.SchedulesOf(user, domain.KindEligibility); len(got) != 1 || got[0].Target != enginetest.AzContributorRG {
		t.Fatalf("schedules after add: %+v", got)
	}
	_, body, _ := a.get(c, "/portal/admin/assignments")
	u, _ := a.f.Dir.GetUser(context.Background(), user)
	if !strings.Contains(body, "Contributor") || !strings.Contains(body, "rg-web") || !strings.Contains(body, u.DisplayName) {
		t.Errorf("the listing lacks the Azure assignment by name:\n%s", body)
	}
}

// TestAdminFormsTakePeopleByName: the assignment, review and settings
// forms take a person by user principal name (any case) or e-mail address
// as well as by object id, looked up once in the directory; an unknown or
// ambiguous name is refused with a 400 naming the field, and changes
// nothing.
func TestAdminFormsTakePeopleByName(t *testing.T) {
	a := newAdminFix(t)
	c := a.signIn(a.f.Admin, true)
	ctx := context.Background()
	user := a.f.NewUser()
	upn := enginetest.UPN(user)
	// Two people share a mail address: that address names nobody in particular.
	twinA, twinB := a.f.NewUser(), a.f.NewUser()
	for _, id := range []domain.ObjectID{twinA, twinB} {
		a.f.Dir.AddUser(domain.User{ID: id, UserPrincipalName: enginetest.UPN(id), Mail: "oncall@contoso.example", DisplayName: "On call", Enabled: true})
	}
	policyID := domain.PolicyID(enginetest.RoleOther)

	forms := []struct {
		name, path, field string
		form              func(person string) url.Values
		holds             func() bool // the change the form asks for, with user
	}{
		{"assignment", "/portal/admin/assignments", "principal", func(person string) url.Values {
			return url.Values{"op": {"add"}, "kind": {"eligibility"}, "principal": {person}, "target": {enginetest.RoleOther.Key()},
				"end": {"P30D"}, "justification": {"on-call rota"}}
		}, func() bool { return len(a.f.SchedulesOf(user, domain.KindEligibility)) == 1 }},
		{"review", "/portal/admin/reviews", "reviewer", func(person string) url.Values {
			return url.Values{"op": {"create"}, "name": {"Other role, quarterly"}, "scope": {"role:" + string(enginetest.RoleOther.RoleDefinitionID)},
				"reviewers": {"user"}, "reviewer": {person}, "days": {"14"}, "default": {"Recommendation"}, "recurrence": {domain.RecurrenceOnce}}
		}, func() bool {
			defs, err := a.rev.ListReviewDefinitions(ctx, a.f.Call(a.f.Admin))
			for _, d := range defs {
				if len(d.Reviewers) == 1 && d.Reviewers[0].ID == user {
					return err == nil
				}
			}
			return false
		}},
		{"settings", "/portal/admin/settings/edit", "approvers", func(person string) url.Values {
			f := policyForm(policyID, "PT1H")
			f.Set("approval", "on")
			f.Set("approvers", "group:"+string(a.f.NewID())+"\n"+person)
			return f
		}, func() bool {
			pol, err := a.f.Policies.GetPolicy(ctx, policyID)
			if err != nil || len(pol.Activation.Stages) == 0 {
				return false
			}
			for _, ap := range pol.Activation.Stages[0].PrimaryApprovers {
				if ap.Kind == domain.ApproverUser && ap.ID == user {
					return true
				}
			}
			return false
		}},
	}
	for _, tc := range forms {
		for _, bad := range []struct{ what, person, want string }{
			{"unknown name", "ghost@contoso.example", "no user in the directory"},
			{"ambiguous name", "oncall@contoso.example", "more than one user"},
			{"neither name nor id", "Rita", "user principal name"},
		} {
			before := a.f.Snapshot()
			code, body := a.post(c, tc.path, tc.form(bad.person))
			if code != http.StatusBadRequest || !strings.Contains(body, tc.field) || !strings.Contains(body, bad.want) || !strings.Contains(body, "Nothing was changed") {
				t.Errorf("%s form, %s: %d, want 400 naming %q and saying %q:\n%s", tc.name, bad.what, code, tc.field, bad.want, body)
			}
			a.f.AssertNoWrites(t, before)
		}
		if tc.holds() {
			t.Fatalf("%s form: the change holds before a good form was sent", tc.name)
		}
		if code, body := a.post(c, tc.path, tc.form(strings.ToUpper(upn))); code != http.StatusOK {
			t.Errorf("%s form by user principal name %q: %d\n%s", tc.name, strings.ToUpper(upn), code, body)
		}
		if !tc.holds() {
			t.Errorf("%s form by user principal name: the change does not name %s", tc.name, user)
		}
	}
	// A directory that cannot answer is no refusal of the name: the page
	// says to try again (503), and nothing changes.
	a.f.Dir.Fail = func(op string) error {
		if op == "FindUser" {
			return domain.Errorf(domain.CodeTransient, "graph is down")
		}
		return nil
	}
	before := a.f.Snapshot()
	if code, body := a.post(c, forms[0].path, forms[0].form("someone.else@contoso.example")); code != http.StatusServiceUnavailable || !strings.Contains(body, "Nothing was changed") {
		t.Errorf("while the directory is down: %d, want 503:\n%s", code, body)
	}
	a.f.AssertNoWrites(t, before)
}
