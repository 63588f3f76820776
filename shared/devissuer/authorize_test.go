package devissuer_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/jitpim/jitpim/shared/devissuer"
)

const (
	clientID     = "web-client"
	cbURL        = "http://127.0.0.1:7071/api/approvals/callback"
	pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func authParams() url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {cbURL},
		"scope": {"openid profile"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge(pkceVerifier)}, "code_challenge_method": {"S256"},
		"prompt": {"login"}, "max_age": {"0"},
	}
}

// authorize GETs /authorize and returns the redirect's query.
func authorize(t *testing.T, base string, q url.Values) (*http.Response, url.Values) {
	t.Helper()
	resp, err := noRedirect.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return resp, loc.Query()
}

func redeem(t *testing.T, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func grant(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cbURL},
		"client_id": {clientID}, "code_verifier": {pkceVerifier}, "client_secret": {"anything"}}
}

// idClaims are the ID token claims the sign-in of shared/weblogin reads.
type idClaims struct {
	ObjectID string   `json:"oid"`
	Name     string   `json:"name"`
	AMR      []string `json:"amr"`
	ACRS     []string `json:"acrs"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
}

func (c idClaims) HasMFA() bool { return slices.Contains(c.AMR, "mfa") }

// oidcVerifier checks ID tokens with go-oidc, as shared/weblogin does: the
// dev issuer must serve what that library needs (discovery, JWKS, RS256).
type oidcVerifier struct{ v *oidc.IDTokenVerifier }

func (o oidcVerifier) Verify(ctx context.Context, raw, nonce string) (idClaims, error) {
	idt, err := o.v.Verify(ctx, raw)
	if err != nil {
		return idClaims{}, err
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return idClaims{}, err
	}
	if c.Nonce != nonce {
		return idClaims{}, fmt.Errorf("nonce %q, want %q", c.Nonce, nonce)
	}
	return c, nil
}

func idVerifier(t *testing.T, issuer string) oidcVerifier {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	return oidcVerifier{p.Verifier(&oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{oidc.RS256}})}
}

func TestDiscoveryOfCodeFlow(t *testing.T) {
	_, srv := serve(t)
	var doc map[string]any
	getJSON(t, srv.URL+"/.well-known/openid-configuration", &doc)
	if doc["authorization_endpoint"] != srv.URL+"/authorize" || doc["token_endpoint"] != srv.URL+"/token" {
		t.Fatalf("discovery = %v", doc)
	}
	if p, err := oidc.NewProvider(context.Background(), srv.URL); err != nil || p.Endpoint().AuthURL != srv.URL+"/authorize" || p.Endpoint().TokenURL != srv.URL+"/token" {
		t.Fatalf("go-oidc discovery: %+v %v", p, err)
	}
	b, _ := json.Marshal(doc)
	for _, want := range []string{`"response_types_supported":["code"]`, `"code_challenge_methods_supported":["S256"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("discovery lacks %s", want)
		}
	}
}

func TestSignInPage(t *testing.T) {
	_, srv := serve(t)
	q := authParams()
	q.Set("state", `"><script>alert(1)</script>`)
	resp, err := http.Get(srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<form method="post" action="authorize">`, `name="oid"`, `name="name"`, `name="mfa"`, "I completed MFA",
		`name="code_challenge" value="` + challenge(pkceVerifier) + `"`, `name="nonce" value="n-1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Fatal("state is not escaped")
	}

	// Posting the form issues a code bound to what was typed.
	form := authParams()
	form.Set("oid", "33333333-3333-4333-8333-333333333333")
	form.Set("name", "Form User")
	form.Set("mfa", "true")
	resp, err = noRedirect.PostForm(srv.URL+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "127.0.0.1:7071" || loc.Path != "/api/approvals/callback" || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("%s -> %s", resp.Status, loc)
	}
	status, out := redeem(t, srv.URL, grant(loc.Query().Get("code")))
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, out)
	}
	c, err := idVerifier(t, srv.URL).Verify(context.Background(), out["id_token"].(string), "n-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.ObjectID != "33333333-3333-4333-8333-333333333333" || c.Name != "Form User" || !c.HasMFA() || c.AuthTime == 0 {
		t.Fatalf("claims %+v", c)
	}

	// Cancel sends the user back with access_denied.
	form.Set("action", "cancel")
	resp, err = noRedirect.PostForm(srv.URL+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" {
		t.Fatalf("cancel -> %s", loc)
	}
}

func TestCodeGrant(t *testing.T) {
	iss, srv := serve(t)
	var mu sync.Mutex
	now := time.Now()
	devissuer.SetNow(iss, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v := idVerifier(t, srv.URL)
	ctx := context.Background()

	code := func(oid string, mfa bool) string {
		t.Helper()
		q := authParams()
		q.Set("login_hint", oid)
		q.Set("dev_mfa", map[bool]string{true: "true", false: "false"}[mfa])
		resp, got := authorize(t, srv.URL, q)
		if resp.StatusCode != http.StatusFound || got.Get("state") != "st-1" || got.Get("code") == "" {
			t.Fatalf("authorize: %s %v", resp.Status, got)
		}
		return got.Get("code")
	}

	for _, mfa := range []bool{true, false} {
		status, out := redeem(t, srv.URL, grant(code("11111111-1111-4111-8111-111111111111", mfa)))
		if status != http.StatusOK || out["token_type"] != "Bearer" || out["expires_in"] != 3600.0 || out["access_token"] == "" {
			t.Fatalf("%d %v", status, out)
		}
		idt := out["id_token"].(string)
		c, err := v.Verify(ctx, idt, "n-1")
		if err != nil {
			t.Fatal(err)
		}
		wantAMR := map[bool]string{true: "pwd,mfa", false: "pwd"}[mfa]
		if c.ObjectID != "11111111-1111-4111-8111-111111111111" || strings.Join(c.AMR, ",") != wantAMR || c.HasMFA() != mfa {
			t.Fatalf("claims %+v", c)
		}
		var raw map[string]any
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(idt, ".")[1])
		json.Unmarshal(b, &raw)
		if raw["aud"] != clientID || raw["nonce"] != "n-1" || raw["auth_time"] == nil || raw["name"] != nil && raw["name"] != "" || raw["scp"] != nil {
			t.Fatalf("id token claims %v", raw)
		}
		// The access token is an access token for the API.
		if _, err := verifier(t, srv.URL).Verify(ctx, out["access_token"].(string)); err != nil {
			t.Fatalf("access token: %v", err)
		}
	}

	// Single use, even when the first redemption failed.
	c1 := code("11111111-1111-4111-8111-111111111111", true)
	if status, _ := redeem(t, srv.URL, grant(c1)); status != http.StatusOK {
		t.Fatal("first redemption failed")
	}
	status, out := redeem(t, srv.URL, grant(c1))
	if status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", status, out)
	}

	for _, tt := range []struct {
		name  string
		edit  func(url.Values)
		error string
	}{
		{"wrong verifier", func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 43)) }, "invalid_grant"},
		{"no verifier", func(f url.Values) { f.Del("code_verifier") }, "invalid_grant"},
		{"wrong redirect", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:9/cb") }, "invalid_grant"},
		{"wrong client", func(f url.Values) { f.Set("client_id", "other") }, "invalid_grant"},
		{"wrong grant type", func(f url.Values) { f.Set("grant_type", "password") }, "unsupported_grant_type"},
		{"unknown code", func(f url.Values) { f.Set("code", "nope") }, "invalid_grant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := code("o-2", true)
			f := grant(c)
			tt.edit(f)
			status, out := redeem(t, srv.URL, f)
			if status != http.StatusBadRequest || out["error"] != tt.error {
				t.Fatalf("%d %v, want %s", status, out, tt.error)
			}
			if tt.error == "invalid_grant" && tt.name != "unknown code" {
				// The failed attempt used the code up.
				if status, _ := redeem(t, srv.URL, grant(c)); status != http.StatusBadRequest {
					t.Fatal("code still works after a failed redemption")
				}
			}
		})
	}

	// Codes live 60 seconds.
	late := code("o-3", true)
	advance(61 * time.Second)
	if status, out := redeem(t, srv.URL, grant(late)); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", status, out)
	}
}

func TestAuthorizeRefuses(t *testing.T) {
	_, srv := serve(t)
	for _, tt := range []struct {
		name string
		edit func(url.Values)
		want string
	}{
		{"no client", func(q url.Values) { q.Del("client_id") }, "client_id"},
		{"relative redirect", func(q url.Values) { q.Set("redirect_uri", "/cb") }, "redirect_uri"},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, "response_type"},
		{"no openid", func(q url.Values) { q.Set("scope", "profile") }, "openid"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "S256"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "S256"},
		{"form_post", func(q url.Values) { q.Set("response_mode", "form_post") }, "response_mode"},
		{"bad dev_mfa", func(q url.Values) {
			q.Set("login_hint", "11111111-1111-4111-8111-111111111111")
			q.Set("dev_mfa", "yes")
		}, "dev_mfa"},
		{"bad oid", func(q url.Values) { q.Set("login_hint", "a b"); q.Set("dev_mfa", "true") }, "oid"},
		{"repeated state", func(q url.Values) { q.Add("state", "two") }, "repeated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams()
			tt.edit(q)
			resp, err := noRedirect.Get(srv.URL + "/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), tt.want) {
				t.Fatalf("%s %q, want 400 %q", resp.Status, body, tt.want)
			}
		})
	}
	// login_hint alone shows the page pre-filled instead of skipping it.
	q := authParams()
	q.Set("login_hint", "o-hint")
	resp, err := noRedirect.Get(srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `value="o-hint"`) {
		t.Fatalf("%s %s", resp.Status, body)
	}
}

// A step-up asks for an authentication context with the claims parameter,
// as Entra is asked; a sign-in with MFA satisfies it, one without does not.
func TestAuthContextClaimsRequest(t *testing.T) {
	_, srv := serve(t)
	v := idVerifier(t, srv.URL)
	for _, mfa := range []bool{true, false} {
		q := authParams()
		q.Set("claims", `{"id_token":{"acrs":{"essential":true,"value":"c1"}}}`)
		q.Set("login_hint", "11111111-1111-4111-8111-111111111111")
		q.Set("dev_mfa", map[bool]string{true: "true", false: "false"}[mfa])
		resp, got := authorize(t, srv.URL, q)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("authorize: %s", resp.Status)
		}
		status, out := redeem(t, srv.URL, grant(got.Get("code")))
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, out)
		}
		c, err := v.Verify(context.Background(), out["id_token"].(string), "n-1")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "c1", false: ""}[mfa]; strings.Join(c.ACRS, ",") != want {
			t.Fatalf("mfa %v: acrs %v, want %q", mfa, c.ACRS, want)
		}
	}
	q := authParams()
	q.Set("claims", `{"id_token":`)
	if resp, _ := authorize(t, srv.URL, q); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed claims: %s", resp.Status)
	}
}
