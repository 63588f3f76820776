// Package weblogin signs people in to the portal and to the pages behind
// mailed links with their own Entra account: OpenID Connect, authorization
// code with PKCE, through golang.org/x/oauth2 (the code exchange) and
// github.com/coreos/go-oidc/v3 (discovery, JWKS, ID token signature, iss,
// aud, exp). This package adds what those libraries leave to the caller:
// state and nonce bound to the browser, one audience, no access token in
// place of an ID token, a fresh sign-in after a step-up, and the session.
//
// Why: a link in an e-mail proves nothing about who clicked it (mail
// scanners open every link), so a decision is accepted only from a browser
// session made here, from an ID token whose signature, issuer, audience,
// expiry and nonce were checked. When an action needs MFA or an
// authentication context that the session lacks, the page sends the person
// through StartLogin with a domain.StepUp (prompt=login, max_age=0 and, for
// an authentication context, the OIDC claims request for acrs) before it
// shows the form.
//
// Cookies (both signed with HMAC-SHA256 under Config.CookieKeys, HttpOnly,
// SameSite=Lax, Secure unless the site is served on loopback http):
//
//	LoginCookie   ("jitpim_login")            state, nonce, PKCE verifier and return path
//	              of one sign-in; Path = the path of RedirectURL; 10 minutes.
//	SessionCookie ("__Host-jitpim_session";  the verified claims (oid, name, upn, amr, acrs,
//	              "jitpim_session" on loopback) auth_time) and expiry; Path = /; Config.SessionTTL.
//
// Lax, not Strict: a person who follows a mailed link from their mail
// client must arrive signed in; forms are guarded by CSRF tokens and
// net/http.CrossOriginProtection instead. No cookie ever holds a token from
// Entra. Nothing here logs.
package weblogin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/domain"
)

// Cookie names and limits of the sign-in flow.
const (
	// SessionCookie is the session cookie's name on https. The __Host-
	// prefix makes browsers refuse it unless it is Secure, has Path=/ and
	// no Domain, so no other site (not even a sibling subdomain) can plant one.
	SessionCookie = "__Host-jitpim_session"
	// LoopbackSessionCookie is its name on http://127.0.0.1 (no Secure, so
	// no __Host- prefix).
	LoopbackSessionCookie = "jitpim_session"
	LoginCookie           = "jitpim_login"
	// SessionPath is the Path of the session cookie: the portal and the
	// pages behind mailed links share one sign-in.
	SessionPath = "/"
	// EasyAuthIDTokenHeader is where App Service Authentication forwards
	// the signed-in user's ID token.
	EasyAuthIDTokenHeader = "X-MS-TOKEN-AAD-ID-TOKEN"

	DefaultSessionTTL = 10 * time.Minute
	MaxSessionTTL     = 8 * time.Hour
	MinCookieKeyLen   = 32

	loginTTL       = 10 * time.Minute
	leeway         = 2 * time.Minute
	retryInterval  = 5 * time.Second
	httpTimeout    = 10 * time.Second
	maxCookieLen   = 3800 // browsers keep at least 4096 bytes per cookie, name and attributes included
	maxReturnTo    = 2048
	maxIDTokenLen  = 16 << 10
	macContext     = "jitpim/weblogin/v1\x00"
	kindLogin      = "login"
	kindSession    = "session"
	kindCSRF       = "csrf"
	kindEasyAuthID = "easyauth"
)

var b64 = base64.RawURLEncoding.Strict()

// Config configures the sign-in.
type Config struct {
	Issuer, ClientID, ClientSecret string        // the jitpim web app registration; ClientSecret empty: public client (PKCE only)
	RedirectURL                    string        // e.g. https://<app>/api/approvals/callback
	CookieKeys                     [][]byte      // HMAC keys for cookies and CSRF tokens: the first signs, all verify; ≥ 32 bytes each
	SessionTTL                     time.Duration // default 10m, at most 8h
	HTTPClient                     *http.Client  // default: 10 s timeout, no redirects followed
	Now                            func() time.Time
	SecureCookies                  bool // must be true unless RedirectURL is http://127.0.0.1, localhost or [::1]
	// TrustEasyAuth accepts App Service Authentication's
	// X-MS-TOKEN-AAD-ID-TOKEN header, after verifying the token like one
	// from the callback (signature, iss, aud == ClientID, exp; the nonce was
	// Easy Auth's to check). Anyone can send that header to an app that
	// has no Easy Auth in front, so it is never trusted unverified.
	TrustEasyAuth bool
}

// Session is a verified sign-in.
type Session struct {
	ObjectID  domain.ObjectID
	Name, UPN string
	AMR, ACRS []string
	AuthTime  time.Time // when the user last authenticated (auth_time, else the ID token's iat)
	Expires   time.Time

	id string // random per sign-in (or derived from the Easy Auth token); binds CSRF tokens
}

// MFA reports whether the sign-in used multi-factor authentication ("mfa"
// in amr). Entra v2.0 ID tokens may leave amr out; Conditional Access
// authentication contexts (ACRS) are the sturdier step-up signal.
func (s Session) MFA() bool { return slices.Contains(s.AMR, "mfa") }

// Evidence is what the session proves about the sign-in, for the engine's
// rules.
func (s Session) Evidence() domain.AuthEvidence {
	return domain.AuthEvidence{MFA: s.MFA(), ACRS: s.ACRS, AuthenticatedAt: s.AuthTime}
}

// Web runs the sign-in. It is safe for concurrent use.
type Web struct {
	cfg       Config
	now       func() time.Time
	client    *http.Client
	loginPath string

	mu          sync.Mutex
	oauth       *oauth2.Config        // nil until discovery succeeded
	verifier    *oidc.IDTokenVerifier // nil until discovery succeeded
	lastErr     error
	attemptedAt time.Time
}

// New checks cfg. It makes no network call: the discovery document is
// fetched on first use.
func New(ctx context.Context, cfg Config) (*Web, error) {
	_ = ctx
	if err := checkIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, domain.Invalid("clientId", "is required")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || redirect.Host == "" || redirect.Fragment != "" || redirect.User != nil ||
		(redirect.Scheme != "https" && !(redirect.Scheme == "http" && isLoopback(redirect.Hostname()))) {
		return nil, domain.Invalid("redirectUrl", "must be an absolute https URL (http only for 127.0.0.1, localhost or [::1]) without a fragment")
	}
	if !cfg.SecureCookies && redirect.Scheme != "http" {
		return nil, domain.Invalid("secureCookies", "may be false only for an http://127.0.0.1 or localhost redirect URL")
	}
	if len(cfg.CookieKeys) == 0 {
		return nil, domain.Invalid("cookieKeys", "at least one key is required")
	}
	keys := make([][]byte, 0, len(cfg.CookieKeys))
	for i, k := range cfg.CookieKeys {
		if len(k) < MinCookieKeyLen {
			return nil, domain.Invalid("cookieKeys", "key %d is shorter than %d bytes", i, MinCookieKeyLen)
		}
		for _, other := range keys {
			if hmac.Equal(k, other) {
				return nil, domain.Invalid("cookieKeys", "key %d is given twice", i)
			}
		}
		keys = append(keys, bytes.Clone(k))
	}
	cfg.CookieKeys = keys
	switch {
	case cfg.SessionTTL < 0 || cfg.SessionTTL > MaxSessionTTL:
		return nil, domain.Invalid("sessionTtl", "must be between 0 (default %v) and %v", DefaultSessionTTL, MaxSessionTTL)
	case cfg.SessionTTL == 0:
		cfg.SessionTTL = DefaultSessionTTL
	}
	w := &Web{cfg: cfg, now: cfg.Now, client: cfg.HTTPClient, loginPath: redirect.EscapedPath()}
	if w.now == nil {
		w.now = time.Now
	}
	if w.client == nil {
		w.client = &http.Client{
			Timeout: httpTimeout,
			// The token request carries the client secret: never re-send it elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if w.loginPath == "" {
		w.loginPath = "/"
	}
	return w, nil
}

func checkIssuer(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return domain.Invalid("issuer", "must be an absolute https URL (http only for a loopback dev issuer)")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SessionCookieName is the session cookie's name on this site.
func (w *Web) SessionCookieName() string {
	if w.cfg.SecureCookies {
		return SessionCookie
	}
	return LoopbackSessionCookie
}

// provider returns the OAuth2 client and the ID token verifier, running
// OIDC discovery on first use (at most once per retryInterval after a
// failure). go-oidc checks that the document names exactly the issuer.
func (w *Web) provider(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.verifier != nil {
		return w.oauth, w.verifier, nil
	}
	now := w.now()
	if w.lastErr != nil && now.Sub(w.attemptedAt) >= 0 && now.Sub(w.attemptedAt) < retryInterval {
		return nil, nil, w.lastErr
	}
	w.attemptedAt = now
	// Others wait for this fetch, so it must not die with one caller. The
	// key set keeps only the client of this context, not its deadline.
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), w.client), httpTimeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, w.cfg.Issuer)
	if err != nil {
		w.lastErr = domain.Wrap(domain.CodeTransient, err, "sign-in is not available: the identity provider's discovery document could not be read")
		return nil, nil, w.lastErr
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	ep := p.Endpoint()
	_ = p.Claims(&doc)
	if strings.HasPrefix(w.cfg.Issuer, "https:") {
		for _, u := range []string{ep.AuthURL, ep.TokenURL, doc.JWKS} {
			if !strings.HasPrefix(u, "https://") {
				w.lastErr = domain.Errorf(domain.CodeInternal, "the identity provider's discovery document names an endpoint that is not https")
				return nil, nil, w.lastErr
			}
		}
	}
	// client_secret_post (or only client_id for a public client): what
	// Entra and the dev issuer both accept, and never a guess between two styles.
	ep.AuthStyle = oauth2.AuthStyleInParams
	w.oauth = &oauth2.Config{ClientID: w.cfg.ClientID, ClientSecret: w.cfg.ClientSecret, Endpoint: ep,
		RedirectURL: w.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile"}}
	// Keys come from shared/auth's rate-limited cache, not go-oidc's
	// RemoteKeySet, which refetches for every unknown kid: with
	// TrustEasyAuth, anyone can send an ID token in a header.
	keys := auth.NewKeySet(w.cfg.Issuer, doc.JWKS, w.client, w.now)
	w.verifier = oidc.NewVerifier(w.cfg.Issuer, keys, &oidc.Config{
		ClientID: w.cfg.ClientID, SupportedSigningAlgs: []string{oidc.RS256}, Now: w.now,
	})
	w.lastErr = nil
	return w.oauth, w.verifier, nil
}

// ---- signed cookie values ----

func (w *Web) mac(key []byte, kind string) hash.Hash {
	h := hmac.New(sha256.New, key)
	io.WriteString(h, macContext)
	io.WriteString(h, kind)
	h.Write([]byte{0})
	return h
}

// seal encodes v as base64url(JSON) "." base64url(HMAC(first key, kind, payload)).
func (w *Web) seal(kind string, v any) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", domain.Wrap(domain.CodeInternal, err, "cookie could not be encoded")
	}
	p := b64.EncodeToString(body)
	h := w.mac(w.cfg.CookieKeys[0], kind)
	io.WriteString(h, p)
	out := p + "." + b64.EncodeToString(h.Sum(nil))
	if len(out) > maxCookieLen {
		return "", domain.Errorf(domain.CodeUnauthorized, "sign-in claims are too large for a session")
	}
	return out, nil
}

var errBadSeal = errors.New("bad seal")

// open checks the MAC of value under every key, then decodes it strictly.
func (w *Web) open(kind, value string, into any) error {
	if len(value) > maxCookieLen || !b64Chars(value, true) {
		return errBadSeal
	}
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return errBadSeal
	}
	got, err := b64.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errBadSeal
	}
	valid := false
	for _, k := range w.cfg.CookieKeys {
		h := w.mac(k, kind)
		io.WriteString(h, p)
		if hmac.Equal(got, h.Sum(nil)) {
			valid = true
		}
	}
	if !valid {
		return errBadSeal
	}
	body, err := b64.DecodeString(p)
	if err != nil {
		return errBadSeal
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil || dec.More() {
		return errBadSeal
	}
	return nil
}

// b64Chars reports whether s is made of the base64url alphabet (and dots
// when dots): the decoder would skip \r and \n, giving one value two spellings.
func b64Chars(s string, dots bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || dots && c == '.') {
			return false
		}
	}
	return true
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return b64.EncodeToString(b)
}

func (w *Web) cookie(name, value, path string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: path, HttpOnly: true, Secure: w.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	} else {
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = w.now().Add(maxAge)
	}
	return c
}

// ---- login ----

type loginState struct {
	State    string `json:"st"`
	Nonce    string `json:"n"`
	Verifier string `json:"cv"`
	ReturnTo string `json:"r"`
	Fresh    bool   `json:"f,omitempty"` // a step-up: the sign-in must be newer than Started
	Started  int64  `json:"t"`
	Expires  int64  `json:"x"`
}

// ValidReturnTo reports whether p is a safe place to send the browser after
// sign-in: a path on this site. It refuses absolute URLs, scheme-relative
// "//host", any backslash (browsers read "/\host" as "//host") and control
// characters (browsers strip tabs and newlines, turning "/\t/host" into "//host").
func ValidReturnTo(p string) bool {
	if p == "" || len(p) > maxReturnTo || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
}

// StartLogin sends the browser to the issuer's sign-in with a fresh
// state, nonce and PKCE verifier, which it keeps in the login cookie with
// returnTo. When need asks for a step-up the sign-in is forced to be new
// (prompt=login, max_age=0), so MFA is performed now rather than
// remembered, and an authentication context is requested as an essential
// acrs claim (how Entra is asked for a Conditional Access context).
// returnTo must pass ValidReturnTo; otherwise StartLogin answers 400 and
// sets nothing. It never changes application state, so a mail scanner
// following it does no harm.
func (w *Web) StartLogin(rw http.ResponseWriter, r *http.Request, returnTo string, need domain.StepUp) {
	rw.Header().Set("Cache-Control", "no-store")
	if !ValidReturnTo(returnTo) {
		http.Error(rw, "the return path must be a path on this site", http.StatusBadRequest)
		return
	}
	oa, _, err := w.provider(r.Context())
	if err != nil {
		http.Error(rw, "sign-in is not available right now; try again in a minute", http.StatusServiceUnavailable)
		return
	}
	now := w.now()
	ls := loginState{
		State: randomString(16), Nonce: randomString(16), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo, Fresh: need.Needed(), Started: now.Unix(), Expires: now.Add(loginTTL).Unix(),
	}
	sealed, err := w.seal(kindLogin, ls)
	if err != nil {
		http.Error(rw, "sign-in could not be started", http.StatusInternalServerError)
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(ls.Verifier), oidc.Nonce(ls.Nonce),
		oauth2.SetAuthURLParam("response_mode", "query")}
	if need.Needed() {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	}
	if need.AuthContext != "" {
		claims, _ := json.Marshal(map[string]any{"id_token": map[string]any{"acrs": map[string]any{"essential": true, "value": need.AuthContext}}})
		opts = append(opts, oauth2.SetAuthURLParam("claims", string(claims)))
	}
	http.SetCookie(rw, w.cookie(LoginCookie, sealed, w.loginPath, loginTTL))
	http.Redirect(rw, r, oa.AuthCodeURL(ls.State, opts...), http.StatusFound)
}

func unauthorized(format string, args ...any) *domain.Error {
	return domain.Errorf(domain.CodeUnauthorized, format, args...)
}

// idClaims are the ID token claims jitpim reads beyond go-oidc's own.
type idClaims struct {
	OID      string   `json:"oid"`
	Name     string   `json:"name"`
	UPN      string   `json:"preferred_username"`
	AMR      []string `json:"amr"`
	ACRS     []string `json:"acrs"`
	AuthTime *int64   `json:"auth_time"`
	IssuedAt *int64   `json:"iat"`
	Nonce    *string  `json:"nonce"`
	SCP      string   `json:"scp"`
}

// Callback finishes a sign-in at RedirectURL: it checks state against the
// login cookie, redeems the code (with the PKCE verifier), verifies the ID
// token (go-oidc: signature via the issuer's JWKS, iss, aud, exp; here:
// one audience, nonce, an ID token rather than an access token, a GUID
// oid, a fresh auth_time after a step-up) and sets the session cookie. A
// failed sign-in clears the login cookie; a successful one sets only the
// session cookie, because the Functions custom handler protocol carries one
// Set-Cookie per response (the login cookie then expires by itself, and
// the code it was used with is spent). It writes headers only: on success
// the caller redirects to returnTo (already checked with ValidReturnTo); on
// error it shows the error and offers to sign in again.
func (w *Web) Callback(rw http.ResponseWriter, r *http.Request) (returnTo string, err error) {
	rw.Header().Set("Cache-Control", "no-store")
	http.SetCookie(rw, w.cookie(LoginCookie, "", w.loginPath, -1))
	if r.Method != http.MethodGet {
		return "", domain.Invalid("method", "the sign-in callback takes GET")
	}
	q := r.URL.Query()
	ls, err := w.loginState(r, q.Get("state"))
	if err != nil {
		return "", err
	}
	if e := q.Get("error"); e != "" {
		return "", unauthorized("sign-in was not completed (%s); sign in again", safeErrorCode(e))
	}
	code := q.Get("code")
	if code == "" || len(q["code"]) > 1 {
		return "", unauthorized("sign-in response has no code; sign in again")
	}
	oa, verifier, err := w.provider(r.Context())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), w.client), httpTimeout)
	defer cancel()
	tok, err := oa.Exchange(ctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			// invalid_grant: a used, expired or foreign code, or a PKCE mismatch.
			return "", unauthorized("identity provider refused the sign-in code (%s); sign in again", safeErrorCode(re.ErrorCode))
		}
		// Never the error text itself: it may quote the response.
		return "", domain.Errorf(domain.CodeTransient, "identity provider could not finish the sign-in; try again")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", unauthorized("identity provider returned no ID token")
	}
	s, c, err := w.verify(ctx, verifier, raw)
	if err != nil {
		return "", err
	}
	if c.Nonce == nil || subtle.ConstantTimeCompare([]byte(*c.Nonce), []byte(ls.Nonce)) != 1 {
		return "", unauthorized("ID token nonce does not match the sign-in")
	}
	// A step-up asked for a new sign-in: a token that says the user
	// authenticated before this sign-in started is refused.
	if ls.Fresh && s.AuthTime.Before(time.Unix(ls.Started, 0).Add(-leeway)) {
		return "", unauthorized("sign-in was not fresh; sign in again")
	}
	now := w.now()
	s.id = randomString(16)
	if ttl := now.Add(w.cfg.SessionTTL).Truncate(time.Second); ttl.Before(s.Expires) {
		s.Expires = ttl
	}
	sealed, err := w.seal(kindSession, sessionState{
		ID: s.id, OID: string(s.ObjectID), Name: s.Name, UPN: s.UPN, AMR: s.AMR, ACRS: s.ACRS,
		AuthTime: s.AuthTime.Unix(), Expires: s.Expires.Unix(),
	})
	if err != nil {
		return "", err
	}
	rw.Header().Del("Set-Cookie")
	http.SetCookie(rw, w.cookie(w.SessionCookieName(), sealed, SessionPath, s.Expires.Sub(now)))
	return ls.ReturnTo, nil
}

// verify checks an ID token with go-oidc and then what go-oidc leaves to
// the caller. The nonce is the caller's to compare.
func (w *Web) verify(ctx context.Context, v *oidc.IDTokenVerifier, raw string) (Session, idClaims, error) {
	if len(raw) > maxIDTokenLen {
		return Session{}, idClaims{}, unauthorized("ID token is too large")
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Session{}, idClaims{}, unauthorized("ID token expired; sign in again")
		}
		// go-oidc's messages name the check (issuer, audience, signature,
		// malformed) and never the token.
		return Session{}, idClaims{}, unauthorized("ID token refused: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	if len(idt.Audience) != 1 {
		// OIDC Core 3.1.3.7: several audiences would need azp handling; Entra
		// never issues them, so refuse.
		return Session{}, idClaims{}, unauthorized("ID token has more than one audience")
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return Session{}, idClaims{}, unauthorized("ID token claims could not be read")
	}
	if c.SCP != "" {
		return Session{}, idClaims{}, unauthorized("token has scopes, so it is an access token, not an ID token")
	}
	if c.IssuedAt == nil {
		return Session{}, idClaims{}, unauthorized("ID token has no issue time")
	}
	if c.OID == "" {
		return Session{}, idClaims{}, unauthorized("ID token has no object id (oid)")
	}
	oid, err := domain.ParseObjectID("oid", c.OID)
	if err != nil {
		return Session{}, idClaims{}, unauthorized("ID token's object id (oid) is not a GUID")
	}
	at := time.Unix(*c.IssuedAt, 0)
	if c.AuthTime != nil {
		at = time.Unix(*c.AuthTime, 0)
	}
	if at.After(w.now().Add(leeway)) {
		return Session{}, idClaims{}, unauthorized("ID token says the sign-in happened in the future")
	}
	return Session{ObjectID: oid, Name: c.Name, UPN: c.UPN, AMR: c.AMR, ACRS: c.ACRS, AuthTime: at,
		Expires: idt.Expiry.Truncate(time.Second)}, c, nil
}

// loginState finds the login cookie that belongs to state.
func (w *Web) loginState(r *http.Request, state string) (loginState, error) {
	cookies := r.CookiesNamed(LoginCookie)
	if len(cookies) == 0 {
		return loginState{}, unauthorized("no sign-in was started in this browser, or it was already used; sign in again")
	}
	if state == "" {
		return loginState{}, unauthorized("sign-in response has no state; sign in again")
	}
	now := w.now().Unix()
	expired := false
	for _, ck := range cookies {
		var ls loginState
		if w.open(kindLogin, ck.Value, &ls) != nil {
			continue
		}
		if now >= ls.Expires {
			expired = true
			continue
		}
		if hmac.Equal([]byte(ls.State), []byte(state)) && ValidReturnTo(ls.ReturnTo) {
			return ls, nil
		}
	}
	if expired {
		return loginState{}, unauthorized("sign-in took too long; sign in again")
	}
	return loginState{}, unauthorized("sign-in state does not match this browser; sign in again")
}

// safeErrorCode keeps an OAuth error code fit to show (it comes from the URL).
func safeErrorCode(e string) string {
	if len(e) > 64 {
		return "error"
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; !('a' <= c && c <= 'z' || c == '_') {
			return "error"
		}
	}
	return e
}

// ---- session ----

type sessionState struct {
	ID       string   `json:"sid"`
	OID      string   `json:"oid"`
	Name     string   `json:"name,omitempty"`
	UPN      string   `json:"upn,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	ACRS     []string `json:"acrs,omitempty"`
	AuthTime int64    `json:"at"`
	Expires  int64    `json:"x"`
}

// Session returns the signed-in user of r: from the Easy Auth ID token
// header when TrustEasyAuth (then the header decides; a bad one is refused,
// not skipped), else from the session cookie. Errors are CodeUnauthorized
// when the user must sign in (again), CodeTransient when the issuer's keys
// could not be fetched.
func (w *Web) Session(r *http.Request) (Session, error) {
	if w.cfg.TrustEasyAuth {
		if vals := r.Header.Values(EasyAuthIDTokenHeader); len(vals) > 0 {
			return w.easyAuthSession(r.Context(), vals)
		}
	}
	cookies := r.CookiesNamed(w.SessionCookieName())
	if len(cookies) == 0 {
		return Session{}, unauthorized("sign-in required")
	}
	now := w.now()
	expired := false
	for _, ck := range cookies {
		var st sessionState
		if w.open(kindSession, ck.Value, &st) != nil || st.ID == "" || st.OID == "" {
			continue
		}
		s := Session{
			ObjectID: domain.CanonicalID(st.OID), Name: st.Name, UPN: st.UPN, AMR: st.AMR, ACRS: st.ACRS,
			AuthTime: time.Unix(st.AuthTime, 0), Expires: time.Unix(st.Expires, 0), id: st.ID,
		}
		if !now.Before(s.Expires) {
			expired = true
			continue
		}
		return s, nil
	}
	if expired {
		return Session{}, unauthorized("session expired; sign in again")
	}
	return Session{}, unauthorized("session cookie is not valid; sign in again")
}

func (w *Web) easyAuthSession(ctx context.Context, vals []string) (Session, error) {
	if len(vals) != 1 {
		return Session{}, unauthorized("%s header is repeated", EasyAuthIDTokenHeader)
	}
	_, verifier, err := w.provider(ctx)
	if err != nil {
		return Session{}, err
	}
	s, _, err := w.verify(oidc.ClientContext(ctx, w.client), verifier, vals[0])
	if err != nil {
		return Session{}, err
	}
	// The id binds CSRF tokens to this token: derived, so every request
	// carrying the same token gets the same id.
	h := w.mac(w.cfg.CookieKeys[0], kindEasyAuthID)
	io.WriteString(h, vals[0])
	s.id = "ea-" + b64.EncodeToString(h.Sum(nil)[:16])
	return s, nil
}

// SignOut clears the session cookie. The caller checks the form's CSRF
// token first, so no other site can sign a person out.
func (w *Web) SignOut(rw http.ResponseWriter) {
	rw.Header().Set("Cache-Control", "no-store")
	http.SetCookie(rw, w.cookie(w.SessionCookieName(), "", SessionPath, -1))
}

// ---- CSRF ----

func (w *Web) csrfMAC(key []byte, s Session, formID string) []byte {
	h := w.mac(key, kindCSRF)
	for _, f := range []string{s.id, string(s.ObjectID), formID} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		io.WriteString(h, f)
	}
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(s.Expires.Unix()))
	h.Write(exp[:])
	return h.Sum(nil)
}

// CSRFToken returns the token to embed in the form formID (e.g.
// "approve:<requestId>:<stageId>") shown to s. It is bound to the session
// (its id, the object id and the expiry) and to formID, so it is useless
// in another form, for another user and after the session ends.
func (w *Web) CSRFToken(s Session, formID string) string {
	return b64.EncodeToString(w.csrfMAC(w.cfg.CookieKeys[0], s, formID))
}

// CheckCSRF checks a token of CSRFToken for s and formID. Errors are
// CodeUnauthorized (CodeInvalid for an empty formID).
func (w *Web) CheckCSRF(s Session, formID, token string) error {
	if formID == "" {
		return domain.Invalid("formId", "is required")
	}
	if s.ObjectID == "" || !w.now().Before(s.Expires) {
		return unauthorized("session expired; sign in again")
	}
	got, err := b64.DecodeString(token)
	if !b64Chars(token, false) || err != nil || len(got) != sha256.Size {
		return unauthorized("form token is not valid; reload the page and try again")
	}
	valid := false
	for _, k := range w.cfg.CookieKeys {
		if hmac.Equal(got, w.csrfMAC(k, s, formID)) {
			valid = true
		}
	}
	if !valid {
		return unauthorized("form token is not valid; reload the page and try again")
	}
	return nil
}
