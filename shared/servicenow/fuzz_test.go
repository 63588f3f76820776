package servicenow_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/servicenow"
)

// macHeader is an independent implementation of the signature, so the
// fuzz oracle does not trust the code under test.
func macHeader(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func FuzzParseWebhook(f *testing.F) {
	f.Add(hookBody)
	f.Add([]byte(`{"number":"CHG0040001","sys_id":"0123456789abcdef0123456789abcdef","table":"change_request","requested_by":"gina@x","role_definition_id":"62e90394-69f5-4237-9190-012177145e10","directory_scope_id":"/","duration":"PT1H30M","justification":"x"}`))
	f.Add([]byte(`{"number":"INC1","number":"INC2"}`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte(`{"duration":"P99999999999999999999D"}`))
	f.Add([]byte(`[{}]`))
	f.Add([]byte(`{"justification":"\u0000"}`))
	sysID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := servicenow.ParseWebhook(body)
		if err != nil {
			if !domain.IsCode(err, domain.CodeInvalid) {
				t.Fatalf("non-invalid error %v", err)
			}
			return
		}
		if (w.RoleDefinitionID == "") == (w.GroupID == "") {
			t.Fatalf("not exactly one target: %+v", w)
		}
		switch w.Table {
		case "incident", "change_request", "sc_req_item":
		default:
			t.Fatalf("table %q", w.Table)
		}
		if !sysID.MatchString(w.SysID) || w.Number == "" || w.Requester == "" || w.Duration < 0 {
			t.Fatalf("accepted %+v", w)
		}
		if w.Action != "activate" && w.Action != "deactivate" {
			t.Fatalf("action %q", w.Action)
		}
		if len(body) > servicenow.MaxWebhookBytes {
			t.Fatalf("accepted %d bytes", len(body))
		}
	})
}

func FuzzVerify(f *testing.F) {
	secrets := [][]byte{current, previous}
	auth := servicenow.WebhookAuth{Secrets: secrets, BasicUser: "snow", BasicPassword: "basic-pass-123"}
	good := signed(current, now, hookBody)
	f.Add(hookBody, good.Get(servicenow.HeaderTimestamp), good.Get(servicenow.HeaderSignature), "", now.Unix())
	old := signed(previous, now, hookBody)
	f.Add(hookBody, old.Get(servicenow.HeaderTimestamp), old.Get(servicenow.HeaderSignature), "", now.Unix()+100)
	f.Add([]byte("{}"), "", "", "Basic "+base64.StdEncoding.EncodeToString([]byte("snow:basic-pass-123")), now.Unix())
	f.Add([]byte("{}"), "", "", "Basic "+base64.StdEncoding.EncodeToString([]byte("snow:basic-pass-12")), now.Unix())
	f.Add(hookBody, "0001767225600", good.Get(servicenow.HeaderSignature), "", now.Unix())
	f.Add(hookBody, good.Get(servicenow.HeaderTimestamp), "v1=", "", int64(-1))
	f.Fuzz(func(t *testing.T, body []byte, ts, sig, authz string, nowUnix int64) {
		h := http.Header{}
		if ts != "" {
			h.Set(servicenow.HeaderTimestamp, ts)
		}
		if sig != "" {
			h.Set(servicenow.HeaderSignature, sig)
		}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		at := time.Unix(nowUnix, 0)
		err := auth.Verify(h, body, at)
		if err != nil {
			if !domain.IsCode(err, domain.CodeUnauthorized) {
				t.Fatalf("non-unauthorized error %v", err)
			}
			return
		}
		if sig == "" {
			// Accepted on basic auth: only with the configured credentials.
			u, p, ok := (&http.Request{Header: h}).BasicAuth()
			if !ok || u != auth.BasicUser || p != auth.BasicPassword {
				t.Fatalf("accepted basic credentials %q", authz)
			}
			return
		}
		signedOK := false
		for _, s := range secrets {
			if hmac.Equal([]byte(sig), []byte(macHeader(s, ts, body))) {
				signedOK = true
			}
		}
		if !signedOK {
			t.Fatalf("accepted a body not signed with a configured secret: ts=%q sig=%q body=%q", ts, sig, body)
		}
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || at.Sub(time.Unix(n, 0)).Abs() > servicenow.DefaultMaxSkew {
			t.Fatalf("accepted timestamp %q at %d", ts, nowUnix)
		}
	})
}
