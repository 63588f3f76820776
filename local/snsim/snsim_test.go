package snsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/snsim"
	"github.com/jitpim/jitpim/shared/servicenow"
)

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

const demoFile = "../demo/servicenow.json"

func startDemo(t *testing.T) (*snsim.Server, *httptest.Server) {
	t.Helper()
	data, err := snsim.LoadData(demoFile)
	if err != nil {
		t.Fatal(err)
	}
	sim := snsim.New(data, snsim.Options{Now: func() time.Time { return now }})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts
}

func call(t *testing.T, method, u string, body string, auth bool) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	if auth {
		req.SetBasicAuth("jitpim", "local-only")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %q is not a JSON object", method, u, b)
		}
	}
	return resp.StatusCode, out
}

// TestDemoData checks the demo file against the tenant and what each
// ticket is meant to demonstrate, through jitpim's own client and rules.
func TestDemoData(t *testing.T) {
	_, ts := startDemo(t)
	var tenant struct {
		Users []struct {
			UserPrincipalName string `json:"userPrincipalName"`
		} `json:"users"`
	}
	b, err := os.ReadFile("../demo/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tenant); err != nil {
		t.Fatal(err)
	}
	upns := map[string]bool{}
	for _, u := range tenant.Users {
		upns[u.UserPrincipalName] = true
	}
	data, _ := snsim.LoadData(demoFile)
	for _, u := range data.Users {
		if !upns[u.UserName] {
			t.Errorf("demo user %s is not in tenant.json", u.UserName)
		}
	}

	c, err := servicenow.New(servicenow.Config{InstanceURL: ts.URL, User: "jitpim", Password: "local-only"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(table, number string) servicenow.Ticket {
		tk, err := c.GetTicket(ctx, table, number)
		if err != nil {
			t.Fatalf("%s: %v", number, err)
		}
		return tk
	}
	rules := servicenow.Rules{}
	hour := now.Add(time.Hour)
	names := func(refs []servicenow.UserRef) string {
		var s []string
		for _, r := range refs {
			s = append(s, strings.Split(r.UserName, "@")[0])
		}
		return strings.Join(s, ",")
	}
	cases := []struct {
		table, number string
		start, end    time.Time
		who           string // requesters, or "" when refused
		refusal       string
	}{
		{"incident", "INC0012345", now, hour, "adam", ""},
		{"incident", "INC0012346", now, hour, "steve", ""},
		{"incident", "INC0012300", now, hour, "", "Resolved (state 6)"},
		{"change_request", "CHG0040001", now, hour, "gina,rita", ""},
		{"change_request", "CHG0040001", now, now.Add(25 * time.Hour), "", "outside change CHG0040001's planned window"},
		{"change_request", "CHG0040002", now, hour, "", "outside change CHG0040002's planned window"},
		{"change_request", "CHG0040002", now.Add(170 * time.Hour), now.Add(172 * time.Hour), "gina,rita", ""},
		{"sc_req_item", "RITM0010001", now, hour, "stan", ""},
	}
	for _, k := range cases {
		tk := get(k.table, k.number)
		refs, err := rules.Check(tk, k.start, k.end)
		if k.who == "" {
			if err == nil || !strings.Contains(err.Error(), k.refusal) {
				t.Errorf("%s: got %v, want refusal %q", k.number, err, k.refusal)
			}
			continue
		}
		if err != nil || names(refs) != k.who {
			t.Errorf("%s: got %s %v, want %s", k.number, names(refs), err, k.who)
		}
	}
	chg := get("change_request", "CHG0040001")
	if !chg.PlannedStart.Equal(now.Add(-24*time.Hour)) || !chg.PlannedEnd.Equal(now.Add(24*time.Hour)) {
		t.Errorf("CHG0040001 window %v..%v is not now±24h", chg.PlannedStart, chg.PlannedEnd)
	}
	if got := get("incident", "INC0012345").SysID; got != snsim.SysIDFor("incident/INC0012345") {
		t.Errorf("sys_id %s is not stable", got)
	}
}

func TestTableAPIShapes(t *testing.T) {
	_, ts := startDemo(t)
	base := ts.URL + "/api/now/table/"

	st, body := call(t, "GET", base+"incident?sysparm_query=number%3DINC0012345", "", false)
	if st != 401 || body["status"] != "failure" || body["error"].(map[string]any)["message"] != "User Not Authenticated" {
		t.Errorf("401: %d %v", st, body)
	}
	req, _ := http.NewRequest("GET", base+"incident", nil)
	req.SetBasicAuth("jitpim", "wrong")
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}

	// References as {"link","value"} unless excluded; dot-walks flat.
	st, body = call(t, "GET", base+"incident?sysparm_query=number%3DINC0012345&sysparm_fields=number,caller_id,caller_id.user_name,nonsense,caller_id.password", "", true)
	res := body["result"].([]any)
	if st != 200 || len(res) != 1 {
		t.Fatalf("GET: %d %v", st, body)
	}
	rec := res[0].(map[string]any)
	ref, ok := rec["caller_id"].(map[string]any)
	if !ok || ref["value"] == "" || !strings.HasSuffix(ref["link"].(string), "/sys_user/"+ref["value"].(string)) {
		t.Errorf("reference shape: %v", rec)
	}
	if rec["caller_id.user_name"] != "adam@jitpimdemo.onmicrosoft.com" {
		t.Errorf("dot-walk: %v", rec)
	}
	if _, ok := rec["nonsense"]; ok {
		t.Errorf("unknown field returned: %v", rec)
	}
	if _, ok := rec["caller_id.password"]; ok {
		t.Errorf("unknown dot-walked field returned: %v", rec)
	}
	_, body = call(t, "GET", base+"incident?sysparm_query=number%3DINC0012345&sysparm_fields=caller_id&sysparm_exclude_reference_link=true", "", true)
	if _, isString := body["result"].([]any)[0].(map[string]any)["caller_id"].(string); !isString {
		t.Errorf("excluded link: %v", body)
	}
	// Empty query lists everything; limit and offset page.
	_, body = call(t, "GET", base+"incident?sysparm_fields=number&sysparm_limit=2&sysparm_offset=1", "", true)
	if n := len(body["result"].([]any)); n != 2 {
		t.Errorf("limit/offset: %v", body)
	}
	// A record by sys_id, then missing ones.
	id := snsim.SysIDFor("incident/INC0012346")
	st, body = call(t, "GET", base+"incident/"+id+"?sysparm_fields=number", "", true)
	if st != 200 || body["result"].(map[string]any)["number"] != "INC0012346" {
		t.Errorf("by sys_id: %d %v", st, body)
	}
	st, body = call(t, "GET", base+"incident/"+strings.Repeat("0", 32), "", true)
	if st != 404 || body["error"].(map[string]any)["message"] != "No Record found" {
		t.Errorf("404: %d %v", st, body)
	}
	st, body = call(t, "GET", base+"cmdb_ci", "", true)
	if st != 400 || body["status"] != "failure" {
		t.Errorf("invalid table: %d %v", st, body)
	}
	st, _ = call(t, "DELETE", base+"incident/"+id, "", true)
	if st != 405 {
		t.Errorf("DELETE: %d", st)
	}

	// PATCH: work notes go to the journal, state is writable, the rest is ignored.
	st, body = call(t, "PATCH", base+"incident/"+id+"?sysparm_fields=number,state,work_notes,sys_id", `{"work_notes":"first","state":"6","sys_id":"x","number":"INC1"}`, true)
	r := body["result"].(map[string]any)
	if st != 200 || r["state"] != "6" || r["work_notes"] != "" || r["number"] != "INC0012346" || r["sys_id"] != id {
		t.Errorf("PATCH: %d %v", st, body)
	}
	st, _ = call(t, "PUT", base+"incident/"+id, `{"work_notes":"second"}`, true)
	if st != 200 {
		t.Errorf("PUT: %d", st)
	}
	st, _ = call(t, "PATCH", base+"incident/"+id, `not json`, true)
	if st != 400 {
		t.Errorf("bad PATCH: %d", st)
	}
	st, _ = call(t, "PATCH", base+"incident/"+strings.Repeat("0", 32), `{"work_notes":"x"}`, true)
	if st != 404 {
		t.Errorf("PATCH unknown: %d", st)
	}
	resp, err := http.Get(ts.URL + "/_sim/worknotes?number=INC0012346")
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	_ = json.NewDecoder(resp.Body).Decode(&notes)
	resp.Body.Close()
	if len(notes) != 2 || notes[0] != "first" || notes[1] != "second" {
		t.Errorf("worknotes: %v", notes)
	}
	if resp, _ := http.Get(ts.URL + "/_sim/worknotes?number=INC404"); resp.StatusCode != 404 {
		t.Errorf("worknotes of unknown ticket: %d", resp.StatusCode)
	}
}

func TestQueries(t *testing.T) {
	_, ts := startDemo(t)
	count := func(q string) []string {
		v := url.Values{"sysparm_query": {q}, "sysparm_fields": {"number"}}
		_, body := call(t, "GET", ts.URL+"/api/now/table/incident?"+v.Encode(), "", true)
		var out []string
		for _, r := range body["result"].([]any) {
			out = append(out, r.(map[string]any)["number"].(string))
		}
		return out
	}
	cases := map[string]string{
		"number=INC0012345":                     "INC0012345",
		"number=inc0012345":                     "INC0012345", // case-insensitive, like the real thing
		"number=INC0012345^ORnumber=INC0012300": "INC0012345,INC0012300",
		"number=INC9^ORnumber=INC0012346":       "INC0012346",
		"state=1^ORstate=2^caller_id.user_name=adam@jitpimdemo.onmicrosoft.com": "INC0012345",
		"stateIN1,2^ORDERBYnumber":                    "INC0012345,INC0012346",
		"state!=6^caller_id.user_nameSTARTSWITHsteve": "INC0012346",
		"number=INC0012300^NQnumber=INC0012346":       "INC0012346,INC0012300",
		"assigned_toISEMPTY":                          "INC0012345",
		"short_descriptionLIKEmfa":                    "INC0012346",
		"nonsense=1":                                  "",
		"number=INC0012345^nonsense=1":                "",
		"active=false":                                "INC0012300",
	}
	for q, want := range cases {
		if got := strings.Join(count(q), ","); got != want {
			t.Errorf("%s: got %q, want %q", q, got, want)
		}
	}
}

func TestControlEndpoints(t *testing.T) {
	sim, ts := startDemo(t)
	st, body := call(t, "POST", ts.URL+"/_sim/tickets", `{"table":"incident","number":"INC0077777","state":"2","caller_id":"stan@jitpimdemo.onmicrosoft.com"}`, false)
	if st != 200 || body["result"].(map[string]any)["caller_id"] != snsim.SysIDFor("sys_user/stan@jitpimdemo.onmicrosoft.com") {
		t.Fatalf("put ticket: %d %v", st, body)
	}
	for _, bad := range []string{
		`{"table":"incident","number":"INC0077778","state":"2","caller_id":"nobody@x"}`,
		`{"table":"problem","number":"PRB1","state":"1"}`,
		`{"table":"incident","number":"INC1^OR","state":"1"}`,
		`{"table":"incident","number":"INC0077779","state":"1","start_date":"2026-01-01 00:00:00"}`,
		`{"table":"incident","number":"INC0077779","state":"1","surprise":true}`,
	} {
		if st, _ := call(t, "POST", ts.URL+"/_sim/tickets", bad, false); st != 400 {
			t.Errorf("%s: %d", bad, st)
		}
	}
	// Replacing keeps work notes.
	if err := sim.PutTicket(snsim.Ticket{Table: "incident", Number: "INC0077777", State: "6"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.PutTicket(snsim.Ticket{Table: "change_request", Number: "CHG0040001", SysID: snsim.SysIDFor("incident/INC0012345"), State: "-1"}); err == nil {
		t.Error("a sys_id used by another ticket was accepted")
	}
	st, body = call(t, "GET", ts.URL+"/_sim/tickets", "", false)
	if st != 200 || len(body["result"].([]any)) != 7 {
		t.Errorf("list: %d %v", st, body)
	}

	if st, _ := call(t, "POST", ts.URL+"/_sim/faults", `{"status":503,"count":2}`, false); st != 204 {
		t.Errorf("faults: %d", st)
	}
	for i := 0; i < 2; i++ {
		if st, body := call(t, "GET", ts.URL+"/api/now/table/incident", "", false); st != 503 || body["status"] != "failure" {
			t.Errorf("fault %d: %d %v", i, st, body)
		}
	}
	if st, _ := call(t, "GET", ts.URL+"/api/now/table/incident", "", true); st != 200 {
		t.Errorf("after faults: %d", st)
	}
	if st, _ := call(t, "POST", ts.URL+"/_sim/faults", `{"status":200}`, false); st != 400 {
		t.Errorf("bad fault: %d", st)
	}

	if st, _ := call(t, "POST", ts.URL+"/_sim/reset", "", false); st != 204 {
		t.Errorf("reset: %d", st)
	}
	_, body = call(t, "GET", ts.URL+"/_sim/tickets", "", false)
	if len(body["result"].([]any)) != 6 {
		t.Errorf("after reset: %v", body)
	}
}

// TestSendWebhook plays a Business Rule against a jitpim-like receiver
// that verifies and parses exactly as jitpim does.
func TestSendWebhook(t *testing.T) {
	secret := []byte("demo-webhook-secret")
	auth := servicenow.WebhookAuth{Secrets: [][]byte{secret}}
	var got servicenow.Webhook
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, servicenow.MaxWebhookBytes+1))
		if err := auth.Verify(r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		hook, err := servicenow.ParseWebhook(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = hook
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"pending"}`)
	}))
	defer recv.Close()
	hook := map[string]any{"number": "INC0012345", "sys_id": snsim.SysIDFor("incident/INC0012345"), "table": "incident",
		"requested_by": "adam@jitpimdemo.onmicrosoft.com", "group_id": "339ecba2-4840-4502-aec1-cc35380b1d55",
		"duration": "PT1H", "justification": "INC0012345: password resets failing"}
	ctx := context.Background()
	st, body, err := snsim.SendWebhook(ctx, recv.URL, secret, hook)
	if err != nil || st != 202 || string(body) != `{"status":"pending"}` {
		t.Fatalf("send: %d %s %v", st, body, err)
	}
	if got.Number != "INC0012345" || got.AccessID != "member" || got.Duration != time.Hour {
		t.Errorf("received %+v", got)
	}
	st, body, err = snsim.SendWebhook(ctx, recv.URL, []byte("another-secret"), hook)
	if err != nil || st != 401 || !strings.Contains(string(body), "signature does not match") {
		t.Errorf("wrong secret: %d %s %v", st, body, err)
	}
	hook["approved"] = "yes"
	st, body, _ = snsim.SendWebhook(ctx, recv.URL, secret, hook)
	if st != 400 || !strings.Contains(string(body), "approved") {
		t.Errorf("unknown field: %d %s", st, body)
	}
}
