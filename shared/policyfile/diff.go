package policyfile

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

// namer turns object ids into the names the file gives them.
type namer struct {
	users, groups, roles map[domain.ObjectID]string
}

func newNamer(f *File) namer {
	n := namer{users: map[domain.ObjectID]string{}, groups: map[domain.ObjectID]string{}, roles: map[domain.ObjectID]string{}}
	for _, u := range f.Users {
		n.users[u.ID] = u.Name
	}
	for _, g := range f.Groups {
		n.groups[g.ID] = g.Name
	}
	for _, r := range f.CustomRoles {
		n.roles[r.ID] = r.Name
	}
	return n
}

func (n namer) user(id domain.ObjectID) string {
	if s, ok := n.users[id]; ok {
		return s
	}
	return string(id)
}

// principal names a user, or a group as "group <name>".
func (n namer) principal(id domain.ObjectID) string {
	if s, ok := n.groups[id]; ok {
		return "group " + s
	}
	return n.user(id)
}

func (n namer) group(id domain.ObjectID) string {
	if s, ok := n.groups[id]; ok {
		return s
	}
	return string(id)
}

func (n namer) approver(a domain.Approver) string {
	switch a.Kind {
	case domain.ApproverGroup:
		return "group " + n.group(a.ID)
	case domain.ApproverResourceOwners:
		return "other owners of the resource"
	}
	return n.user(a.ID)
}

func (n namer) role(id domain.ObjectID) string {
	if r, ok := domain.BuiltInRoleByID(id); ok {
		return r.DisplayName
	}
	if s, ok := n.roles[id]; ok {
		return s
	}
	return string(id)
}

func (n namer) target(t domain.Target) string {
	if t.Kind == domain.TargetGroup {
		return "group " + n.group(t.GroupID) + " " + t.AccessID
	}
	if t.Kind == domain.TargetAzureRole {
		return "Azure role " + domain.TargetName(t)
	}
	s := "role " + n.role(t.RoleDefinitionID)
	if t.DirectoryScopeID != domain.TenantScope {
		s += " at " + t.DirectoryScopeID
	}
	return s
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// field is one setting as the plan shows it.
type field struct {
	label string
	get   func(domain.Policy) string
}

// ruleSpec is one of Graph's policy rules: the settings it holds and the
// body that sets them with PATCH .../rules/{id}.
type ruleSpec struct {
	id     string
	fields []field
	body   func(domain.Policy) map[string]any
}

type rulePatch struct {
	RuleID string
	Body   map[string]any
}

func adminExpiry(r domain.AdminRules) string {
	if r.AllowPermanent {
		return "permanent allowed"
	}
	return "expire after " + domain.FormatISODuration(r.MaxDuration)
}

func adminEnabled(r domain.AdminRules) []string {
	out := []string{}
	if r.RequireJustification {
		out = append(out, "Justification")
	}
	if r.RequireMFA {
		out = append(out, "MultiFactorAuthentication")
	}
	return out
}

func usersJSON(as []domain.Approver) []map[string]any {
	out := []map[string]any{}
	for _, a := range as {
		switch a.Kind {
		case domain.ApproverGroup:
			out = append(out, map[string]any{"@odata.type": wire.ODataGroupMembers, "groupId": a.ID})
		case domain.ApproverResourceOwners:
			out = append(out, map[string]any{"@odata.type": wire.ODataResourceOwners})
		default:
			out = append(out, map[string]any{"@odata.type": wire.ODataSingleUser, "userId": a.ID})
		}
	}
	return out
}

func (n namer) approval(p domain.Policy) string {
	a := p.Activation
	if !a.ApprovalRequired {
		return "off"
	}
	var stages []string
	for _, s := range a.Stages {
		names := make([]string, 0, len(s.PrimaryApprovers))
		for _, ap := range s.PrimaryApprovers {
			names = append(names, n.approver(ap))
		}
		sort.Strings(names)
		who := strings.Join(names, ", ")
		if who == "" {
			who = "Privileged Role and Global Administrators (nobody named)"
		}
		day := "days"
		if s.TimeoutDays == 1 {
			day = "day"
		}
		desc := fmt.Sprintf("%s (%d %s", who, s.TimeoutDays, day)
		if s.ApproverJustificationRequired {
			desc += ", approver justification required"
		}
		if s.EscalationEnabled {
			esc := make([]string, 0, len(s.EscalationApprovers))
			for _, ap := range s.EscalationApprovers {
				esc = append(esc, n.approver(ap))
			}
			sort.Strings(esc)
			desc += fmt.Sprintf(", escalates after %d min to %s", s.EscalationMinutes, strings.Join(esc, ", "))
		}
		stages = append(stages, desc+")")
	}
	if len(stages) == 0 {
		return "required, no stage"
	}
	return strings.Join(stages, " then ")
}

func notifyLabel(r domain.NotificationRule) string {
	who := map[string]string{domain.RecipientAdmin: "admins", domain.RecipientRequestor: "the user", domain.RecipientApprover: "approvers"}[r.Recipient]
	what := map[string]string{domain.EventAdminEligibility: "eligible assignments", domain.EventAdminAssignment: "active assignments",
		domain.EventEndUserAssign: "activations"}[r.Event]
	return "notify " + who + " of " + what
}

func notifyOf(p domain.Policy, id string) domain.NotificationRule {
	for _, r := range p.Notifications {
		if r.ID() == id {
			return r
		}
	}
	return domain.NotificationRule{}
}

func notifyValue(r domain.NotificationRule) string {
	s := "off"
	if r.DefaultRecipients {
		s = "on"
	}
	if r.Level == domain.LevelCritical {
		s += " (critical only)"
	}
	if len(r.ExtraRecipients) > 0 {
		x := slices.Clone(r.ExtraRecipients)
		sort.Strings(x)
		s += ", also " + strings.Join(x, ", ")
	}
	return s
}

func (n namer) specs() []ruleSpec {
	specs := []ruleSpec{
		{id: "Expiration_EndUser_Assignment",
			fields: []field{{"activation duration", func(p domain.Policy) string { return domain.FormatISODuration(p.Activation.MaxDuration) }}},
			body: func(p domain.Policy) map[string]any {
				return map[string]any{"maximumDuration": domain.FormatISODuration(p.Activation.MaxDuration)}
			}},
		{id: "Enablement_EndUser_Assignment",
			fields: []field{
				{"MFA on activation", func(p domain.Policy) string { return yesno(p.Activation.RequireMFA) }},
				{"justification on activation", func(p domain.Policy) string { return yesno(p.Activation.RequireJustification) }},
				{"ticket on activation", func(p domain.Policy) string { return yesno(p.Activation.RequireTicket) }},
				{"ticket validation", func(p domain.Policy) string { return yesno(p.Activation.ValidateTicket) }},
			},
			body: func(p domain.Policy) map[string]any {
				a := p.Activation
				rules := []string{}
				if a.RequireMFA {
					rules = append(rules, "MultiFactorAuthentication")
				}
				if a.RequireJustification {
					rules = append(rules, "Justification")
				}
				if a.RequireTicket {
					rules = append(rules, "Ticketing")
				}
				return map[string]any{"enabledRules": rules, "isTicketValidationRequired": a.ValidateTicket}
			}},
		{id: "AuthenticationContext_EndUser_Assignment",
			fields: []field{{"Conditional Access authentication context", func(p domain.Policy) string {
				if p.Activation.AuthContext == "" {
					return "off"
				}
				return p.Activation.AuthContext
			}}},
			body: func(p domain.Policy) map[string]any {
				return map[string]any{"isEnabled": p.Activation.AuthContext != "", "claimValue": p.Activation.AuthContext}
			}},
		{id: "Approval_EndUser_Assignment",
			fields: []field{{"approval", n.approval}},
			body: func(p domain.Policy) map[string]any {
				a := p.Activation
				set := map[string]any{"isApprovalRequired": a.ApprovalRequired, "approvalMode": domain.ApprovalNone, "approvalStages": []any{}}
				if a.ApprovalRequired {
					set["approvalMode"] = a.ApprovalMode
					var stages []any
					for _, s := range a.Stages {
						stages = append(stages, map[string]any{"approvalStageTimeOutInDays": s.TimeoutDays, "isApproverJustificationRequired": s.ApproverJustificationRequired,
							"isEscalationEnabled": s.EscalationEnabled, "escalationTimeInMinutes": s.EscalationMinutes,
							"primaryApprovers": usersJSON(s.PrimaryApprovers), "escalationApprovers": usersJSON(s.EscalationApprovers)})
					}
					set["approvalStages"] = stages
				}
				return map[string]any{"setting": set}
			}},
		{id: "Expiration_Admin_Eligibility",
			fields: []field{{"eligible assignments", func(p domain.Policy) string { return adminExpiry(p.Eligible) }}},
			body: func(p domain.Policy) map[string]any {
				return map[string]any{"isExpirationRequired": !p.Eligible.AllowPermanent, "maximumDuration": domain.FormatISODuration(p.Eligible.MaxDuration)}
			}},
		{id: "Expiration_Admin_Assignment",
			fields: []field{{"active assignments", func(p domain.Policy) string { return adminExpiry(p.Active) }}},
			body: func(p domain.Policy) map[string]any {
				return map[string]any{"isExpirationRequired": !p.Active.AllowPermanent, "maximumDuration": domain.FormatISODuration(p.Active.MaxDuration)}
			}},
		{id: "Enablement_Admin_Eligibility",
			fields: []field{
				{"MFA on eligible assignment", func(p domain.Policy) string { return yesno(p.Eligible.RequireMFA) }},
				{"justification on eligible assignment", func(p domain.Policy) string { return yesno(p.Eligible.RequireJustification) }},
			},
			body: func(p domain.Policy) map[string]any { return map[string]any{"enabledRules": adminEnabled(p.Eligible)} }},
		{id: "Enablement_Admin_Assignment",
			fields: []field{
				{"MFA on active assignment", func(p domain.Policy) string { return yesno(p.Active.RequireMFA) }},
				{"justification on active assignment", func(p domain.Policy) string { return yesno(p.Active.RequireJustification) }},
			},
			body: func(p domain.Policy) map[string]any { return map[string]any{"enabledRules": adminEnabled(p.Active)} }},
	}
	for _, r := range domain.DefaultPolicy().Notifications {
		id := r.ID()
		specs = append(specs, ruleSpec{id: id,
			fields: []field{{notifyLabel(r), func(p domain.Policy) string { return notifyValue(notifyOf(p, id)) }}},
			body: func(p domain.Policy) map[string]any {
				x := notifyOf(p, id)
				rec := x.ExtraRecipients
				if rec == nil {
					rec = []string{}
				}
				return map[string]any{"notificationLevel": x.Level, "isDefaultRecipientsEnabled": x.DefaultRecipients, "notificationRecipients": rec}
			}})
	}
	return specs
}

// diffPolicy compares two policies rule by rule: the lines to show and the
// rule PATCHes that turn have into want.
func (n namer) diffPolicy(have, want domain.Policy) ([]string, []rulePatch) {
	var details []string
	var patches []rulePatch
	for _, s := range n.specs() {
		changed := false
		for _, f := range s.fields {
			a, b := f.get(have), f.get(want)
			if a != b {
				details = append(details, fmt.Sprintf("%s: %s → %s", f.label, a, b))
				changed = true
			}
		}
		if changed {
			patches = append(patches, rulePatch{RuleID: s.id, Body: s.body(want)})
		}
	}
	return details, patches
}
