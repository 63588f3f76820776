// Package weblogin signs approvers and requesters in to the approval pages
// with their own Entra account: the OpenID Connect authorization code flow
// with PKCE, as a confidential (or public) client.
//
// Why: a link in an e-mail proves nothing about who clicked it (mail
// scanners open every link), so a decision is accepted only from a browser
// session made here, from an ID token whose signature, issuer, audience,
// expiry and nonce were checked, and after a fresh sign-in (prompt=login,
// max_age=0) so that MFA, when required, was just performed.
//
// Cookies (both signed with HMAC-SHA256 under Config.CookieKeys, HttpOnly,
// SameSite=Lax, Secure when Config.SecureCookies):
//
//	LoginCookie   ("jitpim_approvals_login")    state, nonce, PKCE verifier and return path
//	              of one sign-in; Path = the path of RedirectURL; 10 minutes.
//	SessionCookie ("jitpim_approvals_session")  the verified claims (oid, name, amr, acrs,
//	              auth_time) and expiry; Path = /api/approvals; Config.SessionTTL.
//
// No cookie ever holds a token from Entra. Nothing here logs.
package weblogin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
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

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/domain"
)

// Cookie names and limits of the sign-in flow.
const (
	SessionCookie = "jitpim_approvals_session"
	LoginCookie   = "jitpim_approvals_login"
	// SessionPath is the Path of the session cookie: only the approval
	// pages and their API see it.
	SessionPath = "/api/approvals"
	// EasyAuthIDTokenHeader is where App Service Authentication forwards
	// the signed-in user's ID token.
	EasyAuthIDTokenHeader = "X-MS-TOKEN-AAD-ID-TOKEN"

	DefaultSessionTTL = 10 * time.Minute
	MaxSessionTTL     = time.Hour
	MinCookieKeyLen   = 32

	loginTTL       = 10 * time.Minute
	leeway         = 2 * time.Minute
	retryInterval  = 5 * time.Second
	httpTimeout    = 10 * time.Second
	maxCookieLen   = 3800 // browsers keep at least 4096 bytes per cookie, name and attributes included
	maxReturnTo    = 2048
	maxTokenBody   = 1 << 20
	macContext     = "jitpim/weblogin/v1\x00"
	kindLogin      = "login"
	kindSession    = "session"
	kindCSRF       = "csrf"
	kindEasyAuthID = "easyauth"
)

var b64 = base64.RawURLEncoding.Strict()

// Config configures the sign-in of the approval pages.
type Config struct {
	Issuer, ClientID, ClientSecret string        // the jitpim web app registration; ClientSecret empty: public client (PKCE only)
	RedirectURL                    string        // e.g. https://<app>/api/approvals/callback
	CookieKeys                     [][]byte      // HMAC keys for cookies and CSRF tokens: the first signs, all verify; ≥ 32 bytes each
	SessionTTL                     time.Duration // default 10m, at most 1h
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
	Name      string
	AMR, ACRS []string
	AuthTime  time.Time // when the user last authenticated (auth_time, else the ID token's iat)
	Expires   time.Time

	id string // random per sign-in (or derived from the Easy Auth token); binds CSRF tokens
}

// MFA reports whether the sign-in used multi-factor authentication ("mfa"
// in amr). Entra v2.0 ID tokens may leave amr out; Conditional Access
// authentication contexts (ACRS) are the sturdier step-up signal.
func (s Session) MFA() bool { return slices.Contains(s.AMR, "mfa") }

// Web runs the sign-in. It is safe for concurrent use.
type Web struct {
	cfg       Config
	now       func() time.Time
	client    *http.Client
	loginPath string

	mu          sync.Mutex
	md          auth.ProviderMetadata
	verifier    *auth.IDTokenVerifier // nil until discovery succeeded
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

// provider returns the discovery document and the ID token verifier,
// fetching the document on first use (at most once per retryInterval after
// a failure).
func (w *Web) provider(ctx context.Context) (auth.ProviderMetadata, *auth.IDTokenVerifier, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.verifier != nil {
		return w.md, w.verifier, nil
	}
	now := w.now()
	if w.lastErr != nil && now.Sub(w.attemptedAt) >= 0 && now.Sub(w.attemptedAt) < retryInterval {
		return auth.ProviderMetadata{}, nil, w.lastErr
	}
	w.attemptedAt = now
	// Others wait for this fetch, so it must not die with one caller.
	md, err := auth.Discover(context.WithoutCancel(ctx), w.client, w.cfg.Issuer)
	if err == nil {
		w.verifier, err = auth.NewIDTokenVerifier(ctx, auth.IDTokenConfig{
			Issuer: w.cfg.Issuer, ClientID: w.cfg.ClientID, JWKSURL: md.JWKSURI, HTTPClient: w.client, Leeway: leeway,
		}, w.now)
	}
	if err != nil {
		w.lastErr = err
		return auth.ProviderMetadata{}, nil, err
	}
	w.md, w.lastErr = md, nil
	return w.md, w.verifier, nil
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
// returnTo. returnTo must pass ValidReturnTo; otherwise StartLogin answers
// 400 and sets nothing. It never changes application state, so a mail
// scanner following it does no harm.
func (w *Web) StartLogin(rw http.ResponseWriter, r *http.Request, returnTo string) {
	rw.Header().Set("Cache-Control", "no-store")
	if !ValidReturnTo(returnTo) {
		http.Error(rw, "the return path must be a path on this site", http.StatusBadRequest)
		return
	}
	md, _, err := w.provider(r.Context())
	if err != nil {
		http.Error(rw, "sign-in is not available right now; try again in a minute", http.StatusServiceUnavailable)
		return
	}
	now := w.now()
	ls := loginState{
		State: randomString(16), Nonce: randomString(16), Verifier: randomString(32),
		ReturnTo: returnTo, Started: now.Unix(), Expires: now.Add(loginTTL).Unix(),
	}
	sealed, err := w.seal(kindLogin, ls)
	if err != nil {
		http.Error(rw, "sign-in could not be started", http.StatusInternalServerError)
		return
	}
	authz, err := url.Parse(md.AuthorizationEndpoint)
	if err != nil {
		http.Error(rw, "sign-in could not be started", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256([]byte(ls.Verifier))
	q := authz.Query()
	q.Set("client_id", w.cfg.ClientID)
	q.Set("response_type", "code")
	q.Set("response_mode", "query")
	q.Set("redirect_uri", w.cfg.RedirectURL)
	q.Set("scope", "openid profile")
	q.Set("state", ls.State)
	q.Set("nonce", ls.Nonce)
	q.Set("code_challenge", b64.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	q.Set("prompt", "login") // a fresh sign-in, so MFA is asked for now, not remembered
	q.Set("max_age", "0")
	authz.RawQuery = q.Encode()
	http.SetCookie(rw, w.cookie(LoginCookie, sealed, w.loginPath, loginTTL))
	http.Redirect(rw, r, authz.String(), http.StatusFound)
}

func unauthorized(format string, args ...any) *domain.Error {
	return domain.Errorf(domain.CodeUnauthorized, format, args...)
}

// Callback finishes a sign-in at RedirectURL: it checks state against the
// login cookie, redeems the code (client_secret_post, or none for a public
// client, plus code_verifier), verifies the ID token (signature via the
// issuer's JWKS, iss, aud == ClientID, exp, nonce, a fresh auth_time) and
// sets the session cookie. A failed sign-in clears the login cookie; a
// successful one sets only the session cookie, because the Functions custom
// handler protocol carries one Set-Cookie per response (the login cookie
// then expires by itself, and the code it was used with is spent). It writes headers only: on success the caller
// redirects to returnTo (already checked with ValidReturnTo); on error it
// shows the error and offers to sign in again.
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

	md, verifier, err := w.provider(r.Context())
	if err != nil {
		return "", err
	}
	idToken, err := w.redeem(r.Context(), md.TokenEndpoint, code, ls.Verifier)
	if err != nil {
		return "", err
	}
	c, err := verifier.Verify(r.Context(), idToken, ls.Nonce)
	if err != nil {
		return "", err
	}
	// prompt=login and max_age=0 asked for a new sign-in: a token that
	// says the user authenticated before this sign-in started is refused.
	if !c.AuthTime.IsZero() && c.AuthTime.Before(time.Unix(ls.Started, 0).Add(-leeway)) {
		return "", unauthorized("sign-in was not fresh; sign in again")
	}
	now := w.now()
	s := Session{
		ObjectID: c.ObjectID, Name: c.Name, AMR: c.AMR, ACRS: c.ACRS, AuthTime: c.AuthenticatedAt(),
		Expires: now.Add(w.cfg.SessionTTL).Truncate(time.Second), id: randomString(16),
	}
	if c.Expiry.Before(s.Expires) {
		s.Expires = c.Expiry
	}
	sealed, err := w.seal(kindSession, sessionState{
		ID: s.id, OID: string(s.ObjectID), Name: s.Name, AMR: s.AMR, ACRS: s.ACRS,
		AuthTime: s.AuthTime.Unix(), Expires: s.Expires.Unix(),
	})
	if err != nil {
		return "", err
	}
	rw.Header().Del("Set-Cookie")
	http.SetCookie(rw, w.cookie(SessionCookie, sealed, SessionPath, s.Expires.Sub(now)))
	return ls.ReturnTo, nil
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

// redeem exchanges code at the token endpoint and returns the ID token.
func (w *Web) redeem(ctx context.Context, endpoint, code, verifier string) (string, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {w.cfg.RedirectURL},
		"client_id":     {w.cfg.ClientID},
		"code_verifier": {verifier},
	}
	if w.cfg.ClientSecret != "" {
		form.Set("client_secret", w.cfg.ClientSecret) // client_secret_post
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", domain.Wrap(domain.CodeInternal, err, "token request could not be built")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		// The error names the endpoint, never the form.
		return "", domain.Wrap(domain.CodeTransient, err, "identity provider could not be reached to finish the sign-in")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody+1))
	if err != nil || len(body) > maxTokenBody {
		return "", domain.Errorf(domain.CodeTransient, "token response of the identity provider could not be read")
	}
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	_ = json.Unmarshal(body, &out)
	switch {
	case resp.StatusCode >= 500:
		return "", domain.Errorf(domain.CodeTransient, "identity provider failed to finish the sign-in (%s)", resp.Status)
	case resp.StatusCode != http.StatusOK:
		// invalid_grant: a used, expired or foreign code, or a PKCE mismatch.
		return "", unauthorized("identity provider refused the sign-in code (%s); sign in again", safeErrorCode(out.Error))
	case out.IDToken == "":
		return "", unauthorized("identity provider returned no ID token")
	}
	return out.IDToken, nil
}

// ---- session ----

type sessionState struct {
	ID       string   `json:"sid"`
	OID      string   `json:"oid"`
	Name     string   `json:"name,omitempty"`
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
	cookies := r.CookiesNamed(SessionCookie)
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
			ObjectID: domain.CanonicalID(st.OID), Name: st.Name, AMR: st.AMR, ACRS: st.ACRS,
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
	c, err := verifier.VerifyWithoutNonce(ctx, vals[0])
	if err != nil {
		return Session{}, err
	}
	// The id binds CSRF tokens to this token: derived, so every request
	// carrying the same token gets the same id.
	h := w.mac(w.cfg.CookieKeys[0], kindEasyAuthID)
	io.WriteString(h, vals[0])
	return Session{
		ObjectID: c.ObjectID, Name: c.Name, AMR: c.AMR, ACRS: c.ACRS, AuthTime: c.AuthenticatedAt(),
		Expires: c.Expiry, id: "ea-" + b64.EncodeToString(h.Sum(nil)[:16]),
	}, nil
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
