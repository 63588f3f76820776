package tablestore

import (
	"context"
	"net/http"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Claims live in the Mail table's "claim" partition: one small entity per
// used key, inserted with AddEntity so the service itself refuses a second.
const claimPK = "claim"

// ClaimOnce implements domain.Store.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) error {
	rk := EscapeKey(key)
	if key == "" || checkKey("key", rk) != nil {
		return domain.Invalid("key", "is not a usable claim key")
	}
	p := newProps()
	p.tm("Expires", expires)
	p.m["WriteId"] = writeID()
	_, _, err := s.writeMain(ctx, s.mail, entity{PK: claimPK, RK: rk, Props: p.m}, "", time.Time{})
	if statusOf(err) == http.StatusConflict {
		return domain.Wrap(domain.CodeConflict, err, "%s was already used", key)
	}
	if err != nil {
		return s.fail(err, "claiming %s", key)
	}
	return nil
}
