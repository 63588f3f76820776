package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// failingReader fails the test if anything reads it: a body refused by
// its Content-Length must not be read.
type failingReader struct{ t *testing.T }

func (f failingReader) Read([]byte) (int, error) {
	f.t.Error("the body was read although Content-Length already refused it")
	return 0, io.EOF
}

func TestBodies(t *testing.T) {
	doc := []byte(`{"action":"selfActivate","justification":"ünïcode"}`)
	bomb := gzipped(t, make([]byte, 50<<20)) // 50 MiB of zeros in ~50 KiB
	if len(bomb) > MaxRequestBody {
		t.Fatalf("the bomb is %d bytes on the wire; it must fit under the wire limit to test the decoded one", len(bomb))
	}
	cases := []struct {
		name     string
		body     io.Reader
		length   int64 // -1: unknown (chunked)
		encoding string
		status   int
		code     string
		want     []byte
	}{
		{"plain", bytes.NewReader(doc), int64(len(doc)), "", 200, "", doc},
		{"gzip", bytes.NewReader(gzipped(t, doc)), -1, "gzip", 200, "", doc},
		{"gzip in capitals with identity", bytes.NewReader(gzipped(t, doc)), -1, "identity, GZIP", 200, "", doc},
		{"x-gzip", bytes.NewReader(gzipped(t, doc)), -1, "x-gzip", 200, "", doc},
		{"gzip without the header, as the host forwards it", bytes.NewReader(gzipped(t, doc)), -1, "", 200, "", doc},
		{"empty", http.NoBody, 0, "", 200, "", nil},
		{"brotli", bytes.NewReader(doc), -1, "br", 415, "UnsupportedMediaType", nil},
		{"two codings", bytes.NewReader(gzipped(t, gzipped(t, doc))), -1, "gzip, gzip", 415, "UnsupportedMediaType", nil},
		{"deflate", bytes.NewReader(doc), -1, "deflate", 415, "UnsupportedMediaType", nil},
		{"broken gzip", bytes.NewReader(append([]byte{0x1f, 0x8b}, doc...)), -1, "gzip", 400, "BadRequest", nil},
		{"gzip header on a plain body", bytes.NewReader(doc), -1, "gzip", 400, "BadRequest", nil},
		{"declared too large", failingReader{t}, 5 << 20, "", 413, "RequestEntityTooLarge", nil},
		{"chunked too large", bytes.NewReader(bytes.Repeat([]byte("a"), 5<<20)), -1, "", 413, "RequestEntityTooLarge", nil},
		{"exactly the limit", bytes.NewReader(bytes.Repeat([]byte("a"), MaxRequestBody)), -1, "", 200, "", bytes.Repeat([]byte("a"), MaxRequestBody)},
		{"one byte over", bytes.NewReader(bytes.Repeat([]byte("a"), MaxRequestBody+1)), -1, "", 413, "RequestEntityTooLarge", nil},
		{"gzip bomb", bytes.NewReader(bomb), int64(len(bomb)), "gzip", 413, "RequestEntityTooLarge", nil},
		{"gzip bomb without the header", bytes.NewReader(bomb), int64(len(bomb)), "", 413, "RequestEntityTooLarge", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []byte
			reached := false
			h := Bodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				if ce := r.Header.Get("Content-Encoding"); ce != "" {
					t.Errorf("next still sees Content-Encoding %q", ce)
				}
				got, _ = io.ReadAll(r.Body)
				if r.ContentLength != int64(len(got)) {
					t.Errorf("ContentLength %d for %d bytes", r.ContentLength, len(got))
				}
			}))
			r := httptest.NewRequest("POST", "/api/x", tc.body)
			r.ContentLength = tc.length
			if tc.encoding != "" {
				r.Header.Set("Content-Encoding", tc.encoding)
			}
			r.Header.Set("client-request-id", "abc")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				if reached {
					t.Error("a refused body reached the handler")
				}
				var e wire.ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
					t.Fatalf("not a Graph error: %v: %s", err, w.Body)
				}
				if e.Error.Code != tc.code || e.Error.InnerError.RequestID != "abc" || e.Error.InnerError.Date == "" || w.Header().Get("request-id") != "abc" {
					t.Errorf("error %+v, request-id header %q", e.Error, w.Header().Get("request-id"))
				}
				if tc.status == 415 && !strings.Contains(e.Error.Message, strings.ToLower(strings.Split(tc.encoding, ",")[0])) {
					t.Errorf("415 does not name the coding: %q", e.Error.Message)
				}
				return
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("next got %d bytes %q, want %q", len(got), clip(string(got)), clip(string(tc.want)))
			}
		})
	}
}

func TestRetryAfterOnTransientErrors(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, domain.Errorf(domain.CodeTransient, "table storage is busy"))
	if w.Code != 503 || w.Header().Get("Retry-After") != retryAfterSeconds {
		t.Errorf("503 answer: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	w = httptest.NewRecorder()
	writeError(w, domain.Errorf(domain.CodeConflict, "already decided"))
	if w.Header().Get("Retry-After") != "" {
		t.Error("Retry-After on a 409")
	}
}
