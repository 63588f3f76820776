package tablestore

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

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
	m, err := s.getMain(ctx, s.grantFam, key)
	if err != nil {
		return domain.Grant{}, err
	}
	return grantFrom(m)
}

// PutGrant implements domain.Store. The unsettled marker is written before
// a grant that becomes unsettled and deleted after one that settles, so a
// grant the directory may not match is never missing from the index.
func (s *Store) PutGrant(ctx context.Context, g *domain.Grant) error {
	etag, err := s.put(ctx, s.grantFam, g.Key(), grantProps(g), grantWants(g), g.Version)
	if err != nil {
		return err
	}
	g.Version = etag
	return nil
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
		_, next, err := s.listIndexed(ctx, s.grantFam, []string{unsettledPK}, "", after, page, match)
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
