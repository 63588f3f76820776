package tablestore

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// Grants are keyed by domain.Grant.Key; writing one that is missing with
// a version is a conflict, as in memstore.
func grantRecords(s *Store, main, index *aztables.Client) *indexed[domain.Grant] {
	return &indexed[domain.Grant]{
		family: &family{kind: kind{what: "grant", missingIsConflict: true}, name: tblGrants, main: main, index: index},
		codec:  codec[domain.Grant]{grantProps, grantFrom, func(g *domain.Grant) *string { return &g.Version }},
		s:      s,
		id:     func(g *domain.Grant) string { return g.Key() },
		wants:  grantWants,
	}
}

// unsettledPK is the index partition of unsettled grants. It stays small:
// a grant is in it only while the directory is not known to match.
const unsettledPK = "unsettled"

func grantWants(g *domain.Grant) []ixWant {
	if g.Settled() {
		return nil
	}
	return []ixWant{{PK: unsettledPK, Prefix: EscapeKey(g.Key())}}
}

// GetGrant implements domain.Store.
func (s *Store) GetGrant(ctx context.Context, key string) (domain.Grant, error) {
	return s.grants.get(ctx, key)
}

// PutGrant implements domain.Store. The unsettled marker is written before
// a grant that becomes unsettled and deleted after one that settles, so a
// grant the directory may not match is never missing from the index.
func (s *Store) PutGrant(ctx context.Context, g *domain.Grant, audit ...domain.AuditRecord) error {
	return s.grants.put(ctx, g, audit)
}

// UnsettledGrants implements domain.Store: one query of the unsettled
// partition and a point read per entry. limit <= 0 returns all.
func (s *Store) UnsettledGrants(ctx context.Context, limit int) ([]domain.Grant, error) {
	var out []domain.Grant
	var decodeErr error
	match := func(e entity) bool {
		g, err := grantFrom(e)
		if err != nil {
			decodeErr = err
			return false
		}
		if g.Settled() {
			return false
		}
		out = append(out, g)
		return true
	}
	page := limit
	if page <= 0 {
		page = 1000
	}
	after := ""
	for {
		_, next, err := s.listIndexed(ctx, s.grants.family, []string{unsettledPK}, "", after, page, match)
		if err != nil {
			return nil, err
		}
		if decodeErr != nil {
			return nil, decodeErr
		}
		if next == "" || limit > 0 {
			return out, nil
		}
		after = next
	}
}
