package azurerbac

import (
	"context"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/jitpim/jitpim/shared/domain"
)

// API versions of the reads behind ScopeDisplayName: Microsoft.Resources
// subscriptions (displayName at the top) and Microsoft.Management
// management groups (properties.displayName).
const (
	subscriptionsAPIVersion    = "2022-12-01"
	managementGroupsAPIVersion = "2021-04-01"
)

// ScopeDisplayName implements domain.AzureRBAC: GET the subscription or
// management group and read its displayName. armsubscriptions would be a
// module for one GET; the request goes through the role assignments
// client's pipeline options instead (credential, retries, endpoint).
func (c *Client) ScopeDisplayName(ctx context.Context, scope string) (string, error) {
	scope, err := canonicalScope(scope)
	if err != nil {
		return "", err
	}
	if domain.AzureScopeHead(scope) != scope {
		return "", domain.Invalid("scope", "only a subscription or a management group has a display name, got %q", scope)
	}
	version := subscriptionsAPIVersion
	if strings.HasPrefix(scope, "/providers/") {
		version = managementGroupsAPIVersion
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := runtime.NewRequest(ctx, http.MethodGet, runtime.JoinPaths(c.arm.Endpoint(), scope))
	if err != nil {
		return "", domain.Wrap(domain.CodeInternal, err, "reading %s", scope)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", version)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.arm.Pipeline().Do(req)
	if err == nil && !runtime.HasStatusCode(resp, http.StatusOK) {
		err = runtime.NewResponseError(resp)
	}
	if err != nil {
		return "", mapError(err, "reading %s", scope)
	}
	var body struct {
		DisplayName string `json:"displayName"`
		Properties  struct {
			DisplayName string `json:"displayName"`
		} `json:"properties"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
		return "", domain.Wrap(domain.CodeTransient, err, "reading %s: Azure Resource Manager's answer", scope)
	}
	name := strings.TrimSpace(body.DisplayName)
	if name == "" {
		name = strings.TrimSpace(body.Properties.DisplayName)
	}
	if name == "" {
		return "", domain.Errorf(domain.CodeNotFound, "%s has no display name", scope)
	}
	return name, nil
}
