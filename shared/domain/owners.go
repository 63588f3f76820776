package domain

import (
	"slices"
	"strings"
)

// ApproverResourceOwners is the settings table's "approver: other owners of
// the resource": not a person named in the policy but the principals who
// hold Owner at (or above) the Azure scope when the activation is
// requested, the requester excluded. It has no ID, and only an Azure
// role's policy may name it.
const ApproverResourceOwners ApproverKind = "resourceOwners"

// AzureOwners lists the principals who hold Owner at scope, directly or
// inherited from a scope above it, other than requester and the
// break-glass accounts (emergency accounts sign in for emergencies, not to
// approve), in a stable order and each once. Assignments made below scope,
// or beside it, confer nothing on it and are left out.
func AzureOwners(assignments []AzureRoleAssignment, scope string, requester ObjectID, bg BreakGlass) []ObjectID {
	var out []ObjectID
	for _, ra := range assignments {
		// A management group is never on a subscription's path; the port
		// lists one only when the scope is below it.
		applies := AzureScopeCovers(ra.Scope, scope) || strings.HasPrefix(ra.Scope, azureManagementGroupScopePrefix)
		if ra.RoleDefinitionID != AzureRoleOwner || !applies || ra.PrincipalID == requester || bg.Protects(ra.PrincipalID) {
			continue
		}
		out = append(out, ra.PrincipalID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// NamesResourceOwners reports whether any stage of the policy asks the
// resource's other owners.
func (a ActivationRules) NamesResourceOwners() bool {
	for _, s := range a.Stages {
		if slices.ContainsFunc(s.PrimaryApprovers, isResourceOwners) || slices.ContainsFunc(s.EscalationApprovers, isResourceOwners) {
			return true
		}
	}
	return false
}

// WithResourceOwners returns the policy with each "other owners of the
// resource" approver replaced by owners, the approvers resolved for one
// request. A stage left with no primary approver is refused: nobody else
// owns the resource, and an activation that only its requester could
// approve is denied, not waved through nor handed to someone the policy
// did not name.
func (p Policy) WithResourceOwners(t Target, owners []Approver) (Policy, error) {
	if !p.Activation.NamesResourceOwners() {
		return p, nil
	}
	q := p.Clone()
	for i := range q.Activation.Stages {
		s := &q.Activation.Stages[i]
		s.PrimaryApprovers = expandOwners(s.PrimaryApprovers, owners)
		s.EscalationApprovers = expandOwners(s.EscalationApprovers, owners)
		if len(s.PrimaryApprovers) == 0 {
			return Policy{}, Errorf(CodeForbidden, "activating %s needs approval by another owner of the resource, and nobody else holds Owner at %s: "+
				"ask an administrator to assign an owner or change the role's approvers", TargetName(t), AzureScopeName(t.ResourceScope))
		}
	}
	return q, nil
}

func expandOwners(as, owners []Approver) []Approver {
	if !slices.ContainsFunc(as, isResourceOwners) {
		return as
	}
	out := slices.DeleteFunc(slices.Clone(as), isResourceOwners)
	for _, o := range owners {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

func isResourceOwners(a Approver) bool { return a.Kind == ApproverResourceOwners }

// validResourceOwners checks that "other owners of the resource" is named
// only where there is a resource: an Azure role's own policy, or a tier of
// Azure roles only.
func (p Policy) validResourceOwners() error {
	if !p.Activation.NamesResourceOwners() {
		return nil
	}
	azure := p.Scope == ScopeTarget && p.Target.Kind == TargetAzureRole ||
		p.Scope == ScopeTier && len(p.TierTargets) > 0 && !slices.ContainsFunc(p.TierTargets, func(t Target) bool { return t.Kind != TargetAzureRole })
	if !azure {
		return Invalid("Approval_EndUser_Assignment.approvalStages", "the other owners of the resource approve only an Azure role's activation; this policy is not one Azure role's (or a tier of Azure roles only)")
	}
	return nil
}
