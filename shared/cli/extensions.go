package cli

import (
	"context"
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

// isExtension tells a holder's selfExtend or selfRenew, which an
// administrator decides, from an activation an approver decides.
func isExtension(q wire.Request) bool {
	a, _ := domain.ParseAction(string(q.Action))
	return a == domain.ActionSelfExtend || a == domain.ActionSelfRenew
}

// extensionRequests lists the extensions and renewals waiting for the
// caller's decision: eligibilities (roles and groups) and the active
// assignments among others, each with the kind it extends.
func (r *runner) extensionRequests(ctx context.Context, c *Client, active []requestWithNames) ([]requestWithNames, []bool, error) {
	const mine = "/filterByCurrentUser(on='approver')"
	roles, err := wire.ListAll[requestWithNames](ctx, c, rmBase+"roleEligibilityScheduleRequests"+mine+"?$expand=principal,roleDefinition")
	if err != nil {
		return nil, nil, err
	}
	groups, err := wire.ListAll[requestWithNames](ctx, c, pgBase+"eligibilityScheduleRequests"+mine+"?$expand=principal,group")
	if err != nil {
		return nil, nil, err
	}
	var out []requestWithNames
	var eligible []bool
	for _, q := range append(roles, groups...) {
		out, eligible = append(out, q), append(eligible, true)
	}
	for _, q := range active {
		if isExtension(q.Request) {
			out, eligible = append(out, q), append(eligible, false)
		}
	}
	return out, eligible, nil
}

// printExtensions writes the extension table: who, what, the current end
// (read from the schedule the request names) and the end asked for.
func (r *runner) printExtensions(ctx context.Context, c *Client, list []requestWithNames, eligible []bool) error {
	fmt.Fprintln(r.Stdout, "Extensions and renewals waiting for an administrator:")
	tw := tabwriter.NewWriter(r.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUESTER\tTARGET\tASKS\tCURRENT END\tREQUESTED END\tJUSTIFICATION\tID")
	for i, p := range list {
		kind, base := "active", rmBase+"roleAssignmentSchedules"
		switch {
		case eligible[i] && p.GroupID != "":
			kind, base = "eligible", pgBase+"eligibilitySchedules"
		case eligible[i]:
			kind, base = "eligible", rmBase+"roleEligibilitySchedules"
		case p.GroupID != "":
			base = pgBase + "assignmentSchedules"
		}
		asks := "extend " + kind
		if a, _ := domain.ParseAction(string(p.Action)); a == domain.ActionSelfRenew {
			asks = "renew " + kind
		}
		current := "ended"
		if id := text(p.TargetScheduleID); id != "" {
			// Admins read others' schedules through a filtered listing.
			filter := "principalId eq '" + string(p.PrincipalID) + "' and roleDefinitionId eq '" + string(p.RoleDefinitionID) + "'"
			if p.GroupID != "" {
				filter = "principalId eq '" + string(p.PrincipalID) + "' and groupId eq '" + string(p.GroupID) + "'"
			}
			scheds, err := wire.ListAll[wire.Schedule](ctx, c, base+"?$filter="+url.QueryEscape(filter))
			if err != nil {
				return err
			}
			for _, s := range scheds {
				if s.ID == id {
					current = endOf(s.ScheduleInfo)
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", requesterName(p), targetName(p), asks, current,
			endOf(&p.ScheduleInfo), oneLine(p.Justification, 50), p.ID)
	}
	return tw.Flush()
}

func endOf(si *wire.ScheduleInfo) string {
	if si == nil {
		return "?"
	}
	if e := text(si.Expiration.EndDateTime); e != "" {
		return e
	}
	return "permanent"
}

func requesterName(p requestWithNames) string {
	if n := p.Principal; n != nil && n.DisplayName != "" {
		return domain.PersonName(domain.User{DisplayName: n.DisplayName, UserPrincipalName: n.UserPrincipalName})
	}
	return string(p.PrincipalID) + " (name not found)"
}

func targetName(p requestWithNames) string {
	if p.GroupID == "" {
		return roleLabel(p.RoleDefinitionID, p.RoleDefinition)
	}
	g := string(p.GroupID) + " (name not found)"
	if p.Group != nil && p.Group.DisplayName != "" {
		g = p.Group.DisplayName
	}
	return p.AccessID + " of group " + g
}
