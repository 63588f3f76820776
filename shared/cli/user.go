package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

const (
	rmBase = "roleManagement/directory/"
	pgBase = "identityGovernance/privilegedAccess/group/"
)

// target is what a user command acts on: a directory role or a group's
// membership or ownership.
type target struct {
	group  bool
	id     string
	access string
	name   string
}

func (t target) fields(b map[string]any) {
	if t.group {
		b["groupId"], b["accessId"] = t.id, t.access
	} else {
		b["roleDefinitionId"], b["directoryScopeId"] = t.id, domain.TenantScope
	}
}

func (t target) requests(eligibility bool) string {
	switch {
	case t.group && eligibility:
		return pgBase + "eligibilityScheduleRequests"
	case t.group:
		return pgBase + "assignmentScheduleRequests"
	case eligibility:
		return rmBase + "roleEligibilityScheduleRequests"
	}
	return rmBase + "roleAssignmentScheduleRequests"
}

// targetFlags adds --group and --access.
type targetFlags struct {
	group  *bool
	access *string
}

func addTargetFlags(fs *flag.FlagSet) targetFlags {
	return targetFlags{group: fs.Bool("group", false, "the target is a group's object id (PIM for Groups)"),
		access: fs.String("access", domain.AccessMember, "member or owner (with --group)")}
}

func resolveTarget(cmd string, pos []string, tf targetFlags) (target, error) {
	if len(pos) != 1 {
		if *tf.group {
			return target{}, usagef("%s --group needs one group object id", cmd)
		}
		return target{}, usagef("%s needs one role: its display name (quote it: \"Global Administrator\") or template id", cmd)
	}
	arg := strings.TrimSpace(pos[0])
	if *tf.group {
		gid, err := domain.ParseObjectID("--group", arg)
		if err != nil {
			return target{}, usagef("%s --group takes the group's object id (jitpim roles --group lists yours), got %q", cmd, arg)
		}
		acc := strings.ToLower(*tf.access)
		if acc != domain.AccessMember && acc != domain.AccessOwner {
			return target{}, usagef("--access must be member or owner, got %q", *tf.access)
		}
		return target{group: true, id: string(gid), access: acc, name: acc + " of group " + arg}, nil
	}
	if r, ok := domain.BuiltInRoleByName(arg); ok {
		return target{id: string(r.ID), name: r.DisplayName}, nil
	}
	if rid, err := domain.ParseObjectID("role", arg); err == nil {
		if r, ok := domain.BuiltInRoleByID(rid); ok {
			return target{id: string(r.ID), name: r.DisplayName}, nil
		}
		return target{id: string(rid), name: "role " + string(rid)}, nil
	}
	return target{}, usagef("unknown role %q: give a built-in role's display name or a role template id (for a group, use --group GROUP_ID)", arg)
}

func (e *Env) me(c *Client) (string, error) {
	id, err := TokenObjectID(c.Token)
	if err != nil {
		return "", usagef("%v", err)
	}
	return id, nil
}

func (e *Env) activate(ctx context.Context, args []string) error {
	fs, o := e.flags("activate")
	tf := addTargetFlags(fs)
	dur := fs.String("duration", "", "how long, e.g. PT1H")
	just := fs.String("justification", "", "why you need it")
	ticket := fs.String("ticket", "", "ticket number, e.g. INC0012345")
	system := fs.String("ticket-system", "", "ticket system, e.g. ServiceNow")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := resolveTarget("activate", pos, tf)
	if err != nil {
		return err
	}
	if *dur == "" {
		return usagef("activate needs --duration, e.g. --duration PT1H")
	}
	if _, err := domain.ParseISODuration(*dur); err != nil {
		return usagef("--duration: %v", err)
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	me, err := e.me(c)
	if err != nil {
		return err
	}
	body := map[string]any{"action": "selfActivate", "principalId": me, "justification": *just,
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": *dur}}}
	if *ticket != "" || *system != "" {
		body["ticketInfo"] = map[string]any{"ticketNumber": *ticket, "ticketSystem": *system}
	}
	t.fields(body)
	return e.submit(ctx, c, o, t.requests(false), body, func(r wire.Request) string {
		switch r.Status {
		case domain.StatusProvisioned, domain.StatusGranted:
			return fmt.Sprintf("%s is active until %s (request %s).", t.name, text(r.ScheduleInfo.Expiration.EndDateTime), r.ID)
		case domain.StatusPendingApproval:
			return fmt.Sprintf("%s: waiting for approval (request %s); approvers see it with `jitpim approvals`. No access until it is approved.", t.name, r.ID)
		}
		return fmt.Sprintf("%s: %s (request %s).", t.name, r.Status, r.ID)
	})
}

func (e *Env) submit(ctx context.Context, c *Client, o *opts, path string, body map[string]any, human func(wire.Request) string) error {
	var r wire.Request
	if err := c.Call(ctx, "POST", path, body, nil, &r); err != nil {
		return err
	}
	if o.json {
		return e.printJSON(r)
	}
	fmt.Fprintln(e.Stdout, human(r))
	return nil
}

func (e *Env) deactivate(ctx context.Context, args []string) error {
	fs, o := e.flags("deactivate")
	tf := addTargetFlags(fs)
	just := fs.String("justification", "", "why (optional)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := resolveTarget("deactivate", pos, tf)
	if err != nil {
		return err
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	me, err := e.me(c)
	if err != nil {
		return err
	}
	body := map[string]any{"action": "selfDeactivate", "principalId": me}
	if *just != "" {
		body["justification"] = *just
	}
	t.fields(body)
	return e.submit(ctx, c, o, t.requests(false), body, func(r wire.Request) string {
		return fmt.Sprintf("%s deactivated: %s (request %s).", t.name, r.Status, r.ID)
	})
}

func (e *Env) extend(ctx context.Context, args []string) error {
	fs, o := e.flags("extend")
	tf := addTargetFlags(fs)
	just := fs.String("justification", "", "why it should be extended")
	dur := fs.String("duration", "", "how much longer, e.g. P90D (optional)")
	active := fs.Bool("active", false, "extend an active assignment instead of an eligible one")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := resolveTarget("extend", pos, tf)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*just) == "" {
		return usagef("extend needs --justification: say why the assignment should be extended")
	}
	if *dur != "" {
		if _, err := domain.ParseISODuration(*dur); err != nil {
			return usagef("--duration: %v", err)
		}
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	me, err := e.me(c)
	if err != nil {
		return err
	}
	body := map[string]any{"action": "selfExtend", "principalId": me, "justification": *just}
	if *dur != "" {
		body["scheduleInfo"] = map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": *dur}}
	}
	t.fields(body)
	what := "eligible"
	if *active {
		what = "active"
	}
	return e.submit(ctx, c, o, t.requests(!*active), body, func(r wire.Request) string {
		return fmt.Sprintf("Asked to extend your %s assignment of %s: %s (request %s); an administrator decides.", what, t.name, r.Status, r.ID)
	})
}

func (e *Env) roles(ctx context.Context, args []string) error {
	fs, o := e.flags("roles")
	group := fs.Bool("group", false, "group memberships and ownerships instead of directory roles")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("roles takes no arguments, got %q", pos[0])
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	base, elig, act := rmBase, "roleEligibilityScheduleInstances", "roleAssignmentScheduleInstances"
	if *group {
		base, elig, act = pgBase, "eligibilityScheduleInstances", "assignmentScheduleInstances"
	}
	const mine = "/filterByCurrentUser(on='principal')"
	eligible, err := wire.ListAll[wire.Schedule](ctx, c, base+elig+mine)
	if err != nil {
		return err
	}
	active, err := wire.ListAll[wire.Schedule](ctx, c, base+act+mine)
	if err != nil {
		return err
	}
	if o.json {
		return e.printJSON(map[string]any{"eligible": nonNil(eligible), "active": nonNil(active)})
	}
	if len(eligible)+len(active) == 0 {
		if *group {
			fmt.Fprintln(e.Stdout, "You have no eligible or active group memberships or ownerships.")
		} else {
			fmt.Fprintln(e.Stdout, "You have no eligible or active roles. (For groups: jitpim roles --group)")
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 2, 4, 2, ' ', 0)
	if *group {
		fmt.Fprintln(tw, "STATE\tGROUP\tACCESS\tUNTIL\tHOW")
	} else {
		fmt.Fprintln(tw, "STATE\tROLE\tROLE ID\tUNTIL\tHOW")
	}
	for _, set := range []struct {
		state string
		items []wire.Schedule
	}{{"eligible", eligible}, {"active", active}} {
		for _, in := range set.items {
			until := "permanent"
			if end := text(in.EndDateTime); end != "" {
				until = end
			}
			how := ""
			if set.state == "active" {
				how = strings.ToLower(in.AssignmentType)
			}
			if *group {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", set.state, in.GroupID, in.AccessID, until, how)
			} else {
				name := string(in.RoleDefinitionID)
				if r, ok := domain.BuiltInRoleByID(in.RoleDefinitionID); ok {
					name = r.DisplayName
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", set.state, name, in.RoleDefinitionID, until, how)
			}
		}
	}
	return tw.Flush()
}

func (e *Env) approvals(ctx context.Context, args []string) error {
	fs, o := e.flags("approvals")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("approvals takes no arguments, got %q", pos[0])
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	const mine = "/filterByCurrentUser(on='approver')"
	roles, err := wire.ListAll[wire.Request](ctx, c, rmBase+"roleAssignmentScheduleRequests"+mine)
	if err != nil {
		return err
	}
	groups, err := wire.ListAll[wire.Request](ctx, c, pgBase+"assignmentScheduleRequests"+mine)
	if err != nil {
		return err
	}
	all := append(roles, groups...)
	if o.json {
		return e.printJSON(map[string]any{"value": nonNil(all)})
	}
	if len(all) == 0 {
		fmt.Fprintln(e.Stdout, "No approvals are waiting for you.")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREQUESTER\tTARGET\tDURATION\tTICKET\tJUSTIFICATION")
	for _, p := range all {
		tgt := string(p.RoleDefinitionID)
		if r, ok := domain.BuiltInRoleByID(p.RoleDefinitionID); ok {
			tgt = r.DisplayName
		}
		if p.GroupID != "" {
			tgt = p.AccessID + " of group " + string(p.GroupID)
		}
		exp := p.ScheduleInfo.Expiration
		dur := text(exp.Duration)
		if dur == "" && text(exp.EndDateTime) != "" {
			s, err1 := time.Parse(time.RFC3339, text(p.ScheduleInfo.StartDateTime))
			end, err2 := time.Parse(time.RFC3339, text(exp.EndDateTime))
			if err1 == nil && err2 == nil {
				dur = domain.FormatISODuration(end.Sub(s))
			}
		}
		ticket := strings.TrimSpace(text(p.TicketInfo.TicketSystem) + " " + text(p.TicketInfo.TicketNumber))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.PrincipalID, tgt, dur, ticket, oneLine(p.Justification, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, "\nDecide with: jitpim approve ID --justification \"…\"   or   jitpim deny ID --justification \"…\"")
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (e *Env) decide(ctx context.Context, args []string, result string) error {
	name := strings.ToLower(result)
	fs, o := e.flags(name)
	just := fs.String("justification", "", "the reason for your decision")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("%s needs one request id (jitpim approvals lists them)", name)
	}
	id := pos[0]
	if !domain.IsGUID(id) {
		return usagef("%s: %q is not a request id", name, id)
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	// Directory roles answer in Graph beta's shape (steps), PIM for Groups
	// in v1.0's (stages, a navigation property to expand).
	var role wire.Approval
	var group wire.GroupApproval
	base, decisions := rmBase+"roleAssignmentApprovals/", "/steps/"
	err = c.Call(ctx, "GET", base+id, nil, nil, &role)
	if ae := new(APIError); errors.As(err, &ae) && ae.Status == 404 {
		base, decisions = pgBase+"assignmentApprovals/", "/stages/"
		err = c.Call(ctx, "GET", base+id+"?$expand=stages", nil, nil, &group)
	}
	if err != nil {
		return err
	}
	waiting := func(mine bool, status string) bool { return mine && (status == "InProgress" || status == "Escalated") }
	step := ""
	for _, s := range role.Steps {
		if waiting(s.AssignedToMe, s.Status) {
			step = s.ID
			break
		}
	}
	for _, s := range group.Stages {
		if step == "" && waiting(s.AssignedToMe, s.Status) {
			step = s.ID
			break
		}
	}
	if step == "" {
		return refusedError{fmt.Sprintf("no stage of request %s is waiting for your decision (it may be decided already, or you are not its approver, or it is your own request)", id)}
	}
	body := map[string]any{"reviewResult": result}
	if *just != "" {
		body["justification"] = *just
	}
	if err := c.Call(ctx, "PATCH", base+id+decisions+step, body, nil, nil); err != nil {
		return err
	}
	if o.json {
		return e.printJSON(map[string]any{"id": id, "stepId": step, "reviewResult": result})
	}
	verb := map[string]string{"Approve": "Approved", "Deny": "Denied"}[result]
	fmt.Fprintf(e.Stdout, "%s request %s (%s).\n", verb, id, step)
	return nil
}

// text reads an optional string of an answer: null reads as empty.
func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
