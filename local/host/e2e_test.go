package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// roleEnv makes the test binary play another process: with
// FUNCTIONS_CUSTOMHANDLER_PORT also set it is the fake handler (the host
// sets that variable only for its handler), with "host" it is the host.
const roleEnv = "JITPIM_HOST_TEST_ROLE"

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" && os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT") != "" {
		fakeHandler()
		os.Exit(0)
	}
	if os.Getenv(roleEnv) == "host" {
		main()
	}
	os.Exit(m.Run())
}

// fakeHandler is a minimal custom handler that echoes what it receives.
func fakeHandler() {
	root := os.Getenv("FUNCTIONS_APP_ROOT_PATH")
	os.WriteFile(filepath.Join(root, "handler.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	exitAfterReady := slices.Contains(os.Args[1:], "-exit-after-ready")
	var once sync.Once
	var tickMu sync.Mutex

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if exitAfterReady {
			once.Do(func() { time.AfterFunc(300*time.Millisecond, func() { os.Exit(3) }) })
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var env map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &env); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		cwd, _ := os.Getwd()
		echo, _ := json.Marshal(map[string]any{
			"envelope":     env,
			"invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
			"contentType":  r.Header.Get("Content-Type"),
			"cwd":          cwd,
			"runtime":      os.Getenv("FUNCTIONS_WORKER_RUNTIME"),
			"appRoot":      os.Getenv("FUNCTIONS_APP_ROOT_PATH"),
		})
		mode := env["Data"].(map[string]any)["req"].(map[string]any)["Query"].(map[string]any)["mode"]
		var out any
		switch mode {
		case "fail":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case "garbage":
			io.WriteString(w, "this is not json")
			return
		case "nores":
			out = map[string]any{"Outputs": map[string]any{}}
		case "string":
			out = map[string]any{"Outputs": map[string]any{"res": map[string]any{
				"statusCode": "202",
				"headers":    map[string]any{"X-Multi": []string{"a", "b"}},
				"body":       map[string]any{"ok": true},
			}}}
		default:
			out = map[string]any{
				"Outputs": map[string]any{"res": map[string]any{
					"statusCode": 201,
					"headers":    map[string]any{"Content-Type": "application/json", "X-Echo": "yes"},
					"body":       string(echo),
				}},
				"Logs":        []string{"items handled"},
				"ReturnValue": nil,
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	// Forwarded requests arrive at their original path: echo what came.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("mode") == "teapot" {
			w.Header().Set("X-Handler", "short and stout")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "no coffee")
			return
		}
		if r.URL.Query().Get("mode") == "redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		json.NewEncoder(w).Encode(forwardEcho{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
			Header: r.Header, Body: raw, ContentLength: r.ContentLength})
	})
	mux.HandleFunc("POST /tick", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		tickMu.Lock()
		f, err := os.OpenFile(filepath.Join(root, "ticks.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(append(bytes.TrimSpace(raw), '\n'))
			f.Close()
		}
		tickMu.Unlock()
		fmt.Fprintf(w, `{"Outputs":{},"Logs":["tick ran"],"ReturnValue":%s}`, raw)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake handler:", err)
		os.Exit(1)
	}
	http.Serve(ln, mux) // SIGTERM's default action ends the process
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeApp creates an app root with an HTTP function and a timer function.
func writeApp(t *testing.T, handlerArgs []string) string {
	t.Helper()
	return writeAppMode(t, handlerArgs, false)
}

// writeAppMode is writeApp with host.json's enableForwardingHttpRequest.
func writeAppMode(t *testing.T, handlerArgs []string, forwarding bool) string {
	t.Helper()
	root := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hostJSON, _ := json.Marshal(map[string]any{
		"version": "2.0",
		"customHandler": map[string]any{
			"description":                 map[string]any{"defaultExecutablePath": self, "workingDirectory": "", "arguments": handlerArgs},
			"enableForwardingHttpRequest": forwarding,
		},
		"extensions": map[string]any{"http": map[string]any{"routePrefix": "api"}},
	})
	files := map[string]string{
		"host.json":                     string(hostJSON),
		"functions/items/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get","post"],"authLevel":"function","route":"items/{id}"},{"type":"http","direction":"out","name":"res"}]}`,
		"functions/tick/function.json":  `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%TICK_SCHEDULE%","runOnStartup":true}]}`,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TICK_SCHEDULE", "*/1 * * * * *")
	t.Setenv(roleEnv, "handler")
	return root
}

type runningHost struct {
	addr   string
	out    *syncBuffer
	cancel context.CancelFunc
	code   chan int
}

func startHost(t *testing.T, args ...string) *runningHost {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &runningHost{out: &syncBuffer{}, cancel: cancel, code: make(chan int, 1)}
	addrCh := make(chan string, 1)
	go func() { h.code <- run(ctx, args, h.out, h.out, func(a string) { addrCh <- a }) }()
	select {
	case h.addr = <-addrCh:
	case c := <-h.code:
		cancel()
		t.Fatalf("host exited with %d before serving:\n%s", c, h.out)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("host did not start:\n%s", h.out)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.code:
		case <-time.After(30 * time.Second):
			t.Errorf("host did not stop")
		}
	})
	return h
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func readPID(t *testing.T, root string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "handler.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

func do(t *testing.T, method, url string, header http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestEndToEnd(t *testing.T) {
	root := writeApp(t, nil)
	h := startHost(t, "-root", root, "-addr", "127.0.0.1:0")
	base := "http://" + h.addr

	t.Run("status", func(t *testing.T) {
		res, body := do(t, "GET", base+"/", nil, nil)
		if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"running"}` {
			t.Errorf("GET / = %d %s", res.StatusCode, body)
		}
	})

	t.Run("envelope", func(t *testing.T) {
		hdr := http.Header{"Authorization": {"Bearer tok"}, "Content-Type": {"text/plain"}, "X-Multi": {"1", "2"}}
		res, body := do(t, "POST", base+"/api/Items/42?$top=2&x=a&x=b", hdr, []byte("hello"))
		if res.StatusCode != 201 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("X-Echo") != "yes" {
			t.Fatalf("response = %d %v %s", res.StatusCode, res.Header, body)
		}
		var echo struct {
			Envelope struct {
				Data struct {
					Req httpRequestData `json:"req"`
				}
				Metadata struct {
					Query   map[string]string
					Headers map[string]string
					Params  map[string]string
					Sys     sysMetadata `json:"sys"`
				}
			}
			InvocationID, ContentType, Cwd, Runtime, AppRoot string
		}
		if err := json.Unmarshal(body, &echo); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		req, md := echo.Envelope.Data.Req, echo.Envelope.Metadata
		if want := base + "/api/Items/42?$top=2&x=a&x=b"; req.URL != want {
			t.Errorf("Url = %q, want %q", req.URL, want)
		}
		if req.Method != "POST" || req.Body != "hello" {
			t.Errorf("Method/Body = %q %q", req.Method, req.Body)
		}
		wantQuery := map[string]string{"$top": "2", "x": "a,b"}
		if !maps.Equal(req.Query, wantQuery) || !maps.Equal(md.Query, wantQuery) {
			t.Errorf("Query = %v / %v", req.Query, md.Query)
		}
		if !maps.Equal(req.Params, map[string]string{"id": "42"}) || !maps.Equal(md.Params, req.Params) {
			t.Errorf("Params = %v / %v", req.Params, md.Params)
		}
		if got := req.Headers["Authorization"]; len(got) != 1 || got[0] != "Bearer tok" {
			t.Errorf("Headers[Authorization] = %v", got)
		}
		if got := req.Headers["X-Multi"]; len(got) != 2 || md.Headers["X-Multi"] != "1" {
			t.Errorf("X-Multi = %v / %q", got, md.Headers["X-Multi"])
		}
		if req.Headers["Content-Type"][0] != "text/plain" || md.Headers["Authorization"] != "Bearer tok" {
			t.Errorf("headers = %v / %v", req.Headers, md.Headers)
		}
		if req.Identities == nil {
			t.Error("Identities missing")
		}
		if md.Sys.MethodName != "items" {
			t.Errorf("sys.MethodName = %q", md.Sys.MethodName)
		}
		if _, err := time.Parse(time.RFC3339Nano, md.Sys.UtcNow); err != nil {
			t.Errorf("sys.UtcNow: %v", err)
		}
		if _, err := uuid.Parse(md.Sys.RandGuid); err != nil {
			t.Errorf("sys.RandGuid: %v", err)
		}
		if _, err := uuid.Parse(echo.InvocationID); err != nil {
			t.Errorf("invocation id %q: %v", echo.InvocationID, err)
		}
		if echo.ContentType != "application/json" || echo.Runtime != "Custom" || echo.AppRoot != root {
			t.Errorf("handler saw content-type %q runtime %q root %q", echo.ContentType, echo.Runtime, echo.AppRoot)
		}
		if a, b := evalPath(echo.Cwd), evalPath(root); a != b {
			t.Errorf("handler cwd = %q, want %q", a, b)
		}
		wantLog := "items [" + echo.InvocationID + "] items handled"
		waitFor(t, "handler log line", 5*time.Second, func() bool { return strings.Contains(h.out.String(), wantLog) })
	})

	t.Run("binary body: base64 for octet-stream, mangled text otherwise", func(t *testing.T) {
		for _, c := range []struct {
			contentType string
			want        any
		}{{"application/octet-stream", "//4="}, {"application/json", "\uFFFD\uFFFD"}, {"", "\uFFFD\uFFFD"}} {
			hdr := http.Header{}
			if c.contentType != "" {
				hdr.Set("Content-Type", c.contentType)
			}
			_, body := do(t, "POST", base+"/api/items/1", hdr, []byte{0xff, 0xfe})
			var echo struct {
				Envelope struct{ Data struct{ Req httpRequestData } }
			}
			json.Unmarshal(body, &echo)
			if got := echo.Envelope.Data.Req.Body; got != c.want {
				t.Errorf("%q: Body = %q, want %q", c.contentType, got, c.want)
			}
		}
	})

	t.Run("string status and object body", func(t *testing.T) {
		res, body := do(t, "GET", base+"/api/items/1?mode=string", nil, nil)
		if res.StatusCode != 202 || string(body) != `{"ok":true}` || len(res.Header.Values("X-Multi")) != 2 {
			t.Errorf("got %d %v %s", res.StatusCode, res.Header, body)
		}
	})

	t.Run("no output is 204", func(t *testing.T) {
		if res, _ := do(t, "GET", base+"/api/items/1?mode=nores", nil, nil); res.StatusCode != 204 {
			t.Errorf("status = %d", res.StatusCode)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/nope"}, {"GET", "/api/items"}, {"GET", "/api/items/1/2"},
			{"DELETE", "/api/items/1"}, {"GET", "/items/1"},
		} {
			if res, _ := do(t, c.method, base+c.path, nil, nil); res.StatusCode != 404 {
				t.Errorf("%s %s = %d, want 404", c.method, c.path, res.StatusCode)
			}
		}
	})

	t.Run("handler failure is 500", func(t *testing.T) {
		for _, mode := range []string{"fail", "garbage"} {
			if res, _ := do(t, "GET", base+"/api/items/1?mode="+mode, nil, nil); res.StatusCode != 500 {
				t.Errorf("mode %s: status = %d, want 500", mode, res.StatusCode)
			}
		}
		if !strings.Contains(h.out.String(), "handler answered 500") {
			t.Errorf("failure not logged:\n%s", h.out)
		}
	})

	t.Run("scheduled timer", func(t *testing.T) {
		var lines []string
		waitFor(t, "two timer runs", 15*time.Second, func() bool {
			raw, _ := os.ReadFile(filepath.Join(root, "ticks.jsonl"))
			lines = strings.Split(strings.TrimSpace(string(raw)), "\n")
			return len(lines) >= 2
		})
		var first, second struct {
			Data struct{ Timer timerInfo }
		}
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
			t.Fatal(err)
		}
		if first.Data.Timer.ScheduleStatus != nil {
			t.Errorf("first run ScheduleStatus = %+v, want null", first.Data.Timer.ScheduleStatus)
		}
		if s := second.Data.Timer.ScheduleStatus; s == nil || s.Last.IsZero() || !s.Next.After(s.Last) {
			t.Errorf("second run ScheduleStatus = %+v", s)
		}
	})

	t.Run("admin invoke timer", func(t *testing.T) {
		var res *http.Response
		var body []byte
		// The every-second schedule can briefly hold the run slot (409).
		waitFor(t, "admin run", 10*time.Second, func() bool {
			res, body = do(t, "POST", base+"/admin/functions/tick?wait=true", nil, []byte(`{"input":"x"}`))
			return res.StatusCode != http.StatusConflict
		})
		if res.StatusCode != 200 {
			t.Fatalf("status = %d %s", res.StatusCode, body)
		}
		var out struct {
			Logs        []string
			ReturnValue map[string]map[string]json.RawMessage
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		var ti map[string]json.RawMessage
		json.Unmarshal(out.ReturnValue["Data"]["timer"], &ti)
		if string(ti["Schedule"]) != `{"AdjustForDST":false}` || string(ti["IsPastDue"]) != "false" {
			t.Errorf("timer payload = %s", out.ReturnValue["Data"]["timer"])
		}
		if _, ok := ti["ScheduleStatus"]; !ok {
			t.Errorf("ScheduleStatus key missing: %s", out.ReturnValue["Data"]["timer"])
		}
		var sys sysMetadata
		json.Unmarshal(out.ReturnValue["Metadata"]["sys"], &sys)
		if sys.MethodName != "tick" || len(out.Logs) != 1 {
			t.Errorf("sys = %+v, logs = %v", sys, out.Logs)
		}

		waitFor(t, "async admin run", 10*time.Second, func() bool {
			r, _ := do(t, "POST", base+"/admin/functions/TICK", nil, nil)
			return r.StatusCode == http.StatusAccepted
		})
		if r, _ := do(t, "POST", base+"/admin/functions/nope?wait=true", nil, nil); r.StatusCode != 404 {
			t.Errorf("unknown function = %d", r.StatusCode)
		}
		if r, _ := do(t, "POST", base+"/admin/functions/items", nil, nil); r.StatusCode != 400 {
			t.Errorf("http function via admin = %d", r.StatusCode)
		}
	})

	t.Run("admin list", func(t *testing.T) {
		_, body := do(t, "GET", base+"/admin/functions", nil, nil)
		var list []functionInfo
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		want := []functionInfo{
			{Name: "items", Kind: "http", Route: "/api/items/{id}", Methods: []string{"get", "post"}},
			{Name: "tick", Kind: "timer", Schedule: "*/1 * * * * *", RunOnStartup: true},
		}
		if fmt.Sprint(list) != fmt.Sprint(want) {
			t.Errorf("list = %+v", list)
		}
	})

	t.Run("shutdown stops handler", func(t *testing.T) {
		pid := readPID(t, root)
		h.cancel()
		select {
		case c := <-h.code:
			if c != 0 {
				t.Errorf("exit code = %d", c)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("host did not stop")
		}
		h.code <- 0 // for Cleanup
		if !processGone(pid) {
			t.Errorf("handler %d still running", pid)
		}
		if !strings.Contains(h.out.String(), "handler stopped") {
			t.Errorf("no stop log:\n%s", h.out)
		}
	})
}

func TestHandlerExitFailsHost(t *testing.T) {
	root := writeApp(t, []string{"-exit-after-ready"})
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, "-root", root, "-addr", "127.0.0.1:0", "-handler-port", strconv.Itoa(port))
	select {
	case c := <-h.code:
		if c == 0 {
			t.Error("host exited 0 after its handler died")
		}
		h.code <- c
	case <-time.After(30 * time.Second):
		t.Fatal("host kept running after its handler died")
	}
	if !strings.Contains(h.out.String(), "handler exited unexpectedly") {
		t.Errorf("not logged:\n%s", h.out)
	}
}

func TestBadConfigRefusesToStart(t *testing.T) {
	root := writeApp(t, nil)
	os.WriteFile(filepath.Join(root, "functions/tick/function.json"),
		[]byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 0 1 * 1"}]}`), 0o644)
	var out syncBuffer
	code := run(context.Background(), []string{"-root", root, "-addr", "127.0.0.1:0"}, &out, &out, nil)
	if code == 0 || !strings.Contains(out.String(), `function "tick" field schedule`) {
		t.Errorf("code %d, output:\n%s", code, out.String())
	}
}

// TestSignalShutdown runs the real main in a child process and sends it
// SIGTERM, as a terminal or supervisor would.
func TestSignalShutdown(t *testing.T) {
	root := writeApp(t, nil)
	self, _ := os.Executable()
	cmd := exec.Command(self, "-root", root, "-addr", "127.0.0.1:0")
	env := []string{roleEnv + "=host"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, roleEnv+"=") && !strings.HasPrefix(kv, "FUNCTIONS_CUSTOMHANDLER_PORT=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	listening := regexp.MustCompile(`listening on http://(\S+)`)
	var addr string
	waitFor(t, "child host to listen", 60*time.Second, func() bool {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			return true
		}
		return false
	})
	if res, _ := do(t, "GET", "http://"+addr+"/", nil, nil); res.StatusCode != 200 {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
	pid := readPID(t, root)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for Cleanup
		if err != nil {
			t.Errorf("host exit: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("host did not exit after SIGTERM:\n%s", out.String())
	}
	waitFor(t, "handler to be gone", 5*time.Second, func() bool { return processGone(pid) })
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("host still accepting connections")
	}
}

func evalPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

type forwardEcho struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         []byte
	ContentLength                int64
}

// TestForwarding: with enableForwardingHttpRequest the host proxies HTTP
// requests to the handler as the real host does (forward.go), and still
// sends timers as envelopes.
func TestForwarding(t *testing.T) {
	root := writeAppMode(t, nil, true)
	h := startHost(t, "-root", root, "-addr", "127.0.0.1:0")
	base := "http://" + h.addr
	echoOf := func(t *testing.T, res *http.Response, body []byte) forwardEcho {
		t.Helper()
		var e forwardEcho
		if res.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
			t.Fatalf("forwarded answer %d %s", res.StatusCode, body)
		}
		return e
	}
	gz := []byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xfe}

	t.Run("raw bytes, original path, headers, query", func(t *testing.T) {
		hdr := http.Header{"Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}, "Content-Encoding": {"gzip"},
			"Content-Language": {"de"}, "X-Multi": {"1", "2"}, "User-Agent": {"kiota-go/1"}}
		res, body := do(t, "POST", base+"/api/Items/42?$filter=a%20eq%20'b'&x=a&X=b&flag", hdr, gz)
		e := echoOf(t, res, body)
		if e.Method != "POST" || e.Path != "/api/Items/42" || !bytes.Equal(e.Body, gz) || e.ContentLength != int64(len(gz)) {
			t.Errorf("got %s %s body %x (len %d)", e.Method, e.Path, e.Body, e.ContentLength)
		}
		if want := "%24filter=a%20eq%20%27b%27&x=a%2Cb&flag="; e.RawQuery != want {
			t.Errorf("query %q, want %q (rebuilt from ASP.NET's query collection)", e.RawQuery, want)
		}
		if e.Header.Get("Content-Encoding") != "" || e.Header.Get("Content-Language") != "" {
			t.Errorf("content headers other than Content-Type/Length reached the handler: %v", e.Header)
		}
		if e.Header.Get("Content-Type") != "application/json" || e.Header.Get("Authorization") != "Bearer tok" || len(e.Header.Values("X-Multi")) != 2 {
			t.Errorf("headers %v", e.Header)
		}
		if _, err := uuid.Parse(e.Header.Get("X-Azure-Functions-InvocationId")); err != nil || e.Header.Get("X-Azure-Functions-HostVersion") == "" {
			t.Errorf("host headers %v", e.Header)
		}
		if ua := e.Header.Get("User-Agent"); !strings.HasPrefix(ua, "kiota-go/1 Azure-Functions-Host/") {
			t.Errorf("User-Agent %q", ua)
		}
		if e.Host != h.addr {
			t.Errorf("Host %q, want the client's %q", e.Host, h.addr)
		}
	})

	t.Run("no Content-Length, no body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", base+"/api/items/1", io.MultiReader(bytes.NewReader([]byte(`{"a":1}`))))
		req.ContentLength = -1 // chunked
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if e := echoOf(t, res, body); len(e.Body) != 0 {
			t.Errorf("a chunked body was forwarded: %q", e.Body)
		}
	})

	t.Run("answers relayed as they are", func(t *testing.T) {
		res, body := do(t, "GET", base+"/api/items/1?mode=teapot", nil, nil)
		if res.StatusCode != http.StatusTeapot || string(body) != "no coffee" || res.Header.Get("X-Handler") != "short and stout" {
			t.Errorf("got %d %v %q", res.StatusCode, res.Header, body)
		}
		noFollow := &http.Client{Transport: client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := noFollow.Get(base + "/api/items/1?mode=redirect")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/elsewhere" {
			t.Errorf("redirect: %d %v (the host must not follow it)", res.StatusCode, res.Header)
		}
	})

	t.Run("declared body over the host limit", func(t *testing.T) {
		req, _ := http.NewRequest("POST", base+"/api/items/1", strings.NewReader("x"))
		req.ContentLength = maxRequestBody + 1
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", res.StatusCode)
			}
		}
		// An error is fine too: the client could not send what it promised.
	})

	t.Run("routes and timers unchanged", func(t *testing.T) {
		if res, _ := do(t, "DELETE", base+"/api/items/1", nil, nil); res.StatusCode != 404 {
			t.Errorf("method outside the route's list: %d", res.StatusCode)
		}
		waitFor(t, "the startup timer envelope", 10*time.Second, func() bool {
			raw, _ := os.ReadFile(filepath.Join(root, "ticks.jsonl"))
			return bytes.Contains(raw, []byte(`"IsPastDue"`))
		})
	})
}

func TestForwardedQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"":                        "",
		"$top=2":                  "?%24top=2",
		"a=1&A=2&b":               "?a=1%2C2&b=",
		"q=x+y&r=%27s%27":         "?q=x%20y&r=%27s%27",
		"&&=nokey&k=v":            "?k=v",
		"on=%E2%9C%93&t=a~b-c_d.": "?on=%E2%9C%93&t=a~b-c_d.",
	} {
		if got := forwardedQuery(raw); got != want {
			t.Errorf("forwardedQuery(%q) = %q, want %q", raw, got, want)
		}
	}
}
