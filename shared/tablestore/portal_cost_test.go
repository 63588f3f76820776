package tablestore_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/portal"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// portalSignIn signs user in through the dev issuer, with MFA, and
// returns the session cookie: the portal is measured as a browser uses it.
func portalSignIn(t *testing.T, web *weblogin.Web, user domain.ObjectID) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	web.StartLogin(rec, httptest.NewRequest("GET", "http://127.0.0.1:7071/api/approvals/login", nil), "/portal/", domain.StepUp{MFA: true})
	res := rec.Result()
	u, _ := url.Parse(res.Header.Get("Location"))
	q := u.Query()
	q.Set("login_hint", string(user))
	q.Set("dev_mfa", "true")
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
	if _, err := web.Callback(rec, cb); err != nil {
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

// TestRoundTripsPortal measures what one view of each portal screen costs:
// Table Storage round trips (Azurite) and directory (Graph) calls, for a
// person with two eligible roles (then one of them active) and one
// request, and an approver with one request waiting who also reviews the
// person's eligibility in an open access review. My roles also lists the
// person's ended eligibilities, for Renew (4 of its round trips). The directory calls
// are name lookups: the signed-in person's own (this dev issuer's ID token
// carries no name; Entra's does) and one per other person shown. make
// bench prints the figures (its TestRoundTrips run includes this).
func TestRoundTripsPortal(t *testing.T) {
	conn := azuritetest.Start(t)
	opts := tablestore.Options{TablePrefix: prefix()}
	f, s := engineFixture(t, conn, opts)
	iss := httptest.NewServer(nil)
	t.Cleanup(iss.Close)
	di, err := devissuer.New(iss.URL)
	if err != nil {
		t.Fatal(err)
	}
	iss.Config.Handler = di.Handler()
	web, err := weblogin.New(context.Background(), weblogin.Config{Issuer: iss.URL, ClientID: "jitpim-web",
		RedirectURL: "http://127.0.0.1:7071/api/approvals/callback", CookieKeys: [][]byte{[]byte(strings.Repeat("k", 32))}})
	if err != nil {
		t.Fatal(err)
	}
	// The portal runs on the wall clock, as sessions do, and so does the
	// fixture here, so the access review it starts is open.
	f.Now = time.Now().UTC()
	signer, err := approvallink.NewSigner([]approvallink.Key{{ID: "k1", Secret: []byte(strings.Repeat("s", 40))}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	links := approvallink.NewLinks(signer, "http://127.0.0.1:7071", s, time.Now)
	reviews := review.New(review.Deps{Engine: f.Eng, Reviews: s, Store: s, Directory: f.Dir, Reader: f.Dir, SignIns: f.Dir, Alarm: f.Alarms, Links: links})
	alerts := alert.New(alert.Deps{Engine: f.Eng, Alarms: f.Alarms, Store: f.Store, Directory: f.Dir, Reader: f.Dir, SignIns: f.Dir}, alert.DefaultSettings())
	p := portal.New(web, f.Eng, reviews, links, time.Now, slog.New(slog.DiscardHandler),
		portal.Admin{Policies: f.Policies, Reviews: reviews, Alerts: alerts, Chain: s.AuditChain(opts.TablePrefix)})

	requester, approver := eligibleUser(f), f.NewUser()
	other := enginetest.RoleGA
	f.SeedEligible(requester, other, time.Time{})
	f.RequireApproval(other, domain.Approver{Kind: domain.ApproverUser, ID: approver})
	if r, err := f.Activate(requester, other, time.Hour); err != nil || r.Status != domain.StatusPendingApproval {
		t.Fatalf("pending request: %s %v", r.Status, err)
	}
	// The approver also reviews the requester's Application Administrator eligibility.
	def, err := reviews.CreateReviewDefinition(context.Background(), f.Call(f.Admin), domain.ReviewDefinition{DisplayName: "Application Administrators",
		Scope:     domain.ReviewScope{Kind: domain.ReviewScopeRole, RoleDefinitionID: roleApp.RoleDefinitionID},
		Reviewers: []domain.Reviewer{{Kind: domain.ReviewerUser, ID: approver}},
		Settings:  domain.ReviewSettings{DurationInDays: 7, DefaultDecision: domain.DefaultApprove, RecommendationsEnabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reviews.RunReviews(context.Background(), f.System()); err != nil {
		t.Fatal(err)
	}
	insts, err := reviews.ListReviewInstances(context.Background(), f.Call(f.Admin), def.ID, false)
	if err != nil || len(insts) != 1 {
		t.Fatalf("review instances: %v %+v", err, insts)
	}
	reqCookie, apprCookie, adminCookie := portalSignIn(t, web, requester), portalSignIn(t, web, approver), portalSignIn(t, web, f.Admin)

	view := func(path string, c *http.Cookie, want string) (trips int64, graph int) {
		t.Helper()
		calls := func() (n int) {
			for _, v := range f.Dir.Calls() {
				n += v
			}
			return n
		}
		before := calls()
		s.ResetRoundTrips()
		req := httptest.NewRequest("GET", "http://127.0.0.1:7071"+path, nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d, want %q in %s", path, rec.Code, want, body)
		}
		return s.RoundTrips(), calls() - before
	}
	type figure struct {
		name             string
		trips, tripLimit int64
		graph, graphLim  int
	}
	var figs []figure
	add := func(name, path string, c *http.Cookie, want string, tripLimit int64, graphLimit int) {
		n, g := view(path, c, want)
		figs = append(figs, figure{name, n, tripLimit, g, graphLimit})
	}
	// Warm: policies, the audit head, and whether each person sees the
	// Admin link (the first view of a person in five minutes costs two
	// more directory calls for it: admin group membership and roles).
	view("/portal/", reqCookie, "My roles")
	view("/portal/", apprCookie, "My roles")
	view("/portal/", adminCookie, "My roles")
	add("portal My roles (2 eligible)", "/portal/", reqCookie, "Activate", 11, 1)
	add("portal Activate form", "/portal/activate?target="+url.QueryEscape(roleApp.Key()), reqCookie, "How long", 3, 1)
	add("portal My requests (1)", "/portal/requests", reqCookie, "waiting for", 4, 2)
	// The inbox lists both kinds (activations, eligibilities) in the two
	// statuses that wait for a decision (an approver's, an admin's).
	add("portal Approve requests (1)", "/portal/approvals", apprCookie, "wants", 5, 2)
	add("portal Access reviews (1)", "/portal/reviews", apprCookie, "0 of 1 decided", 4, 1)
	add("portal Access review (1 item)", "/portal/review?definition="+url.QueryEscape(def.ID)+"&instance="+url.QueryEscape(insts[0].ID), apprCookie,
		"Accept recommendations", 2, 1)
	add("portal ticket check", "/portal/ticket?target="+url.QueryEscape(roleApp.Key())+"&number=INC0012345", reqCookie, "ok", 2, 0)
	f.MustActivate(requester, roleApp, time.Hour)
	add("portal My roles (1 active)", "/portal/", reqCookie, "Active", 12, 1)
	// The Admin screens, for an admin: the requester's two eligibilities
	// and one activation, and one pending request. The audit
	// screen reads newest first (bounded: 200 matches or 5,000 records);
	// its first read links the records waiting for the chain (the 14), as
	// every audit listing does. Verify reads the whole audit table.
	view("/portal/admin/assignments", adminCookie, "Assignments") // warm: role names
	add("portal Admin assignments (3)", "/portal/admin/assignments", adminCookie, "Add an assignment", 6, 3)
	add("portal Admin settings", "/portal/admin/settings", adminCookie, "Activation duration", 2, 3)
	add("portal Admin settings edit", "/portal/admin/settings/edit?id="+url.QueryEscape(domain.PolicyID(other)), adminCookie, "Save settings", 2, 3)
	// One definition with one running instance: its instances and items
	// (for the progress), and the reviewer's name.
	add("portal Admin reviews (1)", "/portal/admin/reviews", adminCookie, "Define an access review", 5, 3)
	add("portal Admin alerts", "/portal/admin/alerts", adminCookie, "Break-glass accounts", 2, 4)
	add("portal Admin audit", "/portal/admin/audit", adminCookie, "Hash chain", 14, 4)
	add("portal Admin audit verify", "/portal/admin/audit/verify", adminCookie, "Intact", 6, 4)
	add("portal Admin audit CSV", "/portal/admin/audit.csv", adminCookie, "time,action", 3, 4)
	for _, g := range figs {
		t.Logf("%-30s %3d round trips (limit %d), %d directory calls (limit %d)", g.name, g.trips, g.tripLimit, g.graph, g.graphLim)
		if g.trips > g.tripLimit || g.graph > g.graphLim {
			t.Errorf("%s: %d round trips, %d directory calls; limits %d and %d", g.name, g.trips, g.graph, g.tripLimit, g.graphLim)
		}
	}
}
