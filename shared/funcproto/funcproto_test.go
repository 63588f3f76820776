package funcproto

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestHTTPInvocation(t *testing.T) {
	s := newServer(t)
	s.HandleHTTP("roleManagement", "req", "res", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+" "+r.URL.Query().Get("$top")+" "+r.Header.Get("Authorization")+" "+r.Header.Get(InvocationHeader)+" "+r.Host)
		w.WriteHeader(201)
		_, _ = w.Write(body)
	}))
	for _, form := range []string{"object", "string"} {
		req := `{"Url":"http://127.0.0.1:7071/api/roleManagement/x?$top=2","Method":"POST","Query":{"$top":"2"},"Headers":{"Authorization":["Bearer t"]},"Params":{"path":"x"},"Body":"{\"a\":1}"}`
		data := json.RawMessage(req)
		if form == "string" {
			data, _ = json.Marshal(req)
		}
		env, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": data}, "Metadata": map[string]any{}})
		r := httptest.NewRequest("POST", "/roleManagement", bytes.NewReader(env))
		r.Header.Set(InvocationHeader, "inv-1")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("%s: host answer %d %s", form, w.Code, w.Body)
		}
		var ans struct {
			Outputs map[string]HTTPResponse
		}
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			t.Fatal(err)
		}
		res := ans.Outputs["res"]
		if res.StatusCode != 201 || res.Body != `{"a":1}` || res.Headers["X-Seen"] != "POST /api/roleManagement/x 2 Bearer t inv-1 127.0.0.1:7071" {
			t.Fatalf("%s: %+v", form, res)
		}
	}
}

func TestTimerAndErrors(t *testing.T) {
	s := newServer(t)
	var past bool
	s.HandleTimer("expirySweep", "timer", func(ctx context.Context, inv string, ti TimerInfo) (string, error) {
		past = ti.IsPastDue
		if inv == "fail" {
			return "", io.ErrUnexpectedEOF
		}
		return "swept 3", nil
	})
	call := func(path, inv, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set(InvocationHeader, inv)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	w := call("/expirySweep", "i", `{"Data":{"timer":{"Schedule":{},"ScheduleStatus":null,"IsPastDue":true}},"Metadata":{}}`)
	if w.Code != 200 || !past || !strings.Contains(w.Body.String(), "swept 3") {
		t.Fatalf("timer: %d %s past=%v", w.Code, w.Body, past)
	}
	if w := call("/expirySweep", "fail", `{"Data":{}}`); w.Code != 500 {
		t.Fatalf("failed timer must fail the invocation, got %d", w.Code)
	}
	if w := call("/nope", "i", `{}`); w.Code != 404 {
		t.Fatalf("unknown function: %d", w.Code)
	}
	if w := call("/expirySweep", "i", `{not json`); w.Code != 400 {
		t.Fatalf("bad envelope: %d", w.Code)
	}
	r := httptest.NewRequest("GET", "/", nil)
	rw := httptest.NewRecorder()
	s.ServeHTTP(rw, r)
	if rw.Code != 200 {
		t.Fatalf("readiness: %d", rw.Code)
	}
}

// FuzzEnvelope: arbitrary invocation bodies never panic the handler.
func FuzzEnvelope(f *testing.F) {
	f.Add(`{"Data":{"req":{"Url":"http://h/api/x","Method":"GET","Headers":{"A":["b"]},"Body":null}}}`)
	f.Add(`{"Data":{"req":"{\"Url\":\"http://h/\",\"Method\":\"POST\",\"Body\":\"x\"}"}}`)
	f.Add(`{"Data":{"timer":"{}"}}`)
	s := newServer(f)
	s.HandleHTTP("api", "req", "res", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	s.HandleTimer("t", "timer", func(context.Context, string, TimerInfo) (string, error) { return "", nil })
	f.Fuzz(func(t *testing.T, body string) {
		for _, fn := range []string{"/api", "/t"} {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("POST", fn, strings.NewReader(body)))
			if w.Code != 200 && w.Code != 400 && w.Code != 500 {
				t.Fatalf("status %d", w.Code)
			}
		}
	})
}

func newServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(slog.New(slog.DiscardHandler), Options{RoutePrefix: "api"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewNeedsRoutePrefix(t *testing.T) {
	if _, err := New(slog.New(slog.DiscardHandler), Options{RoutePrefix: "/"}); err == nil {
		t.Error("an empty route prefix was accepted; forwarded requests could not be told from envelopes")
	}
}

// TestForwardedRequest: with enableForwardingHttpRequest the host proxies
// the client's request itself; it must reach the function's handler
// untouched (method, path, query, headers, raw bytes), and the handler's
// answer, whatever its status, must go back as it is.
func TestForwardedRequest(t *testing.T) {
	s := newServer(t)
	raw := []byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00} // not text: must not be re-encoded
	s.HandleHTTP("roleManagement", "req", "res", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Equal(body, raw) {
			t.Errorf("body %x, want %x", body, raw)
		}
		w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+" "+r.URL.Query().Get("$filter")+" "+r.Header.Get(InvocationHeader))
		w.WriteHeader(409)
		_, _ = io.WriteString(w, `{"error":{}}`)
	}))
	s.HandleTimer("expirySweep", "timer", func(context.Context, string, TimerInfo) (string, error) { return "ok", nil })

	r := httptest.NewRequest("PATCH", "/api/roleManagement/directory/x?%24filter=a%20eq%20%27b%27", bytes.NewReader(raw))
	r.Header.Set(InvocationHeader, "inv-9")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 409 || w.Body.String() != `{"error":{}}` || w.Header().Get("X-Seen") != "PATCH /api/roleManagement/directory/x a eq 'b' inv-9" {
		t.Fatalf("forwarded answer %d %v %s", w.Code, w.Header(), w.Body)
	}

	// ASP.NET matched the route case-insensitively before forwarding.
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("PATCH", "/API/RoleManagement/directory/x", bytes.NewReader(raw)))
	if w.Code != 409 {
		t.Errorf("upper-case path: %d", w.Code)
	}
	for _, p := range []string{"/api/expirySweep", "/api/nothing/here", "/api/"} {
		w = httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != 404 {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	// Timers still come as envelopes next to forwarded HTTP.
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "/expirySweep", strings.NewReader(`{"Data":{"timer":{"IsPastDue":false}},"Metadata":{}}`)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Errorf("timer envelope: %d %s", w.Code, w.Body)
	}
}

// The site answers "/" (GET, HEAD) and its prefix, in both the host's
// forwarding and Forwarded(); single-segment paths stay the host's
// envelope endpoint, so no client reaches a timer through the site.
func TestSite(t *testing.T) {
	s, err := New(slog.New(slog.DiscardHandler), Options{RoutePrefix: "api"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ran := 0
	s.HandleTimer("expirySweep", "timer", func(context.Context, string, TimerInfo) (string, error) {
		mu.Lock()
		ran++
		mu.Unlock()
		return "ran", nil
	})
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Site", r.URL.Path) })
	for _, bad := range []string{"/", "portal/", "/portal", "/a/b/", "//"} {
		if err := s.HandleSite("portal", "req", "res", bad, site); err == nil {
			t.Errorf("site prefix %q accepted", bad)
		}
	}
	if err := s.HandleSite("portal", "req", "res", "/portal/", site); err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"host", s}, {"forwarded", s.Forwarded()}} {
		for _, tt := range []struct {
			method, path string
			site         bool
		}{
			{"GET", "/", true}, {"HEAD", "/", true}, {"GET", "/portal/", true}, {"POST", "/portal/activate", true},
			{"GET", "/Portal/requests", true}, {"POST", "/", false}, {"POST", "/expirySweep", false}, {"GET", "/portalx", false},
		} {
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{"Data":{"timer":{}}}`)))
			if got := rec.Header().Get("X-Site") != ""; got != tt.site {
				t.Errorf("%s %s %s: site %v, want %v", h.name, tt.method, tt.path, got, tt.site)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if ran != 1 { // only the host's own envelope, never through Forwarded()
		t.Fatalf("timer ran %d times", ran)
	}
}
