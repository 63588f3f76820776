package policyfile

import (
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// File is a parsed policy file. Read it with Parse or Load; a File with
// errors among its Diagnostics must not be planned or applied.
type File struct {
	Path        string
	Version     int
	Users       []*Name // directory.users
	Groups      []*Name // directory.groups
	CustomRoles []*Name // directory.customRoles
	// Subscriptions names Azure subscriptions (directory.subscriptions), so
	// azureRoles can give scopes as readable paths.
	Subscriptions []*Name
	Defaults      *Settings
	Tiers         []*Tier
	Targets       []*Target // roles, each group's member and owner access, then Azure roles, in file order
	PAGs          []*Group
	BreakGlass    []*Ref
	Reviews       []*Review
	// ReviewsDeclared: the file has an accessReviews key, so its list is
	// the whole set of definitions (plan compares it with the live ones).
	ReviewsDeclared bool
	Alerts          *Alerts
	Diagnostics     []Diagnostic
}

// Errors returns the diagnostics that are errors (not warnings).
func (f *File) Errors() []Diagnostic {
	var out []Diagnostic
	for _, d := range f.Diagnostics {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// Name maps a readable name to an object id (directory section).
type Name struct {
	Name string
	ID   domain.ObjectID
	Line int
}

// Expiry is when an assignment ends or how long policy lets it last:
// permanent, a duration counted from the assignment, or a fixed end.
type Expiry struct {
	Permanent bool
	Duration  time.Duration
	Until     time.Time
}

func (e Expiry) String() string {
	switch {
	case e.Permanent:
		return "permanent"
	case !e.Until.IsZero():
		return "until " + e.Until.UTC().Format(time.RFC3339)
	}
	return domain.FormatISODuration(e.Duration)
}

// Settings are the policy columns of the seed's settings tables. Every
// field is optional: a field left out comes from the tier, then the
// file's defaults, then Entra's defaults.
type Settings struct {
	Line                  int
	ActivationDuration    Val[time.Duration]
	MFA                   Val[bool]
	AuthContext           Val[string]
	Justification         Val[bool]
	Ticket                Val[bool]
	TicketValidation      Val[bool]
	Approval              Val[bool]
	Approvers             Val[[]*Ref]
	ApprovalTimeoutDays   Val[int]
	ApproverJustification Val[bool]
	Escalation            Val[*Escalation]
	Notification          Val[bool]
	NotificationLevel     Val[string]
	NotificationRecips    Val[[]string]
	EligibleExpiration    Val[Expiry]
	ActiveExpiration      Val[Expiry]
	MFAOnActive           Val[bool]
	JustificationOnActive Val[bool]
}

// Escalation hands an unanswered approval to other approvers.
type Escalation struct {
	AfterMinutes int
	Approvers    []*Ref
	Line         int
}

// Ref is a user or group named in the file, resolved through the
// directory section or given as an object id.
type Ref struct {
	Text  string
	Line  int
	Group bool            // a group ({group: X} or a name from directory.groups)
	ID    domain.ObjectID // resolved object id; empty when unresolved
	Name  string          // readable name
	// ResourceOwners is the approver "otherOwners": whoever else holds
	// Owner at the Azure role's scope when an activation is requested.
	ResourceOwners bool
}

// Tier is a named policy that its targets inherit (Tier_{name}).
type Tier struct {
	Name        string
	Line        int
	Description string
	Settings    *Settings
	Targets     []*Target
}

// Target is a directory role or one access kind of a privileged access
// group, with its policy and who holds it.
type Target struct {
	Key      string // as written
	Line     int
	T        domain.Target
	Name     string // readable: "Global Administrator", "PAG-SERVICE-DESK member"
	Tier     Val[string]
	Settings *Settings
	Eligible []*Assignment
	Active   []*Assignment
	Group    *Group // for group access
}

// Assignment makes a principal eligible for or active in a target.
type Assignment struct {
	Line          int
	Principal     *Ref
	Expiration    Val[Expiry]
	Justification string
	Active        bool
	Target        *Target
}

// Group is a privileged access group (PIM for Groups).
type Group struct {
	Key         string
	Line        int
	ID          domain.ObjectID
	Name        string
	Description string
	Member      *Target
	Owner       *Target
}

// Review is an access review definition; apply creates it through the
// accessReviews API (see reviewplan.go).
type Review struct {
	Line                  int
	Name                  string
	ScopeRole             domain.ObjectID // role definition id
	ScopeGroup            domain.ObjectID // group id
	ScopeAccess           string
	ScopeAzure            domain.Target // an Azure role at a scope; zero otherwise
	ScopeName             string
	ScopePrivilegedRoles  bool // every built-in role Microsoft marks privileged
	ExpandGroupMembers    bool // list the members of groups holding the role too
	Reviewers             []*Ref
	ReviewerKind          string // "" (named reviewers), "self", "manager", "groupOwners"
	Fallback              []*Ref
	Unit                  string // weeks or months
	Every                 int
	DurationInDays        int
	DefaultDecision       string // None, Approve, Deny, Recommendation
	AutoApply             bool
	JustificationRequired bool
	Recommendations       bool
	Reminders             bool
}

// Alerts are alert thresholds: deployment settings (JITPIM_ALERT_*), which
// plan prints and apply cannot set.
type Alerts struct {
	Line                     int
	TooManyGlobalAdminsCount int
	TooManyGlobalAdminsPct   int
	RolesAssignedOutsidePIM  bool
	AdminsNotUsingRolesDays  int
	StaleAccountDays         int
	RolesWithoutMFA          bool
	ActivatedTooOftenCount   int
	ActivatedTooOftenWithin  time.Duration
	BreakGlassSignIn         bool
	// Configured describes each alert the file turns on, for plan output.
	Configured []string
}
