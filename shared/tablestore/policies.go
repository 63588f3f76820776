package tablestore

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// policyPK is the one partition of the Policies table: policies are few and
// ListPolicies reads them all.
const policyPK = "policy"

// Writing a policy that is missing with a version is a conflict, as in
// memstore.
func policyRecords(s *Store, c *aztables.Client) *table[domain.Policy] {
	return &table[domain.Policy]{
		kind:  kind{what: "policy", missingIsConflict: true},
		codec: codec[domain.Policy]{policyProps, policyFrom, func(p *domain.Policy) *string { return &p.Version }},
		s:     s,
		c:     c,
	}
}

func policyKey(id string) key { return key{policyPK, EscapeKey(id), id} }

// GetPolicy implements domain.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	return s.policies.get(ctx, policyKey(id))
}

// PutPolicy implements domain.Store.
func (s *Store) PutPolicy(ctx context.Context, p *domain.Policy, audit ...domain.AuditRecord) error {
	return s.policies.putAudited(ctx, tblPolicies, policyKey(p.ID), p, audit)
}

// ListPolicies implements domain.Store: one partition, every page of it.
func (s *Store) ListPolicies(ctx context.Context) ([]domain.Policy, error) {
	// Audit markers share the partition; their keys sort after every
	// escaped id.
	return s.policies.list(ctx, partition(policyPK)+" and RowKey lt "+odataString(markPrefix[:2]))
}
