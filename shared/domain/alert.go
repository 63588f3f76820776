package domain

import (
	"context"
	"time"
)

// Alert definition ids: Graph's PIM alert names where Graph has one, so
// people who know Entra PIM recognise them; jitpim's own otherwise.
const (
	AlertTooManyGlobalAdmins  = "TooManyGlobalAdminsAssignedToTenantAlert"
	AlertRolesOutsidePIM      = "RolesAssignedOutsidePimAlert"
	AlertAdminsNotUsingRoles  = "RedundantAssignmentAlert"
	AlertStaleSignIn          = "StaleSignInAlert"
	AlertNoMFAOnActivation    = "NoMfaOnRoleActivationAlert"
	AlertActivatedTooOften    = "SequentialActivationRenewalsAlert"
	AlertBreakGlassSignIn     = "BreakGlassSignInAlert"
	AlertBreakGlassMisconfig  = "BreakGlassMisconfiguredAlert"
	AlertRevokeFailing        = "RevokeFailingAlert"
	AlertAccessReviewAutoDeny = "AccessReviewAutoDenyAlert"
	SeverityLow               = "low"
	SeverityMedium            = "medium"
	SeverityHigh              = "high"
)

// AlertIncident is one finding behind an alert (an assignment, an account).
type AlertIncident struct {
	ID          string // stable per finding, so a rescan does not duplicate it
	Description string
	PrincipalID ObjectID
	Target      Target
	Details     map[string]string
	FirstSeen   time.Time
}

// Alert is one alert definition's current state for the tenant, as Graph's
// unifiedRoleManagementAlert. A scan replaces its incidents; an alert with
// incidents is active until they are gone or someone dismisses it.
type Alert struct {
	ID            string // = DefinitionID: one alert per definition, de-duplicated
	DefinitionID  string
	Severity      string
	IsActive      bool
	Incidents     []AlertIncident // at most MaxAlertIncidents kept
	IncidentCount int             // all of them, also those not kept
	FirstSeen     time.Time
	LastScanned   time.Time
	LastModified  time.Time
	DismissedBy   ObjectID
	DismissedAt   time.Time
	Version       string
}

// MaxAlertIncidents bounds the incidents stored with one alert.
const MaxAlertIncidents = 200

// AlertStore keeps alerts. PutAlert creates when Version is empty, else
// replaces conditionally (CodeConflict on a stale version).
type AlertStore interface {
	GetAlert(ctx context.Context, id string) (Alert, error)
	PutAlert(ctx context.Context, a *Alert) error
	ListAlerts(ctx context.Context) ([]Alert, error)
}

// SignIn is one sign-in of a user, from the directory's sign-in log.
type SignIn struct {
	ID        string
	UserID    ObjectID
	Time      time.Time
	App       string
	IPAddress string
	Succeeded bool
}

// SignInLog reads sign-ins (Graph auditLogs/signIns).
type SignInLog interface {
	// SignInsSince lists a user's sign-ins at or after since, oldest first,
	// successful or not.
	SignInsSince(ctx context.Context, userID ObjectID, since time.Time) ([]SignIn, error)
}

// DirectoryReader is what governance reads from the directory beyond the
// Directory port: every assignment of a role, the tenant's size, managers
// and group owners (access review reviewers).
type DirectoryReader interface {
	// ListRoleAssignmentsByRole lists every assignment of a role, at any scope.
	ListRoleAssignmentsByRole(ctx context.Context, roleDefinitionID ObjectID) ([]RoleAssignment, error)
	// CountUsers counts the tenant's user accounts.
	CountUsers(ctx context.Context) (int, error)
	// GetManager returns a user's manager; CodeNotFound when none is set.
	GetManager(ctx context.Context, userID ObjectID) (User, error)
	// ListGroupOwners lists a group's owners that are users; CodeNotFound
	// when groupID is no group.
	ListGroupOwners(ctx context.Context, groupID ObjectID) ([]User, error)
}

// AlertRaise is one raise of alert incidents by a service other than the
// alert service: the expiry sweep when revoking keeps failing, an access
// review about to remove access by default.
type AlertRaise struct {
	Now          time.Time
	InvocationID string
	ActorID      ObjectID // who the audit record names
	DefinitionID string
	Severity     string // empty takes the definition's
	Incidents    []AlertIncident
}

// Alarm raises alerts. The alert service implements it; the request engine
// and access reviews raise through it without importing that service.
type Alarm interface {
	RaiseAlert(ctx context.Context, r AlertRaise) error
}
