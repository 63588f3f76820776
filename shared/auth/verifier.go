package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitpim/jitpim/shared/domain"
)

const (
	defaultLeeway = 2 * time.Minute
	// maxTokenLen bounds the work an anonymous caller can cause; Entra
	// tokens, even with group claims, stay far below it.
	maxTokenLen = 32 << 10
)

// allowedAlgs is the signing-algorithm allow list. Entra signs access
// tokens with RS256 only, so nothing else (none, HS*, ES*, PS*) is accepted.
var allowedAlgs = []string{"RS256"}

// Verifier checks access tokens of one issuer and audience. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	now    func() time.Time
	parser *jwt.Parser
	keys   *keyCache
}

// NewVerifier checks cfg and builds a Verifier. It makes no network call:
// discovery and key fetches happen on the first Verify, so a service can
// start before its issuer is reachable. now == nil means time.Now.
func NewVerifier(ctx context.Context, cfg Config, now func() time.Time) (*Verifier, error) {
	_ = ctx // kept for symmetry with other constructors; nothing to fetch yet
	if err := checkURL("issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		return nil, domain.Invalid("audience", "is required")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL("jwks_url", cfg.JWKSURL); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.Leeway < 0:
		return nil, domain.Invalid("leeway", "must not be negative")
	case cfg.Leeway == 0:
		cfg.Leeway = defaultLeeway
	}
	if now == nil {
		now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	return &Verifier{
		cfg: cfg,
		now: now,
		parser: jwt.NewParser(
			jwt.WithValidMethods(allowedAlgs),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(now),
			// Reject non-canonical base64 so a token has exactly one
			// accepted spelling.
			jwt.WithStrictDecoding(),
		),
		keys: &keyCache{issuer: cfg.Issuer, jwksURL: cfg.JWKSURL, client: client, now: now},
	}, nil
}

func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return domain.Invalid(field, "must be an absolute http(s) URL")
	}
	return nil
}

// tokenClaims is the JSON shape of an Entra access token.
type tokenClaims struct {
	jwt.RegisteredClaims
	OID               string           `json:"oid"`
	TID               string           `json:"tid"`
	Name              string           `json:"name"`
	PreferredUsername string           `json:"preferred_username"`
	UPN               string           `json:"upn"`
	AMR               []string         `json:"amr"`
	ACRS              []string         `json:"acrs"`
	AuthTime          *jwt.NumericDate `json:"auth_time"`
	SCP               string           `json:"scp"`
	Roles             []string         `json:"roles"`
}

func unauthorized(format string, args ...any) *domain.Error {
	return domain.Errorf(domain.CodeUnauthorized, format, args...)
}

// Verify checks raw and returns its claims. Errors never contain raw.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	switch {
	case raw == "":
		return Claims{}, unauthorized("token is missing")
	case len(raw) > maxTokenLen:
		return Claims{}, unauthorized("token is too large")
	}
	var tc tokenClaims
	tok, err := v.parser.ParseWithClaims(raw, &tc, func(t *jwt.Token) (any, error) {
		return v.keyFor(ctx, t, &tc)
	})
	if err != nil {
		return Claims{}, v.explain(tok, &tc, err)
	}
	return v.finish(&tc)
}

// keyFor runs after the header and claims are decoded but before the
// signature is checked. It checks the issuer first so that tokens of other
// issuers cannot make us refetch keys.
func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token, tc *tokenClaims) (any, error) {
	if t.Method.Alg() != "RS256" { // the parser checked too; this keeps the key type tied to the alg
		return nil, unauthorized("token signing algorithm is not allowed")
	}
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 4.1.11: unknown critical extensions must be rejected.
		return nil, unauthorized("token has unsupported critical header parameters")
	}
	if tc.Issuer != v.cfg.Issuer {
		return nil, unauthorized("token issuer is not %q", v.cfg.Issuer)
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, unauthorized("token has no key id")
	}
	key, err := v.keys.get(ctx, kid)
	if err != nil {
		return nil, err
	}
	return key, nil
}

// explain turns a golang-jwt error into one message a caller can act on.
// The original error stays in Cause for logs; golang-jwt never puts the
// token into its errors.
func (v *Verifier) explain(tok *jwt.Token, tc *tokenClaims, err error) error {
	if de := (*domain.Error)(nil); errors.As(err, &de) {
		return de // already explained by keyFor
	}
	wrap := func(format string, args ...any) error {
		return domain.Wrap(domain.CodeUnauthorized, err, format, args...)
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return wrap("token is malformed")
	}
	if tok != nil && tok.Header != nil {
		if alg, _ := tok.Header["alg"].(string); alg != "RS256" {
			return wrap("token signing algorithm is not allowed")
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return wrap("token signature is not valid")
	case errors.Is(err, jwt.ErrTokenExpired):
		return wrap("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return wrap("token is not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return wrap("token is issued in the future")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return wrap("token issuer is not %q", v.cfg.Issuer)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return wrap("token audience is not %q", v.cfg.Audience)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		if tc.ExpiresAt == nil {
			return wrap("token has no expiry")
		}
		return wrap("token audience is not %q", v.cfg.Audience)
	}
	return wrap("token is not valid")
}

// finish applies the checks golang-jwt does not know about and copies the
// claims out.
func (v *Verifier) finish(tc *tokenClaims) (Claims, error) {
	if tc.IssuedAt == nil {
		// Freshness rules rely on iat; without it we cannot judge them.
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
	scopes := strings.Fields(tc.SCP)
	if len(scopes) == 0 && len(tc.Roles) == 0 {
		// ID tokens share issuer, keys and (client-id) audience with access
		// tokens; only access tokens carry scp or roles.
		return Claims{}, unauthorized("token has no scopes or roles, so it is not an access token")
	}
	c := Claims{
		ObjectID: oid,
		TenantID: tc.TID,
		Name:     tc.Name,
		UPN:      tc.PreferredUsername,
		AMR:      tc.AMR,
		ACRS:     tc.ACRS,
		IssuedAt: tc.IssuedAt.Time,
		Scopes:   scopes,
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
