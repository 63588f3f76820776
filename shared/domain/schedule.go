package domain

import (
	"slices"
	"time"
)

// Assignment and member types, as in Graph.
const (
	AssignmentAssigned  = "Assigned"  // given by an administrator
	AssignmentActivated = "Activated" // activated from an eligibility
	MemberDirect        = "Direct"
)

// Schedule states.
const (
	ScheduleProvisioned = "Provisioned" // live or starting later
	ScheduleRevoked     = "Revoked"     // ended early by a person
	ScheduleExpired     = "Expired"     // ended by its end time
)

// Schedule is an eligibility or an active assignment of one principal to one
// target over a window. A zero End means permanent.
type Schedule struct {
	ID                    string
	Kind                  RequestKind
	PrincipalID           ObjectID
	PrincipalKind         PrincipalKind
	Target                Target
	AssignmentType        string // assignments only
	MemberType            string
	Start                 time.Time
	End                   time.Time
	Status                string
	CreatedUsing          string // the request that created it
	EligibilityScheduleID string // activations: the eligibility drawn on
	// AwaitingStart marks a schedule stored before its start (scheduled
	// access): the expiry sweep starts it at Start, granting an active
	// assignment's access then and not before. Schedules stored without it
	// started when they were stored.
	AwaitingStart bool
	CreatedAt     time.Time
	ModifiedAt    time.Time
	EndedAt       time.Time
	Version       string
}

// Live reports whether the schedule has not ended (it may start later).
func (s Schedule) Live(now time.Time) bool {
	return s.Status == ScheduleProvisioned && (s.End.IsZero() || now.Before(s.End))
}

// ActiveAt reports whether the schedule is in force at now.
func (s Schedule) ActiveAt(now time.Time) bool {
	return s.Live(now) && !now.Before(s.Start)
}

// DueAt is when the expiry sweep must next act on the schedule: its start
// while it awaits it, else its end. Zero means never: a permanent
// schedule, or one no longer live (ended, revoked). Every store's due index
// (Store.SchedulesDueBy) holds this time, so the sweep reads only what is
// due, whether to start or to end.
func (s Schedule) DueAt() time.Time {
	if s.Status != ScheduleProvisioned {
		return time.Time{}
	}
	if s.AwaitingStart {
		return s.Start
	}
	return s.End
}

// Upcoming reports whether the schedule is not in force yet at now: it
// starts later, or it is an active assignment whose access the sweep has
// not granted yet. Graph lists such a schedule as a schedule but not as an
// instance.
func (s Schedule) Upcoming(now time.Time) bool {
	return s.Live(now) && (now.Before(s.Start) || (s.Kind == KindAssignment && s.AwaitingStart))
}

// Permanent reports whether the schedule has no end.
func (s Schedule) Permanent() bool { return s.End.IsZero() }

// Holder is one live active schedule that needs the directory grant.
type Holder struct {
	ScheduleID     string
	AssignmentType string
	End            time.Time // zero = permanent
}

// Grant counts, per principal and target, the live schedules that need the
// directory assignment. jitpim adds the directory assignment when the first
// holder arrives and removes it only when the last one leaves, so ending one
// grant never takes away access another still covers.
type Grant struct {
	PrincipalID ObjectID
	Target      Target
	Holders     []Holder
	// Applied is what jitpim last confirmed in the directory.
	Applied     bool
	DirectoryID string // the role assignment id, for roles
	// External marks an assignment that existed before jitpim granted it: it
	// was made outside jitpim, so jitpim never removes it.
	External       bool
	FailedAttempts int
	LastError      string
	NextAttempt    time.Time
	ModifiedAt     time.Time
	Version        string
}

// GrantKey is the key of the grant of principal on target.
func GrantKey(principalID ObjectID, t Target) string { return string(principalID) + "|" + t.Key() }

// Key is the grant's key.
func (g Grant) Key() string { return GrantKey(g.PrincipalID, g.Target) }

// Wanted reports whether some holder needs the directory assignment.
func (g Grant) Wanted() bool { return len(g.Holders) > 0 }

// Settled reports whether the directory is known to match the holders.
func (g Grant) Settled() bool { return g.Wanted() == g.Applied }

// HasHolder reports whether scheduleID holds the grant.
func (g Grant) HasHolder(scheduleID string) bool {
	return slices.ContainsFunc(g.Holders, func(h Holder) bool { return h.ScheduleID == scheduleID })
}

// LiveActivation returns a holder that is an activation still running at now.
func (g Grant) LiveActivation(now time.Time) (Holder, bool) {
	for _, h := range g.Holders {
		if h.AssignmentType == AssignmentActivated && (h.End.IsZero() || now.Before(h.End)) {
			return h, true
		}
	}
	return Holder{}, false
}

// RemoveHolder drops scheduleID and reports whether it was there.
func (g *Grant) RemoveHolder(scheduleID string) bool {
	n := len(g.Holders)
	g.Holders = slices.DeleteFunc(g.Holders, func(h Holder) bool { return h.ScheduleID == scheduleID })
	return len(g.Holders) != n
}

// User is what the engine knows of a directory account.
type User struct {
	ID                ObjectID
	UserPrincipalName string
	DisplayName       string
	Mail              string
	Enabled           bool
	LastSignIn        time.Time
}

// RoleAssignment is a directory role assignment as the directory reports it.
type RoleAssignment struct {
	ID               string
	PrincipalID      ObjectID
	RoleDefinitionID ObjectID
	DirectoryScopeID string
}

// AuditRecord is one append-only audit entry.
type AuditRecord struct {
	ID           string
	Time         time.Time
	ActorID      ObjectID // object id of who acted; "jitpim" for timers
	Action       string   // e.g. "request.create", "approval.decide", "grant.add"
	Category     string   // RoleManagement, GroupManagement, Policy, Governance
	Target       Target
	PrincipalID  ObjectID // whose access changed
	RequestID    string
	Outcome      string // success, failure
	Reason       string
	InvocationID string
	Details      map[string]string
	// Chain fields are set by the store: the hash of the previous record in
	// the same partition, and this record's own hash.
	PrevHash string
	Hash     string
}

// Clone returns a deep copy.
func (g Grant) Clone() Grant {
	g.Holders = slices.Clone(g.Holders)
	return g
}
