package tablestore

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// Access reviews live in two tables:
//
//	table            PartitionKey   RowKey                        holds
//	Reviews          "definition"   {id}                          a definition
//	Reviews          "instance"     {id}                          an instance (DefinitionId filtered by the service)
//	ReviewDecisions  {instance}     "i|"{item}                    a decision item
//	ReviewDecisions  {instance}     "r|"{reviewer key}"|"{item}   reviewer index: the items a user or group reviews
//
// An item and its index rows go into one entity group transaction (same
// partition, at most 100 operations, all or nothing), so an index row never
// exists without its item, and reviewers are fixed when the item is
// written. AddReviewDecisions inserts; when a transaction meets an item
// that exists (a repeated or concurrent start) it reads which items of the
// batch exist and sends the rest again, so a decision already recorded is
// never overwritten and each item is created once.

const (
	reviewDefPK  = "definition"
	reviewInstPK = "instance"
	itemPrefix   = "i|"
	revPrefix    = "r|"
	maxBatchOps  = 100
)

var _ domain.ReviewStore = (*Store)(nil)

func reviewDefProps(d *domain.ReviewDefinition) *props {
	p := newProps()
	p.str("Id", d.ID)
	p.str("DisplayName", d.DisplayName)
	p.str("DescriptionForAdmins", d.DescriptionForAdmins)
	p.str("DescriptionForReviewers", d.DescriptionForReviewers)
	p.js("Scope", d.Scope, false)
	p.js("Reviewers", d.Reviewers, len(d.Reviewers) == 0)
	p.js("FallbackReviewers", d.FallbackReviewers, len(d.FallbackReviewers) == 0)
	p.js("Settings", d.Settings, false)
	p.id("CreatedBy", d.CreatedBy)
	p.tm("CreatedAt", d.CreatedAt)
	p.tm("ModifiedAt", d.ModifiedAt)
	p.boolean("Deleted", d.Deleted)
	p.id("DeletedBy", d.DeletedBy)
	p.tm("DeletedAt", d.DeletedAt)
	return p
}

func reviewDefFrom(e entity) (domain.ReviewDefinition, error) {
	rd := &reader{m: e.Props}
	d := domain.ReviewDefinition{ID: rd.str("Id"), DisplayName: rd.str("DisplayName"), DescriptionForAdmins: rd.str("DescriptionForAdmins"),
		DescriptionForReviewers: rd.str("DescriptionForReviewers"), CreatedBy: rd.id("CreatedBy"), CreatedAt: rd.tm("CreatedAt"),
		ModifiedAt: rd.tm("ModifiedAt"), Deleted: rd.boolean("Deleted"), DeletedBy: rd.id("DeletedBy"), DeletedAt: rd.tm("DeletedAt"), Version: e.ETag}
	rd.js("Scope", &d.Scope)
	rd.js("Reviewers", &d.Reviewers)
	rd.js("FallbackReviewers", &d.FallbackReviewers)
	rd.js("Settings", &d.Settings)
	return d, wrapDecode(rd.err, "access review definition", d.ID)
}

func reviewInstProps(in *domain.ReviewInstance) *props {
	p := newProps()
	p.str("Id", in.ID)
	p.str("DefinitionId", in.DefinitionID)
	p.i32("Occurrence", in.Occurrence)
	p.str("DisplayName", in.DisplayName)
	p.js("Scope", in.Scope, false)
	p.js("Reviewers", in.Reviewers, len(in.Reviewers) == 0)
	p.js("Fallback", in.Fallback, len(in.Fallback) == 0)
	p.js("Settings", in.Settings, false)
	p.tm("Start", in.Start)
	p.tm("End", in.End)
	p.str("Status", in.Status)
	p.i32("ItemCount", in.ItemCount)
	p.i32("NoReviewerCount", in.NoReviewerCount)
	p.i32("DenyRecommended", in.DenyRecommended)
	p.i32("Removed", in.Removed)
	p.i32("ApplyFailures", in.ApplyFailures)
	p.i32("RemindersSent", in.RemindersSent)
	p.tm("StartedAt", in.StartedAt)
	p.tm("CompletedAt", in.CompletedAt)
	p.id("CompletedBy", in.CompletedBy)
	p.tm("AppliedAt", in.AppliedAt)
	return p
}

func reviewInstFrom(e entity) (domain.ReviewInstance, error) {
	rd := &reader{m: e.Props}
	in := domain.ReviewInstance{ID: rd.str("Id"), DefinitionID: rd.str("DefinitionId"), Occurrence: rd.i32("Occurrence"), DisplayName: rd.str("DisplayName"),
		Start: rd.tm("Start"), End: rd.tm("End"), Status: rd.str("Status"), ItemCount: rd.i32("ItemCount"), NoReviewerCount: rd.i32("NoReviewerCount"),
		DenyRecommended: rd.i32("DenyRecommended"), Removed: rd.i32("Removed"), ApplyFailures: rd.i32("ApplyFailures"), RemindersSent: rd.i32("RemindersSent"),
		StartedAt: rd.tm("StartedAt"), CompletedAt: rd.tm("CompletedAt"), CompletedBy: rd.id("CompletedBy"), AppliedAt: rd.tm("AppliedAt"), Version: e.ETag}
	rd.js("Scope", &in.Scope)
	rd.js("Reviewers", &in.Reviewers)
	rd.js("Fallback", &in.Fallback)
	rd.js("Settings", &in.Settings)
	return in, wrapDecode(rd.err, "access review instance", in.ID)
}

func reviewItemProps(d *domain.ReviewDecision) *props {
	p := newProps()
	p.str("Id", d.ID)
	p.str("InstanceId", d.InstanceID)
	p.str("DefinitionId", d.DefinitionID)
	p.str("ScheduleId", d.ScheduleID)
	p.str("Kind", string(d.Kind))
	p.id("PrincipalId", d.PrincipalID)
	p.str("PrincipalName", d.PrincipalName)
	p.str("PrincipalUpn", d.PrincipalUPN)
	p.str("PrincipalKind", string(d.PrincipalKind))
	p.id("ViaGroupId", d.ViaGroupID)
	p.target(d.Target)
	p.tm("ScheduleEnd", d.ScheduleEnd)
	p.js("Reviewers", d.Reviewers, len(d.Reviewers) == 0)
	p.boolean("Fallback", d.Fallback)
	p.str("Recommendation", d.Recommendation)
	p.str("RecommendationReason", d.RecommendationReason)
	p.tm("LastSignIn", d.LastSignIn)
	p.tm("LastActivation", d.LastActivation)
	p.str("Decision", d.Decision)
	p.str("Justification", d.Justification)
	p.id("ReviewedBy", d.ReviewedBy)
	p.tm("ReviewedAt", d.ReviewedAt)
	p.str("ApplyResult", d.ApplyResult)
	p.tm("AppliedAt", d.AppliedAt)
	p.str("ApplyRequestId", d.ApplyRequestID)
	p.str("ApplyError", d.ApplyError)
	return p
}

func reviewItemFrom(e entity) (domain.ReviewDecision, error) {
	rd := &reader{m: e.Props}
	d := domain.ReviewDecision{ID: rd.str("Id"), InstanceID: rd.str("InstanceId"), DefinitionID: rd.str("DefinitionId"), ScheduleID: rd.str("ScheduleId"),
		Kind: domain.RequestKind(rd.str("Kind")), PrincipalID: rd.id("PrincipalId"), PrincipalName: rd.str("PrincipalName"), PrincipalUPN: rd.str("PrincipalUpn"),
		PrincipalKind: domain.PrincipalKind(rd.str("PrincipalKind")), ViaGroupID: rd.id("ViaGroupId"),
		Target: rd.target(), ScheduleEnd: rd.tm("ScheduleEnd"), Fallback: rd.boolean("Fallback"), Recommendation: rd.str("Recommendation"),
		RecommendationReason: rd.str("RecommendationReason"), LastSignIn: rd.tm("LastSignIn"), LastActivation: rd.tm("LastActivation"), Decision: rd.str("Decision"), Justification: rd.str("Justification"),
		ReviewedBy: rd.id("ReviewedBy"), ReviewedAt: rd.tm("ReviewedAt"), ApplyResult: rd.str("ApplyResult"), AppliedAt: rd.tm("AppliedAt"),
		ApplyRequestID: rd.str("ApplyRequestId"), ApplyError: rd.str("ApplyError"), Version: e.ETag}
	rd.js("Reviewers", &d.Reviewers)
	return d, wrapDecode(rd.err, "access review decision", d.ID)
}

func definitionRecords(s *Store, c *aztables.Client) *table[domain.ReviewDefinition] {
	return &table[domain.ReviewDefinition]{
		kind:  kind{what: "access review definition"},
		codec: codec[domain.ReviewDefinition]{reviewDefProps, reviewDefFrom, func(d *domain.ReviewDefinition) *string { return &d.Version }},
		s:     s,
		c:     c,
	}
}

func instanceRecords(s *Store, c *aztables.Client) *table[domain.ReviewInstance] {
	return &table[domain.ReviewInstance]{
		kind:  kind{what: "access review instance"},
		codec: codec[domain.ReviewInstance]{reviewInstProps, reviewInstFrom, func(in *domain.ReviewInstance) *string { return &in.Version }},
		s:     s,
		c:     c,
	}
}

func decisionRecords(s *Store, c *aztables.Client) *table[domain.ReviewDecision] {
	return &table[domain.ReviewDecision]{
		kind:  kind{what: "access review decision"},
		codec: codec[domain.ReviewDecision]{reviewItemProps, reviewItemFrom, func(d *domain.ReviewDecision) *string { return &d.Version }},
		s:     s,
		c:     c,
	}
}

func definitionKey(id string) key { return key{reviewDefPK, EscapeKey(id), id} }
func instanceKey(id string) key   { return key{reviewInstPK, EscapeKey(id), id} }

// decisionKey is an item's key. An item of no instance cannot exist:
// its key has no PartitionKey, so reads find nothing without asking.
func decisionKey(instanceID, id string) key {
	return key{EscapeKey(instanceID), itemPrefix + EscapeKey(id), id}
}

// CreateReviewDefinition implements domain.ReviewStore.
func (s *Store) CreateReviewDefinition(ctx context.Context, d *domain.ReviewDefinition) error {
	return s.definitions.insert(ctx, definitionKey(d.ID), d)
}

// GetReviewDefinition implements domain.ReviewStore.
func (s *Store) GetReviewDefinition(ctx context.Context, id string) (domain.ReviewDefinition, error) {
	return s.definitions.get(ctx, definitionKey(id))
}

// UpdateReviewDefinition implements domain.ReviewStore.
func (s *Store) UpdateReviewDefinition(ctx context.Context, d *domain.ReviewDefinition) error {
	return s.definitions.put(ctx, definitionKey(d.ID), d)
}

// ListReviewDefinitions implements domain.ReviewStore: one partition.
func (s *Store) ListReviewDefinitions(ctx context.Context) ([]domain.ReviewDefinition, error) {
	out, err := s.definitions.list(ctx, partition(reviewDefPK))
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CreateReviewInstance implements domain.ReviewStore.
func (s *Store) CreateReviewInstance(ctx context.Context, in *domain.ReviewInstance) error {
	return s.instances.insert(ctx, instanceKey(in.ID), in)
}

// GetReviewInstance implements domain.ReviewStore.
func (s *Store) GetReviewInstance(ctx context.Context, id string) (domain.ReviewInstance, error) {
	return s.instances.get(ctx, instanceKey(id))
}

// UpdateReviewInstance implements domain.ReviewStore.
func (s *Store) UpdateReviewInstance(ctx context.Context, in *domain.ReviewInstance) error {
	return s.instances.put(ctx, instanceKey(in.ID), in)
}

// ListReviewInstances implements domain.ReviewStore: the instance
// partition, filtered by the service to one definition.
func (s *Store) ListReviewInstances(ctx context.Context, definitionID string) ([]domain.ReviewInstance, error) {
	all, err := s.instances.list(ctx, eqFilter("PartitionKey", reviewInstPK, "DefinitionId", definitionID))
	if err != nil {
		return nil, err
	}
	var out []domain.ReviewInstance
	for _, in := range all {
		if in.DefinitionID == definitionID {
			out = append(out, in)
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

// itemOps are the entities of one decision item: the item and its index rows.
type itemOps struct {
	rk   string
	ents []entity
}

func revRK(ref domain.Reviewer, itemKey string) string {
	return revPrefix + EscapeKey(ref.Key()) + "|" + itemKey
}

// AddReviewDecisions implements domain.ReviewStore with entity group
// transactions of at most 100 operations, eight at a time.
func (s *Store) AddReviewDecisions(ctx context.Context, instanceID string, items []domain.ReviewDecision) (int, error) {
	pk := EscapeKey(instanceID)
	if !instanceKey(instanceID).usable() {
		return 0, domain.Invalid("instanceId", "is not a usable id")
	}
	var all []itemOps
	for i := range items {
		it := &items[i]
		if it.InstanceID != instanceID || it.ID == "" {
			return 0, domain.Invalid("instanceId", "every item must belong to instance %s and have an id", instanceID)
		}
		k := EscapeKey(it.ID)
		p := reviewItemProps(it)
		if p.err != nil {
			return 0, p.err
		}
		ops := itemOps{rk: itemPrefix + k, ents: []entity{{PK: pk, RK: itemPrefix + k, Props: p.m}}}
		seen := map[string]bool{}
		for _, r := range it.Reviewers {
			if rk := revRK(r, k); !seen[rk] {
				seen[rk] = true
				ops.ents = append(ops.ents, entity{PK: pk, RK: rk, Props: map[string]any{"Id": it.ID}})
			}
		}
		if len(ops.ents) > maxBatchOps {
			return 0, domain.Invalid("reviewers", "item %s has %d reviewers; at most %d fit one transaction", it.ID, len(it.Reviewers), maxBatchOps-1)
		}
		for _, e := range ops.ents {
			if err := checkEntity(e); err != nil {
				return 0, err
			}
		}
		all = append(all, ops)
	}
	var batches [][]itemOps
	var cur []itemOps
	n := 0
	for _, o := range all {
		if n+len(o.ents) > maxBatchOps {
			batches = append(batches, cur)
			cur, n = nil, 0
		}
		cur = append(cur, o)
		n += len(o.ents)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	created := make([]int, len(batches))
	errs := parallel(len(batches), func(i int) error {
		var err error
		created[i], err = s.addBatch(ctx, pk, batches[i])
		return err
	})
	total := 0
	for _, c := range created {
		total += c
	}
	for _, err := range errs {
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// addBatch inserts the items of one transaction. When the service refuses
// it because some entity exists, it drops the items already stored and
// sends the rest again.
func (s *Store) addBatch(ctx context.Context, pk string, batch []itemOps) (int, error) {
	for round := 0; round < 5 && len(batch) > 0; round++ {
		var actions []aztables.TransactionAction
		for _, o := range batch {
			for _, e := range o.ents {
				b, err := e.marshal()
				if err != nil {
					return 0, err
				}
				actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: b})
			}
		}
		err := s.try(ctx, func(ctx context.Context, _ bool) error {
			_, err := s.decisions.c.SubmitTransaction(ctx, actions, nil)
			return err
		})
		if err == nil {
			return len(batch), nil
		}
		if statusOf(err) != http.StatusConflict {
			return 0, s.fail(err, "writing access review decisions")
		}
		exists := make([]bool, len(batch))
		errs := parallel(len(batch), func(i int) error {
			_, err := s.decisions.current(ctx, key{pk, batch[i].rk, batch[i].rk})
			switch {
			case err == nil:
				exists[i] = true
			case !domain.IsCode(err, domain.CodeNotFound):
				return err
			}
			return nil
		})
		for _, e := range errs {
			if e != nil {
				return 0, s.fail(e, "reading access review decisions")
			}
		}
		var rest []itemOps
		for i, o := range batch {
			if !exists[i] {
				rest = append(rest, o)
			}
		}
		if len(rest) == len(batch) {
			return 0, s.fail(err, "writing access review decisions")
		}
		batch = rest
	}
	if len(batch) > 0 {
		return 0, domain.Errorf(domain.CodeTransient, "access review decisions are being written concurrently; try again")
	}
	return 0, nil
}

// GetReviewDecision implements domain.ReviewStore.
func (s *Store) GetReviewDecision(ctx context.Context, instanceID, id string) (domain.ReviewDecision, error) {
	return s.decisions.get(ctx, decisionKey(instanceID, id))
}

// UpdateReviewDecision implements domain.ReviewStore: the item entity only;
// its index rows are fixed.
func (s *Store) UpdateReviewDecision(ctx context.Context, d *domain.ReviewDecision) error {
	return s.decisions.put(ctx, decisionKey(d.InstanceID, d.ID), d)
}

// ListReviewDecisions implements domain.ReviewStore. Without reviewers it
// reads a RowKey range of the instance's partition; with reviewers it reads
// each reviewer's index range, merges them in item order, and reads the
// items (eight at a time).
func (s *Store) ListReviewDecisions(ctx context.Context, q domain.ReviewDecisionQuery) (domain.Page[domain.ReviewDecision], error) {
	var out domain.Page[domain.ReviewDecision]
	if !instanceKey(q.InstanceID).usable() {
		return out, nil
	}
	pk := EscapeKey(q.InstanceID)
	after, err := decodeCursor(q.Cursor, "rd")
	if err != nil {
		return out, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	pkf := "PartitionKey eq " + odataString(pk)
	if len(q.Reviewers) == 0 {
		lo := "RowKey ge " + odataString(itemPrefix)
		if after != "" {
			lo = "RowKey gt " + odataString(itemPrefix+after)
		}
		ents, _, err := s.query(ctx, s.decisions.c, pkf+" and "+lo+" and RowKey lt "+odataString("i}"), limit+1)
		if err != nil {
			return out, s.fail(err, "listing access review decisions")
		}
		if len(ents) > limit {
			ents = ents[:limit]
			out.Next = encodeCursor("rd", strings.TrimPrefix(ents[limit-1].RK, itemPrefix))
		}
		for _, e := range ents {
			d, err := s.decisions.decode(e)
			if err != nil {
				return out, err
			}
			out.Items = append(out.Items, d)
		}
		return out, nil
	}
	keys := map[string]bool{}
	for _, r := range q.Reviewers {
		base := revPrefix + EscapeKey(r.Key()) + "|"
		lo := "RowKey gt " + odataString(base+after)
		if after == "" {
			lo = "RowKey ge " + odataString(base)
		}
		ents, _, err := s.query(ctx, s.decisions.c, pkf+" and "+lo+" and RowKey lt "+odataString(base[:len(base)-1]+"}"), limit+1)
		if err != nil {
			return out, s.fail(err, "listing access review decisions by reviewer")
		}
		for _, e := range ents {
			keys[strings.TrimPrefix(e.RK, base)] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	if len(sorted) > limit {
		sorted = sorted[:limit]
		out.Next = encodeCursor("rd", sorted[limit-1])
	}
	items := make([]domain.ReviewDecision, len(sorted))
	found := make([]bool, len(sorted))
	errs := parallel(len(sorted), func(i int) error {
		it, err := s.decisions.get(ctx, key{pk, itemPrefix + sorted[i], sorted[i]})
		if domain.IsCode(err, domain.CodeNotFound) {
			return nil
		}
		items[i], found[i] = it, err == nil
		return err
	})
	for _, err := range errs {
		if err != nil {
			return out, s.fail(err, "reading access review decisions")
		}
	}
	for i, it := range items {
		if found[i] {
			out.Items = append(out.Items, it)
		}
	}
	return out, nil
}
