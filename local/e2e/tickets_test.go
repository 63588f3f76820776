package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/snsim"
	"github.com/jitpim/jitpim/local/stack"
	"github.com/jitpim/jitpim/shared/servicenow"
)

func webhook(t *testing.T, secret string, hook map[string]any) (int, map[string]any) {
	t.Helper()
	code, body, err := snsim.SendWebhook(context.Background(), st.HostURL+"/api/servicenow/webhook", []byte(secret), hook)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return code, out
}

func sysID(t *testing.T, number string) string {
	t.Helper()
	data, err := snsim.LoadData("../demo/servicenow.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range data.Tickets {
		if tk.Number == number {
			return tk.SysID
		}
	}
	t.Fatalf("no demo ticket %s", number)
	return ""
}

func helpdeskHook(t *testing.T, number string) map[string]any {
	return map[string]any{"number": number, "sys_id": sysID(t, number), "table": "incident", "action": "activate",
		"requested_by": "steve@jitpimdemo.onmicrosoft.com", "role_definition_id": stack.RoleHelpdeskAdmin, "directory_scope_id": "/",
		"duration": "PT2H", "justification": "password resets for the VIP floor"}
}

// TestServiceNowWebhook: a signed webhook for a validated ticket grants the
// role, a retry changes nothing, the outcome lands in the ticket's work
// notes, and unsigned, mis-signed or stale calls write nothing.
func TestServiceNowWebhook(t *testing.T) {
	steve := user("steve")
	if code, out := webhook(t, "not-the-secret-at-all-0123456789abcdef", helpdeskHook(t, "INC0012346")); code != 401 {
		t.Fatalf("wrong secret: %d %v", code, out)
	}
	body := []byte(`{"number":"INC0012346"}`)
	ts, sig := servicenow.Sign([]byte(st.WebhookSecret), time.Now().Add(-10*time.Minute), body)
	req, _ := http.NewRequest("POST", st.HostURL+"/api/servicenow/webhook", strings.NewReader(string(body)))
	req.Header.Set(servicenow.HeaderTimestamp, ts)
	req.Header.Set(servicenow.HeaderSignature, sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("stale timestamp: %d", res.StatusCode)
	}
	if st.Graph.HasRoleAssignment(steve, stack.RoleHelpdeskAdmin, "/") || len(st.SN.WorkNotes("INC0012346")) != 0 {
		t.Fatal("a refused webhook changed something")
	}
	code, out := webhook(t, st.WebhookSecret, helpdeskHook(t, "INC0012346"))
	if code != 200 || out["status"] != "Provisioned" || !st.Graph.HasRoleAssignment(steve, stack.RoleHelpdeskAdmin, "/") {
		t.Fatalf("webhook: %d %v", code, out)
	}
	again, out2 := webhook(t, st.WebhookSecret, helpdeskHook(t, "INC0012346"))
	if again != 200 || out2["requestId"] != out["requestId"] || st.Graph.CountRoleAssignments(steve, stack.RoleHelpdeskAdmin, "/") != 1 {
		t.Fatalf("retried webhook: %d %v", again, out2)
	}
	notes := strings.Join(st.SN.WorkNotes("INC0012346"), "\n")
	if !strings.Contains(notes, "granted Helpdesk Administrator") {
		t.Fatalf("work notes: %q", notes)
	}
	// A resolved incident is refused, and the ticket says why.
	code, out = webhook(t, st.WebhookSecret, map[string]any{"number": "INC0012300", "sys_id": sysID(t, "INC0012300"), "table": "incident",
		"requested_by": "steve@jitpimdemo.onmicrosoft.com", "role_definition_id": stack.RoleHelpdeskAdmin, "duration": "PT1H", "justification": "x"})
	if code != 403 || !strings.Contains(strings.Join(st.SN.WorkNotes("INC0012300"), ""), "refused") {
		t.Fatalf("resolved ticket: %d %v %v", code, out, st.SN.WorkNotes("INC0012300"))
	}
	de := helpdeskHook(t, "INC0012346")
	de["action"] = "deactivate"
	delete(de, "duration")
	if code, out := webhook(t, st.WebhookSecret, de); code != 200 || out["status"] != "Revoked" || st.Graph.HasRoleAssignment(steve, stack.RoleHelpdeskAdmin, "/") {
		t.Fatalf("deactivate: %d %v", code, out)
	}
}

// browser is a cookie-keeping client that signs in through the dev issuer
// as one user, the way a person would click through.
type browser struct {
	t      *testing.T
	c      *http.Client
	userID string
	mfa    bool
}

func newBrowser(t *testing.T, userID string, mfa bool) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, userID: userID, mfa: mfa}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/authorize") && req.URL.Query().Get("login_hint") == "" {
			q := req.URL.Query()
			q.Set("login_hint", b.userID)
			q.Set("dev_mfa", fmt.Sprint(b.mfa))
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}}
	return b
}

func (b *browser) get(u string) (int, string) {
	res, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) post(u string, form url.Values) (int, string) {
	res, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var (
	linkRE = regexp.MustCompile(`https?://[^"\s<]+/api/approvals/r/[A-Za-z0-9_.\-]+`)
	signRE = regexp.MustCompile(`href="(/api/approvals/login\?return=[^"]+)"`)
)

// linkPath is a mailed link's path: the action of its screen's forms.
func linkPath(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return link
	}
	return u.Path
}

// linkFor finds the newest approval link mailed to a demo user.
func linkFor(t *testing.T, alias, subject string) string {
	t.Helper()
	for tries := 0; tries < 50; tries++ {
		out := st.Graph.Outbox()
		for i := len(out) - 1; i >= 0; i-- {
			m := out[i]
			if strings.Contains(m.Subject, subject) && strings.Contains(strings.Join(m.To, ","), alias) {
				if l := linkRE.FindString(m.Body); l != "" {
					return strings.ReplaceAll(l, "&amp;", "&")
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range st.Graph.Outbox() {
		t.Logf("outbox: %v %q", m.To, m.Subject)
	}
	t.Fatalf("no mail with %q to %s", subject, alias)
	return ""
}

// TestTicketConfirmationAndMailApproval: the God Mode group needs MFA and
// Alice's approval. ServiceNow asks for Rita; Rita confirms through the
// mailed link with an MFA sign-in; Alice approves through hers. A scanner
// that opens or posts the links changes nothing.
func TestTicketConfirmationAndMailApproval(t *testing.T) {
	rita, alice := user("rita"), user("alice")
	godMode := stack.GroupID(st.Tenant, "Global Administrators (God Mode)")
	code, out := webhook(t, st.WebhookSecret, map[string]any{"number": "CHG0040001", "sys_id": sysID(t, "CHG0040001"), "table": "change_request",
		"requested_by": "rita@jitpimdemo.onmicrosoft.com", "group_id": godMode, "access_id": "member", "duration": "PT1H",
		"justification": "tenant-wide Conditional Access change"})
	if code != 200 || out["status"] != "PendingApproval" || st.Graph.InGroup(godMode, "member", rita) {
		t.Fatalf("webhook: %d %v", code, out)
	}
	link := linkFor(t, "rita", "Confirm your activation")

	// A mail scanner: opens the link, follows the sign-in link without a
	// session, and posts the form blindly. Nothing changes.
	scanner := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := scanner.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(page), "tenant-wide") {
		t.Fatalf("unauthenticated view leaked details or failed: %d", res.StatusCode)
	}
	res, err = scanner.PostForm(link, url.Values{"decision": {"Approve"}, "csrf": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || st.Graph.InGroup(godMode, "member", rita) {
		t.Fatalf("scanner post: %d", res.StatusCode)
	}
	// A forged token.
	if res, err := scanner.Get(link + "x"); err != nil || res.StatusCode != 401 {
		t.Fatalf("forged link: %v %d", err, res.StatusCode)
	}

	// Alice signs in and opens Rita's link: refused.
	ab := newBrowser(t, alice, true)
	code, body := ab.get(link)
	if m := signRE.FindStringSubmatch(body); code == 200 && m != nil {
		code, body = ab.get(st.HostURL + strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if code != 403 || !strings.Contains(body, "sent to someone else") {
		t.Fatalf("someone else's link: %d %s", code, body)
	}

	// Rita signs in without MFA: she is told her sign-in lacks MFA and
	// offered a step-up sign-in; she never sees a form that would be
	// refused after submit, and a post without a form token changes nothing.
	rb := newBrowser(t, rita, false)
	_, body = rb.get(link)
	m := signRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in link on the page: %s", body)
	}
	code, body = rb.get(st.HostURL + strings.ReplaceAll(m[1], "&amp;", "&"))
	if code != 403 || formCSRF(body, linkPath(link)) != nil || !strings.Contains(body, "multi-factor") || !strings.Contains(body, "Sign in again") ||
		!strings.Contains(body, "mfa=1") {
		t.Fatalf("after sign-in without MFA: %d %s", code, body)
	}
	if code, _ := rb.post(link, url.Values{"decision": {"Approve"}, "csrf": {"forged"}}); code != 401 || st.Graph.InGroup(godMode, "member", rita) {
		t.Fatalf("forged CSRF: %d", code)
	}

	// With MFA: confirmed; the request moves to Alice's approval.
	rb = newBrowser(t, rita, true)
	_, body = rb.get(link)
	_, body = rb.get(st.HostURL + strings.ReplaceAll(signRE.FindStringSubmatch(body)[1], "&amp;", "&"))
	csrf := formCSRF(body, linkPath(link))
	if code, body := rb.post(link, url.Values{"decision": {"Approve"}, "csrf": {csrf[1]}}); code != 200 || !strings.Contains(body, "waiting for Alice") {
		t.Fatalf("confirmation: %d %s", code, body)
	}
	if code, _ := rb.post(link, url.Values{"decision": {"Approve"}, "csrf": {csrf[1]}}); code != 409 {
		t.Fatalf("replayed confirmation: %d", code)
	}
	if st.Graph.InGroup(godMode, "member", rita) {
		t.Fatal("access before approval")
	}

	// Alice approves through her own link.
	alink := linkFor(t, "alice", "Approval needed")
	ab = newBrowser(t, alice, true)
	_, body = ab.get(alink)
	_, body = ab.get(st.HostURL + strings.ReplaceAll(signRE.FindStringSubmatch(body)[1], "&amp;", "&"))
	csrf = formCSRF(body, linkPath(alink))
	if csrf == nil || !strings.Contains(body, "tenant-wide Conditional Access change") || !strings.Contains(body, "CHG0040001") {
		t.Fatalf("approver page: %s", body)
	}
	if code, body := ab.post(alink, url.Values{"decision": {"Approve"}, "justification": {"CAB approved"}, "csrf": {csrf[1]}}); code != 200 || !strings.Contains(body, "Approved: Rita") || !strings.Contains(body, "(granted)") {
		t.Fatalf("approval: %d %s", code, body)
	}
	if !st.Graph.InGroup(godMode, "member", rita) {
		t.Fatal("Rita is not in the God Mode group after approval")
	}
	notes := strings.Join(st.SN.WorkNotes("CHG0040001"), "\n")
	if !strings.Contains(notes, "confirm with multi-factor") || !strings.Contains(notes, "pending approval by Alice") || !strings.Contains(notes, "granted") {
		t.Fatalf("work notes: %q", notes)
	}
}
