package tablestore

import (
	"context"
	"net/http"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// policyPK is the one partition of the Policies table: policies are few and
// ListPolicies reads them all.
const policyPK = "policy"

// GetPolicy implements domain.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (domain.Policy, error) {
	rk := EscapeKey(id)
	if id == "" || checkKey("id", rk) != nil {
		return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "policy %s does not exist", id)
	}
	e, err := s.get(ctx, s.policies, policyPK, rk)
	if statusOf(err) == http.StatusNotFound {
		return domain.Policy{}, domain.Errorf(domain.CodeNotFound, "policy %s does not exist", id)
	}
	if err != nil {
		return domain.Policy{}, s.fail(err, "reading policy %s", id)
	}
	return policyFrom(e)
}

// PutPolicy implements domain.Store.
func (s *Store) PutPolicy(ctx context.Context, p *domain.Policy) error {
	pp := policyProps(p)
	if pp.err != nil {
		return pp.err
	}
	if p.ID == "" {
		return domain.Invalid("id", "is required")
	}
	pp.m["WriteId"] = writeID()
	e := entity{PK: policyPK, RK: EscapeKey(p.ID), Props: pp.m}
	if err := checkEntity(e); err != nil {
		return err
	}
	etag, _, err := s.writeMain(ctx, s.policies, e, p.Version, time.Time{})
	switch statusOf(err) {
	case 0:
	case http.StatusConflict:
		return domain.Wrap(domain.CodeConflict, err, "policy %s already exists", p.ID)
	case http.StatusPreconditionFailed, http.StatusNotFound:
		return domain.Wrap(domain.CodeConflict, err, "policy %s was changed by someone else; read it again", p.ID)
	}
	if err != nil {
		return s.fail(err, "writing policy %s", p.ID)
	}
	p.Version = etag
	return nil
}

// ListPolicies implements domain.Store: one partition, every page of it.
func (s *Store) ListPolicies(ctx context.Context) ([]domain.Policy, error) {
	ents, _, err := s.query(ctx, s.policies, "PartitionKey eq "+odataString(policyPK), 0)
	if err != nil {
		return nil, s.fail(err, "listing policies")
	}
	out := make([]domain.Policy, 0, len(ents))
	for _, e := range ents {
		p, err := policyFrom(e)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
