// Package lambdaemu is a small AWS Lambda Runtime API emulator for tests
// and local runs: it starts a real function binary with
// AWS_LAMBDA_RUNTIME_API pointing at itself, hands it the events a test
// pushes (GET .../invocation/next), and returns what the function posts
// back (.../invocation/{id}/response or /error; /init/error ends the run).
// FunctionURL puts a plain HTTP front on it that behaves like a Lambda
// Function URL, so HTTP clients (the e2e stack's) reach the function the
// way they would on AWS. Like Lambda, one execution environment runs one
// invocation at a time.
package lambdaemu

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

const apiPrefix = "/2018-06-01/runtime/"

// FunctionError is what the function reported through /error.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// ErrInit is returned for invocations after the function reported an
// initialisation error or exited.
var ErrInit = errors.New("lambdaemu: the function failed to initialise or exited")

type invocation struct {
	id      string
	payload []byte
	done    chan result
}

type result struct {
	payload []byte
	err     error
}

// Emulator serves the Runtime API for one function process.
type Emulator struct {
	// Timeout is each invocation's deadline, sent as Lambda-Runtime-Deadline-Ms.
	timeout time.Duration
	queue   chan *invocation
	srv     *http.Server
	addr    string
	dead    chan struct{} // closed on init error or process exit
	once    sync.Once

	mu      sync.Mutex
	pending map[string]*invocation
	initErr string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// New listens on a free loopback port.
func New(timeout time.Duration) (*Emulator, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &Emulator{timeout: timeout, queue: make(chan *invocation), addr: l.Addr().String(), dead: make(chan struct{}),
		pending: map[string]*invocation{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"invocation/next", e.next)
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/response", e.respond)
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/error", e.fail)
	mux.HandleFunc("POST "+apiPrefix+"init/error", e.initError)
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API.
func (e *Emulator) Addr() string { return e.addr }

// Start runs the function binary against the emulator with env (to which
// it adds AWS_LAMBDA_RUNTIME_API and the variables the Lambda service sets).
func (e *Emulator) Start(binary string, env []string, out io.Writer) error {
	cmd := exec.Command(binary)
	cmd.Env = append(append([]string{}, env...),
		"AWS_LAMBDA_RUNTIME_API="+e.addr,
		"AWS_LAMBDA_FUNCTION_NAME=jitpim",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_REGION=eu-west-1",
	)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	e.mu.Lock()
	e.cmd, e.exited = cmd, make(chan struct{})
	e.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		close(e.exited)
		e.die()
	}()
	return nil
}

func (e *Emulator) die() { e.once.Do(func() { close(e.dead) }) }

// InitError is what the function reported through /init/error, if anything.
func (e *Emulator) InitError() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.initErr
}

// Invoke sends one event and waits for the function's answer: its response
// payload, or a *FunctionError.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv := &invocation{id: uuid.NewString(), payload: payload, done: make(chan result, 1)}
	e.mu.Lock()
	e.pending[inv.id] = inv
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.pending, inv.id)
		e.mu.Unlock()
	}()
	select {
	case e.queue <- inv:
	case <-e.dead:
		return nil, ErrInit
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-inv.done:
		return r.payload, r.err
	case <-e.dead:
		return nil, ErrInit
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *Emulator) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-e.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(e.timeout).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:000000000000:function:jitpim")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-e.dead:
		http.Error(w, "shutting down", http.StatusGone)
	}
}

func (e *Emulator) finish(w http.ResponseWriter, r *http.Request, isErr bool) {
	e.mu.Lock()
	inv, ok := e.pending[r.PathValue("id")]
	e.mu.Unlock()
	if !ok {
		// The Runtime API answers an unknown or finished id with 400.
		http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1))
	if err != nil || len(body) > 6<<20 {
		http.Error(w, `{"errorMessage":"payload too large","errorType":"RequestEntityTooLarge"}`, http.StatusRequestEntityTooLarge)
		return
	}
	res := result{payload: body}
	if isErr {
		fe := &FunctionError{}
		if json.Unmarshal(body, fe) != nil || fe.Type == "" {
			fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
			fe.Message = string(body)
		}
		res = result{err: fe}
	}
	select {
	case inv.done <- res:
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, `{"errorMessage":"already answered","errorType":"InvalidStateTransition"}`, http.StatusForbidden)
	}
}

func (e *Emulator) respond(w http.ResponseWriter, r *http.Request) { e.finish(w, r, false) }
func (e *Emulator) fail(w http.ResponseWriter, r *http.Request)    { e.finish(w, r, true) }

func (e *Emulator) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e.mu.Lock()
	e.initErr = string(body)
	e.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	// Lambda stops an environment whose init failed.
	e.die()
}

// Close stops the function process and the server.
func (e *Emulator) Close() {
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	e.die()
	_ = e.srv.Close()
}

// FunctionURL serves plain HTTP as a Lambda Function URL would: each
// request becomes a payload 2.0 event, the function's answer becomes the
// HTTP response, and a failed invocation is a 502.
func (e *Emulator) FunctionURL() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := URLEvent(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		payload, _ := json.Marshal(ev)
		out, err := e.Invoke(r.Context(), payload)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusBadGateway)
			return
		}
		if err := WriteURLResponse(w, out); err != nil {
			http.Error(w, "Internal Server Error", http.StatusBadGateway)
		}
	})
}

// URLEvent builds the Function URL event for r: header names lower-cased
// and repeated ones comma-joined, cookies moved to their own list, a body
// that is not text base64-encoded.
func URLEvent(r *http.Request) (events.LambdaFunctionURLRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1))
	if err != nil || len(body) > 6<<20 {
		return events.LambdaFunctionURLRequest{}, errors.New("request body too large for Lambda")
	}
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}}
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	ev.Headers["host"] = r.Host
	ev.Headers["x-forwarded-proto"] = "http"
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev.RequestContext = events.LambdaFunctionURLRequestContext{AccountID: "anonymous", RequestID: uuid.NewString(), APIID: "local",
		DomainName: r.Host, DomainPrefix: "local", Time: time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: time.Now().UnixMilli(),
		HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: host,
			UserAgent: r.UserAgent()}}
	if len(body) > 0 {
		if utf8.Valid(body) && r.Header.Get("Content-Encoding") == "" {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev, nil
}

// WriteURLResponse writes a function's Function URL response to w.
func WriteURLResponse(w http.ResponseWriter, payload []byte) error {
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(payload, &res); err != nil {
		return fmt.Errorf("not a Function URL response: %w", err)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(res.Body)
		if err != nil {
			return fmt.Errorf("bad base64 body: %w", err)
		}
		body = b
	}
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	for _, c := range res.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader(body))
	return nil
}
