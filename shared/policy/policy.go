// Package policy reads and changes PIM policies for administrators, as
// Graph's unifiedRoleManagementPolicy: a target's effective policy (its
// own, else its tier's, else the default), tiers and the default. Every
// change is a conditional write, audited. The request engine only reads
// policies (engine.EffectivePolicy); this is where they change.
package policy

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// Service reads and changes policies.
type Service struct {
	eng   *engine.Engine
	store domain.Store
}

// New builds the service over the engine that applies the policies.
func New(eng *engine.Engine, store domain.Store) *Service {
	return &Service{eng: eng, store: store}
}

// GetPolicy returns a policy by id: a target's effective policy, a tier's or the default.
func (svc *Service) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	scope, t, tier, ok := domain.ParsePolicyID(id)
	if !ok {
		return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "policy %s does not exist", id)
	}
	switch scope {
	case domain.ScopeTarget:
		return svc.eng.EffectivePolicy(ctx, t)
	case domain.ScopeTier:
		p, err := svc.store.GetPolicy(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "tier %s has no policy", tier)
		}
		return p, err
	default:
		p, err := svc.store.GetPolicy(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			return domain.DefaultPolicy(), nil
		}
		return p, err
	}
}

// ListPolicies returns the stored policies (targets with their own, tiers, default).
func (svc *Service) ListPolicies(ctx context.Context, _ *engine.Call) ([]domain.Policy, error) {
	return svc.store.ListPolicies(ctx)
}

// UpdatePolicy changes a policy with change, as an admin. A target without a
// policy of its own gets one, copied from what it inherited; a tier without
// one starts from the defaults. The write is conditional, so two admins
// editing at once cannot overwrite each other's rules.
func (svc *Service) UpdatePolicy(ctx context.Context, c *engine.Call, id string, change func(*domain.Policy) error) (domain.Policy, error) {
	if err := svc.eng.RequireAdminWrite(ctx, c, "changing a policy"); err != nil {
		return domain.Policy{}, err
	}
	scope, t, tier, ok := domain.ParsePolicyID(id)
	if !ok {
		return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "policy %s does not exist", id)
	}
	var out domain.Policy
	err := engine.Retry(func() error {
		p, err := svc.store.GetPolicy(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			switch scope {
			case domain.ScopeTarget:
				if p, err = svc.eng.EffectivePolicy(ctx, t); err != nil {
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
		rec := svc.eng.Stamp(c, domain.AuditRecord{Action: "policy.update", Category: "Policy", Target: t, Details: map[string]string{"policy_id": id}})
		if err := svc.store.PutPolicy(ctx, &p, rec); err != nil {
			return engine.Stale(err)
		}
		out = p
		return nil
	})
	if err != nil {
		return domain.Policy{}, err
	}
	return out, nil
}
