// Package azurerbac is domain.AzureRBAC on Azure Resource Manager, through
// the official SDK (armauthorization v2, role assignments API 2022-04-01)
// and azidentity: the managed identity that reaches Graph reaches ARM too.
// It is the only package that compiles the armauthorization SDK.
//
// What it promises the engine: a role assignment is created under the name
// the engine gives (AddRoleAssignment is idempotent: 200 for the same
// assignment, 409 RoleAssignmentExists for the same role held under
// another name, both "exists"); deleting what is gone (404, or 204) is
// done; a 429 or 5xx is retried as Retry-After says, and a Retry-After
// longer than MaxRetryWait ends the call with CodeTransient so the sweep
// retries later instead of holding a timer. Nothing here lists assignments
// to delete them: deletes go by name only.
//
// The managed identity needs Microsoft.Authorization/roleAssignments/write
// and /delete at each managed scope: User Access Administrator, Role Based
// Access Control Administrator, or a custom role with those actions. To
// name subscriptions and management groups it reads them
// (Microsoft.Resources/subscriptions/read, which those roles' */read
// holds, and Microsoft.Management/managementGroups/read); without it
// people see the ids.
package azurerbac

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/jitpim/jitpim/shared/domain"
)

// DefaultEndpoint is Azure Resource Manager in the public cloud.
const DefaultEndpoint = "https://management.azure.com"

// Config configures a Client.
type Config struct {
	// Endpoint is ARM's root (default DefaultEndpoint): a sovereign cloud,
	// or the local simulator (http://127.0.0.1:7091).
	Endpoint string
	// Credential authenticates to ARM; nil builds one: the managed identity
	// (ManagedIdentityClientID for a user-assigned one) when
	// UseManagedIdentity, else azidentity's DefaultAzureCredential.
	Credential              azcore.TokenCredential
	UseManagedIdentity      bool
	ManagedIdentityClientID string
	// Anonymous sends a placeholder token: the local simulator only,
	// refused unless Endpoint is a loopback address.
	Anonymous bool
	// HTTPClient supplies the transport; nil: azcore's default.
	HTTPClient *http.Client
	// Timeout bounds one call, retries included (default 60s).
	Timeout time.Duration
	// MaxRetries is how often a 408/429/5xx is retried (default 3).
	MaxRetries int
	// MaxRetryWait bounds one wait between retries (default 30s); a
	// Retry-After longer than it ends the call with CodeTransient.
	MaxRetryWait time.Duration
}

// Client is safe for concurrent use.
type Client struct {
	ra *armauthorization.RoleAssignmentsClient
	// arm sends the reads the SDK has no module for here (display names),
	// through the same pipeline: credential, retries, endpoint.
	arm     *arm.Client
	timeout time.Duration
}

var _ domain.AzureRBAC = (*Client)(nil)

// New builds a Client. It does not call ARM; credentials are checked on
// first use.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	u, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "" {
		return nil, domain.Invalid("Endpoint", "%q is not an absolute http(s) URL without a path", cfg.Endpoint)
	}
	loopback := isLoopback(u.Hostname())
	if u.Scheme == "http" && !loopback {
		return nil, domain.Invalid("Endpoint", "plain http is only allowed to a loopback address (the local ARM simulator)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = 30 * time.Second
	}
	endpoint := u.Scheme + "://" + u.Host
	opts := &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: endpoint, Audience: endpoint},
			}},
			Retry: policy.RetryOptions{MaxRetries: int32(cfg.MaxRetries), RetryDelay: time.Second, MaxRetryDelay: cfg.MaxRetryWait},
		},
		// jitpim writes only Microsoft.Authorization, which is always registered.
		DisableRPRegistration: true,
	}
	if cfg.HTTPClient != nil {
		opts.Transport = cfg.HTTPClient
	}
	cred := cfg.Credential
	switch {
	case cfg.Anonymous:
		if !loopback {
			return nil, domain.Invalid("Anonymous", "anonymous access is only allowed to a loopback Endpoint (the local ARM simulator)")
		}
		cred, opts.InsecureAllowCredentialWithHTTP = simulatorCredential{}, true
	case cred == nil && cfg.UseManagedIdentity:
		var id azidentity.ManagedIDKind
		if cfg.ManagedIdentityClientID != "" {
			id = azidentity.ClientID(cfg.ManagedIdentityClientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: id})
	case cred == nil:
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	}
	if err != nil {
		return nil, domain.Wrap(domain.CodeInvalid, err, "Azure Resource Manager credential")
	}
	ra, err := armauthorization.NewRoleAssignmentsClient("", cred, opts)
	if err != nil {
		return nil, domain.Wrap(domain.CodeInvalid, err, "Azure Resource Manager client")
	}
	raw, err := arm.NewClient("jitpim/azurerbac", "v1.0.0", cred, opts)
	if err != nil {
		return nil, domain.Wrap(domain.CodeInvalid, err, "Azure Resource Manager client")
	}
	return &Client{ra: ra, arm: raw, timeout: cfg.Timeout}, nil
}

// simulatorCredential is the placeholder token sent to the local simulator.
type simulatorCredential struct{}

func (simulatorCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "local-arm-simulator", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// canonicalScope refuses a malformed scope before anything is sent (the
// SDK pastes the scope into the URL as it is) and folds it as Azure
// compares scopes.
func canonicalScope(scope string) (string, error) {
	return domain.ParseAzureScope("scope", scope)
}

// definitionID is the role definition's resource id ARM wants in a new
// assignment: under the scope's subscription, or at the tenant for a
// management group.
func definitionID(scope string, role domain.ObjectID) string {
	if strings.HasPrefix(scope, "/subscriptions/") {
		return "/subscriptions/" + strings.Split(scope, "/")[2] + "/providers/Microsoft.Authorization/roleDefinitions/" + string(role)
	}
	return "/providers/Microsoft.Authorization/roleDefinitions/" + string(role)
}

// AddRoleAssignment implements domain.AzureRBAC.
func (c *Client) AddRoleAssignment(ctx context.Context, scope, name string, principal, role domain.ObjectID) (bool, error) {
	scope, err := canonicalScope(scope)
	if err != nil {
		return false, err
	}
	if !domain.IsGUID(name) {
		return false, domain.Invalid("name", "a role assignment name must be a GUID, got %q", name)
	}
	if !principal.Valid() || !role.Valid() {
		return false, domain.Invalid("principalId", "principal and role definition must be object ids")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var raw *http.Response
	_, err = c.ra.Create(runtime.WithCaptureResponse(ctx, &raw), scope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			PrincipalID:      to.Ptr(string(principal)),
			RoleDefinitionID: to.Ptr(definitionID(scope, role)),
			// jitpim grants people; a wrong type is refused by ARM rather than guessed at.
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeUser),
			Description:   to.Ptr("jitpim just-in-time assignment"),
		},
	}, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusConflict && re.ErrorCode == "RoleAssignmentExists" {
			return false, nil
		}
		return false, mapError(err, "creating role assignment %s at %s", name, scope)
	}
	return raw == nil || raw.StatusCode == http.StatusCreated, nil
}

// RemoveRoleAssignment implements domain.AzureRBAC.
func (c *Client) RemoveRoleAssignment(ctx context.Context, scope, name string) error {
	scope, err := canonicalScope(scope)
	if err != nil {
		return err
	}
	if !domain.IsGUID(name) {
		return domain.Invalid("name", "a role assignment name must be a GUID, got %q", name)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err = c.ra.Delete(ctx, scope, name, nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		return nil // gone already: done
	}
	if err != nil {
		return mapError(err, "deleting role assignment %s at %s", name, scope)
	}
	return nil
}

// ListRoleAssignments implements domain.AzureRBAC.
func (c *Client) ListRoleAssignments(ctx context.Context, scope string, principal domain.ObjectID) ([]domain.AzureRoleAssignment, error) {
	scope, err := canonicalScope(scope)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var opts *armauthorization.RoleAssignmentsClientListForScopeOptions
	if principal != "" {
		if !principal.Valid() {
			return nil, domain.Invalid("principalId", "must be an object id, got %q", principal)
		}
		// The SDK pastes the filter into the query unencoded: encode it here.
		opts = &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr(url.QueryEscape("principalId eq '" + string(principal) + "'"))}
	}
	var out []domain.AzureRoleAssignment
	pager := c.ra.NewListForScopePager(scope, opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, mapError(err, "listing role assignments at %s", scope)
		}
		for _, ra := range page.Value {
			a, ok := fromARM(ra)
			if !ok {
				continue // not something jitpim can reason about (a malformed or foreign entry): skipped, never acted on
			}
			if principal == "" || a.PrincipalID == principal {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// fromARM reads an ARM role assignment into the domain's spelling.
func fromARM(ra *armauthorization.RoleAssignment) (domain.AzureRoleAssignment, bool) {
	if ra == nil || ra.Name == nil || ra.Properties == nil || ra.Properties.PrincipalID == nil || ra.Properties.RoleDefinitionID == nil {
		return domain.AzureRoleAssignment{}, false
	}
	p := ra.Properties
	scope := ""
	if p.Scope != nil {
		scope = *p.Scope
	} else if ra.ID != nil {
		scope, _, _ = strings.Cut(*ra.ID, "/providers/Microsoft.Authorization/roleAssignments/")
	}
	cs, err := domain.ParseAzureScope("scope", scope)
	def := *p.RoleDefinitionID
	def = def[strings.LastIndex(def, "/")+1:]
	pid, perr := domain.ParseObjectID("principalId", *p.PrincipalID)
	rid, rerr := domain.ParseObjectID("roleDefinitionId", def)
	if err != nil || perr != nil || rerr != nil || !domain.IsGUID(*ra.Name) {
		return domain.AzureRoleAssignment{}, false
	}
	return domain.AzureRoleAssignment{Name: strings.ToLower(*ra.Name), Scope: cs, PrincipalID: pid, RoleDefinitionID: rid}, true
}

// mapError turns an SDK error into the domain's codes: throttling and
// server errors (after the SDK's retries) are transient, so the sweep
// retries them with backoff; 403 is ARM saying jitpim's identity lacks the
// permission at that scope.
func mapError(err error, format string, args ...any) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		// No answer (a timeout, a broken connection): the call may or may not have landed.
		return domain.Wrap(domain.CodeTransient, err, format, args...)
	}
	code := domain.CodeInternal
	switch {
	case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500 || re.StatusCode == http.StatusRequestTimeout:
		code = domain.CodeTransient
	case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
		code = domain.CodeForbidden
	case re.StatusCode == http.StatusNotFound:
		code = domain.CodeNotFound
	case re.StatusCode == http.StatusConflict:
		code = domain.CodeConflict
	case re.StatusCode == http.StatusBadRequest:
		code = domain.CodeInvalid
	}
	return domain.Wrap(code, errors.New(re.ErrorCode), format+": Azure Resource Manager answered %d %s", append(args, re.StatusCode, re.ErrorCode)...)
}
