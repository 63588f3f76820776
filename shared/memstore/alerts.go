package memstore

import (
	"context"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"weak"

	"github.com/jitpim/jitpim/shared/domain"
)

// The alert store lives beside Store rather than in it: each Store gets an
// alert table on first use, found through a weak pointer, so a Store that
// is no longer used takes its alerts with it. One mutex guards all tables;
// alerts are few and written a handful of times per run.
var (
	alertMu     sync.Mutex
	alertTables = map[weak.Pointer[Store]]*alertTable{}
)

type alertTable struct {
	seq    int64
	alerts map[string]domain.Alert
}

// alertTable returns s's table; alertMu must be held.
func (s *Store) alertTable() *alertTable {
	k := weak.Make(s)
	t, ok := alertTables[k]
	if !ok {
		t = &alertTable{alerts: map[string]domain.Alert{}}
		alertTables[k] = t
		runtime.AddCleanup(s, func(k weak.Pointer[Store]) {
			alertMu.Lock()
			defer alertMu.Unlock()
			delete(alertTables, k)
		}, k)
	}
	return t
}

func cloneAlert(a domain.Alert) domain.Alert {
	a.Incidents = slices.Clone(a.Incidents)
	for i, inc := range a.Incidents {
		inc.Details = maps.Clone(inc.Details)
		a.Incidents[i] = inc
	}
	return a
}

// GetAlert implements domain.AlertStore.
func (s *Store) GetAlert(ctx context.Context, id string) (domain.Alert, error) {
	alertMu.Lock()
	defer alertMu.Unlock()
	a, ok := s.alertTable().alerts[id]
	if !ok {
		return domain.Alert{}, notFound("alert", id)
	}
	return cloneAlert(a), nil
}

// PutAlert implements domain.AlertStore: create when Version is empty,
// else replace if Version is current.
func (s *Store) PutAlert(ctx context.Context, a *domain.Alert) error {
	if a.ID == "" {
		return domain.Invalid("id", "is required")
	}
	alertMu.Lock()
	defer alertMu.Unlock()
	t := s.alertTable()
	cur, ok := t.alerts[a.ID]
	switch {
	case a.Version == "" && ok:
		return exists("alert", a.ID)
	case a.Version != "" && (!ok || cur.Version != a.Version):
		return conflict("alert", a.ID)
	}
	t.seq++
	a.Version = "a" + strconv.FormatInt(t.seq, 10)
	t.alerts[a.ID] = cloneAlert(*a)
	return nil
}

// ListAlerts implements domain.AlertStore, by id.
func (s *Store) ListAlerts(ctx context.Context) ([]domain.Alert, error) {
	alertMu.Lock()
	defer alertMu.Unlock()
	t := s.alertTable()
	out := make([]domain.Alert, 0, len(t.alerts))
	for _, a := range t.alerts {
		out = append(out, cloneAlert(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

var _ domain.AlertStore = (*Store)(nil)
