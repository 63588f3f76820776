package tablestore

import (
	"context"
	"slices"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
)

// IDMigration counts what CanonicalizeIDs changed.
type IDMigration struct {
	GrantsRekeyed      int // grants stored under a key spelled with upper-case letters
	GrantsMerged       int // of those, merged into a canonical grant that already existed
	SchedulesRewritten int
	RequestsRewritten  int
}

// CanonicalizeIDs moves data written before object ids were canonical
// (stored as the caller spelled them) to the canonical spelling. Reads
// already fold ids in properties and nested JSON (normalise on read), but
// keys cannot be folded on read: a grant keyed by an upper-case principal
// would not be found by the expiry that must revoke it, and index
// partitions by principal would miss old entries. It is idempotent and
// resumable: the canonical grant is written (merging holders) before the
// old one is deleted, and schedules and requests are rewritten with a
// conditional write that re-derives their index entries.
func (s *Store) CanonicalizeIDs(ctx context.Context) (IDMigration, error) {
	var rep IDMigration
	if err := s.scanAll(ctx, s.grants.family, func(e entity) error {
		old, _ := e.Props["Id"].(string)
		g, err := grantFrom(e)
		if err != nil {
			return err
		}
		if old == g.Key() {
			return nil
		}
		merged, err := s.mergeGrant(ctx, g)
		if err != nil {
			return err
		}
		rep.GrantsRekeyed++
		if merged {
			rep.GrantsMerged++
		}
		return s.del(ctx, s.grants.family.main, EscapeKey(old), mainRK, e.ETag)
	}); err != nil {
		return rep, err
	}
	if err := s.scanAll(ctx, s.schedules.family, func(e entity) error {
		if !holdsFoldableID(e, "PrincipalId") {
			return nil
		}
		sc, err := scheduleFrom(e)
		if err != nil {
			return err
		}
		rep.SchedulesRewritten++
		return s.UpdateSchedule(ctx, &sc)
	}); err != nil {
		return rep, err
	}
	err := s.scanAll(ctx, s.requests.family, func(e entity) error {
		if !holdsFoldableID(e, "PrincipalId", "CreatedBy") {
			return nil
		}
		r, err := requestFrom(e)
		if err != nil {
			return err
		}
		rep.RequestsRewritten++
		return s.UpdateRequest(ctx, &r)
	})
	return rep, err
}

// mergeGrant writes g under its canonical key: created when none exists,
// else its holders joined to the canonical grant's (retried on a race).
func (s *Store) mergeGrant(ctx context.Context, g domain.Grant) (merged bool, err error) {
	for range 10 {
		cur, err := s.GetGrant(ctx, g.Key())
		if domain.IsCode(err, domain.CodeNotFound) {
			n := g
			n.Version = ""
			err := s.PutGrant(ctx, &n)
			if domain.IsCode(err, domain.CodeConflict) {
				continue
			}
			return false, err
		} else if err != nil {
			return false, err
		}
		for _, h := range g.Holders {
			if !cur.HasHolder(h.ScheduleID) {
				cur.Holders = append(cur.Holders, h)
			}
		}
		// Applied if either record knew the directory holds the access, so a
		// later revoke is never skipped.
		cur.Applied = cur.Applied || g.Applied
		if cur.DirectoryID == "" {
			cur.DirectoryID = g.DirectoryID
		}
		err = s.PutGrant(ctx, &cur)
		if domain.IsCode(err, domain.CodeConflict) {
			continue
		}
		return true, err
	}
	return false, domain.Errorf(domain.CodeConflict, "grant %s kept changing; run the migration again", g.Key())
}

// holdsFoldableID reports whether any named property holds upper-case letters.
func holdsFoldableID(e entity, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool {
		v, _ := e.Props[n].(string)
		return v != strings.ToLower(v)
	})
}

// scanAll visits every main entity of a family, page by page.
func (s *Store) scanAll(ctx context.Context, f *family, visit func(entity) error) error {
	after := ""
	for {
		ents, next, err := s.scan(ctx, f, "", after, 500)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := visit(e); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}
