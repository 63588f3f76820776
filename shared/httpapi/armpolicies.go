package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/wire"
)

// Azure's roleManagementPolicies and roleManagementPolicyAssignments below
// a scope, in ARM's shapes. Each is the same jitpim policy the Graph-shaped
// API serves (one per Azure role and scope, domain.PolicyID, read and
// changed through shared/policy): its rules are Graph's rules with
// ARM's spelling (ruleType for @odata.type; approvers as {userType, id}),
// converted here and applied by ApplyRule, so there is one reading of
// every rule. A policy is named by its jitpim policy id (Azure names
// them by GUID; clients take the name from a listing or an assignment), and
// its assignment by "{policy name}_{role definition id}", as Azure does.
// jitpim binds one policy to each role at each scope, so assignments are
// read, not created or deleted.

const (
	graphRuleTypePrefix = "#microsoft.graph.unified"
	armPolicyType       = "Microsoft.Authorization/roleManagementPolicies"
	armPolicyAssignType = "Microsoft.Authorization/roleManagementPolicyAssignments"
	// armUserTypeOwners is jitpim's userType for the other owners of the
	// resource (wire.ODataResourceOwners); Azure knows User and Group.
	armUserTypeOwners = "ResourceOwners"
)

type armPolicyProps struct {
	Scope                 string             `json:"scope"`
	DisplayName           string             `json:"displayName"`
	Description           string             `json:"description"`
	IsOrganizationDefault bool               `json:"isOrganizationDefault"`
	LastModifiedBy        *armPrincipal      `json:"lastModifiedBy,omitempty"`
	LastModifiedDateTime  *string            `json:"lastModifiedDateTime,omitempty"`
	Rules                 []map[string]any   `json:"rules"`
	EffectiveRules        []map[string]any   `json:"effectiveRules"`
	PolicyProperties      armPolicyScopeInfo `json:"policyProperties"`
}

type armPrincipal struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type armPolicyScopeInfo struct {
	Scope armNamed `json:"scope"`
}

type armNamed struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"`
}

type armPolicyAssignmentProps struct {
	Scope                      string           `json:"scope"`
	RoleDefinitionID           string           `json:"roleDefinitionId"`
	PolicyID                   string           `json:"policyId"`
	EffectiveRules             []map[string]any `json:"effectiveRules"`
	PolicyAssignmentProperties struct {
		Scope          armNamed `json:"scope"`
		RoleDefinition armNamed `json:"roleDefinition"`
		Policy         struct {
			ID                   string        `json:"id"`
			LastModifiedBy       *armPrincipal `json:"lastModifiedBy,omitempty"`
			LastModifiedDateTime *string       `json:"lastModifiedDateTime,omitempty"`
		} `json:"policy"`
	} `json:"policyAssignmentProperties"`
}

// armPolicy answers both collections.
func (s *Server) armPolicy(ctx context.Context, c *engine.Call, r *http.Request, p armPath) (int, any, error) {
	switch {
	case p.action != "":
	case p.name == "" && r.Method == http.MethodGet:
		return s.armListPolicies(ctx, c, p)
	case r.Method == http.MethodGet:
		t, err := armPolicyTarget(p)
		if err != nil {
			return 0, nil, err
		}
		pol, err := s.policies.GetPolicy(ctx, domain.PolicyID(t))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, armPolicyResource(pol, p.collection), nil
	case p.collection == armPolicies && r.Method == http.MethodPatch:
		return s.armUpdatePolicy(ctx, c, r, p)
	case p.collection == armPolicyAssignments && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
		return 0, nil, domain.Invalid("name", "jitpim binds one policy to each role at each scope; change the rules with PATCH %s/providers/Microsoft.Authorization/roleManagementPolicies/{name}", p.scope)
	}
	return 0, nil, domain.Errorf(domain.CodeNotFound, "%s is not served on %s", r.Method, r.URL.Path)
}

// armPolicyTarget reads the Azure role and scope a policy or assignment
// name stands for; a name for another scope, or for no Azure role, names
// nothing here.
func armPolicyTarget(p armPath) (domain.Target, error) {
	id := p.name
	if p.collection == armPolicyAssignments {
		i := strings.LastIndex(id, "_")
		if i < 0 {
			return domain.Target{}, domain.Errorf(domain.CodeNotFound, "%s %s does not exist at %s", p.collection, clip(p.name), p.scope)
		}
		role, err := domain.ParseObjectID("name", id[i+1:])
		id = id[:i]
		if _, t, _, ok := domain.ParsePolicyID(id); err != nil || !ok || t.RoleDefinitionID != role {
			return domain.Target{}, domain.Errorf(domain.CodeNotFound, "%s %s does not exist at %s", p.collection, clip(p.name), p.scope)
		}
	}
	scope, t, _, ok := domain.ParsePolicyID(id)
	if !ok || scope != domain.ScopeTarget || t.Kind != domain.TargetAzureRole || t.ResourceScope != p.scope {
		return domain.Target{}, domain.Errorf(domain.CodeNotFound, "%s %s does not exist at %s", p.collection, clip(p.name), p.scope)
	}
	return t, nil
}

// armListPolicies lists the policy of every Azure role jitpim knows at
// the scope: the built-in roles, each with its effective policy, and any
// other role with a policy of its own there.
func (s *Server) armListPolicies(ctx context.Context, c *engine.Call, p armPath) (int, any, error) {
	targets := make([]domain.Target, 0, len(domain.AzureBuiltInRoles))
	for _, role := range domain.AzureBuiltInRoles {
		targets = append(targets, domain.AzureRoleTarget(role.ID, p.scope))
	}
	stored, err := s.policies.ListPolicies(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	for _, pol := range stored {
		if t := pol.Target; pol.Scope == domain.ScopeTarget && t.Kind == domain.TargetAzureRole && t.ResourceScope == p.scope && !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	out := armList{Value: []armResource{}}
	for _, t := range targets {
		pol, err := s.policies.GetPolicy(ctx, domain.PolicyID(t))
		if err != nil {
			return 0, nil, err
		}
		out.Value = append(out.Value, armPolicyResource(pol, p.collection))
	}
	return http.StatusOK, out, nil
}

// armUpdatePolicy is ARM's PATCH of a policy: the rules sent replace
// theirs (each read as the Graph-shaped PATCH of that rule reads it); the
// read-only properties a client sends back from a GET are ignored.
func (s *Server) armUpdatePolicy(ctx context.Context, c *engine.Call, r *http.Request, p armPath) (int, any, error) {
	t, err := armPolicyTarget(p)
	if err != nil {
		return 0, nil, err
	}
	var env struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := readBody(r, []string{"properties", "id", "name", "type"}, &env); err != nil {
		return 0, nil, err
	}
	if len(env.Properties) == 0 {
		return 0, nil, domain.Invalid("properties", "is required")
	}
	var in struct {
		DisplayName *string           `json:"displayName"`
		Description *string           `json:"description"`
		Rules       []json.RawMessage `json:"rules"`
	}
	if err := decodeStrict(env.Properties, []string{"rules", "displayName", "description", "scope", "isOrganizationDefault",
		"effectiveRules", "lastModifiedBy", "lastModifiedDateTime", "policyProperties"}, &in); err != nil {
		return 0, nil, err
	}
	pol, err := s.policies.UpdatePolicy(ctx, c, domain.PolicyID(t), func(pol *domain.Policy) error {
		if in.DisplayName != nil {
			if len(*in.DisplayName) > 256 {
				return domain.Invalid("properties.displayName", "at most 256 characters")
			}
			pol.DisplayName = *in.DisplayName
		}
		if in.Description != nil {
			if len(*in.Description) > 1024 {
				return domain.Invalid("properties.description", "at most 1024 characters")
			}
			pol.Description = *in.Description
		}
		for i, raw := range in.Rules {
			at := fmt.Sprintf("properties.rules[%d]", i)
			id, data, err := graphRuleOf(at, raw)
			if err != nil {
				return err
			}
			if err := ApplyRule(pol, id, data); err != nil {
				return within(at, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, armPolicyResource(pol, armPolicies), nil
}

// within names the rule a refusal of ApplyRule was about.
func within(at string, err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalid {
		return err
	}
	field := at
	if de.Field != "" {
		field += "." + de.Field
	}
	return domain.Invalid(field, "%s", strings.TrimPrefix(de.Message, de.Field+": "))
}

// armPolicyResource writes a policy as ARM's roleManagementPolicy, or as
// the roleManagementPolicyAssignment binding it to its role and scope.
func armPolicyResource(pol domain.Policy, collection string) armResource {
	t := pol.Target
	rules := armRulesOf(pol)
	name := pol.ID
	scopeInfo := armNamed{ID: t.ResourceScope, DisplayName: domain.AzureScopeName(t.ResourceScope), Type: armScopeType(t.ResourceScope)}
	var by *armPrincipal
	if pol.ModifiedBy != "" {
		by = &armPrincipal{ID: string(pol.ModifiedBy), Type: "User"}
	}
	policyID := t.ResourceScope + "/providers/Microsoft.Authorization/" + armPolicies + "/" + name
	if collection == armPolicyAssignments {
		props := armPolicyAssignmentProps{Scope: t.ResourceScope, RoleDefinitionID: armRoleDefinitionRef(t.ResourceScope, t.RoleDefinitionID),
			PolicyID: policyID, EffectiveRules: rules}
		pa := &props.PolicyAssignmentProperties
		pa.Scope = scopeInfo
		pa.RoleDefinition = armNamed{ID: props.RoleDefinitionID, DisplayName: string(t.RoleDefinitionID), Type: "CustomRole"}
		if r, ok := domain.AzureBuiltInRoleByID(t.RoleDefinitionID); ok {
			pa.RoleDefinition.DisplayName, pa.RoleDefinition.Type = r.DisplayName, "BuiltInRole"
		}
		pa.Policy.ID, pa.Policy.LastModifiedBy, pa.Policy.LastModifiedDateTime = policyID, by, armTime(pol.ModifiedAt)
		name += "_" + string(t.RoleDefinitionID)
		return armResource{ID: t.ResourceScope + "/providers/Microsoft.Authorization/" + armPolicyAssignments + "/" + name, Name: name,
			Type: armPolicyAssignType, Properties: props}
	}
	display := pol.DisplayName
	if display == "" {
		display = domain.TargetName(t)
	}
	props := armPolicyProps{Scope: t.ResourceScope, DisplayName: display, Description: pol.Description, LastModifiedBy: by,
		LastModifiedDateTime: armTime(pol.ModifiedAt), Rules: rules, EffectiveRules: rules, PolicyProperties: armPolicyScopeInfo{Scope: scopeInfo}}
	return armResource{ID: policyID, Name: name, Type: armPolicyType, Properties: props}
}

// armScopeType is how Azure types a scope in policy properties.
func armScopeType(scope string) string {
	switch n := strings.Count(scope, "/"); {
	case strings.HasPrefix(scope, "/providers/"):
		return "managementgroup"
	case n == 2:
		return "subscription"
	case n == 4:
		return "resourcegroup"
	}
	return "resource"
}

// armRulesOf writes a policy's rules (rulesOf, Graph's) in ARM's spelling.
func armRulesOf(pol domain.Policy) []map[string]any {
	var out []map[string]any
	for _, r := range rulesOf(pol) {
		data, err := json.Marshal(r)
		if err != nil {
			panic(err) // wire.Rule always marshals
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			panic(err)
		}
		delete(m, "@odata.type")
		m["ruleType"] = strings.TrimPrefix(r.ODataType, graphRuleTypePrefix)
		if tg, ok := m["target"].(map[string]any); ok {
			tg["targetObjects"] = []any{}
		}
		_ = eachApprover(m, func(u map[string]any) error { // never fails: f returns nil
			id, kind := u["userId"], "User"
			switch u["@odata.type"] {
			case wire.ODataGroupMembers:
				id, kind = u["groupId"], "Group"
			case wire.ODataResourceOwners:
				id, kind = "", armUserTypeOwners
			}
			clear(u)
			u["userType"], u["isBackup"] = kind, false
			if id != "" {
				u["id"] = id
			}
			return nil
		})
		out = append(out, m)
	}
	return out
}

// graphRuleOf reads one ARM rule as the Graph-shaped PATCH of that rule.
func graphRuleOf(at string, raw json.RawMessage) (string, []byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return "", nil, domain.Invalid(at, "must be a rule object")
	}
	id, _ := m["id"].(string)
	if id == "" {
		return "", nil, domain.Invalid(at+".id", "is required (e.g. Approval_EndUser_Assignment)")
	}
	ruleType, _ := m["ruleType"].(string)
	if !strings.HasPrefix(ruleType, "RoleManagementPolicy") || !strings.HasSuffix(ruleType, "Rule") {
		return "", nil, domain.Invalid(at+".ruleType", "must be a RoleManagementPolicy…Rule type, got %q", clip(ruleType))
	}
	delete(m, "ruleType")
	m["@odata.type"] = graphRuleTypePrefix + ruleType
	if tg, ok := m["target"].(map[string]any); ok {
		delete(tg, "targetObjects")
	}
	err := eachApprover(m, func(u map[string]any) error {
		kind, _ := u["userType"].(string)
		id, _ := u["id"].(string)
		desc := u["description"]
		clear(u)
		switch {
		case strings.EqualFold(kind, "User"):
			u["@odata.type"], u["userId"] = wire.ODataSingleUser, id
		case strings.EqualFold(kind, "Group"):
			u["@odata.type"], u["groupId"] = wire.ODataGroupMembers, id
		case strings.EqualFold(kind, armUserTypeOwners):
			if id != "" {
				return domain.Invalid(at+".setting.approvalStages.userType", "%s names nobody: the owners are read from Azure when an activation is requested", armUserTypeOwners)
			}
			u["@odata.type"] = wire.ODataResourceOwners
		default:
			return domain.Invalid(at+".setting.approvalStages.userType", "must be User, Group or %s, got %q", armUserTypeOwners, clip(kind))
		}
		if desc != nil {
			u["description"] = desc
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	data, err := json.Marshal(m)
	return id, data, err
}

// eachApprover calls f on every approver of an approval rule's stages.
func eachApprover(rule map[string]any, f func(map[string]any) error) error {
	set, _ := rule["setting"].(map[string]any)
	stages, _ := set["approvalStages"].([]any)
	for _, st := range stages {
		stage, _ := st.(map[string]any)
		for _, k := range []string{"primaryApprovers", "escalationApprovers"} {
			us, _ := stage[k].([]any)
			for _, u := range us {
				if m, ok := u.(map[string]any); ok {
					if err := f(m); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
