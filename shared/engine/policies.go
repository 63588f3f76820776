package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// EffectivePolicy returns the policy in force for a target: its own, else
// the first tier (by name) that lists it, else the stored default, else
// Entra's defaults.
func (k *Kernel) EffectivePolicy(ctx context.Context, t domain.Target) (domain.Policy, error) {
	p, err := k.store.GetPolicy(ctx, domain.PolicyID(t))
	if err == nil {
		return p, nil
	} else if !domain.IsCode(err, domain.CodeNotFound) {
		return p, err
	}
	all, err := k.store.ListPolicies(ctx)
	if err != nil {
		return domain.Policy{}, err
	}
	return domain.InheritedPolicy(t, all), nil
}
