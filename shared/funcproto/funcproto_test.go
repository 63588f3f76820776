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
	"testing"
)

func TestHTTPInvocation(t *testing.T) {
	s := New(slog.New(slog.DiscardHandler))
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
	s := New(slog.New(slog.DiscardHandler))
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
	s := New(slog.New(slog.DiscardHandler))
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
