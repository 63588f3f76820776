// Command host is a local stand-in for the Azure Functions host, for
// development where Azure Functions Core Tools cannot be installed.
//
// It plays the host's side of the custom handler protocol: it reads
// host.json and the function.json files, starts the handler binary, routes
// HTTP requests to httpTrigger functions by their route templates, and fires
// timerTrigger functions on their NCRONTAB schedules. Timers, and HTTP
// functions when enableForwardingHttpRequest is false, get the same
// invocation envelope the real host sends; with it true, HTTP requests are
// proxied to the handler exactly as the real host proxies them (forward.go),
// so the handler cannot tell the difference.
//
// Usage:
//
//	go run ./local/host -root . -addr 127.0.0.1:7071
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	readyTimeout   = 60 * time.Second // how long the handler may take to answer GET /
	stopGrace      = 10 * time.Second // SIGTERM to SIGKILL
	drainTimeout   = 10 * time.Second // in-flight invocations at shutdown
	maxRequestBody = 100 << 20        // the real host's default request limit
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

type options struct {
	root, functionsDir, handler, addr string
	handlerPort                       int
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.root, "root", ".", "app root holding host.json")
	fs.StringVar(&o.functionsDir, "functions", "", "folder whose subfolders hold function.json (default <root>/functions)")
	fs.StringVar(&o.handler, "handler", "", "handler binary (default host.json customHandler.description.defaultExecutablePath, relative to root)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:7071", "address the host listens on")
	fs.IntVar(&o.handlerPort, "handler-port", 0, "port for the handler (default: a free port)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, nil
}

// run is main without the process exit, so tests can drive the whole host.
// ready, if set, receives the listening address once requests are served.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) int {
	stdout, stderr = serialize(stdout, stderr)
	logger := log.New(stdout, "[host] ", log.LstdFlags|log.Lmsgprefix)
	logf := logger.Printf

	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	h, err := setup(o, logf)
	if err != nil {
		fmt.Fprintln(stderr, "host:", err)
		return 1
	}
	return h.serve(ctx, stdout, stderr, ready)
}

// host is the wired-up application.
type host struct {
	opts        *options
	root        string
	cfg         *hostConfig
	fns         []*function
	router      *router
	timers      *timers
	handlerPath string
	handlerDir  string
	logf        func(string, ...any)

	ln  net.Listener
	inv *invoker
	fwd *http.Client // forwarded HTTP requests

	bgCtx context.Context // background (timer, admin) invocations
	bgWG  sync.WaitGroup
}

func setup(o *options, logf func(string, ...any)) (*host, error) {
	root, err := filepath.Abs(o.root)
	if err != nil {
		return nil, err
	}
	cfg, err := loadHostConfig(root)
	if err != nil {
		return nil, err
	}
	fnDir := o.functionsDir
	if fnDir == "" {
		fnDir = filepath.Join(root, "functions")
	}
	fns, err := loadFunctions(fnDir, os.Getenv)
	if err != nil {
		return nil, err
	}
	tm, err := newTimers(fns)
	if err != nil {
		return nil, err
	}
	h := &host{opts: o, root: root, cfg: cfg, fns: fns, router: newRouter(cfg.RoutePrefix, fns), timers: tm, logf: logf}
	if h.handlerPath, err = resolveHandler(o.handler, cfg.ExecutablePath, root); err != nil {
		return nil, err
	}
	h.handlerDir = root
	if wd := cfg.WorkingDirectory; wd != "" {
		if !filepath.IsAbs(wd) {
			wd = filepath.Join(root, wd)
		}
		h.handlerDir = wd
	}
	if len(fns) == 0 {
		logf("warning: no functions found in %s", fnDir)
	}
	return h, nil
}

// resolveHandler finds the handler binary: -handler as given (relative to
// the working directory), else host.json's path relative to the app root,
// falling back to PATH for bare names as the real host does.
func resolveHandler(flagPath, cfgPath, root string) (string, error) {
	p := flagPath
	if p == "" {
		if cfgPath == "" {
			return "", errors.New("no handler: pass -handler or set customHandler.description.defaultExecutablePath in host.json")
		}
		p = cfgPath
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		return abs, nil
	}
	if flagPath == "" && !strings.ContainsAny(cfgPath, `/\`) {
		if lp, err := exec.LookPath(cfgPath); err == nil {
			return lp, nil
		}
	}
	return "", fmt.Errorf("handler binary %s not found (build it first, or pass -handler)", abs)
}

func (h *host) serve(ctx context.Context, stdout, stderr io.Writer, ready func(string)) int {
	// Bind before starting the handler so a busy address fails fast.
	ln, err := net.Listen("tcp", h.opts.addr)
	if err != nil {
		fmt.Fprintln(stderr, "host:", err)
		return 1
	}
	h.ln = ln
	port := h.opts.handlerPort
	if port == 0 {
		if port, err = freePort(); err != nil {
			ln.Close()
			fmt.Fprintln(stderr, "host: picking a handler port:", err)
			return 1
		}
	}
	h.inv = newInvoker(port, h.logf)
	h.fwd = forwardClient()

	proc, err := startHandler(h.handlerPath, h.cfg.Arguments, h.handlerDir, h.root, port, stdout, stderr)
	if err != nil {
		ln.Close()
		fmt.Fprintln(stderr, "host:", err)
		return 1
	}
	h.logf("started handler %s (pid %d, port %d)", h.handlerPath, proc.cmd.Process.Pid, port)

	if err := waitReady(ctx, h.inv, proc, readyTimeout); err != nil {
		ln.Close()
		if ctx.Err() != nil {
			proc.stop(stopGrace, h.logf)
			return 0
		}
		h.logf("handler not ready: %v", err)
		proc.stop(stopGrace, h.logf)
		return 1
	}
	h.logf("handler ready")
	if h.cfg.Forwarding {
		h.logf("enableForwardingHttpRequest: HTTP requests are proxied to the handler; timers get invocation envelopes")
	}

	bgCtx, cancelBG := context.WithCancel(context.Background())
	defer cancelBG()
	h.bgCtx = bgCtx

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	h.logf("listening on http://%s", addr)
	h.logFunctions(addr)

	h.timers.start(func(ts *timerState, _ bool) { h.runTimer(ts, "Timer fired") }, h.logf)
	for _, ts := range h.timers.states {
		if ts.fn.RunOnStartup {
			h.bgWG.Add(1)
			go func() {
				defer h.bgWG.Done()
				if !ts.tryStart() {
					h.logf("timer %s: already running, skipping runOnStartup", ts.fn.Name)
					return
				}
				defer ts.finish()
				h.runTimer(ts, "RunOnStartup")
			}()
		}
	}
	if ready != nil {
		ready(addr)
	}

	code := 0
	select {
	case <-ctx.Done():
		h.logf("shutting down")
	case <-proc.done:
		h.logf("handler exited unexpectedly: %v", proc.err)
		code = 1
	case err := <-serveErr:
		h.logf("http server failed: %v", err)
		code = 1
	}

	// Stop accepting, let in-flight invocations finish (bounded), then stop
	// the handler they depend on.
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), drainTimeout)
	defer cancelDrain()
	if err := srv.Shutdown(drainCtx); err != nil {
		srv.Close()
	}
	h.timers.stop(drainCtx)
	bgDone := make(chan struct{})
	go func() { h.bgWG.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-drainCtx.Done():
	}
	cancelBG()
	proc.stop(stopGrace, h.logf)
	h.logf("stopped")
	return code
}

func (h *host) logFunctions(addr string) {
	h.logf("functions:")
	for _, f := range h.fns {
		switch f.Kind {
		case kindHTTP:
			h.logf("  %s: [%s] http://%s/%s", f.Name, methodList(f), addr, h.routeWithPrefix(f))
		case kindTimer:
			extra := ""
			if f.RunOnStartup {
				extra = " (runOnStartup)"
			}
			h.logf("  %s: timer %q UTC%s", f.Name, f.Schedule, extra)
		}
	}
}

func methodList(f *function) string {
	if f.Methods == nil {
		return "ALL"
	}
	return strings.ToUpper(strings.Join(f.Methods, ","))
}

func (h *host) routeWithPrefix(f *function) string {
	return strings.Trim(h.cfg.RoutePrefix+"/"+f.Route, "/")
}

// runTimer performs a scheduled (or startup) run; the caller holds the slot.
func (h *host) runTimer(ts *timerState, reason string) {
	prev := ts.advance(time.Now().UTC())
	if _, err := h.inv.invoke(h.bgCtx, ts.fn, reason, timerInvokeRequest(ts.fn, prev)); err != nil {
		h.logf("timer %s failed: %v", ts.fn.Name, err)
	}
}

func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	lp := strings.ToLower(p)
	switch {
	case p == "/":
		// As the real host (azure-functions-host#1102): a function whose
		// route matches the root serves it; otherwise the host's own page.
		if _, _, ok := h.router.lookup(r.Method, p); ok {
			h.serveFunction(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "running"})
	case lp == "/admin/functions" || lp == "/admin/functions/":
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.listFunctions(w)
	case strings.HasPrefix(lp, "/admin/functions/"):
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, err := url.PathUnescape(p[len("/admin/functions/"):])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.adminInvoke(w, r, name)
	default:
		h.serveFunction(w, r)
	}
}

func (h *host) serveFunction(w http.ResponseWriter, r *http.Request) {
	fn, params, ok := h.router.lookup(r.Method, r.URL.EscapedPath())
	if !ok {
		http.NotFound(w, r)
		return
	}
	if h.cfg.Forwarding {
		// Every HTTP function here has exactly an httpTrigger and an http
		// output (parseFunction), the only kind the real host forwards.
		h.forward(w, r, fn)
		return
	}
	if r.ContentLength > maxRequestBody {
		w.WriteHeader(http.StatusRequestEntityTooLarge) // as Kestrel, before reading
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, "reading request body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	data := buildHTTPData(r, params, body)
	res, err := h.inv.invoke(r.Context(), fn, "HTTP request", httpInvokeRequest(fn, data))
	if err != nil {
		http.Error(w, "function invocation failed", http.StatusInternalServerError)
		return
	}
	rep, err := toHTTPReply(res.Resp.output(fn.OutputName))
	if err != nil {
		h.logf("%s [%s] bad http output %q: %v", fn.Name, res.ID, fn.OutputName, err)
		http.Error(w, "function invocation failed", http.StatusInternalServerError)
		return
	}
	if rep.Status == http.StatusNoContent && rep.Body == nil {
		h.logf("%s [%s] set no %q output; answering 204", fn.Name, res.ID, fn.OutputName)
	}
	for k, v := range rep.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.Status)
	w.Write(rep.Body)
}

func (h *host) lookupName(name string) *function {
	for _, f := range h.fns {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// adminInvoke mirrors the real host's POST /admin/functions/<name> (202,
// run in background) plus ?wait=true, which runs synchronously so scripts
// and tests know when the run has finished.
func (h *host) adminInvoke(w http.ResponseWriter, r *http.Request, name string) {
	fn := h.lookupName(name)
	if fn == nil {
		http.NotFound(w, r)
		return
	}
	if fn.Kind != kindTimer {
		http.Error(w, fmt.Sprintf("%s is HTTP-triggered; call its route /%s instead", fn.Name, h.routeWithPrefix(fn)), http.StatusBadRequest)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if len(strings.TrimSpace(string(raw))) > 0 {
		// The input is ignored for timers, as in the real host, but a
		// malformed body is still the caller's mistake.
		var in struct {
			Input json.RawMessage `json:"input"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			http.Error(w, "body must be JSON like {\"input\": \"...\"}: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	wait, _ := strconv.ParseBool(r.URL.Query().Get("wait"))
	ts := h.timers.states[fn.Name]
	if !ts.tryStart() {
		http.Error(w, fn.Name+" is already running", http.StatusConflict)
		return
	}
	// Manual runs see the current status but do not advance the schedule.
	req := timerInvokeRequest(fn, ts.currentStatus())
	if !wait {
		h.bgWG.Add(1)
		go func() {
			defer h.bgWG.Done()
			defer ts.finish()
			if _, err := h.inv.invoke(h.bgCtx, fn, "Manual", req); err != nil {
				h.logf("timer %s failed: %v", fn.Name, err)
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	defer ts.finish()
	res, err := h.inv.invoke(r.Context(), fn, "Manual", req)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(res.Raw)
}

type functionInfo struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Route        string   `json:"route,omitempty"`
	Methods      []string `json:"methods,omitempty"`
	Schedule     string   `json:"schedule,omitempty"`
	RunOnStartup bool     `json:"runOnStartup,omitempty"`
}

func (h *host) listFunctions(w http.ResponseWriter) {
	list := []functionInfo{}
	for _, f := range h.fns {
		fi := functionInfo{Name: f.Name, Kind: string(f.Kind)}
		if f.Kind == kindHTTP {
			fi.Route = "/" + h.routeWithPrefix(f)
			fi.Methods = f.Methods
		} else {
			fi.Schedule = f.Schedule
			fi.RunOnStartup = f.RunOnStartup
		}
		list = append(list, fi)
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// handlerProc is the running custom handler.
type handlerProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

func startHandler(path string, args []string, dir, root string, port int, stdout, stderr io.Writer) (*handlerProc, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port),
		"FUNCTIONS_APP_ROOT_PATH="+root,
		"FUNCTIONS_WORKER_RUNTIME=Custom",
	)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 2 * time.Second // don't hang on pipes held by grandchildren
	setProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting handler: %w", err)
	}
	p := &handlerProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM, then SIGKILL after grace.
func (p *handlerProc) stop(grace time.Duration, logf func(string, ...any)) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill() // e.g. Windows, which has no SIGTERM
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		logf("handler stopped")
	case <-t.C:
		logf("handler did not stop within %s; killing it", grace)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitReady polls GET / on the handler until any HTTP answer.
func waitReady(ctx context.Context, inv *invoker, p *handlerProc, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, inv.base+"/", nil)
		res, err := inv.client.Do(req)
		cancel()
		if err == nil {
			res.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("handler exited before it was ready: %w", p.err)
		case <-deadline.C:
			return fmt.Errorf("no answer on %s/ within %s", inv.base, timeout)
		case <-tick.C:
		}
	}
}

// serialize makes writers safe to share between the logger and the handler
// output copiers. *os.File is passed through so the handler writes directly.
func serialize(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	_, f1 := stdout.(*os.File)
	_, f2 := stderr.(*os.File)
	if f1 && f2 {
		return stdout, stderr
	}
	mu := &sync.Mutex{}
	return &lockedWriter{mu: mu, w: stdout}, &lockedWriter{mu: mu, w: stderr}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
