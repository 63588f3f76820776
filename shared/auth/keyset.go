package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySet checks JWS signatures with the issuer's keys from the same
// rate-limited cache the access-token verifier uses. It satisfies go-oidc's
// oidc.KeySet, so the browser sign-in's ID-token verifier gets the cache's
// limits too: go-oidc's own RemoteKeySet refetches for every unknown kid,
// and with App Service Authentication trusted, ID tokens arrive in a
// request header that anyone can send.
type KeySet struct{ keys *keyCache }

// NewKeySet returns a KeySet for issuer; jwksURL may be empty (then it is
// discovered from the issuer's metadata on first use).
func NewKeySet(issuer, jwksURL string, client *http.Client, now func() time.Time) *KeySet {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	return &KeySet{keys: &keyCache{issuer: issuer, jwksURL: jwksURL, client: client, now: now}}
}

// VerifySignature checks jwt's RS256 signature against the key its kid
// names and returns the verified payload. Errors are *domain.Error:
// CodeUnauthorized for a bad token, CodeTransient when the keys could not
// be fetched.
func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, unauthorized("token is not a signed RS256 JWT")
	}
	if len(jws.Signatures) != 1 {
		return nil, unauthorized("token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid == "" {
		return nil, unauthorized("token names no signing key (kid)")
	}
	key, err := k.keys.get(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, unauthorized("token signature is not valid")
	}
	return payload, nil
}
