// Package approvallink makes the signed, expiring, single-use tokens that
// go into the links of approval and confirmation e-mails.
//
// A link token only says which decision page to show and for whom; it never
// decides anything by itself. Mail scanners (Safe Links, Proofpoint,
// Mimecast) open every link in a message, so the page behind a link must
// answer GET without changing anything, and the decision must be a POST
// made by the person named in SubjectID after their own verified sign-in
// (see shared/weblogin).
//
// Format: base64url(payload JSON) "." kid "." base64url(HMAC-SHA256), with
// the MAC over a context string, the payload and the kid. Verify checks the
// MAC (constant time) before it decodes anything, so only bytes this
// package signed are ever parsed.
//
// What Verify does NOT check, and every caller must:
//   - Purpose: Verify accepts every purpose it can sign. A handler for
//     approvals must refuse a "confirm" link and the other way round.
//   - SubjectID: compare it with the object id of the signed-in user.
//   - Nonce: mark it used in the store (conditional write), so a link works
//     once; a second use must fail even while the token has not expired.
package approvallink

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Purposes a link can have.
const (
	PurposeApprove = "approve" // an approver's decision on one stage of a request
	PurposeConfirm = "confirm" // a requester confirming a ticket-originated activation with MFA
	// PurposeReview opens a reviewer's page of an access review instance:
	// RequestID is the instance, StageID the definition, SubjectID the
	// reviewer. It is not single-use: a reviewer decides many items
	// through one link, each decision a POST after their own sign-in.
	PurposeReview = "review"
)

const (
	// MaxTokenLen bounds what Verify reads; Sign never makes a longer token.
	MaxTokenLen = 2 << 10
	// MinSecretLen is the least HMAC key length NewSigner accepts.
	MinSecretLen = 32
	// MaxLifetime bounds how far in the future a link may expire.
	MaxLifetime = 31 * 24 * time.Hour

	maxKeyIDLen = 32
	maxFieldLen = 128
	nonceBytes  = 16
	macContext  = "jitpim/approvallink/v1\x00"
)

var b64 = base64.RawURLEncoding.Strict()

// Key is one HMAC key. Keys come from configuration; ID names the key in
// tokens so keys can be rotated.
type Key struct {
	ID     string
	Secret []byte
}

// Claims is what a link token carries.
type Claims struct {
	Purpose   string // PurposeApprove, PurposeConfirm or PurposeReview; the caller checks it
	RequestID string // the approval / request id
	StageID   string // optional
	SubjectID string // object id of the one person the link is for
	Nonce     string // 128 random bits, base64url; Sign fills it when empty
	Expires   time.Time
}

// Signer signs with its first key and verifies with all of them. It is safe
// for concurrent use.
type Signer struct {
	signKID string
	keys    map[string][]byte
	now     func() time.Time
}

// NewSigner returns a Signer. keys[0] signs; every key verifies, so a new
// key is rolled out by putting it first and the old one is retired by
// removing it once its links have expired. now == nil means time.Now.
func NewSigner(keys []Key, now func() time.Time) (*Signer, error) {
	if len(keys) == 0 {
		return nil, domain.Invalid("keys", "at least one link signing key is required")
	}
	s := &Signer{signKID: keys[0].ID, keys: make(map[string][]byte, len(keys)), now: now}
	if s.now == nil {
		s.now = time.Now
	}
	for i, k := range keys {
		if !validKeyID(k.ID) {
			return nil, domain.Invalid("keys", "key %d: id must be 1 to %d characters of A-Z a-z 0-9 _ -", i, maxKeyIDLen)
		}
		if len(k.Secret) < MinSecretLen {
			return nil, domain.Invalid("keys", "key %q: secret must be at least %d bytes", k.ID, MinSecretLen)
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, domain.Invalid("keys", "key id %q is used twice", k.ID)
		}
		for id, other := range s.keys {
			if hmac.Equal(other, k.Secret) {
				return nil, domain.Invalid("keys", "keys %q and %q have the same secret", id, k.ID)
			}
		}
		s.keys[k.ID] = bytes.Clone(k.Secret)
	}
	return s, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// payload is the JSON inside a token. Its encoding is deterministic, so a
// token has exactly one accepted spelling.
type payload struct {
	Purpose   string `json:"pur"`
	RequestID string `json:"req"`
	StageID   string `json:"stg,omitempty"`
	SubjectID string `json:"sub"`
	Nonce     string `json:"nonce"`
	Expires   int64  `json:"exp"`
}

// Sign returns a URL-safe token for c. It fills c.Nonce with 128 random
// bits when empty. Expires is kept to the second and must lie in the
// future, at most MaxLifetime ahead.
func (s *Signer) Sign(c Claims) (string, error) {
	if c.Nonce == "" {
		c.Nonce = NewNonce()
	}
	if err := checkClaims(c); err != nil {
		return "", err
	}
	now := s.now()
	switch {
	case !c.Expires.After(now):
		return "", domain.Invalid("expires", "must be in the future")
	case c.Expires.Sub(now) > MaxLifetime:
		return "", domain.Invalid("expires", "must be at most %v ahead", MaxLifetime)
	}
	body, err := json.Marshal(payload{
		Purpose: c.Purpose, RequestID: c.RequestID, StageID: c.StageID,
		SubjectID: c.SubjectID, Nonce: c.Nonce, Expires: c.Expires.Unix(),
	})
	if err != nil {
		return "", domain.Wrap(domain.CodeInternal, err, "link payload could not be encoded")
	}
	p := b64.EncodeToString(body)
	tok := p + "." + s.signKID + "." + b64.EncodeToString(mac(s.keys[s.signKID], p, s.signKID))
	if len(tok) > MaxTokenLen {
		return "", domain.Invalid("claims", "are too long for a link")
	}
	return tok, nil
}

// NewNonce returns 128 random bits, base64url encoded.
func NewNonce() string {
	var b [nonceBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return b64.EncodeToString(b[:])
}

func checkClaims(c Claims) error {
	if c.Purpose != PurposeApprove && c.Purpose != PurposeConfirm && c.Purpose != PurposeReview {
		return domain.Invalid("purpose", "must be %q, %q or %q", PurposeApprove, PurposeConfirm, PurposeReview)
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"requestId", c.RequestID, true},
		{"stageId", c.StageID, false},
		{"subjectId", c.SubjectID, true},
	} {
		if f.value == "" {
			if f.required {
				return domain.Invalid(f.name, "is required")
			}
			continue
		}
		if len(f.value) > maxFieldLen || !printableASCII(f.value) {
			return domain.Invalid(f.name, "must be at most %d printable ASCII characters without spaces", maxFieldLen)
		}
	}
	if n, err := b64.DecodeString(c.Nonce); err != nil || len(n) != nonceBytes {
		return domain.Invalid("nonce", "must be %d random bytes, base64url without padding", nonceBytes)
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func mac(secret []byte, payloadB64, kid string) []byte {
	h := hmac.New(sha256.New, secret)
	io.WriteString(h, macContext)
	io.WriteString(h, payloadB64)
	io.WriteString(h, ".")
	io.WriteString(h, kid)
	return h.Sum(nil)
}

func unauthorized(msg string) error { return domain.Errorf(domain.CodeUnauthorized, "%s", msg) }

// Verify checks token and returns its claims. It checks the key, the MAC
// and the expiry; the caller checks Purpose and SubjectID and spends the
// Nonce (see the package comment). Every error is CodeUnauthorized and
// never contains the token.
func (s *Signer) Verify(token string) (Claims, error) {
	if token == "" {
		return Claims{}, unauthorized("link token is missing")
	}
	if len(token) > MaxTokenLen {
		return Claims{}, unauthorized("link is too long")
	}
	// Only the base64url alphabet and the dots: the base64 decoder skips
	// \r and \n even in strict mode, which would give a token more than
	// one accepted spelling.
	if !tokenChars(token) {
		return Claims{}, unauthorized("link is malformed")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, unauthorized("link is malformed")
	}
	p, kid, sig := parts[0], parts[1], parts[2]
	secret, ok := s.keys[kid]
	if !ok {
		return Claims{}, unauthorized("link was signed with an unknown key")
	}
	got, err := b64.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return Claims{}, unauthorized("link signature is not valid")
	}
	if !hmac.Equal(got, mac(secret, p, kid)) {
		return Claims{}, unauthorized("link signature is not valid")
	}

	// Only bytes we signed get this far; the strict checks below guard
	// against our own bugs and against keys shared with other software.
	body, err := b64.DecodeString(p)
	if err != nil {
		return Claims{}, unauthorized("link is malformed")
	}
	var pl payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pl); err != nil || dec.More() {
		return Claims{}, unauthorized("link is malformed")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Claims{}, unauthorized("link is malformed")
	}
	c := Claims{
		Purpose: pl.Purpose, RequestID: pl.RequestID, StageID: pl.StageID,
		SubjectID: pl.SubjectID, Nonce: pl.Nonce, Expires: time.Unix(pl.Expires, 0).UTC(),
	}
	if checkClaims(c) != nil || pl.Expires <= 0 {
		return Claims{}, unauthorized("link is malformed")
	}
	if !s.now().Before(c.Expires) {
		return Claims{}, unauthorized("link expired")
	}
	return c, nil
}
