package main

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func envWith(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestStorageSettings(t *testing.T) {
	for _, c := range []struct {
		name    string
		get     func(string) string
		wantURL string
		wantMI  bool
		wantErr string
	}{
		{name: "connection string", get: envWith("AzureWebJobsStorage", "UseDevelopmentStorage=true")},
		{name: "account name", get: envWith("AzureWebJobsStorage__accountName", "jitpimprod01"), wantURL: "https://jitpimprod01.table.core.windows.net"},
		{name: "managed identity", get: envWith("AzureWebJobsStorage__accountName", "jitpimprod01", "AzureWebJobsStorage__credential", "managedidentity"),
			wantURL: "https://jitpimprod01.table.core.windows.net", wantMI: true},
		{name: "table uri", get: envWith("AzureWebJobsStorage__tableServiceUri", "https://x.table.core.usgovcloudapi.net/", "AzureWebJobsStorage__credential", "managedidentity",
			"AzureWebJobsStorage__clientId", "11111111-1111-1111-1111-111111111111"), wantURL: "https://x.table.core.usgovcloudapi.net", wantMI: true},
		{name: "both", get: envWith("AzureWebJobsStorage", "UseDevelopmentStorage=true", "AzureWebJobsStorage__accountName", "jitpimprod01"), wantErr: "not both"},
		{name: "http uri", get: envWith("AzureWebJobsStorage__tableServiceUri", "http://x.table.core.windows.net"), wantErr: "https"},
		{name: "bad account", get: envWith("AzureWebJobsStorage__accountName", "Bad_Name"), wantErr: "accountName"},
		{name: "bad credential", get: envWith("AzureWebJobsStorage__accountName", "jitpimprod01", "AzureWebJobsStorage__credential", "connectionstring"), wantErr: "__credential"},
		{name: "credential alone", get: envWith("AzureWebJobsStorage__credential", "managedidentity"), wantErr: "need"},
	} {
		s, err := readStorageSettings(c.get)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || s.ServiceURL != c.wantURL || s.ManagedIdentity != c.wantMI {
			t.Errorf("%s: %+v, %v", c.name, s, err)
		}
	}
}

// TestStorageOpen: identity-based settings give the store a service URL
// and a managed identity credential, never a connection string; the
// connection string path gives no credential.
func TestStorageOpen(t *testing.T) {
	s, _ := readStorageSettings(envWith("AzureWebJobsStorage__accountName", "jitpimprod01", "AzureWebJobsStorage__credential", "managedidentity"))
	conn, opts, err := s.open("p")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := opts.Credential.(*azidentity.ManagedIdentityCredential); !ok || conn != "" || opts.ServiceURL != "https://jitpimprod01.table.core.windows.net" || opts.TablePrefix != "p" {
		t.Fatalf("conn %q, opts %+v", conn, opts)
	}
	s, _ = readStorageSettings(envWith("AzureWebJobsStorage", "UseDevelopmentStorage=true"))
	conn, opts, err = s.open("")
	if err != nil || conn != "UseDevelopmentStorage=true" || opts.Credential != nil || opts.ServiceURL != "" {
		t.Fatalf("conn %q, opts %+v, %v", conn, opts, err)
	}
	if _, err := loadConfig(envWith("JITPIM_OIDC_ISSUER", "x")); err == nil || !strings.Contains(err.Error(), "AzureWebJobsStorage__accountName") {
		t.Fatalf("no storage settings: %v", err)
	}
}
