package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestReviewPrincipalScopes: a role review's principal scopes are /users
// and /groups (holders as they are) or /groups/transitiveMembers (Entra's
// "review group members"), which the definition reports back; anything
// else, or the expansion on a group review, is refused naming the field.
func TestReviewPrincipalScopes(t *testing.T) {
	e := newReviewEnv(t)
	adm := e.token(admin, true)
	scopes := func(qs ...string) []any {
		var out []any
		for _, q := range qs {
			out = append(out, map[string]any{"query": q, "queryType": "MicrosoftGraph"})
		}
		return out
	}
	tests := []struct {
		name       string
		principals []any
		group      bool
		code       int
		expanded   bool
	}{
		{"users", scopes("/users"), false, 201, false},
		{"users and groups", scopes("/users", "/groups"), false, 201, false},
		{"group members", scopes("/users", "/groups/transitiveMembers"), false, 201, true},
		{"service principals", scopes("/servicePrincipals"), false, 400, false},
		{"group members of a group review", scopes("/groups/transitiveMembers"), true, 400, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := graphDefinition(alice, "Deny")
			d["displayName"] = fmt.Sprintf("scope test %d", i)
			sc := d["scope"].(map[string]any)
			sc["principalScopes"] = tc.principals
			if tc.group {
				sc["resourceScopes"] = scopes("/groups/" + pag + "/transitiveMembers")
			}
			code, out := e.do("POST", reviews, adm, d)
			if code != tc.code {
				t.Fatalf("%d %v, want %d", code, out, tc.code)
			}
			if code != 201 {
				if !strings.Contains(fmt.Sprint(out), "scope.principalScopes") {
					t.Fatalf("refusal does not name the field: %v", out)
				}
				return
			}
			got := fmt.Sprint(out["scope"])
			if strings.Contains(got, "/groups/transitiveMembers") != tc.expanded {
				t.Fatalf("scope read back: %s", got)
			}
		})
	}
}
