package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/devissuer"
	"github.com/jitpim/jitpim/shared/domain"
)

const webClient = "web-client-id"

func idToken(t *testing.T, f *fixture, edit func(*devissuer.TokenRequest)) string {
	t.Helper()
	r := devissuer.TokenRequest{ObjectID: "11111111-1111-4111-8111-111111111111", Name: "Ada", Audience: webClient, MFA: true,
		Extra: map[string]any{"scp": nil, "nonce": "n-1"}}
	if edit != nil {
		edit(&r)
	}
	return f.mint(t, r)
}

func TestIDTokenVerifier(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, err := auth.NewIDTokenVerifier(ctx, auth.IDTokenConfig{Issuer: f.srv.URL, ClientID: webClient}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(ctx, idToken(t, f, nil), "n-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.ObjectID != "11111111-1111-4111-8111-111111111111" || c.Name != "Ada" || !c.HasMFA() || len(c.Scopes) != 0 || c.AuthTime.IsZero() {
		t.Fatalf("claims %+v", c)
	}
	if _, err := v.VerifyWithoutNonce(ctx, idToken(t, f, func(r *devissuer.TokenRequest) { r.Extra["nonce"] = nil })); err != nil {
		t.Fatalf("without nonce: %v", err)
	}
	if _, err := v.Verify(ctx, idToken(t, f, nil), ""); domain.IsCode(err, domain.CodeUnauthorized) || err == nil {
		t.Fatalf("empty expected nonce must be a programming error, got %v", err)
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := forge(t, jwt.SigningMethodRS256, other, map[string]any{"kid": f.iss.KeyID()}, jwt.MapClaims{
		"iss": f.srv.URL, "aud": webClient, "oid": "22222222-2222-4222-8222-222222222222", "nonce": "n-1",
		"iat": f.clock.Now().Unix(), "exp": f.clock.Now().Add(time.Hour).Unix(),
	})
	for _, tt := range []struct{ name, raw, nonce, want string }{
		{"wrong nonce", idToken(t, f, nil), "n-2", "nonce does not match"},
		{"no nonce claim", idToken(t, f, func(r *devissuer.TokenRequest) { r.Extra["nonce"] = nil }), "n-1", "nonce does not match"},
		{"wrong aud", idToken(t, f, func(r *devissuer.TokenRequest) { r.Audience = audience }), "n-1", "audience"},
		{"two audiences", idToken(t, f, func(r *devissuer.TokenRequest) { r.Extra["aud"] = []string{webClient, "x"} }), "n-1", "more than one audience"},
		{"access token", idToken(t, f, func(r *devissuer.TokenRequest) { delete(r.Extra, "scp") }), "n-1", "access token"},
		{"expired", idToken(t, f, func(r *devissuer.TokenRequest) { r.Lifetime = -time.Hour }), "n-1", "token expired"},
		{"no oid", idToken(t, f, func(r *devissuer.TokenRequest) { r.Extra["oid"] = nil }), "n-1", "object id"},
		{"forged", forged, "n-1", "signature"},
		{"empty", "", "n-1", "missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tt.raw, tt.nonce)
			if !domain.IsCode(err, domain.CodeUnauthorized) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want unauthorized %q", err, tt.want)
			}
		})
	}
	// The access-token verifier refuses ID tokens (no scp or roles).
	av := f.verifier(t, auth.Config{Audience: webClient})
	if _, err := av.Verify(ctx, idToken(t, f, nil)); err == nil {
		t.Fatal("access-token verifier accepted an ID token")
	}
	if _, err := auth.NewIDTokenVerifier(ctx, auth.IDTokenConfig{Issuer: f.srv.URL}, nil); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("no client id: %v", err)
	}
}

func TestDiscover(t *testing.T) {
	var doc map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	ctx := context.Background()
	good := func() map[string]any {
		return map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/a", "token_endpoint": srv.URL + "/t", "jwks_uri": srv.URL + "/k"}
	}
	doc = good()
	md, err := auth.Discover(ctx, nil, srv.URL)
	if err != nil || md.TokenEndpoint != srv.URL+"/t" {
		t.Fatalf("%+v %v", md, err)
	}
	for _, tt := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"other issuer", func(d map[string]any) { d["issuer"] = "https://evil.example" }},
		{"no token endpoint", func(d map[string]any) { delete(d, "token_endpoint") }},
		{"relative jwks", func(d map[string]any) { d["jwks_uri"] = "/keys" }},
	} {
		doc = good()
		tt.edit(doc)
		if _, err := auth.Discover(ctx, nil, srv.URL); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	srv.Close()
	if _, err := auth.Discover(ctx, nil, srv.URL); !domain.IsCode(err, domain.CodeTransient) {
		t.Fatalf("unreachable: %v", err)
	}
}
