package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// resolveResourceOwners turns a policy's "other owners of the resource"
// into the people who own the Azure scope now, as the request is made:
// Owner there or above it, read from Azure Resource Manager (the truth,
// whoever assigned it), the requester and break-glass accounts excluded.
// Owners are users or groups (a group's members approve); a principal that
// is neither (a service principal) cannot sign in to approve and is left
// out. With nobody left, the activation is refused (domain.WithResourceOwners).
func (e *Engine) resolveResourceOwners(ctx context.Context, r *domain.Request, p domain.Policy) (domain.Policy, error) {
	if !p.Activation.NamesResourceOwners() {
		return p, nil
	}
	if r.Target.Kind != domain.TargetAzureRole {
		return domain.Policy{}, domain.Errorf(domain.CodeForbidden, "the policy of %s asks the other owners of the resource, and it is no Azure resource: ask an administrator to fix its approvers",
			e.Names().Target(ctx, r.Target))
	}
	if e.azure == nil {
		return domain.Policy{}, domain.Errorf(domain.CodeInternal, "no Azure Resource Manager access is configured")
	}
	ras, err := e.azure.ListRoleAssignments(ctx, r.Target.ResourceScope, "")
	if err != nil {
		return domain.Policy{}, err
	}
	var owners []domain.Approver
	for _, id := range domain.AzureOwners(ras, r.Target.ResourceScope, r.PrincipalID, e.cfg.BreakGlass) {
		a, err := e.ownerApprover(ctx, id)
		if err != nil {
			return domain.Policy{}, err
		}
		if a != nil {
			owners = append(owners, *a)
		}
	}
	return p.WithResourceOwners(r.Target, owners)
}

// ownerApprover tells a user from a group; nil for any other principal.
func (e *Engine) ownerApprover(ctx context.Context, id domain.ObjectID) (*domain.Approver, error) {
	_, err := e.dir.GetUser(ctx, id)
	if err == nil {
		return &domain.Approver{Kind: domain.ApproverUser, ID: id}, nil
	}
	if !domain.IsCode(err, domain.CodeNotFound) {
		return nil, err
	}
	if _, err = e.dir.GetGroup(ctx, id); err == nil {
		return &domain.Approver{Kind: domain.ApproverGroup, ID: id}, nil
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return nil, err
	}
	return nil, nil
}
