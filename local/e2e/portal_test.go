package e2e

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/local/stack"
)

var (
	portalSignRE = regexp.MustCompile(`href="(/api/approvals/login\?return=[^"]+)"`)
	activateRE   = regexp.MustCompile(`href="(/portal/activate\?target=[^"]+)"`)
)

// formCSRF is the CSRF token of the form posting to action.
func formCSRF(body, action string) []string {
	return regexp.MustCompile(`action="` + regexp.QuoteMeta(action) + `"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
}

// signInFrom opens the sign-in link on a portal page and returns where it lands.
func (b *browser) signInFrom(body string) (int, string) {
	b.t.Helper()
	m := portalSignRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no sign-in link on the page: %s", body)
	}
	return b.get(st.HostURL + html.UnescapeString(m[1]))
}

// TestPortalActivateWithStepUpAndApprove: the portal at the app's root.
// Rita signs in without MFA and sees her roles by name with what they
// need; opening Activate for Global Administrator sends her through
// step-up before the form; she activates; Alice approves from her inbox,
// seeing Rita's name, UPN and ticket; Rita sees the role active and ends it.
func TestPortalActivateWithStepUpAndApprove(t *testing.T) {
	rita := newBrowser(t, user("rita"), false)

	// The root lands in the portal; before sign-in it only offers sign-in.
	code, body := rita.get(st.HostURL + "/")
	if code != 200 || !strings.Contains(body, "Sign in to jitpim") || strings.Contains(body, "Global Administrator") {
		t.Fatalf("root: %d %s", code, body)
	}
	code, body = rita.signInFrom(body)
	if code != 200 || !strings.Contains(body, "My roles") || !strings.Contains(body, "Global Administrator") ||
		!strings.Contains(body, "MFA") || !strings.Contains(body, "approval") || !strings.Contains(body, "Rita") {
		t.Fatalf("my roles: %d %s", code, body)
	}
	m := activateRE.FindAllStringSubmatch(body, -1)
	activate := ""
	for _, x := range m {
		if strings.Contains(html.UnescapeString(x[1]), stack.RoleGlobalAdmin) {
			activate = html.UnescapeString(x[1])
		}
	}
	if activate == "" {
		t.Fatalf("no Activate for Global Administrator: %s", body)
	}

	// Her sign-in has no MFA: no form, a step-up sign-in instead.
	code, body = rita.get(st.HostURL + activate)
	if code != 403 || strings.Contains(body, `action="/portal/activate"`) || !strings.Contains(body, "multi-factor") {
		t.Fatalf("activate without MFA: %d %s", code, body)
	}
	rita.mfa = true
	code, body = rita.signInFrom(body)
	csrf := formCSRF(body, "/portal/activate")
	if code != 200 || csrf == nil || !strings.Contains(body, "Activate Global Administrator") || !strings.Contains(body, `name="ticket"`) {
		t.Fatalf("activate form after step-up: %d %s", code, body)
	}
	target, _ := url.ParseQuery(strings.SplitN(activate, "?", 2)[1])
	form := url.Values{"csrf": {csrf[1]}, "target": {target.Get("target")}, "duration": {"PT1H"},
		"justification": {"tenant-wide CA policy change"}, "ticket": {stack.DemoTicket("rita")}}

	// A forged form token and a cross-site post change nothing.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("csrf", "forged")
	if code, _ := rita.post(st.HostURL+"/portal/activate", bad); code != 401 {
		t.Fatalf("forged CSRF: %d", code)
	}
	req, _ := http.NewRequest("POST", st.HostURL+"/portal/activate", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := rita.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 || st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("cross-site post: %d", res.StatusCode)
	}

	code, body = rita.post(st.HostURL+"/portal/activate", form)
	if code != 200 || !strings.Contains(body, "waiting for Alice") {
		t.Fatalf("activation: %d %s", code, body)
	}
	_, body = rita.get(st.HostURL + "/portal/requests")
	if !strings.Contains(body, "Global Administrator") || !strings.Contains(body, "waiting for Alice") {
		t.Fatalf("my requests: %s", body)
	}

	// Alice's inbox names Rita and the role, with the ticket and the window.
	alice := newBrowser(t, user("alice"), true)
	_, body = alice.get(st.HostURL + "/portal/approvals")
	code, body = alice.signInFrom(body)
	if code != 200 || !strings.Contains(body, "Rita") || !strings.Contains(body, "rita@") || !strings.Contains(body, "wants Global Administrator") ||
		!strings.Contains(body, stack.DemoTicket("rita")) || !strings.Contains(body, "counted from approval") {
		t.Fatalf("inbox: %d %s", code, body)
	}
	ids := regexp.MustCompile(`name="id" value="([^"]+)"><input type="hidden" name="stage" value="([^"]+)"`).FindStringSubmatch(body)
	csrf = formCSRF(body, "/portal/approvals")
	if ids == nil || csrf == nil {
		t.Fatalf("no decision form: %s", body)
	}
	code, body = alice.post(st.HostURL+"/portal/approvals", url.Values{"csrf": {csrf[1]}, "id": {ids[1]}, "stage": {ids[2]},
		"decision": {"Approve"}, "justification": {"CAB approved"}})
	if code != 200 || !strings.Contains(body, "Approved: Rita") || !st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("approve: %d %s", code, body)
	}

	// Rita sees it active and deactivates it from My roles.
	_, body = rita.get(st.HostURL + "/portal/")
	csrf = formCSRF(body, "/portal/deactivate")
	if !strings.Contains(body, "Active</strong> until") || csrf == nil {
		t.Fatalf("my roles after approval: %s", body)
	}
	code, body = rita.post(st.HostURL+"/portal/deactivate", url.Values{"csrf": {csrf[1]}, "target": {target.Get("target")}})
	if code != 200 || !strings.Contains(body, "no longer active") || st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("deactivate: %d %s", code, body)
	}
}

// TestPortalSeveralAtOnce: Alice denies two of Rita's requests with one
// form, and both are recorded with names in the answer.
func TestPortalSeveralAtOnce(t *testing.T) {
	rita := as(t, "rita", true)
	godMode := stack.GroupID(st.Tenant, "Global Administrators (God Mode)")
	r1 := must(t, rita, 201, "POST", assignReqs, activation("rita", stack.RoleGlobalAdmin, "PT1H"))
	r2 := must(t, rita, 201, "POST", "identityGovernance/privilegedAccess/group/assignmentScheduleRequests", map[string]any{
		"action": "selfActivate", "principalId": user("rita"), "groupId": godMode, "accessId": "member", "justification": "CA change",
		"ticketInfo":   map[string]any{"ticketNumber": stack.DemoTicket("rita"), "ticketSystem": "ServiceNow"},
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}})

	alice := newBrowser(t, user("alice"), true)
	_, body := alice.get(st.HostURL + "/portal/approvals")
	_, body = alice.signInFrom(body)
	var picks [][]string
	for _, p := range regexp.MustCompile(`name="pick" value="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(p[1], r1["id"].(string)+" ") || strings.HasPrefix(p[1], r2["id"].(string)+" ") {
			picks = append(picks, p)
		}
	}
	csrf := formCSRF(body, "/portal/approvals")
	if len(picks) != 2 || csrf == nil || !strings.Contains(body, "Decide several at once") {
		t.Fatalf("inbox: %s", body)
	}
	form := url.Values{"csrf": {csrf[1]}, "decision": {"Deny"}, "justification": {"not in a change window"}}
	for _, p := range picks {
		form.Add("pick", html.UnescapeString(p[1]))
	}
	code, body := alice.post(st.HostURL+"/portal/approvals", form)
	if code != 200 || !strings.Contains(body, "Denied: ") || !strings.Contains(body, "Rita Regular, Global Administrator (denied)") ||
		!strings.Contains(body, "Rita Regular, Global Administrators (God Mode) (denied)") {
		t.Fatalf("several at once: %d %s", code, body)
	}
	for _, p := range picks {
		if strings.Contains(body, p[1]) {
			t.Fatalf("decided request %s still in the inbox", p[1])
		}
	}
	if st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") || st.Graph.InGroup(godMode, "member", user("rita")) {
		t.Fatal("denied, yet granted")
	}
}
