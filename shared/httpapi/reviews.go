package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/wire"
)

// Access reviews, in the shapes of Graph's accessReviews API
// (accessReviewScheduleDefinition, accessReviewInstance,
// accessReviewInstanceDecisionItem). Admins manage definitions and
// instances; reviewers read and decide their own items.
const ar = "/api/identityGovernance/accessReviews/definitions"

func (s *Server) reviewRoutes() {
	s.handle("POST "+ar, s.createReviewDefinition)
	s.handle("GET "+ar, s.listReviewDefinitions)
	s.handle("GET "+ar+"/{id}", s.getReviewDefinition)
	s.handle("PATCH "+ar+"/{id}", s.updateReviewDefinition)
	s.handle("PUT "+ar+"/{id}", s.updateReviewDefinition)
	s.handle("DELETE "+ar+"/{id}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if err := s.reviews.DeleteReviewDefinition(ctx, c, r.PathValue("id")); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
	s.handle("GET "+ar+"/{id}/instances", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		return s.listReviewInstances(ctx, c, r, false)
	})
	s.handle("GET "+ar+"/{id}/instances/{iid}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if on, ok := filterByCurrentUser(r.PathValue("iid")); ok {
			if on != "reviewer" {
				return 0, nil, domain.Invalid("on", "filterByCurrentUser takes on='reviewer' here")
			}
			return s.listReviewInstances(ctx, c, r, true)
		}
		in, err := s.reviews.GetReviewInstance(ctx, c, r.PathValue("id"), r.PathValue("iid"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, instanceJSON(in), nil
	})
	s.handle("GET "+ar+"/{id}/instances/{iid}/decisions", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		return s.listReviewDecisions(ctx, c, r, false)
	})
	s.handle("GET "+ar+"/{id}/instances/{iid}/decisions/{did}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if on, ok := filterByCurrentUser(r.PathValue("did")); ok {
			if on != "reviewer" {
				return 0, nil, domain.Invalid("on", "filterByCurrentUser takes on='reviewer' here")
			}
			return s.listReviewDecisions(ctx, c, r, true)
		}
		in, it, err := s.reviews.GetReviewDecision(ctx, c, r.PathValue("id"), r.PathValue("iid"), r.PathValue("did"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, decisionJSON(in, it), nil
	})
	s.handle("PATCH "+ar+"/{id}/instances/{iid}/decisions/{did}", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		var in struct {
			Decision      string `json:"decision"`
			Justification string `json:"justification"`
		}
		if err := readBody(r, []string{"decision", "justification"}, &in); err != nil {
			return 0, nil, err
		}
		if in.Decision == "" {
			return 0, nil, domain.Invalid("decision", "is required: Approve, Deny or DontKnow")
		}
		if _, err := s.reviews.DecideReview(ctx, c, r.PathValue("id"), r.PathValue("iid"), r.PathValue("did"),
			review.Input{Decision: in.Decision, Justification: in.Justification}); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
	s.handle("POST "+ar+"/{id}/instances/{iid}/stop", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if _, err := s.reviews.StopReview(ctx, c, r.PathValue("id"), r.PathValue("iid")); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
	s.handle("POST "+ar+"/{id}/instances/{iid}/applyDecisions", func(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
		if _, err := s.reviews.ApplyReviewDecisions(ctx, c, r.PathValue("id"), r.PathValue("iid")); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
}

// --- wire shapes -------------------------------------------------------------

type reviewQueryIO struct {
	ODataType       string          `json:"@odata.type,omitempty"`
	Query           string          `json:"query,omitempty"`
	QueryType       string          `json:"queryType,omitempty"`
	QueryRoot       string          `json:"queryRoot,omitempty"`
	PrincipalScopes []reviewQueryIO `json:"principalScopes,omitempty"`
	ResourceScopes  []reviewQueryIO `json:"resourceScopes,omitempty"`
}

type recurrencePatternIO struct {
	Type     string `json:"type"`
	Interval int    `json:"interval"`
}

type recurrenceRangeIO struct {
	Type                string  `json:"type"`
	StartDate           *string `json:"startDate"`
	EndDate             *string `json:"endDate"`
	NumberOfOccurrences int     `json:"numberOfOccurrences"`
}

type recurrenceIO struct {
	Pattern *recurrencePatternIO `json:"pattern"`
	Range   *recurrenceRangeIO   `json:"range"`
}

type reviewSettingsIn struct {
	MailNotificationsEnabled             *bool         `json:"mailNotificationsEnabled"`
	ReminderNotificationsEnabled         *bool         `json:"reminderNotificationsEnabled"`
	JustificationRequiredOnApproval      bool          `json:"justificationRequiredOnApproval"`
	DefaultDecisionEnabled               *bool         `json:"defaultDecisionEnabled"`
	DefaultDecision                      string        `json:"defaultDecision"`
	InstanceDurationInDays               int           `json:"instanceDurationInDays"`
	AutoApplyDecisionsEnabled            bool          `json:"autoApplyDecisionsEnabled"`
	RecommendationsEnabled               bool          `json:"recommendationsEnabled"`
	RecommendationLookBackDuration       string        `json:"recommendationLookBackDuration"`
	DecisionHistoriesForReviewersEnabled bool          `json:"decisionHistoriesForReviewersEnabled"`
	Recurrence                           *recurrenceIO `json:"recurrence"`
}

type reviewSettingsOut struct {
	MailNotificationsEnabled        bool         `json:"mailNotificationsEnabled"`
	ReminderNotificationsEnabled    bool         `json:"reminderNotificationsEnabled"`
	JustificationRequiredOnApproval bool         `json:"justificationRequiredOnApproval"`
	DefaultDecisionEnabled          bool         `json:"defaultDecisionEnabled"`
	DefaultDecision                 string       `json:"defaultDecision"`
	InstanceDurationInDays          int          `json:"instanceDurationInDays"`
	AutoApplyDecisionsEnabled       bool         `json:"autoApplyDecisionsEnabled"`
	RecommendationsEnabled          bool         `json:"recommendationsEnabled"`
	RecommendationLookBackDuration  string       `json:"recommendationLookBackDuration"`
	Recurrence                      recurrenceIO `json:"recurrence"`
}

type definitionIn struct {
	DisplayName             string            `json:"displayName"`
	DescriptionForAdmins    string            `json:"descriptionForAdmins"`
	DescriptionForReviewers string            `json:"descriptionForReviewers"`
	Scope                   *reviewQueryIO    `json:"scope"`
	Reviewers               *[]reviewQueryIO  `json:"reviewers"`
	FallbackReviewers       []reviewQueryIO   `json:"fallbackReviewers"`
	Settings                *reviewSettingsIn `json:"settings"`
}

var definitionFields = []string{"displayName", "descriptionForAdmins", "descriptionForReviewers", "scope", "reviewers",
	"fallbackReviewers", "settings"}

type userIdentityOut struct {
	ODataType         string `json:"@odata.type,omitempty"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

func userIdentity(id domain.ObjectID) *userIdentityOut {
	if id == "" {
		return nil
	}
	if id == engine.SystemActor {
		return &userIdentityOut{ID: "", DisplayName: "jitpim"}
	}
	return &userIdentityOut{ID: string(id)}
}

type definitionOut struct {
	ID                               string            `json:"id"`
	DisplayName                      string            `json:"displayName"`
	CreatedDateTime                  *string           `json:"createdDateTime"`
	LastModifiedDateTime             *string           `json:"lastModifiedDateTime"`
	Status                           string            `json:"status"`
	DescriptionForAdmins             string            `json:"descriptionForAdmins"`
	DescriptionForReviewers          string            `json:"descriptionForReviewers"`
	CreatedBy                        *userIdentityOut  `json:"createdBy"`
	Scope                            reviewQueryIO     `json:"scope"`
	InstanceEnumerationScope         *reviewQueryIO    `json:"instanceEnumerationScope"`
	Reviewers                        []reviewQueryIO   `json:"reviewers"`
	FallbackReviewers                []reviewQueryIO   `json:"fallbackReviewers"`
	Settings                         reviewSettingsOut `json:"settings"`
	AdditionalNotificationRecipients []struct{}        `json:"additionalNotificationRecipients"`
	// Warnings (a jitpim extension) say what happens to unanswered items.
	Warnings []string `json:"warnings"`
}

type instanceOut struct {
	ID                string          `json:"id"`
	StartDateTime     *string         `json:"startDateTime"`
	EndDateTime       *string         `json:"endDateTime"`
	Status            string          `json:"status"`
	Scope             reviewQueryIO   `json:"scope"`
	Reviewers         []reviewQueryIO `json:"reviewers"`
	FallbackReviewers []reviewQueryIO `json:"fallbackReviewers"`
	Errors            []struct{}      `json:"errors"`
	// jitpim extensions.
	Warnings             []string `json:"warnings"`
	DefaultDecision      string   `json:"defaultDecision"`
	AutoApply            bool     `json:"autoApplyDecisionsEnabled"`
	ItemCount            int      `json:"itemCount"`
	ItemsWithoutReviewer int      `json:"itemsWithoutReviewer"`
	DenyRecommended      int      `json:"denyRecommendedCount"`
	Removed              int      `json:"removedCount"`
	CompletedDateTime    *string  `json:"completedDateTime"`
	AppliedDateTime      *string  `json:"appliedDateTime"`
}

type decisionResourceOut struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"`
}

type decisionOut struct {
	ID                          string              `json:"id"`
	AccessReviewID              string              `json:"accessReviewId"`
	ReviewedBy                  *userIdentityOut    `json:"reviewedBy"`
	ReviewedDateTime            *string             `json:"reviewedDateTime"`
	Decision                    string              `json:"decision"`
	Justification               string              `json:"justification"`
	AppliedBy                   *userIdentityOut    `json:"appliedBy"`
	AppliedDateTime             *string             `json:"appliedDateTime"`
	ApplyResult                 string              `json:"applyResult"`
	Recommendation              string              `json:"recommendation"`
	PrincipalLink               string              `json:"principalLink"`
	ResourceLink                string              `json:"resourceLink"`
	Principal                   userIdentityOut     `json:"principal"`
	Resource                    decisionResourceOut `json:"resource"`
	PrincipalResourceMembership struct {
		MembershipType string `json:"membershipType"`
	} `json:"principalResourceMembership"`
	Insights []struct{} `json:"insights"`
	// jitpim extensions.
	AssignmentType       string `json:"assignmentType"` // eligible or active
	ScheduleID           string `json:"scheduleId"`
	PrincipalType        string `json:"principalType"` // User or Group
	ViaGroupID           string `json:"viaGroupId,omitempty"`
	RecommendationReason string `json:"recommendationReason,omitempty"`
	DefaultApplied       bool   `json:"defaultDecisionApplied"`
}

// --- scope and reviewer queries ------------------------------------------------

const guidRE = `([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})`

var (
	roleQueryRE       = regexp.MustCompile(`^/roleManagement/directory/roleDefinitions/` + guidRE + `$`)
	privilegedQueryRE = regexp.MustCompile(`(?i)^/roleManagement/directory/roleDefinitions\?\$filter=isPrivileged\s+eq\s+true$`)
	groupMembersRE    = regexp.MustCompile(`^/groups/` + guidRE + `/(transitiveMembers|members)(/microsoft\.graph\.user)?$`)
	groupOwnersRE     = regexp.MustCompile(`^/groups/` + guidRE + `/owners(/microsoft\.graph\.user)?$`)
	userQueryRE       = regexp.MustCompile(`^/users/` + guidRE + `$`)
	// An Azure role at a scope, as the role definition's resource id
	// below that scope (queryType ARM).
	azureRoleQueryRE = regexp.MustCompile(`(?i)^(/.+)/providers/Microsoft\.Authorization/roleDefinitions/` + guidRE + `$`)
)

const scopeHelp = `use {"@odata.type": "#microsoft.graph.principalResourceMembershipsScope", "resourceScopes": [{"query": "/roleManagement/directory/roleDefinitions/{roleId}"}]} for a role, ` +
	`resourceScopes query "/roleManagement/directory/roleDefinitions?$filter=isPrivileged eq true" for every privileged role, ` +
	`resourceScopes query "{Azure scope}/providers/Microsoft.Authorization/roleDefinitions/{roleId}" (queryType ARM) for an Azure role at a scope, ` +
	`or {"@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": "/groups/{groupId}/transitiveMembers"} (or /owners) for a group`

func trimGraphPrefix(q string) string {
	q = strings.TrimSpace(q)
	for _, p := range []string{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/beta", "/v1.0", "/beta"} {
		q = strings.TrimPrefix(q, p)
	}
	return q
}

func scopeFromQuery(q string) (domain.ReviewScope, bool) {
	q = trimGraphPrefix(q)
	if m := azureRoleQueryRE.FindStringSubmatch(q); m != nil {
		scope, err := domain.ParseAzureScope("scope", m[1])
		if err != nil {
			return domain.ReviewScope{}, false
		}
		return domain.ReviewScope{Kind: domain.ReviewScopeAzureRole, RoleDefinitionID: domain.CanonicalID(m[2]), ResourceScope: scope}, true
	}
	if m := roleQueryRE.FindStringSubmatch(q); m != nil {
		return domain.ReviewScope{Kind: domain.ReviewScopeRole, RoleDefinitionID: domain.CanonicalID(m[1])}, true
	}
	if privilegedQueryRE.MatchString(q) {
		return domain.ReviewScope{Kind: domain.ReviewScopePrivilegedRoles}, true
	}
	if m := groupMembersRE.FindStringSubmatch(q); m != nil {
		return domain.ReviewScope{Kind: domain.ReviewScopeGroup, GroupID: domain.CanonicalID(m[1]), AccessID: domain.AccessMember}, true
	}
	if m := groupOwnersRE.FindStringSubmatch(q); m != nil {
		return domain.ReviewScope{Kind: domain.ReviewScopeGroup, GroupID: domain.CanonicalID(m[1]), AccessID: domain.AccessOwner}, true
	}
	return domain.ReviewScope{}, false
}

func parseReviewScope(in *reviewQueryIO) (domain.ReviewScope, error) {
	if in == nil {
		return domain.ReviewScope{}, domain.Invalid("scope", "is required: %s", scopeHelp)
	}
	if strings.EqualFold(strings.TrimPrefix(in.ODataType, "#"), "microsoft.graph.principalResourceMembershipsScope") || len(in.ResourceScopes) > 0 {
		expand := false
		for _, p := range in.PrincipalScopes {
			switch q := trimGraphPrefix(p.Query); q {
			case "/users", "/users?$filter=accountEnabled eq true", "/groups":
			case expandMembersQuery:
				expand = true
			default:
				return domain.ReviewScope{}, domain.Invalid("scope.principalScopes", "must be /users, /groups or %s (review the members of groups that hold the role), got %q", expandMembersQuery, p.Query)
			}
		}
		if len(in.ResourceScopes) != 1 {
			return domain.ReviewScope{}, domain.Invalid("scope.resourceScopes", "name exactly one resource: %s", scopeHelp)
		}
		sc, ok := scopeFromQuery(in.ResourceScopes[0].Query)
		if !ok {
			return sc, domain.Invalid("scope.resourceScopes", "%q is not a scope jitpim reviews: %s", in.ResourceScopes[0].Query, scopeHelp)
		}
		if expand && sc.Kind == domain.ReviewScopeGroup {
			return sc, domain.Invalid("scope.principalScopes", "%s applies to role reviews: a group review already lists the group's members", expandMembersQuery)
		}
		sc.ExpandGroupMembers = expand
		return sc, nil
	}
	sc, ok := scopeFromQuery(in.Query)
	if !ok {
		return sc, domain.Invalid("scope.query", "%q is not a scope jitpim reviews: %s", in.Query, scopeHelp)
	}
	return sc, nil
}

// expandMembersQuery is the principal scope that asks a role review to
// list the members of the groups holding the role as well (Entra's "review
// group members"); without it a group holder is one item, named as a group.
const expandMembersQuery = "/groups/transitiveMembers"

func scopeJSON(sc domain.ReviewScope) reviewQueryIO {
	rs := func(q string) reviewQueryIO {
		ps := []reviewQueryIO{{ODataType: "#microsoft.graph.accessReviewQueryScope", Query: "/users", QueryType: "MicrosoftGraph"}}
		if sc.ExpandGroupMembers {
			ps = append(ps, reviewQueryIO{ODataType: "#microsoft.graph.accessReviewQueryScope", Query: expandMembersQuery, QueryType: "MicrosoftGraph"})
		}
		return reviewQueryIO{ODataType: "#microsoft.graph.principalResourceMembershipsScope",
			PrincipalScopes: ps,
			ResourceScopes:  []reviewQueryIO{{ODataType: "#microsoft.graph.accessReviewQueryScope", Query: q, QueryType: "MicrosoftGraph"}}}
	}
	switch sc.Kind {
	case domain.ReviewScopeRole:
		return rs(string("/roleManagement/directory/roleDefinitions/" + sc.RoleDefinitionID))
	case domain.ReviewScopePrivilegedRoles:
		return rs("/roleManagement/directory/roleDefinitions?$filter=isPrivileged eq true")
	case domain.ReviewScopeAzureRole:
		out := rs(wire.AzureRoleReviewQuery(sc.ResourceScope, string(sc.RoleDefinitionID)))
		out.ResourceScopes[0].QueryType = "ARM"
		return out
	}
	q := "/groups/" + sc.GroupID + "/transitiveMembers"
	if sc.AccessID == domain.AccessOwner {
		q = "/groups/" + sc.GroupID + "/owners"
	}
	return reviewQueryIO{ODataType: "#microsoft.graph.accessReviewQueryScope", Query: string(q), QueryType: "MicrosoftGraph"}
}

const reviewerHelp = `reviewers are {"query": "/users/{id}"}, {"query": "/groups/{id}/transitiveMembers"}, {"query": "/groups/{id}/owners"}, ` +
	`{"query": "./owners"} (the reviewed group's owners), {"query": "./manager", "queryRoot": "decisions"}; an empty list is a self-review`

func parseReviewer(field string, in reviewQueryIO, fallback bool) (domain.Reviewer, error) {
	q := trimGraphPrefix(in.Query)
	if m := userQueryRE.FindStringSubmatch(q); m != nil {
		return domain.Reviewer{Kind: domain.ReviewerUser, ID: domain.CanonicalID(m[1])}, nil
	}
	if m := groupMembersRE.FindStringSubmatch(q); m != nil {
		return domain.Reviewer{Kind: domain.ReviewerGroup, ID: domain.CanonicalID(m[1])}, nil
	}
	if !fallback {
		if m := groupOwnersRE.FindStringSubmatch(q); m != nil {
			return domain.Reviewer{Kind: domain.ReviewerGroupOwners, ID: domain.CanonicalID(m[1])}, nil
		}
		switch q {
		case "./manager":
			return domain.Reviewer{Kind: domain.ReviewerManager}, nil
		case "./owners":
			return domain.Reviewer{Kind: domain.ReviewerGroupOwners}, nil
		}
	}
	if fallback {
		return domain.Reviewer{}, domain.Invalid(field, "%q: fallback reviewers are users (/users/{id}) or groups (/groups/{id}/transitiveMembers)", in.Query)
	}
	return domain.Reviewer{}, domain.Invalid(field, "%q is not a reviewer jitpim understands: %s", in.Query, reviewerHelp)
}

func reviewerJSON(r domain.Reviewer) reviewQueryIO {
	out := reviewQueryIO{ODataType: "#microsoft.graph.accessReviewReviewerScope", QueryType: "MicrosoftGraph"}
	switch r.Kind {
	case domain.ReviewerUser:
		out.Query = string("/users/" + r.ID)
	case domain.ReviewerGroup:
		out.Query = string("/groups/" + r.ID + "/transitiveMembers/microsoft.graph.user")
	case domain.ReviewerGroupOwners:
		out.Query = "./owners"
		if r.ID != "" {
			out.Query = string("/groups/" + r.ID + "/owners")
		}
	case domain.ReviewerManager:
		out.Query, out.QueryRoot = "./manager", "decisions"
	}
	return out
}

func reviewersJSON(rs []domain.Reviewer) []reviewQueryIO {
	out := []reviewQueryIO{}
	for _, r := range rs {
		if r.Kind != domain.ReviewerSelf { // a self-review has an empty list, as in Graph
			out = append(out, reviewerJSON(r))
		}
	}
	return out
}

func parseDate(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", *s)
	if err != nil {
		return t, domain.Invalid(field, "must be a date such as 2026-04-01, got %q", *s)
	}
	return t.UTC(), nil
}

func parseReviewSettings(in *reviewSettingsIn) (domain.ReviewSettings, error) {
	var st domain.ReviewSettings
	if in == nil {
		return st, domain.Invalid("settings", "is required: at least instanceDurationInDays and an explicit defaultDecision")
	}
	if in.DefaultDecisionEnabled != nil && !*in.DefaultDecisionEnabled {
		return st, domain.Invalid("settings.defaultDecisionEnabled", "jitpim needs an explicit default decision (Approve, Deny or Recommendation) for items nobody answers: a missed review must not silently keep access")
	}
	for _, d := range []string{domain.DefaultApprove, domain.DefaultDeny, domain.DefaultRecommendation} {
		if domain.EnumMatches(d, in.DefaultDecision) {
			st.DefaultDecision = d
		}
	}
	if st.DefaultDecision == "" {
		return st, domain.Invalid("settings.defaultDecision", "must be set explicitly to Approve, Deny or Recommendation (what every unanswered item becomes), got %q", in.DefaultDecision)
	}
	if d := in.RecommendationLookBackDuration; d != "" && d != "P30D" {
		return st, domain.Invalid("settings.recommendationLookBackDuration", "jitpim looks back 30 days (P30D), got %q", d)
	}
	st.DurationInDays = in.InstanceDurationInDays
	st.AutoApply = in.AutoApplyDecisionsEnabled
	st.JustificationRequiredOnApproval = in.JustificationRequiredOnApproval
	st.RecommendationsEnabled = in.RecommendationsEnabled
	st.MailEnabled = in.MailNotificationsEnabled == nil || *in.MailNotificationsEnabled
	st.RemindersEnabled = in.ReminderNotificationsEnabled == nil || *in.ReminderNotificationsEnabled
	if rc := in.Recurrence; rc != nil {
		if rc.Pattern != nil {
			switch {
			case domain.EnumMatches(domain.RecurrenceWeekly, rc.Pattern.Type):
				st.Recurrence.Type = domain.RecurrenceWeekly
			case domain.EnumMatches(domain.RecurrenceMonthly, rc.Pattern.Type):
				st.Recurrence.Type = domain.RecurrenceMonthly
			default:
				return st, domain.Invalid("settings.recurrence.pattern.type", "must be weekly or absoluteMonthly, got %q", rc.Pattern.Type)
			}
			st.Recurrence.Interval = rc.Pattern.Interval
		}
		if r := rc.Range; r != nil {
			var err error
			if st.Recurrence.StartDate, err = parseDate("settings.recurrence.range.startDate", r.StartDate); err != nil {
				return st, err
			}
			switch {
			case r.Type == "" || domain.EnumMatches("noEnd", r.Type):
			case domain.EnumMatches("endDate", r.Type):
				if st.Recurrence.EndDate, err = parseDate("settings.recurrence.range.endDate", r.EndDate); err != nil {
					return st, err
				}
				if st.Recurrence.EndDate.IsZero() {
					return st, domain.Invalid("settings.recurrence.range.endDate", "is required with type endDate")
				}
			case domain.EnumMatches("numbered", r.Type):
				if r.NumberOfOccurrences < 1 {
					return st, domain.Invalid("settings.recurrence.range.numberOfOccurrences", "must be at least 1 with type numbered")
				}
				st.Recurrence.Occurrences = r.NumberOfOccurrences
			default:
				return st, domain.Invalid("settings.recurrence.range.type", "must be noEnd, endDate or numbered, got %q", r.Type)
			}
		}
	}
	return st, nil
}

func settingsJSON(st domain.ReviewSettings) reviewSettingsOut {
	rc := st.Recurrence
	out := reviewSettingsOut{MailNotificationsEnabled: st.MailEnabled, ReminderNotificationsEnabled: st.RemindersEnabled,
		JustificationRequiredOnApproval: st.JustificationRequiredOnApproval, DefaultDecisionEnabled: true, DefaultDecision: st.DefaultDecision,
		InstanceDurationInDays: st.DurationInDays, AutoApplyDecisionsEnabled: st.AutoApply, RecommendationsEnabled: st.RecommendationsEnabled,
		RecommendationLookBackDuration: "P30D"}
	start := rc.StartDate.UTC().Format("2006-01-02")
	r := &recurrenceRangeIO{Type: "noEnd", StartDate: &start}
	switch {
	case !rc.EndDate.IsZero():
		end := rc.EndDate.UTC().Format("2006-01-02")
		r.Type, r.EndDate = "endDate", &end
	case rc.Occurrences > 0:
		r.Type, r.NumberOfOccurrences = "numbered", rc.Occurrences
	case rc.Type == domain.RecurrenceOnce:
		r.Type, r.NumberOfOccurrences = "numbered", 1
	}
	out.Recurrence.Range = r
	if rc.Type != domain.RecurrenceOnce {
		out.Recurrence.Pattern = &recurrencePatternIO{Type: rc.Type, Interval: rc.Interval}
	}
	return out
}

// --- handlers ------------------------------------------------------------------

func (s *Server) createReviewDefinition(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	var in definitionIn
	if err := readBody(r, definitionFields, &in); err != nil {
		return 0, nil, err
	}
	scope, err := parseReviewScope(in.Scope)
	if err != nil {
		return 0, nil, err
	}
	d := domain.ReviewDefinition{DisplayName: in.DisplayName, DescriptionForAdmins: in.DescriptionForAdmins,
		DescriptionForReviewers: in.DescriptionForReviewers, Scope: scope}
	if in.Reviewers == nil {
		return 0, nil, domain.Invalid("reviewers", "is required (an empty list [] makes a self-review): %s", reviewerHelp)
	}
	if len(*in.Reviewers) == 0 {
		d.Reviewers = []domain.Reviewer{{Kind: domain.ReviewerSelf}}
	}
	for _, q := range *in.Reviewers {
		rv, err := parseReviewer("reviewers", q, false)
		if err != nil {
			return 0, nil, err
		}
		d.Reviewers = append(d.Reviewers, rv)
	}
	for _, q := range in.FallbackReviewers {
		rv, err := parseReviewer("fallbackReviewers", q, true)
		if err != nil {
			return 0, nil, err
		}
		d.FallbackReviewers = append(d.FallbackReviewers, rv)
	}
	if d.Settings, err = parseReviewSettings(in.Settings); err != nil {
		return 0, nil, err
	}
	out, err := s.reviews.CreateReviewDefinition(ctx, c, d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, definitionJSON(out, "NotStarted"), nil
}

func definitionJSON(d domain.ReviewDefinition, status string) definitionOut {
	return definitionOut{ID: d.ID, DisplayName: d.DisplayName, CreatedDateTime: timeJSON(d.CreatedAt), LastModifiedDateTime: timeJSON(d.ModifiedAt),
		Status: status, DescriptionForAdmins: d.DescriptionForAdmins, DescriptionForReviewers: d.DescriptionForReviewers,
		CreatedBy: userIdentity(d.CreatedBy), Scope: scopeJSON(d.Scope), Reviewers: reviewersJSON(d.Reviewers),
		FallbackReviewers: reviewersJSON(d.FallbackReviewers), Settings: settingsJSON(d.Settings),
		AdditionalNotificationRecipients: []struct{}{}, Warnings: review.Warnings(d.Settings)}
}

// definitionStatus is the newest instance's status, NotStarted without one.
func (s *Server) definitionStatus(ctx context.Context, c *engine.Call, id string) (string, error) {
	insts, err := s.reviews.ListReviewInstances(ctx, c, id, false)
	if err != nil || len(insts) == 0 {
		return "NotStarted", err
	}
	return insts[len(insts)-1].Status, nil
}

func (s *Server) getReviewDefinition(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	if _, ok := filterByCurrentUser(id); ok {
		return 0, nil, domain.Invalid("filterByCurrentUser", "reviewers list their work per instance: GET …/definitions/{id}/instances/filterByCurrentUser(on='reviewer')")
	}
	d, err := s.reviews.GetReviewDefinition(ctx, c, id)
	if err != nil {
		return 0, nil, err
	}
	st, err := s.definitionStatus(ctx, c, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, definitionJSON(d, st), nil
}

func (s *Server) listReviewDefinitions(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	if r.URL.Query().Get("$filter") != "" {
		return 0, nil, domain.Invalid("$filter", "is not supported on access review definitions")
	}
	defs, err := s.reviews.ListReviewDefinitions(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	out := make([]definitionOut, 0, len(defs))
	for _, d := range defs {
		st, err := s.definitionStatus(ctx, c, d.ID)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, definitionJSON(d, st))
	}
	return http.StatusOK, collection{Value: out}, nil
}

func instanceJSON(in domain.ReviewInstance) instanceOut {
	return instanceOut{ID: in.ID, StartDateTime: timeJSON(in.Start), EndDateTime: timeJSON(in.End), Status: in.Status, Scope: scopeJSON(in.Scope),
		Reviewers: reviewersJSON(in.Reviewers), FallbackReviewers: reviewersJSON(in.Fallback), Errors: []struct{}{},
		Warnings: review.Warnings(in.Settings), DefaultDecision: in.Settings.DefaultDecision, AutoApply: in.Settings.AutoApply,
		ItemCount: in.ItemCount, ItemsWithoutReviewer: in.NoReviewerCount, DenyRecommended: in.DenyRecommended, Removed: in.Removed,
		CompletedDateTime: timeJSON(in.CompletedAt), AppliedDateTime: timeJSON(in.AppliedAt)}
}

func (s *Server) listReviewInstances(ctx context.Context, c *engine.Call, r *http.Request, forReviewer bool) (int, any, error) {
	insts, err := s.reviews.ListReviewInstances(ctx, c, r.PathValue("id"), forReviewer)
	if err != nil {
		return 0, nil, err
	}
	out := make([]instanceOut, 0, len(insts))
	for _, in := range insts {
		out = append(out, instanceJSON(in))
	}
	return http.StatusOK, collection{Value: out}, nil
}

func decisionJSON(in domain.ReviewInstance, it domain.ReviewDecision) decisionOut {
	out := decisionOut{ID: it.ID, AccessReviewID: it.InstanceID, ReviewedBy: userIdentity(it.ReviewedBy), ReviewedDateTime: timeJSON(it.ReviewedAt),
		Decision: it.Decision, Justification: it.Justification, ApplyResult: it.ApplyResult, AppliedDateTime: timeJSON(it.AppliedAt),
		Recommendation: it.Recommendation, PrincipalLink: string("https://graph.microsoft.com/v1.0/users/" + it.PrincipalID),
		Principal: userIdentityOut{ODataType: "#microsoft.graph.userIdentity", ID: string(it.PrincipalID), DisplayName: it.PrincipalName, UserPrincipalName: it.PrincipalUPN},
		Insights:  []struct{}{}, ScheduleID: it.ScheduleID, RecommendationReason: it.RecommendationReason, AssignmentType: "eligible",
		PrincipalType: it.PrincipalKind.Word(), ViaGroupID: string(it.ViaGroupID)}
	if it.PrincipalKind.IsGroup() {
		// Graph names a group holder as an identity linked to /groups.
		out.PrincipalLink = "https://graph.microsoft.com/v1.0/groups/" + string(it.PrincipalID)
		out.Principal = userIdentityOut{ODataType: "#microsoft.graph.identity", ID: string(it.PrincipalID), DisplayName: it.PrincipalName}
	}
	if it.Kind == domain.KindAssignment {
		out.AssignmentType = "active"
	}
	out.PrincipalResourceMembership.MembershipType = "direct"
	switch it.Target.Kind {
	case domain.TargetGroup:
		out.Resource = decisionResourceOut{ID: string(it.Target.GroupID), DisplayName: domain.TargetName(it.Target), Type: "group"}
		out.ResourceLink = string("https://graph.microsoft.com/v1.0/groups/" + it.Target.GroupID)
	case domain.TargetAzureRole:
		// The role assignment's Azure resource ids, as ARM spells them.
		ref := armRoleDefinitionRef(it.Target.ResourceScope, it.Target.RoleDefinitionID)
		out.Resource = decisionResourceOut{ID: ref, DisplayName: domain.TargetName(it.Target), Type: "azureRole"}
		out.ResourceLink = "https://management.azure.com" + it.Target.ResourceScope
	default:
		out.Resource = decisionResourceOut{ID: string(it.Target.RoleDefinitionID), DisplayName: domain.TargetName(it.Target), Type: "directoryRole"}
		out.ResourceLink = string("https://graph.microsoft.com/v1.0/roleManagement/directory/roleDefinitions/" + it.Target.RoleDefinitionID)
	}
	if in.Ended() && it.Defaulted() {
		// As in Graph, an unanswered item shows the decision it ended with.
		out.Decision, out.DefaultApplied = it.Final(in.Settings), true
		out.ReviewedBy, out.ReviewedDateTime = &userIdentityOut{DisplayName: "jitpim (default decision)"}, timeJSON(in.CompletedAt)
		if out.Justification == "" {
			out.Justification = "no reviewer answered; default decision " + in.Settings.DefaultDecision
		}
	}
	if it.ApplyResult == "" {
		out.ApplyResult = domain.ApplyNew
		if in.Status == domain.ReviewApplied && out.Decision == domain.ReviewApprove {
			out.ApplyResult, out.AppliedDateTime = domain.ApplySuccess, timeJSON(in.AppliedAt) // kept: nothing to change
		}
	}
	if out.ApplyResult != domain.ApplyNew {
		out.AppliedBy = userIdentity(engine.SystemActor)
	}
	return out
}

func (s *Server) listReviewDecisions(ctx context.Context, c *engine.Call, r *http.Request, forReviewer bool) (int, any, error) {
	cursor, limit, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	if r.URL.Query().Get("$filter") != "" {
		return 0, nil, domain.Invalid("$filter", "is not supported on decisions; page with $top and $skiptoken")
	}
	in, p, err := s.reviews.ListReviewDecisions(ctx, c, r.PathValue("id"), r.PathValue("iid"), forReviewer, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]decisionOut, 0, len(p.Items))
	for _, it := range p.Items {
		out = append(out, decisionJSON(in, it))
	}
	return http.StatusOK, collection{Value: out, NextLink: nextLink(r, p.Next)}, nil
}
