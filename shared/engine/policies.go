package engine

import (
	"context"
	"slices"

	"github.com/jitpim/jitpim/shared/domain"
)

// EffectivePolicy returns the policy in force for a target: its own, else
// the first tier (by name) that lists it, else the stored default, else
// Entra's defaults.
func (e *Engine) EffectivePolicy(ctx context.Context, t domain.Target) (domain.Policy, error) {
	p, err := e.store.GetPolicy(ctx, domain.PolicyID(t))
	if err == nil {
		return p, nil
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return p, err
	}
	all, err := e.store.ListPolicies(ctx)
	if err != nil {
		return domain.Policy{}, err
	}
	def := domain.DefaultPolicy()
	for _, p := range all {
		if p.Scope == domain.ScopeTier && slices.Contains(p.TierTargets, t) {
			return inherit(p, t), nil
		}
		if p.ID == domain.DefaultPolicyID {
			def = p
		}
	}
	return inherit(def, t), nil
}

// inherit presents a tier or default policy as the target's own, read-only view.
func inherit(from domain.Policy, t domain.Target) domain.Policy {
	p := from.Clone()
	p.InheritedFrom = from.ID
	p.ID, p.Scope, p.Target, p.Tier, p.TierTargets, p.Version = domain.PolicyID(t), domain.ScopeTarget, t, "", nil, ""
	return p
}

// GetPolicy returns a policy by id: a target's effective policy, a tier's or the default.
func (e *Engine) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	scope, t, tier, ok := domain.ParsePolicyID(id)
	if !ok {
		return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "policy %s does not exist", id)
	}
	switch scope {
	case domain.ScopeTarget:
		return e.EffectivePolicy(ctx, t)
	case domain.ScopeTier:
		p, err := e.store.GetPolicy(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "tier %s has no policy", tier)
		}
		return p, err
	default:
		p, err := e.store.GetPolicy(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			return domain.DefaultPolicy(), nil
		}
		return p, err
	}
}

// ListPolicies returns the stored policies (targets with their own, tiers, default).
func (e *Engine) ListPolicies(ctx context.Context, c *Call) ([]domain.Policy, error) {
	return e.store.ListPolicies(ctx)
}

// UpdatePolicy changes a policy with change, as an admin. A target without a
// policy of its own gets one, copied from what it inherited; a tier without
// one starts from the defaults. The write is conditional, so two admins
// editing at once cannot overwrite each other's rules.
func (e *Engine) UpdatePolicy(ctx context.Context, c *Call, id string, change func(*domain.Policy) error) (domain.Policy, error) {
	if err := e.requireAdminWrite(ctx, c, "changing a policy"); err != nil {
		return domain.Policy{}, err
	}
	scope, t, tier, ok := domain.ParsePolicyID(id)
	if !ok {
		return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "policy %s does not exist", id)
	}
	var out domain.Policy
	err := retry(func() error {
		p, err := e.store.GetPolicy(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			switch scope {
			case domain.ScopeTarget:
				if p, err = e.EffectivePolicy(ctx, t); err != nil {
					return err
				}
			default:
				p = domain.DefaultPolicy()
			}
			p.ID, p.Scope, p.Version, p.InheritedFrom = id, scope, "", ""
			if scope == domain.ScopeTier {
				p.Tier, p.DisplayName = tier, "Tier "+tier
			}
		} else if err != nil {
			return err
		}
		if err := change(&p); err != nil {
			return err
		}
		p.ID, p.Scope, p.InheritedFrom = id, scope, ""
		if scope == domain.ScopeTarget {
			p.Target = t
		}
		if err := p.Validate(); err != nil {
			return err
		}
		p.ModifiedBy, p.ModifiedAt = c.Caller.ID, c.Now
		if err := e.store.PutPolicy(ctx, &p); err != nil {
			return stale(err)
		}
		out = p
		return nil
	})
	if err != nil {
		return domain.Policy{}, err
	}
	e.audit(ctx, c, domain.AuditRecord{Action: "policy.update", Category: "Policy", Target: t, Details: map[string]string{"policy_id": id}})
	return out, nil
}
