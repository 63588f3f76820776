package snsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/snsim"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/servicenow"
)

// The ServiceNow client (shared/servicenow) driven against the simulator.
// These tests live here, not beside the client, because shared/ never
// imports local/.

const demo = "@jitpimdemo.onmicrosoft.com"

// clientNow is the simulator's clock for the client tests.
var clientNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func simData() snsim.Data {
	return snsim.Data{
		Users: []snsim.User{
			{UserName: "adam" + demo, Email: "adam" + demo},
			{UserName: "steve" + demo, Email: "steve" + demo},
			{UserName: "rita" + demo, Email: "rita.regular@contoso.example"},
			{UserName: "gina" + demo, Email: "gina" + demo},
		},
		Tickets: []snsim.Ticket{
			{Table: "incident", Number: "INC0012345", State: "1", ShortDescription: "Password resets failing",
				CallerID: "adam" + demo, OpenedBy: "adam" + demo},
			{Table: "incident", Number: "INC1", State: "2", CallerID: "adam" + demo},
			{Table: "incident", Number: "INC2", State: "2", CallerID: "steve" + demo},
			{Table: "change_request", Number: "CHG0040001", State: "-1", RequestedBy: "rita" + demo,
				AssignedTo: "gina" + demo, StartDate: "2026-01-01 08:00:00", EndDate: "2026-01-01 18:00:00"},
		},
	}
}

// startSim serves a simulator; the returned client uses the right
// credentials.
func startSim(t *testing.T) (*snsim.Server, *httptest.Server, *servicenow.Client) {
	t.Helper()
	sim := snsim.New(simData(), snsim.Options{User: "jitpim", Password: "s3cret-for-tests",
		Now: func() time.Time { return clientNow }})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	c, err := servicenow.New(servicenow.Config{InstanceURL: ts.URL, User: "jitpim", Password: "s3cret-for-tests"})
	if err != nil {
		t.Fatal(err)
	}
	return sim, ts, c
}

func TestGetTicketFound(t *testing.T) {
	_, _, c := startSim(t)
	ctx := context.Background()
	inc, err := c.GetTicket(ctx, "incident", "INC0012345")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Number != "INC0012345" || inc.Table != "incident" || inc.State != "1" || len(inc.SysID) != 32 ||
		inc.ShortDescription != "Password resets failing" {
		t.Errorf("incident: %+v", inc)
	}
	if inc.Caller.UserName != "adam"+demo || inc.Caller.Email != "adam"+demo || len(inc.Caller.SysID) != 32 {
		t.Errorf("caller: %+v", inc.Caller)
	}
	if inc.OpenedBy != inc.Caller || !inc.AssignedTo.IsZero() || !inc.PlannedStart.IsZero() {
		t.Errorf("incident refs: %+v", inc)
	}

	chg, err := c.GetTicket(ctx, "change_request", "CHG0040001")
	if err != nil {
		t.Fatal(err)
	}
	if chg.RequestedBy.UserName != "rita"+demo || chg.RequestedBy.Email != "rita.regular@contoso.example" ||
		chg.AssignedTo.UserName != "gina"+demo || chg.State != "-1" {
		t.Errorf("change: %+v", chg)
	}
	if want := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC); !chg.PlannedStart.Equal(want) || chg.PlannedStart.Location() != time.UTC {
		t.Errorf("planned start %v", chg.PlannedStart)
	}
	if want := time.Date(2026, 1, 1, 18, 0, 0, 0, time.UTC); !chg.PlannedEnd.Equal(want) {
		t.Errorf("planned end %v", chg.PlannedEnd)
	}
	refs, err := servicenow.Rules{}.Check(chg, chg.PlannedStart.Add(time.Hour), chg.PlannedStart.Add(3*time.Hour))
	if err != nil || len(refs) != 2 {
		t.Errorf("check: %v %v", refs, err)
	}
}

func TestGetTicketNotFound(t *testing.T) {
	_, _, c := startSim(t)
	ctx := context.Background()
	_, err := c.GetTicket(ctx, "incident", "INC0099999")
	if !domain.IsCode(err, domain.CodeNotFound) || !strings.Contains(err.Error(), "ticket INC0099999 does not exist in incident") {
		t.Errorf("missing ticket: %v", err)
	}
	// The right number in the wrong table is not found either.
	if _, err := c.GetTicket(ctx, "change_request", "INC0012345"); !domain.IsCode(err, domain.CodeNotFound) {
		t.Errorf("wrong table: %v", err)
	}
	// ServiceNow matches case-insensitively; jitpim wants the exact number.
	if _, err := c.GetTicket(ctx, "incident", "inc0012345"); !domain.IsCode(err, domain.CodeNotFound) {
		t.Errorf("lower-case number: %v", err)
	}
	if _, err := c.GetTicket(ctx, "problem", "PRB0000001"); !domain.IsCode(err, domain.CodeInvalid) {
		t.Errorf("unknown table: %v", err)
	}
}

func TestGetTicketInjection(t *testing.T) {
	_, ts, c := startSim(t)
	// The threat is real: sent raw, the query finds INC2.
	q := url.Values{"sysparm_query": {"number=INC1^ORnumber=INC2"}, "sysparm_fields": {"number"}}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/now/table/incident?"+q.Encode(), nil)
	req.SetBasicAuth("jitpim", "s3cret-for-tests")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Result []map[string]string `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	if len(raw.Result) != 2 {
		t.Fatalf("simulator should honour ^OR: %v", raw.Result)
	}

	for _, n := range []string{"INC1^ORnumber=INC2", "INC9^NQnumber=INC2", "INC9^ORnumberISNOTEMPTY", "INC2&sysparm_query=x", "INC 2", ""} {
		tk, err := c.GetTicket(context.Background(), "incident", n)
		if !domain.IsCode(err, domain.CodeNotFound) || tk.Number != "" {
			t.Errorf("%q: got %+v, %v", n, tk, err)
		}
	}
}

func TestClientErrors(t *testing.T) {
	sim, ts, good := startSim(t)
	ctx := context.Background()

	bad, _ := servicenow.New(servicenow.Config{InstanceURL: ts.URL, User: "jitpim", Password: "wrong"})
	_, err := bad.GetTicket(ctx, "incident", "INC0012345")
	if !domain.IsCode(err, domain.CodeUnauthorized) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("401: %v", err)
	}
	if err := bad.AddWorkNote(ctx, "incident", strings.Repeat("a", 32), "x"); !domain.IsCode(err, domain.CodeUnauthorized) {
		t.Errorf("401 on PATCH: %v", err)
	}

	sim.FailNext(http.StatusServiceUnavailable, 1)
	if _, err := good.GetTicket(ctx, "incident", "INC0012345"); !domain.IsCode(err, domain.CodeTransient) {
		t.Errorf("503: %v", err)
	}
	sim.FailNext(http.StatusTooManyRequests, 1)
	_, err = good.GetTicket(ctx, "incident", "INC0012345")
	if !domain.IsCode(err, domain.CodeTransient) || !strings.Contains(err.Error(), "retry after 1s") {
		t.Errorf("429: %v", err)
	}
	sim.FailNext(http.StatusForbidden, 1)
	if _, err := good.GetTicket(ctx, "incident", "INC0012345"); !domain.IsCode(err, domain.CodeInternal) {
		t.Errorf("403: %v", err)
	}
	if _, err := good.GetTicket(ctx, "incident", "INC0012345"); err != nil {
		t.Errorf("after faults: %v", err)
	}

	// Unreachable and slow instances are transient.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	sc, _ := servicenow.New(servicenow.Config{InstanceURL: slow.URL, User: "u", Password: "p", Timeout: 50 * time.Millisecond})
	if _, err := sc.GetTicket(ctx, "incident", "INC1"); !domain.IsCode(err, domain.CodeTransient) || !strings.Contains(err.Error(), "within") {
		t.Errorf("timeout: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	cc, _ := servicenow.New(servicenow.Config{InstanceURL: closedURL, User: "u", Password: "p"})
	if _, err := cc.GetTicket(ctx, "incident", "INC1"); !domain.IsCode(err, domain.CodeTransient) {
		t.Errorf("connection refused: %v", err)
	}
	// An SSO redirect is not followed (it would carry nothing useful back).
	redir := httptest.NewServer(http.RedirectHandler("https://login.example/sso", http.StatusFound))
	defer redir.Close()
	rc, _ := servicenow.New(servicenow.Config{InstanceURL: redir.URL, User: "u", Password: "p"})
	if _, err := rc.GetTicket(ctx, "incident", "INC1"); !domain.IsCode(err, domain.CodeInternal) || !strings.Contains(err.Error(), "redirected") {
		t.Errorf("redirect: %v", err)
	}
}

func TestAddWorkNote(t *testing.T) {
	sim, _, c := startSim(t)
	ctx := context.Background()
	inc, err := c.GetTicket(ctx, "incident", "INC0012345")
	if err != nil {
		t.Fatal(err)
	}
	notes := []string{"jitpim: Helpdesk Administrator activated for adam until 10:00 UTC",
		"jitpim: justification [code]<img src=x onerror=alert(1)>[/CODE]"}
	for _, n := range notes {
		if err := c.AddWorkNote(ctx, "incident", inc.SysID, n); err != nil {
			t.Fatal(err)
		}
	}
	got := sim.WorkNotes("INC0012345")
	if len(got) != 2 || got[0] != notes[0] {
		t.Fatalf("work notes %q", got)
	}
	if strings.Contains(strings.ToLower(got[1]), "[code]") || strings.Contains(strings.ToLower(got[1]), "[/code]") {
		t.Errorf("[code] tag survived: %q", got[1])
	}
	err = c.AddWorkNote(ctx, "incident", strings.Repeat("0", 32), "x")
	if !domain.IsCode(err, domain.CodeNotFound) {
		t.Errorf("unknown sys_id: %v", err)
	}
	for _, bad := range []struct{ table, sysID, note, field string }{
		{"incident", "../sys_user/1234567890123456789012", "x", "sys_id"},
		{"incident", inc.SysID, "  ", "note"},
		{"incident", inc.SysID, strings.Repeat("x", 17<<10), "note"},
		{"sys_user", inc.SysID, "x", "table"},
	} {
		var de *domain.Error
		if err := c.AddWorkNote(ctx, bad.table, bad.sysID, bad.note); !errors.As(err, &de) || de.Field != bad.field {
			t.Errorf("%s: %v", bad.field, err)
		}
	}
}
