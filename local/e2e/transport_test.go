package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/local/stack"
	"github.com/jitpim/jitpim/shared/httpapi"
)

// post sends raw bytes to the host as a client would, with extra headers.
func post(t *testing.T, path string, body io.Reader, length int64, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", st.HostURL+"/api/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, res.Header, out
}

func graphErrorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(string)
	if inner, _ := e["innerError"].(map[string]any); inner == nil || inner["request-id"] == nil || inner["date"] == nil {
		return code + " (without innerError request-id and date)"
	}
	return code
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// roleDirectoryReaders is a role no other test uses.
const roleDirectoryReaders = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"

// stanReaderRequests counts Stan's Directory Readers eligibility requests:
// a refused body must store nothing.
func stanReaderRequests(t *testing.T, gina *stack.Client) int {
	t.Helper()
	return len(must(t, gina, 200, "GET", eligReqs+"?$filter=principalId eq '"+user("stan")+"' and roleDefinitionId eq '"+roleDirectoryReaders+"'", nil)["value"].([]any))
}

// TestBodiesThroughTheHost: bodies reach the real handler through the
// local host configured as jitpim runs in Azure (enableForwardingHttpRequest):
// gzip is decoded, oversized bodies and gzip bombs get 413 with a Graph
// error before anything is read whole or stored, for the API and the
// ServiceNow webhook alike.
func TestBodiesThroughTheHost(t *testing.T) {
	gina := as(t, "gina", true)
	auth := map[string]string{"Authorization": "Bearer " + gina.Token, "Content-Type": "application/json"}
	before := stanReaderRequests(t, gina)
	doc := func(justification string) []byte {
		b, _ := json.Marshal(map[string]any{"action": "adminAssign", "principalId": user("stan"), "roleDefinitionId": roleDirectoryReaders,
			"directoryScopeId": "/", "justification": justification,
			"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P1D"}}})
		return b
	}

	t.Run("5 MB API body", func(t *testing.T) {
		big := doc(strings.Repeat("x", 5<<20))
		code, _, out := post(t, eligReqs, bytes.NewReader(big), int64(len(big)), auth)
		if code != 413 || graphErrorCode(out) != "RequestEntityTooLarge" {
			t.Fatalf("5 MB body: %d %v", code, out)
		}
	})
	t.Run("gzip bomb", func(t *testing.T) {
		// 8 MiB of JSON whitespace inflate from about 8 KiB: 128 times the limit.
		bomb := gz(t, append(doc("bomb")[:1], append(bytes.Repeat([]byte(" "), 8<<20), doc("bomb")[1:]...)...))
		if len(bomb) > httpapi.MaxRequestBody {
			t.Fatalf("the bomb is %d bytes compressed; it must pass the wire limit", len(bomb))
		}
		hdr := map[string]string{"Content-Encoding": "gzip"}
		for k, v := range auth {
			hdr[k] = v
		}
		code, _, out := post(t, eligReqs, bytes.NewReader(bomb), int64(len(bomb)), hdr)
		if code != 413 || graphErrorCode(out) != "RequestEntityTooLarge" {
			t.Fatalf("gzip bomb: %d %v", code, out)
		}
	})
	if n := stanReaderRequests(t, gina); n != before {
		t.Fatalf("refused bodies stored %d requests", n-before)
	}
	t.Run("5 MB webhook", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), 5<<20)
		code, _, out := post(t, "servicenow/webhook", bytes.NewReader(big), int64(len(big)),
			map[string]string{"Content-Type": "application/json", "X-Jitpim-Timestamp": "1", "X-Jitpim-Signature": "v1=00"})
		if code != 413 || graphErrorCode(out) != "RequestEntityTooLarge" {
			t.Fatalf("5 MB webhook: %d %v", code, out)
		}
	})
	t.Run("gzip JSON is decoded", func(t *testing.T) {
		body := gz(t, doc("gzip from a plain client"))
		hdr := map[string]string{"Content-Encoding": "gzip", "client-request-id": "trace-me-1"}
		for k, v := range auth {
			hdr[k] = v
		}
		code, h, out := post(t, eligReqs, bytes.NewReader(body), int64(len(body)), hdr)
		if code != 201 || out["justification"] != "gzip from a plain client" || h.Get("request-id") != "trace-me-1" || h.Get("client-request-id") != "trace-me-1" {
			t.Fatalf("gzip body: %d %v %v", code, h, out)
		}
		must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminRemove", "principalId": user("stan"),
			"roleDefinitionId": roleDirectoryReaders, "directoryScopeId": "/", "justification": "clean up"})
	})
	t.Run("a body without Content-Length does not reach the handler", func(t *testing.T) {
		// The real host forwards a body only when Content-Length is positive.
		code, _, out := post(t, eligReqs, io.MultiReader(bytes.NewReader(doc("chunked"))), -1, auth)
		if code != 400 || !strings.Contains(strings.ToLower(graphErrorCode(out)), "badrequest") {
			t.Fatalf("chunked body: %d %v", code, out)
		}
	})
}

// TestFunctionRoutesNameTheirFunction: host.json's routePrefix is empty so
// the portal can answer at the app's root; forwarded API requests are
// routed by the first segment after /api/ (funcproto), so every API
// function's route must start with api/ and its folder's name, and the
// site's two functions have exactly the routes funcproto serves: "/" (an
// optional parameter that must stay empty, because an empty route never
// matches in Azure) and /portal/. No route may catch single-segment paths
// such as /expirySweep, where the host posts invocation envelopes.
func TestFunctionRoutesNameTheirFunction(t *testing.T) {
	raw, err := os.ReadFile("../../host.json")
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		CustomHandler struct {
			EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			HTTP struct {
				RoutePrefix string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &host); err != nil {
		t.Fatal(err)
	}
	if !host.CustomHandler.EnableForwardingHttpRequest || host.Extensions.HTTP.RoutePrefix != "" {
		t.Fatalf("host.json: forwarding %v, routePrefix %q; the handler expects forwarding and an empty prefix", host.CustomHandler.EnableForwardingHttpRequest, host.Extensions.HTTP.RoutePrefix)
	}
	site := map[string]string{"home": "{home:maxlength(0)?}", "portal": "portal/{*path}"}
	files, _ := filepath.Glob("../../functions/*/function.json")
	https := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fn struct {
			Bindings []struct{ Type, Route string }
		}
		if err := json.Unmarshal(raw, &fn); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(f))
		for _, b := range fn.Bindings {
			if b.Type != "httpTrigger" {
				continue
			}
			https++
			if want, ok := site[name]; ok {
				if b.Route != want {
					t.Errorf("%s: route %q, want %q", f, b.Route, want)
				}
				continue
			}
			if api, rest, _ := strings.Cut(b.Route, "/"); api != "api" || !strings.EqualFold(strings.Split(rest, "/")[0], name) {
				t.Errorf("%s: route %q does not start with api/%s", f, b.Route, name)
			}
		}
	}
	if https < 8 {
		t.Fatalf("found %d HTTP functions", https)
	}
}
