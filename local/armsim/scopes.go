package armsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
)

// NameScope gives a subscription or management group (spelt any way Azure
// accepts) its display name, creating it, with no resource groups, when it
// is new: as creating or renaming it in the Azure portal would.
func (s *Server) NameScope(scope, displayName string) error {
	c, err := domain.ParseAzureScope("scope", scope)
	if err != nil || domain.AzureScopeHead(c) != c {
		return fmt.Errorf("armsim: %q is not a subscription or management group scope", scope)
	}
	id := c[strings.LastIndex(c, "/")+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(c, "/providers/") {
		if !slices.ContainsFunc(s.seed.ManagementGroups, func(m string) bool { return strings.EqualFold(m, id) }) {
			s.seed.ManagementGroups = append(s.seed.ManagementGroups, id)
		}
		if s.seed.ManagementGroupDisplayNames == nil {
			s.seed.ManagementGroupDisplayNames = map[string]string{}
		}
		s.seed.ManagementGroupDisplayNames[id] = displayName
		return nil
	}
	for i, sub := range s.seed.Subscriptions {
		if strings.EqualFold(sub.ID, id) {
			s.seed.Subscriptions[i].DisplayName = displayName
			return nil
		}
	}
	s.seed.Subscriptions = append(s.seed.Subscriptions, Subscription{ID: id, DisplayName: displayName})
	return nil
}

// getScope answers GET /subscriptions/{id} (Microsoft.Resources, with
// displayName at the top) and GET
// /providers/Microsoft.Management/managementGroups/{id} (displayName under
// properties), as ARM shapes them.
func (s *Server) getScope(r *http.Request) (int, any, *armError) {
	if r.URL.Query().Get("api-version") == "" {
		return 0, nil, errorf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	}
	scope, err := domain.ParseAzureScope("scope", r.URL.Path)
	if err != nil || domain.AzureScopeHead(scope) != scope {
		return 0, nil, errorf(http.StatusNotFound, "NotFound", "no route for %s %s", r.Method, r.URL.Path)
	}
	if aerr := s.checkScopeExists(scope); aerr != nil {
		return 0, nil, aerr
	}
	id := scope[strings.LastIndex(scope, "/")+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(scope, "/providers/") {
		name := id
		for k, v := range s.seed.ManagementGroupDisplayNames {
			if strings.EqualFold(k, id) {
				name = v
			}
		}
		return http.StatusOK, map[string]any{
			"id": "/providers/Microsoft.Management/managementGroups/" + id, "type": "Microsoft.Management/managementGroups", "name": id,
			"properties": map[string]any{"tenantId": s.seed.TenantID, "displayName": name},
		}, nil
	}
	for _, sub := range s.seed.Subscriptions {
		if strings.EqualFold(sub.ID, id) {
			return http.StatusOK, map[string]any{
				"id": "/subscriptions/" + sub.ID, "subscriptionId": sub.ID, "tenantId": s.seed.TenantID,
				"displayName": sub.DisplayName, "state": "Enabled",
			}, nil
		}
	}
	return 0, nil, errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
}
