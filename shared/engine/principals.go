package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// checkPrincipal reads an administrator's request's principal from the
// directory and sets r.PrincipalKind: a user must exist and be enabled; a
// group must be one Entra lets hold the role (domain.CheckGroupPrincipal)
// and must hold no break-glass account, because a role jitpim gives a group
// is a role jitpim later takes away from everyone in it. Users are looked
// up first, so a user's request costs the one directory call it always did.
func (e *Engine) checkPrincipal(ctx context.Context, r *domain.Request) error {
	if r.PrincipalKind.IsGroup() {
		return e.checkGroupPrincipal(ctx, r)
	}
	err := e.activeUser(ctx, r.PrincipalID)
	if !domain.IsCode(err, domain.CodeNotFound) || !r.Action.IsAdmin() {
		return err
	}
	if _, gerr := e.dir.GetGroup(ctx, r.PrincipalID); domain.IsCode(gerr, domain.CodeNotFound) {
		return err
	} else if gerr != nil {
		return gerr
	}
	r.PrincipalKind = domain.PrincipalGroup
	return e.checkGroupPrincipal(ctx, r)
}

func (e *Engine) checkGroupPrincipal(ctx context.Context, r *domain.Request) error {
	g, err := e.dir.GetGroup(ctx, r.PrincipalID)
	if domain.IsCode(err, domain.CodeNotFound) {
		return domain.Errorf(domain.CodeNotFound, "group %s does not exist in the directory", r.PrincipalID)
	} else if err != nil {
		return err
	}
	if err := domain.CheckGroupPrincipal(g, r.Target, r.Action); err != nil {
		return err
	}
	for _, bg := range e.cfg.BreakGlass {
		in, err := e.dir.IsMemberOf(ctx, bg, g.ID)
		if err != nil {
			return err
		}
		if in {
			return domain.Errorf(domain.CodeForbidden, "%s has the break-glass account %s as a member: jitpim never manages a break-glass account's access, so it gives no role to a group holding one",
				domain.GroupName(g), e.Names().Person(ctx, bg))
		}
	}
	return nil
}

// principalName names a request's principal for messages.
func (e *Engine) principalName(ctx context.Context, r *domain.Request) string {
	return e.Names().Principal(ctx, r.PrincipalID, r.PrincipalKind)
}
