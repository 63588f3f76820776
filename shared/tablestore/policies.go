package tablestore

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// policyPK is the one partition of the Policies table: policies are few and
// ListPolicies reads them all.
const policyPK = "policy"

// policyGenRK is the row every policy write replaces in the same entity
// group transaction as the policy: its ETag changes exactly when some
// policy does, so one point read tells whether a cached listing is
// current. Its key sorts after every escaped id, as audit markers do.
const policyGenRK = "~~generation"

// upsert, as a transaction row's ETag, writes the row whatever is there.
const upsert = "*"

// policyCacheMaxAge bounds how long a listing is trusted on its generation
// alone. A writer that does not replace the generation row (a binary older
// than the row, during a deployment) would otherwise leave a stale listing
// in use; with the bound, for at most this long.
const policyCacheMaxAge = time.Minute

// policyCache is the last policy listing read, as raw entities (each read
// decodes its own copy, so callers never share a policy's slices), under
// the generation row's ETag read just before it.
type policyCache struct {
	mu   sync.Mutex
	gen  string
	at   time.Time
	ents []entity
}

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

// GetPolicy implements domain.Store, from the revalidated listing.
func (s *Store) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	all, err := s.ListPolicies(ctx)
	if err != nil {
		return domain.Policy{}, err
	}
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
	}
	return domain.Policy{}, s.policies.notFound(id)
}

// PutPolicy implements domain.Store. The generation row goes in the same
// transaction, so no cache can outlive the write.
func (s *Store) PutPolicy(ctx context.Context, p *domain.Policy, audit ...domain.AuditRecord) error {
	gen := entity{PK: policyPK, RK: policyGenRK, Props: map[string]any{"WriteId": writeID()}, ETag: upsert}
	return s.policies.putAudited(ctx, tblPolicies, policyKey(p.ID), p, audit, gen)
}

// ListPolicies implements domain.Store: one point read of the generation
// row when the cached listing is current, else that and the partition,
// every page of it.
func (s *Store) ListPolicies(ctx context.Context) ([]domain.Policy, error) {
	ents, err := s.policyEntities(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Policy, 0, len(ents))
	for _, e := range ents {
		p, err := s.policies.decode(e)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *Store) policyEntities(ctx context.Context) ([]entity, error) {
	// The generation first, the listing second: a write landing between
	// the two leaves a listing at least as new as the generation it is
	// kept under, so the next read sees a changed generation and lists
	// again; never the reverse.
	gen, err := s.get(ctx, s.policies.c, policyPK, policyGenRK)
	switch {
	case statusOf(err) == http.StatusNotFound:
		// A store no policy write has touched since the row came in: start
		// the generation. Listed after it, the listing is current for it;
		// losing the insert to a writer's transaction only skips the cache.
		gen = entity{}
		body, merr := entity{PK: policyPK, RK: policyGenRK, Props: map[string]any{"WriteId": writeID()}}.marshal()
		if merr != nil {
			return nil, merr
		}
		if resp, aerr := s.policies.c.AddEntity(ctx, body, nil); aerr == nil {
			gen.ETag = string(resp.ETag)
		}
	case err != nil:
		return nil, s.fail(err, "reading the policy generation")
	}
	now := s.now()
	c := &s.policyCache
	c.mu.Lock()
	if gen.ETag != "" && c.gen == gen.ETag && now.Sub(c.at) < policyCacheMaxAge {
		ents := c.ents
		c.mu.Unlock()
		return ents, nil
	}
	c.mu.Unlock()
	// Audit markers and the generation row share the partition; their keys
	// sort after every escaped id.
	ents, _, err := s.query(ctx, s.policies.c, partition(policyPK)+" and RowKey lt "+odataString(markPrefix[:2]), 0)
	if err != nil {
		return nil, s.fail(err, "listing %s", s.policies.plural())
	}
	if gen.ETag != "" {
		c.mu.Lock()
		c.gen, c.at, c.ents = gen.ETag, now, ents
		c.mu.Unlock()
	}
	return ents, nil
}
