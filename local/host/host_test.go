package main

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

func TestRouteMatch(t *testing.T) {
	tests := []struct {
		tmpl string
		path string
		want map[string]string // nil = no match
	}{
		{"items/{id}", "items/42", map[string]string{"id": "42"}},
		{"items/{id}", "ITEMS/42", map[string]string{"id": "42"}},
		{"items/{id}", "items", nil},
		{"items/{id}", "items/42/x", nil},
		{"items/{id}", "items/a%2Fb", map[string]string{"id": "a/b"}},
		{"items/{id?}", "items", map[string]string{}},
		{"items/{id?}", "items/7", map[string]string{"id": "7"}},
		{"items/{id=5}", "items", map[string]string{"id": "5"}},
		{"items/{id:int}", "items/9", map[string]string{"id": "9"}},
		{"items/{id:regex(^a=b$)}", "items/x", map[string]string{"id": "x"}},
		{"roleManagement/{*path}", "roleManagement/directory/x", map[string]string{"path": "directory/x"}},
		{"roleManagement/{*path}", "roleManagement", map[string]string{}},
		{"roleManagement/{**path}", "rolemanagement/a/b/c", map[string]string{"path": "a/b/c"}},
		{"a/{x}/b/{y?}", "a/1/b", map[string]string{"x": "1"}},
		{"a/{x}/b/{y?}", "a/1/c", nil},
		{"", "", map[string]string{}},
		{"", "x", nil},
		// The app's root route: only "/" (an empty route never matches in Azure).
		{"{home:maxlength(0)?}", "", map[string]string{}},
		{"{home:maxlength(0)?}", "expirySweep", nil},
		{"items/{id:minlength(2):maxlength(3)}", "items/abc", map[string]string{"id": "abc"}},
		{"items/{id:minlength(2):maxlength(3)}", "items/a", nil},
		{"items/{id:minlength(2):maxlength(3)}", "items/abcd", nil},
	}
	for _, tc := range tests {
		tmpl, err := parseRouteTemplate(tc.tmpl)
		if err != nil {
			t.Fatalf("parse %q: %v", tc.tmpl, err)
		}
		segs, err := splitPath("/" + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tmpl.match(segs)
		if ok != (tc.want != nil) || (ok && !maps.Equal(got, tc.want)) {
			t.Errorf("%q ~ %q = %v, %v; want %v", tc.tmpl, tc.path, got, ok, tc.want)
		}
	}
}

func TestRouteTemplateErrors(t *testing.T) {
	for _, tmpl := range []string{
		"a//b", "{*rest}/x", "files/{name}.{ext}", "{a}/{a}", "{}", "{x?}/y", "{a", "x{a}",
	} {
		if _, err := parseRouteTemplate(tmpl); err == nil {
			t.Errorf("parseRouteTemplate(%q) succeeded; want error", tmpl)
		}
	}
}

func TestRoutePrecedence(t *testing.T) {
	mk := func(name, route string, methods ...string) *function {
		tmpl, err := parseRouteTemplate(route)
		if err != nil {
			t.Fatal(err)
		}
		return &function{Name: name, Kind: kindHTTP, Route: route, Methods: methods, template: tmpl}
	}
	// Declared in an order that would give wrong answers without sorting.
	r := newRouter("api", []*function{
		mk("catchAll", "{*rest}"),
		mk("anyItem", "items/{id}"),
		mk("itemsNew", "items/new", "post"),
		mk("itemsStats", "items/stats"),
		mk("twoParams", "{a}/{b}"),
		mk("constrained", "items/{id:int}"),
		{Name: "timer", Kind: kindTimer},
	})
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/api/items/stats", "itemsStats"},
		{"GET", "/api/Items/STATS/", "itemsStats"},
		{"POST", "/api/items/new", "itemsNew"},
		{"GET", "/api/items/new", "constrained"}, // method mismatch falls through
		{"GET", "/api/items/42", "constrained"},  // constrained beats plain parameter
		{"GET", "/api/other/42", "twoParams"},
		{"GET", "/api/x/y/z", "catchAll"},
		{"GET", "/api", "catchAll"},
		{"GET", "/nope/items/1", ""},
		{"GET", "/apiitems/1", ""},
	}
	for _, tc := range tests {
		f, _, ok := r.lookup(tc.method, tc.path)
		got := ""
		if ok {
			got = f.Name
		}
		if got != tc.want {
			t.Errorf("%s %s -> %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}

	// Methods are enforced: no route for DELETE means no match (404).
	r2 := newRouter("", []*function{mk("items", "items/{id}", "get", "post")})
	if _, _, ok := r2.lookup("DELETE", "/items/1"); ok {
		t.Error("DELETE matched a get/post route")
	}
	if f, p, ok := r2.lookup("get", "/items/1"); !ok || f.Name != "items" || p["id"] != "1" {
		t.Errorf("empty prefix lookup = %v %v %v", f, p, ok)
	}
}

func TestValidateNCRONTAB(t *testing.T) {
	tests := []struct {
		expr   string
		ok     bool
		errHas string
	}{
		{"0 */5 * * * *", true, ""},
		{"0 0 2 * * *", true, ""},
		{"0 30 9 * * 1-5", true, ""},
		{"0 30 9 * * MON-FRI", true, ""},
		{"0 0 0 1 JUL *", true, ""},
		{"0 0 0 1 * ?", true, ""},
		{"0 0 0 */2 * *", true, ""},
		{"0 0 0 1 * 1", false, "both restricted"},
		{"0 0 0 */2 * 1", false, "both restricted"},
		{"0 0 0 L * *", false, "L, W and #"},
		{"0 0 0 15W * *", false, "L, W and #"},
		{"0 0 0 * * 5L", false, "L, W and #"},
		{"0 0 0 * * 1#2", false, "L, W and #"},
		{"0 0 0 * * 7", false, "day-of-week 7"},
		{"0 0 0 * * 5-7", false, "day-of-week 7"},
		{"*/5 * * * *", false, "exactly 6 fields"},
		{"0 0 0 * * * *", false, "exactly 6 fields"},
		{"@every 1m", false, "descriptors"},
		{"@daily", false, "descriptors"},
		{"00:05:00", false, "exactly 6 fields"},
		{"0 0 25 * * *", false, ""}, // robfig's own range check
	}
	for _, tc := range tests {
		err := validateNCRONTAB(tc.expr)
		if (err == nil) != tc.ok {
			t.Errorf("validateNCRONTAB(%q) = %v, want ok=%v", tc.expr, err, tc.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("validateNCRONTAB(%q) = %v, want mention of %q", tc.expr, err, tc.errHas)
		}
	}
}

func TestExpandAppSettings(t *testing.T) {
	env := map[string]string{"Sched": "0 */5 * * * *", "A": "x", "B": "y"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"%Sched%", "0 */5 * * * *", true},
		{"0 0 2 * * *", "0 0 2 * * *", true},
		{"%A%-%B%", "x-y", true},
		{"%Missing%", "", false},
		{"100%", "100%", true},
	}
	for _, tc := range tests {
		got, err := expandAppSettings(tc.in, getenv)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("expandAppSettings(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseFunction(t *testing.T) {
	env := func(k string) string {
		if k == "EveryFive" {
			return "0 */5 * * * *"
		}
		return ""
	}
	tests := []struct {
		name, json, errHas string
	}{
		{"http", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["GET","post"]},{"type":"http","direction":"out","name":"res"}]}`, ""},
		{"timer", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%EveryFive%","runOnStartup":true}]}`, ""},
		{"queue", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg"}]}`, `"queueTrigger"`},
		{"blobOut", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 0 0 * * *"},{"type":"blob","direction":"out","name":"b"}]}`, `"blob"`},
		{"noOut", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`, "http output"},
		{"badMethod", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["fetch"]},{"type":"http","direction":"out","name":"res"}]}`, "methods"},
		{"missingSetting", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"%Nope%"}]}`, `function "missingSetting" field schedule`},
		{"badCron", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 0 0 1 * 1"}]}`, `function "badCron" field schedule`},
		{"none", `{"bindings":[]}`, "no trigger"},
	}
	for _, tc := range tests {
		_, err := parseFunction(tc.name, []byte(tc.json), env)
		if tc.errHas == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: err = %v, want mention of %s", tc.name, err, tc.errHas)
		}
	}
	fn, _ := parseFunction("http", []byte(tests[0].json), env)
	if fn.Route != "http" || strings.Join(fn.Methods, ",") != "get,post" || fn.OutputName != "res" || fn.TriggerName != "req" {
		t.Errorf("http function = %+v", fn)
	}
	fn, _ = parseFunction("timer", []byte(tests[1].json), env)
	if fn.Schedule != "0 */5 * * * *" || !fn.RunOnStartup {
		t.Errorf("timer function = %+v", fn)
	}
}

func TestToHTTPReply(t *testing.T) {
	tests := []struct {
		out    string
		status int
		body   string
		ctype  string
		ok     bool
	}{
		{`{"statusCode":201,"headers":{"Content-Type":"application/json"},"body":"{\"a\":1}"}`, 201, `{"a":1}`, "application/json", true},
		{`{"statusCode":"404","body":"nope"}`, 404, "nope", "text/plain; charset=utf-8", true},
		{`{"StatusCode":200,"Body":{"a":[1,2]}}`, 200, `{"a":[1,2]}`, "application/json; charset=utf-8", true},
		{`{"body":[1]}`, 200, `[1]`, "application/json; charset=utf-8", true},
		{`null`, 204, "", "", true},
		{``, 204, "", "", true},
		{`{"statusCode":"abc"}`, 0, "", "", false},
		{`{"statusCode":true}`, 0, "", "", false},
		{`"text"`, 0, "", "", false},
	}
	for _, tc := range tests {
		rep, err := toHTTPReply(json.RawMessage(tc.out))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.out, err)
			continue
		}
		if err != nil {
			continue
		}
		if rep.Status != tc.status || string(rep.Body) != tc.body || rep.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: got %d %q %q", tc.out, rep.Status, rep.Body, rep.Header.Get("Content-Type"))
		}
	}
	rep, err := toHTTPReply(json.RawMessage(`{"headers":{"X-A":["1","2"],"X-N":5,"Content-Length":"99"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Header.Values("X-A"); len(got) != 2 || rep.Header.Get("X-N") != "5" || rep.Header.Get("Content-Length") != "" {
		t.Errorf("headers = %v", rep.Header)
	}
}
