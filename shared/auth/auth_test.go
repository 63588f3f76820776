package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
)

const audience = "api://jitpim"

// clock is the injected now; tests move it.
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

type fixture struct {
	iss       *devissuer.Issuer
	srv       *httptest.Server
	clock     *clock
	v         *auth.Verifier
	discovery atomic.Int32
	jwks      atomic.Int32
	down      atomic.Bool // answer 503 to everything
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Now()}}
	var handler http.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			f.discovery.Add(1)
		case "/keys":
			f.jwks.Add(1)
		}
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	iss, err := devissuer.New(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.iss, handler = iss, iss.Handler()
	f.v = f.verifier(t, auth.Config{})
	return f
}

// verifier builds a verifier on f's issuer; cfg fields left empty get defaults.
func (f *fixture) verifier(t testing.TB, cfg auth.Config) *auth.Verifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = f.srv.URL
	}
	if cfg.Audience == "" {
		cfg.Audience = audience
	}
	v, err := auth.NewVerifier(context.Background(), cfg, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) mint(t testing.TB, r devissuer.TokenRequest) string {
	t.Helper()
	if r.Audience == "" {
		r.Audience = audience
	}
	if r.ObjectID == "" && r.Extra["oid"] == nil {
		r.ObjectID = "11111111-2222-3333-4444-555555555555"
	}
	raw, err := f.iss.Mint(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// validClaims is what devissuer would put in a token, for forging tokens
// with other keys or algorithms.
func (f *fixture) validClaims() jwt.MapClaims {
	now := f.clock.Now()
	return jwt.MapClaims{
		"iss": f.srv.URL, "aud": audience, "oid": "22222222-2222-4222-8222-222222222222", "scp": "access_as_user",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func forge(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// wantUnauthorized asserts err is an unauthorized *domain.Error with
// message msg that does not leak raw.
func wantUnauthorized(t testing.TB, err error, msg, raw string) {
	t.Helper()
	wantError(t, err, domain.CodeUnauthorized, msg, raw)
}

func wantError(t testing.TB, err error, code domain.Code, msg, raw string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error = %v (%T), want *domain.Error", err, err)
	}
	if de.Code != code || de.Message != msg {
		t.Fatalf("error = %q %q, want %q %q (full: %v)", de.Code, de.Message, code, msg, err)
	}
	for _, part := range append(strings.Split(raw, "."), raw) {
		if len(part) > 8 && strings.Contains(err.Error(), part) {
			t.Fatalf("error %q leaks the token", err)
		}
	}
}

var otherKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func TestVerifyValidToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	authAt := f.clock.Now().Add(-20 * time.Minute).Truncate(time.Second)
	raw := f.mint(t, devissuer.TokenRequest{
		ObjectID: "11111111-1111-4111-8111-111111111111", TenantID: "tid-1", Name: "Ada", UPN: "ada@example.com",
		MFA: true, ACRS: []string{"c1", "c3"}, IssuedAt: authAt,
		Extra: map[string]any{"scp": "PIM.Request PIM.Read", "roles": []string{"Approver"}},
	})
	c, err := f.v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.ObjectID != "11111111-1111-4111-8111-111111111111" || c.TenantID != "tid-1" || c.Name != "Ada" || c.UPN != "ada@example.com" {
		t.Errorf("identity claims = %+v", c)
	}
	if !c.HasMFA() || strings.Join(c.AMR, ",") != "pwd,mfa" {
		t.Errorf("AMR = %v, HasMFA = %v", c.AMR, c.HasMFA())
	}
	if !c.HasAuthContext("c1") || !c.HasAuthContext("c3") || c.HasAuthContext("c2") || c.HasAuthContext("") {
		t.Errorf("ACRS = %v", c.ACRS)
	}
	if strings.Join(c.Scopes, "|") != "PIM.Request|PIM.Read" || strings.Join(c.Roles, "|") != "Approver" {
		t.Errorf("Scopes = %v, Roles = %v", c.Scopes, c.Roles)
	}
	if !c.IssuedAt.Equal(authAt) || !c.AuthTime.Equal(authAt) || !c.AuthenticatedAt().Equal(authAt) {
		t.Errorf("IssuedAt %v AuthTime %v, want %v", c.IssuedAt, c.AuthTime, authAt)
	}
	// The issuer stamps exp in whole seconds from the real clock, a moment
	// after the test clock was read: allow that skew, nothing more.
	if d := c.Expiry.Sub(f.clock.Now()); d < 59*time.Minute || d > time.Hour+5*time.Second {
		t.Errorf("Expiry in %v, want ~1h", d)
	}

	// No MFA, no acrs, no auth_time: AuthenticatedAt falls back to iat.
	raw = f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"auth_time": nil}})
	c, err = f.v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.HasMFA() || len(c.ACRS) != 0 || !c.AuthTime.IsZero() || !c.AuthenticatedAt().Equal(c.IssuedAt) {
		t.Errorf("claims = %+v", c)
	}
	// preferred_username wins, upn is the fallback (Entra v1 tokens).
	raw = f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"upn": "v1@example.com"}})
	if c, err = f.v.Verify(ctx, raw); err != nil || c.UPN != "v1@example.com" {
		t.Errorf("UPN = %q, err %v", c.UPN, err)
	}
	// App-only tokens carry roles instead of scp.
	raw = f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"roles": []string{"Sync"}}})
	if c, err = f.v.Verify(ctx, raw); err != nil || len(c.Scopes) != 0 || c.Roles[0] != "Sync" {
		t.Errorf("claims %+v, err %v", c, err)
	}
}

func TestVerifyTimeChecks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	raw := f.mint(t, devissuer.TokenRequest{Lifetime: 10 * time.Minute})

	f.clock.Advance(11 * time.Minute) // within the 2m leeway
	if _, err := f.v.Verify(ctx, raw); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	f.clock.Advance(2 * time.Minute)
	_, err := f.v.Verify(ctx, raw)
	wantUnauthorized(t, err, "token expired", raw)

	f = newFixture(t)
	now := f.clock.Now()
	raw = f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"nbf": now.Add(10 * time.Minute).Unix()}})
	_, err = f.v.Verify(ctx, raw)
	wantUnauthorized(t, err, "token is not valid yet", raw)
	f.clock.Advance(9 * time.Minute) // within leeway of nbf
	if _, err := f.v.Verify(ctx, raw); err != nil {
		t.Fatalf("nbf within leeway: %v", err)
	}

	raw = f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"iat": now.Add(time.Hour).Unix(), "nbf": nil}})
	_, err = f.v.Verify(ctx, raw)
	wantUnauthorized(t, err, "token is issued in the future", raw)

	raw = f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"auth_time": now.Add(time.Hour).Unix()}})
	_, err = f.v.Verify(ctx, raw)
	wantUnauthorized(t, err, "token auth_time is in the future", raw)
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	kid := f.iss.KeyID()
	valid := f.mint(t, devissuer.TokenRequest{})
	parts := strings.Split(valid, ".")

	// The issuer's public key as PEM, as an attacker would get it from /keys.
	resp, err := http.Get(f.srv.URL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []struct{ N, E string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	var tampered map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(payload, &tampered); err != nil {
		t.Fatal(err)
	}
	tampered["oid"] = "attacker"

	tests := []struct {
		name, raw, msg string
	}{
		{"wrong issuer", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"iss": "https://login.example.com/v2.0"}}),
			fmt.Sprintf("token issuer is not %q", f.srv.URL)},
		{"issuer with extra slash", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"iss": f.srv.URL + "/"}}),
			fmt.Sprintf("token issuer is not %q", f.srv.URL)},
		{"no issuer", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"iss": nil}}),
			fmt.Sprintf("token issuer is not %q", f.srv.URL)},
		{"wrong audience", f.mint(t, devissuer.TokenRequest{Audience: "api://other"}),
			fmt.Sprintf("token audience is not %q", audience)},
		{"audience list without ours", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"aud": []string{"a", "b"}}}),
			fmt.Sprintf("token audience is not %q", audience)},
		{"no audience", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"aud": nil}}),
			fmt.Sprintf("token audience is not %q", audience)},
		{"missing oid", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"oid": nil}}),
			"token has no object id (oid)"},
		{"missing exp", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"exp": nil}}), "token has no expiry"},
		{"missing iat", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"iat": nil}}), "token has no issue time"},
		{"id token (no scp or roles)", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"scp": nil}}),
			"token has no scopes or roles, so it is not an access token"},
		{"exp of wrong type", f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"exp": "tomorrow"}}), "token is malformed"},
		{"other key, same kid", forge(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": kid}, f.validClaims()),
			"token signature is not valid"},
		{"other key, unknown kid", forge(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": "nope"}, f.validClaims()),
			"token signing key is not known"},
		{"no kid", forge(t, jwt.SigningMethodRS256, otherKey, nil, f.validClaims()), "token has no key id"},
		{"alg none", b64(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + parts[1] + ".",
			"token signing algorithm is not allowed"},
		{"alg none with signature", b64(map[string]any{"alg": "none", "kid": kid}) + "." + parts[1] + "." + parts[2],
			"token signing algorithm is not allowed"},
		{"alg NONE", b64(map[string]any{"alg": "NONE", "kid": kid}) + "." + parts[1] + ".",
			"token signing algorithm is not allowed"},
		{"no alg", b64(map[string]any{"kid": kid}) + "." + parts[1] + "." + parts[2],
			"token signing algorithm is not allowed"},
		{"HS256 with public key PEM", forge(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": kid}, f.validClaims()),
			"token signing algorithm is not allowed"},
		{"HS256 with modulus", forge(t, jwt.SigningMethodHS256, n, map[string]any{"kid": kid}, f.validClaims()),
			"token signing algorithm is not allowed"},
		{"PS256 with other key", forge(t, jwt.SigningMethodPS256, otherKey, map[string]any{"kid": kid}, f.validClaims()),
			"token signing algorithm is not allowed"},
		{"crit header", forge(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": kid, "crit": []string{"exp"}}, f.validClaims()),
			"token has unsupported critical header parameters"},
		{"tampered payload", parts[0] + "." + b64(tampered) + "." + parts[2], "token signature is not valid"},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], "token signature is not valid"},
		{"no signature", parts[0] + "." + parts[1] + ".", "token signature is not valid"},
		{"non-canonical base64 signature", parts[0] + "." + parts[1] + "." + bumpLastChar(parts[2]), "token is malformed"},
		{"empty", "", "token is missing"},
		{"too large", strings.Repeat("a", 40<<10), "token is too large"},
		{"garbage", "not a token", "token is malformed"},
		{"two parts", parts[0] + "." + parts[1], "token is malformed"},
		{"four parts", valid + ".x", "token is malformed"},
		{"dots", "..", "token is malformed"},
		{"bad base64", "!!!." + parts[1] + "." + parts[2], "token is malformed"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2], "token is malformed"},
		{"payload not JSON", parts[0] + ".bm90IGpzb24." + parts[2], "token is malformed"},
		{"Bearer prefix left in", "Bearer " + valid, "token is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), tt.raw)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c.ObjectID != "" {
				t.Errorf("claims returned with error: %+v", c)
			}
			wantUnauthorized(t, err, tt.msg, tt.raw)
		})
	}
	if _, err := f.v.Verify(context.Background(), valid); err != nil {
		t.Fatalf("valid token after attacks: %v", err)
	}
}

// bumpLastChar changes the unused low bits of the last base64 character,
// which lenient decoders ignore.
func bumpLastChar(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.mint(t, devissuer.TokenRequest{})
	if _, err := f.v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	newKid, err := f.iss.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if newKid == "" || f.iss.KeyID() != newKid {
		t.Fatalf("KeyID %q after Rotate returned %q", f.iss.KeyID(), newKid)
	}
	rotated := f.mint(t, devissuer.TokenRequest{})

	// Just after the first fetch the rate limit holds back the refetch.
	_, err = f.v.Verify(ctx, rotated)
	wantUnauthorized(t, err, "token signing key is not known", rotated)
	if got := f.jwks.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", got)
	}

	f.clock.Advance(31 * time.Second)
	if _, err := f.v.Verify(ctx, rotated); err != nil {
		t.Fatalf("token of rotated key: %v", err)
	}
	if got := f.jwks.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one refetch for the new kid)", got)
	}
	if _, err := f.v.Verify(ctx, old); err != nil {
		t.Fatalf("token of old key after rotation: %v", err)
	}
	if got := f.jwks.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", got)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.v.Verify(ctx, f.mint(t, devissuer.TokenRequest{})); err != nil {
		t.Fatal(err)
	}
	flood := func(n int) {
		t.Helper()
		raws := make([]string, n)
		for i := range raws {
			raws[i] = forge(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": fmt.Sprintf("bogus-%d", i)}, f.validClaims())
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, raw := range raws {
			wg.Go(func() { _, errs[i] = f.v.Verify(ctx, raw) })
		}
		wg.Wait()
		for i, err := range errs {
			wantUnauthorized(t, err, "token signing key is not known", raws[i])
		}
	}
	flood(50)
	if got := f.jwks.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times within 30s of the last fetch, want 1", got)
	}
	f.clock.Advance(30 * time.Second)
	flood(50)
	if got := f.jwks.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one refetch for 50 bad kids)", got)
	}
	f.clock.Advance(29 * time.Second)
	flood(50)
	if got := f.jwks.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want still 2", got)
	}
	f.clock.Advance(time.Second)
	flood(1)
	if got := f.jwks.Load(); got != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", got)
	}
	if got := f.discovery.Load(); got != 1 {
		t.Fatalf("discovery fetched %d times, want 1", got)
	}
}

func TestKeysRefreshedAfterMaxAge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	raw := f.mint(t, devissuer.TokenRequest{Lifetime: 4 * time.Hour})
	if _, err := f.v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(59 * time.Minute)
	if _, err := f.v.Verify(ctx, raw); err != nil || f.jwks.Load() != 1 {
		t.Fatalf("err %v, JWKS hits %d, want 1", err, f.jwks.Load())
	}
	f.clock.Advance(time.Minute)
	if _, err := f.v.Verify(ctx, raw); err != nil || f.jwks.Load() != 2 {
		t.Fatalf("err %v, JWKS hits %d, want 2", err, f.jwks.Load())
	}
	// A failed refresh keeps the cached keys rather than locking everyone out.
	f.down.Store(true)
	f.clock.Advance(61 * time.Minute)
	if _, err := f.v.Verify(ctx, raw); err != nil || f.jwks.Load() != 3 {
		t.Fatalf("err %v, JWKS hits %d, want 3", err, f.jwks.Load())
	}
}

func TestDiscoveryIsLazy(t *testing.T) {
	f := &fixture{clock: &clock{t: time.Now()}}
	srv := httptest.NewUnstartedServer(nil) // listening address known, not serving yet
	t.Cleanup(srv.Close)
	iss, err := devissuer.New("http://" + srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	h := iss.Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			f.discovery.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: iss.URL(), Audience: audience}, nil)
	if err != nil {
		t.Fatalf("NewVerifier before the issuer is up: %v", err)
	}
	srv.Start()
	if got := f.discovery.Load(); got != 0 {
		t.Fatalf("discovery fetched %d times by NewVerifier, want 0", got)
	}
	raw, err := iss.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111", Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.discovery.Load(); got != 1 {
		t.Fatalf("discovery fetched %d times, want 1", got)
	}
}

func TestConfiguredJWKSURLSkipsDiscovery(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, auth.Config{JWKSURL: f.srv.URL + "/keys"})
	if _, err := v.Verify(context.Background(), f.mint(t, devissuer.TokenRequest{})); err != nil {
		t.Fatal(err)
	}
	if f.discovery.Load() != 0 || f.jwks.Load() != 1 {
		t.Fatalf("discovery %d, JWKS %d; want 0, 1", f.discovery.Load(), f.jwks.Load())
	}
}

func TestIssuerUnavailableIsTransient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	raw := f.mint(t, devissuer.TokenRequest{})
	f.down.Store(true)
	_, err := f.v.Verify(ctx, raw)
	wantError(t, err, domain.CodeTransient, "signing keys of the token issuer could not be fetched", raw)
	f.down.Store(false)
	_, err = f.v.Verify(ctx, raw) // retry is rate limited too
	wantError(t, err, domain.CodeTransient, "signing keys of the token issuer could not be fetched", raw)
	if got := f.discovery.Load(); got != 1 {
		t.Fatalf("discovery fetched %d times, want 1", got)
	}
	f.clock.Advance(5 * time.Second)
	if _, err := f.v.Verify(ctx, raw); err != nil {
		t.Fatalf("after the issuer came back: %v", err)
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	f := newFixture(t)
	// The document says f.srv.URL; a trailing slash is a different issuer.
	v := f.verifier(t, auth.Config{Issuer: f.srv.URL + "/"})
	raw := f.mint(t, devissuer.TokenRequest{Extra: map[string]any{"iss": f.srv.URL + "/"}})
	_, err := v.Verify(context.Background(), raw)
	wantError(t, err, domain.CodeTransient, "signing keys of the token issuer could not be fetched", raw)
	if !strings.Contains(err.Error(), "discovery document names issuer") {
		t.Fatalf("cause = %v", err)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	for name, cfg := range map[string]auth.Config{
		"no issuer":         {Audience: audience},
		"relative issuer":   {Issuer: "login.example.com", Audience: audience},
		"no audience":       {Issuer: "https://login.example.com"},
		"bad jwks url":      {Issuer: "https://login.example.com", Audience: audience, JWKSURL: "file:///keys"},
		"negative leeway":   {Issuer: "https://login.example.com", Audience: audience, Leeway: -time.Second},
		"ftp issuer scheme": {Issuer: "ftp://login.example.com", Audience: audience},
	} {
		if _, err := auth.NewVerifier(context.Background(), cfg, nil); !domain.IsCode(err, domain.CodeInvalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, tt := range []struct {
		name   string
		values []string
		token  string
		msg    string
	}{
		{"ok", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", ""},
		{"scheme is case-insensitive", []string{"bearer abc"}, "abc", ""},
		{"missing", nil, "", "authorization header is missing"},
		{"empty", []string{""}, "", "authorization header is not a bearer token"},
		{"basic", []string{"Basic dXNlcjpwdw=="}, "", "authorization header is not a bearer token"},
		{"scheme only", []string{"Bearer"}, "", "authorization header is not a bearer token"},
		{"no token", []string{"Bearer "}, "", "authorization header has a malformed bearer token"},
		{"two spaces", []string{"Bearer  abc"}, "", "authorization header has a malformed bearer token"},
		{"two tokens", []string{"Bearer abc def"}, "", "authorization header has a malformed bearer token"},
		{"repeated", []string{"Bearer abc", "Bearer def"}, "", "authorization header is repeated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Authorization", v)
			}
			got, err := auth.BearerToken(h)
			if tt.msg == "" {
				if err != nil || got != tt.token {
					t.Fatalf("got %q, %v; want %q", got, err, tt.token)
				}
				return
			}
			if got != "" {
				t.Errorf("token %q returned with error", got)
			}
			wantUnauthorized(t, err, tt.msg, "")
		})
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	valid := fx.mint(f, devissuer.TokenRequest{MFA: true, ACRS: []string{"c1"}})
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2][1:],
		b64(map[string]any{"alg": "none"}) + "." + parts[1] + ".",
		b64(map[string]any{"alg": "HS256", "kid": fx.iss.KeyID()}) + "." + parts[1] + "." + parts[2],
		b64(map[string]any{"alg": "RS256", "kid": "x"}) + "." + b64(map[string]any{"exp": 1e300, "iat": -1e300}) + ".AA",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := fx.v.Verify(context.Background(), raw)
		if err == nil {
			// Only the one token the issuer signed can pass: every other
			// string is either unsigned or a different signing input.
			if raw != valid {
				t.Fatalf("accepted a token the issuer did not mint: %q -> %+v", raw, c)
			}
			return
		}
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeUnauthorized || de.Message == "" {
			t.Fatalf("error = %v, want unauthorized *domain.Error", err)
		}
		if c.ObjectID != "" {
			t.Fatalf("claims returned with error: %+v", c)
		}
	})
}
