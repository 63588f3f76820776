// Package funcproto speaks the Azure Functions custom handler protocol, in
// both of the host's modes, so that the API stays a plain net/http handler
// that knows nothing of the protocol:
//
//   - HTTP functions with enableForwardingHttpRequest on (jitpim's
//     host.json): the host proxies the client's request to the handler at
//     its original path under the route prefix (/api/...), raw body
//     included, and relays the plain HTTP answer. Server routes it to the
//     function named by the path's first segment after the prefix.
//   - everything else (timers, and HTTP functions with forwarding off): the
//     host POSTs an invocation envelope to /{functionName} and reads the
//     outputs from the answer. HTTP invocations are rebuilt into ordinary
//     *http.Request values; their bodies arrive decoded as text, so a
//     compressed or binary body cannot survive this mode.
//
// README's "Custom handler protocol" cites the host source for both.
package funcproto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// InvocationHeader is the header the host sends with each invocation id.
const InvocationHeader = "X-Azure-Functions-InvocationId"

// maxEnvelope bounds an invocation body; HTTP bodies inside are far smaller.
const maxEnvelope = 4 << 20

// TimerInfo is the timer trigger payload.
type TimerInfo struct {
	ScheduleStatus *struct {
		Last        time.Time
		Next        time.Time
		LastUpdated time.Time
	}
	IsPastDue bool
}

// TimerFunc runs one timer invocation and returns a one-line summary.
type TimerFunc func(ctx context.Context, invocationID string, t TimerInfo) (string, error)

// Server dispatches invocations to HTTP handlers and timer functions by name.
type Server struct {
	http   map[string]httpFunc
	timers map[string]timerFunc
	prefix string // "/api/": forwarded requests arrive under it
	site   *siteFunc
	log    *slog.Logger
}

// siteFunc is the function that serves the web portal outside the API's
// prefix: GET "/" and everything under its path prefix.
type siteFunc struct {
	name       string
	pathPrefix string
}

// Options configures a Server.
type Options struct {
	// RoutePrefix is the path prefix the API's forwarded requests arrive
	// under ("api"): host.json's routePrefix is empty so that the portal can
	// answer at the root, and every API function's route starts with
	// "api/{function}". Without a prefix forwarded requests could not be
	// told from envelopes, so New refuses an empty one.
	RoutePrefix string
}

type httpFunc struct {
	binding, output string
	h               http.Handler
}

type timerFunc struct {
	binding string
	f       TimerFunc
}

// New returns an empty dispatcher.
func New(log *slog.Logger, o Options) (*Server, error) {
	p := strings.Trim(o.RoutePrefix, "/")
	if p == "" {
		return nil, errors.New("funcproto: a route prefix is required to tell forwarded requests from invocations")
	}
	return &Server{http: map[string]httpFunc{}, timers: map[string]timerFunc{}, prefix: "/" + strings.ToLower(p) + "/", log: log}, nil
}

// HandleHTTP registers an HTTP-triggered function: binding is the trigger's
// name in function.json ("req") and output the http output's ("res"), used
// when the host sends envelopes. A forwarded request is routed by the first
// path segment after the route prefix, so the function's route must start
// with its name (roleManagement/{*path}); the host itself matched the route
// before forwarding.
func (s *Server) HandleHTTP(function, binding, output string, h http.Handler) {
	s.http[strings.ToLower(function)] = httpFunc{binding, output, h}
}

// HandleSite registers the HTTP function that serves the web site (the
// portal) outside the API's prefix: forwarded GET and HEAD requests for "/"
// and every request under pathPrefix (e.g. "/portal/") go to h. "/" also
// answers the host's readiness probe. pathPrefix must have two slashes
// and no more, so no site path is a single segment: the host posts
// invocation envelopes to "/{function}", and a client must never reach
// that endpoint through the site's route.
func (s *Server) HandleSite(function, binding, output, pathPrefix string, h http.Handler) error {
	if strings.Count(pathPrefix, "/") != 2 || !strings.HasPrefix(pathPrefix, "/") || !strings.HasSuffix(pathPrefix, "/") || len(pathPrefix) < 3 {
		return fmt.Errorf("funcproto: site prefix %q must look like /name/", pathPrefix)
	}
	s.HandleHTTP(function, binding, output, h)
	s.site = &siteFunc{name: strings.ToLower(function), pathPrefix: strings.ToLower(pathPrefix)}
	return nil
}

// siteRequest reports whether a forwarded request belongs to the site.
func (s *Server) siteRequest(r *http.Request) bool {
	if s.site == nil {
		return false
	}
	if r.URL.Path == "/" {
		return r.Method == http.MethodGet || r.Method == http.MethodHead
	}
	return strings.HasPrefix(strings.ToLower(r.URL.Path), s.site.pathPrefix)
}

// HandleTimer registers a timer-triggered function.
func (s *Server) HandleTimer(function, binding string, f TimerFunc) {
	s.timers[strings.ToLower(function)] = timerFunc{binding, f}
}

// Envelope is an invocation request from the host.
type Envelope struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// HTTPRequest is the HTTP trigger's Data entry.
type HTTPRequest struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      json.RawMessage     `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Identities json.RawMessage     `json:"Identities"`
	Body       json.RawMessage     `json:"Body"`
}

// HTTPResponse is the http output binding's value.
type HTTPResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// Answer is the handler's reply to the host.
type Answer struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// ServeHTTP implements the handler side of the protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.siteRequest(r) {
		s.http[s.site.name].h.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		w.WriteHeader(http.StatusOK) // readiness probe
		return
	}
	if lp := strings.ToLower(r.URL.Path); strings.HasPrefix(lp, s.prefix) {
		s.serveForwarded(w, r, lp[len(s.prefix):])
		return
	}
	name := strings.ToLower(strings.Trim(r.URL.Path, "/"))
	if r.Method != http.MethodPost || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	inv := r.Header.Get(InvocationHeader)
	log := s.log.With("invocation_id", inv, "function", name)
	var env Envelope
	if err := json.NewDecoder(io.LimitReader(r.Body, maxEnvelope)).Decode(&env); err != nil {
		log.Error("bad invocation envelope", "error", err)
		http.Error(w, "bad invocation envelope", http.StatusBadRequest)
		return
	}
	var ans Answer
	var err error
	if f, ok := s.http[name]; ok {
		ans, err = s.invokeHTTP(r.Context(), inv, f, env)
	} else if t, ok := s.timers[name]; ok {
		ans, err = s.invokeTimer(r.Context(), inv, t, env, log)
	} else {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		// A non-2xx answer fails the invocation, which the host records.
		log.Error("invocation failed", "error", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(Answer{Outputs: map[string]any{}, Logs: []string{"failed: " + err.Error()}})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

// serveForwarded serves a request the host proxied: rest is its path after
// the route prefix, lower-cased.
func (s *Server) serveForwarded(w http.ResponseWriter, r *http.Request, rest string) {
	name, _, _ := strings.Cut(rest, "/")
	f, ok := s.http[name]
	if !ok {
		// The host forwards only requests that matched a function's route:
		// a miss means function.json and the registrations disagree.
		s.log.Error("forwarded request for no registered function", "path", r.URL.Path, "invocation_id", r.Header.Get(InvocationHeader))
		http.NotFound(w, r)
		return
	}
	f.h.ServeHTTP(w, r)
}

// unwrap decodes a Data entry that may arrive as a JSON string holding JSON.
func unwrap(raw json.RawMessage, into any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		raw = []byte(s)
	}
	return json.Unmarshal(raw, into)
}

// ToRequest rebuilds the client's HTTP request from the trigger payload.
func ToRequest(ctx context.Context, in HTTPRequest) (*http.Request, error) {
	u, err := url.Parse(in.URL)
	if err != nil || u.Path == "" {
		return nil, fmt.Errorf("bad Url %q", in.URL)
	}
	if in.Method == "" {
		return nil, errors.New("no Method")
	}
	body, err := bodyOf(in.Body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(in.Method), u.String(), strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range in.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Host = u.Host
	req.RequestURI = u.RequestURI()
	return req, nil
}

// bodyOf reads Body: a JSON string (the usual case), null, or raw JSON.
func bodyOf(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '"' {
		return string(raw), nil // some hosts send a parsed JSON body
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("bad Body: %w", err)
	}
	return s, nil
}

func (s *Server) invokeHTTP(ctx context.Context, inv string, f httpFunc, env Envelope) (Answer, error) {
	raw, ok := env.Data[f.binding]
	if !ok {
		return Answer{}, fmt.Errorf("no %q in Data", f.binding)
	}
	var in HTTPRequest
	if err := unwrap(raw, &in); err != nil {
		return Answer{}, fmt.Errorf("bad %q: %w", f.binding, err)
	}
	req, err := ToRequest(ctx, in)
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set(InvocationHeader, inv)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	res := HTTPResponse{StatusCode: rec.Code, Headers: map[string]string{}}
	for k, vs := range rec.Header() {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" && len(vs) > 1 {
			// The protocol carries one value per header and cookies cannot be
			// comma-joined: keep the first and say so, rather than corrupt both.
			s.log.Error("a response set more than one cookie; only the first is sent", "function", f.output)
			vs = vs[:1]
		}
		res.Headers[k] = strings.Join(vs, ", ")
	}
	b := rec.Body.Bytes()
	if utf8.Valid(b) {
		res.Body = string(b)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(b)
	}
	return Answer{Outputs: map[string]any{f.output: res}, Logs: []string{}}, nil
}

func (s *Server) invokeTimer(ctx context.Context, inv string, t timerFunc, env Envelope, log *slog.Logger) (Answer, error) {
	var info TimerInfo
	if raw, ok := env.Data[t.binding]; ok {
		if err := unwrap(raw, &info); err != nil {
			return Answer{}, fmt.Errorf("bad %q: %w", t.binding, err)
		}
	}
	summary, err := t.f(ctx, inv, info)
	if err != nil {
		return Answer{}, err
	}
	log.Info("timer ran", "summary", summary, "past_due", info.IsPastDue)
	return Answer{Outputs: map[string]any{}, Logs: []string{summary}}, nil
}

// Forwarded serves only what a proxy in front of the handler may reach:
// the site (HandleSite) and requests under the route prefix, routed by
// function name, as the host forwards them. Another runtime (AWS Lambda) uses it so that a caller can
// never post an invocation envelope and run a timer.
func (s *Server) Forwarded() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.siteRequest(r) {
			s.http[s.site.name].h.ServeHTTP(w, r)
			return
		}
		lp := strings.ToLower(r.URL.Path)
		if !strings.HasPrefix(lp, s.prefix) {
			http.NotFound(w, r)
			return
		}
		s.serveForwarded(w, r, lp[len(s.prefix):])
	})
}

// ErrNoTimer is returned by RunTimer for a name no timer was registered under.
var ErrNoTimer = errors.New("funcproto: no such timer")

// RunTimer runs a registered timer function outside the host protocol
// (another runtime's scheduler), with an empty TimerInfo: schedulers other
// than the Functions host keep no schedule status.
func (s *Server) RunTimer(ctx context.Context, name, invocationID string) (string, error) {
	t, ok := s.timers[strings.ToLower(name)]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrNoTimer, name)
	}
	return t.f(ctx, invocationID, TimerInfo{})
}
