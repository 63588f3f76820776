package tablestore

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

func scheduleRecords(s *Store, main, index *aztables.Client) *indexed[domain.Schedule] {
	return &indexed[domain.Schedule]{
		family: &family{kind: kind{what: "schedule"}, name: tblSchedules, main: main, index: index},
		codec:  codec[domain.Schedule]{scheduleProps, scheduleFrom, func(sc *domain.Schedule) *string { return &sc.Version }},
		s:      s,
		id:     func(sc *domain.Schedule) string { return sc.ID },
		wants:  scheduleWants,
	}
}

func scheduleWants(s *domain.Schedule) []ixWant {
	live := s.Status == domain.ScheduleProvisioned
	le := "E"
	if live {
		le = "L"
	}
	prefix := timeKey(s.Start) + "|" + EscapeKey(s.ID)
	tk := targetKey(s.Target)
	w := []ixWant{
		{PK: "p" + le + "|" + EscapeKey(string(s.PrincipalID)), Prefix: prefix, Props: map[string]string{"Kind": string(s.Kind), "TargetKey": tk}},
		{PK: "t" + le + "|" + EscapeKey(tk), Prefix: prefix, Props: map[string]string{"Kind": string(s.Kind), "PrincipalId": string(s.PrincipalID)}},
	}
	if due := s.DueAt(); !due.IsZero() {
		w = append(w, ixWant{PK: endBucket(due), Prefix: timeKey(due) + "|" + EscapeKey(s.ID)})
	}
	return w
}

// CreateSchedule implements domain.Store.
func (s *Store) CreateSchedule(ctx context.Context, sc *domain.Schedule, audit ...domain.AuditRecord) error {
	return s.schedules.create(ctx, sc, audit)
}

// GetSchedule implements domain.Store.
func (s *Store) GetSchedule(ctx context.Context, id string) (domain.Schedule, error) {
	return s.schedules.get(ctx, id)
}

// UpdateSchedule implements domain.Store. A changed End, Start or Status
// moves the schedule's index entries (new ones first, old ones deleted
// after the schedule is written).
func (s *Store) UpdateSchedule(ctx context.Context, sc *domain.Schedule, audit ...domain.AuditRecord) error {
	return s.schedules.update(ctx, sc, audit)
}

// ListSchedules implements domain.Store: by principal or by target from
// their index partitions (live ones only, plus the ended partition with
// IncludeEnded), ordered by start; otherwise by a filtered scan of the
// Schedules table in id order.
func (s *Store) ListSchedules(ctx context.Context, q domain.ScheduleQuery) (domain.Page[domain.Schedule], error) {
	var decodeErr error
	byPK := map[string]domain.Schedule{}
	match := func(e entity) bool {
		sc, err := scheduleFrom(e)
		if err != nil {
			decodeErr = err
			return false
		}
		ok := (q.Kind == "" || sc.Kind == q.Kind) && (q.PrincipalID == "" || sc.PrincipalID == q.PrincipalID) &&
			(q.TargetKey == "" || sc.Target.Key() == q.TargetKey) && (q.IncludeEnded || sc.Status == domain.ScheduleProvisioned)
		if ok {
			byPK[e.PK] = sc
		}
		return ok
	}
	flavours := []string{"L"}
	if q.IncludeEnded {
		flavours = append(flavours, "E")
	}
	var ents []entity
	var next, route string
	var err error
	switch {
	case q.PrincipalID != "":
		route = "sp"
		after, cerr := decodeCursor(q.Cursor, route)
		if cerr != nil {
			return domain.Page[domain.Schedule]{}, cerr
		}
		var pks []string
		for _, f := range flavours {
			pks = append(pks, "p"+f+"|"+EscapeKey(string(q.PrincipalID)))
		}
		ents, next, err = s.listIndexed(ctx, s.schedules.family, pks, eqFilter("Kind", string(q.Kind), "TargetKey", q.TargetKey), after, q.Limit, match)
	case q.TargetKey != "":
		route = "st"
		after, cerr := decodeCursor(q.Cursor, route)
		if cerr != nil {
			return domain.Page[domain.Schedule]{}, cerr
		}
		var pks []string
		for _, f := range flavours {
			pks = append(pks, "t"+f+"|"+EscapeKey(q.TargetKey))
		}
		ents, next, err = s.listIndexed(ctx, s.schedules.family, pks, eqFilter("Kind", string(q.Kind)), after, q.Limit, match)
	default:
		route = "sm"
		after, cerr := decodeCursor(q.Cursor, route)
		if cerr != nil {
			return domain.Page[domain.Schedule]{}, cerr
		}
		status := domain.ScheduleProvisioned
		if q.IncludeEnded {
			status = ""
		}
		ents, next, err = s.scan(ctx, s.schedules.family, eqFilter("Kind", string(q.Kind), "Status", status), after, q.Limit)
		if err == nil {
			kept := ents[:0]
			for _, e := range ents {
				if match(e) {
					kept = append(kept, e)
				}
			}
			ents = kept
		}
	}
	if err != nil {
		return domain.Page[domain.Schedule]{}, err
	}
	if decodeErr != nil {
		return domain.Page[domain.Schedule]{}, decodeErr
	}
	page := domain.Page[domain.Schedule]{Items: make([]domain.Schedule, 0, len(ents))}
	for _, e := range ents {
		page.Items = append(page.Items, byPK[e.PK])
	}
	if next != "" {
		page.Next = encodeCursor(route, next)
	}
	return page, nil
}

// SchedulesDueBy implements domain.Store. It reads the due index (keyed on
// domain.Schedule.DueAt: the start of a schedule awaiting it, else the
// end): one range query over the hour buckets up to t's ("end-…"
// partitions sort in time order), filtered by the service to RowKeys (due
// times) at or before
// t, then one point read per entry to return the schedule and to confirm
// the entry is current. Its cost grows with the due entries, never with
// the schedules stored. limit <= 0 returns all that are due.
func (s *Store) SchedulesDueBy(ctx context.Context, t time.Time, limit int) ([]domain.Schedule, error) {
	filter := "PartitionKey ge " + odataString("end-") + " and PartitionKey le " + odataString(endBucket(t)) +
		" and RowKey lt " + odataString(timeKey(t)+"}")
	var out []domain.Schedule
	seen := map[string]bool{}
	var npk, nrk *string
	for {
		top := 1000
		if limit > 0 {
			top = limit - len(out)
		}
		ents, pk, rk, err := s.queryPage(ctx, s.schedules.index, filter, top, npk, nrk)
		if err != nil {
			return nil, s.fail(err, "reading the due index")
		}
		mains, err := s.resolve(ctx, s.schedules.family, ents)
		if err != nil {
			return nil, s.fail(err, "reading due schedules")
		}
		for _, m := range mains {
			if m.PK == "" || seen[m.PK] {
				continue
			}
			sc, err := scheduleFrom(m)
			if err != nil {
				return nil, err
			}
			if due := sc.DueAt(); due.IsZero() || due.After(t) {
				continue
			}
			seen[m.PK] = true
			out = append(out, sc)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if pk == nil && rk == nil {
			return out, nil
		}
		npk, nrk = pk, rk
	}
}
