package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

const (
	rmBase = "roleManagement/directory/"
	pgBase = "identityGovernance/privilegedAccess/group/"
)

// target is what a user command acts on: a directory role or a group's
// membership or ownership, with the name people know it by.
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

// targetFlags are --group and --access.
type targetFlags struct {
	group  bool
	access string
}

func (tf *targetFlags) add(c *cobra.Command) {
	c.Flags().BoolVar(&tf.group, "group", false, "the target is a group (PIM for Groups): give its display name or object id")
	c.Flags().StringVar(&tf.access, "access", domain.AccessMember, "member or owner (with --group)")
}

// resolveTarget reads the ROLE or GROUP argument. A group may be named by
// its display name: it is looked up among the caller's own eligible and
// active group assignments (the API's $expand=group), so a name never
// reaches a group the caller has nothing to do with.
func (r *runner) resolveTarget(ctx context.Context, cmd string, pos []string, tf targetFlags, c *Client) (target, error) {
	if len(pos) != 1 {
		if tf.group {
			return target{}, usagef("%s --group needs one group: its display name or object id", cmd)
		}
		return target{}, usagef("%s needs one role: its display name (quote it: \"Global Administrator\") or template id", cmd)
	}
	arg := strings.TrimSpace(pos[0])
	if tf.group {
		acc := strings.ToLower(tf.access)
		if acc != domain.AccessMember && acc != domain.AccessOwner {
			return target{}, usagef("--access must be member or owner, got %q", tf.access)
		}
		groups, err := r.myGroups(ctx, c)
		if err != nil {
			return target{}, err
		}
		if gid, err := domain.ParseObjectID("--group", arg); err == nil {
			return target{group: true, id: string(gid), access: acc, name: acc + " of group " + groupLabel(groups, gid)}, nil
		}
		var names []string
		for id, name := range groups {
			if strings.EqualFold(name, arg) {
				return target{group: true, id: string(id), access: acc, name: acc + " of group " + name}, nil
			}
			names = append(names, name)
		}
		msg := fmt.Sprintf("%s --group: no group of yours is called %q; give a group's object id, or the display name of a group you are eligible for (jitpim roles --group lists them)", cmd, arg)
		if s := closest(arg, names); len(s) > 0 {
			msg += "; did you mean " + quoteAll(s) + "?"
		}
		return target{}, usageError{msg}
	}
	if role, ok := domain.BuiltInRoleByName(arg); ok {
		return target{id: string(role.ID), name: role.DisplayName}, nil
	}
	if rid, err := domain.ParseObjectID("role", arg); err == nil {
		if role, ok := domain.BuiltInRoleByID(rid); ok {
			return target{id: string(role.ID), name: role.DisplayName}, nil
		}
		return target{id: string(rid), name: "role " + string(rid)}, nil
	}
	names := make([]string, len(domain.BuiltInRoles))
	for i, role := range domain.BuiltInRoles {
		names[i] = role.DisplayName
	}
	msg := fmt.Sprintf("unknown role %q: give a built-in role's display name or a role template id (for a group, use --group GROUP)", arg)
	if s := closest(arg, names); len(s) > 0 {
		msg += "; did you mean " + quoteAll(s) + "?"
	}
	return target{}, usageError{msg}
}

// myGroups maps the groups the caller is eligible for or holds to their
// display names (empty when the directory could not name one).
func (r *runner) myGroups(ctx context.Context, c *Client) (map[domain.ObjectID]string, error) {
	out := map[domain.ObjectID]string{}
	for _, set := range []string{"eligibilityScheduleInstances", "assignmentScheduleInstances"} {
		items, err := wire.ListAll[scheduleWithNames](ctx, c, pgBase+set+"/filterByCurrentUser(on='principal')?$expand=group")
		if err != nil {
			return nil, err
		}
		for _, in := range items {
			if in.Group != nil && in.Group.DisplayName != "" {
				out[in.GroupID] = in.Group.DisplayName
			} else if _, ok := out[in.GroupID]; !ok {
				out[in.GroupID] = ""
			}
		}
	}
	return out, nil
}

// groupLabel names a group: its display name with the id as detail, or the
// id marked when no name is known.
func groupLabel(names map[domain.ObjectID]string, id domain.ObjectID) string {
	if n := names[id]; n != "" {
		return n
	}
	return string(id) + " (name not found)"
}

// closest suggests up to three names near a mistyped one: those it is a
// part of, else those a few edits away.
func closest(typed string, names []string) []string {
	typed = strings.ToLower(strings.TrimSpace(typed))
	if typed == "" {
		return nil
	}
	var out []string
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), typed) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		best := max(2, len(typed)/4)
		for _, n := range names {
			if d := distance(typed, n); d <= best {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out[:min(len(out), 3)]
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, " or ")
}

func (r *runner) me(c *Client) (string, error) {
	id, err := TokenObjectID(c.Token)
	if err != nil {
		return "", usagef("%v", err)
	}
	return id, nil
}

func (r *runner) userCommands() []*cobra.Command {
	var tfA, tfD, tfE targetFlags
	var dur, just, ticket, system, start string
	activate := &cobra.Command{Use: "activate ROLE | --group GROUP", Short: "activate a role or group you are eligible for",
		Example: "  jitpim activate \"Exchange Administrator\" --duration PT1H --justification \"INC0012345 mailbox outage\" --ticket INC0012345\n" +
			"  jitpim activate --group PAG-DEV-TEAM --duration PT2H --justification deploy\n" +
			"  jitpim activate \"Exchange Administrator\" --start 2026-03-07T22:00:00Z --duration PT2H --justification \"planned cutover\"",
		RunE: r.run(func(ctx context.Context, args []string) error {
			return r.activate(ctx, args, tfA, dur, just, ticket, system, start)
		})}
	tfA.add(activate)
	activate.Flags().StringVar(&dur, "duration", "", "how long, as an ISO 8601 duration, e.g. PT1H")
	activate.Flags().StringVar(&just, "justification", "", "why you need it")
	activate.Flags().StringVar(&ticket, "ticket", "", "ticket number, e.g. INC0012345")
	activate.Flags().StringVar(&system, "ticket-system", "", "ticket system, e.g. ServiceNow")
	activate.Flags().StringVar(&start, "start", "", "start later (scheduled activation), as RFC 3339, e.g. 2026-03-07T22:00:00Z")

	var djust string
	deactivate := &cobra.Command{Use: "deactivate ROLE | --group GROUP", Short: "end an activation early",
		Example: "  jitpim deactivate \"Exchange Administrator\"",
		RunE:    r.run(func(ctx context.Context, args []string) error { return r.deactivate(ctx, args, tfD, djust) })}
	tfD.add(deactivate)
	deactivate.Flags().StringVar(&djust, "justification", "", "why (optional)")

	var ejust, edur string
	var active bool
	extend := &cobra.Command{Use: "extend ROLE | --group GROUP", Short: "ask an administrator to extend your assignment",
		Example: "  jitpim extend \"Helpdesk Administrator\" --justification \"still on the service desk\" --duration P90D",
		RunE:    r.run(func(ctx context.Context, args []string) error { return r.extend(ctx, args, tfE, ejust, edur, active) })}
	tfE.add(extend)
	extend.Flags().StringVar(&ejust, "justification", "", "why it should be extended")
	extend.Flags().StringVar(&edur, "duration", "", "how much longer, e.g. P90D (optional)")
	extend.Flags().BoolVar(&active, "active", false, "extend an active assignment instead of an eligible one")

	var group bool
	roles := &cobra.Command{Use: "roles", Short: "your eligible and active roles (--group: groups)", Args: noArgs,
		RunE: r.run(func(ctx context.Context, args []string) error { return r.roles(ctx, group) })}
	roles.Flags().BoolVar(&group, "group", false, "group memberships and ownerships instead of directory roles")
	return []*cobra.Command{roles, activate, deactivate, extend}
}

func (r *runner) activate(ctx context.Context, args []string, tf targetFlags, dur, just, ticket, system, start string) error {
	if len(args) == 1 && !tf.group {
		if _, err := r.resolveTarget(ctx, "activate", args, tf, nil); err != nil {
			return err // a mistyped role is a usage error before the token is looked at
		}
	}
	if dur == "" {
		return usagef("activate needs --duration, e.g. --duration PT1H")
	}
	if _, err := domain.ParseISODuration(dur); err != nil {
		return usagef("--duration: %v", err)
	}
	if start != "" {
		if _, err := time.Parse(time.RFC3339, start); err != nil {
			return usagef("--start: %q is not an RFC 3339 time such as 2026-03-07T22:00:00Z", start)
		}
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	t, err := r.resolveTarget(ctx, "activate", args, tf, c)
	if err != nil {
		return err
	}
	me, err := r.me(c)
	if err != nil {
		return err
	}
	body := map[string]any{"action": "selfActivate", "principalId": me, "justification": just,
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": dur}}}
	if ticket != "" || system != "" {
		body["ticketInfo"] = map[string]any{"ticketNumber": ticket, "ticketSystem": system}
	}
	if start != "" {
		body["scheduleInfo"].(map[string]any)["startDateTime"] = start
	}
	t.fields(body)
	return r.submit(ctx, c, t.requests(false), body, func(q wire.Request) string {
		switch q.Status {
		case domain.StatusProvisioned, domain.StatusGranted:
			return fmt.Sprintf("%s is active until %s (request %s).", t.name, text(q.ScheduleInfo.Expiration.EndDateTime), q.ID)
		case domain.StatusPendingApproval:
			return fmt.Sprintf("%s: waiting for approval (request %s); approvers see it with `jitpim approvals`. No access until it is approved.", t.name, q.ID)
		case domain.StatusScheduleCreated:
			return fmt.Sprintf("%s starts at %s and is active until %s (request %s). No access until then.", t.name,
				text(q.ScheduleInfo.StartDateTime), text(q.ScheduleInfo.Expiration.EndDateTime), q.ID)
		}
		return fmt.Sprintf("%s: %s (request %s).", t.name, q.Status, q.ID)
	})
}

func (r *runner) submit(ctx context.Context, c *Client, path string, body map[string]any, human func(wire.Request) string) error {
	var q wire.Request
	if err := c.Call(ctx, "POST", path, body, nil, &q); err != nil {
		return err
	}
	if r.json {
		return r.printJSON(q)
	}
	fmt.Fprintln(r.Stdout, human(q))
	return nil
}

func (r *runner) deactivate(ctx context.Context, args []string, tf targetFlags, just string) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	t, err := r.resolveTarget(ctx, "deactivate", args, tf, c)
	if err != nil {
		return err
	}
	me, err := r.me(c)
	if err != nil {
		return err
	}
	body := map[string]any{"action": "selfDeactivate", "principalId": me}
	if just != "" {
		body["justification"] = just
	}
	t.fields(body)
	return r.submit(ctx, c, t.requests(false), body, func(q wire.Request) string {
		return fmt.Sprintf("%s deactivated: %s (request %s).", t.name, q.Status, q.ID)
	})
}

func (r *runner) extend(ctx context.Context, args []string, tf targetFlags, just, dur string, active bool) error {
	if strings.TrimSpace(just) == "" {
		return usagef("extend needs --justification: say why the assignment should be extended")
	}
	if dur != "" {
		if _, err := domain.ParseISODuration(dur); err != nil {
			return usagef("--duration: %v", err)
		}
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	t, err := r.resolveTarget(ctx, "extend", args, tf, c)
	if err != nil {
		return err
	}
	me, err := r.me(c)
	if err != nil {
		return err
	}
	body := map[string]any{"action": "selfExtend", "principalId": me, "justification": just}
	if dur != "" {
		body["scheduleInfo"] = map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": dur}}
	}
	t.fields(body)
	what := "eligible"
	if active {
		what = "active"
	}
	return r.submit(ctx, c, t.requests(!active), body, func(q wire.Request) string {
		return fmt.Sprintf("Asked to extend your %s assignment of %s: %s (request %s); an administrator decides.", what, t.name, q.Status, q.ID)
	})
}

// scheduleWithNames is a schedule or request with what $expand adds: the
// principal's and the role's or group's names.
type scheduleWithNames struct {
	wire.Schedule
	Principal      *named `json:"principal"`
	RoleDefinition *named `json:"roleDefinition"`
	Group          *named `json:"group"`
}

type requestWithNames struct {
	wire.Request
	Principal      *named `json:"principal"`
	RoleDefinition *named `json:"roleDefinition"`
	Group          *named `json:"group"`
}

type named struct {
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// roleLabel names a role: the API's name, else a built-in name, else the id marked.
func roleLabel(id domain.ObjectID, n *named) string {
	if n != nil && n.DisplayName != "" {
		return n.DisplayName
	}
	if role, ok := domain.BuiltInRoleByID(id); ok {
		return role.DisplayName
	}
	return string(id) + " (name not found)"
}

func (r *runner) roles(ctx context.Context, group bool) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	base, elig, act, sched, expand := rmBase, "roleEligibilityScheduleInstances", "roleAssignmentScheduleInstances", "roleAssignmentSchedules", "roleDefinition"
	if group {
		base, elig, act, sched, expand = pgBase, "eligibilityScheduleInstances", "assignmentScheduleInstances", "assignmentSchedules", "group"
	}
	mine := "/filterByCurrentUser(on='principal')?$expand=" + expand
	eligible, err := wire.ListAll[scheduleWithNames](ctx, c, base+elig+mine)
	if err != nil {
		return err
	}
	active, err := wire.ListAll[scheduleWithNames](ctx, c, base+act+mine)
	if err != nil {
		return err
	}
	// Scheduled access is a schedule but not yet an instance: listed as upcoming.
	schedules, err := wire.ListAll[scheduleWithNames](ctx, c, base+sched+mine)
	if err != nil {
		return err
	}
	started := map[string]bool{}
	for _, in := range active {
		started[in.RoleAssignmentScheduleID+in.AssignmentScheduleID] = true
	}
	var upcoming []scheduleWithNames
	for _, s := range schedules {
		if !started[s.ID] {
			if s.ScheduleInfo != nil {
				s.StartDateTime, s.EndDateTime = s.ScheduleInfo.StartDateTime, s.ScheduleInfo.Expiration.EndDateTime
			}
			upcoming = append(upcoming, s)
		}
	}
	if r.json {
		return r.printJSON(map[string]any{"eligible": nonNil(eligible), "active": nonNil(active), "upcoming": nonNil(upcoming)})
	}
	if len(eligible)+len(active)+len(upcoming) == 0 {
		if group {
			fmt.Fprintln(r.Stdout, "You have no eligible or active group memberships or ownerships.")
		} else {
			fmt.Fprintln(r.Stdout, "You have no eligible or active roles. (For groups: jitpim roles --group)")
		}
		return nil
	}
	tw := tabwriter.NewWriter(r.Stdout, 2, 4, 2, ' ', 0)
	if group {
		fmt.Fprintln(tw, "STATE\tGROUP\tACCESS\tUNTIL\tHOW\tGROUP ID")
	} else {
		fmt.Fprintln(tw, "STATE\tROLE\tUNTIL\tHOW\tROLE ID")
	}
	for _, set := range []struct {
		state string
		items []scheduleWithNames
	}{{"eligible", eligible}, {"active", active}, {"upcoming", upcoming}} {
		for _, in := range set.items {
			until := "permanent"
			if end := text(in.EndDateTime); end != "" {
				until = end
			}
			if set.state == "upcoming" {
				until = "starts at " + text(in.StartDateTime) + ", until " + until
			}
			how := ""
			if set.state != "eligible" {
				how = strings.ToLower(in.AssignmentType)
			}
			if group {
				name := string(in.GroupID) + " (name not found)"
				if in.Group != nil && in.Group.DisplayName != "" {
					name = in.Group.DisplayName
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", set.state, name, in.AccessID, until, how, in.GroupID)
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", set.state, roleLabel(in.RoleDefinitionID, in.RoleDefinition), until, how, in.RoleDefinitionID)
			}
		}
	}
	return tw.Flush()
}

func (r *runner) approverCommands() []*cobra.Command {
	approvals := &cobra.Command{Use: "approvals", Short: "approvals waiting for you", Args: noArgs,
		RunE: r.run(func(ctx context.Context, args []string) error { return r.approvals(ctx) })}
	var ajust, djust string
	approve := &cobra.Command{Use: "approve ID", Short: "approve a request waiting for you",
		Example: "  jitpim approve 5b1c… --justification \"CAB approved CHG0040001\"",
		RunE:    r.run(func(ctx context.Context, args []string) error { return r.decide(ctx, args, "Approve", ajust) })}
	approve.Flags().StringVar(&ajust, "justification", "", "the reason for your decision")
	deny := &cobra.Command{Use: "deny ID", Short: "deny a request waiting for you",
		RunE: r.run(func(ctx context.Context, args []string) error { return r.decide(ctx, args, "Deny", djust) })}
	deny.Flags().StringVar(&djust, "justification", "", "the reason for your decision")
	return []*cobra.Command{approvals, approve, deny}
}

func (r *runner) approvals(ctx context.Context) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	const mine = "/filterByCurrentUser(on='approver')"
	roles, err := wire.ListAll[requestWithNames](ctx, c, rmBase+"roleAssignmentScheduleRequests"+mine+"?$expand=principal,roleDefinition")
	if err != nil {
		return err
	}
	groups, err := wire.ListAll[requestWithNames](ctx, c, pgBase+"assignmentScheduleRequests"+mine+"?$expand=principal,group")
	if err != nil {
		return err
	}
	all := append(roles, groups...)
	ext, eligible, err := r.extensionRequests(ctx, c, all)
	if err != nil {
		return err
	}
	all = slices.DeleteFunc(all, func(q requestWithNames) bool { return isExtension(q.Request) })
	if r.json {
		plain := make([]wire.Request, 0, len(all)+len(ext))
		for _, p := range append(all, ext...) {
			plain = append(plain, p.Request)
		}
		return r.printJSON(map[string]any{"value": nonNil(plain)})
	}
	if len(all) == 0 && len(ext) == 0 {
		fmt.Fprintln(r.Stdout, "No approvals are waiting for you.")
		return nil
	}
	if len(ext) > 0 {
		if err := r.printExtensions(ctx, c, ext, eligible); err != nil {
			return err
		}
		if len(all) == 0 {
			fmt.Fprintln(r.Stdout, "\nDecide with: jitpim approve ID --justification \"…\"   or   jitpim deny ID --justification \"…\"")
			return nil
		}
		fmt.Fprintln(r.Stdout, "\nActivations waiting for approval:")
	}
	tw := tabwriter.NewWriter(r.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUESTER\tTARGET\tDURATION\tTICKET\tJUSTIFICATION\tID")
	for _, p := range all {
		tgt := roleLabel(p.RoleDefinitionID, p.RoleDefinition)
		if p.GroupID != "" {
			g := string(p.GroupID) + " (name not found)"
			if p.Group != nil && p.Group.DisplayName != "" {
				g = p.Group.DisplayName
			}
			tgt = p.AccessID + " of group " + g
		}
		who := string(p.PrincipalID) + " (name not found)"
		if n := p.Principal; n != nil && n.DisplayName != "" {
			who = domain.PersonName(domain.User{DisplayName: n.DisplayName, UserPrincipalName: n.UserPrincipalName})
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", who, tgt, dur, ticket, oneLine(p.Justification, 60), p.ID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, "\nDecide with: jitpim approve ID --justification \"…\"   or   jitpim deny ID --justification \"…\"")
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (r *runner) decide(ctx context.Context, args []string, result, just string) error {
	name := strings.ToLower(result)
	if len(args) != 1 {
		return usagef("%s needs one request id (jitpim approvals lists them)", name)
	}
	id := args[0]
	if !domain.IsGUID(id) {
		return usagef("%s: %q is not a request id", name, id)
	}
	c, err := r.client()
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
	if just != "" {
		body["justification"] = just
	}
	if err := c.Call(ctx, "PATCH", base+id+decisions+step, body, nil, nil); err != nil {
		return err
	}
	if r.json {
		return r.printJSON(map[string]any{"id": id, "stepId": step, "reviewResult": result})
	}
	verb := map[string]string{"Approve": "Approved", "Deny": "Denied"}[result]
	fmt.Fprintf(r.Stdout, "%s request %s (%s).\n", verb, id, step)
	return nil
}

// text reads an optional string of an answer: null reads as empty.
func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
