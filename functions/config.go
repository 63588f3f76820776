package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/azurerbac"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/graph"
	"github.com/jitpim/jitpim/shared/servicenow"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// config is everything the handler reads from app settings. Secrets come
// only from here (Key Vault references in Azure), never from code.
type config struct {
	Port        string
	Storage     storageSettings
	TablePrefix string
	MemoryStore bool
	Graph       graph.Config
	// ARM is nil unless JITPIM_ARM_ENDPOINT is set: Azure resource roles
	// are then off and requests for them refused.
	ARM    *azurerbac.Config
	Auth   auth.Config
	Engine engine.Config
	// PublicURL is where people reach the app (links in mails).
	PublicURL string
	LinkKeys  []approvallink.Key
	Web       weblogin.Config
	// ServiceNow is off unless JITPIM_SERVICENOW_URL is set.
	ServiceNow     *servicenow.Config
	WebhookAuth    servicenow.WebhookAuth
	ServiceNowRule servicenow.Rules
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
	storage, err := readStorageSettings(get)
	if err != nil {
		return c, err
	}
	c.Storage = storage
	c.TablePrefix = get("JITPIM_TABLE_PREFIX")
	switch get("JITPIM_STORE") {
	case "", "table":
		if !c.Storage.configured() {
			return c, fmt.Errorf("AzureWebJobsStorage__accountName (managed identity) or AzureWebJobsStorage (a connection string; UseDevelopmentStorage=true for Azurite) is required")
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
		BaseURL:             get("JITPIM_GRAPH_BASE_URL"),
		TenantID:            get("AZURE_TENANT_ID"),
		ClientID:            get("AZURE_CLIENT_ID"),
		ClientSecret:        get("AZURE_CLIENT_SECRET"),
		CertificatePath:     get("AZURE_CLIENT_CERTIFICATE_PATH"),
		CertificatePEM:      get("AZURE_CLIENT_CERTIFICATE"),
		CertificatePassword: get("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
		UseManagedIdentity:  get("JITPIM_GRAPH_MANAGED_IDENTITY") == "true",
		Anonymous:           get("JITPIM_GRAPH_ANONYMOUS") == "true",
		MailSender:          get("JITPIM_MAIL_SENDER"),
	}
	if c.Graph.Anonymous && !isLoopback(c.Graph.BaseURL) {
		return c, fmt.Errorf("JITPIM_GRAPH_ANONYMOUS: only allowed with a loopback JITPIM_GRAPH_BASE_URL (the local Graph simulator)")
	}

	if ep := get("JITPIM_ARM_ENDPOINT"); ep != "" {
		// The same identity as Graph: a managed identity (user-assigned by
		// AZURE_CLIENT_ID) or what DefaultAzureCredential finds.
		c.ARM = &azurerbac.Config{Endpoint: ep, UseManagedIdentity: c.Graph.UseManagedIdentity,
			Anonymous: get("JITPIM_ARM_ANONYMOUS") == "true"}
		if c.ARM.UseManagedIdentity {
			c.ARM.ManagedIdentityClientID = c.Graph.ClientID
		}
		if c.ARM.Anonymous && !isLoopback(ep) {
			return c, fmt.Errorf("JITPIM_ARM_ANONYMOUS: only allowed with a loopback JITPIM_ARM_ENDPOINT (the local ARM simulator)")
		}
	} else if get("JITPIM_ARM_ANONYMOUS") != "" {
		return c, fmt.Errorf("JITPIM_ARM_ANONYMOUS: set JITPIM_ARM_ENDPOINT too (Azure resource roles are off without it)")
	}

	e := &c.Engine
	admins, err := domain.ParseOptionalObjectID("JITPIM_ADMIN_GROUP_ID", strings.TrimSpace(get("JITPIM_ADMIN_GROUP_ID")))
	if err != nil {
		return c, fmt.Errorf("JITPIM_ADMIN_GROUP_ID: %q is not a group object id", get("JITPIM_ADMIN_GROUP_ID"))
	}
	e.AdminGroupID = admins
	for _, id := range strings.Split(get("JITPIM_BREAK_GLASS_IDS"), ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		bg, err := domain.ParseObjectID("JITPIM_BREAK_GLASS_IDS", id)
		if err != nil {
			return c, fmt.Errorf("JITPIM_BREAK_GLASS_IDS: %q is not an object id", id)
		}
		e.BreakGlass = append(e.BreakGlass, bg)
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
	if v := get("JITPIM_ADMIN_MFA"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("JITPIM_ADMIN_MFA: must be true or false")
		}
		e.AdminMFA = b
	}
	if v := get("JITPIM_MIN_ACTIVATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 24*time.Hour || d%time.Second != 0 {
			return c, fmt.Errorf("JITPIM_MIN_ACTIVATION: %q is not a whole number of seconds from 1m to 24h, e.g. 5m", v)
		}
		e.MinActivation = d
	}
	for _, a := range strings.Split(get("JITPIM_ADMIN_MAIL"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			if !strings.Contains(a, "@") {
				return c, fmt.Errorf("JITPIM_ADMIN_MAIL: %q is not an e-mail address", a)
			}
			e.AdminRecipients = append(e.AdminRecipients, a)
		}
	}

	c.PublicURL = strings.TrimRight(get("JITPIM_PUBLIC_URL"), "/")
	if c.PublicURL == "" {
		return c, fmt.Errorf("JITPIM_PUBLIC_URL: the app's public base URL is required (links in mails point there)")
	}
	if !strings.HasPrefix(c.PublicURL, "https://") && !isLoopback(c.PublicURL+"/") {
		return c, fmt.Errorf("JITPIM_PUBLIC_URL: must be https (http only on loopback)")
	}
	keys, err := parseKeys("JITPIM_LINK_KEYS", get("JITPIM_LINK_KEYS"))
	if err != nil {
		return c, err
	}
	c.LinkKeys = keys
	cookieKeys, err := parseKeys("JITPIM_COOKIE_KEYS", get("JITPIM_COOKIE_KEYS"))
	if err != nil {
		return c, err
	}
	c.Web = weblogin.Config{Issuer: c.Auth.Issuer, ClientID: get("JITPIM_WEB_CLIENT_ID"), ClientSecret: get("JITPIM_WEB_CLIENT_SECRET"),
		RedirectURL: c.PublicURL + "/api/approvals/callback", SecureCookies: strings.HasPrefix(c.PublicURL, "https://"),
		TrustEasyAuth: get("JITPIM_TRUST_EASY_AUTH") == "true"}
	if c.Web.ClientID == "" {
		return c, fmt.Errorf("JITPIM_WEB_CLIENT_ID: the client id of the app registration approvers sign in to is required")
	}
	if v := get("JITPIM_WEB_ISSUER"); v != "" {
		c.Web.Issuer = v
	}
	if v := get("JITPIM_SESSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > weblogin.MaxSessionTTL {
			return c, fmt.Errorf("JITPIM_SESSION_TTL: %q is not a duration from 1m to %v, e.g. 8h", v, weblogin.MaxSessionTTL)
		}
		c.Web.SessionTTL = d
	}
	for _, k := range cookieKeys {
		c.Web.CookieKeys = append(c.Web.CookieKeys, k.Secret)
	}

	if u := get("JITPIM_SERVICENOW_URL"); u != "" {
		c.ServiceNow = &servicenow.Config{InstanceURL: u, User: get("JITPIM_SERVICENOW_USER"), Password: get("JITPIM_SERVICENOW_PASSWORD")}
		for _, s := range strings.Split(get("JITPIM_SERVICENOW_WEBHOOK_SECRETS"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				if len(s) < 32 {
					return c, fmt.Errorf("JITPIM_SERVICENOW_WEBHOOK_SECRETS: each secret needs at least 32 characters")
				}
				c.WebhookAuth.Secrets = append(c.WebhookAuth.Secrets, []byte(s))
			}
		}
		c.WebhookAuth.BasicUser, c.WebhookAuth.BasicPassword = get("JITPIM_SERVICENOW_WEBHOOK_USER"), get("JITPIM_SERVICENOW_WEBHOOK_PASSWORD")
		if len(c.WebhookAuth.Secrets) == 0 && (c.WebhookAuth.BasicUser == "" || c.WebhookAuth.BasicPassword == "") {
			return c, fmt.Errorf("JITPIM_SERVICENOW_WEBHOOK_SECRETS (or JITPIM_SERVICENOW_WEBHOOK_USER and _PASSWORD): ServiceNow webhooks need a secret")
		}
	}
	return c, nil
}

// parseKeys reads "id:secret,id:secret": the first signs, all verify, so a
// key can be rotated by putting the new one first.
func parseKeys(name, v string) ([]approvallink.Key, error) {
	var keys []approvallink.Key
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, secret, ok := strings.Cut(part, ":")
		if !ok || id == "" || len(secret) < 32 {
			return nil, fmt.Errorf("%s: give id:secret pairs with secrets of at least 32 characters", name)
		}
		keys = append(keys, approvallink.Key{ID: id, Secret: []byte(secret)})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: at least one id:secret key is required", name)
	}
	return keys, nil
}

func isLoopback(u string) bool {
	for _, p := range []string{"http://127.0.0.1:", "http://localhost:", "http://[::1]:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}
