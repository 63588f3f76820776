package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jitpim/jitpim/shared/tablestore"
)

// storageSettings says how the handler reaches Table Storage. It follows the
// Functions host's own convention for AzureWebJobsStorage, so the one
// storage account the host uses is configured once: either a connection
// string (Azurite and development only, since it carries the account key)
// or identity-based settings:
//
//	AzureWebJobsStorage__accountName       account name; tables at https://<name>.table.core.windows.net
//	AzureWebJobsStorage__tableServiceUri   or the table endpoint itself (other clouds, private endpoints)
//	AzureWebJobsStorage__credential        "managedidentity": use the app's managed identity only
//	AzureWebJobsStorage__clientId          a user-assigned identity's client id (with managedidentity)
type storageSettings struct {
	ConnectionString string
	ServiceURL       string
	// ManagedIdentity restricts the credential to the app's managed
	// identity; otherwise DefaultAzureCredential chooses (managed identity
	// in Azure, the developer's az login on a workstation).
	ManagedIdentity bool
	ClientID        string
}

// readStorageSettings reads the settings; it builds no credential, so
// loadConfig stays free of side effects.
func readStorageSettings(get func(string) string) (storageSettings, error) {
	s := storageSettings{ConnectionString: strings.TrimSpace(get("AzureWebJobsStorage"))}
	account := strings.TrimSpace(get("AzureWebJobsStorage__accountName"))
	tableURI := strings.TrimRight(strings.TrimSpace(get("AzureWebJobsStorage__tableServiceUri")), "/")
	identity := account != "" || tableURI != ""
	if s.ConnectionString != "" && identity {
		// Two ways to the account is ambiguous for a Tier-0 store: say so
		// rather than pick one.
		return s, fmt.Errorf("AzureWebJobsStorage: set either the connection string or the identity-based AzureWebJobsStorage__* settings, not both")
	}
	switch {
	case tableURI != "":
		u, err := url.Parse(tableURI)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return s, fmt.Errorf("AzureWebJobsStorage__tableServiceUri: %q is not an https URL", tableURI)
		}
		s.ServiceURL = tableURI
	case account != "":
		if !validAccountName(account) {
			return s, fmt.Errorf("AzureWebJobsStorage__accountName: %q is not a storage account name (3-24 lower-case letters and digits)", account)
		}
		s.ServiceURL = "https://" + account + ".table.core.windows.net"
	}
	switch c := strings.ToLower(strings.TrimSpace(get("AzureWebJobsStorage__credential"))); c {
	case "":
	case "managedidentity":
		s.ManagedIdentity = true
	default:
		return s, fmt.Errorf("AzureWebJobsStorage__credential: %q is not supported (use managedidentity, or leave it unset)", c)
	}
	s.ClientID = strings.TrimSpace(get("AzureWebJobsStorage__clientId"))
	if (s.ManagedIdentity || s.ClientID != "") && !identity {
		return s, fmt.Errorf("AzureWebJobsStorage__credential and __clientId need AzureWebJobsStorage__accountName or __tableServiceUri")
	}
	return s, nil
}

// configured reports whether any way to the account was given.
func (s storageSettings) configured() bool { return s.ConnectionString != "" || s.ServiceURL != "" }

// open returns what tablestore.New and OpenAuditReader take: the
// connection string, or the service URL with a credential.
func (s storageSettings) open(prefix string) (string, tablestore.Options, error) {
	opts := tablestore.Options{TablePrefix: prefix}
	if s.ServiceURL == "" {
		return s.ConnectionString, opts, nil
	}
	cred, err := s.credential()
	if err != nil {
		return "", opts, err
	}
	opts.ServiceURL, opts.Credential = s.ServiceURL, cred
	return "", opts, nil
}

func (s storageSettings) credential() (azcore.TokenCredential, error) {
	if s.ManagedIdentity {
		var o azidentity.ManagedIdentityCredentialOptions
		if s.ClientID != "" {
			o.ID = azidentity.ClientID(s.ClientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(&o)
		if err != nil {
			return nil, fmt.Errorf("AzureWebJobsStorage__credential: managed identity: %w", err)
		}
		return cred, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("AzureWebJobsStorage__accountName: no Azure credential available: %w", err)
	}
	return cred, nil
}

func validAccountName(n string) bool {
	if len(n) < 3 || len(n) > 24 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
