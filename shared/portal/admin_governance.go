package portal

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/httpapi"
)

type reviewsView struct {
	Definitions []reviewDefinitionRow
	Scopes      []targetOption
	CSRF        string
}

type reviewDefinitionRow struct {
	ID, Name, Scope, Reviewers, Recurrence, Default string
	Instances                                       []reviewInstanceRow
}

type reviewInstanceRow struct {
	ID, Status, Progress string
	Start, End           *when
	Stoppable            bool
}

// maxProgressItems bounds the decision items read to show one instance's progress.
const maxProgressItems = 1000

var adminReviewStatusWords = map[string]string{domain.ReviewStarting: "starting", domain.ReviewInProgress: "in progress",
	domain.ReviewCompleted: "completed, not applied", domain.ReviewApplying: "applying the removals", domain.ReviewApplied: "completed and applied",
	domain.ReviewCanceled: "canceled"}

var recurrenceWords = map[string]string{domain.RecurrenceOnce: "once", domain.RecurrenceWeekly: "weekly", domain.RecurrenceMonthly: "monthly"}

// adminReviews lists access review definitions with their instances and
// progress; creates one, stops an instance, deletes a definition, all
// through the review service.
func (p *Portal) adminReviews(v *visit, pg page) {
	ctx := v.r.Context()
	status := http.StatusOK
	if v.r.Method == http.MethodPost {
		msg, err := p.changeReviews(ctx, v)
		if err != nil {
			pg.Message, pg.Problem, status = "Nothing was changed: "+messageOf(err), true, httpapi.StatusOf(err)
		} else {
			pg.Message = msg
		}
	}
	defs, err := p.adm.Reviews.ListReviewDefinitions(ctx, v.call)
	if err != nil {
		p.adminFail(v, pg, "admin/reviews", err)
		return
	}
	view := &reviewsView{CSRF: p.web.CSRFToken(v.sess, "admin/reviews")}
	n := p.names(v)
	for _, d := range defs {
		row := reviewDefinitionRow{ID: d.ID, Name: d.DisplayName, Scope: p.reviewScopeName(ctx, d.Scope),
			Recurrence: recurrenceWords[d.Settings.Recurrence.Type] + ", " + domain.Plural(d.Settings.DurationInDays, "day") + " each",
			Default:    map[string]string{domain.DefaultApprove: "keep access", domain.DefaultDeny: "remove access", domain.DefaultRecommendation: "follow the recommendation"}[d.Settings.DefaultDecision]}
		if d.Settings.AutoApply {
			row.Default += ", applied automatically"
		}
		var who []string
		for _, r := range d.Reviewers {
			switch r.Kind {
			case domain.ReviewerSelf:
				who = append(who, "each person themselves")
			case domain.ReviewerManager:
				who = append(who, "each person's manager")
			case domain.ReviewerUser:
				who = append(who, n.person(r.ID).Name)
			case domain.ReviewerGroup:
				who = append(who, "members of "+p.eng.Names().Group(ctx, r.ID))
			case domain.ReviewerGroupOwners:
				who = append(who, "the group's owners")
			}
		}
		row.Reviewers = strings.Join(who, ", ")
		insts, err := p.adm.Reviews.ListReviewInstances(ctx, v.call, d.ID, false)
		if err != nil {
			p.adminFail(v, pg, "admin/reviews", err)
			return
		}
		for _, in := range insts {
			ir := reviewInstanceRow{ID: in.ID, Status: adminReviewStatusWords[in.Status], Start: at(in.Start), End: at(in.End),
				Stoppable: in.Status == domain.ReviewInProgress}
			ir.Progress = domain.Plural(in.ItemCount, "assignment") + " to review"
			if in.Status == domain.ReviewInProgress {
				decided, total, err := p.reviewProgress(ctx, v, d.ID, in.ID)
				if err != nil {
					p.adminFail(v, pg, "admin/reviews", err)
					return
				}
				ir.Progress = strconv.Itoa(decided) + " of " + domain.Plural(total, "assignment") + " decided"
			}
			if in.Removed > 0 {
				ir.Progress += ", " + strconv.Itoa(in.Removed) + " removed"
			}
			row.Instances = append(row.Instances, ir)
		}
		view.Definitions = append(view.Definitions, row)
	}
	slices.SortStableFunc(view.Definitions, func(a, b reviewDefinitionRow) int { return strings.Compare(a.Name, b.Name) })
	for _, r := range domain.BuiltInRoles {
		t := domain.RoleTarget(r.ID, domain.TenantScope)
		view.Scopes = append(view.Scopes, targetOption{Key: "role:" + string(r.ID), Name: p.eng.Names().Target(ctx, t)})
	}
	slices.SortFunc(view.Scopes, func(a, b targetOption) int { return strings.Compare(a.Name, b.Name) })
	view.Scopes = append([]targetOption{{Key: "privileged", Name: "Every privileged directory role"}}, view.Scopes...)
	if len(view.Definitions) == 0 && pg.Message == "" {
		pg.Message = "No access reviews are defined."
	}
	p.adminPage(v, pg, status, "Access review definitions", adminView{Tab: "admin/reviews", Reviews: view})
}

// reviewProgress counts the decided items of an open instance.
func (p *Portal) reviewProgress(ctx context.Context, v *visit, defID, instID string) (decided, total int, err error) {
	cursor := ""
	for total < maxProgressItems {
		_, page, err := p.adm.Reviews.ListReviewDecisions(ctx, v.call, defID, instID, false, cursor, 500)
		if err != nil {
			return 0, 0, err
		}
		for _, it := range page.Items {
			total++
			if it.Decision != "" && it.Decision != domain.ReviewNotReviewed {
				decided++
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return decided, total, nil
}

func (p *Portal) reviewScopeName(ctx context.Context, s domain.ReviewScope) string {
	switch s.Kind {
	case domain.ReviewScopeRole:
		return p.eng.Names().Target(ctx, domain.RoleTarget(s.RoleDefinitionID, domain.TenantScope))
	case domain.ReviewScopeGroup:
		return p.eng.Names().Target(ctx, domain.GroupTarget(s.GroupID, s.AccessID))
	case domain.ReviewScopePrivilegedRoles:
		return "every privileged directory role"
	}
	return s.String()
}

// changeReviews creates a definition, stops an instance or deletes a
// definition, as the form asks.
func (p *Portal) changeReviews(ctx context.Context, v *visit) (string, error) {
	f := v.r.PostForm
	switch f.Get("op") {
	case "stop":
		in, err := p.adm.Reviews.StopReview(ctx, v.call, f.Get("definition"), f.Get("instance"))
		p.eng.FlushMail(ctx, v.call)
		if err != nil {
			return "", err
		}
		return "The review " + in.DisplayName + " is stopped: " + adminReviewStatusWords[in.Status] + ".", nil
	case "delete":
		d, err := p.adm.Reviews.GetReviewDefinition(ctx, v.call, f.Get("definition"))
		if err != nil {
			return "", err
		}
		if err := p.adm.Reviews.DeleteReviewDefinition(ctx, v.call, d.ID); err != nil {
			return "", err
		}
		return "The access review " + d.DisplayName + " is deleted; it starts no more reviews.", nil
	case "create":
		d := domain.ReviewDefinition{DisplayName: strings.TrimSpace(f.Get("name"))}
		switch scope := f.Get("scope"); {
		case scope == "privileged":
			d.Scope = domain.ReviewScope{Kind: domain.ReviewScopePrivilegedRoles}
		case strings.HasPrefix(scope, "role:"):
			id, err := domain.ParseObjectID("scope", strings.TrimPrefix(scope, "role:"))
			if err != nil {
				return "", domain.Invalid("scope", "choose a role from the list")
			}
			d.Scope = domain.ReviewScope{Kind: domain.ReviewScopeRole, RoleDefinitionID: id}
		default:
			return "", domain.Invalid("scope", "choose what the review covers")
		}
		switch r := f.Get("reviewers"); r {
		case "self":
			d.Reviewers = []domain.Reviewer{{Kind: domain.ReviewerSelf}}
		case "manager":
			d.Reviewers = []domain.Reviewer{{Kind: domain.ReviewerManager}}
		default:
			id, err := p.eng.ResolveUser(ctx, "reviewer", f.Get("reviewer"))
			if err != nil {
				return "", err
			}
			d.Reviewers = []domain.Reviewer{{Kind: domain.ReviewerUser, ID: id}}
		}
		days, err := strconv.Atoi(f.Get("days"))
		if err != nil {
			return "", domain.Invalid("days", "give the number of days reviewers have")
		}
		d.Settings = domain.ReviewSettings{DurationInDays: days, DefaultDecision: f.Get("default"), AutoApply: f.Get("autoApply") == "on",
			RecommendationsEnabled: true, RemindersEnabled: true, MailEnabled: true,
			Recurrence: domain.Recurrence{Type: f.Get("recurrence"), Interval: 1}}
		if d.Settings.Recurrence.Type == domain.RecurrenceOnce {
			d.Settings.Recurrence.Interval = 0
		}
		made, err := p.adm.Reviews.CreateReviewDefinition(ctx, v.call, d)
		if err != nil {
			return "", err
		}
		return "The access review " + made.DisplayName + " is defined; its first review starts with the next accessReviews run.", nil
	}
	return "", domain.Invalid("op", "choose create, stop or delete")
}

type alertsView struct {
	Alerts     []alertRow
	BreakGlass []breakGlassRow
	LastCheck  *when
	CSRF       string
}

type alertRow struct {
	ID, Name, Severity, Status string
	Incidents                  []string
	More                       int
	LastScanned                *when
	Dismissable                bool
}

type breakGlassRow struct {
	Person     person
	State      string
	LastSignIn *when
	Problems   []string
}

// maxIncidentsShown bounds the incidents listed under one alert.
const maxIncidentsShown = 20

// adminAlerts lists the alerts with their incidents in words, dismisses
// or refreshes one (the alert service's own operations), and shows the
// break-glass accounts with what the last check found.
func (p *Portal) adminAlerts(v *visit, pg page) {
	ctx := v.r.Context()
	status := http.StatusOK
	if v.r.Method == http.MethodPost {
		f := v.r.PostForm
		def, ok := alert.DefinitionByID(f.Get("alert"))
		var err error
		switch {
		case !ok && f.Get("alert") != "":
			err = domain.Invalid("alert", "is not an alert jitpim raises")
		case f.Get("op") == "dismiss":
			err = p.adm.Alerts.DismissAlert(ctx, v.call, def.ID)
			pg.Message = "Dismissed: " + def.DisplayName + "."
		case f.Get("op") == "refresh":
			err = p.adm.Alerts.RefreshAlert(ctx, v.call, def.ID)
			pg.Message = "Checked again: " + map[bool]string{true: def.DisplayName, false: "every alert"}[ok] + "."
		default:
			err = domain.Invalid("op", "choose dismiss or refresh")
		}
		p.eng.FlushMail(ctx, v.call)
		if err != nil {
			pg.Message, pg.Problem, status = "Nothing was changed: "+messageOf(err), true, httpapi.StatusOf(err)
		}
	}
	list, err := p.adm.Alerts.ListAlerts(ctx, v.call)
	if err != nil {
		p.adminFail(v, pg, "admin/alerts", err)
		return
	}
	view := &alertsView{CSRF: p.web.CSRFToken(v.sess, "admin/alerts")}
	n := p.names(v)
	bgProblems := map[domain.ObjectID][]string{}
	var lastSignIns map[domain.ObjectID]int
	for _, a := range list {
		def, _ := alert.DefinitionByID(a.DefinitionID)
		row := alertRow{ID: a.ID, Name: def.DisplayName, Severity: strings.ToLower(a.Severity), LastScanned: at(a.LastScanned), Dismissable: a.IsActive}
		switch {
		case a.IsActive:
			row.Status = "active: " + domain.Plural(a.IncidentCount, "incident")
		case !a.DismissedAt.IsZero():
			row.Status = "dismissed by " + n.person(a.DismissedBy).Name + " on " + a.DismissedAt.UTC().Format("2 Jan 2006 15:04 UTC")
		case a.LastScanned.IsZero():
			row.Status = "not checked yet"
		default:
			row.Status = "nothing found"
		}
		for i, inc := range a.Incidents {
			if i == maxIncidentsShown {
				row.More = len(a.Incidents) - i
				break
			}
			row.Incidents = append(row.Incidents, inc.Description)
		}
		switch a.DefinitionID {
		case domain.AlertBreakGlassMisconfig:
			for _, inc := range a.Incidents {
				if inc.PrincipalID != "" {
					bgProblems[inc.PrincipalID] = append(bgProblems[inc.PrincipalID], inc.Description)
				}
			}
		case domain.AlertBreakGlassSignIn:
			view.LastCheck = at(a.LastScanned)
			lastSignIns = map[domain.ObjectID]int{}
			for _, inc := range a.Incidents {
				lastSignIns[inc.PrincipalID]++
			}
		}
		view.Alerts = append(view.Alerts, row)
	}
	for _, id := range p.eng.Config().BreakGlass {
		u, err := p.eng.DescribeUser(ctx, v.call, id)
		row := breakGlassRow{Person: n.person(id), Problems: bgProblems[id]}
		switch {
		case err != nil:
			row.State = "could not be read from the directory"
		case !u.Enabled:
			row.State = "disabled"
		default:
			row.State = "enabled"
		}
		if err == nil {
			row.LastSignIn = at(u.LastSignIn)
		}
		if c := lastSignIns[id]; c > 0 {
			row.State += ", " + domain.Plural(c, "sign-in") + " reported in the last 30 days"
		}
		if len(row.Problems) == 0 && view.LastCheck != nil {
			row.State += ", no problem found by the last check"
		}
		view.BreakGlass = append(view.BreakGlass, row)
	}
	p.adminPage(v, pg, status, "Alerts and break-glass accounts", adminView{Tab: "admin/alerts", Alerts: view})
}
