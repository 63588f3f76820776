package auth

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitpim/jitpim/shared/domain"
)

// ProviderMetadata is the part of an OpenID Provider's discovery document
// that jitpim reads.
type ProviderMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// Discover fetches issuer + "/.well-known/openid-configuration" and checks
// that it names exactly issuer and absolute endpoints; when the issuer is
// https, the endpoints must be https too. client == nil means a client with
// a 10 s timeout. Errors are CodeTransient (fetch) or CodeInternal (a
// document that does not fit the issuer).
func Discover(ctx context.Context, client *http.Client, issuer string) (ProviderMetadata, error) {
	if err := checkURL("issuer", issuer); err != nil {
		return ProviderMetadata{}, err
	}
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	var md ProviderMetadata
	c := &keyCache{client: client}
	if err := c.getJSON(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &md); err != nil {
		return ProviderMetadata{}, domain.Wrap(domain.CodeTransient, err, "discovery document of the token issuer could not be fetched")
	}
	if md.Issuer != issuer { // OIDC Discovery 4.3
		return ProviderMetadata{}, domain.Errorf(domain.CodeInternal, "discovery document names issuer %q, want %q", md.Issuer, issuer)
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", md.AuthorizationEndpoint},
		{"token_endpoint", md.TokenEndpoint},
		{"jwks_uri", md.JWKSURI},
	} {
		if err := checkURL(e.name, e.url); err != nil {
			return ProviderMetadata{}, domain.Wrap(domain.CodeInternal, err, "discovery document has no usable %s", e.name)
		}
		if strings.HasPrefix(issuer, "https:") && !strings.HasPrefix(e.url, "https:") {
			return ProviderMetadata{}, domain.Errorf(domain.CodeInternal, "discovery document has a %s that is not https", e.name)
		}
	}
	return md, nil
}

// IDTokenConfig says which ID tokens an IDTokenVerifier accepts.
type IDTokenConfig struct {
	Issuer     string        // exact "iss"
	ClientID   string        // the only "aud" accepted
	JWKSURL    string        // optional; default: discovered from Issuer
	HTTPClient *http.Client  // optional
	Leeway     time.Duration // clock skew allowed on exp/nbf/iat/auth_time, default 2m
}

// IDTokenVerifier checks OpenID Connect ID tokens issued to one client
// (the browser sign-in of the approval pages). It shares the signature
// checks and the JWKS cache of Verifier; it differs in the token shape: aud
// is the client id alone, the nonce is checked, and a token with scp (an
// access token) is refused. It is safe for concurrent use.
type IDTokenVerifier struct {
	inner *Verifier
}

// NewIDTokenVerifier checks cfg and builds an IDTokenVerifier. Like
// NewVerifier it makes no network call. now == nil means time.Now.
func NewIDTokenVerifier(ctx context.Context, cfg IDTokenConfig, now func() time.Time) (*IDTokenVerifier, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, domain.Invalid("client_id", "is required")
	}
	v, err := NewVerifier(ctx, Config{
		Issuer: cfg.Issuer, Audience: cfg.ClientID, JWKSURL: cfg.JWKSURL,
		HTTPClient: cfg.HTTPClient, Leeway: cfg.Leeway,
	}, now)
	if err != nil {
		return nil, err
	}
	return &IDTokenVerifier{inner: v}, nil
}

type idTokenClaims struct {
	tokenClaims
	Nonce *string `json:"nonce"`
}

// Verify checks an ID token from this client's own authorization code
// flow: signature, iss, aud == ClientID (and nothing else), exp, iat, oid,
// and nonce == the nonce sent with the authorization request (constant-time
// compare). nonce must not be empty.
func (v *IDTokenVerifier) Verify(ctx context.Context, raw, nonce string) (Claims, error) {
	if nonce == "" {
		return Claims{}, domain.Errorf(domain.CodeInternal, "ID token verification needs the nonce of the sign-in")
	}
	return v.verify(ctx, raw, &nonce)
}

// VerifyWithoutNonce checks an ID token that another relying party
// obtained and already matched to its own nonce, such as the one App
// Service Authentication forwards in X-MS-TOKEN-AAD-ID-TOKEN. Every other
// check of Verify applies.
func (v *IDTokenVerifier) VerifyWithoutNonce(ctx context.Context, raw string) (Claims, error) {
	return v.verify(ctx, raw, nil)
}

func (v *IDTokenVerifier) verify(ctx context.Context, raw string, nonce *string) (Claims, error) {
	switch {
	case raw == "":
		return Claims{}, unauthorized("ID token is missing")
	case len(raw) > maxTokenLen:
		return Claims{}, unauthorized("ID token is too large")
	}
	in := v.inner
	var tc idTokenClaims
	tok, err := in.parser.ParseWithClaims(raw, &tc, func(t *jwt.Token) (any, error) {
		return in.keyFor(ctx, t, &tc.tokenClaims)
	})
	if err != nil {
		return Claims{}, in.explain(tok, &tc.tokenClaims, err)
	}
	if len(tc.Audience) != 1 {
		// OIDC Core 3.1.3.7: several audiences would need azp handling; Entra
		// never issues them, so refuse.
		return Claims{}, unauthorized("ID token has more than one audience")
	}
	if tc.SCP != "" {
		return Claims{}, unauthorized("token has scopes, so it is an access token, not an ID token")
	}
	if nonce != nil {
		if tc.Nonce == nil || subtle.ConstantTimeCompare([]byte(*tc.Nonce), []byte(*nonce)) != 1 {
			return Claims{}, unauthorized("ID token nonce does not match the sign-in")
		}
	}
	return in.finishID(&tc.tokenClaims)
}

// finishID applies the checks of finish that fit an ID token (everything
// but the access-token shape) and copies the claims out.
func (v *Verifier) finishID(tc *tokenClaims) (Claims, error) {
	if tc.IssuedAt == nil {
		return Claims{}, unauthorized("token has no issue time")
	}
	if tc.AuthTime != nil && tc.AuthTime.After(v.now().Add(v.cfg.Leeway)) {
		return Claims{}, unauthorized("token auth_time is in the future")
	}
	if tc.OID == "" {
		return Claims{}, unauthorized("token has no object id (oid)")
	}
	oid, err := domain.ParseObjectID("oid", tc.OID)
	if err != nil {
		return Claims{}, unauthorized("token's object id (oid) is not a GUID")
	}
	c := Claims{
		ObjectID: oid,
		TenantID: tc.TID,
		Name:     tc.Name,
		UPN:      tc.PreferredUsername,
		AMR:      tc.AMR,
		ACRS:     tc.ACRS,
		IssuedAt: tc.IssuedAt.Time,
		Roles:    tc.Roles,
		Expiry:   tc.ExpiresAt.Time,
	}
	if c.UPN == "" {
		c.UPN = tc.UPN
	}
	if tc.AuthTime != nil {
		c.AuthTime = tc.AuthTime.Time
	}
	return c, nil
}
