// Package lambdaproto lets the same plain net/http handler and timer jobs
// run on AWS Lambda: it turns a Lambda Function URL event (or an API
// Gateway HTTP API event, payload format 2.0, which has the same shape)
// into an *http.Request, serves it, and turns what the handler wrote into
// the event response; an EventBridge Scheduler event whose input names a
// timer ({"timer":"expirySweep"}) runs that timer. The Lambda runtime loop
// itself is github.com/aws/aws-lambda-go's; this package only converts, so
// it is tested with plain values and no runtime.
package lambdaproto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// MaxResponse is the largest payload a buffered Lambda response may carry
// (6 MB, the synchronous invocation limit), less room for the JSON around
// the body; a larger answer would fail in the Lambda service with a status
// the handler never chose, so it is replaced by a 500 that says why.
const MaxResponse = 6<<20 - 64<<10

// TimerRunner runs a timer job by name; funcproto.Server is one.
type TimerRunner interface {
	RunTimer(ctx context.Context, name, invocationID string) (string, error)
}

// Options configures a Handler.
type Options struct {
	// InvocationHeader, when set, carries the Lambda request id into the
	// HTTP handler (replacing any value the caller sent), as the Functions
	// host does with its invocation id, so logs and audit records name the
	// invocation on either cloud.
	InvocationHeader string
}

// Handler converts Lambda events for an http.Handler and a TimerRunner.
type Handler struct {
	h      http.Handler
	timers TimerRunner
	log    *slog.Logger
	opt    Options
}

// New returns a Handler serving HTTP events with h and timer events with timers.
func New(log *slog.Logger, h http.Handler, timers TimerRunner, o Options) *Handler {
	return &Handler{h: h, timers: timers, log: log, opt: o}
}

// TimerEvent is the input each EventBridge Scheduler schedule sends.
type TimerEvent struct {
	Timer string `json:"timer"`
}

// TimerResult is what a timer invocation returns (shown in the Lambda
// console and in Scheduler's dead-letter records).
type TimerResult struct {
	Timer   string `json:"timer"`
	Summary string `json:"summary"`
}

// probe holds just enough of any event to tell which kind it is.
type probe struct {
	Timer          *string `json:"timer"`
	Version        string  `json:"version"`
	HTTPMethod     string  `json:"httpMethod"` // API Gateway REST (payload 1.0)
	RequestContext struct {
		HTTP struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// ErrUnknownEvent is returned for an event that is neither an HTTP
// (payload 2.0) event nor a timer input.
var ErrUnknownEvent = errors.New("lambdaproto: unrecognised event")

// Invoke handles one event; its signature is the one lambda.Start accepts.
// An HTTP event always gets an HTTP answer (bad input is a 4xx, as on the
// Functions host); only a failed timer, or an event that is neither,
// fails the invocation, so the scheduler's retry policy applies.
func (x *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownEvent, err)
	}
	reqID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		reqID = lc.AwsRequestID
	}
	switch {
	case p.Timer != nil:
		return x.runTimer(ctx, *p.Timer, reqID)
	case p.RequestContext.HTTP.Method != "" && p.Version == "2.0":
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnknownEvent, err)
		}
		return x.ServeEvent(ctx, ev, reqID), nil
	case p.HTTPMethod != "":
		return nil, fmt.Errorf("%w: API Gateway REST (payload 1.0) events are not supported; use a Function URL or an HTTP API with payload format 2.0", ErrUnknownEvent)
	case p.DetailType == "Scheduled Event":
		return nil, fmt.Errorf("%w: a scheduled event must carry the input {\"timer\":\"<name>\"}", ErrUnknownEvent)
	}
	return nil, ErrUnknownEvent
}

func (x *Handler) runTimer(ctx context.Context, name, reqID string) (TimerResult, error) {
	log := x.log.With("invocation_id", reqID, "function", name)
	if name == "" {
		return TimerResult{}, fmt.Errorf("%w: empty timer name", ErrUnknownEvent)
	}
	summary, err := x.timers.RunTimer(ctx, name, reqID)
	if err != nil {
		log.Error("timer failed", "error", err)
		return TimerResult{Timer: name}, err
	}
	log.Info("timer ran", "summary", summary)
	return TimerResult{Timer: name, Summary: summary}, nil
}

// ServeEvent serves one HTTP event. The Function URL event is the API
// Gateway payload 2.0 event less the route fields, so one type reads both.
func (x *Handler) ServeEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest, reqID string) events.LambdaFunctionURLResponse {
	req, err := ToRequest(ctx, ev)
	if err != nil {
		x.log.Warn("bad HTTP event", "invocation_id", reqID, "error", err)
		return textResponse(http.StatusBadRequest, err.Error())
	}
	if x.opt.InvocationHeader != "" {
		req.Header.Set(x.opt.InvocationHeader, reqID)
	}
	w := newWriter()
	x.h.ServeHTTP(w, req)
	res := w.response()
	if len(res.Body) > MaxResponse {
		x.log.Error("response too large for Lambda", "invocation_id", reqID, "path", req.URL.Path, "bytes", len(res.Body))
		return textResponse(http.StatusInternalServerError, "the response is larger than AWS Lambda can return")
	}
	return res
}

// ToRequest rebuilds the client's request from a payload 2.0 event.
func ToRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, errors.New("the event names no HTTP method")
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	// An HTTP API stage other than $default prefixes the path with its name.
	if st := ev.RequestContext.Stage; st != "" && st != "$default" {
		path = strings.TrimPrefix(path, "/"+st)
		if path == "" {
			path = "/"
		}
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("bad path %q", path)
	}
	host := ev.RequestContext.DomainName
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "host") && v != "" {
			host = v
		}
	}
	if host == "" {
		host = "localhost"
	}
	u, err := url.Parse("https://" + host + path)
	if err != nil {
		return nil, fmt.Errorf("bad path %q: %w", path, err)
	}
	u.RawQuery = ev.RawQueryString
	var body []byte
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, errors.New("the body is not valid base64")
		}
	} else {
		body = []byte(ev.Body)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range ev.Headers {
		// The service joins repeated headers with commas, which is how
		// HTTP reads them too; one value per name is what it sends.
		req.Header.Set(k, v)
	}
	// Payload 2.0 moves cookies out of the headers; put them back the way
	// a browser sends them.
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = host
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		req.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return req, nil
}

// writer buffers what the handler writes; Lambda answers only as a whole.
type writer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newWriter() *writer { return &writer{header: http.Header{}} }

func (w *writer) Header() http.Header { return w.header }

func (w *writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *writer) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// response converts the buffered answer. Several Set-Cookie headers go to
// cookies (they cannot be comma-joined); a body that is not text, or that
// is content-encoded, goes as base64.
func (w *writer) response() events.LambdaFunctionURLResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	res := events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{}, Cookies: []string{}}
	for k, vs := range w.header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			res.Cookies = append(res.Cookies, vs...)
			continue
		}
		res.Headers[k] = strings.Join(vs, ", ")
	}
	b := w.body.Bytes()
	if w.header.Get("Content-Encoding") != "" || !utf8.Valid(b) {
		res.Body, res.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	} else {
		res.Body = string(b)
	}
	// The service computes the length of what it sends itself.
	delete(res.Headers, "Content-Length")
	return res
}

func textResponse(code int, msg string) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{StatusCode: code, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8",
		"X-Content-Type-Options": "nosniff"}, Body: msg + "\n", Cookies: []string{}}
}
