package domain_test

import (
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestTargetKeyRoundTrip(t *testing.T) {
	cases := []struct {
		t   domain.Target
		key string
	}{
		{domain.RoleTarget(roleGA, ""), "role:" + string(roleGA) + ":/"},
		{domain.RoleTarget(roleGA, "/"), "role:" + string(roleGA) + ":/"},
		{domain.RoleTarget(rolePRA, auScope), "role:" + string(rolePRA) + ":" + auScope},
		{domain.GroupTarget(groupA, "member"), "group:" + groupA + ":member"},
		{domain.GroupTarget(groupA, "OWNER"), "group:" + groupA + ":owner"},
	}
	for _, c := range cases {
		if got := c.t.Key(); got != c.key {
			t.Errorf("%+v.Key() = %q, want %q", c.t, got, c.key)
		}
		if strings.Contains(c.key, "|") {
			t.Errorf("key %q contains '|'", c.key)
		}
		back, err := domain.ParseTargetKey(c.key)
		if err != nil {
			t.Errorf("ParseTargetKey(%q): %v", c.key, err)
			continue
		}
		if back != c.t {
			t.Errorf("ParseTargetKey(%q) = %+v, want %+v", c.key, back, c.t)
		}
		if back.Key() != c.key {
			t.Errorf("ParseTargetKey(%q).Key() = %q", c.key, back.Key())
		}
	}
	if RoleTargetDefaultScope := domain.RoleTarget(roleGA, ""); RoleTargetDefaultScope.DirectoryScopeID != "/" {
		t.Errorf("RoleTarget with empty scope = %q, want /", RoleTargetDefaultScope.DirectoryScopeID)
	}
}

func TestParseTargetKeyRejects(t *testing.T) {
	for _, k := range []string{"", "role", "role:" + string(roleGA), "group:" + groupA, "user:" + userA + ":x", "Role:" + string(roleGA) + ":/", ":a:b", "rolex:a:b"} {
		if tg, err := domain.ParseTargetKey(k); err == nil {
			t.Errorf("ParseTargetKey(%q) = %+v, want an error", k, tg)
		} else if !strings.Contains(err.Error(), "bad target key") {
			t.Errorf("ParseTargetKey(%q) error %q", k, err)
		}
	}
}

func TestTargetString(t *testing.T) {
	if s := domain.RoleTarget(roleGA, "/").String(); s != "role "+string(roleGA)+" at /" {
		t.Errorf("role String() = %q", s)
	}
	if s := domain.GroupTarget(groupA, "owner").String(); s != "group "+groupA+" (owner)" {
		t.Errorf("group String() = %q", s)
	}
}

func TestTargetValidate(t *testing.T) {
	cases := []struct {
		name string
		t    domain.Target
		want wantResult
	}{
		{"role at tenant", domain.RoleTarget(roleGA, "/"), allowed},
		{"role at AU", domain.RoleTarget(roleGA, auScope), allowed},
		// An id that skipped ParseObjectID (not canonical) is refused: only the
		// parsed spelling is valid past the boundary.
		{"role upper-case guid not parsed", domain.RoleTarget(domain.ObjectID(strings.ToUpper(string(roleGA))), "/"),
			wantResult{domain.CodeInvalid, "roleDefinitionId", []string{"GUID"}}},
		{"group member", domain.GroupTarget(groupA, "member"), allowed},
		{"group Owner", domain.GroupTarget(groupA, "Owner"), allowed},
		{"role bad id", domain.RoleTarget(notAGUID, "/"),
			wantResult{domain.CodeInvalid, "roleDefinitionId", []string{"GUID", `"not-a-guid"`}}},
		{"role empty id", domain.RoleTarget("", "/"),
			wantResult{domain.CodeInvalid, "roleDefinitionId", []string{"GUID"}}},
		{"role scope without slash", domain.RoleTarget(roleGA, "administrativeUnits/x"),
			wantResult{domain.CodeInvalid, "directoryScopeId", []string{`"administrativeUnits/x"`}}},
		{"role scope with |", domain.RoleTarget(roleGA, "/a|b"),
			wantResult{domain.CodeInvalid, "directoryScopeId", []string{`"/a|b"`}}},
		{"role scope with #", domain.RoleTarget(roleGA, "/a#b"), wantResult{domain.CodeInvalid, "directoryScopeId", nil}},
		{"role scope with ?", domain.RoleTarget(roleGA, "/a?b"), wantResult{domain.CodeInvalid, "directoryScopeId", nil}},
		{"role scope with backslash", domain.RoleTarget(roleGA, `/a\b`), wantResult{domain.CodeInvalid, "directoryScopeId", nil}},
		{"group bad id", domain.GroupTarget("g1", "member"),
			wantResult{domain.CodeInvalid, "groupId", []string{"GUID", `"g1"`}}},
		{"group bad access", domain.GroupTarget(groupA, "admin"),
			wantResult{domain.CodeInvalid, "accessId", []string{`"member" or "owner"`, `"admin"`}}},
		{"group empty access", domain.GroupTarget(groupA, ""),
			wantResult{domain.CodeInvalid, "accessId", nil}},
		{"unknown kind", domain.Target{Kind: "app", RoleDefinitionID: roleGA},
			wantResult{domain.CodeInvalid, "target", []string{`"app"`}}},
		{"zero target", domain.Target{}, wantResult{domain.CodeInvalid, "target", nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.t.Validate()
			if c.want.code == "" {
				wantNoErr(t, err)
				return
			}
			wantErr(t, err, c.want.code, c.want.field, c.want.parts...)
		})
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		string(roleGA):                          true,
		strings.ToUpper(groupA):                 true,
		"00000000-0000-0000-0000-000000000000":  true,
		"":                                      false,
		"62e90394-69f5-4237-9190-012177145e1":   false, // 35
		"62e90394-69f5-4237-9190-012177145e100": false, // 37
		"62e90394x69f5-4237-9190-012177145e10":  false,
		"62e90394-69f5-4237-9190-012177145e1g":  false,
		"{62e90394-69f5-4237-9190-012177145e1}": false,
		"62e9039469f54237919001217714510e10ab":  false,
		"62e90394-69f5-4237-9190-0121771-5e10":  false, // dash in the last group
		"62e90394-69f5-4237-919-0012177145e10":  false, // misplaced dash
		"62e90394-69f5-4237-9190-012177145é1":   false, // non-ASCII, 36 bytes
		"62e90394-69f5-4237-9190-01217714 e10":  false,
	} {
		if got := domain.IsGUID(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, a := range domain.Actions {
		for _, in := range []string{string(a), strings.ToUpper(string(a)[:1]) + string(a)[1:]} {
			got, ok := domain.ParseAction(in)
			if !ok || got != a {
				t.Errorf("ParseAction(%q) = %q %v, want %q", in, got, ok, a)
			}
		}
	}
	if got, ok := domain.ParseAction("AdminAssign"); !ok || got != "adminAssign" {
		t.Errorf("ParseAction(AdminAssign) = %q %v", got, ok)
	}
	// other casings are refused, as documented on EnumMatches
	for _, in := range []string{"", "assign", "adminAssign ", "selfActivation", "admin", "self", "ADMINASSIGN", "adminassign", "SelfACTIVATE"} {
		if got, ok := domain.ParseAction(in); ok || got != "" {
			t.Errorf("ParseAction(%q) = %q %v, want refused", in, got, ok)
		}
	}
	if len(domain.Actions) != 9 {
		t.Errorf("%d actions, want Graph's 9", len(domain.Actions))
	}
	admin := 0
	for _, a := range domain.Actions {
		if a.IsAdmin() {
			admin++
		}
	}
	if admin != 5 || !domain.ActionAdminRemove.IsAdmin() || domain.ActionSelfActivate.IsAdmin() {
		t.Errorf("IsAdmin: %d admin actions, want 5", admin)
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range domain.Statuses {
		for _, in := range []string{string(s), strings.ToLower(string(s)[:1]) + string(s)[1:]} {
			got, ok := domain.ParseStatus(in)
			if !ok || got != s {
				t.Errorf("ParseStatus(%q) = %q %v, want %q", in, got, ok, s)
			}
		}
	}
	for _, in := range []string{"", "new", "Expired", "Pending", "Granted ", "Cancelled", "GRANTED", "pendingapproval"} {
		if got, ok := domain.ParseStatus(in); ok || got != "" {
			t.Errorf("ParseStatus(%q) = %q %v, want refused", in, got, ok)
		}
	}
}

func TestParseExpirationType(t *testing.T) {
	for in, want := range map[string]domain.ExpirationType{
		"noExpiration": domain.ExpireNever, "NoExpiration": domain.ExpireNever,
		"afterDateTime": domain.ExpireAfterDateTime, "AfterDateTime": domain.ExpireAfterDateTime,
		"afterDuration": domain.ExpireAfterDuration, "AfterDuration": domain.ExpireAfterDuration,
	} {
		got, ok := domain.ParseExpirationType(in)
		if !ok || got != want {
			t.Errorf("ParseExpirationType(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "never", "afterDate", "duration", "afterDuration ", "AFTERDURATION", "noexpiration"} {
		if got, ok := domain.ParseExpirationType(in); ok || got != "" {
			t.Errorf("ParseExpirationType(%q) = %q %v, want refused", in, got, ok)
		}
	}
}

func TestEnumMatches(t *testing.T) {
	cases := []struct {
		canonical, s string
		want         bool
	}{
		{"adminAssign", "adminAssign", true},
		{"adminAssign", "AdminAssign", true},
		{"Granted", "granted", true},
		{"Granted", "Granted", true},
		{"adminAssign", "adminassign", false},
		{"adminAssign", "ADMINASSIGN", false},
		{"adminAssign", "", false},
		{"", "", false},
		{"", "x", false},
		{"adminAssign", "adminAssig", false},
	}
	for _, c := range cases {
		if got := domain.EnumMatches(c.canonical, c.s); got != c.want {
			t.Errorf("EnumMatches(%q, %q) = %v, want %v", c.canonical, c.s, got, c.want)
		}
	}
}
