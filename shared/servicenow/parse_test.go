package servicenow_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/servicenow"
)

const (
	helpdeskRole = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	serviceDesk  = "339ecba2-4840-4502-aec1-cc35380b1d55"
	ticketSysID  = "0123456789abcdef0123456789abcdef"
)

func roleHook() map[string]any {
	return map[string]any{
		"number": "INC0012345", "sys_id": ticketSysID, "table": "incident",
		"requested_by": "adam@jitpimdemo.onmicrosoft.com", "role_definition_id": helpdeskRole,
		"duration": "PT2H", "justification": "Reset MFA for the Finance team",
	}
}

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseWebhookValid(t *testing.T) {
	w, err := servicenow.ParseWebhook(encode(t, roleHook()))
	if err != nil {
		t.Fatal(err)
	}
	want := servicenow.Webhook{Number: "INC0012345", SysID: ticketSysID, Table: "incident", Action: "activate",
		Requester: "adam@jitpimdemo.onmicrosoft.com", RoleDefinitionID: helpdeskRole, DirectoryScopeID: "/",
		Duration: 2 * time.Hour, Justification: "Reset MFA for the Finance team"}
	if w != want {
		t.Errorf("got %+v\nwant %+v", w, want)
	}

	g := map[string]any{"number": "CHG0040001", "sys_id": strings.ToUpper(ticketSysID), "table": "change_request",
		"action": "deactivate", "requested_by": "gina@jitpimdemo.onmicrosoft.com",
		"group_id": strings.ToUpper(serviceDesk), "justification": nil}
	w, err = servicenow.ParseWebhook(encode(t, g))
	if err != nil {
		t.Fatal(err)
	}
	if w.GroupID != serviceDesk || w.AccessID != "member" || w.SysID != ticketSysID || w.Action != "deactivate" || w.Duration != 0 {
		t.Errorf("group hook: %+v", w)
	}

	s := roleHook()
	s["directory_scope_id"] = "/administrativeUnits/8f4a5c3e-0f2b-4a4c-9a59-0c6a4a1c2b3d"
	if w, err := servicenow.ParseWebhook(encode(t, s)); err != nil || w.DirectoryScopeID != s["directory_scope_id"] {
		t.Errorf("scoped role: %+v %v", w, err)
	}
	o := roleHook()
	delete(o, "role_definition_id")
	o["group_id"], o["access_id"] = serviceDesk, "owner"
	if w, err := servicenow.ParseWebhook(encode(t, o)); err != nil || w.AccessID != "owner" {
		t.Errorf("owner: %+v %v", w, err)
	}
}

func TestParseWebhookErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(m map[string]any)
		field string
	}{
		{"number missing", func(m map[string]any) { delete(m, "number") }, "number"},
		{"number empty", func(m map[string]any) { m["number"] = "" }, "number"},
		{"number injection", func(m map[string]any) { m["number"] = "INC1^ORnumber=INC2" }, "number"},
		{"number not a string", func(m map[string]any) { m["number"] = 12345 }, "number"},
		{"sys_id missing", func(m map[string]any) { delete(m, "sys_id") }, "sys_id"},
		{"sys_id short", func(m map[string]any) { m["sys_id"] = ticketSysID[:31] }, "sys_id"},
		{"sys_id not hex", func(m map[string]any) { m["sys_id"] = strings.Repeat("g", 32) }, "sys_id"},
		{"table missing", func(m map[string]any) { delete(m, "table") }, "table"},
		{"table other", func(m map[string]any) { m["table"] = "sys_user" }, "table"},
		{"table case", func(m map[string]any) { m["table"] = "Incident" }, "table"},
		{"action other", func(m map[string]any) { m["action"] = "approve" }, "action"},
		{"requester missing", func(m map[string]any) { delete(m, "requested_by") }, "requested_by"},
		{"requester with space", func(m map[string]any) { m["requested_by"] = "adam @x" }, "requested_by"},
		{"requester control", func(m map[string]any) { m["requested_by"] = "adam\x00@x" }, "requested_by"},
		{"both targets", func(m map[string]any) { m["group_id"] = serviceDesk }, "group_id"},
		{"no target", func(m map[string]any) { delete(m, "role_definition_id") }, "role_definition_id"},
		{"role not guid", func(m map[string]any) { m["role_definition_id"] = "Global Administrator" }, "role_definition_id"},
		{"group not guid", func(m map[string]any) {
			delete(m, "role_definition_id")
			m["group_id"] = "PAG-SERVICE-DESK"
		}, "group_id"},
		{"access_id with role", func(m map[string]any) { m["access_id"] = "member" }, "access_id"},
		{"access_id other", func(m map[string]any) {
			delete(m, "role_definition_id")
			m["group_id"], m["access_id"] = serviceDesk, "admin"
		}, "access_id"},
		{"scope with group", func(m map[string]any) {
			delete(m, "role_definition_id")
			m["group_id"], m["directory_scope_id"] = serviceDesk, "/"
		}, "directory_scope_id"},
		{"scope not a path", func(m map[string]any) { m["directory_scope_id"] = "tenant" }, "directory_scope_id"},
		{"scope traversal", func(m map[string]any) { m["directory_scope_id"] = "/../x" }, "directory_scope_id"},
		{"bad duration", func(m map[string]any) { m["duration"] = "2 hours" }, "duration"},
		{"duration in months", func(m map[string]any) { m["duration"] = "P1M" }, "duration"},
		{"zero duration", func(m map[string]any) { m["duration"] = "PT0S" }, "duration"},
		{"duration on deactivate", func(m map[string]any) { m["action"] = "deactivate" }, "duration"},
		{"justification too long", func(m map[string]any) { m["justification"] = strings.Repeat("x", 1001) }, "justification"},
		{"justification control", func(m map[string]any) { m["justification"] = "ok\x1b[31m" }, "justification"},
		{"unknown field", func(m map[string]any) { m["approved"] = "true" }, "approved"},
		{"misspelt field", func(m map[string]any) { m["groupid"] = serviceDesk }, "groupid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := roleHook()
			c.edit(m)
			_, err := servicenow.ParseWebhook(encode(t, m))
			checkInvalid(t, err, c.field)
		})
	}

	raw := []struct {
		name, body, field string
	}{
		{"duplicate field", `{"number":"INC0012345","number":"INC0099999"}`, "number"},
		{"array", `[]`, "body"},
		{"not json", `number=INC0012345`, "body"},
		{"empty", ``, "body"},
		{"trailing data", string(encode(t, roleHook())) + `{}`, "body"},
		{"truncated", `{"number":"INC0012345"`, "body"},
		{"nested object", `{"number":{"value":"INC0012345"}}`, "number"},
		{"invalid utf-8", "{\"number\":\"INC\xff\"}", "body"},
	}
	for _, c := range raw {
		t.Run(c.name, func(t *testing.T) {
			_, err := servicenow.ParseWebhook([]byte(c.body))
			checkInvalid(t, err, c.field)
		})
	}

	t.Run("oversize", func(t *testing.T) {
		m := roleHook()
		m["justification"] = strings.Repeat("x", servicenow.MaxWebhookBytes)
		_, err := servicenow.ParseWebhook(encode(t, m))
		checkInvalid(t, err, "body")
	})
	t.Run("unknown field message names it", func(t *testing.T) {
		m := roleHook()
		m["approved_by"] = "alice"
		_, err := servicenow.ParseWebhook(encode(t, m))
		if err == nil || !strings.Contains(err.Error(), `"approved_by"`) {
			t.Errorf("got %v", err)
		}
	})
}

func checkInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *domain.Error", err)
	}
	if de.Code != domain.CodeInvalid || de.Field != field {
		t.Errorf("got code %s field %q (%s), want invalid %q", de.Code, de.Field, de.Message, field)
	}
}
