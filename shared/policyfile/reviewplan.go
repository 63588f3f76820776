package policyfile

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

const pathReviews = "identityGovernance/accessReviews/definitions"

// ReviewShape is what plan compares of an access review definition: the
// parts the file sets, normalised so that a definition read back from the
// API equals the one the file asks for.
type ReviewShape struct {
	Scope             string   // the scope's query
	Reviewers         []string // reviewer queries, sorted; empty is a self-review
	FallbackReviewers []string
	DurationInDays    int
	DefaultDecision   string
	AutoApply         bool
	Justification     bool
	Recommendations   bool
	Reminders         bool
	Recurrence        string // "absoluteMonthly/3"
	RangeType         string // noEnd
}

// LiveReview is an access review definition read through the API.
type LiveReview struct {
	ID          string
	DisplayName string
	Shape       ReviewShape
}

func userQuery(r *Ref) string {
	if r.Group {
		return "/groups/" + string(r.ID) + "/transitiveMembers"
	}
	return "/users/" + string(r.ID)
}

// normalQuery makes reviewer queries comparable: the API answers group
// members as …/transitiveMembers/microsoft.graph.user.
func normalQuery(q string) string {
	q = strings.TrimSpace(q)
	for _, p := range []string{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/beta", "/v1.0", "/beta"} {
		q = strings.TrimPrefix(q, p)
	}
	q = strings.TrimSuffix(q, "/microsoft.graph.user")
	return strings.Replace(q, "/members", "/transitiveMembers", 1)
}

const (
	privilegedRolesQuery = "/roleManagement/directory/roleDefinitions?$filter=isPrivileged eq true"
	// expandMembersQuery is the principal scope that has a role review list
	// the members of the groups holding the role (the API's spelling of
	// Entra's "review group members").
	expandMembersQuery = "/groups/transitiveMembers"
	expandedSuffix     = " + group members"
)

func (r *Review) scopeQuery() string {
	if r.ScopePrivilegedRoles {
		return privilegedRolesQuery
	}
	if t := r.ScopeAzure; t.Kind != "" {
		return wire.AzureRoleReviewQuery(t.ResourceScope, string(t.RoleDefinitionID))
	}
	if r.ScopeRole != "" {
		return "/roleManagement/directory/roleDefinitions/" + string(r.ScopeRole)
	}
	if r.ScopeAccess == domain.AccessOwner {
		return "/groups/" + string(r.ScopeGroup) + "/owners"
	}
	return "/groups/" + string(r.ScopeGroup) + "/transitiveMembers"
}

func (r *Review) reviewerQueries() []map[string]any {
	out := []map[string]any{}
	switch r.ReviewerKind {
	case "self":
	case "manager":
		out = append(out, map[string]any{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"})
	case "groupOwners":
		out = append(out, map[string]any{"query": "./owners", "queryType": "MicrosoftGraph"})
	default:
		for _, x := range r.Reviewers {
			out = append(out, map[string]any{"query": userQuery(x), "queryType": "MicrosoftGraph"})
		}
	}
	return out
}

func (r *Review) pattern() string {
	if r.Unit == "weeks" {
		return domain.RecurrenceWeekly
	}
	return domain.RecurrenceMonthly
}

// Shape is the definition the file asks for, as plan compares it.
func (r *Review) Shape() ReviewShape {
	scope := r.scopeQuery()
	if r.ExpandGroupMembers {
		scope += expandedSuffix
	}
	s := ReviewShape{Scope: scope, DurationInDays: r.DurationInDays, DefaultDecision: r.DefaultDecision, AutoApply: r.AutoApply,
		Justification: r.JustificationRequired, Recommendations: r.Recommendations, Reminders: r.Reminders,
		Recurrence: r.pattern() + "/" + strconv.Itoa(r.Every), RangeType: "noEnd"}
	for _, q := range r.reviewerQueries() {
		s.Reviewers = append(s.Reviewers, normalQuery(q["query"].(string)))
	}
	for _, x := range r.Fallback {
		s.FallbackReviewers = append(s.FallbackReviewers, userQuery(x))
	}
	slices.Sort(s.Reviewers)
	slices.Sort(s.FallbackReviewers)
	return s
}

// Body is the accessReviewScheduleDefinition apply POSTs.
func (r *Review) Body() map[string]any {
	scope := map[string]any{"@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": r.scopeQuery(), "queryType": "MicrosoftGraph"}
	if r.ScopeRole != "" || r.ScopePrivilegedRoles || r.ScopeAzure.Kind != "" {
		queryType := "MicrosoftGraph"
		if r.ScopeAzure.Kind != "" {
			queryType = "ARM"
		}
		scope = map[string]any{"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
			"resourceScopes": []map[string]any{{"query": r.scopeQuery(), "queryType": queryType}}}
		if r.ExpandGroupMembers {
			scope["principalScopes"] = []map[string]any{{"query": "/users", "queryType": "MicrosoftGraph"},
				{"query": expandMembersQuery, "queryType": "MicrosoftGraph"}}
		}
	}
	fallback := []map[string]any{}
	for _, x := range r.Fallback {
		fallback = append(fallback, map[string]any{"query": userQuery(x), "queryType": "MicrosoftGraph"})
	}
	return map[string]any{
		"displayName":          r.Name,
		"descriptionForAdmins": "managed by jitpim config apply",
		"scope":                scope,
		"reviewers":            r.reviewerQueries(),
		"fallbackReviewers":    fallback,
		"settings": map[string]any{
			"mailNotificationsEnabled":        true,
			"reminderNotificationsEnabled":    r.Reminders,
			"justificationRequiredOnApproval": r.JustificationRequired,
			"defaultDecisionEnabled":          true,
			"defaultDecision":                 r.DefaultDecision,
			"instanceDurationInDays":          r.DurationInDays,
			"autoApplyDecisionsEnabled":       r.AutoApply,
			"recommendationsEnabled":          r.Recommendations,
			"recurrence": map[string]any{
				"pattern": map[string]any{"type": r.pattern(), "interval": r.Every},
				"range":   map[string]any{"type": "noEnd"},
			},
		},
	}
}

type reviewQueryJSON struct {
	Query           string            `json:"query"`
	ResourceScopes  []reviewQueryJSON `json:"resourceScopes"`
	PrincipalScopes []reviewQueryJSON `json:"principalScopes"`
}

type reviewDefJSON struct {
	ID                string            `json:"id"`
	DisplayName       string            `json:"displayName"`
	Scope             reviewQueryJSON   `json:"scope"`
	Reviewers         []reviewQueryJSON `json:"reviewers"`
	FallbackReviewers []reviewQueryJSON `json:"fallbackReviewers"`
	Settings          struct {
		ReminderNotificationsEnabled    bool   `json:"reminderNotificationsEnabled"`
		JustificationRequiredOnApproval bool   `json:"justificationRequiredOnApproval"`
		DefaultDecision                 string `json:"defaultDecision"`
		InstanceDurationInDays          int    `json:"instanceDurationInDays"`
		AutoApplyDecisionsEnabled       bool   `json:"autoApplyDecisionsEnabled"`
		RecommendationsEnabled          bool   `json:"recommendationsEnabled"`
		Recurrence                      struct {
			Pattern *struct {
				Type     string `json:"type"`
				Interval int    `json:"interval"`
			} `json:"pattern"`
			Range *struct {
				Type string `json:"type"`
			} `json:"range"`
		} `json:"recurrence"`
	} `json:"settings"`
}

func (j reviewDefJSON) live() LiveReview {
	st := j.Settings
	s := ReviewShape{Scope: normalQuery(j.Scope.Query), DurationInDays: st.InstanceDurationInDays, DefaultDecision: st.DefaultDecision,
		AutoApply: st.AutoApplyDecisionsEnabled, Justification: st.JustificationRequiredOnApproval, Recommendations: st.RecommendationsEnabled,
		Reminders: st.ReminderNotificationsEnabled, Recurrence: "once"}
	if len(j.Scope.ResourceScopes) > 0 {
		s.Scope = normalQuery(j.Scope.ResourceScopes[0].Query)
	}
	for _, p := range j.Scope.PrincipalScopes {
		if normalQuery(p.Query) == expandMembersQuery {
			s.Scope += expandedSuffix
		}
	}
	for _, q := range j.Reviewers {
		s.Reviewers = append(s.Reviewers, normalQuery(q.Query))
	}
	for _, q := range j.FallbackReviewers {
		s.FallbackReviewers = append(s.FallbackReviewers, normalQuery(q.Query))
	}
	slices.Sort(s.Reviewers)
	slices.Sort(s.FallbackReviewers)
	if p := st.Recurrence.Pattern; p != nil {
		s.Recurrence = p.Type + "/" + strconv.Itoa(p.Interval)
	}
	if r := st.Recurrence.Range; r != nil {
		s.RangeType = r.Type
	}
	return LiveReview{ID: j.ID, DisplayName: j.DisplayName, Shape: s}
}

func loadReviews(ctx context.Context, api API) ([]LiveReview, error) {
	defs, err := wire.ListAll[reviewDefJSON](ctx, api, pathReviews)
	if err != nil {
		return nil, fmt.Errorf("reading access review definitions: %w", err)
	}
	var out []LiveReview
	for _, d := range defs {
		out = append(out, d.live())
	}
	return out, nil
}

// reviewDiff says, field by field, how a live definition differs from the file's.
func reviewDiff(have, want ReviewShape) []string {
	var out []string
	add := func(what string, h, w any) {
		if fmt.Sprint(h) != fmt.Sprint(w) {
			out = append(out, fmt.Sprintf("%s: %v → %v", what, h, w))
		}
	}
	add("scope", have.Scope, want.Scope)
	add("reviewers", have.Reviewers, want.Reviewers)
	add("fallback reviewers", have.FallbackReviewers, want.FallbackReviewers)
	add("duration in days", have.DurationInDays, want.DurationInDays)
	add("default decision", have.DefaultDecision, want.DefaultDecision)
	add("auto-apply", have.AutoApply, want.AutoApply)
	add("justification required", have.Justification, want.Justification)
	add("recommendations", have.Recommendations, want.Recommendations)
	add("reminders", have.Reminders, want.Reminders)
	add("recurrence", have.Recurrence, want.Recurrence)
	add("recurrence range", have.RangeType, want.RangeType)
	return out
}

func (r *Review) summary() string {
	who := r.ReviewerKind
	if who == "" {
		var names []string
		for _, x := range r.Reviewers {
			names = append(names, x.Name)
		}
		who = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, every %d %s, reviewed by %s, default %s", r.ScopeName, r.Every, r.Unit, who, r.DefaultDecision)
}

// planReviews compares the file's access reviews with the live
// definitions by display name. A changed one is updated in place (PATCH,
// from its next instance); one whose scope changed is deleted and created
// again, only with --allow-removals.
func (pl *Plan) planReviews(f *File, live *Live, o PlanOptions) {
	if !f.ReviewsDeclared {
		return
	}
	if live.ReviewsUnavailable != "" {
		na := NotApplied{What: "access reviews", Reason: "the service answered: " + live.ReviewsUnavailable}
		for _, r := range f.Reviews {
			na.Items = append(na.Items, fmt.Sprintf("%q: %s", r.Name, r.summary()))
		}
		if len(na.Items) > 0 {
			pl.NotApplied = append(pl.NotApplied, na)
		}
		return
	}
	byName := map[string][]LiveReview{}
	for _, lr := range live.Reviews {
		byName[lr.DisplayName] = append(byName[lr.DisplayName], lr)
	}
	inFile := map[string]bool{}
	noDefault := NotApplied{What: "access reviews without a default decision",
		Reason: "the API refuses a definition without an explicit defaultDecision (approve, deny or recommendation): a missed review must not silently keep access"}
	for _, r := range f.Reviews {
		inFile[r.Name] = true
		subject := fmt.Sprintf("access review %q", r.Name)
		if r.DefaultDecision == "None" {
			noDefault.Items = append(noDefault.Items, fmt.Sprintf("%q: %s", r.Name, r.summary()))
			continue
		}
		want := r.Shape()
		have := byName[r.Name]
		if len(have) == 0 {
			pl.Changes = append(pl.Changes, Change{Op: "add", Kind: "review", Subject: subject, Details: []string{r.summary()},
				Calls: []APICall{{"POST", pathReviews, r.Body()}}})
			continue
		}
		diff := reviewDiff(have[0].Shape, want)
		if len(diff) == 0 {
			pl.Unchanged = append(pl.Unchanged, subject+" ("+have[0].ID+")")
			continue
		}
		if have[0].Shape.Scope != want.Scope {
			// What a review covers never changes in place (Graph's update takes no scope).
			details := append([]string{"its scope differs: delete and re-create with --allow-removals"}, diff...)
			pl.Changes = append(pl.Changes, Change{Op: "change", Kind: "review", Subject: subject + " (" + have[0].ID + ")", Details: details,
				Held: !o.AllowRemovals, Calls: []APICall{{"DELETE", pathReviews + "/" + have[0].ID, nil}, {"POST", pathReviews, r.Body()}}})
			continue
		}
		pl.Changes = append(pl.Changes, reviewUpdate(f, r, have[0], want))
	}
	for _, lr := range live.Reviews {
		if inFile[lr.DisplayName] && byName[lr.DisplayName][0].ID == lr.ID {
			continue
		}
		reason := "not in the file"
		if inFile[lr.DisplayName] {
			reason = "a second definition with this name"
		}
		pl.Changes = append(pl.Changes, Change{Op: "remove", Kind: "review", Subject: fmt.Sprintf("access review %q (%s), %s", lr.DisplayName, lr.ID, reason),
			Held: !o.AllowRemovals, Calls: []APICall{{"DELETE", pathReviews + "/" + lr.ID, nil}}})
	}
	if len(noDefault.Items) > 0 {
		pl.NotApplied = append(pl.NotApplied, noDefault)
	}
}

// AppSetting is a Function App setting the file implies: jitpim reads it
// at start-up, and neither plan nor apply can set it through the API.
type AppSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Why   string `json:"why"`
}

// goDuration writes a duration as the app settings read it (time.ParseDuration).
func goDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// appSettings lists the JITPIM_ALERT_* and JITPIM_BREAK_GLASS_IDS values
// the file's alerts and breakGlass sections imply (README, "Alerts and
// break-glass"; functions/alerts.go reads them).
func (pl *Plan) appSettings(f *File) {
	if a := f.Alerts; a != nil {
		if a.TooManyGlobalAdminsCount > 0 {
			pl.AppSettings = append(pl.AppSettings,
				AppSetting{"JITPIM_ALERT_GLOBAL_ADMIN_COUNT", strconv.Itoa(a.TooManyGlobalAdminsCount), "alerts.tooManyGlobalAdmins.count"},
				AppSetting{"JITPIM_ALERT_GLOBAL_ADMIN_PERCENT", strconv.Itoa(a.TooManyGlobalAdminsPct), "alerts.tooManyGlobalAdmins.percentage"})
		}
		if a.RolesAssignedOutsidePIM {
			pl.AppSettings = append(pl.AppSettings, AppSetting{"JITPIM_ALERT_REMOVE_OUTSIDE", "false", "alerts.rolesAssignedOutsidePIM: report only; the file asks for no removal"})
		}
		if a.AdminsNotUsingRolesDays > 0 {
			pl.AppSettings = append(pl.AppSettings, AppSetting{"JITPIM_ALERT_UNUSED_DAYS", strconv.Itoa(a.AdminsNotUsingRolesDays), "alerts.adminsNotUsingRoles.days"})
		}
		if a.StaleAccountDays > 0 {
			pl.AppSettings = append(pl.AppSettings, AppSetting{"JITPIM_ALERT_STALE_DAYS", strconv.Itoa(a.StaleAccountDays), "alerts.staleAccounts.days"})
		}
		if a.ActivatedTooOftenCount > 0 {
			pl.AppSettings = append(pl.AppSettings,
				AppSetting{"JITPIM_ALERT_ACTIVATION_COUNT", strconv.Itoa(a.ActivatedTooOftenCount), "alerts.activatedTooOften.count"},
				AppSetting{"JITPIM_ALERT_ACTIVATION_WINDOW", goDuration(a.ActivatedTooOftenWithin), "alerts.activatedTooOften.within"})
		}
	}
	if len(f.BreakGlass) > 0 {
		var ids []string
		for _, r := range f.BreakGlass {
			ids = append(ids, string(r.ID))
		}
		pl.AppSettings = append(pl.AppSettings, AppSetting{"JITPIM_BREAK_GLASS_IDS", strings.Join(ids, ","), "breakGlass"})
	}
}
