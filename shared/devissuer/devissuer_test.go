package devissuer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
)

const audience = "api://jitpim"

func serve(t *testing.T) (*devissuer.Issuer, *httptest.Server) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	iss, err := devissuer.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	iss.SetDefaultAudience(audience)
	h = iss.Handler()
	return iss, srv
}

func verifier(t *testing.T, issuer string) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: issuer, Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

type jwks struct {
	Keys []struct{ Kid, Kty, N, E, Use, Alg string }
}

func TestEndpoints(t *testing.T) {
	iss, srv := serve(t)
	var doc map[string]any
	getJSON(t, srv.URL+"/.well-known/openid-configuration", &doc)
	if doc["issuer"] != srv.URL || doc["jwks_uri"] != srv.URL+"/keys" || doc["token_endpoint"] != srv.URL+"/token" {
		t.Fatalf("discovery = %v", doc)
	}
	var set jwks
	getJSON(t, srv.URL+"/keys", &set)
	if len(set.Keys) != 1 {
		t.Fatalf("keys = %+v", set)
	}
	k := set.Keys[0]
	if k.Kid != iss.KeyID() || k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.E != "AQAB" || len(k.N) != 342 {
		t.Fatalf("key = %+v", k)
	}
	resp, err := http.Get(srv.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /token: %s", resp.Status)
	}
}

func postToken(t *testing.T, srv *httptest.Server, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/token", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func TestTokenEndpoint(t *testing.T) {
	_, srv := serve(t)
	v := verifier(t, srv.URL)
	resp, out := postToken(t, srv, `{"oid": "11111111-1111-4111-8111-111111111111", "name": "Ada", "upn": "ada@example.com", "mfa": true,
		"acrs": ["c1"], "lifetimeMinutes": 30, "ageMinutes": 45}`)
	if resp.StatusCode != http.StatusOK || out["token_type"] != "Bearer" || out["expires_in"] != 1800.0 {
		t.Fatalf("%s %v", resp.Status, out)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	c, err := v.Verify(context.Background(), out["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if c.ObjectID != "11111111-1111-4111-8111-111111111111" || c.Name != "Ada" || c.UPN != "ada@example.com" || !c.HasMFA() || !c.HasAuthContext("c1") {
		t.Fatalf("claims = %+v", c)
	}
	if age := time.Since(c.AuthenticatedAt()); age < 44*time.Minute || age > 46*time.Minute {
		t.Errorf("authenticated %v ago, want 45m", age)
	}
	if left := time.Until(c.Expiry); left < 29*time.Minute || left > 30*time.Minute {
		t.Errorf("expires in %v, want 30m (age must not shorten the lifetime)", left)
	}

	for _, tt := range []struct{ body, want string }{
		{`{"name": "x"}`, "oid is required"},
		{`{"oid": "11111111-1111-4111-8111-111111111111", "acr": ["c1"]}`, "unknown field"},
		{`{"oid": "11111111-1111-4111-8111-111111111111", "mfa": "yes"}`, "body must be a JSON"},
		{`{"oid": "11111111-1111-4111-8111-111111111111", "ageMinutes": -5}`, "must not be negative"},
		{`not json`, "body must be a JSON"},
	} {
		resp, out := postToken(t, srv, tt.body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out["error_description"].(string), tt.want) {
			t.Errorf("%s: %s %v, want 400 %q", tt.body, resp.Status, out, tt.want)
		}
	}
}

func TestMint(t *testing.T) {
	iss, srv := serve(t)
	v := verifier(t, srv.URL)
	ctx := context.Background()

	raw, err := iss.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111", TenantID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.HasMFA() || strings.Join(c.AMR, ",") != "pwd" || c.TenantID != "t" || strings.Join(c.Scopes, ",") != "access_as_user" {
		t.Fatalf("claims = %+v", c)
	}
	if left := time.Until(c.Expiry); left < 59*time.Minute || left > time.Hour {
		t.Errorf("default lifetime: expires in %v", left)
	}

	// Extra overrides and removes claims.
	raw, err = iss.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111", Extra: map[string]any{"scp": "A B", "name": "X", "auth_time": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = v.Verify(ctx, raw); err != nil || c.Name != "X" || len(c.Scopes) != 2 || !c.AuthTime.IsZero() {
		t.Fatalf("claims %+v, err %v", c, err)
	}

	// A negative lifetime mints an expired token.
	raw, err = iss.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111", Lifetime: -time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, raw); err == nil || !strings.Contains(err.Error(), "token expired") {
		t.Fatalf("err = %v, want token expired", err)
	}

	bare, err := devissuer.New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111"}); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("mint without any audience: %v, want invalid", err)
	}
	if _, err := devissuer.New("not a url"); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("New(bad url): %v", err)
	}
}

func TestRotate(t *testing.T) {
	iss, srv := serve(t)
	oldKid := iss.KeyID()
	old, err := iss.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111"})
	if err != nil {
		t.Fatal(err)
	}
	newKid, err := iss.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid || iss.KeyID() != newKid {
		t.Fatalf("kids: old %q new %q current %q", oldKid, newKid, iss.KeyID())
	}
	var set jwks
	getJSON(t, srv.URL+"/keys", &set)
	if len(set.Keys) != 2 || set.Keys[0].Kid != oldKid || set.Keys[1].Kid != newKid {
		t.Fatalf("keys after rotate = %+v", set)
	}
	fresh, err := iss.Mint(devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111"})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, srv.URL) // fetches keys after the rotation
	for _, raw := range []string{old, fresh} {
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.pem")
	key, err := devissuer.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	again, err := devissuer.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(again) {
		t.Fatal("reloaded key differs")
	}

	// A token minted before a restart verifies after it: same key, same kid.
	first, err := devissuer.NewWithKey("http://127.0.0.1:7080", key)
	if err != nil {
		t.Fatal(err)
	}
	second, err := devissuer.NewWithKey("http://127.0.0.1:7080", again)
	if err != nil {
		t.Fatal(err)
	}
	if first.KeyID() != second.KeyID() {
		t.Fatalf("kid changed across restart: %q vs %q", first.KeyID(), second.KeyID())
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := devissuer.LoadOrCreateKey(bad); err == nil {
		t.Fatal("loaded a key from garbage")
	}
}

// TestMintWithFormContentType: `curl -d '{...}'` sends JSON labelled as a
// form; the README's token helper relies on it minting all the same.
func TestMintWithFormContentType(t *testing.T) {
	iss, srv := serve(t)
	_ = iss
	res, err := http.Post(srv.URL+"/token", "application/x-www-form-urlencoded", strings.NewReader(`{"oid":"11111111-1111-1111-1111-111111111111","mfa":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || out["access_token"] == nil {
		t.Fatalf("%d %v %v", res.StatusCode, out, err)
	}
}
