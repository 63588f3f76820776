package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

// TestQueryOptions: what Graph clients send beyond $filter is served or
// refused with 400 naming it, never ignored.
func TestQueryOptions(t *testing.T) {
	e := newEnv(t)
	e.dir.AddUser(domain.User{ID: alice, Enabled: true, DisplayName: "Alice Approver", UserPrincipalName: "alice@contoso.example"})
	for _, role := range []domain.ObjectID{ga, exch, "fe930be7-5e62-47db-91af-98c3a49a38b1", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"} {
		e.makeEligible(alice, role)
	}
	adm := e.token(admin, true)
	sched := "/api/roleManagement/directory/roleEligibilitySchedules"

	for _, bad := range []struct{ query, option string }{
		{"$orderby=principalId", "$orderby"}, {"$search=x", "$search"}, {"$skip=1", "$skip"}, {"top=1", "top"},
		{"$count=yes", "$count"}, {"$expand=group", "$expand"}, {"$select=nope", "$select"}, {"$expand=principal,appScope", "$expand"},
	} {
		code, out := e.do("GET", sched+"?"+bad.query, adm, nil)
		if code != 400 || !strings.Contains(errMsg(out), bad.option) {
			t.Errorf("?%s: %d %v, want 400 naming %s", bad.query, code, out, bad.option)
		}
	}
	// Writes take no query options at all.
	code, out := e.do("POST", eligReqs+"?$select=id", adm, map[string]any{})
	if code != 400 || !strings.Contains(errMsg(out), "$select") {
		t.Errorf("POST with $select: %d %v", code, out)
	}
	// Policies expand rules only; the old substring match took "effectiveRules" for it.
	if code, out := e.do("GET", "/api/policies/roleManagementPolicies/DirectoryRole_"+string(ga)+"?$expand=effectiveRules", adm, nil); code != 400 {
		t.Errorf("$expand=effectiveRules: %d %v", code, out)
	}

	// $count counts every page; $top pages with @odata.nextLink.
	page := e.must(200, "GET", sched+"?$top=3&$count=true", adm, nil)
	if len(page["value"].([]any)) != 3 || page["@odata.count"] != float64(4) || page["@odata.nextLink"] == nil {
		t.Fatalf("first page: %v", page)
	}
	next, _ := url.Parse(page["@odata.nextLink"].(string))
	rest := e.must(200, "GET", next.RequestURI(), adm, nil)
	if len(rest["value"].([]any)) != 1 || rest["@odata.nextLink"] != nil || rest["@odata.count"] != float64(4) {
		t.Fatalf("second page: %v", rest)
	}

	// $select keeps the named properties (and id); $expand adds navigation properties.
	one := e.must(200, "GET", sched+"?$filter=roleDefinitionId eq '"+string(ga)+"'&$select=principalId,memberType&$expand=principal,roleDefinition", adm, nil)
	items := one["value"].([]any)
	if len(items) != 1 {
		t.Fatalf("filtered: %v", one)
	}
	it := items[0].(map[string]any)
	for k := range it {
		switch k {
		case "id", "principalId", "memberType", "principal", "roleDefinition":
		default:
			t.Errorf("$select kept %s", k)
		}
	}
	p, _ := it["principal"].(map[string]any)
	rd, _ := it["roleDefinition"].(map[string]any)
	if it["principalId"] != alice || p["displayName"] != "Alice Approver" || p["@odata.type"] != "#microsoft.graph.user" ||
		rd["displayName"] != "Global Administrator" || rd["id"] != string(ga) || rd["isBuiltIn"] != true {
		t.Fatalf("selected and expanded: %v", it)
	}
	// Collections answered whole are paged here: $skiptoken is an offset.
	for _, role := range []string{string(ga), string(exch), "fe930be7-5e62-47db-91af-98c3a49a38b1"} {
		e.must(200, "PATCH", "/api/policies/roleManagementPolicies/DirectoryRole_"+role, adm, map[string]any{"description": "paged"})
	}
	all := e.must(200, "GET", "/api/policies/roleManagementPolicies?$count=true", adm, nil)
	total := len(all["value"].([]any))
	if total < 3 || all["@odata.count"] != float64(total) {
		t.Fatalf("policies: %d, count %v", total, all["@odata.count"])
	}
	seen := 0
	for link := "/api/policies/roleManagementPolicies?$top=2&$count=true"; link != ""; {
		pg := e.must(200, "GET", link, adm, nil)
		seen += len(pg["value"].([]any))
		if pg["@odata.count"] != float64(total) || len(pg["value"].([]any)) > 2 {
			t.Fatalf("policy page: %v", pg)
		}
		link = ""
		if n, ok := pg["@odata.nextLink"].(string); ok {
			u, _ := url.Parse(n)
			link = u.RequestURI()
		}
	}
	if seen != total {
		t.Fatalf("paging policies saw %d of %d", seen, total)
	}
	if code, _ := e.do("GET", "/api/policies/roleManagementPolicies?$skiptoken=abc", adm, nil); code != 400 {
		t.Errorf("foreign skip token: %d", code)
	}
	// Collection options on a single resource are refused, not ignored.
	id := items[0].(map[string]any)["id"].(string)
	e.must(200, "GET", sched+"/"+id+"?$select=principalId", e.token(alice, true), nil)
	for _, q := range []string{"$top=1", "$filter=principalId eq 'x'", "$skiptoken=1"} {
		if code, out := e.do("GET", sched+"/"+id+"?"+q, e.token(alice, true), nil); code != 400 || !strings.Contains(errMsg(out), "collections only") {
			t.Errorf("one schedule with ?%s: %d %v", q, code, out)
		}
	}
	// $count on a single resource is refused.
	if code, _ := e.do("GET", "/api/policies/roleManagementPolicies/DirectoryRole_"+string(ga)+"?$count=true", adm, nil); code != 400 {
		t.Errorf("$count on one policy: %d", code)
	}
}
