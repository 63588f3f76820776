package portal

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/httpapi"
)

type assignmentsView struct {
	Filter      string // the target key shown alone, "" = all
	FilterName  string
	Rows        []assignmentRow
	Targets     []targetOption
	Ends        []durationOption
	CSRF        string
	More        bool // the listing stopped at its bound
	Principal   string
	Kind        string
	Description string
}

type targetOption struct {
	Key, Name string
	Selected  bool
}

type assignmentRow struct {
	Target, TargetKey, FilterURL string
	Person                       person
	Kind                         string // eligibility or assignment
	KindWords                    string // Eligible, Active, Activated
	Since, Until                 *when
	Changeable                   bool // an admin's assignment, not a person's activation
}

// assignmentEnds are the ends an admin picks for an assignment, counted
// from now; the policy decides which of them it allows.
var assignmentEnds = []time.Duration{0, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour,
	180 * 24 * time.Hour, 365 * 24 * time.Hour}

// maxAssignmentRows bounds one listing: the schedules read for it are
// bounded by the engine's paging, and a page this long is read by nobody.
const maxAssignmentRows = 500

// adminAssignments lists eligible and active assignments of every role,
// group and Azure role (or of one, ?target=), with names; and adds,
// updates, extends and removes them through the engine's admin request
// actions (adminAssign, adminUpdate, adminExtend, adminRemove), so the
// policy's admin rules, the break-glass guard and the audit apply as they
// do for the API.
func (p *Portal) adminAssignments(v *visit, pg page) {
	ctx := v.r.Context()
	view := &assignmentsView{Filter: v.r.URL.Query().Get("target"), CSRF: p.web.CSRFToken(v.sess, "admin/assignments"), Kind: string(domain.KindEligibility)}
	status := http.StatusOK
	if v.r.Method == http.MethodPost {
		view.Filter = v.r.PostForm.Get("filter")
	}
	// The listing's filter is read before any change: a bad one refuses
	// the whole form, so "nothing was changed" is true.
	var only *domain.Target
	if view.Filter != "" {
		t, err := domain.ParseTargetKey(view.Filter)
		if err != nil {
			p.adminFail(v, pg, "admin/assignments", domain.Invalid("filter", "is not a role, group or Azure role"))
			return
		}
		only = &t
		view.FilterName = p.eng.Names().Target(ctx, t)
	}
	if v.r.Method == http.MethodPost {
		f := v.r.PostForm
		msg, err := p.changeAssignment(v, f)
		if err != nil {
			pg.Message, pg.Problem, status = "Nothing was changed: "+messageOf(err), true, httpapi.StatusOf(err)
			view.Principal, view.Kind, view.Description = f.Get("principal"), f.Get("kind"), f.Get("justification")
		} else {
			pg.Message = msg
		}
	}
	n := p.names(v)
	targets := map[string]string{}
	for _, kind := range []domain.RequestKind{domain.KindEligibility, domain.KindAssignment} {
		for _, tk := range []domain.TargetKind{"", domain.TargetAzureRole} {
			f := engine.ScheduleFilter{Kind: kind, TargetKind: tk, Limit: maxAssignmentRows}
			if only != nil {
				t := *only
				f.Match = func(x domain.Target) bool { return x == t }
			}
			list, err := p.eng.ListSchedules(ctx, v.call, f)
			if err != nil {
				p.adminFail(v, pg, "admin/assignments", err)
				return
			}
			view.More = view.More || list.Next != ""
			for _, s := range list.Items {
				name := p.eng.Names().Target(ctx, s.Target)
				targets[s.Target.Key()] = name
				row := assignmentRow{Target: name, TargetKey: s.Target.Key(), Person: n.person(s.PrincipalID), Kind: string(kind),
					Since: at(s.Start), Until: at(s.End), KindWords: "Eligible", Changeable: s.AssignmentType != domain.AssignmentActivated,
					FilterURL: Prefix + "admin/assignments?target=" + url.QueryEscape(s.Target.Key())}
				if kind == domain.KindAssignment {
					row.KindWords = map[bool]string{true: "Active (assigned)", false: "Active (activated)"}[row.Changeable]
				}
				view.Rows = append(view.Rows, row)
			}
		}
	}
	slices.SortStableFunc(view.Rows, func(a, b assignmentRow) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.Person.Name, b.Person.Name), strings.Compare(a.Kind, b.Kind))
	})
	// The add form offers every target jitpim knows: built-in roles, and
	// the groups and Azure roles that have assignments or settings.
	for _, r := range domain.BuiltInRoles {
		t := domain.RoleTarget(r.ID, domain.TenantScope)
		targets[t.Key()] = p.eng.Names().Target(ctx, t)
	}
	if pols, err := p.adm.Policies.ListPolicies(ctx, v.call); err == nil {
		for _, pol := range pols {
			if pol.Scope == domain.ScopeTarget {
				targets[pol.Target.Key()] = p.eng.Names().Target(ctx, pol.Target)
			}
		}
	}
	for k, name := range targets {
		view.Targets = append(view.Targets, targetOption{Key: k, Name: name, Selected: k == view.Filter})
	}
	slices.SortFunc(view.Targets, func(a, b targetOption) int { return strings.Compare(a.Name, b.Name) })
	for _, d := range assignmentEnds {
		o := durationOption{Value: "permanent", Label: "permanently"}
		if d > 0 {
			o = durationOption{Value: domain.FormatISODuration(d), Label: "for " + human(d), Selected: d == 90*24*time.Hour}
		}
		view.Ends = append(view.Ends, o)
	}
	title := "Assignments"
	if view.FilterName != "" {
		title = "Assignments: " + view.FilterName
	}
	if len(view.Rows) == 0 && pg.Message == "" {
		pg.Message = "No eligible or active assignments."
	}
	p.adminPage(v, pg, status, title, adminView{Tab: "admin/assignments", Assignments: view})
}

// changeAssignment submits the admin request the form asks for and says
// in words what happened.
func (p *Portal) changeAssignment(v *visit, f url.Values) (string, error) {
	ctx := v.r.Context()
	op := f.Get("op")
	kind := domain.RequestKind(f.Get("kind"))
	if kind != domain.KindEligibility && kind != domain.KindAssignment {
		return "", domain.Invalid("kind", "choose eligible or active")
	}
	who, err := p.eng.ResolveUser(ctx, "principal", f.Get("principal"))
	if err != nil {
		return "", err
	}
	t, err := domain.ParseTargetKey(f.Get("target"))
	if err != nil {
		return "", domain.Invalid("target", "choose a role, group or Azure role")
	}
	in := engine.Submission{Kind: kind, PrincipalID: who, Target: t, Justification: strings.TrimSpace(f.Get("justification"))}
	var end time.Duration
	if op != "remove" {
		if e := f.Get("end"); e != "permanent" {
			if end, err = domain.ParseISODuration(e); err != nil || end <= 0 {
				return "", domain.Invalid("end", "choose how long the assignment lasts")
			}
		}
	}
	switch op {
	case "add":
		in.Action = domain.ActionAdminAssign
		in.Schedule = domain.ScheduleInfo{ExpirationType: domain.ExpireNever}
		if end > 0 {
			in.Schedule = domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: end}
		}
	case "update", "extend":
		in.Action = map[string]domain.Action{"update": domain.ActionAdminUpdate, "extend": domain.ActionAdminExtend}[op]
		in.Schedule = domain.ScheduleInfo{ExpirationType: domain.ExpireNever}
		if end > 0 {
			in.Schedule = domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDateTime, End: v.call.Now.Add(end)}
		}
	case "remove":
		in.Action = domain.ActionAdminRemove
	default:
		return "", domain.Invalid("op", "choose add, update, extend or remove")
	}
	r, err := p.eng.Submit(ctx, v.call, in)
	p.eng.FlushMail(ctx, v.call)
	if err != nil {
		return "", err
	}
	v.call.Log.Info("assignment changed through the portal", "request_id", r.ID, "action", r.Action, "status", r.Status)
	person, target := p.names(v).person(who).Name, p.eng.Names().Target(ctx, t)
	what := map[domain.RequestKind]string{domain.KindEligibility: "eligible for", domain.KindAssignment: "active in"}[kind]
	until := "permanently"
	if !r.EndAt.IsZero() {
		until = "until " + r.EndAt.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
	}
	switch op {
	case "remove":
		return person + " is no longer " + what + " " + target + ".", nil
	case "add":
		if r.Status == domain.StatusPendingApproval || r.Status == domain.StatusPendingAdminDecision {
			return person + " will be " + what + " " + target + " " + until + " once approved (" + statusWords(r.Status) + ").", nil
		}
	}
	return person + " is " + what + " " + target + " " + until + ".", nil
}
