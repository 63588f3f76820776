package review

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// subject is one decision item to write: a schedule's holder (a user or a
// group), or, in a role review that expands group holders, one member of
// a group holding the role (via names the group).
type subject struct {
	s    domain.Schedule
	id   domain.ObjectID
	kind domain.PrincipalKind
	via  domain.ObjectID
}

// itemID is the subject's decision item id: stable, so a run that crashed
// half-way writes only what is missing.
func (sb subject) itemID(instanceID string) string {
	if sb.via == "" {
		return DecisionID(instanceID, sb.s.ID)
	}
	return DecisionID(instanceID, sb.s.ID+"\x00"+string(sb.id))
}

// subjects lists the items of the schedules: one per holder and, when the
// scope expands group holders (Entra's "review group members"), one per
// user in each holding group, transitively. Break-glass accounts are never
// reviewed, as holders or as members.
func (svc *Service) subjects(ctx context.Context, scope domain.ReviewScope, scheds []domain.Schedule) ([]subject, error) {
	out := make([]subject, 0, len(scheds))
	members := map[domain.ObjectID][]domain.User{}
	for _, s := range scheds {
		out = append(out, subject{s: s, id: s.PrincipalID, kind: s.PrincipalKind})
		if !scope.ExpandGroupMembers || !s.PrincipalKind.IsGroup() {
			continue
		}
		ms, ok := members[s.PrincipalID]
		if !ok {
			var err error
			ms, err = svc.dir.ListGroupMembers(ctx, s.PrincipalID)
			if err != nil && !domain.IsCode(err, domain.CodeNotFound) {
				return nil, err
			}
			members[s.PrincipalID] = ms
		}
		for _, m := range ms {
			if !svc.breakGlass.Protects(m.ID) {
				out = append(out, subject{s: s, id: m.ID, via: s.PrincipalID})
			}
		}
	}
	return out, nil
}

// lookupGroups reads the group holders' names; a group the directory no
// longer has is left out.
func (svc *Service) lookupGroups(ctx context.Context, ids []domain.ObjectID) (map[domain.ObjectID]domain.Group, error) {
	out := make(map[domain.ObjectID]domain.Group, len(ids))
	for _, id := range ids {
		g, err := svc.dir.GetGroup(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[id] = g
	}
	return out, nil
}
