package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/wire"
)

func bp(b bool) *bool     { return &b }
func sp(s string) *string { return &s }
func lp(l []string) *[]string {
	if l == nil {
		l = []string{}
	}
	return &l
}

func target(caller, level string) *wire.RuleTarget {
	return &wire.RuleTarget{Caller: caller, Operations: []string{"All"}, Level: level, InheritableSettings: []string{}, EnforcedSettings: []string{}}
}

// rulesOf writes a policy as Graph's rule list.
func rulesOf(p domain.Policy) []wire.Rule {
	a := p.Activation
	var enabled []string
	if a.RequireMFA {
		enabled = append(enabled, "MultiFactorAuthentication")
	}
	if a.RequireJustification {
		enabled = append(enabled, "Justification")
	}
	if a.RequireTicket {
		enabled = append(enabled, "Ticketing")
	}
	mode := a.ApprovalMode
	if mode == "" {
		mode = domain.ApprovalNone
	}
	setting := &wire.ApprovalSettings{IsApprovalRequired: a.ApprovalRequired, IsRequestorJustificationRequired: a.RequireJustification,
		ApprovalMode: mode, ApprovalStages: []wire.UnifiedApprovalStage{}}
	for _, st := range a.Stages {
		setting.ApprovalStages = append(setting.ApprovalStages, wire.UnifiedApprovalStage{ApprovalStageTimeOutInDays: st.TimeoutDays,
			IsApproverJustificationRequired: st.ApproverJustificationRequired, EscalationTimeInMinutes: st.EscalationMinutes,
			IsEscalationEnabled: st.EscalationEnabled, PrimaryApprovers: usersOf(st.PrimaryApprovers), EscalationApprovers: usersOf(st.EscalationApprovers)})
	}
	rules := []wire.Rule{
		{ODataType: wire.ODataExpirationRule, ID: "Expiration_EndUser_Assignment", Target: target("EndUser", "Assignment"),
			IsExpirationRequired: bp(true), MaximumDuration: sp(domain.FormatISODuration(a.MaxDuration))},
		{ODataType: wire.ODataEnablementRule, ID: "Enablement_EndUser_Assignment", Target: target("EndUser", "Assignment"), EnabledRules: lp(enabled),
			IsTicketValidationRequired: bp(a.ValidateTicket)},
		{ODataType: wire.ODataApprovalRule, ID: "Approval_EndUser_Assignment", Target: target("EndUser", "Assignment"), Setting: setting},
		{ODataType: wire.ODataAuthenticationContextRule, ID: "AuthenticationContext_EndUser_Assignment", Target: target("EndUser", "Assignment"),
			IsEnabled: bp(a.AuthContext != ""), ClaimValue: sp(a.AuthContext)},
		adminExpiration("Expiration_Admin_Eligibility", "Eligibility", p.Eligible),
		adminExpiration("Expiration_Admin_Assignment", "Assignment", p.Active),
		adminEnablement("Enablement_Admin_Eligibility", "Eligibility", p.Eligible),
		adminEnablement("Enablement_Admin_Assignment", "Assignment", p.Active),
	}
	for _, n := range p.Notifications {
		level := "Assignment"
		if n.Event == domain.EventAdminEligibility {
			level = "Eligibility"
		}
		caller := "Admin"
		if n.Event == domain.EventEndUserAssign {
			caller = "EndUser"
		}
		rules = append(rules, wire.Rule{ODataType: wire.ODataNotificationRule, ID: n.ID(), Target: target(caller, level), NotificationType: sp("Email"),
			RecipientType: sp(n.Recipient), NotificationLevel: sp(n.Level), IsDefaultRecipientsEnabled: bp(n.DefaultRecipients),
			NotificationRecipients: lp(n.ExtraRecipients)})
	}
	return rules
}

func adminExpiration(id, level string, r domain.AdminRules) wire.Rule {
	return wire.Rule{ODataType: wire.ODataExpirationRule, ID: id, Target: target("Admin", level),
		IsExpirationRequired: bp(!r.AllowPermanent), MaximumDuration: sp(domain.FormatISODuration(r.MaxDuration))}
}

func adminEnablement(id, level string, r domain.AdminRules) wire.Rule {
	var enabled []string
	if r.RequireJustification {
		enabled = append(enabled, "Justification")
	}
	if r.RequireMFA {
		enabled = append(enabled, "MultiFactorAuthentication")
	}
	return wire.Rule{ODataType: wire.ODataEnablementRule, ID: id, Target: target("Admin", level), EnabledRules: lp(enabled)}
}

func usersOf(as []domain.Approver) []wire.UserSet {
	out := []wire.UserSet{}
	for _, a := range as {
		switch a.Kind {
		case domain.ApproverGroup:
			out = append(out, wire.UserSet{ODataType: wire.ODataGroupMembers, GroupID: string(a.ID), IsBackup: bp(false)})
		case domain.ApproverResourceOwners:
			out = append(out, wire.UserSet{ODataType: wire.ODataResourceOwners, Description: "other owners of the resource", IsBackup: bp(false)})
		default:
			out = append(out, wire.UserSet{ODataType: wire.ODataSingleUser, UserID: string(a.ID), IsBackup: bp(false)})
		}
	}
	return out
}

func approversOf(field string, us []wire.UserSet) ([]domain.Approver, error) {
	var out []domain.Approver
	for i, u := range us {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch u.ODataType {
		case wire.ODataSingleUser:
			id, err := domain.ParseObjectID(at+".userId", u.UserID)
			if err != nil {
				return nil, err
			}
			out = append(out, domain.Approver{Kind: domain.ApproverUser, ID: id})
		case wire.ODataGroupMembers:
			id, err := domain.ParseObjectID(at+".groupId", u.GroupID)
			if err != nil {
				return nil, err
			}
			out = append(out, domain.Approver{Kind: domain.ApproverGroup, ID: id})
		case wire.ODataResourceOwners:
			if u.UserID != "" || u.GroupID != "" {
				return nil, domain.Invalid(at, "%s names nobody: the owners are read from Azure when an activation is requested", wire.ODataResourceOwners)
			}
			out = append(out, domain.Approver{Kind: domain.ApproverResourceOwners})
		default:
			return nil, domain.Invalid(field, "approvers must be %s, %s or %s, got %q", wire.ODataSingleUser, wire.ODataGroupMembers, wire.ODataResourceOwners, u.ODataType)
		}
	}
	return out, nil
}

// ruleFields lists what a PATCH may send for each kind of rule.
var ruleFields = map[string][]string{
	wire.ODataExpirationRule:            {"id", "target", "isExpirationRequired", "maximumDuration"},
	wire.ODataEnablementRule:            {"id", "target", "enabledRules", "isTicketValidationRequired"},
	wire.ODataApprovalRule:              {"id", "target", "setting"},
	wire.ODataAuthenticationContextRule: {"id", "target", "isEnabled", "claimValue"},
	wire.ODataNotificationRule:          {"id", "target", "notificationType", "recipientType", "notificationLevel", "isDefaultRecipientsEnabled", "notificationRecipients"},
}

// ApplyRule changes the policy as a PATCH of one rule says. Unknown rule
// ids, wrong rule types and bad values are refused with the field named.
func ApplyRule(p *domain.Policy, ruleID string, data []byte) error {
	var want string
	for _, r := range rulesOf(*p) {
		if r.ID == ruleID {
			want = r.ODataType
		}
	}
	if want == "" {
		return domain.Errorf(domain.CodeNotFound, "policy %s has no rule %s", p.ID, ruleID)
	}
	var in wire.Rule
	if err := decodeStrict(data, ruleFields[want], &in); err != nil {
		return err
	}
	if in.ODataType != "" && in.ODataType != want {
		return domain.Invalid("@odata.type", "rule %s is a %s", ruleID, want)
	}
	if in.ID != "" && in.ID != ruleID {
		return domain.Invalid("id", "does not match the rule in the path (%s)", ruleID)
	}
	switch ruleID {
	case "Expiration_EndUser_Assignment":
		if in.IsExpirationRequired != nil && !*in.IsExpirationRequired {
			// Activations always end; accepting false and ignoring it would
			// tell the admin a setting took effect that did not.
			return domain.Invalid("isExpirationRequired", "activations always expire in jitpim: it must be true (or left out)")
		}
		if in.MaximumDuration != nil {
			d, err := domain.ParseISODuration(*in.MaximumDuration)
			if err != nil {
				return domain.Invalid("maximumDuration", "%v", err)
			}
			p.Activation.MaxDuration = d
		}
	case "Expiration_Admin_Eligibility", "Expiration_Admin_Assignment":
		r := &p.Active
		if ruleID == "Expiration_Admin_Eligibility" {
			r = &p.Eligible
		}
		if in.IsExpirationRequired != nil {
			r.AllowPermanent = !*in.IsExpirationRequired
		}
		if in.MaximumDuration != nil {
			d, err := domain.ParseISODuration(*in.MaximumDuration)
			if err != nil {
				return domain.Invalid("maximumDuration", "%v", err)
			}
			r.MaxDuration = d
		}
	case "Enablement_EndUser_Assignment":
		if in.EnabledRules != nil {
			a := &p.Activation
			a.RequireMFA, a.RequireJustification, a.RequireTicket = false, false, false
			for _, e := range *in.EnabledRules {
				switch strings.ToLower(e) {
				case "multifactorauthentication":
					a.RequireMFA = true
				case "justification":
					a.RequireJustification = true
				case "ticketing":
					a.RequireTicket = true
				default:
					return domain.Invalid("enabledRules", "unknown rule %q; use MultiFactorAuthentication, Justification or Ticketing", e)
				}
			}
		}
		if in.IsTicketValidationRequired != nil {
			p.Activation.ValidateTicket = *in.IsTicketValidationRequired
		}
	case "Enablement_Admin_Eligibility", "Enablement_Admin_Assignment":
		r := &p.Active
		if ruleID == "Enablement_Admin_Eligibility" {
			r = &p.Eligible
		}
		if in.IsTicketValidationRequired != nil {
			return domain.Invalid("isTicketValidationRequired", "applies to Enablement_EndUser_Assignment only")
		}
		if in.EnabledRules != nil {
			r.RequireJustification, r.RequireMFA = false, false
			for _, e := range *in.EnabledRules {
				switch strings.ToLower(e) {
				case "justification":
					r.RequireJustification = true
				case "multifactorauthentication":
					r.RequireMFA = true
				default:
					return domain.Invalid("enabledRules", "unknown rule %q; use Justification or MultiFactorAuthentication", e)
				}
			}
		}
	case "Approval_EndUser_Assignment":
		if in.Setting == nil {
			return domain.Invalid("setting", "is required")
		}
		st := in.Setting
		a := &p.Activation
		a.ApprovalRequired = st.IsApprovalRequired
		mode := st.ApprovalMode
		if mode == "" {
			mode = domain.ApprovalSingleStage
		}
		if !slices.Contains([]string{domain.ApprovalSingleStage, domain.ApprovalSerial, domain.ApprovalNone}, mode) {
			return domain.Invalid("setting.approvalMode", "must be SingleStage, Serial or NoApproval, got %q", st.ApprovalMode)
		}
		a.ApprovalMode = mode
		a.Stages = nil
		for _, s := range st.ApprovalStages {
			prim, err := approversOf("setting.approvalStages.primaryApprovers", s.PrimaryApprovers)
			if err != nil {
				return err
			}
			esc, err := approversOf("setting.approvalStages.escalationApprovers", s.EscalationApprovers)
			if err != nil {
				return err
			}
			a.Stages = append(a.Stages, domain.StageRule{TimeoutDays: s.ApprovalStageTimeOutInDays, ApproverJustificationRequired: s.IsApproverJustificationRequired,
				PrimaryApprovers: prim, EscalationEnabled: s.IsEscalationEnabled, EscalationMinutes: s.EscalationTimeInMinutes, EscalationApprovers: esc})
		}
		if !a.ApprovalRequired {
			a.ApprovalMode = domain.ApprovalNone
		}
	case "AuthenticationContext_EndUser_Assignment":
		if in.IsEnabled != nil && !*in.IsEnabled {
			p.Activation.AuthContext = ""
		} else if in.ClaimValue != nil {
			v := strings.TrimSpace(*in.ClaimValue)
			if in.IsEnabled != nil && *in.IsEnabled && v == "" {
				return domain.Invalid("claimValue", "is required when isEnabled is true (e.g. c1)")
			}
			if len(v) > 32 {
				return domain.Invalid("claimValue", "at most 32 characters")
			}
			p.Activation.AuthContext = v
		}
	default: // notification rules
		for i := range p.Notifications {
			n := &p.Notifications[i]
			if n.ID() != ruleID {
				continue
			}
			if in.NotificationLevel != nil {
				if *in.NotificationLevel != domain.LevelAll && *in.NotificationLevel != domain.LevelCritical {
					return domain.Invalid("notificationLevel", "must be All or Critical")
				}
				n.Level = *in.NotificationLevel
			}
			if in.IsDefaultRecipientsEnabled != nil {
				n.DefaultRecipients = *in.IsDefaultRecipientsEnabled
			}
			if in.NotificationRecipients != nil {
				if len(*in.NotificationRecipients) > 25 {
					return domain.Invalid("notificationRecipients", "at most 25 recipients")
				}
				for _, addr := range *in.NotificationRecipients {
					if !strings.Contains(addr, "@") || len(addr) > 254 {
						return domain.Invalid("notificationRecipients", "%q is not an e-mail address", addr)
					}
				}
				n.ExtraRecipients = slices.Clone(*in.NotificationRecipients)
			}
		}
	}
	return nil
}

func scopeOf(p domain.Policy) (string, string) {
	switch p.Scope {
	case domain.ScopeTarget:
		if p.Target.Kind == domain.TargetGroup {
			return string(p.Target.GroupID), "Group"
		}
		if p.Target.Kind == domain.TargetAzureRole {
			return p.Target.ResourceScope, "AzureRole" // not a Graph value: Graph has no Azure resource policies
		}
		return domain.TenantScope, "DirectoryRole"
	case domain.ScopeTier:
		return p.Tier, "Tier"
	}
	return domain.TenantScope, "Default"
}

func policyJSON(p domain.Policy, withRules bool) wire.Policy {
	scopeID, scopeType := scopeOf(p)
	out := wire.Policy{ID: p.ID, DisplayName: p.DisplayName, Description: p.Description, IsOrganizationDefault: p.Scope == domain.ScopeDefault,
		ScopeID: scopeID, ScopeType: scopeType, LastModifiedDateTime: timeJSON(p.ModifiedAt), InheritedFrom: p.InheritedFrom}
	if p.ModifiedBy != "" {
		set := actorSet(p.ModifiedBy)
		out.LastModifiedBy = &set
	}
	if withRules {
		out.Rules = rulesOf(p)
	}
	for _, t := range p.TierTargets {
		out.TierTargets = append(out.TierTargets, wire.TierTarget{RoleDefinitionID: string(t.RoleDefinitionID), DirectoryScopeID: t.DirectoryScopeID, GroupID: string(t.GroupID), AccessID: t.AccessID})
	}
	return out
}

func expandsRules(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.URL.Query().Get("$expand")), "rules") // other values were refused by checkQuery
}

func (s *Server) listPolicies(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	conds, err := ParseFilter(r.URL.Query().Get("$filter"), []string{"scopeId", "scopeType"})
	if err != nil {
		return 0, nil, err
	}
	ps, err := s.policies.ListPolicies(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	out := []wire.Policy{}
	for _, p := range ps {
		j := policyJSON(p, expandsRules(r))
		keep := true
		for _, cd := range conds {
			if (cd.Property == "scopeId" && !strings.EqualFold(j.ScopeID, cd.Value)) || (cd.Property == "scopeType" && !strings.EqualFold(j.ScopeType, cd.Value)) {
				keep = false
			}
		}
		if keep {
			out = append(out, j)
		}
	}
	return http.StatusOK, collection{Value: out}, nil
}

func (s *Server) getPolicy(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	p, err := s.policies.GetPolicy(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, policyJSON(p, expandsRules(r)), nil
}

func (s *Server) listRules(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	p, err := s.policies.GetPolicy(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, collection{Value: rulesOf(p)}, nil
}

func (s *Server) getRule(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	p, err := s.policies.GetPolicy(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	for _, x := range rulesOf(p) {
		if x.ID == r.PathValue("rule") {
			return http.StatusOK, x, nil
		}
	}
	return 0, nil, domain.Errorf(domain.CodeNotFound, "policy %s has no rule %s", p.ID, r.PathValue("rule"))
}

func readAll(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if errors.As(err, new(*http.MaxBytesError)) {
		return nil, domain.Errorf(domain.CodeTooLarge, "the request body is larger than %d bytes", maxBody)
	}
	if err != nil {
		return nil, domain.Wrap(domain.CodeInvalid, err, "could not read the request body (at most %d bytes)", maxBody)
	}
	return data, nil
}

func (s *Server) patchRule(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	data, err := readAll(r)
	if err != nil {
		return 0, nil, err
	}
	ruleID := r.PathValue("rule")
	p, err := s.policies.UpdatePolicy(ctx, c, r.PathValue("id"), func(p *domain.Policy) error { return ApplyRule(p, ruleID, data) })
	if err != nil {
		return 0, nil, err
	}
	for _, x := range rulesOf(p) {
		if x.ID == ruleID {
			return http.StatusOK, x, nil
		}
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) patchPolicy(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	var in wire.PolicyPatch
	if err := readBody(r, []string{"displayName", "description", "tierTargets"}, &in); err != nil {
		return 0, nil, err
	}
	p, err := s.policies.UpdatePolicy(ctx, c, r.PathValue("id"), func(p *domain.Policy) error {
		if in.DisplayName != nil {
			if len(*in.DisplayName) > 256 {
				return domain.Invalid("displayName", "at most 256 characters")
			}
			p.DisplayName = *in.DisplayName
		}
		if in.Description != nil {
			if len(*in.Description) > 1024 {
				return domain.Invalid("description", "at most 1024 characters")
			}
			p.Description = *in.Description
		}
		if in.TierTargets != nil {
			if p.Scope != domain.ScopeTier {
				return domain.Invalid("tierTargets", "only a tier's policy (Tier_{name}) lists targets")
			}
			p.TierTargets = nil
			for i, t := range *in.TierTargets {
				var tg domain.Target
				if t.GroupID != "" {
					gid, err := domain.ParseObjectID(fmt.Sprintf("tierTargets[%d].groupId", i), t.GroupID)
					if err != nil {
						return err
					}
					tg = domain.GroupTarget(gid, t.AccessID)
				} else {
					rid, err := domain.ParseObjectID(fmt.Sprintf("tierTargets[%d].roleDefinitionId", i), t.RoleDefinitionID)
					if err != nil {
						return err
					}
					tg = domain.RoleTarget(rid, t.DirectoryScopeID)
				}
				if err := tg.Validate(); err != nil {
					return err
				}
				p.TierTargets = append(p.TierTargets, tg)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, policyJSON(p, true), nil
}

// listPolicyAssignments answers Graph's required filter forms: scopeId and
// scopeType, with roleDefinitionId for a role (or member/owner for a group).
func (s *Server) listPolicyAssignments(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	conds, err := ParseFilter(r.URL.Query().Get("$filter"), []string{"scopeId", "scopeType", "roleDefinitionId"})
	if err != nil {
		return 0, nil, err
	}
	var scopeID, scopeType, role string
	for _, cd := range conds {
		switch cd.Property {
		case "scopeId":
			scopeID = cd.Value
		case "scopeType":
			scopeType = cd.Value
		case "roleDefinitionId":
			role = cd.Value
		}
	}
	if scopeID == "" || scopeType == "" {
		return 0, nil, domain.Invalid("$filter", "must give scopeId and scopeType, e.g. scopeId eq '/' and scopeType eq 'DirectoryRole'")
	}
	var targets []domain.Target
	switch {
	case strings.EqualFold(scopeType, "DirectoryRole"):
		if role == "" {
			return 0, nil, domain.Invalid("$filter", "give roleDefinitionId for scopeType DirectoryRole")
		}
		rid, err := domain.ParseObjectID("$filter roleDefinitionId", role)
		if err != nil {
			return 0, nil, err
		}
		targets = append(targets, domain.RoleTarget(rid, scopeID))
	case strings.EqualFold(scopeType, "Group"):
		gid, err := domain.ParseObjectID("$filter scopeId", scopeID)
		if err != nil {
			return 0, nil, err
		}
		for _, acc := range []string{domain.AccessMember, domain.AccessOwner} {
			if role == "" || strings.EqualFold(role, acc) {
				targets = append(targets, domain.GroupTarget(gid, acc))
			}
		}
	default:
		return 0, nil, domain.Invalid("$filter", "scopeType must be DirectoryRole or Group")
	}
	out := []wire.PolicyAssignment{}
	for _, t := range targets {
		if err := t.Validate(); err != nil {
			return 0, nil, err
		}
		id := domain.PolicyID(t)
		rd := string(t.RoleDefinitionID)
		sid, st := domain.TenantScope, "DirectoryRole"
		if t.Kind == domain.TargetGroup {
			rd, sid, st = t.AccessID, string(t.GroupID), "Group"
		}
		out = append(out, wire.PolicyAssignment{ID: id + "_" + rd, PolicyID: id, ScopeID: sid, ScopeType: st, RoleDefinitionID: rd})
	}
	return http.StatusOK, collection{Value: out}, nil
}
