package tablestore

import (
	"context"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

func requestRecords(s *Store, main, index *aztables.Client) *indexed[domain.Request] {
	return &indexed[domain.Request]{
		family: &family{kind: kind{what: "request"}, name: tblRequests, main: main, index: index},
		codec:  codec[domain.Request]{requestProps, requestFrom, func(r *domain.Request) *string { return &r.Version }},
		s:      s,
		id:     func(r *domain.Request) string { return r.ID },
		wants:  requestWants,
	}
}

// polled reports the request statuses the engine's timers list; each has
// an index partition.
func polled(st domain.Status) bool {
	switch st {
	case domain.StatusPendingApproval, domain.StatusPendingAdminDecision, domain.StatusGranted, domain.StatusPendingProvisioning:
		return true
	}
	return false
}

func targetKey(t domain.Target) string {
	if t == (domain.Target{}) {
		return ""
	}
	return t.Key()
}

func requestWants(r *domain.Request) []ixWant {
	prefix := timeKey(r.CreatedAt) + "|" + EscapeKey(r.ID)
	w := []ixWant{{
		PK: "p|" + EscapeKey(string(r.PrincipalID)), Prefix: prefix,
		Props: map[string]string{"Kind": string(r.Kind), "TargetKey": targetKey(r.Target)},
	}}
	if polled(r.Status) {
		w = append(w, ixWant{
			PK: "s|" + EscapeKey(string(r.Status)), Prefix: prefix,
			Props: map[string]string{"Kind": string(r.Kind), "TargetKey": targetKey(r.Target), "PrincipalId": string(r.PrincipalID)},
		})
	}
	return w
}

// CreateRequest implements domain.Store.
func (s *Store) CreateRequest(ctx context.Context, r *domain.Request, audit ...domain.AuditRecord) error {
	return s.requests.create(ctx, r, audit)
}

// GetRequest implements domain.Store.
func (s *Store) GetRequest(ctx context.Context, id string) (domain.Request, error) {
	return s.requests.get(ctx, id)
}

// UpdateRequest implements domain.Store.
func (s *Store) UpdateRequest(ctx context.Context, r *domain.Request, audit ...domain.AuditRecord) error {
	return s.requests.update(ctx, r, audit)
}

// ListRequests implements domain.Store. Statuses that all have a status
// partition are served from it (filtered there by principal, kind and
// target); otherwise a principal's index serves; otherwise the Requests
// table is scanned with a service-side filter. Index pages come oldest
// first; scanned pages in id order.
func (s *Store) ListRequests(ctx context.Context, q domain.RequestQuery) (domain.Page[domain.Request], error) {
	statuses := slices.Clone(q.Statuses)
	slices.Sort(statuses)
	statuses = slices.Compact(statuses)
	allPolled := len(statuses) > 0
	for _, st := range statuses {
		allPolled = allPolled && polled(st)
	}
	tk := q.TargetKey
	var decodeErr error
	byPK := map[string]domain.Request{}
	match := func(e entity) bool {
		r, err := requestFrom(e)
		if err != nil {
			decodeErr = err
			return false
		}
		ok := (q.Kind == "" || r.Kind == q.Kind) && (q.PrincipalID == "" || r.PrincipalID == q.PrincipalID) &&
			(tk == "" || r.Target.Key() == tk) && (len(statuses) == 0 || slices.Contains(statuses, r.Status))
		if ok {
			byPK[e.PK] = r
		}
		return ok
	}

	var ents []entity
	var next, route string
	var err error
	switch {
	case allPolled:
		route = "rs"
		var pks []string
		for _, st := range statuses {
			pks = append(pks, "s|"+EscapeKey(string(st)))
		}
		after, cerr := decodeCursor(q.Cursor, route)
		if cerr != nil {
			return domain.Page[domain.Request]{}, cerr
		}
		ents, next, err = s.listIndexed(ctx, s.requests.family, pks, eqFilter("PrincipalId", string(q.PrincipalID), "Kind", string(q.Kind), "TargetKey", tk), after, q.Limit, match)
	case q.PrincipalID != "":
		route = "rp"
		after, cerr := decodeCursor(q.Cursor, route)
		if cerr != nil {
			return domain.Page[domain.Request]{}, cerr
		}
		ents, next, err = s.listIndexed(ctx, s.requests.family, []string{"p|" + EscapeKey(string(q.PrincipalID))}, eqFilter("Kind", string(q.Kind), "TargetKey", tk), after, q.Limit, match)
	default:
		route = "rm"
		after, cerr := decodeCursor(q.Cursor, route)
		if cerr != nil {
			return domain.Page[domain.Request]{}, cerr
		}
		var or []string
		for _, st := range statuses {
			or = append(or, eqFilter("Status", string(st)))
		}
		ents, next, err = s.scan(ctx, s.requests.family, andFilter(eqFilter("Kind", string(q.Kind), "TargetKey", tk), strings.Join(or, " or ")), after, q.Limit)
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
		return domain.Page[domain.Request]{}, err
	}
	if decodeErr != nil {
		return domain.Page[domain.Request]{}, decodeErr
	}
	page := domain.Page[domain.Request]{Items: make([]domain.Request, 0, len(ents))}
	for _, e := range ents {
		page.Items = append(page.Items, byPK[e.PK])
	}
	if next != "" {
		page.Next = encodeCursor(route, next)
	}
	return page, nil
}
