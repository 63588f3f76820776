// Package httpapi serves jitpim's API: Microsoft Graph's PIM resources
// (paths, JSON names, enums, OData collections and errors) so that people
// and the official Graph SDKs can drive it. Every request needs a verified
// bearer token; the handlers only translate between HTTP and the engine.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/policy"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/wire"
)

// Verifier checks bearer tokens.
type Verifier interface {
	Verify(ctx context.Context, raw string) (auth.Claims, error)
}

// Server is the API handler.
type Server struct {
	eng      *engine.Engine
	policies *policy.Service
	reviews  *review.Service
	alerts   *alert.Service
	verifier Verifier
	now      func() time.Time
	log      *slog.Logger
	mux      *http.ServeMux
}

// InvocationHeader carries the Functions invocation id into the handler.
const InvocationHeader = "X-Azure-Functions-InvocationId"

// maxBody bounds request bodies; the largest valid one is a policy rule.
const maxBody = 64 << 10

// Services are the use cases the API serves. Reviews may be nil: its
// routes then answer that access reviews are not configured.
type Services struct {
	Engine   *engine.Engine
	Policies *policy.Service
	Reviews  *review.Service
	Alerts   *alert.Service
}

// New builds the API.
func New(svc Services, v Verifier, now func() time.Time, log *slog.Logger) *Server {
	s := &Server{eng: svc.Engine, policies: svc.Policies, reviews: svc.Reviews, alerts: svc.Alerts, verifier: v, now: now, log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// handlerFunc is an API handler: it gets the call and returns a status and a
// body to encode as JSON, or an error.
type handlerFunc func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error)

const (
	rm = "/api/roleManagement/directory/"
	pg = "/api/identityGovernance/privilegedAccess/group/"
)

func (s *Server) routes() {
	for _, k := range []struct {
		prefix string
		set    resourceSet
	}{{rm, roleResources}, {pg, groupResources}} {
		set := k.set
		for _, res := range []struct {
			name string
			kind domain.RequestKind
		}{{set.eligibilityRequests, domain.KindEligibility}, {set.assignmentRequests, domain.KindAssignment}} {
			kind := res.kind
			s.handle("POST "+k.prefix+res.name, func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
				return s.submit(ctx, c, r, set, kind)
			})
			s.handle("GET "+k.prefix+res.name, func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
				return s.listRequests(ctx, c, r, set, kind, "")
			})
			s.handle("GET "+k.prefix+res.name+"/{id}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
				id := r.PathValue("id")
				if on, ok := filterByCurrentUser(id); ok {
					return s.listRequests(ctx, c, r, set, kind, on)
				}
				req, err := s.eng.GetRequest(ctx, c, kind, id)
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, requestJSON(req, set), nil
			})
			s.handle("POST "+k.prefix+res.name+"/{id}/cancel", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
				if _, err := s.eng.Cancel(ctx, c, kind, r.PathValue("id")); err != nil {
					return 0, nil, err
				}
				return http.StatusNoContent, nil, nil
			})
		}
		for _, res := range []struct {
			name      string
			kind      domain.RequestKind
			instances bool
		}{{set.eligibilitySchedules, domain.KindEligibility, false}, {set.eligibilityInstances, domain.KindEligibility, true},
			{set.assignmentSchedules, domain.KindAssignment, false}, {set.assignmentInstances, domain.KindAssignment, true}} {
			res := res
			list := func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
				return s.listSchedules(ctx, c, r, set, res.kind, res.instances, "")
			}
			s.handle("GET "+k.prefix+res.name, list)
			s.handle("GET "+k.prefix+res.name+"/{id}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
				id := r.PathValue("id")
				if on, ok := filterByCurrentUser(id); ok {
					return s.listSchedules(ctx, c, r, set, res.kind, res.instances, on)
				}
				return s.getSchedule(ctx, c, set, res.kind, res.instances, id)
			})
		}
		s.approvalRoutes(k.prefix, set)
	}
	s.handle("GET /api/policies/roleManagementPolicies", s.listPolicies)
	s.handle("GET /api/policies/roleManagementPolicies/{id}", s.getPolicy)
	s.handle("PATCH /api/policies/roleManagementPolicies/{id}", s.patchPolicy)
	s.handle("GET /api/policies/roleManagementPolicies/{id}/rules", s.listRules)
	s.handle("GET /api/policies/roleManagementPolicies/{id}/rules/{rule}", s.getRule)
	s.handle("PATCH /api/policies/roleManagementPolicies/{id}/rules/{rule}", s.patchRule)
	s.handle("GET /api/policies/roleManagementPolicyAssignments", s.listPolicyAssignments)
	s.handle("GET /api/auditLogs/directoryAudits", s.listAudit)
	s.alertRoutes()
	s.reviewRoutes()
	// Azure resource roles: the ARM-shaped API below each scope (arm.go).
	for _, prefix := range []string{"/api/subscriptions/", "/api/providers/"} {
		s.handle(prefix, s.serveARM)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, domain.Errorf(domain.CodeNotFound, "no resource at %s %s", r.Method, r.URL.Path))
	})
}

// filterByCurrentUser reads Graph's function segment filterByCurrentUser(on='principal').
func filterByCurrentUser(seg string) (string, bool) {
	if !strings.HasPrefix(seg, "filterByCurrentUser(") || !strings.HasSuffix(seg, ")") {
		return "", false
	}
	arg := strings.TrimSuffix(strings.TrimPrefix(seg, "filterByCurrentUser("), ")")
	k, v, ok := strings.Cut(arg, "=")
	if !ok || strings.TrimSpace(k) != "on" {
		return "invalid", true
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(v), "'")), true
}

// handle wraps a handlerFunc with authentication, the per-call context and
// the error mapping.
func (s *Server) handle(pattern string, h handlerFunc) {
	rule := queryRuleFor(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		now := s.now()
		inv := r.Header.Get(InvocationHeader)
		if inv == "" {
			inv = uuid.NewString()
		}
		reqID := setRequestID(w, r)
		log := s.log.With("invocation_id", inv, "http_request_id", reqID)
		status, err := s.serve(w, r, h, rule, now, inv, log)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "ms", time.Since(start).Milliseconds()}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		log.InfoContext(r.Context(), "api", attrs...)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handlerFunc, rule queryRule, now time.Time, inv string, log *slog.Logger) (int, error) {
	ctx := r.Context()
	raw, err := auth.BearerToken(r.Header)
	if err == nil {
		var claims auth.Claims
		claims, err = s.verifier.Verify(ctx, raw)
		if err == nil {
			c := engine.NewCall(now, inv, engine.Caller{ID: claims.ObjectID, Name: claims.Name, Auth: domain.AuthEvidence{
				MFA: claims.HasMFA(), ACRS: claims.ACRS, AuthenticatedAt: claims.AuthenticatedAt()}}, log)
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			var status int
			var body any
			var q queryOptions
			if q, err = checkQuery(r, rule); err == nil {
				status, body, err = h(ctx, c, r)
			}
			if err == nil && status == http.StatusOK {
				body, err = s.shape(ctx, c, r, h, rule, q, body)
			}
			if err == nil {
				// Mail goes out after the change is stored; a failed send stays queued for the timer.
				s.eng.FlushMail(ctx, c)
				writeJSON(w, status, body)
				return status, nil
			}
		}
	}
	return writeError(w, err), err
}

// statusOf is the one table from error codes to HTTP statuses and Graph error codes.
var statusOf = map[domain.Code]struct {
	status int
	code   string
}{
	domain.CodeInvalid:      {http.StatusBadRequest, "BadRequest"},
	domain.CodeNotFound:     {http.StatusNotFound, "ResourceNotFound"},
	domain.CodeConflict:     {http.StatusConflict, "Conflict"},
	domain.CodeForbidden:    {http.StatusForbidden, "Forbidden"},
	domain.CodeUnauthorized: {http.StatusUnauthorized, "InvalidAuthenticationToken"},
	domain.CodeTransient:    {http.StatusServiceUnavailable, "ServiceUnavailable"},
	domain.CodeInternal:     {http.StatusInternalServerError, "InternalServerError"},
	// Transport refusals (bodies.go).
	domain.CodeTooLarge:            {http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	domain.CodeUnsupportedEncoding: {http.StatusUnsupportedMediaType, "UnsupportedMediaType"},
}

// StatusOf is the HTTP status of err by the table above, for the other
// HTTP entry points (the portal), so the mapping stays in one place.
func StatusOf(err error) int {
	var de *domain.Error
	if !errors.As(err, &de) {
		return http.StatusInternalServerError
	}
	if m, ok := statusOf[de.Code]; ok {
		return m.status
	}
	return http.StatusInternalServerError
}

// retryAfterSeconds is the Retry-After on jitpim's own 429 and 503 answers:
// they come from storage or directory hiccups that clear in seconds, and
// the Graph SDKs' retry handler waits this long instead of its default.
const retryAfterSeconds = "2"

// writeError answers with the error's status and a message fit for the
// caller; internal causes stay in the logs.
func writeError(w http.ResponseWriter, err error) int {
	var de *domain.Error
	if !errors.As(err, &de) {
		de = domain.Wrap(domain.CodeInternal, err, "internal error")
	}
	if errors.As(err, new(*http.MaxBytesError)) {
		de = domain.Errorf(domain.CodeTooLarge, "the request body is larger than %d bytes", maxBody)
	}
	m, ok := statusOf[de.Code]
	if !ok {
		m = statusOf[domain.CodeInternal]
	}
	msg := de.Message
	if de.Code == domain.CodeInternal {
		msg = "internal error; the service logged the cause"
	}
	if de.Code == domain.CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if m.status == http.StatusServiceUnavailable || m.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, m.status, wire.ErrorBody{Error: wire.ErrorDetail{Code: m.code, Message: msg, Target: de.Field,
		InnerError: wire.InnerError{RequestID: w.Header().Get("request-id"), Date: time.Now().UTC().Format(time.RFC3339)}}})
	return m.status
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if status == http.StatusNoContent || body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// collection is every collection answer of the server: one type for all
// resources, so that shape can page, count and select any of them.
type collection = wire.Collection[any]

// readBody decodes a JSON object strictly: unknown properties are refused,
// naming them, except OData annotations, which Graph SDKs send.
func readBody(r *http.Request, allowed []string, into any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return domain.Errorf(domain.CodeTooLarge, "the request body is larger than %d bytes", maxBody)
		}
		return domain.Wrap(domain.CodeInvalid, err, "could not read the request body")
	}
	return decodeStrict(data, allowed, into)
}

func decodeStrict(data []byte, allowed []string, into any) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return domain.Invalid("body", "is not a JSON object: %s", jsonProblem(err))
	}
	if fields == nil { // "null": decoding it would change nothing and answer 200
		return domain.Invalid("body", "must be a JSON object, not null")
	}
	if err := checkStrings(data); err != nil {
		return err
	}
	for k := range fields {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		known := false
		for _, a := range allowed {
			if strings.EqualFold(a, k) {
				known = true
				break
			}
		}
		if !known {
			return domain.Invalid(k, "is not a property of this resource")
		}
	}
	if err := json.Unmarshal(data, into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return domain.Invalid(te.Field, "has the wrong type: want %s", te.Type)
		}
		return domain.Invalid("body", "%s", jsonProblem(err))
	}
	return nil
}

// multilineFields are the JSON properties whose text may span lines.
var multilineFields = map[string]bool{"justification": true, "description": true, "descriptionForAdmins": true,
	"descriptionForReviewers": true}

// checkStrings applies domain.CheckText to every string value of a JSON
// body, at any depth, naming the property: one rule for every free-text
// field of every resource. Go's decoder would silently turn invalid UTF-8
// into U+FFFD, so the raw bytes are checked first.
func checkStrings(data []byte) error {
	if !utf8.Valid(data) {
		return domain.Invalid("body", "is not valid UTF-8")
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return domain.Invalid("body", "%s", jsonProblem(err))
	}
	var walk func(path, key string, v any) error
	walk = func(path, key string, v any) error {
		switch x := v.(type) {
		case string:
			return domain.CheckText(path, x, 0, multilineFields[key])
		case []any:
			for i, e := range x {
				if err := walk(fmt.Sprintf("%s[%d]", path, i), key, e); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, e := range x {
				if err := domain.CheckText("property name", k, 0, false); err != nil {
					return err
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if err := walk(p, k, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("", "", v)
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// paging reads $top and $skiptoken.
func paging(r *http.Request) (cursor string, limit int, err error) {
	q := r.URL.Query()
	limit = 100
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 999 {
			return "", 0, domain.Invalid("$top", "must be a number from 1 to 999")
		}
		limit = n
	}
	return q.Get("$skiptoken"), limit, nil
}

// nextLink rebuilds the request URL with the next $skiptoken.
func nextLink(r *http.Request, next string) string {
	if next == "" {
		return ""
	}
	u := *r.URL
	q := u.Query()
	q.Set("$skiptoken", next)
	u.RawQuery = q.Encode()
	if u.Host == "" {
		u.Host = r.Host
	}
	if u.Scheme == "" {
		u.Scheme = "https"
		if r.TLS == nil && (strings.HasPrefix(r.Host, "127.0.0.1") || strings.HasPrefix(r.Host, "localhost")) {
			u.Scheme = "http"
		}
	}
	return u.String()
}

func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05Z")
	return &s
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, domain.Invalid(field, "must be an ISO 8601 date-time such as 2026-11-21T09:00:00Z, got %q", s)
	}
	// 0001-01-01 is Go's zero time, which would read as "not given": no
	// access window starts or ends outside these years.
	if y := t.UTC().Year(); y < 2000 || y > 9999 {
		return time.Time{}, domain.Invalid(field, "%q is not a plausible date-time (years 2000 to 9999)", s)
	}
	return t.UTC(), nil
}
