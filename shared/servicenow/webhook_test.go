package servicenow_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/servicenow"
)

var (
	current  = []byte("current-webhook-secret-0123456789")
	previous = []byte("previous-webhook-secret-9876543210")
	now      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hookBody = []byte(`{"number":"INC0012345","sys_id":"0123456789abcdef0123456789abcdef","table":"incident","requested_by":"adam@jitpimdemo.onmicrosoft.com","group_id":"339ecba2-4840-4502-aec1-cc35380b1d55"}`)
)

func signed(secret []byte, at time.Time, body []byte) http.Header {
	ts, sig := servicenow.Sign(secret, at, body)
	h := http.Header{}
	h.Set(servicenow.HeaderTimestamp, ts)
	h.Set(servicenow.HeaderSignature, sig)
	return h
}

func basic(user, pass string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return h
}

// TestSignVector pins the scheme against a value computed outside Go
// (Python's hmac), so a sender in any language can be checked against it.
func TestSignVector(t *testing.T) {
	ts, sig := servicenow.Sign([]byte("whsec-test-0001"), time.Unix(1767225600, 0), []byte(`{"number":"INC0012345"}`))
	if ts != "1767225600" {
		t.Errorf("timestamp %q", ts)
	}
	if want := "v1=e469eaf1501af6f14928dd91751fd0c0bc8d4fc1f43e3ba58c4eca6e21cd7f2a"; sig != want {
		t.Errorf("signature\n got %s\nwant %s", sig, want)
	}
}

func TestVerify(t *testing.T) {
	hmacOnly := servicenow.WebhookAuth{Secrets: [][]byte{current, previous}}
	both := servicenow.WebhookAuth{Secrets: [][]byte{current}, BasicUser: "snow", BasicPassword: "basic-pass-123"}
	basicOnly := servicenow.WebhookAuth{BasicUser: "snow", BasicPassword: "basic-pass-123"}
	valid := signed(current, now, hookBody)
	mutate := func(h http.Header, f func(http.Header)) http.Header {
		c := h.Clone()
		f(c)
		return c
	}
	sig := valid.Get(servicenow.HeaderSignature)
	hexPart := strings.TrimPrefix(sig, "v1=")

	cases := []struct {
		name string
		auth servicenow.WebhookAuth
		h    http.Header
		body []byte
		now  time.Time
		want string // "" = accepted; otherwise a substring of the message
	}{
		{"valid", hmacOnly, valid, hookBody, now, ""},
		{"rotated second key", hmacOnly, signed(previous, now, hookBody), hookBody, now, ""},
		{"wrong key", hmacOnly, signed([]byte("some-other-secret"), now, hookBody), hookBody, now, "signature does not match"},
		{"tampered body", hmacOnly, valid, []byte(strings.Replace(string(hookBody), "adam", "gina", 1)), now, "signature does not match"},
		{"body with trailing space", hmacOnly, valid, append(append([]byte{}, hookBody...), ' '), now, "signature does not match"},
		{"timestamp changed after signing", hmacOnly, mutate(valid, func(h http.Header) {
			h.Set(servicenow.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
		}), hookBody, now, "signature does not match"},
		{"stale", hmacOnly, signed(current, now.Add(-5*time.Minute-time.Second), hookBody), hookBody, now, "timestamp older than 5 minutes"},
		{"stale by an hour", hmacOnly, signed(current, now.Add(-time.Hour), hookBody), hookBody, now, "timestamp older than 5 minutes"},
		{"edge of skew", hmacOnly, signed(current, now.Add(-5*time.Minute), hookBody), hookBody, now, ""},
		{"future", hmacOnly, signed(current, now.Add(5*time.Minute+time.Second), hookBody), hookBody, now, "more than 5 minutes in the future"},
		{"custom skew", servicenow.WebhookAuth{Secrets: [][]byte{current}, MaxSkew: time.Minute},
			signed(current, now.Add(-2*time.Minute), hookBody), hookBody, now, "timestamp older than 1 minute"},
		{"no headers", hmacOnly, http.Header{}, hookBody, now, "signature missing"},
		{"nil headers", hmacOnly, nil, hookBody, now, "signature missing"},
		{"timestamp without signature", hmacOnly, mutate(valid, func(h http.Header) { h.Del(servicenow.HeaderSignature) }), hookBody, now, "signature missing"},
		{"signature without timestamp", hmacOnly, mutate(valid, func(h http.Header) { h.Del(servicenow.HeaderTimestamp) }), hookBody, now, "timestamp missing"},
		{"timestamp not a number", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderTimestamp, "yesterday") }), hookBody, now, "not unix seconds"},
		{"timestamp negative", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderTimestamp, "-1") }), hookBody, now, "not unix seconds"},
		{"timestamp in milliseconds", hmacOnly, signedTS(current, strconv.FormatInt(now.UnixMilli(), 10), hookBody), hookBody, now, "not unix seconds"},
		{"timestamp with exponent", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderTimestamp, "1.7e9") }), hookBody, now, "not unix seconds"},
		{"prefix v2", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, "v2="+hexPart) }), hookBody, now, "signature malformed"},
		{"prefix upper case", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, "V1="+hexPart) }), hookBody, now, "signature malformed"},
		{"no prefix", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, hexPart) }), hookBody, now, "signature malformed"},
		{"hex upper case", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, "v1="+strings.ToUpper(hexPart)) }), hookBody, now, "signature malformed"},
		{"too short", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, sig[:len(sig)-2]) }), hookBody, now, "signature malformed"},
		{"too long", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, sig+"00") }), hookBody, now, "signature malformed"},
		{"empty signature", hmacOnly, mutate(valid, func(h http.Header) { h.Set(servicenow.HeaderSignature, "") }), hookBody, now, "signature malformed"},
		{"base64 signature", hmacOnly, mutate(valid, func(h http.Header) {
			h.Set(servicenow.HeaderSignature, "v1="+base64.StdEncoding.EncodeToString([]byte(hexPart))[:64])
		}), hookBody, now, "signature malformed"},
		{"two signatures", hmacOnly, mutate(valid, func(h http.Header) {
			h.Add(servicenow.HeaderSignature, signed(previous, now, hookBody).Get(servicenow.HeaderSignature))
		}), hookBody, now, "more than one signature"},
		{"no secrets configured", basicOnly, valid, hookBody, now, "not configured"},
		{"empty key never verifies", servicenow.WebhookAuth{Secrets: [][]byte{{}}}, signed([]byte{}, now, hookBody), hookBody, now, "not configured"},
		{"empty key skipped, real one used", servicenow.WebhookAuth{Secrets: [][]byte{{}, current}}, signed([]byte{}, now, hookBody), hookBody, now, "signature does not match"},
		{"basic right", both, basic("snow", "basic-pass-123"), hookBody, now, ""},
		{"basic only right", basicOnly, basic("snow", "basic-pass-123"), hookBody, now, ""},
		{"basic wrong user", both, basic("admin", "basic-pass-123"), hookBody, now, "basic credentials do not match"},
		{"basic wrong password", both, basic("snow", "basic-pass-124"), hookBody, now, "basic credentials do not match"},
		{"basic password prefix", both, basic("snow", "basic-pass"), hookBody, now, "basic credentials do not match"},
		{"basic absent", both, http.Header{}, hookBody, now, "signature and basic credentials missing"},
		{"bearer instead of basic", both, http.Header{"Authorization": {"Bearer abc"}}, hookBody, now, "not basic"},
		{"basic when disabled", hmacOnly, basic("snow", "basic-pass-123"), hookBody, now, "signature missing"},
		{"basic disabled by empty password", servicenow.WebhookAuth{BasicUser: "snow"}, basic("snow", ""), hookBody, now, "signature missing"},
		{"bad signature is not rescued by basic", both, mutate(basic("snow", "basic-pass-123"), func(h http.Header) {
			h.Set(servicenow.HeaderTimestamp, valid.Get(servicenow.HeaderTimestamp))
			h.Set(servicenow.HeaderSignature, "v1="+strings.Repeat("0", 64))
		}), hookBody, now, "signature does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.auth.Verify(c.h, c.body, c.now)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", c.want)
			}
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeUnauthorized {
				t.Fatalf("error %v is not CodeUnauthorized", err)
			}
			if !strings.Contains(de.Message, c.want) {
				t.Errorf("message %q does not say %q", de.Message, c.want)
			}
			for _, secret := range []string{string(current), string(previous), "basic-pass-123"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals a secret: %v", err)
				}
			}
		})
	}
}

func signedTS(secret []byte, ts string, body []byte) http.Header {
	// Sign with an arbitrary timestamp string, as a confused sender would.
	h := http.Header{}
	h.Set(servicenow.HeaderTimestamp, ts)
	h.Set(servicenow.HeaderSignature, macHeader(secret, ts, body))
	return h
}

func TestVerifyBase64Signature(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"number":"INC0012345"}`)
	now := time.Unix(1_800_000_000, 0)
	ts, hexSig := servicenow.Sign(secret, now, body)
	raw, _ := hex.DecodeString(strings.TrimPrefix(hexSig, servicenow.SignaturePrefix))
	b64 := servicenow.SignaturePrefixBase64 + base64.StdEncoding.EncodeToString(raw)
	auth := servicenow.WebhookAuth{Secrets: [][]byte{secret}}
	h := http.Header{}
	h.Set(servicenow.HeaderTimestamp, ts)
	h.Set(servicenow.HeaderSignature, b64)
	if err := auth.Verify(h, body, now); err != nil {
		t.Fatalf("base64 signature refused: %v", err)
	}
	for _, bad := range []string{
		servicenow.SignaturePrefixBase64 + base64.RawStdEncoding.EncodeToString(raw), // unpadded
		servicenow.SignaturePrefixBase64 + base64.URLEncoding.EncodeToString(raw[:31]) + "A=",
		servicenow.SignaturePrefixBase64 + base64.StdEncoding.EncodeToString(append([]byte{1}, raw[1:]...)),
	} {
		h.Set(servicenow.HeaderSignature, bad)
		if err := auth.Verify(h, body, now); !domain.IsCode(err, domain.CodeUnauthorized) {
			t.Fatalf("%q accepted: %v", bad, err)
		}
	}
}
