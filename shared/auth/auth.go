// Package auth verifies the bearer access tokens that Microsoft Entra ID (or
// the local dev issuer) gives to callers of the jitpim API.
//
// The verifier decides who may request Global Administrator, so it fails
// closed: only RS256, exact issuer, required audience, exp, iat, oid and an
// access-token shape (scp or roles). Every token problem is a
// *domain.Error with CodeUnauthorized; an unreachable issuer is
// CodeTransient, because the token may well be fine.
//
// Library choice: golang-jwt/jwt/v5 plus a small JWKS cache (jwks.go), not
// go-oidc. Access tokens come from anyone on the internet, and go-oidc's
// RemoteKeySet refetches on every unknown kid without a rate limit; its
// IDTokenVerifier has no configurable leeway on exp and its errors are
// plain strings. golang-jwt gives exactly the checks we need as options
// (alg allow list, leeway, injected clock, strict base64) and typed errors.
// The browser sign-in (shared/weblogin) does use go-oidc for its ID-token
// checks, but with this package's rate-limited key cache (KeySet) in place
// of RemoteKeySet, because with App Service Authentication trusted its ID
// tokens arrive in a request header.
package auth

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Config says which tokens a Verifier accepts.
type Config struct {
	Issuer     string        // e.g. https://login.microsoftonline.com/{tid}/v2.0 or the dev issuer URL
	Audience   string        // required aud value (the API's client id or app id URI)
	JWKSURL    string        // optional; default: discovered from Issuer + "/.well-known/openid-configuration"
	HTTPClient *http.Client  // optional
	Leeway     time.Duration // clock skew allowed on exp/nbf/iat, default 2m
}

// Claims is what the rest of jitpim may trust about a verified caller.
type Claims struct {
	ObjectID domain.ObjectID // "oid", canonical
	TenantID string          // "tid"
	Name     string          // "name"
	UPN      string          // "preferred_username", else "upn"
	AMR      []string
	ACRS     []string // satisfied Conditional Access authentication contexts
	IssuedAt time.Time
	AuthTime time.Time // "auth_time" if present, else zero
	Scopes   []string  // "scp" split on spaces
	Roles    []string
	Expiry   time.Time
}

// HasMFA reports whether the caller signed in with multi-factor auth.
func (c Claims) HasMFA() bool { return slices.Contains(c.AMR, "mfa") }

// HasAuthContext reports whether Conditional Access auth context id was satisfied.
func (c Claims) HasAuthContext(id string) bool {
	return id != "" && slices.Contains(c.ACRS, id)
}

// AuthenticatedAt is when the caller last proved who they are; policies use
// it to demand a fresh sign-in before privileged roles are granted.
func (c Claims) AuthenticatedAt() time.Time {
	if !c.AuthTime.IsZero() {
		return c.AuthTime
	}
	return c.IssuedAt
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", domain.Errorf(domain.CodeUnauthorized, "authorization header is missing")
	case len(values) > 1:
		// Two headers could be read differently by a proxy and by us.
		return "", domain.Errorf(domain.CodeUnauthorized, "authorization header is repeated")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", domain.Errorf(domain.CodeUnauthorized, "authorization header is not a bearer token")
	}
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", domain.Errorf(domain.CodeUnauthorized, "authorization header has a malformed bearer token")
	}
	return token, nil
}
