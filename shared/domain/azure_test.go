package domain

import (
	"strings"
	"testing"
)

const testSub = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"

func TestParseAzureScope(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" = refused
	}{
		{testSub, testSub},
		{strings.ToUpper(testSub[:14]) + testSub[14:] + "/", testSub},
		{testSub + "/resourceGroups/RG-Web", testSub + "/resourcegroups/rg-web"},
		{testSub + "/resourceGroups/rg-web/providers/Microsoft.Storage/storageAccounts/st1", testSub + "/resourcegroups/rg-web/providers/microsoft.storage/storageaccounts/st1"},
		{testSub + "/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/db1", testSub + "/resourcegroups/rg/providers/microsoft.sql/servers/s1/databases/db1"},
		{"/providers/Microsoft.Management/managementGroups/corp", "/providers/microsoft.management/managementgroups/corp"},
		{"/", ""},
		{"", ""},
		{"subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590", ""},
		{"/subscriptions/not-a-guid", ""},
		{testSub + "/resourceGroups", ""},
		{testSub + "//resourceGroups/rg", ""},
		{testSub + "/resourceGroups/../x", ""},
		{testSub + "/resourceGroups/rg|x", ""},
		{testSub + "/resourceGroups/rg x", ""},
		{testSub + "/resourceGroups/rg?x=1", ""},
		{testSub + "/resourceGroups/rg/providers/Microsoft.Storage", ""},
		{testSub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts", ""},
		{testSub + "/locks/x", ""},
		{"/providers/Microsoft.Management/managementGroups/corp/x", ""},
		{testSub + "/resourceGroups/" + strings.Repeat("a", 600), ""},
	} {
		got, err := ParseAzureScope("scope", tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseAzureScope(%q) = %q, want refused", tc.in, got)
			} else if ErrorCode(err) != CodeInvalid || !strings.Contains(err.Error(), "scope") {
				t.Errorf("ParseAzureScope(%q): %v, want an invalid-input error naming the field", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAzureScope(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAzureScopeCovers(t *testing.T) {
	rg := testSub + "/resourcegroups/rg"
	for _, tc := range []struct {
		parent, child string
		want          bool
	}{
		{testSub, rg, true},
		{rg, rg, true},
		{rg, testSub, false},
		{testSub + "/resourcegroups/r", rg, false}, // a prefix of the name is no parent
		{rg, rg + "/providers/microsoft.storage/storageaccounts/st1", true},
	} {
		if got := AzureScopeCovers(tc.parent, tc.child); got != tc.want {
			t.Errorf("AzureScopeCovers(%q, %q) = %v", tc.parent, tc.child, got)
		}
	}
}

func TestAzureTargetRoundTrips(t *testing.T) {
	tg := AzureRoleTarget(AzureRoleContributor, testSub+"/resourcegroups/rg-web")
	if err := tg.Validate(); err != nil {
		t.Fatal(err)
	}
	back, err := ParseTargetKey(tg.Key())
	if err != nil || back != tg {
		t.Fatalf("ParseTargetKey(Key()) = %+v, %v", back, err)
	}
	scope, back, _, ok := ParsePolicyID(PolicyID(tg))
	if !ok || scope != ScopeTarget || back != tg {
		t.Fatalf("ParsePolicyID(%q) = %v %+v %v", PolicyID(tg), scope, back, ok)
	}
	if strings.ContainsAny(PolicyID(tg), "/|\\#?") {
		t.Fatalf("policy id %q holds a character table keys and paths refuse", PolicyID(tg))
	}
	if n := TargetName(tg); n != "Contributor at resource group rg-web (subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590)" {
		t.Fatalf("TargetName = %q", n)
	}
	for _, bad := range []Target{
		AzureRoleTarget(AzureRoleContributor, testSub+"/resourceGroups/rg-web"), // not canonical
		AzureRoleTarget("owner", testSub),
		AzureRoleTarget(AzureRoleOwner, "/"),
	} {
		if err := bad.Validate(); ErrorCode(err) != CodeInvalid {
			t.Errorf("Validate(%+v) = %v, want invalid", bad, err)
		}
	}
}

func TestAzureAssignmentName(t *testing.T) {
	p1, p2 := ObjectID("c4049c7c-e12b-4472-b42d-c24808aa1054"), ObjectID("a47440fe-ede2-441f-a6c7-93ef77d456d2")
	rg := AzureRoleTarget(AzureRoleContributor, testSub+"/resourcegroups/rg")
	sub := AzureRoleTarget(AzureRoleContributor, testSub)
	n := AzureAssignmentName(p1, rg)
	if !IsGUID(n) || n[14] != '5' {
		t.Fatalf("name %q is not a version 5 GUID", n)
	}
	if AzureAssignmentName(p1, rg) != n {
		t.Fatal("the name must be deterministic")
	}
	for _, other := range []string{AzureAssignmentName(p2, rg), AzureAssignmentName(p1, sub),
		AzureAssignmentName(p1, AzureRoleTarget(AzureRoleOwner, rg.ResourceScope))} {
		if other == n {
			t.Fatal("different principals, scopes or roles must get different names")
		}
	}
}
