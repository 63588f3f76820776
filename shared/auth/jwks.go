package auth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

const (
	fetchTimeout = 10 * time.Second
	// refetchInterval is the least time between two fetches after a
	// success, so a flood of tokens with made-up kids costs the issuer at
	// most one request per interval.
	refetchInterval = 30 * time.Second
	// retryInterval applies after a failed fetch instead: no keys means no
	// logins, so retry sooner, but still not per request.
	retryInterval = 5 * time.Second
	// keysMaxAge makes a key the issuer has withdrawn (e.g. compromised)
	// stop working within this time even if no unknown kid shows up.
	keysMaxAge  = time.Hour
	maxDocBytes = 1 << 20
	minRSABits  = 2048
	maxRSABits  = 8192 // bounds verification cost
)

// keyCache holds the issuer's RS256 keys by kid and fetches them lazily.
// One fetch runs at a time; callers that need its result wait for it.
type keyCache struct {
	issuer string
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	jwksURL     string // configured or discovered
	keys        map[string]*rsa.PublicKey
	fetchedAt   time.Time     // of the last successful fetch
	attemptedAt time.Time     // of the last fetch, successful or not
	lastErr     error         // of the last fetch; nil after a success
	inflight    chan struct{} // closed when the running fetch ends
}

func (c *keyCache) get(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	c.mu.Lock()
	now := c.now()
	if key, ok := c.keys[kid]; ok && now.Sub(c.fetchedAt) < keysMaxAge {
		c.mu.Unlock()
		return key, nil
	}
	wait := c.inflight
	if wait == nil && c.mayFetch(now) {
		wait = make(chan struct{})
		c.inflight, c.attemptedAt = wait, now
		c.mu.Unlock()
		c.fetch(ctx, wait)
	} else {
		c.mu.Unlock()
	}
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, domain.Wrap(domain.CodeTransient, ctx.Err(), "signing keys of the token issuer are still being fetched")
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if key, ok := c.keys[kid]; ok {
		return key, nil // possibly stale if the refresh failed: better than locking everyone out
	}
	if c.lastErr != nil {
		return nil, c.lastErr // we could not ask the issuer, so the kid may be fine
	}
	return nil, unauthorized("token signing key is not known")
}

// mayFetch applies the rate limit; c.mu must be held.
func (c *keyCache) mayFetch(now time.Time) bool {
	if c.attemptedAt.IsZero() {
		return true
	}
	gap := refetchInterval
	if c.lastErr != nil {
		gap = retryInterval
	}
	since := now.Sub(c.attemptedAt)
	return since < 0 || since >= gap // since < 0: the clock went back
}

func (c *keyCache) fetch(ctx context.Context, done chan struct{}) {
	// Others wait on this fetch, so it must not die with the caller that
	// happened to start it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	c.mu.Lock()
	jwksURL := c.jwksURL
	c.mu.Unlock()

	keys, jwksURL, err := c.download(ctx, jwksURL)

	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(done)
	c.inflight = nil
	c.jwksURL = jwksURL
	if err != nil {
		c.lastErr = domain.Wrap(domain.CodeTransient, err, "signing keys of the token issuer could not be fetched")
		return
	}
	c.keys, c.fetchedAt, c.lastErr = keys, c.now(), nil
}

// download discovers the JWKS URL if needed and fetches the key set. It
// returns the JWKS URL so a successful discovery is kept even if the key
// fetch fails.
func (c *keyCache) download(ctx context.Context, jwksURL string) (map[string]*rsa.PublicKey, string, error) {
	if jwksURL == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := c.getJSON(ctx, strings.TrimSuffix(c.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, "", fmt.Errorf("discovery: %w", err)
		}
		// OIDC Discovery 4.3: a document naming another issuer is not ours.
		if doc.Issuer != c.issuer {
			return nil, "", fmt.Errorf("discovery document names issuer %q, want %q", doc.Issuer, c.issuer)
		}
		if err := checkURL("jwks_uri", doc.JWKSURI); err != nil {
			return nil, "", fmt.Errorf("discovery: %w", err)
		}
		jwksURL = doc.JWKSURI
	}

	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := c.getJSON(ctx, jwksURL, &set); err != nil {
		return nil, jwksURL, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	dup := map[string]bool{}
	for _, k := range set.Keys {
		pub, err := k.rsaKey()
		if err != nil {
			continue // other key types and uses are not for us
		}
		if _, seen := keys[k.Kid]; seen {
			dup[k.Kid] = true
		}
		keys[k.Kid] = pub
	}
	for kid := range dup {
		delete(keys, kid) // two keys under one kid: trust neither
	}
	if len(keys) == 0 {
		return nil, jwksURL, errors.New("jwks: no usable RS256 signing keys")
	}
	return keys, jwksURL, nil
}

func (c *keyCache) getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxDocBytes {
		return fmt.Errorf("GET %s: response larger than %d bytes", url, maxDocBytes)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// jwk is the part of RFC 7517 we read.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func (k jwk) rsaKey() (*rsa.PublicKey, error) {
	switch {
	case k.Kty != "RSA":
		return nil, errors.New("not an RSA key")
	case k.Kid == "":
		return nil, errors.New("no kid")
	case k.Use != "" && k.Use != "sig":
		return nil, errors.New("not a signing key")
	case k.Alg != "" && k.Alg != "RS256": // Entra omits alg; if set it must match
		return nil, errors.New("not an RS256 key")
	}
	dec := base64.RawURLEncoding
	n, err := dec.DecodeString(strings.TrimRight(k.N, "="))
	if err != nil {
		return nil, err
	}
	e, err := dec.DecodeString(strings.TrimRight(k.E, "="))
	if err != nil {
		return nil, err
	}
	if len(e) == 0 || len(e) > 4 {
		return nil, errors.New("bad exponent")
	}
	exp := new(big.Int).SetBytes(e).Int64()
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return nil, errors.New("bad exponent")
	}
	mod := new(big.Int).SetBytes(n)
	if bits := mod.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("RSA key of %d bits", bits)
	}
	return &rsa.PublicKey{N: mod, E: int(exp)}, nil
}
