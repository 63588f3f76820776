package memstore

import (
	"context"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"weak"

	"github.com/jitpim/jitpim/shared/domain"
)

// Access reviews live beside the Store, in a package-level table keyed by
// a weak pointer to it: the Store's struct stays as it is, and the review
// data goes away with the Store.
var (
	reviewsMu sync.Mutex
	reviewsOf = map[weak.Pointer[Store]]*reviewData{}
)

type reviewData struct {
	mu          sync.Mutex
	seq         int64
	definitions map[string]domain.ReviewDefinition
	instances   map[string]domain.ReviewInstance
	decisions   map[string]map[string]domain.ReviewDecision // instance → id → item
}

func (s *Store) reviews() *reviewData {
	k := weak.Make(s)
	reviewsMu.Lock()
	defer reviewsMu.Unlock()
	d, ok := reviewsOf[k]
	if !ok {
		d = &reviewData{definitions: map[string]domain.ReviewDefinition{}, instances: map[string]domain.ReviewInstance{},
			decisions: map[string]map[string]domain.ReviewDecision{}}
		reviewsOf[k] = d
		runtime.AddCleanup(s, func(k weak.Pointer[Store]) {
			reviewsMu.Lock()
			delete(reviewsOf, k)
			reviewsMu.Unlock()
		}, k)
	}
	return d
}

// lock returns the review data locked; callers unlock it.
func (s *Store) lockReviews() *reviewData {
	d := s.reviews()
	d.mu.Lock()
	return d
}

func (d *reviewData) next() string {
	d.seq++
	return strconv.FormatInt(d.seq, 10)
}

var _ domain.ReviewStore = (*Store)(nil)

// CreateReviewDefinition implements domain.ReviewStore.
func (s *Store) CreateReviewDefinition(ctx context.Context, def *domain.ReviewDefinition) error {
	d := s.lockReviews()
	defer d.mu.Unlock()
	if _, ok := d.definitions[def.ID]; ok {
		return exists("access review definition", def.ID)
	}
	def.Version = d.next()
	d.definitions[def.ID] = def.Clone()
	return nil
}

// GetReviewDefinition implements domain.ReviewStore.
func (s *Store) GetReviewDefinition(ctx context.Context, id string) (domain.ReviewDefinition, error) {
	d := s.lockReviews()
	defer d.mu.Unlock()
	def, ok := d.definitions[id]
	if !ok {
		return def, notFound("access review definition", id)
	}
	return def.Clone(), nil
}

// UpdateReviewDefinition implements domain.ReviewStore.
func (s *Store) UpdateReviewDefinition(ctx context.Context, def *domain.ReviewDefinition) error {
	d := s.lockReviews()
	defer d.mu.Unlock()
	cur, ok := d.definitions[def.ID]
	if !ok {
		return notFound("access review definition", def.ID)
	}
	if cur.Version != def.Version {
		return conflict("access review definition", def.ID)
	}
	def.Version = d.next()
	d.definitions[def.ID] = def.Clone()
	return nil
}

// ListReviewDefinitions implements domain.ReviewStore.
func (s *Store) ListReviewDefinitions(ctx context.Context) ([]domain.ReviewDefinition, error) {
	d := s.lockReviews()
	defer d.mu.Unlock()
	out := make([]domain.ReviewDefinition, 0, len(d.definitions))
	for _, def := range d.definitions {
		out = append(out, def.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CreateReviewInstance implements domain.ReviewStore.
func (s *Store) CreateReviewInstance(ctx context.Context, in *domain.ReviewInstance) error {
	d := s.lockReviews()
	defer d.mu.Unlock()
	if _, ok := d.instances[in.ID]; ok {
		return exists("access review instance", in.ID)
	}
	in.Version = d.next()
	d.instances[in.ID] = in.Clone()
	return nil
}

// GetReviewInstance implements domain.ReviewStore.
func (s *Store) GetReviewInstance(ctx context.Context, id string) (domain.ReviewInstance, error) {
	d := s.lockReviews()
	defer d.mu.Unlock()
	in, ok := d.instances[id]
	if !ok {
		return in, notFound("access review instance", id)
	}
	return in.Clone(), nil
}

// UpdateReviewInstance implements domain.ReviewStore.
func (s *Store) UpdateReviewInstance(ctx context.Context, in *domain.ReviewInstance) error {
	d := s.lockReviews()
	defer d.mu.Unlock()
	cur, ok := d.instances[in.ID]
	if !ok {
		return notFound("access review instance", in.ID)
	}
	if cur.Version != in.Version {
		return conflict("access review instance", in.ID)
	}
	in.Version = d.next()
	d.instances[in.ID] = in.Clone()
	return nil
}

// ListReviewInstances implements domain.ReviewStore.
func (s *Store) ListReviewInstances(ctx context.Context, definitionID string) ([]domain.ReviewInstance, error) {
	d := s.lockReviews()
	defer d.mu.Unlock()
	var out []domain.ReviewInstance
	for _, in := range d.instances {
		if in.DefinitionID == definitionID {
			out = append(out, in.Clone())
		}
	}
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
	d := s.lockReviews()
	defer d.mu.Unlock()
	m := d.decisions[instanceID]
	if m == nil {
		m = map[string]domain.ReviewDecision{}
		d.decisions[instanceID] = m
	}
	n := 0
	for _, it := range items {
		if _, ok := m[it.ID]; ok {
			continue
		}
		it = it.Clone()
		it.Version = d.next()
		m[it.ID] = it
		n++
	}
	return n, nil
}

// GetReviewDecision implements domain.ReviewStore.
func (s *Store) GetReviewDecision(ctx context.Context, instanceID, id string) (domain.ReviewDecision, error) {
	d := s.lockReviews()
	defer d.mu.Unlock()
	it, ok := d.decisions[instanceID][id]
	if !ok {
		return it, notFound("access review decision", id)
	}
	return it.Clone(), nil
}

// UpdateReviewDecision implements domain.ReviewStore.
func (s *Store) UpdateReviewDecision(ctx context.Context, it *domain.ReviewDecision) error {
	d := s.lockReviews()
	defer d.mu.Unlock()
	cur, ok := d.decisions[it.InstanceID][it.ID]
	if !ok {
		return notFound("access review decision", it.ID)
	}
	if cur.Version != it.Version {
		return conflict("access review decision", it.ID)
	}
	c := it.Clone()
	c.Reviewers, c.Fallback = slices.Clone(cur.Reviewers), cur.Fallback // fixed at creation
	c.Version = d.next()
	d.decisions[it.InstanceID][it.ID] = c
	it.Version = c.Version
	return nil
}

// ListReviewDecisions implements domain.ReviewStore, in id order.
func (s *Store) ListReviewDecisions(ctx context.Context, q domain.ReviewDecisionQuery) (domain.Page[domain.ReviewDecision], error) {
	d := s.lockReviews()
	defer d.mu.Unlock()
	var all []domain.ReviewDecision
	for _, it := range d.decisions[q.InstanceID] {
		if q.Cursor != "" && it.ID <= q.Cursor {
			continue
		}
		if len(q.Reviewers) > 0 && !slices.ContainsFunc(q.Reviewers, it.HasReviewer) {
			continue
		}
		all = append(all, it.Clone())
	}
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
