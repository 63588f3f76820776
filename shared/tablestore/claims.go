package tablestore

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// Claims live in the Mail table's "claim" partition: one small entity per
// used key, inserted with AddEntity so the service itself refuses a second.
const claimPK = "claim"

// claim is one used key: until when it stays used.
type claim struct {
	expires time.Time
	version string
}

func claimRecords(s *Store, c *aztables.Client) *table[claim] {
	return &table[claim]{
		kind: kind{what: "claim"},
		codec: codec[claim]{
			encode: func(c *claim) *props {
				p := newProps()
				p.tm("Expires", c.expires)
				return p
			},
			decode: func(e entity) (claim, error) {
				rd := &reader{m: e.Props}
				return claim{expires: rd.tm("Expires"), version: e.ETag}, rd.err
			},
			ver: func(c *claim) *string { return &c.version },
		},
		s: s,
		c: c,
	}
}

func claimKey(k string) key { return key{claimPK, EscapeKey(k), k} }

// ClaimOnce implements domain.Store.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) error {
	k := claimKey(key)
	if !k.usable() {
		return domain.Invalid("key", "is not a usable claim key")
	}
	return s.claims.insert(ctx, k, &claim{expires: expires})
}
