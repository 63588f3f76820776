// Package devissuer is a development OpenID Connect issuer that mints
// Entra-shaped access tokens and, through a sign-in page and the
// authorization code flow with PKCE (authorize.go), ID tokens for the
// browser sign-in of shared/weblogin. Entra cannot be reached on a machine
// without internet, so local runs and tests point shared/auth and
// shared/weblogin at this instead.
//
// It lives in shared/, beside the fake directory, because shared/'s own
// tests mint their tokens with it; the handler never imports it. It signs
// whatever it is asked to, for anyone who can reach it: never expose it
// beyond localhost and never configure it as a production issuer.
package devissuer

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitpim/jitpim/shared/domain"
)

const (
	defaultLifetime = time.Hour
	defaultScope    = "access_as_user"
	keyBits         = 2048
)

// Issuer mints tokens and serves the discovery document and keys that let
// shared/auth verify them. It is safe for concurrent use.
type Issuer struct {
	url string
	now func() time.Time

	mu         sync.RWMutex
	keys       []signingKey // the last one signs; older ones stay published
	defaultAud string

	codes codeStore // authorization codes of the sign-in flow (authorize.go)
}

type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// TokenRequest describes one token to mint.
type TokenRequest struct {
	ObjectID  string // "oid" (and "sub"); left out when empty so tests can mint tokens without it
	TenantID  string // "tid", left out when empty
	Name, UPN string // "name", "preferred_username"
	Audience  string // default: the issuer's default audience
	MFA       bool   // amr ["pwd","mfa"] when true, ["pwd"] otherwise
	ACRS      []string
	Lifetime  time.Duration // default 1h, counted from now; negative mints an expired token
	IssuedAt  time.Time     // "iat", "nbf" and "auth_time"; default now; lets tests make stale authentication
	// Extra adds claims last, so it can also override the ones above
	// (e.g. "iss" to forge a wrong issuer); a nil value removes a claim.
	// Without an "scp" or "roles" here, scp is "access_as_user".
	Extra map[string]any
}

// New generates an RSA-2048 key and returns an issuer for url.
func New(url string) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("devissuer: generate key: %w", err)
	}
	return NewWithKey(url, key)
}

// NewWithKey returns an issuer for url that signs with key, so tokens can
// outlive a restart (see LoadOrCreateKey).
func NewWithKey(issuerURL string, key *rsa.PrivateKey) (*Issuer, error) {
	u, err := url.Parse(issuerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, domain.Invalid("issuer", "must be an absolute http(s) URL")
	}
	if key == nil || key.N.BitLen() < keyBits {
		return nil, domain.Invalid("key", "must be an RSA key of at least %d bits", keyBits)
	}
	return &Issuer{url: issuerURL, now: time.Now, keys: []signingKey{{kid: thumbprint(&key.PublicKey), priv: key}}}, nil
}

// URL is the issuer URL, the exact "iss" of minted tokens.
func (i *Issuer) URL() string { return i.url }

// SetDefaultAudience sets the "aud" used when a request names none.
func (i *Issuer) SetDefaultAudience(aud string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.defaultAud = aud
}

// KeyID is the kid of the key that signs new tokens.
func (i *Issuer) KeyID() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.keys[len(i.keys)-1].kid
}

// Rotate adds a new key that signs from now on; old keys stay in the JWKS
// so tokens already minted keep verifying. It returns the new kid.
func (i *Issuer) Rotate() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return "", fmt.Errorf("devissuer: generate key: %w", err)
	}
	kid := thumbprint(&key.PublicKey)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, signingKey{kid: kid, priv: key})
	return kid, nil
}

// Mint signs a token for t with the current key.
func (i *Issuer) Mint(t TokenRequest) (string, error) {
	i.mu.RLock()
	key := i.keys[len(i.keys)-1]
	aud := i.defaultAud
	i.mu.RUnlock()

	if t.Audience != "" {
		aud = t.Audience
	}
	if aud == "" {
		return "", domain.Invalid("aud", "is required (no default audience is set)")
	}
	now := i.now()
	issued := t.IssuedAt
	if issued.IsZero() {
		issued = now
	}
	lifetime := t.Lifetime
	if lifetime == 0 {
		lifetime = defaultLifetime
	}
	amr := []string{"pwd"}
	if t.MFA {
		amr = append(amr, "mfa")
	}
	claims := jwt.MapClaims{
		"iss":       i.url,
		"aud":       aud,
		"iat":       issued.Unix(),
		"nbf":       issued.Unix(),
		"auth_time": issued.Unix(),
		"exp":       now.Add(lifetime).Unix(),
		"amr":       amr,
		"ver":       "2.0",
		"uti":       rand.Text(),
	}
	set := func(k, v string) {
		if v != "" {
			claims[k] = v
		}
	}
	set("oid", t.ObjectID)
	set("sub", t.ObjectID)
	set("tid", t.TenantID)
	set("name", t.Name)
	set("preferred_username", t.UPN)
	if len(t.ACRS) > 0 {
		claims["acrs"] = t.ACRS
	}
	_, hasScp := t.Extra["scp"]
	_, hasRoles := t.Extra["roles"]
	if !hasScp && !hasRoles {
		claims["scp"] = defaultScope
	}
	for k, v := range t.Extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}

	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = key.kid
	return tok.SignedString(key.priv)
}

// Handler serves the discovery document, the JWKS, POST /token (JSON
// minting shortcut, or the form-encoded authorization_code grant) and
// GET/POST /authorize (the sign-in page of the authorization code flow).
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /keys", i.jwks)
	mux.HandleFunc("POST /token", i.token)
	mux.HandleFunc("GET /authorize", i.authorizeGet)
	mux.HandleFunc("POST /authorize", i.authorizePost)
	return mux
}

func (i *Issuer) endpoint(path string) string { return strings.TrimSuffix(i.url, "/") + path }

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.endpoint("/keys"),
		"authorization_endpoint":                i.endpoint("/authorize"),
		"token_endpoint":                        i.endpoint("/token"),
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "none"},
		"scopes_supported":                      []string{"openid", "profile"},
		"claims_supported":                      []string{"iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "amr", "oid", "sub", "name"},
		"subject_types_supported":               []string{"public"},
	})
}

type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.mu.RLock()
	keys := make([]jwk, 0, len(i.keys))
	for _, k := range i.keys {
		n, e := publicParts(&k.priv.PublicKey)
		keys = append(keys, jwk{Kid: k.kid, Kty: "RSA", Use: "sig", Alg: "RS256", N: n, E: e})
	}
	i.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

type tokenBody struct {
	OID             string   `json:"oid"`
	TID             string   `json:"tid"`
	Name            string   `json:"name"`
	UPN             string   `json:"upn"`
	MFA             bool     `json:"mfa"`
	ACRS            []string `json:"acrs"`
	Aud             string   `json:"aud"`
	LifetimeMinutes int      `json:"lifetimeMinutes"`
	AgeMinutes      int      `json:"ageMinutes"`
}

func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, "the body is too large")
		return
	}
	// A JSON object is the minting shortcut whatever the Content-Type says:
	// `curl -d '{...}'` labels it as a form. Anything else is the OIDC code grant.
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			r.Body = io.NopCloser(bytes.NewReader(body))
			i.codeGrant(w, r)
			return
		}
	}
	var b tokenBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // a typo such as "acr" must not silently mint a weaker token
	if err := dec.Decode(&b); err != nil {
		writeError(w, "body must be a JSON token request: "+err.Error())
		return
	}
	switch {
	case b.OID == "":
		writeError(w, "oid is required")
		return
	case b.LifetimeMinutes < 0 || b.AgeMinutes < 0:
		writeError(w, "lifetimeMinutes and ageMinutes must not be negative")
		return
	}
	lifetime := time.Duration(b.LifetimeMinutes) * time.Minute
	if lifetime == 0 {
		lifetime = defaultLifetime
	}
	raw, err := i.Mint(TokenRequest{
		ObjectID: b.OID, TenantID: b.TID, Name: b.Name, UPN: b.UPN,
		Audience: b.Aud, MFA: b.MFA, ACRS: b.ACRS, Lifetime: lifetime,
		IssuedAt: i.now().Add(-time.Duration(b.AgeMinutes) * time.Minute),
	})
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.CodeInvalid {
			writeError(w, de.Message)
			return
		}
		http.Error(w, "could not sign token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": raw,
		"token_type":   "Bearer",
		"expires_in":   int(lifetime.Seconds()),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": msg})
}

func publicParts(pub *rsa.PublicKey) (n, e string) {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(pub.N.Bytes()), enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

// thumbprint is the RFC 7638 JWK thumbprint. Deriving the kid from the key
// keeps it stable across restarts with the same key file.
func thumbprint(pub *rsa.PublicKey) string {
	n, e := publicParts(pub)
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// LoadOrCreateKey reads a PEM RSA private key (PKCS#1 or PKCS#8) from path,
// or generates one and writes it there with mode 0600 if the file does not
// exist, so tokens survive restarts.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("devissuer: read key: %w", err)
	}
	return parseKey(path, data)
}

func createKey(path string) (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("devissuer: generate key: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	// O_EXCL: if another process created the file meanwhile, use its key
	// rather than overwrite it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("devissuer: create key file: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("devissuer: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("devissuer: write key file: %w", err)
	}
	return key, nil
}

func parseKey(path string, data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("devissuer: %s holds no PEM block", path)
	}
	var key crypto.PrivateKey
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("devissuer: %s holds a %q PEM block, want an RSA private key", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("devissuer: parse %s: %w", path, err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok || rsaKey.N.BitLen() < keyBits {
		return nil, fmt.Errorf("devissuer: %s is not an RSA key of at least %d bits", path, keyBits)
	}
	return rsaKey, nil
}
