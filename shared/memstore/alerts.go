package memstore

import (
	"context"
	"maps"
	"slices"
	"sort"

	"github.com/jitpim/jitpim/shared/domain"
)

var _ domain.AlertStore = (*Store)(nil)

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
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alerts.get(id)
}

// PutAlert implements domain.AlertStore: create when Version is empty,
// else replace if Version is current.
func (s *Store) PutAlert(ctx context.Context, a *domain.Alert) error {
	if a.ID == "" {
		return domain.Invalid("id", "is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alerts.put(a.ID, a)
}

// ListAlerts implements domain.AlertStore, by id.
func (s *Store) ListAlerts(ctx context.Context) ([]domain.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.alerts.all()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
