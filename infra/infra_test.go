package infra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// code drops // comments, so a property mentioned in a comment cannot
// satisfy a check.
func code(src string) string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if i := strings.Index(l, "//"); i >= 0 && !strings.Contains(l[:i], "'") {
			l = l[:i]
		} else if i >= 0 && strings.Count(l[:i], "'")%2 == 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// resources returns the body of every `resource sym 'Type@ver' = {…}` (or
// `= [for …: {…}]`) declaration of the given type, by brace matching.
func resources(src, typ string) map[string]string {
	re := regexp.MustCompile(`(?m)^resource (\w+) '` + regexp.QuoteMeta(typ) + `@[^']+'( existing)? = `)
	found := map[string]string{}
	for _, m := range re.FindAllStringSubmatchIndex(src, -1) {
		start := strings.Index(src[m[1]:], "{") + m[1]
		depth, inStr := 0, false
		for i := start; i < len(src); i++ {
			switch c := src[i]; {
			case c == '\'':
				inStr = !inStr
			case inStr:
			case c == '{':
				depth++
			case c == '}':
				depth--
				if depth == 0 {
					found[src[m[2]:m[3]]] = src[start : i+1]
					i = len(src)
				}
			}
		}
	}
	return found
}

func has(t *testing.T, what, body string, want ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(body), " ")
	for _, w := range want {
		if !strings.Contains(flat, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

func allBicep(t *testing.T) map[string]string {
	files, _ := filepath.Glob("*.bicep")
	if len(files) < 3 {
		t.Fatalf("expected main.bicep, graph.bicep and graph-permissions.bicep, found %v", files)
	}
	m := map[string]string{}
	for _, f := range files {
		m[f] = read(t, f)
	}
	return m
}

func TestNoStoredKeys(t *testing.T) {
	for f, src := range allBicep(t) {
		low := strings.ToLower(code(src))
		for _, bad := range []string{"listkeys", "accountkey=", "website_contentazurefileconnectionstring", "website_contentshare", "listsecrets", "instrumentationkey"} {
			if strings.Contains(low, bad) {
				t.Errorf("%s uses %q: keys would end up in app settings or deployment history", f, bad)
			}
		}
		if regexp.MustCompile(`name: 'AzureWebJobsStorage'`).MatchString(src) {
			t.Errorf("%s sets AzureWebJobsStorage (a connection string); use the identity-based __accountName settings", f)
		}
	}
}

func TestStorage(t *testing.T) {
	main := code(read(t, "main.bicep"))
	st := resources(main, "Microsoft.Storage/storageAccounts")
	if len(st) != 1 {
		t.Fatalf("want one storage account, got %d", len(st))
	}
	for _, body := range st {
		has(t, "storage", body, "allowSharedKeyAccess: false", "supportsHttpsTrafficOnly: true", "minimumTlsVersion: 'TLS1_2'", "allowBlobPublicAccess: false")
	}
	has(t, "app settings", main, "name: 'AzureWebJobsStorage__accountName'", "name: 'AzureWebJobsStorage__credential', value: 'managedidentity'")
}

func TestFunctionApp(t *testing.T) {
	main := code(read(t, "main.bicep"))
	for _, body := range resources(main, "Microsoft.Web/serverfarms") {
		has(t, "plan", body, "tier: 'FlexConsumption'", "name: 'FC1'")
	}
	sites := resources(main, "Microsoft.Web/sites")
	if len(sites) != 1 {
		t.Fatalf("want one site, got %d", len(sites))
	}
	for _, body := range sites {
		has(t, "site", body, "httpsOnly: true", "minTlsVersion: '1.2'", "ftpsState: 'Disabled'", "type: 'SystemAssigned'",
			"functionAppConfig:", "type: 'blobContainer'", "authentication: { type: 'SystemAssignedIdentity' }", "runtime: { name: 'custom'")
	}
	pol := resources(main, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
	seen := map[string]bool{}
	for _, body := range pol {
		flat := strings.Join(strings.Fields(body), " ")
		if !strings.Contains(flat, "allow: false") {
			t.Errorf("basic publishing policy allows: %s", flat)
		}
		for _, n := range []string{"ftp", "scm"} {
			if strings.Contains(flat, "name: '"+n+"'") {
				seen[n] = true
			}
		}
	}
	if !seen["ftp"] || !seen["scm"] {
		t.Errorf("basic publishing credentials must be off for ftp and scm, found %v", seen)
	}
}

// The identity's data roles, by built-in role definition id.
var wantRoles = map[string]string{
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",        // deployment container, host storage
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor", // jitpim state
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",         // Key Vault references
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",   // Entra-authenticated telemetry
}

func TestIdentityRoles(t *testing.T) {
	main := code(read(t, "main.bicep"))
	// var roles = { key: 'guid' ... }
	block := regexp.MustCompile(`(?s)var roles = \{(.*?)\n\}`).FindStringSubmatch(main)
	if block == nil {
		t.Fatal("main.bicep has no `var roles = {…}` map of role definition ids")
	}
	keyOf := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+): '([0-9a-f-]{36})'`).FindAllStringSubmatch(block[1], -1) {
		keyOf[m[2]] = m[1]
	}
	var got []string
	for g := range keyOf {
		got = append(got, g)
	}
	sort.Strings(got)
	if len(keyOf) != len(wantRoles) {
		t.Errorf("role ids %v; want exactly %v (least privilege: no more, no fewer)", got, wantRoles)
	}
	assigns := resources(main, "Microsoft.Authorization/roleAssignments")
	for guid, roleName := range wantRoles {
		key, ok := keyOf[guid]
		if !ok {
			t.Errorf("%s (%s) is not in var roles", roleName, guid)
			continue
		}
		n := 0
		for _, body := range assigns {
			if strings.Contains(body, "roles."+key+")") && strings.Contains(body, "principalId: app.identity.principalId") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d role assignments to the app's identity, want 1", roleName, n)
		}
	}
	for _, body := range assigns {
		if strings.Contains(body, "scope: resourceGroup()") || strings.Contains(body, "scope: subscription()") {
			t.Errorf("a role assignment is scoped wider than one resource: %s", body)
		}
	}
}

func TestKeyVaultAndSecrets(t *testing.T) {
	main := code(read(t, "main.bicep"))
	for _, body := range resources(main, "Microsoft.KeyVault/vaults") {
		has(t, "key vault", body, "enableRbacAuthorization: true", "enablePurgeProtection: true")
	}
	for _, s := range []string{"JITPIM_LINK_KEYS", "JITPIM_COOKIE_KEYS", "JITPIM_WEB_CLIENT_SECRET", "JITPIM_SERVICENOW_PASSWORD", "JITPIM_SERVICENOW_WEBHOOK_SECRETS"} {
		m := regexp.MustCompile(`\{ name: '` + s + `', value: ([^\n]*)\}`).FindStringSubmatch(main)
		if m == nil || !strings.Contains(m[1], "kvRef") {
			t.Errorf("%s must be a Key Vault reference, got %v", s, m)
		}
	}
	if !strings.Contains(main, "var kvRef = '@Microsoft.KeyVault(VaultName=${vault.name};SecretName='") {
		t.Error("kvRef is not a Key Vault reference to the vault this template creates")
	}
}

func TestWorkspaceInsights(t *testing.T) {
	main := code(read(t, "main.bicep"))
	if len(resources(main, "Microsoft.OperationalInsights/workspaces")) != 1 {
		t.Error("no Log Analytics workspace")
	}
	for _, body := range resources(main, "Microsoft.Insights/components") {
		has(t, "application insights", body, "WorkspaceResourceId: workspace.id", "DisableLocalAuth: true")
	}
}

func TestGraphDeclared(t *testing.T) {
	// v1.0 access tokens: only they carry amr, which the MFA rules read.
	has(t, "main.bicep", code(read(t, "main.bicep")), "'JITPIM_OIDC_ISSUER', value: 'https://sts.windows.net/${tenant().tenantId}/'")
	g := code(read(t, "graph.bicep"))
	has(t, "graph.bicep", g, "extension microsoftGraphV1", "value: 'access_as_user'", "redirectUris: [ '${publicUrl}/api/approvals/callback' ]", "requestedAccessTokenVersion: 1")
	if len(resources(g, "Microsoft.Graph/applications")) != 2 || len(resources(g, "Microsoft.Graph/servicePrincipals")) != 2 {
		t.Error("graph.bicep must declare both app registrations and their service principals")
	}
	p := code(read(t, "graph-permissions.bicep"))
	has(t, "graph-permissions.bicep", p, "extension microsoftGraphV1", "'RoleManagement.ReadWrite.Directory'", "'GroupMember.ReadWrite.All'", "'User.Read.All'",
		"enableMail ? [ 'Mail.Send' ]", "enableSignInLogs ? [ 'AuditLog.Read.All' ]", "Microsoft.Graph/appRoleAssignedTo@v1.0")
	for _, broad := range []string{"Directory.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"} {
		if strings.Contains(p, "'"+broad+"'") {
			t.Errorf("graph-permissions.bicep grants %s, broader than jitpim needs", broad)
		}
	}
	var cfg struct {
		Extensions map[string]string `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(read(t, "bicepconfig.json")), &cfg); err != nil || !strings.HasPrefix(cfg.Extensions["microsoftGraphV1"], "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:") {
		t.Errorf("bicepconfig.json must pin the Microsoft Graph v1.0 extension: %v %v", cfg, err)
	}
}

// TestSchedulesOnlyViaAppSettings: the Bicep has no timer schedule of its
// own. Every %JITPIM_*_SCHEDULE% a function.json reads is an app setting
// here, every such app setting is read by a function.json, and no
// function.json hard-codes a schedule.
func TestSchedulesOnlyViaAppSettings(t *testing.T) {
	main := code(read(t, "main.bicep"))
	settings := map[string]bool{}
	for _, m := range regexp.MustCompile(`name: '(JITPIM_\w+_SCHEDULE)'`).FindAllStringSubmatch(main, -1) {
		settings[m[1]] = true
	}
	files, _ := filepath.Glob("../functions/*/function.json")
	used := map[string]bool{}
	for _, f := range files {
		var fn struct {
			Bindings []struct {
				Type, Schedule string
			}
		}
		if err := json.Unmarshal([]byte(read(t, f)), &fn); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, b := range fn.Bindings {
			if b.Type != "timerTrigger" {
				continue
			}
			m := regexp.MustCompile(`^%(JITPIM_\w+_SCHEDULE)%$`).FindStringSubmatch(b.Schedule)
			if m == nil {
				t.Errorf("%s: schedule %q is not a %%JITPIM_*_SCHEDULE%% app setting", f, b.Schedule)
				continue
			}
			used[m[1]] = true
			if !settings[m[1]] {
				t.Errorf("%s reads %s, which main.bicep does not set", f, m[1])
			}
		}
	}
	for s := range settings {
		if !used[s] {
			t.Errorf("main.bicep sets %s, which no function.json reads", s)
		}
	}
	if len(used) == 0 {
		t.Error("no timer functions found")
	}
	// No literal NCRONTAB expression outside the schedule parameters.
	for _, l := range strings.Split(main, "\n") {
		if regexp.MustCompile(`'\S+ \S+ \S+ \S+ \S+ \S+'`).MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "param ") {
			t.Errorf("main.bicep has a schedule outside the schedule parameters: %s", strings.TrimSpace(l))
		}
	}
}
