package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/portal"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// reviewEnv is the API and the portal (with the mailed links' screens) of one engine with access
// reviews on, against a dev issuer.
type reviewEnv struct {
	*env
	reviews *review.Service
	links   *approvallink.Signer
}

const reviews = "/api/identityGovernance/accessReviews/definitions"

func newReviewEnv(t *testing.T) *reviewEnv {
	t.Helper()
	iss, issSrv, v := newIssuer(t)
	e := &env{t: t, iss: iss, store: memstore.New(), dir: fakedir.New()}
	for _, u := range []domain.User{{ID: admin, Enabled: true}, {ID: alice, Enabled: true}, {ID: bob, Enabled: true}, {ID: carol, Enabled: true}} {
		u.UserPrincipalName = string(u.ID) + "@contoso.example"
		e.dir.AddUser(u)
	}
	if _, _, err := e.dir.AddRoleAssignment(context.Background(), admin, ga, "/"); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.api.Close)
	links, err := approvallink.NewSigner([]approvallink.Key{{ID: "k1", Secret: []byte(strings.Repeat("s", 40))}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	web, err := weblogin.New(context.Background(), weblogin.Config{Issuer: issSrv.URL, ClientID: "jitpim-web",
		RedirectURL: e.api.URL + "/api/approvals/callback", CookieKeys: [][]byte{[]byte(strings.Repeat("c", 40))}})
	if err != nil {
		t.Fatal(err)
	}
	svc := newServices(e.store, e.dir, engine.DefaultConfig(), approvallink.NewLinks(links, e.api.URL, e.store, time.Now))
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	site := portal.New(web, svc.eng, svc.reviews, approvallink.NewLinks(links, e.api.URL, e.store, time.Now), time.Now, log, portal.Admin{})
	mux.Handle("/api/approvals/", site.Mailed())
	mux.Handle("/portal/", site)
	mux.Handle("/", httpapi.New(svc.api(), v, time.Now, log))
	h = mux
	return &reviewEnv{env: e, reviews: svc.reviews, links: links}
}

func graphDefinition(reviewer, defaultDecision string) map[string]any {
	return map[string]any{
		"displayName": "Exchange administrators, quarterly",
		"scope": map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"principalScopes": []any{map[string]any{"query": "/users", "queryType": "MicrosoftGraph"}},
			"resourceScopes":  []any{map[string]any{"query": "/roleManagement/directory/roleDefinitions/" + exch, "queryType": "MicrosoftGraph"}}},
		"reviewers": []any{map[string]any{"query": "/users/" + reviewer, "queryType": "MicrosoftGraph"}},
		"settings": map[string]any{"mailNotificationsEnabled": true, "reminderNotificationsEnabled": true, "justificationRequiredOnApproval": true,
			"defaultDecisionEnabled": true, "defaultDecision": defaultDecision, "instanceDurationInDays": 14, "autoApplyDecisionsEnabled": true,
			"recommendationsEnabled": true, "recommendationLookBackDuration": "P30D",
			"recurrence": map[string]any{"pattern": map[string]any{"type": "absoluteMonthly", "interval": 3},
				"range": map[string]any{"type": "noEnd", "startDate": time.Now().UTC().Format("2006-01-02")}}},
	}
}

func (e *reviewEnv) eligible(user string) {
	e.t.Helper()
	e.must(201, "POST", "/api/roleManagement/directory/roleEligibilityScheduleRequests", e.token(admin, true), map[string]any{
		"action": "adminAssign", "principalId": user, "roleDefinitionId": exch, "directoryScopeId": "/", "justification": "mailboxes",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "noExpiration"}}})
}

func (e *reviewEnv) runTimer() review.RunResult {
	e.t.Helper()
	res, err := e.reviews.RunReviews(context.Background(), engine.NewCall(time.Now(), "timer", engine.Caller{ID: engine.SystemActor}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestReviewAPI(t *testing.T) {
	e := newReviewEnv(t)
	adm, al, bo := e.token(admin, true), e.token(alice, true), e.token(bob, true)
	e.eligible(bob)
	e.eligible(carol)

	// Refusals: no explicit default, not an admin, an unknown scope, no reviewers.
	noDefault := graphDefinition(alice, "Deny")
	delete(noDefault["settings"].(map[string]any), "defaultDecision")
	if code, out := e.do("POST", reviews, adm, noDefault); code != 400 || !strings.Contains(fmt.Sprint(out), "defaultDecision") {
		t.Fatalf("no default decision: %d %v", code, out)
	}
	off := graphDefinition(alice, "Deny")
	off["settings"].(map[string]any)["defaultDecisionEnabled"] = false
	if code, out := e.do("POST", reviews, adm, off); code != 400 || !strings.Contains(fmt.Sprint(out), "silently") {
		t.Fatalf("default decision off: %d %v", code, out)
	}
	if code, _ := e.do("POST", reviews, al, graphDefinition(alice, "Deny")); code != 403 {
		t.Fatalf("non-admin: %d", code)
	}
	bad := graphDefinition(alice, "Deny")
	bad["scope"] = map[string]any{"query": "/users"}
	if code, out := e.do("POST", reviews, adm, bad); code != 400 || !strings.Contains(fmt.Sprint(out), "scope") {
		t.Fatalf("unknown scope: %d %v", code, out)
	}
	noRev := graphDefinition(alice, "Deny")
	delete(noRev, "reviewers")
	if code, _ := e.do("POST", reviews, adm, noRev); code != 400 {
		t.Fatalf("no reviewers: %d", code)
	}

	def := e.must(201, "POST", reviews, adm, graphDefinition(alice, "Deny"))
	id := def["id"].(string)
	st := def["settings"].(map[string]any)
	if st["defaultDecision"] != "Deny" || st["autoApplyDecisionsEnabled"] != true || def["status"] != "NotStarted" ||
		!strings.Contains(fmt.Sprint(def["warnings"]), "REMOVED") || !strings.Contains(fmt.Sprint(def["scope"]), exch) ||
		st["recurrence"].(map[string]any)["pattern"].(map[string]any)["interval"] != float64(3) {
		t.Fatalf("definition: %v", def)
	}
	if got := e.must(200, "GET", reviews+"/"+id, adm, nil); got["displayName"] != def["displayName"] {
		t.Fatalf("get: %v", got)
	}
	if list := e.must(200, "GET", reviews, adm, nil); len(list["value"].([]any)) != 1 {
		t.Fatalf("list: %v", list)
	}
	if code, _ := e.do("GET", reviews, al, nil); code != 403 {
		t.Fatalf("non-admin list: %d", code)
	}

	e.runTimer()
	insts := e.must(200, "GET", reviews+"/"+id+"/instances", adm, nil)["value"].([]any)
	if len(insts) != 1 {
		t.Fatalf("instances: %v", insts)
	}
	inst := insts[0].(map[string]any)
	iid := inst["id"].(string)
	if inst["status"] != "InProgress" || inst["itemCount"] != float64(2) || !strings.Contains(fmt.Sprint(inst["warnings"]), "REMOVED") {
		t.Fatalf("instance: %v", inst)
	}
	decisions := reviews + "/" + id + "/instances/" + iid + "/decisions"
	all := e.must(200, "GET", decisions+"?$top=1", adm, nil)
	if len(all["value"].([]any)) != 1 || all["@odata.nextLink"] == nil {
		t.Fatalf("paged decisions: %v", all)
	}
	if code, _ := e.do("GET", decisions, al, nil); code != 403 {
		t.Fatalf("reviewer listing everything: %d", code)
	}
	mine := e.must(200, "GET", decisions+"/filterByCurrentUser(on='reviewer')", al, nil)["value"].([]any)
	if len(mine) != 2 {
		t.Fatalf("alice's items: %v", mine)
	}
	if none := e.must(200, "GET", decisions+"/filterByCurrentUser(on='reviewer')", bo, nil)["value"].([]any); len(none) != 0 {
		t.Fatalf("bob reviews nothing, got %v", none)
	}
	if mi := e.must(200, "GET", reviews+"/"+id+"/instances/filterByCurrentUser(on='reviewer')", al, nil)["value"].([]any); len(mi) != 1 {
		t.Fatalf("alice's instances: %v", mi)
	}
	var bobItem, carolItem string
	for _, x := range mine {
		it := x.(map[string]any)
		p := it["principal"].(map[string]any)
		if it["decision"] != "NotReviewed" || it["accessReviewId"] != iid || it["assignmentType"] != "eligible" || it["applyResult"] != "New" {
			t.Fatalf("item: %v", it)
		}
		switch p["id"] {
		case bob:
			bobItem = it["id"].(string)
		case carol:
			carolItem = it["id"].(string)
		}
	}
	if code, _ := e.do("PATCH", decisions+"/"+bobItem, al, map[string]any{"decision": "Maybe"}); code != 400 {
		t.Fatalf("bad decision: %d", code)
	}
	if code, out := e.do("PATCH", decisions+"/"+bobItem, al, map[string]any{"decision": "Approve"}); code != 400 || !strings.Contains(fmt.Sprint(out), "justification") {
		t.Fatalf("approve without the required justification: %d %v", code, out)
	}
	if code, _ := e.do("PATCH", decisions+"/"+bobItem, bo, map[string]any{"decision": "Approve", "justification": "me"}); code != 403 {
		t.Fatalf("bob deciding his own item: %d", code)
	}
	e.must(204, "PATCH", decisions+"/"+bobItem, al, map[string]any{"decision": "Deny", "justification": "left the team"})
	e.must(204, "PATCH", decisions+"/"+carolItem, al, map[string]any{"decision": "approve", "justification": "on call"})
	got := e.must(200, "GET", decisions+"/"+bobItem, al, nil)
	if got["decision"] != "Deny" || got["reviewedBy"].(map[string]any)["id"] != alice || got["justification"] != "left the team" {
		t.Fatalf("decided item: %v", got)
	}

	if code, _ := e.do("POST", reviews+"/"+id+"/instances/"+iid+"/stop", al, nil); code != 403 {
		t.Fatalf("reviewer stopping: %d", code)
	}
	e.must(204, "POST", reviews+"/"+id+"/instances/"+iid+"/stop", adm, nil)
	inst = e.must(200, "GET", reviews+"/"+id+"/instances/"+iid, adm, nil)
	if inst["status"] != "Applied" || inst["removedCount"] != float64(1) {
		t.Fatalf("after stop: %v", inst)
	}
	if got := e.must(200, "GET", decisions+"/"+bobItem, adm, nil); got["applyResult"] != "AppliedSuccessfully" || got["appliedBy"] == nil {
		t.Fatalf("applied item: %v", got)
	}
	if code, _ := e.do("POST", reviews+"/"+id+"/instances/"+iid+"/applyDecisions", adm, nil); code != 409 {
		t.Fatalf("applying twice: %d", code)
	}
	elig := e.must(200, "GET", "/api/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '"+bob+"'", adm, nil)["value"].([]any)
	if len(elig) != 0 {
		t.Fatalf("bob is still eligible: %v", elig)
	}
	carolElig := e.must(200, "GET", "/api/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '"+carol+"'", adm, nil)["value"].([]any)
	if len(carolElig) != 1 {
		t.Fatalf("carol's approved eligibility: %v", carolElig)
	}

	e.must(204, "DELETE", reviews+"/"+id, adm, nil)
	if code, _ := e.do("GET", reviews+"/"+id, adm, nil); code != 404 {
		t.Fatalf("deleted definition: %d", code)
	}
}

// TestReviewSelfReviewAndManager: Graph's empty reviewer list is a
// self-review; ./manager with fallback reviewers.
func TestReviewSelfReviewAndManager(t *testing.T) {
	e := newReviewEnv(t)
	adm := e.token(admin, true)
	e.eligible(bob)
	self := graphDefinition(alice, "Approve")
	self["reviewers"] = []any{}
	d := e.must(201, "POST", reviews, adm, self)
	if len(d["reviewers"].([]any)) != 0 {
		t.Fatalf("self-review reviewers: %v", d["reviewers"])
	}
	mgr := graphDefinition(alice, "Approve")
	mgr["reviewers"] = []any{map[string]any{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}}
	mgr["fallbackReviewers"] = []any{map[string]any{"query": "/users/" + carol}}
	dm := e.must(201, "POST", reviews, adm, mgr)
	if fmt.Sprint(dm["reviewers"]) == "[]" || len(dm["fallbackReviewers"].([]any)) != 1 {
		t.Fatalf("manager review: %v", dm)
	}
	e.runTimer()
	bo := e.token(bob, true)
	iid := e.must(200, "GET", reviews+"/"+d["id"].(string)+"/instances", adm, nil)["value"].([]any)[0].(map[string]any)["id"].(string)
	path := reviews + "/" + d["id"].(string) + "/instances/" + iid + "/decisions"
	mine := e.must(200, "GET", path+"/filterByCurrentUser(on='reviewer')", bo, nil)["value"].([]any)
	if len(mine) != 1 {
		t.Fatalf("bob's own review: %v", mine)
	}
	e.must(204, "PATCH", path+"/"+mine[0].(map[string]any)["id"].(string), bo, map[string]any{"decision": "Approve", "justification": "still needed"})
	// Bob has no manager: carol, the fallback, reviews him.
	iid = e.must(200, "GET", reviews+"/"+dm["id"].(string)+"/instances", adm, nil)["value"].([]any)[0].(map[string]any)["id"].(string)
	path = reviews + "/" + dm["id"].(string) + "/instances/" + iid + "/decisions/filterByCurrentUser(on='reviewer')"
	if got := e.must(200, "GET", path, e.token(carol, true), nil)["value"].([]any); len(got) != 1 {
		t.Fatalf("fallback reviewer's items: %v", got)
	}
}

// reviewBrowser keeps cookies and signs in through the dev issuer as one user.
type reviewBrowser struct {
	t *testing.T
	c *http.Client
}

func newReviewBrowser(t *testing.T, userID string, mfa bool) *reviewBrowser {
	jar, _ := cookiejar.New(nil)
	b := &reviewBrowser{t: t}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/authorize") && req.URL.Query().Get("login_hint") == "" {
			q := req.URL.Query()
			q.Set("login_hint", userID)
			q.Set("dev_mfa", fmt.Sprint(mfa))
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}}
	return b
}

func (b *reviewBrowser) do(method, u string, form url.Values) (int, string) {
	b.t.Helper()
	var res *http.Response
	var err error
	if method == "GET" {
		res, err = b.c.Get(u)
	} else {
		res, err = b.c.PostForm(u, form)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var (
	reviewLinkRE = regexp.MustCompile(`https?://[^"\s<]+/api/approvals/review/[A-Za-z0-9_.\-]+`)
	signInRE     = regexp.MustCompile(`href="(/api/approvals/login\?return=[^"]+)"`)
	csrfInputRE  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	itemInputRE  = regexp.MustCompile(`name="item" value="([^"]+)"`)
)

// signIn opens link, follows the page's sign-in link and returns the page after it.
func (b *reviewBrowser) signIn(base, link string) (int, string) {
	b.t.Helper()
	_, body := b.do("GET", link, nil)
	m := signInRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no sign-in link: %s", body)
	}
	return b.do("GET", base+strings.ReplaceAll(m[1], "&amp;", "&"), nil)
}

// TestReviewPage: the reviewer's mailed link shows nothing before sign-in,
// scanners cannot decide, someone else's sign-in is refused, and the
// reviewer decides after signing in, with the CSRF token.
func TestReviewPage(t *testing.T) {
	e := newReviewEnv(t)
	e.eligible(bob)
	e.eligible(alice)
	def := graphDefinition(alice, "Approve")
	def["fallbackReviewers"] = []any{map[string]any{"query": "/users/" + carol}}
	e.must(201, "POST", reviews, e.token(admin, true), def)
	e.runTimer()
	mail, err := e.store.MailDue(context.Background(), time.Now().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	link := ""
	for _, m := range mail {
		if strings.Contains(strings.Join(m.To, ","), alice) && strings.Contains(m.Subject, "Access review") {
			link = reviewLinkRE.FindString(m.Text)
		}
	}
	if link == "" {
		t.Fatalf("no review link mailed to alice: %+v", mail)
	}

	scanner := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := scanner.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(page), bob) || strings.Contains(string(page), "Exchange") {
		t.Fatalf("the page before sign-in: %d %s", res.StatusCode, page)
	}
	res, err = scanner.PostForm(link, url.Values{"decision": {"Deny"}, "csrf": {"x"}, "item": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("scanner post: %d", res.StatusCode)
	}

	code, body := newReviewBrowser(t, bob, true).signIn(e.api.URL, link)
	if code != 403 || !strings.Contains(body, "sent to someone else") {
		t.Fatalf("bob with alice's link: %d %s", code, body)
	}

	ab := newReviewBrowser(t, alice, true)
	code, body = ab.signIn(e.api.URL, link)
	// The page's last form token is the review forms' (the first is sign-out's).
	var csrf []string
	if all := csrfInputRE.FindAllStringSubmatch(body, -1); len(all) > 1 {
		csrf = all[len(all)-1]
	}
	items := itemInputRE.FindAllStringSubmatch(body, -1)
	if code != 200 || csrf == nil || len(items) != 2 || !strings.Contains(body, "Exchange Administrator") || !strings.Contains(body, "cannot approve your own access") {
		t.Fatalf("alice's page: %d %s", code, body)
	}
	var bobItem, aliceItem string
	// Which form is whose: the page lists alice's own item with no Approve button.
	sections := strings.Split(body, "<section ")
	for _, s := range sections[1:] {
		m := itemInputRE.FindStringSubmatch(s)
		if strings.Contains(s, alice+"@") {
			aliceItem = m[1]
		} else if strings.Contains(s, bob+"@") {
			bobItem = m[1]
		}
	}
	if bobItem == "" || aliceItem == "" {
		t.Fatalf("items on the page: %s", body)
	}
	if code, _ := ab.do("POST", link, url.Values{"decision": {"Deny"}, "csrf": {"forged"}, "item": {bobItem}}); code != 401 {
		t.Fatalf("forged csrf: %d", code)
	}
	if code, body := ab.do("POST", link, url.Values{"decision": {"Approve"}, "csrf": {csrf[1]}, "item": {aliceItem}, "justification": {"me"}}); code != 403 ||
		!strings.Contains(body, "own access") {
		t.Fatalf("approving her own access: %d %s", code, body)
	}
	if code, body := ab.do("POST", link, url.Values{"decision": {"Deny"}, "csrf": {csrf[1]}, "item": {bobItem}, "justification": {"left"}}); code != 200 ||
		!strings.Contains(body, "Recorded") {
		t.Fatalf("deny: %d %s", code, body)
	}
	_, body = ab.do("GET", link, nil)
	if !strings.Contains(body, "Deny (remove) (left)") {
		t.Fatalf("the page after deciding: %s", body)
	}

	// An approval link does not open a review page.
	tok, err := e.links.Sign(approvallink.Claims{Purpose: approvallink.PurposeApprove, RequestID: "r", StageID: "stage-1", SubjectID: alice, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := ab.do("GET", e.api.URL+"/api/approvals/review/"+tok, nil); code != 403 {
		t.Fatalf("approval token on the review page: %d", code)
	}
}
