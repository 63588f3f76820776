package devissuer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The authorization code flow (OIDC Core 3.1 with PKCE, RFC 7636), enough
// for shared/weblogin to sign people in locally:
//
//	GET  /authorize   the sign-in page: "sign in as" an object id, with or without MFA
//	POST /authorize   issues a one-time code, 302 to redirect_uri?code=…&state=…
//	POST /token       grant_type=authorization_code (form-encoded) → id_token
//
// There is no client registry and no password: whoever reaches the page
// signs in as whomever they type. That is the point of a dev issuer and
// the reason it must never be reachable from anywhere but localhost.
//
// A step-up asks for a Conditional Access authentication context as Entra
// is asked: claims={"id_token":{"acrs":{"essential":true,"value":"c1"}}}.
// Here a sign-in with MFA satisfies it, and the ID token lists it in acrs.
//
// Development-only shortcut for scripts and tests: GET /authorize with the
// usual parameters plus login_hint=<object id> and dev_mfa=true|false
// (optionally dev_name=<display name>) skips the page and redirects with a
// code at once. Entra has no such parameters; production code must never
// send them.

const (
	codeLifetime = 60 * time.Second
	maxCodes     = 10000 // bounds memory if someone loops on /authorize
	maxFormBytes = 64 << 10
	maxIDLen     = 128
)

// codeGrant is what a code stands for.
type codeGrant struct {
	clientID, redirectURI string
	challenge             string // S256 code_challenge
	nonce                 string
	acrs                  []string // authentication contexts asked for; granted with MFA
	oid, name             string
	mfa                   bool
	authTime, expires     time.Time
}

type codeStore struct {
	mu sync.Mutex
	m  map[string]codeGrant
}

func (s *codeStore) put(now time.Time, g codeGrant) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]codeGrant{}
	}
	for c, old := range s.m {
		if !now.Before(old.expires) {
			delete(s.m, c)
		}
	}
	if len(s.m) >= maxCodes {
		return "", false
	}
	code := rand.Text() // 128 random bits
	s.m[code] = g
	return code, true
}

// take removes and returns the grant of code: a code works once, even when
// the request that redeems it fails a check.
func (s *codeStore) take(now time.Time, code string) (codeGrant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.m[code]
	delete(s.m, code)
	if !ok || !now.Before(g.expires) {
		return codeGrant{}, false
	}
	return g, true
}

// authRequest is an authorization request of the code flow.
type authRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, Nonce string
	CodeChallenge, CodeChallengeMethod, ResponseMode         string
	ACRS                                                     []string // from the claims parameter
}

// authParams are the request parameters carried through the sign-in page.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "response_mode", "prompt", "max_age", "claims"}

func parseAuthRequest(v url.Values) (authRequest, string) {
	for _, p := range authParams {
		if len(v[p]) > 1 {
			return authRequest{}, p + " is repeated"
		}
	}
	a := authRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		Scope: v.Get("scope"), State: v.Get("state"), Nonce: v.Get("nonce"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
		ResponseMode: v.Get("response_mode"),
	}
	if c := v.Get("claims"); c != "" {
		var req struct {
			IDToken struct {
				ACRS struct {
					Value  string   `json:"value"`
					Values []string `json:"values"`
				} `json:"acrs"`
			} `json:"id_token"`
		}
		if json.Unmarshal([]byte(c), &req) != nil {
			return a, "claims must be a JSON claims request"
		}
		for _, v := range append([]string{req.IDToken.ACRS.Value}, req.IDToken.ACRS.Values...) {
			if v != "" {
				if !validID(v) {
					return a, "acrs values must be printable without spaces"
				}
				a.ACRS = append(a.ACRS, v)
			}
		}
	}
	u, err := url.Parse(a.RedirectURI)
	switch {
	case a.ClientID == "":
		return a, "client_id is required"
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "":
		return a, "redirect_uri must be an absolute http(s) URL without a fragment"
	case a.ResponseType != "code":
		return a, `response_type must be "code"`
	case !slices.Contains(strings.Fields(a.Scope), "openid"):
		return a, `scope must include "openid"`
	case a.ResponseMode != "" && a.ResponseMode != "query":
		return a, `response_mode must be "query"`
	case a.CodeChallengeMethod != "S256":
		return a, `code_challenge_method must be "S256" (PKCE is required)`
	case !validVerifier(a.CodeChallenge) || len(a.CodeChallenge) != 43:
		return a, "code_challenge must be a base64url SHA-256 (43 characters)"
	}
	return a, ""
}

// validVerifier checks the RFC 7636 4.1 syntax (also fits a S256 challenge).
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jitpim dev issuer: sign in</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}label{display:block;margin:.8em 0}
input[type=text]{width:100%}p.warn{color:#a00}</style></head>
<body><h1>Dev issuer sign-in</h1>
<p class="warn">Development only: anyone who can reach this page signs in as anyone.</p>
<p>Application <code>{{.ClientID}}</code> asks you to sign in; you will be sent back to <code>{{.RedirectURI}}</code>.</p>
{{if .Fresh}}<p>This is a step-up: the application asks for a new sign-in{{if .ACRS}} satisfying authentication context {{range .ACRS}}<code>{{.}}</code> {{end}}(MFA satisfies it here){{end}}.</p>{{end}}
<form method="post" action="authorize">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Object id (oid) <input type="text" name="oid" value="{{.OID}}" required autofocus></label>
<label>Display name <input type="text" name="name" value="{{.Name}}"></label>
<label><input type="checkbox" name="mfa" value="true"> I completed MFA</label>
<button type="submit" name="action" value="signin">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form></body></html>
`))

type hiddenField struct{ Name, Value string }

func (i *Issuer) authorizeGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, problem := parseAuthRequest(q)
	if problem != "" {
		badAuthorize(w, problem)
		return
	}
	hint := q.Get("login_hint")
	if mfa, ok := q["dev_mfa"]; ok && hint != "" {
		// The development-only shortcut (see the top of this file).
		if len(mfa) != 1 || (mfa[0] != "true" && mfa[0] != "false") {
			badAuthorize(w, "dev_mfa must be true or false")
			return
		}
		i.issueCode(w, r, a, hint, q.Get("dev_name"), mfa[0] == "true")
		return
	}
	var hidden []hiddenField
	for _, p := range authParams {
		if v := q.Get(p); v != "" {
			hidden = append(hidden, hiddenField{p, v})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	_ = signInPage.Execute(w, map[string]any{
		"ClientID": a.ClientID, "RedirectURI": a.RedirectURI, "Hidden": hidden,
		"OID": hint, "Name": q.Get("dev_name"), "ACRS": a.ACRS, "Fresh": q.Get("prompt") == "login",
	})
}

func (i *Issuer) authorizePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		badAuthorize(w, "form could not be read")
		return
	}
	f := r.PostForm
	a, problem := parseAuthRequest(f)
	if problem != "" {
		badAuthorize(w, problem)
		return
	}
	if f.Get("action") == "cancel" {
		redirect(w, r, a.RedirectURI, url.Values{"error": {"access_denied"}, "error_description": {"the user cancelled the sign-in"}}, a.State)
		return
	}
	mfa := f.Get("mfa")
	if mfa != "" && mfa != "true" && mfa != "on" {
		badAuthorize(w, "mfa must be true when set")
		return
	}
	i.issueCode(w, r, a, strings.TrimSpace(f.Get("oid")), strings.TrimSpace(f.Get("name")), mfa != "")
}

func (i *Issuer) issueCode(w http.ResponseWriter, r *http.Request, a authRequest, oid, name string, mfa bool) {
	if !validID(oid) {
		badAuthorize(w, "oid must be 1 to 128 printable characters without spaces")
		return
	}
	if len(name) > 256 {
		badAuthorize(w, "name is too long")
		return
	}
	now := i.now()
	code, ok := i.codes.put(now, codeGrant{
		clientID: a.ClientID, redirectURI: a.RedirectURI, challenge: a.CodeChallenge, nonce: a.Nonce, acrs: a.ACRS,
		oid: oid, name: name, mfa: mfa, authTime: now, expires: now.Add(codeLifetime),
	})
	if !ok {
		http.Error(w, "too many outstanding codes; try again in a minute", http.StatusServiceUnavailable)
		return
	}
	redirect(w, r, a.RedirectURI, url.Values{"code": {code}}, a.State)
}

func redirect(w http.ResponseWriter, r *http.Request, to string, params url.Values, state string) {
	u, _ := url.Parse(to) // checked by parseAuthRequest
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// badAuthorize answers a bad authorization request with a page, never a
// redirect: the redirect_uri may be the thing that is wrong (RFC 6749 4.1.2.1).
func badAuthorize(w http.ResponseWriter, problem string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "invalid authorization request: "+problem, http.StatusBadRequest)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

// codeGrant redeems an authorization code at POST /token.
func (i *Issuer) codeGrant(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "form could not be read")
		return
	}
	f := r.PostForm
	for _, p := range []string{"grant_type", "code", "redirect_uri", "client_id", "code_verifier", "client_secret"} {
		if len(f[p]) > 1 {
			oauthError(w, "invalid_request", p+" is repeated")
			return
		}
	}
	if gt := f.Get("grant_type"); gt != "authorization_code" {
		oauthError(w, "unsupported_grant_type", `grant_type must be "authorization_code" (or POST JSON for the minting shortcut)`)
		return
	}
	if f.Get("code") == "" {
		oauthError(w, "invalid_request", "code is required")
		return
	}
	now := i.now()
	g, ok := i.codes.take(now, f.Get("code"))
	switch {
	case !ok:
		oauthError(w, "invalid_grant", "code is unknown, expired or already used")
		return
	case f.Get("client_id") != g.clientID:
		oauthError(w, "invalid_grant", "code was issued to another client_id")
		return
	case f.Get("redirect_uri") != g.redirectURI:
		oauthError(w, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	case !validVerifier(f.Get("code_verifier")):
		oauthError(w, "invalid_grant", "code_verifier is missing or malformed")
		return
	}
	// client_secret is accepted and ignored: the dev issuer has no client registry.
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		oauthError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}

	extra := map[string]any{"scp": nil, "auth_time": g.authTime.Unix()} // an ID token has no scp
	if g.nonce != "" {
		extra["nonce"] = g.nonce
	}
	var acrs []string
	if g.mfa {
		acrs = g.acrs
	}
	idToken, err := i.Mint(TokenRequest{ObjectID: g.oid, Name: g.name, Audience: g.clientID, MFA: g.mfa, ACRS: acrs, Extra: extra})
	if err != nil {
		http.Error(w, "could not sign token", http.StatusInternalServerError)
		return
	}
	i.mu.RLock()
	aud := i.defaultAud
	i.mu.RUnlock()
	if aud == "" {
		aud = g.clientID
	}
	access, err := i.Mint(TokenRequest{ObjectID: g.oid, Name: g.name, Audience: aud, MFA: g.mfa, ACRS: acrs,
		Extra: map[string]any{"auth_time": g.authTime.Unix()}})
	if err != nil {
		http.Error(w, "could not sign token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"id_token":     idToken,
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(defaultLifetime.Seconds()),
	})
}
