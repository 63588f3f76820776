package servicenow_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/servicenow"
)

var (
	adam  = servicenow.UserRef{SysID: "a1", UserName: "adam@jitpimdemo.onmicrosoft.com", Email: "adam@jitpimdemo.onmicrosoft.com"}
	steve = servicenow.UserRef{SysID: "s1", UserName: "steve@jitpimdemo.onmicrosoft.com"}
	rita  = servicenow.UserRef{SysID: "r1", UserName: "rita@jitpimdemo.onmicrosoft.com"}
	gina  = servicenow.UserRef{SysID: "g1", UserName: "gina@jitpimdemo.onmicrosoft.com"}
	stan  = servicenow.UserRef{SysID: "t1", UserName: "stan@jitpimdemo.onmicrosoft.com"}
)

func TestRulesStates(t *testing.T) {
	start, end := now, now.Add(time.Hour)
	window := func(tk servicenow.Ticket) servicenow.Ticket {
		tk.PlannedStart, tk.PlannedEnd = now.Add(-time.Hour), now.Add(2*time.Hour)
		return tk
	}
	cases := []struct {
		table, state string
		ok           bool
		msg          string
	}{
		{"incident", "1", true, ""},
		{"incident", "2", true, ""},
		{"incident", "3", true, ""},
		{"incident", "6", false, "ticket T1 is Resolved (state 6); jitpim accepts states 1, 2, 3"},
		{"incident", "7", false, "is Closed (state 7)"},
		{"incident", "8", false, "is Canceled (state 8)"},
		{"incident", "", false, "in state ;"},
		{"change_request", "-5", false, "is New (state -5); jitpim accepts states -2, -1"},
		{"change_request", "-3", false, "Authorize"},
		{"change_request", "-2", true, ""},
		{"change_request", "-1", true, ""},
		{"change_request", "0", false, "Review"},
		{"change_request", "3", false, "Closed"},
		{"sc_req_item", "1", true, ""},
		{"sc_req_item", "2", true, ""},
		{"sc_req_item", "3", false, "Closed Complete"},
		{"sc_req_item", "-5", false, "Pending"},
		{"sc_req_item", "42", false, "is in state 42; jitpim accepts states 1, 2"},
		{"problem", "1", false, `table "problem"`},
	}
	for _, c := range cases {
		t.Run(c.table+"/"+c.state, func(t *testing.T) {
			tk := window(servicenow.Ticket{Table: c.table, Number: "T1", State: c.state, Caller: adam, RequestedBy: rita, RequestedFor: stan})
			_, err := servicenow.Rules{}.Check(tk, start, end)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkForbidden(t, err, c.msg)
		})
	}
}

func TestRulesCustomStates(t *testing.T) {
	r := servicenow.Rules{AllowedStates: map[string][]string{"incident": {"2"}, "sc_req_item": {}}}
	tk := servicenow.Ticket{Table: "incident", Number: "INC1", State: "1", Caller: adam}
	_, err := r.Check(tk, now, now.Add(time.Hour))
	checkForbidden(t, err, "accepts states 2")
	tk.State = "2"
	if _, err := r.Check(tk, now, now.Add(time.Hour)); err != nil {
		t.Error(err)
	}
	// An empty list disables the table.
	_, err = r.Check(servicenow.Ticket{Table: "sc_req_item", Number: "RITM1", State: "1", RequestedFor: stan}, now, now.Add(time.Hour))
	checkForbidden(t, err, "accepts no states of sc_req_item")
	// A table left out keeps its default.
	chg := servicenow.Ticket{Table: "change_request", Number: "CHG1", State: "-1", RequestedBy: rita,
		PlannedStart: now, PlannedEnd: now.Add(time.Hour)}
	if _, err := r.Check(chg, now, now.Add(time.Hour)); err != nil {
		t.Error(err)
	}
}

func TestRulesChangeWindow(t *testing.T) {
	ps, pe := now, now.Add(4*time.Hour)
	chg := servicenow.Ticket{Table: "change_request", Number: "CHG0040001", State: "-1", RequestedBy: rita,
		AssignedTo: gina, PlannedStart: ps, PlannedEnd: pe}
	cases := []struct {
		name       string
		start, end time.Time
		ok         bool
	}{
		{"inside", ps.Add(time.Hour), ps.Add(2 * time.Hour), true},
		{"exactly the window", ps, pe, true},
		{"starts before", ps.Add(-time.Minute), ps.Add(time.Hour), false},
		{"ends after", pe.Add(-time.Hour), pe.Add(time.Second), false},
		{"covers the window", ps.Add(-time.Hour), pe.Add(time.Hour), false},
		{"entirely before", ps.Add(-3 * time.Hour), ps.Add(-2 * time.Hour), false},
		{"entirely after", pe.Add(time.Hour), pe.Add(2 * time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := servicenow.Rules{}.Check(chg, c.start, c.end)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkForbidden(t, err, "outside change CHG0040001's planned window 2026-01-01T00:00:00Z to 2026-01-01T04:00:00Z")
			if !strings.Contains(err.Error(), c.start.UTC().Format(time.RFC3339)) {
				t.Errorf("message does not name the requested window: %v", err)
			}
		})
	}
	noWindow := chg
	noWindow.PlannedEnd = time.Time{}
	_, err := servicenow.Rules{}.Check(noWindow, ps, ps.Add(time.Hour))
	checkForbidden(t, err, "has no planned start and end")

	// Incidents have no window to respect.
	inc := servicenow.Ticket{Table: "incident", Number: "INC1", State: "2", Caller: adam}
	if _, err := (servicenow.Rules{}).Check(inc, now.Add(-100*time.Hour), now.Add(100*time.Hour)); err != nil {
		t.Error(err)
	}
	_, err = servicenow.Rules{}.Check(inc, now, now)
	if !domain.IsCode(err, domain.CodeInvalid) {
		t.Errorf("empty window: %v", err)
	}
}

func TestRulesRequesters(t *testing.T) {
	inc := servicenow.Ticket{Table: "incident", Number: "INC1", State: "2", Caller: adam, AssignedTo: steve, OpenedBy: adam}
	chg := servicenow.Ticket{Table: "change_request", Number: "CHG1", State: "-1", RequestedBy: rita, AssignedTo: gina,
		OpenedBy: rita, PlannedStart: now, PlannedEnd: now.Add(time.Hour)}
	ritm := servicenow.Ticket{Table: "sc_req_item", Number: "RITM1", State: "1", RequestedFor: stan}
	cases := []struct {
		name   string
		fields []string
		t      servicenow.Ticket
		want   []servicenow.UserRef
		forbid bool
	}{
		{"incident defaults, deduplicated", nil, inc, []servicenow.UserRef{adam, steve}, false},
		{"caller only", []string{"caller_id"}, inc, []servicenow.UserRef{adam}, false},
		{"assignee only", []string{"assigned_to"}, inc, []servicenow.UserRef{steve}, false},
		{"change defaults", nil, chg, []servicenow.UserRef{gina, rita}, false},
		{"change requested_by", []string{"requested_by"}, chg, []servicenow.UserRef{rita}, false},
		{"change caller_id is empty", []string{"caller_id"}, chg, nil, true},
		{"requested item", nil, ritm, []servicenow.UserRef{stan}, false},
		{"nobody named", nil, servicenow.Ticket{Table: "incident", Number: "INC2", State: "1"}, nil, true},
		{"empty list allows nobody", []string{}, inc, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := servicenow.Rules{RequesterFields: c.fields}.Check(c.t, now, now.Add(time.Hour))
			if c.forbid {
				checkForbidden(t, err, "names nobody")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("got %v, want %v", got, c.want)
				}
			}
		})
	}
	_, err := servicenow.Rules{RequesterFields: []string{"watch_list"}}.Check(inc, now, now.Add(time.Hour))
	if !domain.IsCode(err, domain.CodeInternal) {
		t.Errorf("unknown requester field: %v", err)
	}
}

func checkForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeForbidden {
		t.Fatalf("got %v, want CodeForbidden", err)
	}
	if !strings.Contains(de.Message, msg) {
		t.Errorf("message %q does not contain %q", de.Message, msg)
	}
}
