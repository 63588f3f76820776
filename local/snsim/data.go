package snsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// DateLayout is the Table API's date-time format (UTC).
const DateLayout = "2006-01-02 15:04:05"

// Data seeds the simulator (local/demo/servicenow.json).
type Data struct {
	Notes   string   `json:"notes,omitempty"`
	Users   []User   `json:"users"`
	Tickets []Ticket `json:"tickets"`
}

// User is a sys_user record. UserName is the demo tenant's UPN, as an
// instance synchronised from Entra would hold it.
type User struct {
	SysID    string `json:"sys_id"`
	UserName string `json:"user_name"`
	Email    string `json:"email,omitempty"`
	Name     string `json:"name,omitempty"`
	Notes    string `json:"notes,omitempty"`
}

// Ticket is an incident, change_request or sc_req_item. User references
// name a user by user_name, e-mail or sys_id. Planned dates are absolute
// (StartDate/EndDate, "2006-01-02 15:04:05" UTC) or relative to when the
// ticket is stored (StartOffsetHours/EndOffsetHours), so a demo window is
// always live.
type Ticket struct {
	Table            string   `json:"table"`
	Number           string   `json:"number"`
	SysID            string   `json:"sys_id,omitempty"` // derived from the number when empty
	State            string   `json:"state"`
	ShortDescription string   `json:"short_description,omitempty"`
	CallerID         string   `json:"caller_id,omitempty"`
	AssignedTo       string   `json:"assigned_to,omitempty"`
	OpenedBy         string   `json:"opened_by,omitempty"`
	RequestedBy      string   `json:"requested_by,omitempty"`
	RequestedFor     string   `json:"requested_for,omitempty"`
	StartDate        string   `json:"start_date,omitempty"`
	EndDate          string   `json:"end_date,omitempty"`
	StartOffsetHours *float64 `json:"start_offset_hours,omitempty"`
	EndOffsetHours   *float64 `json:"end_offset_hours,omitempty"`
	Notes            string   `json:"notes,omitempty"`
}

// LoadData reads a seed file, refusing unknown fields so a typo in the
// demo data fails at start rather than quietly changing a ticket.
func LoadData(path string) (Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Data{}, err
	}
	var d Data
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Data{}, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

var (
	sysIDRe  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	numberRe = regexp.MustCompile(`^[A-Z]{2,8}[0-9]{1,12}$`)
)

// SysIDFor derives a stable sys_id from a seed string, so demo records keep
// their ids across restarts.
func SysIDFor(seed string) string {
	h := sha256.Sum256([]byte("snsim:" + seed))
	return hex.EncodeToString(h[:16])
}

// tables and their fields. Reference fields point at sys_user.
var (
	taskFields = []string{"sys_id", "number", "state", "short_description", "active", "assigned_to",
		"opened_by", "opened_at", "sys_class_name", "sys_created_on", "sys_updated_on", "work_notes"}
	schema = map[string][]string{
		"incident":       append(append([]string{}, taskFields...), "caller_id"),
		"change_request": append(append([]string{}, taskFields...), "requested_by", "start_date", "end_date"),
		"sc_req_item":    append(append([]string{}, taskFields...), "requested_for"),
		"sys_user":       {"sys_id", "user_name", "email", "name", "active", "sys_created_on", "sys_updated_on"},
	}
	referenceFields = map[string]bool{"assigned_to": true, "opened_by": true, "caller_id": true,
		"requested_by": true, "requested_for": true}
	// closedStates sets active=false, as ServiceNow's business rules do.
	closedStates = map[string]map[string]bool{
		"incident":       {"6": true, "7": true, "8": true},
		"change_request": {"3": true, "4": true},
		"sc_req_item":    {"3": true, "4": true, "7": true},
	}
)

func hasField(table, f string) bool {
	for _, x := range schema[table] {
		if x == f {
			return true
		}
	}
	return false
}

// record builds the stored fields of t, resolving user references.
func (s *Server) record(t Ticket, now time.Time) (map[string]string, error) {
	if _, ok := schema[t.Table]; !ok || t.Table == "sys_user" {
		return nil, fmt.Errorf("ticket %s: table %q is not incident, change_request or sc_req_item", t.Number, t.Table)
	}
	if !numberRe.MatchString(t.Number) {
		return nil, fmt.Errorf("ticket %q: number must be capital letters then digits, like INC0012345", t.Number)
	}
	id := strings.ToLower(t.SysID)
	if id == "" {
		id = SysIDFor(t.Table + "/" + t.Number)
	}
	if !sysIDRe.MatchString(id) {
		return nil, fmt.Errorf("ticket %s: sys_id must be 32 hex characters", t.Number)
	}
	if t.State == "" {
		return nil, fmt.Errorf("ticket %s: state is required", t.Number)
	}
	ts := now.UTC().Format(DateLayout)
	r := map[string]string{
		"sys_id": id, "number": t.Number, "state": t.State, "short_description": t.ShortDescription,
		"active": "true", "sys_class_name": t.Table, "sys_created_on": ts, "sys_updated_on": ts,
		"opened_at": ts, "work_notes": "",
	}
	if closedStates[t.Table][t.State] {
		r["active"] = "false"
	}
	refs := map[string]string{"caller_id": t.CallerID, "assigned_to": t.AssignedTo, "opened_by": t.OpenedBy,
		"requested_by": t.RequestedBy, "requested_for": t.RequestedFor}
	for f, who := range refs {
		if !hasField(t.Table, f) {
			if who != "" {
				return nil, fmt.Errorf("ticket %s: %s has no field %s", t.Number, t.Table, f)
			}
			continue
		}
		r[f] = ""
		if who == "" {
			continue
		}
		u, ok := s.findUser(who)
		if !ok {
			return nil, fmt.Errorf("ticket %s: %s %q is not a user", t.Number, f, who)
		}
		r[f] = u["sys_id"]
	}
	for _, d := range []struct {
		field  string
		abs    string
		offset *float64
	}{{"start_date", t.StartDate, t.StartOffsetHours}, {"end_date", t.EndDate, t.EndOffsetHours}} {
		if !hasField(t.Table, d.field) {
			if d.abs != "" || d.offset != nil {
				return nil, fmt.Errorf("ticket %s: %s has no field %s", t.Number, t.Table, d.field)
			}
			continue
		}
		switch {
		case d.abs != "" && d.offset != nil:
			return nil, fmt.Errorf("ticket %s: give %s or its offset, not both", t.Number, d.field)
		case d.abs != "":
			if _, err := time.Parse(DateLayout, d.abs); err != nil {
				return nil, fmt.Errorf("ticket %s: %s must be %q", t.Number, d.field, DateLayout)
			}
			r[d.field] = d.abs
		case d.offset != nil:
			at := now.Add(time.Duration(*d.offset * float64(time.Hour))).UTC().Truncate(time.Second)
			r[d.field] = at.Format(DateLayout)
		default:
			r[d.field] = ""
		}
	}
	return r, nil
}

// findUser matches a reference by sys_id, user_name or e-mail. The caller
// holds s.mu.
func (s *Server) findUser(who string) (map[string]string, bool) {
	for _, u := range s.tables["sys_user"] {
		if u["sys_id"] == strings.ToLower(who) || strings.EqualFold(u["user_name"], who) ||
			(u["email"] != "" && strings.EqualFold(u["email"], who)) {
			return u, true
		}
	}
	return nil, false
}

func userRecord(u User, now time.Time) (map[string]string, error) {
	id := strings.ToLower(u.SysID)
	if id == "" {
		id = SysIDFor("sys_user/" + u.UserName)
	}
	if !sysIDRe.MatchString(id) {
		return nil, fmt.Errorf("user %s: sys_id must be 32 hex characters", u.UserName)
	}
	if u.UserName == "" {
		return nil, fmt.Errorf("user %s: user_name is required", id)
	}
	ts := now.UTC().Format(DateLayout)
	return map[string]string{"sys_id": id, "user_name": u.UserName, "email": u.Email, "name": u.Name,
		"active": "true", "sys_created_on": ts, "sys_updated_on": ts}, nil
}
