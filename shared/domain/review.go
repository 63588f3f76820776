package domain

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Access review values, as in Graph's accessReviews API. Decisions reuse
// ReviewApprove, ReviewDeny and ReviewNotReviewed of approvals.
const (
	ReviewDontKnow = "DontKnow"

	DefaultApprove        = "Approve"
	DefaultDeny           = "Deny"
	DefaultRecommendation = "Recommendation"

	RecommendationNotAvailable = "NotAvailable"

	// Instance statuses. Starting: decision items are being written;
	// InProgress: reviewers decide; Completed: ended, decisions final, not
	// applied (auto-apply off); Applying: removals in progress; Applied:
	// done; Canceled: the definition was deleted before anything applied.
	ReviewStarting   = "Starting"
	ReviewInProgress = "InProgress"
	ReviewCompleted  = "Completed"
	ReviewApplying   = "Applying"
	ReviewApplied    = "Applied"
	ReviewCanceled   = "Canceled"

	// Decision item apply results.
	ApplyNew          = "New"
	ApplySuccess      = "AppliedSuccessfully"
	ApplyNotFound     = "AppliedSuccessfullyButObjectNotFound"
	ApplyFailed       = "AppliedWithUnknownFailure"
	ApplyNotSupported = "ApplyNotSupported"

	// RecommendationLookBack is how far back recommendations look for a
	// sign-in or an activation.
	RecommendationLookBack = 30 * 24 * time.Hour

	MaxReviewDuration = 365 // days
	MaxReviewers      = 25
)

// ReviewScopeKind tells what a review covers.
type ReviewScopeKind string

// The review scope kinds.
const (
	ReviewScopeRole            ReviewScopeKind = "role"            // one directory role, at every directory scope
	ReviewScopeGroup           ReviewScopeKind = "group"           // membership or ownership of one group
	ReviewScopePrivilegedRoles ReviewScopeKind = "privilegedRoles" // every built-in role Microsoft marks privileged
	ReviewScopeAzureRole       ReviewScopeKind = "azureRole"       // one Azure role at one Azure scope (assignments made there)
)

// ReviewScope is what a review covers: the eligible and active assignments
// (live schedules) of its targets.
type ReviewScope struct {
	Kind             ReviewScopeKind
	RoleDefinitionID ObjectID
	GroupID          ObjectID
	AccessID         string // member or owner
	// ExpandGroupMembers lists the members of a group that holds a role
	// as items of their own (Entra's "review group members"), beside the
	// group's own item. Off, a group holder is one item, named as a group.
	ExpandGroupMembers bool
	// ResourceScope is the Azure scope of an azureRole review, canonical
	// (ParseAzureScope). Assignments made at scopes below it are reviewed
	// where they were made, and those inherited from above are not jitpim's.
	ResourceScope string
}

// Covers reports whether a target is in the scope.
func (s ReviewScope) Covers(t Target) bool {
	switch s.Kind {
	case ReviewScopeRole:
		return t.Kind == TargetRole && t.RoleDefinitionID == s.RoleDefinitionID
	case ReviewScopeGroup:
		return t.Kind == TargetGroup && t.GroupID == s.GroupID && t.AccessID == s.AccessID
	case ReviewScopeAzureRole:
		return t == AzureRoleTarget(s.RoleDefinitionID, s.ResourceScope)
	case ReviewScopePrivilegedRoles:
		if t.Kind != TargetRole {
			return false
		}
		r, ok := BuiltInRoleByID(t.RoleDefinitionID)
		return ok && r.Privileged
	}
	return false
}

// Validate checks the scope's identifiers.
func (s ReviewScope) Validate() error {
	switch s.Kind {
	case ReviewScopeRole:
		if !s.RoleDefinitionID.Valid() {
			return Invalid("scope", "must name a role definition id (a GUID), got %q", s.RoleDefinitionID)
		}
	case ReviewScopeGroup:
		if !s.GroupID.Valid() {
			return Invalid("scope", "must name a group object id (a GUID), got %q", s.GroupID)
		}
		if s.AccessID != AccessMember && s.AccessID != AccessOwner {
			return Invalid("scope", "group access must be member or owner, got %q", s.AccessID)
		}
	case ReviewScopeAzureRole:
		if !s.RoleDefinitionID.Valid() {
			return Invalid("scope", "must name an Azure role definition id (a GUID), got %q", s.RoleDefinitionID)
		}
		if c, err := ParseAzureScope("scope", s.ResourceScope); err != nil {
			return err
		} else if c != s.ResourceScope {
			return Invalid("scope", "the Azure scope must be canonical (lower case, no trailing slash), got %q", s.ResourceScope)
		}
	case ReviewScopePrivilegedRoles:
	default:
		return Invalid("scope", "must be a role, a group, an Azure role at a scope, or every privileged role")
	}
	return nil
}

// String names the scope for people.
func (s ReviewScope) String() string {
	switch s.Kind {
	case ReviewScopeRole:
		return TargetName(RoleTarget(s.RoleDefinitionID, TenantScope)) + " (every directory scope)"
	case ReviewScopeGroup:
		return TargetName(GroupTarget(s.GroupID, s.AccessID))
	case ReviewScopeAzureRole:
		return TargetName(AzureRoleTarget(s.RoleDefinitionID, s.ResourceScope))
	case ReviewScopePrivilegedRoles:
		return "every privileged role"
	}
	return string(s.Kind)
}

// ReviewerKind tells how reviewers are found.
type ReviewerKind string

// The reviewer kinds.
const (
	ReviewerSelf        ReviewerKind = "self"        // each principal reviews their own access
	ReviewerManager     ReviewerKind = "manager"     // each principal's manager
	ReviewerUser        ReviewerKind = "user"        // one named user
	ReviewerGroup       ReviewerKind = "group"       // the members of a group, transitively
	ReviewerGroupOwners ReviewerKind = "groupOwners" // the owners of a group; empty ID = the reviewed group
)

// Reviewer is one entry of a definition's reviewers. On a decision item
// only resolved kinds appear: user and group.
type Reviewer struct {
	Kind ReviewerKind
	ID   ObjectID
}

// Key identifies a resolved reviewer in indexes: "u:{id}" or "g:{id}".
func (r Reviewer) Key() string {
	if r.Kind == ReviewerGroup {
		return "g:" + string(r.ID)
	}
	return "u:" + string(r.ID)
}

// Recurrence types, as in Graph's recurrencePattern.
const (
	RecurrenceOnce    = ""
	RecurrenceWeekly  = "weekly"
	RecurrenceMonthly = "absoluteMonthly"
)

// Recurrence says when a review's instances start. StartDate is a UTC
// midnight; a zero EndDate and Occurrences mean no end.
type Recurrence struct {
	Type        string
	Interval    int
	StartDate   time.Time
	EndDate     time.Time
	Occurrences int
	// Series counts the changes of this recurrence: a changed recurrence
	// numbers its occurrences afresh, under instance ids of their own.
	Series int
}

// SameSeries reports whether o describes the same occurrences as r
// (Series aside).
func (r Recurrence) SameSeries(o Recurrence) bool {
	return r.Type == o.Type && r.Interval == o.Interval && r.StartDate.Equal(o.StartDate) && r.EndDate.Equal(o.EndDate) && r.Occurrences == o.Occurrences
}

// Start returns the start of occurrence k (0-based).
func (r Recurrence) Start(k int) time.Time {
	switch r.Type {
	case RecurrenceWeekly:
		return r.StartDate.AddDate(0, 0, 7*r.Interval*k)
	case RecurrenceMonthly:
		return r.StartDate.AddDate(0, r.Interval*k, 0)
	}
	return r.StartDate
}

// PeriodDays is the shortest time between two starts, 0 for a one-time review.
func (r Recurrence) PeriodDays() int {
	switch r.Type {
	case RecurrenceWeekly:
		return 7 * r.Interval
	case RecurrenceMonthly:
		return 28 * r.Interval
	}
	return 0
}

// Due returns the newest occurrence that has started by now and lies
// within the recurrence's range.
func (r Recurrence) Due(now time.Time) (int, time.Time, bool) {
	if now.Before(r.StartDate) {
		return 0, time.Time{}, false
	}
	last := -1
	if r.Occurrences > 0 {
		last = r.Occurrences - 1
	}
	if r.Type == RecurrenceOnce {
		last = 0
	}
	k := 0
	if r.Type == RecurrenceWeekly && r.Interval > 0 {
		k = int(now.Sub(r.StartDate) / (time.Duration(7*r.Interval) * 24 * time.Hour))
	} else if r.Type == RecurrenceMonthly && r.Interval > 0 {
		for !r.Start(k + 1).After(now) {
			k++
		}
	}
	if last >= 0 && k > last {
		k = last
	}
	for k > 0 && !r.EndDate.IsZero() && r.Start(k).After(r.EndDate) {
		k--
	}
	return k, r.Start(k), true
}

// ReviewSettings are a definition's settings, as Graph's
// accessReviewScheduleSettings.
type ReviewSettings struct {
	Recurrence     Recurrence
	DurationInDays int
	// DefaultDecision is what an unanswered (or DontKnow) item becomes when
	// the instance ends: Approve, Deny or Recommendation. jitpim has no
	// "nothing": a missed review must not silently keep access, so the
	// choice is always explicit.
	DefaultDecision                 string
	AutoApply                       bool
	JustificationRequiredOnApproval bool
	RecommendationsEnabled          bool
	RemindersEnabled                bool
	MailEnabled                     bool
}

// ReviewDefinition is an access review definition
// (accessReviewScheduleDefinition).
type ReviewDefinition struct {
	ID                      string
	DisplayName             string
	DescriptionForAdmins    string
	DescriptionForReviewers string
	Scope                   ReviewScope
	Reviewers               []Reviewer
	FallbackReviewers       []Reviewer
	Settings                ReviewSettings
	CreatedBy               ObjectID
	CreatedAt               time.Time
	ModifiedAt              time.Time
	// Deleted definitions are kept for the record; they start nothing.
	Deleted   bool
	DeletedBy ObjectID
	DeletedAt time.Time
	Version   string
}

// SelfReview reports whether principals review their own access.
func (d ReviewDefinition) SelfReview() bool {
	return len(d.Reviewers) == 1 && d.Reviewers[0].Kind == ReviewerSelf
}

// AutoDenies reports whether unanswered items are removed automatically.
func AutoDenies(s ReviewSettings) bool {
	return s.AutoApply && s.DefaultDecision == DefaultDeny
}

// Validate checks a definition before it is stored.
func (d ReviewDefinition) Validate() error {
	if strings.TrimSpace(d.DisplayName) == "" || utf8.RuneCountInString(d.DisplayName) > 256 {
		return Invalid("displayName", "is required, at most 256 characters")
	}
	for _, f := range []struct{ name, v string }{{"descriptionForAdmins", d.DescriptionForAdmins}, {"descriptionForReviewers", d.DescriptionForReviewers}} {
		if utf8.RuneCountInString(f.v) > 1000 {
			return Invalid(f.name, "at most 1000 characters")
		}
	}
	if err := d.Scope.Validate(); err != nil {
		return err
	}
	if len(d.Reviewers) == 0 {
		return Invalid("reviewers", "name who reviews: users, groups, group owners, ./manager, or self")
	}
	if len(d.Reviewers) > MaxReviewers || len(d.FallbackReviewers) > MaxReviewers {
		return Invalid("reviewers", "at most %d reviewers and %d fallback reviewers", MaxReviewers, MaxReviewers)
	}
	for _, r := range d.Reviewers {
		switch r.Kind {
		case ReviewerSelf:
			if len(d.Reviewers) != 1 {
				return Invalid("reviewers", "a self-review has no other reviewers")
			}
		case ReviewerManager:
		case ReviewerUser, ReviewerGroup:
			if !r.ID.Valid() {
				return Invalid("reviewers", "%s %q is not an object id", r.Kind, r.ID)
			}
		case ReviewerGroupOwners:
			if r.ID == "" && d.Scope.Kind != ReviewScopeGroup {
				return Invalid("reviewers", "the owners of the reviewed group need a group scope; name the group (/groups/{id}/owners)")
			}
			if r.ID != "" && !r.ID.Valid() {
				return Invalid("reviewers", "group %q is not an object id", r.ID)
			}
		default:
			return Invalid("reviewers", "unknown reviewer kind %q", r.Kind)
		}
	}
	for _, r := range d.FallbackReviewers {
		if (r.Kind != ReviewerUser && r.Kind != ReviewerGroup) || !r.ID.Valid() {
			return Invalid("fallbackReviewers", "must be users or groups by object id")
		}
	}
	s := d.Settings
	switch s.DefaultDecision {
	case DefaultApprove, DefaultDeny, DefaultRecommendation:
	default:
		return Invalid("settings.defaultDecision", "must be set explicitly to Approve, Deny or Recommendation: it decides every item nobody answers (a missed review must not silently keep access)")
	}
	if s.DefaultDecision == DefaultRecommendation && !s.RecommendationsEnabled {
		return Invalid("settings.recommendationsEnabled", "defaultDecision Recommendation needs recommendationsEnabled")
	}
	rc := s.Recurrence
	switch rc.Type {
	case RecurrenceOnce:
	case RecurrenceWeekly:
		if rc.Interval < 1 || rc.Interval > 52 {
			return Invalid("settings.recurrence.pattern.interval", "weekly reviews repeat every 1 to 52 weeks, got %d", rc.Interval)
		}
	case RecurrenceMonthly:
		if rc.Interval < 1 || rc.Interval > 12 {
			return Invalid("settings.recurrence.pattern.interval", "monthly reviews repeat every 1 to 12 months, got %d", rc.Interval)
		}
	default:
		return Invalid("settings.recurrence.pattern.type", "must be weekly or absoluteMonthly, got %q", rc.Type)
	}
	if rc.StartDate.IsZero() || !rc.StartDate.Equal(rc.StartDate.UTC().Truncate(24*time.Hour)) {
		return Invalid("settings.recurrence.range.startDate", "must be a date such as 2026-04-01")
	}
	if !rc.EndDate.IsZero() && rc.EndDate.Before(rc.StartDate) {
		return Invalid("settings.recurrence.range.endDate", "is before the start date")
	}
	if rc.Occurrences < 0 {
		return Invalid("settings.recurrence.range.numberOfOccurrences", "must be positive")
	}
	if s.DurationInDays < 1 || s.DurationInDays > MaxReviewDuration {
		return Invalid("settings.instanceDurationInDays", "must be 1 to %d days, got %d", MaxReviewDuration, s.DurationInDays)
	}
	if p := rc.PeriodDays(); p > 0 && s.DurationInDays > p {
		return Invalid("settings.instanceDurationInDays", "%d days is longer than the %d days between two reviews: one would still run when the next starts", s.DurationInDays, p)
	}
	return nil
}

// ReviewInstance is one run of a definition (accessReviewInstance). It
// keeps a copy of what it was started with, so a definition deleted or
// changed later does not change a running review.
type ReviewInstance struct {
	ID           string
	DefinitionID string
	Occurrence   int
	DisplayName  string
	Scope        ReviewScope
	Reviewers    []Reviewer
	Fallback     []Reviewer
	Settings     ReviewSettings
	Start, End   time.Time
	Status       string
	// Counts, set when the instance starts and when it is applied.
	ItemCount       int
	NoReviewerCount int
	DenyRecommended int
	Removed         int
	ApplyFailures   int
	RemindersSent   int
	StartedAt       time.Time
	CompletedAt     time.Time
	CompletedBy     ObjectID
	AppliedAt       time.Time
	Version         string
}

// SelfReview reports whether principals review their own access.
func (in ReviewInstance) SelfReview() bool {
	return len(in.Reviewers) == 1 && in.Reviewers[0].Kind == ReviewerSelf
}

// Open reports whether reviewers may decide at now.
func (in ReviewInstance) Open(now time.Time) bool {
	return in.Status == ReviewInProgress && now.Before(in.End)
}

// Ended reports whether decisions are final.
func (in ReviewInstance) Ended() bool {
	switch in.Status {
	case ReviewCompleted, ReviewApplying, ReviewApplied, ReviewCanceled:
		return true
	}
	return false
}

// ReviewDecision is one decision item of an instance: one eligible or
// active assignment (a live schedule) and what its reviewers decided
// (accessReviewInstanceDecisionItem).
type ReviewDecision struct {
	ID            string
	InstanceID    string
	DefinitionID  string
	ScheduleID    string
	Kind          RequestKind // eligibility or assignment
	PrincipalID   ObjectID
	PrincipalKind PrincipalKind
	// ViaGroupID is set on an item of a group member in a review that
	// expands group holders: the member holds the role through this group.
	ViaGroupID ObjectID
	// PrincipalName and PrincipalUPN are what the directory said at the start.
	PrincipalName string
	PrincipalUPN  string
	Target        Target
	ScheduleEnd   time.Time
	// Reviewers are the item's own reviewers, resolved to users and groups
	// and fixed when the item is written: the principal (self-review), their
	// manager, group owners, or the fallback reviewers (Fallback). The users
	// and groups a definition names review every item and are not listed.
	Reviewers            []Reviewer
	Fallback             bool
	Recommendation       string // Approve, Deny or NotAvailable
	RecommendationReason string
	// LastSignIn and LastActivation are what the recommendation saw when
	// the item was written (zero: none seen, or not looked up), so the
	// reviewer sees the evidence beside it.
	LastSignIn, LastActivation time.Time
	Decision                   string // NotReviewed, Approve, Deny, DontKnow
	Justification              string
	ReviewedBy                 ObjectID
	ReviewedAt                 time.Time
	ApplyResult                string // empty until applied
	AppliedAt                  time.Time
	ApplyRequestID             string
	ApplyError                 string
	Version                    string
}

// Final is the decision the item ends with: the reviewer's Approve or
// Deny, else the default (DontKnow counts as unanswered).
func (d ReviewDecision) Final(s ReviewSettings) string {
	switch d.Decision {
	case ReviewApprove, ReviewDeny:
		return d.Decision
	}
	switch s.DefaultDecision {
	case DefaultDeny:
		return ReviewDeny
	case DefaultRecommendation:
		if d.Recommendation == ReviewDeny {
			return ReviewDeny
		}
	}
	return ReviewApprove
}

// Defaulted reports whether nobody answered the item.
func (d ReviewDecision) Defaulted() bool {
	return d.Decision != ReviewApprove && d.Decision != ReviewDeny
}

// HasReviewer reports whether ref is among the item's reviewers.
func (d ReviewDecision) HasReviewer(ref Reviewer) bool {
	return slices.ContainsFunc(d.Reviewers, func(r Reviewer) bool { return r.Key() == ref.Key() })
}

// Clone returns a deep copy.
func (d ReviewDecision) Clone() ReviewDecision {
	d.Reviewers = slices.Clone(d.Reviewers)
	return d
}

// Clone returns a deep copy.
func (in ReviewInstance) Clone() ReviewInstance {
	in.Reviewers, in.Fallback = slices.Clone(in.Reviewers), slices.Clone(in.Fallback)
	return in
}

// Clone returns a deep copy.
func (d ReviewDefinition) Clone() ReviewDefinition {
	d.Reviewers, d.FallbackReviewers = slices.Clone(d.Reviewers), slices.Clone(d.FallbackReviewers)
	return d
}

// ReviewDecisionQuery selects an instance's decision items, in id order.
type ReviewDecisionQuery struct {
	InstanceID string
	// Reviewers, when set, keeps the items naming any of them as reviewer.
	Reviewers []Reviewer
	Cursor    string
	Limit     int
}

// ReviewStore keeps access reviews, apart from Store. Like Store, updates
// are conditional on the Version the caller read (CodeConflict when stale),
// creates fail with CodeConflict when the id exists, and Get fails with
// CodeNotFound.
type ReviewStore interface {
	CreateReviewDefinition(ctx context.Context, d *ReviewDefinition) error
	GetReviewDefinition(ctx context.Context, id string) (ReviewDefinition, error)
	UpdateReviewDefinition(ctx context.Context, d *ReviewDefinition) error
	// ListReviewDefinitions lists every definition, deleted ones included, by id.
	ListReviewDefinitions(ctx context.Context) ([]ReviewDefinition, error)

	CreateReviewInstance(ctx context.Context, in *ReviewInstance) error
	GetReviewInstance(ctx context.Context, id string) (ReviewInstance, error)
	UpdateReviewInstance(ctx context.Context, in *ReviewInstance) error
	// ListReviewInstances lists a definition's instances, oldest first.
	ListReviewInstances(ctx context.Context, definitionID string) ([]ReviewInstance, error)

	// AddReviewDecisions stores new decision items of one instance, in
	// batches (the Table Storage store writes entity group transactions of
	// at most 100 operations in the instance's partition). Items whose id
	// is already stored are left as they are, so a repeated or concurrent
	// start writes each item once; created counts the new ones. Every item
	// must carry instanceID.
	AddReviewDecisions(ctx context.Context, instanceID string, items []ReviewDecision) (created int, err error)
	GetReviewDecision(ctx context.Context, instanceID, id string) (ReviewDecision, error)
	// UpdateReviewDecision changes an item's decision and apply fields; its
	// reviewers are fixed when it is created.
	UpdateReviewDecision(ctx context.Context, d *ReviewDecision) error
	ListReviewDecisions(ctx context.Context, q ReviewDecisionQuery) (Page[ReviewDecision], error)
}
