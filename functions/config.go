package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/graph"
)

// config is everything the handler reads from app settings. Secrets come
// only from here (Key Vault references in Azure), never from code.
type config struct {
	Port              string
	StorageConnection string
	TablePrefix       string
	MemoryStore       bool
	Graph             graph.Config
	Auth              auth.Config
	Engine            engine.Config
}

// loadConfig reads the settings; every error names the setting.
func loadConfig(get func(string) string) (config, error) {
	c := config{Port: get("FUNCTIONS_CUSTOMHANDLER_PORT"), Engine: engine.DefaultConfig()}
	if c.Port == "" {
		c.Port = "8080"
	}
	if _, err := strconv.Atoi(c.Port); err != nil {
		return c, fmt.Errorf("FUNCTIONS_CUSTOMHANDLER_PORT: %q is not a port", c.Port)
	}
	c.StorageConnection = get("AzureWebJobsStorage")
	c.TablePrefix = get("JITPIM_TABLE_PREFIX")
	switch get("JITPIM_STORE") {
	case "", "table":
		if c.StorageConnection == "" {
			return c, fmt.Errorf("AzureWebJobsStorage: a storage connection string is required (UseDevelopmentStorage=true for Azurite)")
		}
	case "memory":
		c.MemoryStore = true
	default:
		return c, fmt.Errorf("JITPIM_STORE: must be table or memory")
	}

	c.Auth = auth.Config{Issuer: get("JITPIM_OIDC_ISSUER"), Audience: get("JITPIM_OIDC_AUDIENCE"), JWKSURL: get("JITPIM_OIDC_JWKS_URL")}
	if c.Auth.Issuer == "" || c.Auth.Audience == "" {
		return c, fmt.Errorf("JITPIM_OIDC_ISSUER and JITPIM_OIDC_AUDIENCE are required (e.g. https://login.microsoftonline.com/{tenant}/v2.0 and api://jitpim)")
	}

	c.Graph = graph.Config{
		BaseURL:            get("JITPIM_GRAPH_BASE_URL"),
		TenantID:           get("AZURE_TENANT_ID"),
		ClientID:           get("AZURE_CLIENT_ID"),
		ClientSecret:       get("AZURE_CLIENT_SECRET"),
		CertificatePath:    get("AZURE_CLIENT_CERTIFICATE_PATH"),
		UseManagedIdentity: get("JITPIM_GRAPH_MANAGED_IDENTITY") == "true",
		Anonymous:          get("JITPIM_GRAPH_ANONYMOUS") == "true",
		MailSender:         get("JITPIM_MAIL_SENDER"),
	}
	if c.Graph.Anonymous && !isLoopback(c.Graph.BaseURL) {
		return c, fmt.Errorf("JITPIM_GRAPH_ANONYMOUS: only allowed with a loopback JITPIM_GRAPH_BASE_URL (the local Graph simulator)")
	}

	e := &c.Engine
	e.AdminGroupID = get("JITPIM_ADMIN_GROUP_ID")
	if e.AdminGroupID != "" && !domain.IsGUID(e.AdminGroupID) {
		return c, fmt.Errorf("JITPIM_ADMIN_GROUP_ID: %q is not a group object id", e.AdminGroupID)
	}
	for _, id := range strings.Split(get("JITPIM_BREAK_GLASS_IDS"), ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if !domain.IsGUID(id) {
			return c, fmt.Errorf("JITPIM_BREAK_GLASS_IDS: %q is not an object id", id)
		}
		e.BreakGlass = append(e.BreakGlass, id)
	}
	if v := get("JITPIM_MFA_FRESHNESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 24*time.Hour {
			return c, fmt.Errorf("JITPIM_MFA_FRESHNESS: %q is not a duration up to 24h, e.g. 15m", v)
		}
		e.MFAFreshness = d
	}
	if v := get("JITPIM_APPROVER_MFA"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("JITPIM_APPROVER_MFA: must be true or false")
		}
		e.ApproverMFA = b
	}
	return c, nil
}

func isLoopback(u string) bool {
	for _, p := range []string{"http://127.0.0.1:", "http://localhost:", "http://[::1]:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}
