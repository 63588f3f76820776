package weblogin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/weblogin"
)

const (
	clientID    = "11111111-aaaa-bbbb-cccc-000000000001"
	appURL      = "https://jitpim.example.net"
	redirectURL = appURL + "/api/approvals/callback"
	approver    = "0f5e4a1c-1111-2222-3333-444455556666"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a dev issuer behind httptest plus a Web configured for it.
type env struct {
	iss   *devissuer.Issuer
	srv   *httptest.Server
	clock *clock
	web   *weblogin.Web

	mu         sync.Mutex
	tamper     func(idToken string) string // rewrites the id_token of /token answers
	idTokens   []string                    // id_tokens the issuer handed out
	tokenForms []url.Values                // bodies of token requests
	keyFetches int                         // GETs of the issuer's key set
}

func newEnv(t *testing.T, edit func(*weblogin.Config)) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Now()}}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			e.mu.Lock()
			e.keyFetches++
			e.mu.Unlock()
		}
		if r.URL.Path != "/token" || r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		_ = r.ParseForm()
		e.mu.Lock()
		e.tokenForms = append(e.tokenForms, r.PostForm)
		tamper := e.tamper
		e.mu.Unlock()
		rec := httptest.NewRecorder()
		r.Body = http.NoBody
		h.ServeHTTP(rec, r) // ParseForm kept the form on r
		var out map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		idt, _ := out["id_token"].(string)
		if tamper != nil {
			idt = tamper(idt)
			out["id_token"] = idt
		}
		e.mu.Lock()
		e.idTokens = append(e.idTokens, idt)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(e.srv.Close)
	iss, err := devissuer.New(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	iss.SetDefaultAudience("api://jitpim")
	e.iss, h = iss, iss.Handler()
	cfg := weblogin.Config{
		Issuer: e.srv.URL, ClientID: clientID, ClientSecret: "s3cret-value",
		RedirectURL: redirectURL, CookieKeys: [][]byte{key1},
		Now: e.clock.Now, SecureCookies: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	e.web, err = weblogin.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) setTamper(f func(string) string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tamper = f
}

func cookieNamed(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// start runs StartLogin and returns the response.
func (e *env) start(t *testing.T, returnTo string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	e.web.StartLogin(rec, httptest.NewRequest(http.MethodGet, appURL+"/api/approvals/login", nil), returnTo, domain.StepUp{MFA: true})
	return rec.Result()
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn follows the authorize redirect with the dev shortcut and returns
// the callback URL the issuer redirects to.
func (e *env) signIn(t *testing.T, authorizeURL, oid string, mfa bool) string {
	t.Helper()
	u, err := url.Parse(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("login_hint", oid)
	q.Set("dev_mfa", map[bool]string{true: "true", false: "false"}[mfa])
	q.Set("dev_name", "Ada Approver")
	u.RawQuery = q.Encode()
	resp, err := noRedirect.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s", resp.Status)
	}
	return resp.Header.Get("Location")
}

// callback runs Callback for callbackURL with cookies.
func (e *env) callback(t *testing.T, callbackURL string, cookies ...*http.Cookie) (string, *http.Response, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, callbackURL, nil)
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	rec := httptest.NewRecorder()
	returnTo, err := e.web.Callback(rec, req)
	return returnTo, rec.Result(), err
}

// login runs the whole flow and returns the session cookie.
func (e *env) login(t *testing.T, oid string, mfa bool) *http.Cookie {
	t.Helper()
	resp := e.start(t, "/api/approvals/req-1")
	cb := e.signIn(t, resp.Header.Get("Location"), oid, mfa)
	_, cbResp, err := e.callback(t, cb, cookieNamed(t, resp, weblogin.LoginCookie))
	if err != nil {
		t.Fatal(err)
	}
	sc := cookieNamed(t, cbResp, weblogin.SessionCookie)
	if sc == nil {
		t.Fatal("no session cookie")
	}
	return sc
}

func (e *env) session(cookies ...*http.Cookie) (weblogin.Session, error) {
	req := httptest.NewRequest(http.MethodGet, appURL+"/api/approvals/req-1", nil)
	for _, c := range cookies {
		req.Header.Add("Cookie", c.Name+"="+c.Value) // raw, as a browser or an attacker sends it
	}
	return e.web.Session(req)
}

func wantUnauthorized(t *testing.T, err error, msg string) {
	t.Helper()
	if !domain.IsCode(err, domain.CodeUnauthorized) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v, want unauthorized %q", err, msg)
	}
}

func TestLoginFlow(t *testing.T) {
	for _, mfa := range []bool{true, false} {
		e := newEnv(t, nil)
		resp := e.start(t, "/api/approvals/req-1?stage=2")
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("StartLogin: %s", resp.Status)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		if loc.Path != "/authorize" || q.Get("response_type") != "code" || q.Get("scope") != "openid profile" ||
			q.Get("client_id") != clientID || q.Get("redirect_uri") != redirectURL ||
			q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
			q.Get("prompt") != "login" || q.Get("max_age") != "0" || len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 {
			t.Fatalf("authorize URL %s", loc)
		}
		lc := cookieNamed(t, resp, weblogin.LoginCookie)
		if lc == nil || !lc.HttpOnly || !lc.Secure || lc.SameSite != http.SameSiteLaxMode || lc.Path != "/api/approvals/callback" || lc.MaxAge != 600 {
			t.Fatalf("login cookie %+v", lc)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Error("StartLogin answer may be cached")
		}

		cb := e.signIn(t, loc.String(), approver, mfa)
		returnTo, cbResp, err := e.callback(t, cb, lc)
		if err != nil {
			t.Fatal(err)
		}
		if returnTo != "/api/approvals/req-1?stage=2" {
			t.Fatalf("returnTo = %q", returnTo)
		}
		sc := cookieNamed(t, cbResp, weblogin.SessionCookie)
		if sc == nil || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" ||
			sc.MaxAge < 599 || sc.MaxAge > 600 {
			t.Fatalf("session cookie %+v", sc)
		}
		// The custom handler protocol carries one Set-Cookie per response: a
		// successful callback sends the session cookie and nothing else.
		if n := len(cbResp.Header.Values("Set-Cookie")); n != 1 {
			t.Fatalf("callback sent %d Set-Cookie headers, want exactly the session cookie", n)
		}
		_ = lc
		// The cookie holds claims, never the token from the issuer.
		e.mu.Lock()
		idt := e.idTokens[0]
		form := e.tokenForms[0]
		e.mu.Unlock()
		if strings.Contains(sc.Value, idt) || strings.Contains(sc.Value, strings.Split(idt, ".")[2]) {
			t.Fatal("session cookie holds the ID token")
		}
		if form.Get("client_secret") != "s3cret-value" || form.Get("grant_type") != "authorization_code" || len(form.Get("code_verifier")) != 43 {
			t.Fatalf("token request %v", form)
		}

		s, err := e.session(sc)
		if err != nil {
			t.Fatal(err)
		}
		if s.ObjectID != approver || s.Name != "Ada Approver" || s.MFA() != mfa {
			t.Fatalf("mfa %v: session %+v", mfa, s)
		}
		if d := e.clock.Now().Sub(s.AuthTime); d < -5*time.Second || d > 5*time.Second {
			t.Errorf("auth time %v, want now", s.AuthTime)
		}
		if d := s.Expires.Sub(e.clock.Now()); d < 9*time.Minute || d > 10*time.Minute {
			t.Errorf("session lasts %v, want 10m", d)
		}
	}
}

func TestPublicClientSendsNoSecret(t *testing.T) {
	e := newEnv(t, func(c *weblogin.Config) { c.ClientSecret = "" })
	e.login(t, approver, true)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.tokenForms[0]["client_secret"]; ok {
		t.Fatalf("public client sent a secret: %v", e.tokenForms[0])
	}
}

func TestLocalhostWithoutSecureCookies(t *testing.T) {
	e := newEnv(t, func(c *weblogin.Config) {
		c.RedirectURL, c.SecureCookies = "http://127.0.0.1:7071/api/approvals/callback", false
	})
	resp := e.start(t, "/api/approvals/x")
	if lc := cookieNamed(t, resp, weblogin.LoginCookie); lc == nil || lc.Secure {
		t.Fatalf("login cookie %+v", lc)
	}
}

func TestStateMismatch(t *testing.T) {
	e := newEnv(t, nil)
	first := e.start(t, "/api/approvals/a")
	second := e.start(t, "/api/approvals/b")
	cb := e.signIn(t, first.Header.Get("Location"), approver, true)

	withState := func(s string) string {
		u, _ := url.Parse(cb)
		q := u.Query()
		if s == "" {
			q.Del("state")
		} else {
			q.Set("state", s)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	lc1, lc2 := cookieNamed(t, first, weblogin.LoginCookie), cookieNamed(t, second, weblogin.LoginCookie)
	for _, tt := range []struct {
		name    string
		url     string
		cookies []*http.Cookie
		want    string
	}{
		{"state of another sign-in", cb, []*http.Cookie{lc2}, "sign-in state does not match"},
		{"changed state", withState("AAAAAAAAAAAAAAAAAAAAAA"), []*http.Cookie{lc1}, "sign-in state does not match"},
		{"no state", withState(""), []*http.Cookie{lc1}, "no state"},
		{"no login cookie", cb, nil, "no sign-in was started"},
		{"forged login cookie", cb, []*http.Cookie{{Name: weblogin.LoginCookie, Value: lc1.Value[:len(lc1.Value)-2] + "AA"}}, "state does not match"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := e.callback(t, tt.url, tt.cookies...)
			wantUnauthorized(t, err, tt.want)
			if cookieNamed(t, resp, weblogin.SessionCookie) != nil {
				t.Fatal("session cookie set")
			}
		})
	}
	// The right pair still works (the failures above did not redeem the code).
	if _, _, err := e.callback(t, cb, lc1); err != nil {
		t.Fatal(err)
	}

	// A login cookie older than 10 minutes is refused.
	late := e.start(t, "/api/approvals/c")
	cb = e.signIn(t, late.Header.Get("Location"), approver, true)
	e.clock.Advance(11 * time.Minute)
	_, _, err := e.callback(t, cb, cookieNamed(t, late, weblogin.LoginCookie))
	wantUnauthorized(t, err, "took too long")
}

func TestIssuerError(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.start(t, "/api/approvals/a")
	lc := cookieNamed(t, resp, weblogin.LoginCookie)
	state := func() string { u, _ := url.Parse(resp.Header.Get("Location")); return u.Query().Get("state") }()
	_, _, err := e.callback(t, redirectURL+"?error=access_denied&error_description=<script>&state="+state, lc)
	wantUnauthorized(t, err, "sign-in was not completed (access_denied)")
	_, _, err = e.callback(t, redirectURL+"?error=<b>x</b>&state="+state, lc)
	wantUnauthorized(t, err, "not completed (error)")
}

func TestReplayedCode(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.start(t, "/api/approvals/a")
	lc := cookieNamed(t, resp, weblogin.LoginCookie)
	cb := e.signIn(t, resp.Header.Get("Location"), approver, true)
	if _, _, err := e.callback(t, cb, lc); err != nil {
		t.Fatal(err)
	}
	// Someone holding both the callback URL and the login cookie replays them.
	_, r2, err := e.callback(t, cb, lc)
	wantUnauthorized(t, err, "refused the sign-in code (invalid_grant)")
	if cookieNamed(t, r2, weblogin.SessionCookie) != nil {
		t.Fatal("session cookie set on replay")
	}
}

func TestIDTokenRefused(t *testing.T) {
	e := newEnv(t, nil)
	claimsOf := func(idt string) map[string]any {
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(idt, ".")[1])
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	remint := func(edit func(r *devissuer.TokenRequest, nonce any)) func(string) string {
		return func(idt string) string {
			m := claimsOf(idt)
			r := devissuer.TokenRequest{ObjectID: approver, Audience: clientID, MFA: true,
				Extra: map[string]any{"scp": nil, "nonce": m["nonce"]}}
			edit(&r, m["nonce"])
			tok, err := e.iss.Mint(r)
			if err != nil {
				panic(err)
			}
			return tok
		}
	}
	other, err := devissuer.New(e.srv.URL) // same issuer URL, another key
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tamper func(string) string
		want   string
	}{
		{"wrong aud", remint(func(r *devissuer.TokenRequest, _ any) { r.Audience = "22222222-other-client" }), "audience"},
		{"two audiences", remint(func(r *devissuer.TokenRequest, _ any) { r.Extra["aud"] = []string{clientID, "other"} }), "more than one audience"},
		{"wrong nonce", remint(func(r *devissuer.TokenRequest, _ any) { r.Extra["nonce"] = "not-the-nonce" }), "nonce does not match"},
		{"no nonce", remint(func(r *devissuer.TokenRequest, _ any) { r.Extra["nonce"] = nil }), "nonce does not match"},
		{"expired", remint(func(r *devissuer.TokenRequest, _ any) { r.Lifetime = -time.Hour }), "token expired"},
		{"wrong issuer", remint(func(r *devissuer.TokenRequest, _ any) { r.Extra["iss"] = "https://login.example.com/v2.0" }), "issued by a different provider"},
		{"access token", remint(func(r *devissuer.TokenRequest, _ any) { delete(r.Extra, "scp") }), "access token"},
		{"stale sign-in", remint(func(r *devissuer.TokenRequest, _ any) { r.Extra["auth_time"] = time.Now().Add(-time.Hour).Unix() }), "not fresh"},
		{"no oid", remint(func(r *devissuer.TokenRequest, _ any) { r.Extra["oid"] = nil }), "object id"},
		{"bad signature", func(idt string) string {
			p := strings.Split(idt, ".")
			return p[0] + "." + p[1] + "." + strings.Repeat("A", len(p[2]))
		}, "signature"},
		{"foreign key", func(idt string) string {
			m := claimsOf(idt)
			tok, _ := other.Mint(devissuer.TokenRequest{ObjectID: approver, Audience: clientID, MFA: true,
				Extra: map[string]any{"scp": nil, "nonce": m["nonce"]}})
			return tok
		}, "failed to verify signature"},
		{"alg none", func(idt string) string {
			p := strings.Split(idt, ".")
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + p[1] + "."
		}, "token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.setTamper(tt.tamper)
			resp := e.start(t, "/api/approvals/a")
			cb := e.signIn(t, resp.Header.Get("Location"), approver, true)
			_, cbResp, err := e.callback(t, cb, cookieNamed(t, resp, weblogin.LoginCookie))
			wantUnauthorized(t, err, tt.want)
			if cookieNamed(t, cbResp, weblogin.SessionCookie) != nil {
				t.Fatal("session cookie set")
			}
		})
	}
}

func TestSessionCookieTampered(t *testing.T) {
	e := newEnv(t, nil)
	sc := e.login(t, approver, false)
	payload, mac, _ := strings.Cut(sc.Value, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forgedPayload := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte(`"amr":["pwd"]`), []byte(`"amr":["pwd","mfa"]`), 1))
	if forgedPayload == payload {
		t.Fatalf("payload %s has no amr to change", raw)
	}
	otherKeys := newEnv(t, func(c *weblogin.Config) { c.CookieKeys = [][]byte{key2} })
	foreign := otherKeys.login(t, approver, true)

	for _, tt := range []struct{ name, value, want string }{
		{"payload changed (mfa added)", forgedPayload + "." + mac, "not valid"},
		{"mac changed", payload + "." + strings.Repeat("A", len(mac)), "not valid"},
		{"no mac", payload, "not valid"},
		{"line break", payload[:5] + "\r\n" + payload[5:] + "." + mac, ""}, // net/http may drop it first: "sign-in required"
		{"other keys", foreign.Value, "not valid"},
		{"garbage", "x", "not valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.session(&http.Cookie{Name: weblogin.SessionCookie, Value: tt.value})
			wantUnauthorized(t, err, tt.want)
		})
	}
	_, err := e.session()
	wantUnauthorized(t, err, "sign-in required")

	// A login cookie is not a session cookie, even though both are ours.
	lc := cookieNamed(t, e.start(t, "/x"), weblogin.LoginCookie)
	_, err = e.session(&http.Cookie{Name: weblogin.SessionCookie, Value: lc.Value})
	wantUnauthorized(t, err, "not valid")

	if _, err := e.session(sc); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	_, err = e.session(sc)
	wantUnauthorized(t, err, "session expired")
}

func TestCookieKeyRotation(t *testing.T) {
	old := newEnv(t, func(c *weblogin.Config) { c.CookieKeys = [][]byte{key1} })
	sc := old.login(t, approver, true)
	rotated, err := weblogin.New(context.Background(), weblogin.Config{
		Issuer: old.srv.URL, ClientID: clientID, RedirectURL: redirectURL,
		CookieKeys: [][]byte{key2, key1}, Now: old.clock.Now, SecureCookies: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, appURL+"/api/approvals/x", nil)
	req.AddCookie(&http.Cookie{Name: weblogin.SessionCookie, Value: sc.Value})
	s, err := rotated.Session(req)
	if err != nil {
		t.Fatalf("cookie of the previous key: %v", err)
	}
	// CSRF tokens of the previous key verify too.
	tok := old.web.CSRFToken(s, "approve:req-1:stage-1")
	if err := rotated.CheckCSRF(s, "approve:req-1:stage-1", tok); err != nil {
		t.Fatal(err)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	s, err := e.session(e.login(t, approver, true))
	if err != nil {
		t.Fatal(err)
	}
	const form = "approve:req-1:stage-1"
	tok := e.web.CSRFToken(s, form)
	if err := e.web.CheckCSRF(s, form, tok); err != nil {
		t.Fatal(err)
	}
	if e.web.CSRFToken(s, form) != tok {
		t.Fatal("token is not stable within a session")
	}

	// Another sign-in of the same person is another session.
	s2, err := e.session(e.login(t, approver, true))
	if err != nil {
		t.Fatal(err)
	}
	other := s
	other.ObjectID = "33333333-3333-4333-8333-333333333333"
	changed := "A" + tok[1:]
	if tok[0] == 'A' { // a token is random: make sure the change is one
		changed = "B" + tok[1:]
	}
	for _, tt := range []struct {
		name    string
		s       weblogin.Session
		form    string
		tok     string
		wantErr string
	}{
		{"other form", s, "approve:req-1:stage-2", tok, "form token is not valid"},
		{"other session", s2, form, tok, "form token is not valid"},
		{"other user", other, form, tok, "form token is not valid"},
		{"empty token", s, form, "", "form token is not valid"},
		{"changed token", s, form, changed, "form token is not valid"},
		{"padded token", s, form, tok + "=", "form token is not valid"},
		{"no session", weblogin.Session{}, form, tok, "session expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantUnauthorized(t, e.web.CheckCSRF(tt.s, tt.form, tt.tok), tt.wantErr)
		})
	}
	if err := e.web.CheckCSRF(s, "", tok); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("empty form id: %v", err)
	}
	e.clock.Advance(11 * time.Minute)
	wantUnauthorized(t, e.web.CheckCSRF(s, form, tok), "session expired")
}

func TestReturnTo(t *testing.T) {
	e := newEnv(t, nil)
	for _, bad := range []string{
		"", "api/approvals", "https://evil.example", "http:/evil.example", "//evil.example", "//evil.example/api/approvals",
		`/\evil.example`, `\\evil.example`, `/api\..\x`, "/\t/evil.example", "/\n/evil.example", "/x\x00",
		"javascript:alert(1)", " /api/approvals", "/" + strings.Repeat("a", 3000),
	} {
		if weblogin.ValidReturnTo(bad) {
			t.Errorf("ValidReturnTo(%q) = true", bad)
		}
		resp := e.start(t, bad)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || len(resp.Cookies()) != 0 {
			t.Errorf("StartLogin(%q): %s, Location %q, cookies %v", bad, resp.Status, resp.Header.Get("Location"), resp.Cookies())
		}
	}
	for _, good := range []string{"/", "/api/approvals/req-1", "/api/approvals/req-1?stage=2&x=%2F%2Fevil", "/api/approvals/a#frag"} {
		if !weblogin.ValidReturnTo(good) {
			t.Errorf("ValidReturnTo(%q) = false", good)
		}
	}
}

func TestEasyAuth(t *testing.T) {
	e := newEnv(t, func(c *weblogin.Config) { c.TrustEasyAuth = true })
	mint := func(iss *devissuer.Issuer, edit func(*devissuer.TokenRequest)) string {
		r := devissuer.TokenRequest{ObjectID: approver, Name: "Ada", Audience: clientID, MFA: true,
			Extra: map[string]any{"scp": nil, "nonce": "easy-auth-nonce"}}
		if edit != nil {
			edit(&r)
		}
		tok, err := iss.Mint(r)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	withHeader := func(w *weblogin.Web, vals []string, cookies ...*http.Cookie) (weblogin.Session, error) {
		req := httptest.NewRequest(http.MethodGet, appURL+"/api/approvals/x", nil)
		for _, v := range vals {
			req.Header.Add(weblogin.EasyAuthIDTokenHeader, v)
		}
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		return w.Session(req)
	}

	good := mint(e.iss, nil)
	s, err := withHeader(e.web, []string{good})
	if err != nil {
		t.Fatal(err)
	}
	if s.ObjectID != approver || !s.MFA() || s.Name != "Ada" {
		t.Fatalf("session %+v", s)
	}
	tok := e.web.CSRFToken(s, "f")
	s2, _ := withHeader(e.web, []string{good})
	if err := e.web.CheckCSRF(s2, "f", tok); err != nil {
		t.Fatalf("CSRF across requests with the same Easy Auth token: %v", err)
	}

	forger, err := devissuer.New(e.srv.URL) // signs with a key the issuer never published
	if err != nil {
		t.Fatal(err)
	}
	sc := e.login(t, approver, true)
	for _, tt := range []struct {
		name string
		vals []string
		want string
	}{
		{"forged signature", []string{mint(forger, nil)}, "failed to verify signature"},
		{"wrong aud", []string{mint(e.iss, func(r *devissuer.TokenRequest) { r.Audience = "other" })}, "audience"},
		{"access token", []string{mint(e.iss, func(r *devissuer.TokenRequest) { delete(r.Extra, "scp") })}, "access token"},
		{"expired", []string{mint(e.iss, func(r *devissuer.TokenRequest) { r.Lifetime = -time.Hour })}, "expired"},
		{"garbage", []string{"not-a-token"}, "malformed"},
		{"repeated", []string{good, good}, "repeated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A bad header is refused, not skipped, even next to a good cookie.
			_, err := withHeader(e.web, tt.vals, sc)
			wantUnauthorized(t, err, tt.want)
		})
	}

	// Without TrustEasyAuth the header is ignored: no cookie, no session,
	// and a cookie session is unaffected by a forged header.
	plain := newEnv(t, nil)
	_, err = withHeader(plain.web, []string{mint(plain.iss, nil)})
	wantUnauthorized(t, err, "sign-in required")
	psc := plain.login(t, "44444444-4444-4444-8444-444444444444", false)
	s, err = withHeader(plain.web, []string{mint(forger, nil)}, psc)
	if err != nil || s.ObjectID != "44444444-4444-4444-8444-444444444444" {
		t.Fatalf("session %+v, err %v", s, err)
	}
}

// Tokens with made-up key ids must not make jitpim fetch the issuer's keys
// once per token: with TrustEasyAuth anyone can send one in a header.
func TestEasyAuthUnknownKeysAreRateLimited(t *testing.T) {
	e := newEnv(t, func(c *weblogin.Config) { c.TrustEasyAuth = true })
	send := func(iss *devissuer.Issuer) error {
		tok, err := iss.Mint(devissuer.TokenRequest{ObjectID: approver, Name: "Ada", Audience: clientID,
			Extra: map[string]any{"scp": nil}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, appURL+"/", nil)
		req.Header.Set(weblogin.EasyAuthIDTokenHeader, tok)
		_, err = e.web.Session(req)
		return err
	}
	fetches := func() int { e.mu.Lock(); defer e.mu.Unlock(); return e.keyFetches }
	if err := send(e.iss); err != nil {
		t.Fatal(err)
	}
	if got := fetches(); got != 1 {
		t.Fatalf("key set fetched %d times for the first token, want 1", got)
	}
	for range 20 {
		forger, err := devissuer.New(e.srv.URL) // a fresh key, so a kid never published
		if err != nil {
			t.Fatal(err)
		}
		wantUnauthorized(t, send(forger), "signing key is not known")
	}
	if got := fetches(); got != 1 {
		t.Fatalf("20 tokens with unknown kids fetched the key set %d more times, want 0", got-1)
	}
	// After the interval one refetch is allowed, so a rotated key is found.
	e.clock.Advance(31 * time.Second)
	kid, err := e.iss.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if err := send(e.iss); err != nil {
		t.Fatalf("token signed with rotated key %s: %v", kid, err)
	}
	if got := fetches(); got != 2 {
		t.Fatalf("key set fetched %d times after rotation, want 2", got)
	}
}

func TestIssuerUnreachable(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.Close()
	resp := e.start(t, "/api/approvals/a")
	if resp.StatusCode != http.StatusServiceUnavailable || len(resp.Cookies()) != 0 {
		t.Fatalf("StartLogin with the issuer down: %s", resp.Status)
	}
}

func TestNewRefuses(t *testing.T) {
	base := func() weblogin.Config {
		return weblogin.Config{Issuer: "https://login.microsoftonline.com/tid/v2.0", ClientID: clientID,
			RedirectURL: redirectURL, CookieKeys: [][]byte{key1}, SecureCookies: true}
	}
	if _, err := weblogin.New(context.Background(), base()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(*weblogin.Config)
		want string
	}{
		{"no issuer", func(c *weblogin.Config) { c.Issuer = "" }, "issuer"},
		{"http issuer not loopback", func(c *weblogin.Config) { c.Issuer = "http://login.example.com" }, "issuer"},
		{"no client", func(c *weblogin.Config) { c.ClientID = " " }, "clientId"},
		{"relative redirect", func(c *weblogin.Config) { c.RedirectURL = "/api/approvals/callback" }, "redirectUrl"},
		{"http redirect not loopback", func(c *weblogin.Config) { c.RedirectURL = "http://jitpim.example.net/cb" }, "redirectUrl"},
		{"insecure cookies on https", func(c *weblogin.Config) { c.SecureCookies = false }, "secureCookies"},
		{"no keys", func(c *weblogin.Config) { c.CookieKeys = nil }, "cookieKeys"},
		{"short key", func(c *weblogin.Config) { c.CookieKeys = [][]byte{make([]byte, 31)} }, "cookieKeys"},
		{"duplicate key", func(c *weblogin.Config) { c.CookieKeys = [][]byte{key1, bytes.Clone(key1)} }, "cookieKeys"},
		{"negative ttl", func(c *weblogin.Config) { c.SessionTTL = -time.Minute }, "sessionTtl"},
		{"long ttl", func(c *weblogin.Config) { c.SessionTTL = 9 * time.Hour }, "sessionTtl"},
	} {
		c := base()
		tt.edit(&c)
		if _, err := weblogin.New(context.Background(), c); !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want invalid %q", tt.name, err, tt.want)
		}
	}
}

// A plain sign-in may reuse the identity provider's session; a step-up
// forces a new one and asks for the authentication context as an essential
// acrs claim, and its callback refuses a sign-in older than its start.
func TestStepUpRequest(t *testing.T) {
	e := newEnv(t, nil)
	for _, tt := range []struct {
		name                      string
		need                      domain.StepUp
		prompt, maxAge, claimsHas string
	}{
		{"plain", domain.StepUp{}, "", "", ""},
		{"mfa", domain.StepUp{MFA: true}, "login", "0", ""},
		{"auth context", domain.StepUp{AuthContext: "c1"}, "login", "0", `{"id_token":{"acrs":{"essential":true,"value":"c1"}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.web.StartLogin(rec, httptest.NewRequest(http.MethodGet, appURL+"/login", nil), "/", tt.need)
			loc, err := url.Parse(rec.Result().Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if q.Get("prompt") != tt.prompt || q.Get("max_age") != tt.maxAge || q.Get("claims") != tt.claimsHas {
				t.Fatalf("authorize URL %s", loc)
			}
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" {
				t.Fatalf("authorize URL lacks PKCE or nonce: %s", loc)
			}
		})
	}

	// An old sign-in (the identity provider's remembered session) is fine
	// for a plain sign-in, and its age is what the session reports.
	old := time.Now().Add(-time.Hour).Unix()
	e.setTamper(func(idt string) string {
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(idt, ".")[1])
		var m map[string]any
		json.Unmarshal(b, &m)
		tok, _ := e.iss.Mint(devissuer.TokenRequest{ObjectID: approver, Audience: clientID, MFA: true,
			Extra: map[string]any{"scp": nil, "nonce": m["nonce"], "auth_time": old}})
		return tok
	})
	rec := httptest.NewRecorder()
	e.web.StartLogin(rec, httptest.NewRequest(http.MethodGet, appURL+"/login", nil), "/", domain.StepUp{})
	resp := rec.Result()
	_, cbResp, err := e.callback(t, e.signIn(t, resp.Header.Get("Location"), approver, true), cookieNamed(t, resp, weblogin.LoginCookie))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.session(cookieNamed(t, cbResp, weblogin.SessionCookie))
	if err != nil || s.AuthTime.Unix() != old {
		t.Fatalf("session %+v, %v", s, err)
	}
}

func TestLoopbackSessionCookie(t *testing.T) {
	e := newEnv(t, func(c *weblogin.Config) {
		c.RedirectURL, c.SecureCookies = "http://127.0.0.1:7071/api/approvals/callback", false
	})
	resp := e.start(t, "/")
	_, cbResp, err := e.callback(t, e.signIn(t, resp.Header.Get("Location"), approver, true), cookieNamed(t, resp, weblogin.LoginCookie))
	if err != nil {
		t.Fatal(err)
	}
	if cookieNamed(t, cbResp, weblogin.SessionCookie) != nil {
		t.Fatal("__Host- cookie without Secure: browsers drop it")
	}
	sc := cookieNamed(t, cbResp, weblogin.LoopbackSessionCookie)
	if sc == nil || sc.Secure || !sc.HttpOnly || sc.Path != "/" {
		t.Fatalf("session cookie %+v", sc)
	}
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7071/", nil)
	req.AddCookie(&http.Cookie{Name: sc.Name, Value: sc.Value})
	if s, err := e.web.Session(req); err != nil || s.ObjectID != approver {
		t.Fatalf("session %+v, %v", s, err)
	}
}
