package approvallink_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
)

var (
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	keyA    = approvallink.Key{ID: "k2026a", Secret: bytes.Repeat([]byte("A"), 32)}
	keyB    = approvallink.Key{ID: "k2025b", Secret: bytes.Repeat([]byte("B"), 48)}
	foreign = approvallink.Key{ID: "k2026a", Secret: bytes.Repeat([]byte("X"), 32)} // same kid, other secret
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func signer(t testing.TB, c *clock, keys ...approvallink.Key) *approvallink.Signer {
	t.Helper()
	s, err := approvallink.NewSigner(keys, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims() approvallink.Claims {
	return approvallink.Claims{
		Purpose: approvallink.PurposeApprove, RequestID: "req-7b1f", StageID: "stage-1",
		SubjectID: "0f5e4a1c-1111-2222-3333-444455556666", Expires: t0.Add(24 * time.Hour),
	}
}

func wantCode(t *testing.T, err error, code domain.Code, msg string) {
	t.Helper()
	if !domain.IsCode(err, code) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v, want %s %q", err, code, msg)
	}
}

func TestRoundTrip(t *testing.T) {
	c := &clock{t0}
	s := signer(t, c, keyA, keyB)
	in := claims()
	in.Expires = in.Expires.Add(700 * time.Millisecond) // kept to the second
	tok, err := s.Sign(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, "+/= ") || !strings.Contains(tok, "."+keyA.ID+".") {
		t.Fatalf("token %q is not payload.kid.mac in base64url", tok)
	}
	out, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := base64.RawURLEncoding.DecodeString(out.Nonce); err != nil || len(n) != 16 {
		t.Fatalf("nonce %q is not 128 bits", out.Nonce)
	}
	in.Nonce, in.Expires = out.Nonce, in.Expires.Truncate(time.Second)
	if out != in {
		t.Fatalf("got %+v, want %+v", out, in)
	}

	// Each Sign gets a new nonce; a given nonce is kept.
	tok2, _ := s.Sign(claims())
	if out2, _ := s.Verify(tok2); out2.Nonce == out.Nonce {
		t.Fatal("two links share a nonce")
	}
	given := claims()
	given.Nonce = approvallink.NewNonce()
	tok3, _ := s.Sign(given)
	if out3, err := s.Verify(tok3); err != nil || out3.Nonce != given.Nonce {
		t.Fatalf("given nonce: %+v %v", out3, err)
	}

	// A confirm link without a stage.
	conf := claims()
	conf.Purpose, conf.StageID = approvallink.PurposeConfirm, ""
	tok4, err := s.Sign(conf)
	if err != nil {
		t.Fatal(err)
	}
	if out4, err := s.Verify(tok4); err != nil || out4.Purpose != approvallink.PurposeConfirm || out4.StageID != "" {
		t.Fatalf("confirm: %+v %v", out4, err)
	}
}

// Verify accepts every purpose it signs; refusing a link of the wrong
// purpose is the caller's job, which is why Purpose is returned.
func TestWrongPurposeIsCallersCheck(t *testing.T) {
	s := signer(t, &clock{t0}, keyA)
	c := claims()
	c.Purpose = approvallink.PurposeConfirm
	tok, _ := s.Sign(c)
	got, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Purpose == approvallink.PurposeApprove {
		t.Fatal("a confirm link reads as an approve link")
	}
}

// swapPart replaces part i of a token.
func swapPart(tok string, i int, v string) string {
	p := strings.Split(tok, ".")
	p[i] = v
	return strings.Join(p, ".")
}

func reencode(t *testing.T, tok string, edit func(map[string]any)) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ := json.Marshal(m)
	return swapPart(tok, 0, base64.RawURLEncoding.EncodeToString(b))
}

// nonCanonical returns the base64url character that differs from c only in
// the low bit, which the last character of a 32-byte value must leave zero.
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[strings.IndexByte(alphabet, c)^1])
}

func TestTamper(t *testing.T) {
	c := &clock{t0}
	s := signer(t, c, keyA, keyB)
	tok, err := s.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	mallory := signer(t, c, foreign)
	forged, _ := mallory.Sign(claims())

	for _, tt := range []struct{ name, tok, want string }{
		{"payload: other subject", reencode(t, tok, func(m map[string]any) { m["sub"] = "attacker" }), "link signature is not valid"},
		{"payload: later expiry", reencode(t, tok, func(m map[string]any) { m["exp"] = t0.Add(900 * time.Hour).Unix() }), "link signature is not valid"},
		{"payload: other purpose", reencode(t, tok, func(m map[string]any) { m["pur"] = "confirm" }), "link signature is not valid"},
		{"payload: one char", swapPart(tok, 0, flip(parts[0], 5)), "link signature is not valid"},
		{"kid: other configured key", swapPart(tok, 1, keyB.ID), "link signature is not valid"},
		{"kid: unknown", swapPart(tok, 1, "k1999"), "link was signed with an unknown key"},
		{"kid: empty", swapPart(tok, 1, ""), "link was signed with an unknown key"},
		{"mac: one char", swapPart(tok, 2, flip(parts[2], 3)), "link signature is not valid"},
		{"mac: truncated", swapPart(tok, 2, parts[2][:40]), "link signature is not valid"},
		{"mac: padded", tok + "=", "link is malformed"},
		{"mac: line break", swapPart(tok, 2, parts[2][:10]+"\r\n"+parts[2][10:]), "link is malformed"},
		{"mac: non-canonical last char", swapPart(tok, 2, parts[2][:42]+nonCanonical(parts[2][42])), "link signature is not valid"},
		{"mac: empty", swapPart(tok, 2, ""), "link signature is not valid"},
		{"foreign secret, same kid", forged, "link signature is not valid"},
		{"two parts", parts[0] + "." + parts[2], "link is malformed"},
		{"four parts", tok + ".x", "link is malformed"},
		{"empty", "", "link token is missing"},
		{"too long", strings.Repeat("a", approvallink.MaxTokenLen+1), "link is too long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Verify(tt.tok)
			if got != (approvallink.Claims{}) {
				t.Errorf("claims returned with an error: %+v", got)
			}
			wantCode(t, err, domain.CodeUnauthorized, tt.want)
			if tt.tok != "" && strings.Contains(err.Error(), tt.tok) {
				t.Error("error contains the token")
			}
		})
	}
}

func TestExpired(t *testing.T) {
	c := &clock{t0}
	s := signer(t, c, keyA)
	in := claims()
	in.Expires = t0.Add(time.Hour)
	tok, _ := s.Sign(in)
	c.t = t0.Add(time.Hour - time.Second)
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	c.t = t0.Add(time.Hour)
	_, err := s.Verify(tok)
	wantCode(t, err, domain.CodeUnauthorized, "link expired")
}

func TestRotation(t *testing.T) {
	c := &clock{t0}
	old := signer(t, c, keyB)
	oldTok, _ := old.Sign(claims())

	rotated := signer(t, c, keyA, keyB) // new key first, old still verifies
	if _, err := rotated.Verify(oldTok); err != nil {
		t.Fatalf("token of the rotated-out signing key: %v", err)
	}
	newTok, _ := rotated.Sign(claims())
	if !strings.Contains(newTok, "."+keyA.ID+".") {
		t.Fatalf("rotated signer does not sign with its first key: %q", newTok)
	}

	removed := signer(t, c, keyA) // old key retired
	_, err := removed.Verify(oldTok)
	wantCode(t, err, domain.CodeUnauthorized, "link was signed with an unknown key")
	if _, err := removed.Verify(newTok); err != nil {
		t.Fatal(err)
	}
}

func TestNewSignerRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		keys []approvallink.Key
		want string
	}{
		{"no keys", nil, "at least one"},
		{"short secret", []approvallink.Key{{ID: "a", Secret: make([]byte, 31)}}, "at least 32 bytes"},
		{"duplicate id", []approvallink.Key{keyA, {ID: keyA.ID, Secret: keyB.Secret}}, "used twice"},
		{"duplicate secret", []approvallink.Key{keyA, {ID: "other", Secret: keyA.Secret}}, "same secret"},
		{"empty id", []approvallink.Key{{ID: "", Secret: keyA.Secret}}, "id must be"},
		{"dot in id", []approvallink.Key{{ID: "a.b", Secret: keyA.Secret}}, "id must be"},
	} {
		if _, err := approvallink.NewSigner(tt.keys, nil); !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want invalid %q", tt.name, err, tt.want)
		}
	}
	// The signer keeps its own copy of a secret.
	secret := bytes.Repeat([]byte("S"), 32)
	s, _ := approvallink.NewSigner([]approvallink.Key{{ID: "s", Secret: secret}}, func() time.Time { return t0 })
	tok, _ := s.Sign(claims())
	secret[0] = 'Z'
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("secret aliased: %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	s := signer(t, &clock{t0}, keyA)
	for _, tt := range []struct {
		name string
		edit func(*approvallink.Claims)
		want string
	}{
		{"unknown purpose", func(c *approvallink.Claims) { c.Purpose = "revoke" }, "purpose"},
		{"no request", func(c *approvallink.Claims) { c.RequestID = "" }, "requestId"},
		{"no subject", func(c *approvallink.Claims) { c.SubjectID = "" }, "subjectId"},
		{"space in id", func(c *approvallink.Claims) { c.StageID = "a b" }, "stageId"},
		{"long id", func(c *approvallink.Claims) { c.RequestID = strings.Repeat("r", 129) }, "requestId"},
		{"short nonce", func(c *approvallink.Claims) { c.Nonce = "abc" }, "nonce"},
		{"past expiry", func(c *approvallink.Claims) { c.Expires = t0 }, "in the future"},
		{"no expiry", func(c *approvallink.Claims) { c.Expires = time.Time{} }, "in the future"},
		{"too far", func(c *approvallink.Claims) { c.Expires = t0.Add(approvallink.MaxLifetime + time.Second) }, "at most"},
	} {
		c := claims()
		tt.edit(&c)
		if _, err := s.Sign(c); !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want invalid %q", tt.name, err, tt.want)
		}
	}
	// Longest allowed ids still make a link within the bound.
	c := claims()
	c.RequestID, c.StageID, c.SubjectID = strings.Repeat("r", 128), strings.Repeat("s", 128), strings.Repeat("u", 128)
	tok, err := s.Sign(c)
	if err != nil || len(tok) > approvallink.MaxTokenLen {
		t.Fatalf("long ids: %d bytes, %v", len(tok), err)
	}
	// Characters that JSON escapes can push a token over the bound: refused, not truncated.
	c.RequestID, c.StageID, c.SubjectID = strings.Repeat("<", 128), strings.Repeat(">", 128), strings.Repeat("&", 128)
	if _, err := s.Sign(c); !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatalf("escaped ids: %v", err)
	}
}

// reference is an independent implementation of the token format: what a
// configured key would produce for claims c.
func reference(secret []byte, kid string, c approvallink.Claims) string {
	m := map[string]any{"pur": c.Purpose, "req": c.RequestID, "sub": c.SubjectID, "nonce": c.Nonce, "exp": c.Expires.Unix()}
	if c.StageID != "" {
		m["stg"] = c.StageID
	}
	// Field order of the struct encoding.
	var b bytes.Buffer
	b.WriteString("{")
	for i, k := range []string{"pur", "req", "stg", "sub", "nonce", "exp"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		if i > 0 {
			b.WriteString(",")
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteString(":")
		b.Write(vb)
	}
	b.WriteString("}")
	p := base64.RawURLEncoding.EncodeToString(b.Bytes())
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("jitpim/approvallink/v1\x00" + p + "." + kid))
	return p + "." + kid + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func TestReferenceMatches(t *testing.T) {
	s := signer(t, &clock{t0}, keyA)
	for _, stage := range []string{"", "stage-1"} {
		c := claims()
		c.StageID, c.Nonce = stage, approvallink.NewNonce()
		tok, _ := s.Sign(c)
		if want := reference(keyA.Secret, keyA.ID, c); tok != want {
			t.Fatalf("token %q\nreference %q", tok, want)
		}
	}
}

// FuzzVerify: Verify never panics, and whatever it accepts is exactly the
// token a configured key makes for the returned claims, i.e. it was signed
// with a configured key. Tokens of a foreign secret are never accepted.
func FuzzVerify(f *testing.F) {
	c := &clock{t0}
	s := signer(f, c, keyA, keyB)
	mallory := signer(f, c, foreign)
	secrets := map[string][]byte{keyA.ID: keyA.Secret, keyB.ID: keyB.Secret}
	old := signer(f, c, keyB)

	for _, cl := range []approvallink.Claims{claims(), {Purpose: "confirm", RequestID: "r", SubjectID: "u", Expires: t0.Add(time.Minute)}} {
		for _, sg := range []*approvallink.Signer{s, old, mallory} {
			tok, err := sg.Sign(cl)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tok)
		}
	}
	f.Add("")
	f.Add("..")
	f.Add("e30.k2026a.")
	f.Add("eyJwdXIiOiJhcHByb3ZlIn0.k2026a.AAAA")

	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Verify(tok)
		if err != nil {
			if !domain.IsCode(err, domain.CodeUnauthorized) {
				t.Fatalf("error code %s: %v", domain.ErrorCode(err), err)
			}
			if got != (approvallink.Claims{}) {
				t.Fatalf("claims with an error: %+v", got)
			}
			return
		}
		kid := strings.Split(tok, ".")[1]
		secret, ok := secrets[kid]
		if !ok {
			t.Fatalf("accepted kid %q that is not configured", kid)
		}
		if want := reference(secret, kid, got); tok != want {
			t.Fatalf("accepted %q, but key %s makes %q for %+v", tok, kid, want, got)
		}
		if !c.now().Before(got.Expires) {
			t.Fatalf("accepted an expired link: %+v", got)
		}
	})
}
