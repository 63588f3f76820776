// Package snsim is a local stand-in for the part of a ServiceNow instance
// jitpim talks to: the Table API for incident, change_request, sc_req_item
// and sys_user (GET with sysparm_query, sysparm_fields including dot-walked
// user fields, sysparm_limit/offset, sysparm_exclude_reference_link; PATCH
// and PUT of a record, work_notes appended to a journal), answering with
// ServiceNow's JSON shapes and error bodies, behind basic auth.
//
// It also plays ServiceNow's other role: SendWebhook signs and POSTs a
// webhook to jitpim the way a Business Rule would.
//
// Control endpoints (no authentication: run on loopback only) live under
// /_sim/: worknotes, tickets, faults and reset.
package snsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options tune a Server.
type Options struct {
	// User and Password are the basic credentials the Table API demands
	// (default jitpim / local-only).
	User, Password string
	// Now is the clock for relative planned dates and record times
	// (default time.Now).
	Now func() time.Time
	// Logger, when set, logs each request (never credentials).
	Logger *slog.Logger
}

// Server is the simulator; it is an http.Handler.
type Server struct {
	opts Options
	seed Data

	mu      sync.Mutex
	tables  map[string][]map[string]string // table → records (field → raw value)
	journal map[string][]string            // ticket number → work notes, oldest first
	faults  []fault
	mux     *http.ServeMux
}

type fault struct {
	status int
	left   int
}

// New builds a simulator seeded with data. Seed errors (unknown users,
// bad numbers) panic: seeds are fixed files, checked by the tests.
func New(data Data, opts Options) *Server {
	if opts.User == "" {
		opts.User = "jitpim"
	}
	if opts.Password == "" {
		opts.Password = "local-only"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, seed: data}
	if err := s.load(data); err != nil {
		panic("snsim: " + err.Error())
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/api/", s.serveAPI)
	s.mux.HandleFunc("GET /_sim/worknotes", s.simWorkNotes)
	s.mux.HandleFunc("GET /_sim/tickets", s.simListTickets)
	s.mux.HandleFunc("POST /_sim/tickets", s.simPutTicket)
	s.mux.HandleFunc("POST /_sim/faults", s.simFaults)
	s.mux.HandleFunc("POST /_sim/reset", s.simReset)
	return s
}

// Check validates data the way New would, without panicking.
func Check(data Data) error {
	s := &Server{opts: Options{Now: time.Now}}
	return s.load(data)
}

func (s *Server) load(data Data) error {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables = map[string][]map[string]string{}
	s.journal = map[string][]string{}
	s.faults = nil
	for _, u := range data.Users {
		r, err := userRecord(u, now)
		if err != nil {
			return err
		}
		if _, dup := s.findUser(u.UserName); dup {
			return fmt.Errorf("user %s given twice", u.UserName)
		}
		s.tables["sys_user"] = append(s.tables["sys_user"], r)
	}
	for _, t := range data.Tickets {
		if err := s.putLocked(t, now); err != nil {
			return err
		}
	}
	return nil
}

// PutTicket adds a ticket or replaces the one with the same table and
// number; its work notes are kept.
func (s *Server) PutTicket(t Ticket) error {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putLocked(t, now)
}

func (s *Server) putLocked(t Ticket, now time.Time) error {
	r, err := s.record(t, now)
	if err != nil {
		return err
	}
	for table, recs := range s.tables {
		for _, old := range recs {
			if old["sys_id"] == r["sys_id"] && (table != t.Table || old["number"] != t.Number) {
				return fmt.Errorf("ticket %s: sys_id %s already belongs to %s", t.Number, r["sys_id"], old["number"])
			}
		}
	}
	for i, old := range s.tables[t.Table] {
		if old["number"] == t.Number {
			r["sys_created_on"] = old["sys_created_on"]
			s.tables[t.Table][i] = r
			return nil
		}
	}
	s.tables[t.Table] = append(s.tables[t.Table], r)
	return nil
}

// WorkNotes returns the work notes added to a ticket, oldest first.
func (s *Server) WorkNotes(number string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.journal[number]...)
}

// FailNext makes the next n Table API calls answer status (429 carries
// Retry-After: 1), before authentication, as an overloaded node would.
func (s *Server) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{status: status, left: n})
}

// Reset restores the seed data and forgets work notes and faults.
func (s *Server) Reset() error { return s.load(s.seed) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Logger != nil {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		start := time.Now()
		s.mux.ServeHTTP(rec, r)
		s.opts.Logger.Info("snsim", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"status", rec.status, "took", time.Since(start).Round(time.Microsecond))
		return
	}
	s.mux.ServeHTTP(w, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// snError writes ServiceNow's error body.
func snError(w http.ResponseWriter, status int, message string, detail any) {
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"message": message, "detail": detail},
		"status": "failure",
	})
}

func (s *Server) takeFault() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.faults) > 0 {
		f := &s.faults[0]
		if f.left <= 0 {
			s.faults = s.faults[1:]
			continue
		}
		f.left--
		return f.status, true
	}
	return 0, false
}

func (s *Server) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hu, wu := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(s.opts.User))
	hp, wp := sha256.Sum256([]byte(p)), sha256.Sum256([]byte(s.opts.Password))
	return subtle.ConstantTimeCompare(hu[:], wu[:])&subtle.ConstantTimeCompare(hp[:], wp[:]) == 1
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if st, ok := s.takeFault(); ok {
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		snError(w, st, http.StatusText(st), "injected by snsim")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Service-now"`)
		snError(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/now/table/")
	if !ok {
		snError(w, http.StatusBadRequest, "Requested URI does not represent any resource", nil)
		return
	}
	table, id, _ := strings.Cut(rest, "/")
	if _, ok := schema[table]; !ok {
		snError(w, http.StatusBadRequest, "Invalid table "+table, nil)
		return
	}
	q := r.URL.Query()
	switch {
	case id == "" && r.Method == http.MethodGet:
		s.list(w, table, q)
	case id != "" && r.Method == http.MethodGet:
		s.get(w, table, id, q)
	case id != "" && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.update(w, r, table, id, q)
	default:
		snError(w, http.StatusMethodNotAllowed, "Method not Supported", "Requested method is not supported for this resource")
	}
}

func (s *Server) list(w http.ResponseWriter, table string, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	limit, offset := 10000, 0
	if v := get("sysparm_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			snError(w, http.StatusBadRequest, "Invalid sysparm_limit", nil)
			return
		}
		limit = n
	}
	if v := get("sysparm_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			snError(w, http.StatusBadRequest, "Invalid sysparm_offset", nil)
			return
		}
		offset = n
	}
	query := parseQuery(get("sysparm_query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	skipped := 0
	for _, rec := range s.tables[table] {
		if !query.match(func(f string) (string, bool) { return s.fieldLocked(table, rec, f) }) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(out) >= limit {
			break
		}
		out = append(out, s.renderLocked(table, rec, get("sysparm_fields"), get("sysparm_exclude_reference_link") == "true"))
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": out})
}

func (s *Server) findLocked(table, id string) map[string]string {
	for _, rec := range s.tables[table] {
		if rec["sys_id"] == id {
			return rec
		}
	}
	return nil
}

func (s *Server) get(w http.ResponseWriter, table, id string, q map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(table, id)
	if rec == nil {
		snError(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": s.renderLocked(table, rec, first(q["sysparm_fields"]), first(q["sysparm_exclude_reference_link"]) == "true")})
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

// writable are the fields a PATCH may set; the rest are ignored, as
// ServiceNow ignores fields a user cannot write.
var writable = map[string]bool{"state": true, "short_description": true, "work_notes": true, "comments": true}

func (s *Server) update(w http.ResponseWriter, r *http.Request, table, id string, q map[string][]string) {
	if table == "sys_user" {
		snError(w, http.StatusForbidden, "Operation Failed", "ACL Exception Update Failed due to security constraints")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		snError(w, http.StatusBadRequest, "Exception while reading request", err.Error())
		return
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		snError(w, http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(table, id)
	if rec == nil {
		snError(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
		return
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !writable[k] {
			continue
		}
		v := fmt.Sprint(in[k])
		if in[k] == nil {
			v = ""
		}
		switch k {
		case "work_notes":
			// A journal field: each write is a new entry; reads show "".
			if strings.TrimSpace(v) != "" {
				s.journal[rec["number"]] = append(s.journal[rec["number"]], v)
			}
		case "comments":
		default:
			rec[k] = v
		}
	}
	rec["sys_updated_on"] = s.opts.Now().UTC().Format(DateLayout)
	if closedStates[table][rec["state"]] {
		rec["active"] = "false"
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": s.renderLocked(table, rec, first(q["sysparm_fields"]), first(q["sysparm_exclude_reference_link"]) == "true")})
}

// fieldLocked resolves a field, following one dot-walk through a
// reference to sys_user.
func (s *Server) fieldLocked(table string, rec map[string]string, f string) (string, bool) {
	ref, sub, walk := strings.Cut(f, ".")
	if !walk {
		if !hasField(table, f) {
			return "", false
		}
		return rec[f], true
	}
	if !hasField(table, ref) || !referenceFields[ref] || !hasField("sys_user", sub) {
		return "", false
	}
	if rec[ref] == "" {
		return "", true
	}
	u := s.findLocked("sys_user", rec[ref])
	if u == nil {
		return "", true
	}
	return u[sub], true
}

// renderLocked shapes a record as the Table API does: only known fields,
// reference fields as {"link","value"} unless links are excluded.
func (s *Server) renderLocked(table string, rec map[string]string, fields string, excludeLinks bool) map[string]any {
	var names []string
	if strings.TrimSpace(fields) == "" {
		names = schema[table]
	} else {
		for _, f := range strings.Split(fields, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, f)
			}
		}
	}
	out := make(map[string]any, len(names))
	for _, f := range names {
		v, ok := s.fieldLocked(table, rec, f)
		if !ok {
			continue // ServiceNow leaves out fields it does not know
		}
		if referenceFields[f] && v != "" && !excludeLinks {
			out[f] = map[string]string{"link": "https://snsim.invalid/api/now/table/sys_user/" + v, "value": v}
			continue
		}
		out[f] = v
	}
	return out
}

func (s *Server) simWorkNotes(w http.ResponseWriter, r *http.Request) {
	number := r.URL.Query().Get("number")
	s.mu.Lock()
	exists := false
	for table, recs := range s.tables {
		if table == "sys_user" {
			continue
		}
		for _, rec := range recs {
			if rec["number"] == number {
				exists = true
			}
		}
	}
	notes := append([]string{}, s.journal[number]...)
	s.mu.Unlock()
	if !exists {
		snError(w, http.StatusNotFound, "No Record found", "no ticket "+number)
		return
	}
	writeJSON(w, http.StatusOK, notes)
}

func (s *Server) simListTickets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, table := range []string{"incident", "change_request", "sc_req_item"} {
		for _, rec := range s.tables[table] {
			out = append(out, s.renderLocked(table, rec, "", true))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": out})
}

func (s *Server) simPutTicket(w http.ResponseWriter, r *http.Request) {
	var t Ticket
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		snError(w, http.StatusBadRequest, "bad ticket", err.Error())
		return
	}
	if err := s.PutTicket(t); err != nil {
		snError(w, http.StatusBadRequest, "bad ticket", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range s.tables[t.Table] {
		if rec["number"] == t.Number {
			writeJSON(w, http.StatusOK, map[string]any{"result": s.renderLocked(t.Table, rec, "", true)})
			return
		}
	}
}

func (s *Server) simFaults(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status int `json:"status"`
		Count  int `json:"count"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || in.Status < 400 || in.Status > 599 {
		snError(w, http.StatusBadRequest, "want {\"status\": 4xx|5xx, \"count\": n}", nil)
		return
	}
	if in.Count <= 0 {
		in.Count = 1
	}
	s.FailNext(in.Status, in.Count)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) simReset(w http.ResponseWriter, r *http.Request) {
	if err := s.Reset(); err != nil {
		snError(w, http.StatusInternalServerError, "reset failed", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
