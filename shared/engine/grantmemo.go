package engine

import (
	"context"
	"slices"

	"github.com/jitpim/jitpim/shared/domain"
)

// knownGrant is a grant as this call last saw it; found is false when the
// store said there is none.
type knownGrant struct {
	g     domain.Grant
	found bool
}

// grant returns principal's grant on t as this call last read or wrote it,
// else reads it. Using the remembered copy is safe because every grant
// write is conditional on its version: a copy someone else has changed
// since makes the write fail (CodeConflict), the caller forgets it
// (lostGrantRace) and reads again. found is false when there is no grant.
func (e *Engine) grant(ctx context.Context, c *Call, principal domain.ObjectID, t domain.Target) (g domain.Grant, found bool, err error) {
	key := domain.GrantKey(principal, t)
	if k, ok := c.grants[key]; ok {
		g = k.g
		g.Holders = slices.Clone(k.g.Holders) // callers change holders in place
		return g, k.found, nil
	}
	g, err = e.store.GetGrant(ctx, key)
	if domain.IsCode(err, domain.CodeNotFound) {
		c.keepGrant(key, domain.Grant{}, false)
		return domain.Grant{}, false, nil
	} else if err != nil {
		return domain.Grant{}, false, err
	}
	c.keepGrant(key, g, true)
	return g, true, nil
}

// putGrant writes a grant conditionally and remembers the version written;
// a lost race forgets the remembered copy so the next read is fresh.
func (e *Engine) putGrant(ctx context.Context, c *Call, g *domain.Grant, audit ...domain.AuditRecord) error {
	err := e.store.PutGrant(ctx, g, audit...)
	if err != nil {
		// A conflict or a failure of unknown outcome: the stored grant is
		// not known any more.
		delete(c.grants, g.Key())
		return err
	}
	c.keepGrant(g.Key(), *g, true)
	return nil
}

func (c *Call) keepGrant(key string, g domain.Grant, found bool) {
	if c.grants == nil {
		c.grants = map[string]knownGrant{}
	}
	g.Holders = slices.Clone(g.Holders)
	c.grants[key] = knownGrant{g: g, found: found}
}
