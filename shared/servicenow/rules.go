package servicenow

import (
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Requester fields Rules understands.
const (
	FieldCaller       = "caller_id"     // incident
	FieldAssignedTo   = "assigned_to"   // every table
	FieldOpenedBy     = "opened_by"     // every table
	FieldRequestedBy  = "requested_by"  // change_request
	FieldRequestedFor = "requested_for" // sc_req_item
)

// DefaultAllowedStates are the states in which a ticket still represents
// work to be done: incident New/In Progress/On Hold, change Scheduled/
// Implement, requested item Open/Work in Progress.
func DefaultAllowedStates() map[string][]string {
	return map[string][]string{
		TableIncident:      {"1", "2", "3"},
		TableChangeRequest: {"-2", "-1"},
		TableRequestedItem: {"1", "2"},
	}
}

// DefaultRequesterFields lets anyone a ticket names request on it. Fields
// a table does not have are simply empty on its tickets.
var DefaultRequesterFields = []string{FieldCaller, FieldAssignedTo, FieldOpenedBy, FieldRequestedBy, FieldRequestedFor}

// Rules decides whether a ticket allows an activation. The zero value uses
// the defaults.
type Rules struct {
	// AllowedStates by table. A table missing from the map uses its
	// default; an empty list refuses every ticket of that table.
	AllowedStates map[string][]string
	// RequesterFields are the ticket relations whose users may request.
	RequesterFields []string
}

// stateNames are ServiceNow's out-of-the-box choice labels, for messages.
var stateNames = map[string]map[string]string{
	TableIncident: {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"},
	TableChangeRequest: {"-5": "New", "-4": "Assess", "-3": "Authorize", "-2": "Scheduled", "-1": "Implement",
		"0": "Review", "3": "Closed", "4": "Canceled"},
	TableRequestedItem: {"-5": "Pending", "1": "Open", "2": "Work in Progress", "3": "Closed Complete",
		"4": "Closed Incomplete", "7": "Closed Skipped"},
}

// StateName is the usual label of a ticket state, or "" when unknown.
func StateName(table, state string) string { return stateNames[table][state] }

// Check decides whether ticket t allows access from start to end. It
// returns the users the ticket lets request; the caller resolves them to
// Entra object ids and compares ids, because a user name or e-mail string
// can be reused or spoofed. Refusals are CodeForbidden.
func (r Rules) Check(t Ticket, start, end time.Time) ([]UserRef, error) {
	if !end.After(start) {
		return nil, domain.Invalid("duration", "the access window must end after it starts")
	}
	allowed, ok := r.AllowedStates[t.Table]
	if !ok {
		allowed, ok = DefaultAllowedStates()[t.Table]
	}
	if !ok {
		return nil, domain.Errorf(domain.CodeForbidden, "ticket %s is in table %q; jitpim accepts incident, change_request and sc_req_item", t.Number, t.Table)
	}
	if !contains(allowed, t.State) {
		is := "in state " + t.State
		if n := StateName(t.Table, t.State); n != "" {
			is = n + " (state " + t.State + ")"
		}
		accepts := "no states of " + t.Table
		if len(allowed) > 0 {
			accepts = "states " + strings.Join(allowed, ", ")
		}
		return nil, domain.Errorf(domain.CodeForbidden, "ticket %s is %s; jitpim accepts %s", t.Number, is, accepts)
	}
	if t.Table == TableChangeRequest {
		if t.PlannedStart.IsZero() || t.PlannedEnd.IsZero() {
			return nil, domain.Errorf(domain.CodeForbidden, "change %s has no planned start and end", t.Number)
		}
		// The whole access window must lie inside the change window: access
		// outside it is access nobody approved.
		if start.Before(t.PlannedStart) || end.After(t.PlannedEnd) {
			return nil, domain.Errorf(domain.CodeForbidden,
				"requested access %s to %s is outside change %s's planned window %s to %s",
				fmtTime(start), fmtTime(end), t.Number, fmtTime(t.PlannedStart), fmtTime(t.PlannedEnd))
		}
	}
	fields := r.RequesterFields
	if fields == nil {
		fields = DefaultRequesterFields
	}
	var out []UserRef
	seen := map[UserRef]bool{}
	for _, f := range fields {
		var u UserRef
		switch f {
		case FieldCaller:
			u = t.Caller
		case FieldAssignedTo:
			u = t.AssignedTo
		case FieldOpenedBy:
			u = t.OpenedBy
		case FieldRequestedBy:
			u = t.RequestedBy
		case FieldRequestedFor:
			u = t.RequestedFor
		default:
			return nil, domain.Errorf(domain.CodeInternal, "requester field %q is not one of caller_id, assigned_to, opened_by, requested_by, requested_for", f)
		}
		if u.IsZero() || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, domain.Errorf(domain.CodeForbidden, "ticket %s names nobody who may request access (%s)", t.Number, strings.Join(fields, ", "))
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
