package memstore

import (
	"context"
	"slices"
	"sort"

	"github.com/jitpim/jitpim/shared/domain"
)

var _ domain.ReviewStore = (*Store)(nil)

// decisionsOf returns the decision items of one instance. An instance
// without items gets an empty table that is not kept, so reads of unknown
// instances leave nothing behind.
func (s *Store) decisionsOf(instanceID string) *table[domain.ReviewDecision] {
	if t, ok := s.decisions[instanceID]; ok {
		return t
	}
	t := newTable("access review decision", &s.reviewSeq, domain.ReviewDecision.Clone,
		func(d *domain.ReviewDecision) *string { return &d.Version })
	// Reviewers are fixed when an item is created.
	t.fixed = func(stored domain.ReviewDecision, next *domain.ReviewDecision) {
		next.Reviewers, next.Fallback = slices.Clone(stored.Reviewers), stored.Fallback
	}
	return t
}

// CreateReviewDefinition implements domain.ReviewStore.
func (s *Store) CreateReviewDefinition(ctx context.Context, def *domain.ReviewDefinition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.definitions.create(def.ID, def)
}

// GetReviewDefinition implements domain.ReviewStore.
func (s *Store) GetReviewDefinition(ctx context.Context, id string) (domain.ReviewDefinition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.definitions.get(id)
}

// UpdateReviewDefinition implements domain.ReviewStore.
func (s *Store) UpdateReviewDefinition(ctx context.Context, def *domain.ReviewDefinition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.definitions.update(def.ID, def)
}

// ListReviewDefinitions implements domain.ReviewStore.
func (s *Store) ListReviewDefinitions(ctx context.Context) ([]domain.ReviewDefinition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.definitions.all()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CreateReviewInstance implements domain.ReviewStore.
func (s *Store) CreateReviewInstance(ctx context.Context, in *domain.ReviewInstance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instances.create(in.ID, in)
}

// GetReviewInstance implements domain.ReviewStore.
func (s *Store) GetReviewInstance(ctx context.Context, id string) (domain.ReviewInstance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instances.get(id)
}

// UpdateReviewInstance implements domain.ReviewStore.
func (s *Store) UpdateReviewInstance(ctx context.Context, in *domain.ReviewInstance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instances.update(in.ID, in)
}

// ListReviewInstances implements domain.ReviewStore.
func (s *Store) ListReviewInstances(ctx context.Context, definitionID string) ([]domain.ReviewInstance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.instances.filter(func(in *domain.ReviewInstance) bool { return in.DefinitionID == definitionID })
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// AddReviewDecisions implements domain.ReviewStore.
func (s *Store) AddReviewDecisions(ctx context.Context, instanceID string, items []domain.ReviewDecision) (int, error) {
	for _, it := range items {
		if it.InstanceID != instanceID || it.ID == "" {
			return 0, domain.Invalid("instanceId", "every item must belong to instance %s and have an id", instanceID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.decisionsOf(instanceID)
	s.decisions[instanceID] = t
	n := 0
	for _, it := range items {
		if t.create(it.ID, &it) == nil {
			n++
		}
	}
	return n, nil
}

// GetReviewDecision implements domain.ReviewStore.
func (s *Store) GetReviewDecision(ctx context.Context, instanceID, id string) (domain.ReviewDecision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decisionsOf(instanceID).get(id)
}

// UpdateReviewDecision implements domain.ReviewStore.
func (s *Store) UpdateReviewDecision(ctx context.Context, it *domain.ReviewDecision) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decisionsOf(it.InstanceID).update(it.ID, it)
}

// ListReviewDecisions implements domain.ReviewStore, in id order.
func (s *Store) ListReviewDecisions(ctx context.Context, q domain.ReviewDecisionQuery) (domain.Page[domain.ReviewDecision], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.decisionsOf(q.InstanceID).filter(func(it *domain.ReviewDecision) bool {
		return (q.Cursor == "" || it.ID > q.Cursor) && (len(q.Reviewers) == 0 || slices.ContainsFunc(q.Reviewers, it.HasReviewer))
	})
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	p := domain.Page[domain.ReviewDecision]{Items: all}
	if len(all) > limit {
		p.Items = all[:limit]
		p.Next = all[limit-1].ID
	}
	return p, nil
}
