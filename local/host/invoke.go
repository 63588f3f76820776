package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The types below are the custom handler wire format with
// enableForwardingHttpRequest=false: the host POSTs an invocation envelope to
// /<functionName> on the handler and reads Outputs/Logs/ReturnValue back.

type invokeRequest struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

type sysMetadata struct {
	MethodName string `json:"MethodName"`
	UtcNow     string `json:"UtcNow"`
	RandGuid   string `json:"RandGuid"`
}

type httpRequestData struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Identities []any               `json:"Identities"`
	Body       any                 `json:"Body,omitempty"`
}

type timerInfo struct {
	Schedule       timerSchedule   `json:"Schedule"`
	ScheduleStatus *scheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

type timerSchedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

type invokeResponse struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []json.RawMessage          `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// httpOutput is the value of an http output binding. Field matching is
// case-insensitive (encoding/json), as it is in the real host.
type httpOutput struct {
	StatusCode json.RawMessage            `json:"statusCode"`
	Headers    map[string]json.RawMessage `json:"headers"`
	Body       json.RawMessage            `json:"body"`
}

type invocationResult struct {
	ID   string
	Raw  []byte // the handler's response body, verbatim
	Resp invokeResponse
}

// invoker talks to the handler process.
type invoker struct {
	base   string // http://127.0.0.1:<port>
	client *http.Client
	logf   func(format string, args ...any)
}

func newInvoker(port int, logf func(string, ...any)) *invoker {
	return &invoker{
		base: "http://127.0.0.1:" + strconv.Itoa(port),
		// No proxy: the handler is always local, whatever HTTP_PROXY says.
		client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}},
		logf:   logf,
	}
}

func newSys(fn *function) sysMetadata {
	return sysMetadata{
		MethodName: fn.Name,
		UtcNow:     time.Now().UTC().Format(time.RFC3339Nano),
		RandGuid:   uuid.NewString(),
	}
}

// invoke runs one invocation. Any non-2xx answer or unparseable JSON is an
// error, because the real host fails the invocation in those cases.
func (iv *invoker) invoke(ctx context.Context, fn *function, reason string, req invokeRequest) (*invocationResult, error) {
	id := uuid.NewString()
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding invocation: %w", err)
	}
	start := time.Now()
	iv.logf("executing %s (reason: %s, id: %s)", fn.Name, reason, id)
	res, err := iv.post(ctx, fn, id, payload)
	if err != nil {
		iv.logf("executed %s (failed, id: %s, %s): %v", fn.Name, id, time.Since(start).Round(time.Millisecond), err)
		return res, err
	}
	iv.logf("executed %s (succeeded, id: %s, %s)", fn.Name, id, time.Since(start).Round(time.Millisecond))
	return res, nil
}

func (iv *invoker) post(ctx context.Context, fn *function, id string, payload []byte) (*invocationResult, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, iv.base+"/"+fn.Name, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("X-Azure-Functions-InvocationId", id)
	hres, err := iv.client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("calling handler: %w", err)
	}
	defer hres.Body.Close()
	raw, err := io.ReadAll(hres.Body)
	if err != nil {
		return nil, fmt.Errorf("reading handler response: %w", err)
	}
	res := &invocationResult{ID: id, Raw: raw}
	if hres.StatusCode < 200 || hres.StatusCode > 299 {
		return res, fmt.Errorf("handler answered %s: %s", hres.Status, snippet(raw))
	}
	if err := json.Unmarshal(raw, &res.Resp); err != nil {
		return res, fmt.Errorf("handler response is not an invocation result: %w: %s", err, snippet(raw))
	}
	for _, l := range res.Resp.Logs {
		var s string
		if json.Unmarshal(l, &s) != nil {
			s = string(l)
		}
		iv.logf("%s [%s] %s", fn.Name, id, s)
	}
	return res, nil
}

func snippet(b []byte) string {
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// buildHTTPData turns an incoming request into the "req" trigger value.
func buildHTTPData(r *http.Request, params map[string]string, body []byte) httpRequestData {
	// The handler sees the URL as the client sent it, raw query included.
	target := r.RequestURI
	if strings.HasPrefix(target, "/") {
		target = "http://" + r.Host + target
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",") // ASP.NET StringValues.ToString()
	}
	headers := map[string][]string{}
	for k, v := range r.Header {
		headers[k] = append([]string(nil), v...)
	}
	if r.Host != "" {
		headers["Host"] = []string{r.Host} // net/http moves Host out of Header
	}
	if params == nil {
		params = map[string]string{}
	}
	return httpRequestData{
		URL:        target,
		Method:     r.Method,
		Query:      query,
		Headers:    headers,
		Params:     params,
		Identities: []any{},
		Body:       envelopeBody(r, body),
	}
}

// envelopeBody is Body as the real host writes it (GetRequestAsJObject in
// azure-functions-host): absent unless Content-Length is positive; bytes
// (base64 in JSON) for application/octet-stream and multipart/*; otherwise
// the bytes decoded as UTF-8 text, each invalid byte becoming U+FFFD. So a
// gzip-compressed or other binary JSON body is mangled in this mode, which
// is why jitpim runs with enableForwardingHttpRequest.
func envelopeBody(r *http.Request, body []byte) any {
	if r.ContentLength <= 0 {
		return nil
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "application/octet-stream") || strings.HasPrefix(ct, "multipart/") {
		return base64.StdEncoding.EncodeToString(body)
	}
	if utf8.Valid(body) {
		return string(body)
	}
	var b strings.Builder
	for len(body) > 0 {
		r, n := utf8.DecodeRune(body)
		b.WriteRune(r) // utf8.RuneError is U+FFFD
		body = body[n:]
	}
	return b.String()
}

func httpInvokeRequest(fn *function, data httpRequestData) invokeRequest {
	first := map[string]string{}
	for k, v := range data.Headers {
		if len(v) > 0 {
			first[k] = v[0]
		}
	}
	return invokeRequest{
		Data: map[string]any{fn.TriggerName: data},
		Metadata: map[string]any{
			"Query":   data.Query,
			"Headers": first,
			"Params":  data.Params,
			"sys":     newSys(fn),
		},
	}
}

func timerInvokeRequest(fn *function, status *scheduleStatus) invokeRequest {
	return invokeRequest{
		Data:     map[string]any{fn.TriggerName: timerInfo{ScheduleStatus: status}},
		Metadata: map[string]any{"sys": newSys(fn)},
	}
}

// output finds an output binding by name; "$return" means ReturnValue.
func (r *invokeResponse) output(name string) json.RawMessage {
	if name == "$return" {
		return r.ReturnValue
	}
	if v, ok := r.Outputs[name]; ok {
		return v
	}
	for k, v := range r.Outputs {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

type httpReply struct {
	Status int
	Header http.Header
	Body   []byte
}

// toHTTPReply maps an http output binding value to the client response.
// A missing or null output yields 204 No Content: the function produced no
// response, which is not an invocation failure.
func toHTTPReply(raw json.RawMessage) (*httpReply, error) {
	rep := &httpReply{Status: http.StatusOK, Header: http.Header{}}
	if isNull(raw) {
		rep.Status = http.StatusNoContent
		return rep, nil
	}
	var out httpOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("http output is not an object: %w", err)
	}
	if !isNull(out.StatusCode) {
		code, err := parseStatus(out.StatusCode)
		if err != nil {
			return nil, err
		}
		rep.Status = code
	}
	for k, v := range out.Headers {
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") {
			continue // net/http computes these; a stale value would break the reply
		}
		vals, err := headerValues(v)
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", k, err)
		}
		for _, s := range vals {
			rep.Header.Add(k, s)
		}
	}
	if !isNull(out.Body) {
		var s string
		if json.Unmarshal(out.Body, &s) == nil {
			rep.Body = []byte(s)
			if rep.Header.Get("Content-Type") == "" {
				rep.Header.Set("Content-Type", "text/plain; charset=utf-8")
			}
		} else {
			rep.Body = []byte(out.Body)
			if rep.Header.Get("Content-Type") == "" {
				rep.Header.Set("Content-Type", "application/json; charset=utf-8")
			}
		}
	}
	return rep, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func parseStatus(raw json.RawMessage) (int, error) {
	var n json.Number
	var s string
	switch {
	case json.Unmarshal(raw, &s) == nil:
		n = json.Number(strings.TrimSpace(s))
	case json.Unmarshal(raw, &n) == nil:
	default:
		return 0, fmt.Errorf("statusCode %s is neither a number nor a string", raw)
	}
	code, err := strconv.Atoi(string(n))
	if err != nil || code < 100 || code > 999 {
		return 0, fmt.Errorf("statusCode %s is not a valid HTTP status", raw)
	}
	return code, nil
}

func headerValues(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, item := range list {
			v, err := headerValues(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		return out, nil
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '{' {
		return nil, errors.New("value is an object")
	}
	return []string{string(t)}, nil // numbers and booleans, as written
}
