package graphsim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Request is one request the simulator answered, for tests.
type Request struct {
	Method          string    `json:"method"`
	Path            string    `json:"path"`
	RawQuery        string    `json:"rawQuery,omitempty"`
	ContentEncoding string    `json:"contentEncoding,omitempty"`
	Status          int       `json:"status"`
	Time            time.Time `json:"time"`
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

const maxBody = 4 << 20

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	reqID := uuid.NewString()
	w.Header().Set("request-id", reqID)
	cid := r.Header.Get("client-request-id")
	if cid == "" {
		cid = reqID
	}
	w.Header().Set("client-request-id", cid)
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			ContentEncoding: r.Header.Get("Content-Encoding"), Status: w.status, Time: s.opts.Now(),
		})
		if len(s.requests) > 2000 {
			s.requests = append([]Request(nil), s.requests[len(s.requests)-1000:]...)
		}
		s.mu.Unlock()
		if s.opts.Logger != nil {
			s.opts.Logger.Info("graphsim", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", w.status)
		}
	}()

	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		writeError(w, errBadRequest("BadRequest", "Invalid version: only /v1.0 is simulated."), s.opts.Now())
		return
	}
	f := s.takeFault(r)
	if f != nil {
		if f.LatencyMs > 0 {
			t := time.NewTimer(time.Duration(f.LatencyMs) * time.Millisecond)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if f.Status != 0 {
			writeFault(w, f, s.opts.Now())
			return
		}
	}
	body, gerr := readBody(r)
	if gerr != nil {
		writeError(w, gerr, s.opts.Now())
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1.0")
	if strings.Trim(path, "/") == "users/$count" {
		s.countUsers(w, r)
		return
	}
	status, out, gerr := s.route(r, strings.Split(strings.Trim(path, "/"), "/"), body)
	if f != nil && f.StaleMs > 0 {
		t := time.NewTimer(time.Duration(f.StaleMs) * time.Millisecond)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if gerr != nil {
		writeError(w, gerr, s.opts.Now())
		return
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

// readBody reads a request body, gunzipping it when the client compressed
// it (the Graph SDK does by default).
func readBody(r *http.Request) ([]byte, *graphError) {
	if r.Body == nil {
		return nil, nil
	}
	rd := io.LimitReader(r.Body, maxBody)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, errBadRequest("BadRequest", "The request body is not valid gzip: %v", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, maxBody)
	default:
		return nil, &graphError{http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding " + enc + " is not supported."}
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, errBadRequest("BadRequest", "Could not read the request body: %v", err)
	}
	return b, nil
}

func decodeBody(body []byte, v any) *graphError {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("BadRequest", "Empty Payload. JSON content expected.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errBadRequest("BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	return nil
}

func methodNotAllowed() *graphError {
	return &graphError{http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."}
}

func segmentNotFound(seg string) *graphError {
	return errBadRequest("BadRequest", "Resource not found for the segment '%s'.", seg)
}

// route dispatches a Graph request; seg is the path after /v1.0/.
func (s *Server) route(r *http.Request, seg []string, body []byte) (int, obj, *graphError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	switch seg[0] {
	case "users":
		return s.routeUsers(r, st, seg[1:], body)
	case "groups":
		return s.routeGroups(r, st, seg[1:], body)
	case "roleManagement":
		if len(seg) < 3 || seg[1] != "directory" {
			return 0, nil, segmentNotFound(strings.Join(seg, "/"))
		}
		switch seg[2] {
		case "roleAssignments":
			return s.routeAssignments(r, st, seg[3:], body)
		case "roleDefinitions":
			return s.routeRoleDefs(r, st, seg[3:])
		}
	case "directoryObjects":
		// POST /directoryObjects/{id}/checkMemberGroups, for users and groups.
		if len(seg) == 3 && seg[2] == "checkMemberGroups" {
			if r.Method != http.MethodPost {
				return 0, nil, methodNotAllowed()
			}
			id := seg[1]
			if u := st.user(id); u != nil {
				id = u.ID
			} else if g := st.group(id); g != nil {
				id = g.ID
			} else {
				return 0, nil, errNotFound(id)
			}
			return checkMemberGroups(r, st, id, body)
		}
	case "auditLogs":
		if len(seg) >= 2 && seg[1] == "signIns" {
			return s.routeSignIns(r, st, seg[2:])
		}
	}
	return 0, nil, segmentNotFound(seg[0])
}

// listObjects filters, pages and projects a collection.
func (s *Server) listObjects(r *http.Request, fragment string, items []obj) (int, obj, *graphError) {
	q := r.URL.Query()
	clauses, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return 0, nil, asGraphError(err)
	}
	items = filterObjects(items, clauses)
	pg, next, gerr := page(r, items, s.opts.PageSize)
	if gerr != nil {
		return 0, nil, gerr
	}
	sel := selectList(q)
	out := make([]obj, len(pg))
	for i, o := range pg {
		out[i] = project(o, sel, nil)
	}
	return http.StatusOK, collection(r, fragment, sel, out, next), nil
}

// asGraphError returns the *graphError an error holds (the filter parser
// returns only those), or an internal error for anything else.
func asGraphError(err error) *graphError {
	var ge *graphError
	if errors.As(err, &ge) {
		return ge
	}
	return &graphError{status: http.StatusInternalServerError, code: "InternalServerError", message: err.Error()}
}
