package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// PIM alerts in Graph's shapes (unifiedRoleManagementAlert,
// unifiedRoleManagementAlertDefinition, unifiedRoleManagementAlertIncident),
// for admins only. jitpim keeps one alert per definition for the tenant
// scope, so an alert's id is its definition's id.
const rma = "/api/identityGovernance/roleManagementAlerts/"

// alertScopeType is Graph's scopeType for directory roles; jitpim's alerts
// cover the tenant ("/") only.
const alertScopeType = "DirectoryRole"

// alertRoutes registers the PIM alert endpoints.
func (s *Server) alertRoutes() {
	s.handle("GET "+rma+"alerts", s.listAlerts)
	s.handle("POST "+rma+"alerts/refresh", s.refreshAllAlerts)
	s.handle("GET "+rma+"alerts/{id}", s.getAlert)
	s.handle("GET "+rma+"alerts/{id}/alertIncidents", s.listAlertIncidents)
	s.handle("GET "+rma+"alerts/{id}/alertDefinition", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		return s.getAlertDefinition(ctx, c, r.PathValue("id"))
	})
	s.handle("POST "+rma+"alerts/{id}/dismiss", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if err := s.alerts.DismissAlert(ctx, c, r.PathValue("id")); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
	s.handle("POST "+rma+"alerts/{id}/refresh", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if err := s.alerts.RefreshAlert(ctx, c, r.PathValue("id")); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
	s.handle("GET "+rma+"alertDefinitions", s.listAlertDefinitions)
	s.handle("GET "+rma+"alertDefinitions/{id}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		return s.getAlertDefinition(ctx, c, r.PathValue("id"))
	})
}

type alertOut struct {
	ID                   string             `json:"id"`
	AlertDefinitionID    string             `json:"alertDefinitionId"`
	ScopeID              string             `json:"scopeId"`
	ScopeType            string             `json:"scopeType"`
	IncidentCount        int                `json:"incidentCount"`
	IsActive             bool               `json:"isActive"`
	LastModifiedDateTime *string            `json:"lastModifiedDateTime"`
	LastScannedDateTime  *string            `json:"lastScannedDateTime"`
	SeverityLevel        string             `json:"severityLevel"` // jitpim: the severity this alert was raised with
	FirstSeenDateTime    *string            `json:"firstSeenDateTime,omitempty"`
	DismissedBy          string             `json:"dismissedBy,omitempty"`
	DismissedDateTime    *string            `json:"dismissedDateTime,omitempty"`
	AlertDefinition      *alertDefOut       `json:"alertDefinition,omitempty"`
	AlertIncidents       []alertIncidentOut `json:"alertIncidents,omitempty"`
}

type alertIncidentOut struct {
	OdataType         string            `json:"@odata.type"`
	ID                string            `json:"id"`
	Description       string            `json:"description"`
	AssigneeID        string            `json:"assigneeId,omitempty"`
	RoleDefinitionID  string            `json:"roleDefinitionId,omitempty"`
	RoleDisplayName   string            `json:"roleDisplayName,omitempty"`
	DirectoryScopeID  string            `json:"directoryScopeId,omitempty"`
	GroupID           string            `json:"groupId,omitempty"`
	AccessID          string            `json:"accessId,omitempty"`
	FirstSeenDateTime *string           `json:"firstSeenDateTime"`
	Details           map[string]string `json:"details,omitempty"`
}

type alertDefOut struct {
	ID              string `json:"id"`
	DisplayName     string `json:"displayName"`
	Description     string `json:"description"`
	SeverityLevel   string `json:"severityLevel"`
	SecurityImpact  string `json:"securityImpact"`
	MitigationSteps string `json:"mitigationSteps"`
	HowToPrevent    string `json:"howToPrevent"`
	IsRemediatable  bool   `json:"isRemediatable"`
	IsConfigurable  bool   `json:"isConfigurable"`
	ScopeID         string `json:"scopeId"`
	ScopeType       string `json:"scopeType"`
}

func alertDefJSON(d alert.Definition) alertDefOut {
	configurable := d.ID != domain.AlertRevokeFailing && d.ID != domain.AlertAccessReviewAutoDeny
	return alertDefOut{ID: d.ID, DisplayName: d.DisplayName, Description: d.Description, SeverityLevel: d.Severity,
		SecurityImpact: d.SecurityImpact, MitigationSteps: d.MitigationSteps, HowToPrevent: d.HowToPrevent,
		IsRemediatable: d.IsRemediatable, IsConfigurable: configurable, ScopeID: domain.TenantScope, ScopeType: alertScopeType}
}

func incidentJSON(inc domain.AlertIncident) alertIncidentOut {
	out := alertIncidentOut{OdataType: "#microsoft.graph.unifiedRoleManagementAlertIncident", ID: inc.ID, Description: inc.Description,
		AssigneeID: string(inc.PrincipalID), FirstSeenDateTime: timeJSON(inc.FirstSeen), Details: inc.Details}
	switch inc.Target.Kind {
	case domain.TargetRole:
		out.RoleDefinitionID, out.DirectoryScopeID = string(inc.Target.RoleDefinitionID), inc.Target.DirectoryScopeID
		if r, ok := domain.BuiltInRoleByID(inc.Target.RoleDefinitionID); ok {
			out.RoleDisplayName = r.DisplayName
		}
	case domain.TargetGroup:
		out.GroupID, out.AccessID = string(inc.Target.GroupID), inc.Target.AccessID
	case domain.TargetAzureRole:
		// An Azure role: its scope is in details (scope), as Graph has no property for it.
		out.RoleDefinitionID = string(inc.Target.RoleDefinitionID)
		if r, ok := domain.AzureBuiltInRoleByID(inc.Target.RoleDefinitionID); ok {
			out.RoleDisplayName = r.DisplayName
		}
	}
	return out
}

func alertJSON(a domain.Alert, withIncidents, withDefinition bool) alertOut {
	out := alertOut{ID: a.ID, AlertDefinitionID: a.DefinitionID, ScopeID: domain.TenantScope, ScopeType: alertScopeType,
		IncidentCount: a.IncidentCount, IsActive: a.IsActive, LastModifiedDateTime: timeJSON(a.LastModified),
		LastScannedDateTime: timeJSON(a.LastScanned), SeverityLevel: a.Severity, FirstSeenDateTime: timeJSON(a.FirstSeen),
		DismissedBy: string(a.DismissedBy), DismissedDateTime: timeJSON(a.DismissedAt)}
	if withIncidents {
		out.AlertIncidents = make([]alertIncidentOut, 0, len(a.Incidents))
		for _, inc := range a.Incidents {
			out.AlertIncidents = append(out.AlertIncidents, incidentJSON(inc))
		}
	}
	if withDefinition {
		if d, ok := alert.DefinitionByID(a.DefinitionID); ok {
			dj := alertDefJSON(d)
			out.AlertDefinition = &dj
		}
	}
	return out
}

// alertExpand reads $expand: alertIncidents and alertDefinition.
func alertExpand(r *http.Request) (incidents, definition bool, err error) {
	for _, e := range strings.Split(r.URL.Query().Get("$expand"), ",") {
		switch strings.TrimSpace(e) {
		case "":
		case "alertIncidents":
			incidents = true
		case "alertDefinition":
			definition = true
		default:
			return false, false, domain.Invalid("$expand", "can expand alertIncidents and alertDefinition, not %q", strings.TrimSpace(e))
		}
	}
	return incidents, definition, nil
}

// alertFilter reads $filter. Graph requires `scopeId eq '/' and scopeType
// eq 'DirectoryRole'` on this collection; jitpim accepts it (and no
// filter) and refuses other scopes rather than answer for a scope it does
// not cover. alertDefinitionId and isActive narrow the list.
func alertFilter(r *http.Request) (func(domain.Alert) bool, error) {
	conds, err := ParseFilter(r.URL.Query().Get("$filter"), []string{"scopeId", "scopeType", "alertDefinitionId", "isActive"})
	if err != nil {
		return nil, err
	}
	var tests []func(domain.Alert) bool
	for _, c := range conds {
		switch c.Property {
		case "scopeId":
			if c.Value != domain.TenantScope {
				return nil, domain.Invalid("$filter", "jitpim's alerts cover scopeId '/' only, not %q", c.Value)
			}
		case "scopeType":
			if !domain.EnumMatches(alertScopeType, c.Value) {
				return nil, domain.Invalid("$filter", "jitpim's alerts have scopeType 'DirectoryRole', not %q", c.Value)
			}
		case "alertDefinitionId":
			v := c.Value
			tests = append(tests, func(a domain.Alert) bool { return a.DefinitionID == v })
		case "isActive":
			var want bool
			switch strings.ToLower(c.Value) {
			case "true":
				want = true
			case "false":
			default:
				return nil, domain.Invalid("$filter", "isActive is true or false, not %q", c.Value)
			}
			tests = append(tests, func(a domain.Alert) bool { return a.IsActive == want })
		}
	}
	return func(a domain.Alert) bool {
		for _, t := range tests {
			if !t(a) {
				return false
			}
		}
		return true
	}, nil
}

func (s *Server) listAlerts(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	keep, err := alertFilter(r)
	if err != nil {
		return 0, nil, err
	}
	inc, def, err := alertExpand(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.alerts.ListAlerts(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	out := make([]alertOut, 0, len(list))
	for _, a := range list {
		if keep(a) {
			out = append(out, alertJSON(a, inc, def))
		}
	}
	return http.StatusOK, collection{Value: out}, nil
}

func (s *Server) getAlert(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	inc, def, err := alertExpand(r)
	if err != nil {
		return 0, nil, err
	}
	a, err := s.alerts.GetAlert(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, alertJSON(a, inc, def), nil
}

func (s *Server) listAlertIncidents(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	a, err := s.alerts.GetAlert(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, collection{Value: alertJSON(a, true, false).AlertIncidents}, nil
}

// refreshAllAlerts is Graph's collection action: POST alerts/refresh with
// {"scopeId": "/", "scopeType": "DirectoryRole"}; it runs every check now.
func (s *Server) refreshAllAlerts(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	var in struct {
		ScopeID   *string `json:"scopeId"`
		ScopeType *string `json:"scopeType"`
	}
	if r.ContentLength != 0 {
		if err := readBody(r, []string{"scopeId", "scopeType"}, &in); err != nil {
			return 0, nil, err
		}
	}
	if in.ScopeID != nil && *in.ScopeID != domain.TenantScope {
		return 0, nil, domain.Invalid("scopeId", "jitpim's alerts cover scopeId '/' only")
	}
	if in.ScopeType != nil && !domain.EnumMatches(alertScopeType, *in.ScopeType) {
		return 0, nil, domain.Invalid("scopeType", "jitpim's alerts have scopeType 'DirectoryRole'")
	}
	if err := s.alerts.RefreshAlert(ctx, c, ""); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) listAlertDefinitions(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	defs, err := s.alerts.ListAlertDefinitions(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	out := make([]alertDefOut, 0, len(defs))
	for _, d := range defs {
		out = append(out, alertDefJSON(d))
	}
	return http.StatusOK, collection{Value: out}, nil
}

func (s *Server) getAlertDefinition(ctx context.Context, c *engine.Call, id string) (int, any, error) {
	defs, err := s.alerts.ListAlertDefinitions(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	for _, d := range defs {
		if d.ID == id {
			return http.StatusOK, alertDefJSON(d), nil
		}
	}
	return 0, nil, domain.Errorf(domain.CodeNotFound, "alert definition %s does not exist", id)
}
