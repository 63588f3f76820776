package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// EffectivePolicy returns the policy in force for a target: its own, else
// the first tier (by name) that lists it, else the stored default, else
// Entra's defaults. It reads the stored policies once (the store may serve
// them from its cache, revalidated on every read): the target's own policy
// and those it inherits from come from the same listing.
func (k *Kernel) EffectivePolicy(ctx context.Context, t domain.Target) (domain.Policy, error) {
	all, err := k.store.ListPolicies(ctx)
	if err != nil {
		return domain.Policy{}, err
	}
	own := domain.PolicyID(t)
	for _, p := range all {
		if p.ID == own {
			return p, nil
		}
	}
	return domain.InheritedPolicy(t, all), nil
}
