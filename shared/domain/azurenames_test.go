package domain

import "testing"

// A scope is named by its subscription's or management group's display
// name when one is known, and by the id otherwise: never by a guess.
func TestAzureScopeNamed(t *testing.T) {
	const sub = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	const mg = "/providers/microsoft.management/managementgroups/contoso"
	for _, tc := range []struct {
		scope, head, name, named, unnamed string
	}{
		{sub, sub, "Contoso Production", "subscription Contoso Production", "subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590"},
		{sub + "/resourcegroups/rg-web", sub, "Contoso Production", "resource group rg-web (subscription Contoso Production)",
			"resource group rg-web (subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590)"},
		{sub + "/resourcegroups/rg-web/providers/microsoft.web/sites/shop", sub, "Contoso Production",
			"resource shop (" + sub + "/resourcegroups/rg-web/providers/microsoft.web/sites/shop, subscription Contoso Production)",
			"resource shop (" + sub + "/resourcegroups/rg-web/providers/microsoft.web/sites/shop)"},
		{mg, mg, "Contoso Group", "management group Contoso Group", "management group contoso"},
		{"", "", "", "", ""},
	} {
		if got := AzureScopeHead(tc.scope); got != tc.head {
			t.Errorf("AzureScopeHead(%q) = %q, want %q", tc.scope, got, tc.head)
		}
		if tc.scope == "" {
			continue
		}
		if got := AzureScopeNamed(tc.scope, tc.name); got != tc.named {
			t.Errorf("AzureScopeNamed(%q, %q) = %q, want %q", tc.scope, tc.name, got, tc.named)
		}
		if got := AzureScopeNamed(tc.scope, ""); got != tc.unnamed {
			t.Errorf("AzureScopeNamed(%q, \"\") = %q, want %q", tc.scope, got, tc.unnamed)
		}
	}
	tg := AzureRoleTarget(AzureRoleReader, sub+"/resourcegroups/rg-web")
	if got := AzureTargetName(tg, "Contoso Production"); got != "Reader at resource group rg-web (subscription Contoso Production)" {
		t.Errorf("AzureTargetName = %q", got)
	}
}
