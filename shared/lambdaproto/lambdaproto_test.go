package lambdaproto

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type fakeTimers struct {
	ran []string
	err error
}

func (f *fakeTimers) RunTimer(_ context.Context, name, inv string) (string, error) {
	f.ran = append(f.ran, name+"/"+inv)
	return name + " done", f.err
}

// echo answers with what it received, so tests can see the rebuilt request.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	out := map[string]any{"method": r.Method, "url": r.URL.String(), "host": r.Host, "body": string(b), "remote": r.RemoteAddr,
		"cookie": r.Header.Get("Cookie"), "inv": r.Header.Get("X-Inv"), "ct": r.Header.Get("Content-Type"), "len": r.ContentLength}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func invoke(t *testing.T, h *Handler, event string) (any, error) {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	return h.Invoke(ctx, json.RawMessage(event))
}

func TestHTTPEvents(t *testing.T) {
	h := New(quiet(), http.HandlerFunc(echo), &fakeTimers{}, Options{InvocationHeader: "X-Inv"})
	cases := []struct {
		name  string
		event string
		want  map[string]any
		code  int
	}{
		{"function URL GET with query and cookies",
			`{"version":"2.0","rawPath":"/api/roleManagement/x","rawQueryString":"a=1&b=%20","cookies":["s=1","t=2"],
			  "headers":{"host":"abc.lambda-url.eu-west-1.on.aws","x-inv":"spoofed"},
			  "requestContext":{"domainName":"abc.lambda-url.eu-west-1.on.aws","http":{"method":"GET","sourceIp":"203.0.113.9"}}}`,
			map[string]any{"method": "GET", "url": "https://abc.lambda-url.eu-west-1.on.aws/api/roleManagement/x?a=1&b=%20",
				"cookie": "s=1; t=2", "inv": "req-1", "remote": "203.0.113.9:0", "body": ""}, 200},
		{"plain body", `{"version":"2.0","rawPath":"/api/p","headers":{"content-type":"application/json"},"body":"{\"a\":1}",
			"requestContext":{"domainName":"d","http":{"method":"post"}}}`,
			map[string]any{"method": "POST", "body": `{"a":1}`, "ct": "application/json", "len": float64(7), "host": "d"}, 200},
		{"base64 body", `{"version":"2.0","rawPath":"/api/p","isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte("hi\x00")) + `",
			"requestContext":{"http":{"method":"POST"}}}`,
			map[string]any{"body": "hi\x00", "len": float64(3)}, 200},
		{"HTTP API stage prefix", `{"version":"2.0","rawPath":"/prod/api/p","requestContext":{"stage":"prod","domainName":"x.execute-api","http":{"method":"GET"}}}`,
			map[string]any{"url": "https://x.execute-api/api/p"}, 200},
		{"HTTP API default stage", `{"version":"2.0","rawPath":"/api/p","requestContext":{"stage":"$default","domainName":"h","http":{"method":"GET"}}}`,
			map[string]any{"url": "https://h/api/p"}, 200},
		{"bad base64 is a 400", `{"version":"2.0","rawPath":"/api/p","isBase64Encoded":true,"body":"***","requestContext":{"http":{"method":"POST"}}}`,
			nil, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := invoke(t, h, c.event)
			if err != nil {
				t.Fatal(err)
			}
			res := out.(events.LambdaFunctionURLResponse)
			if res.StatusCode != c.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.code, res.Body)
			}
			if c.want == nil {
				return
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
				t.Fatalf("%v: %s", err, res.Body)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}
}

func TestResponses(t *testing.T) {
	cases := []struct {
		name    string
		h       http.HandlerFunc
		code    int
		body    string
		base64  bool
		cookies []string
		headers map[string]string
	}{
		{"defaults to 200", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }, 200, "ok", false, []string{}, nil},
		{"status without body", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, 204, "", false, []string{}, nil},
		{"cookies are not joined", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", "a=1; Path=/; HttpOnly")
			w.Header().Add("Set-Cookie", "b=2, c; Path=/")
			w.Header().Add("Vary", "A")
			w.Header().Add("Vary", "B")
			w.Header().Set("Content-Length", "99")
			w.WriteHeader(302)
		}, 302, "", false, []string{"a=1; Path=/; HttpOnly", "b=2, c; Path=/"}, map[string]string{"Vary": "A, B"}},
		{"binary goes base64", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte{0xff, 0x00, 0x01}) }, 200,
			base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x01}), true, []string{}, nil},
		{"encoded text goes base64", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write([]byte("abc"))
		}, 200, base64.StdEncoding.EncodeToString([]byte("abc")), true, []string{}, nil},
		{"too large is a 500", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("x", MaxResponse+1)))
		},
			500, "the response is larger than AWS Lambda can return\n", false, []string{}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := New(quiet(), c.h, &fakeTimers{}, Options{})
			out, err := invoke(t, h, `{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"}}}`)
			if err != nil {
				t.Fatal(err)
			}
			res := out.(events.LambdaFunctionURLResponse)
			if res.StatusCode != c.code || res.Body != c.body || res.IsBase64Encoded != c.base64 {
				t.Fatalf("got %d %q base64=%v", res.StatusCode, trunc(res.Body), res.IsBase64Encoded)
			}
			if strings.Join(res.Cookies, "|") != strings.Join(c.cookies, "|") {
				t.Fatalf("cookies %q, want %q", res.Cookies, c.cookies)
			}
			if _, ok := res.Headers["Content-Length"]; ok {
				t.Fatal("Content-Length is passed through; the service computes it")
			}
			for k, v := range c.headers {
				if res.Headers[k] != v {
					t.Fatalf("header %s = %q, want %q", k, res.Headers[k], v)
				}
			}
			// The answer must marshal to the JSON the service reads.
			b, _ := json.Marshal(res)
			if !strings.Contains(string(b), `"statusCode"`) || !strings.Contains(string(b), `"cookies"`) {
				t.Fatalf("json: %s", trunc(string(b)))
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestTimerAndUnknownEvents(t *testing.T) {
	timers := &fakeTimers{}
	h := New(quiet(), http.NotFoundHandler(), timers, Options{})
	out, err := invoke(t, h, `{"timer":"expirySweep"}`)
	if err != nil || out.(TimerResult) != (TimerResult{Timer: "expirySweep", Summary: "expirySweep done"}) || timers.ran[0] != "expirySweep/req-1" {
		t.Fatalf("timer: %v %v %v", out, err, timers.ran)
	}
	timers.err = errors.New("table storage down")
	if _, err := invoke(t, h, `{"timer":"reminders"}`); err == nil || !strings.Contains(err.Error(), "table storage down") {
		t.Fatalf("a failed timer must fail the invocation: %v", err)
	}
	for _, ev := range []string{`{"timer":""}`, `{}`, `[1]`, `not json`,
		`{"httpMethod":"GET","path":"/"}`,
		`{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`} {
		if _, err := invoke(t, h, ev); !errors.Is(err, ErrUnknownEvent) {
			t.Errorf("%s: %v, want ErrUnknownEvent", ev, err)
		}
	}
}
