package domain

import "time"

// Event is something that happens to a request.
type Event string

// The events of the request state machine.
const (
	EvNeedApproval      Event = "needApproval"      // submitted; approval required
	EvNeedAdminDecision Event = "needAdminDecision" // submitted self-extend/renew; an admin must act
	EvGrant             Event = "grant"             // submitted without approval, or last stage approved
	EvStageApproved     Event = "stageApproved"     // a stage approved, another follows
	EvEscalate          Event = "escalate"          // a stage passed its escalation time
	EvDeny              Event = "deny"
	EvCancel            Event = "cancel"          // the requester withdrew it
	EvTimeout           Event = "timeout"         // a stage was not decided in time
	EvProvisionStart    Event = "provisionStart"  // the grant is being made (a scheduled request: its start came)
	EvScheduleCreated   Event = "scheduleCreated" // a request starting later has its schedule; access waits for the start
	EvProvisioned       Event = "provisioned"     // the schedule exists and the directory reflects it
	EvFail              Event = "fail"            // a check or the directory refused
	EvRemovalStart      Event = "removalStart"    // a deactivate/remove request is stored; the directory has not confirmed yet
	EvRemoved           Event = "removed"         // a deactivate/remove request took effect
	EvRevoke            Event = "revoke"          // the schedule this request created ended early
)

// Events lists every event.
var Events = []Event{EvNeedApproval, EvNeedAdminDecision, EvGrant, EvStageApproved, EvEscalate, EvDeny,
	EvCancel, EvTimeout, EvProvisionStart, EvScheduleCreated, EvProvisioned, EvFail, EvRemovalStart, EvRemoved, EvRevoke}

// StatusNew is the status of a request not yet stored.
const StatusNew Status = ""

// transitions is the whole request state machine. A missing entry means the
// event is refused in that status. A request that starts later (scheduled
// access) goes Granted → ScheduleCreated when its schedule is stored, and
// the sweep takes it ScheduleCreated → PendingProvisioning → Provisioned at
// its start; until then it can be canceled (or removed: revoke), and the
// conditional write of that one status change decides a race between a
// cancel and the sweep. PendingScheduleCreation is in Graph's enum, but
// jitpim stores a schedule in the same call that grants a request, so it
// never enters it.
var transitions = map[Status]map[Event]Status{
	StatusNew: {
		EvNeedApproval:      StatusPendingApproval,
		EvNeedAdminDecision: StatusPendingAdminDecision,
		EvGrant:             StatusGranted,
		EvFail:              StatusFailed,
		EvRemovalStart:      StatusPendingProvisioning,
		EvRemoved:           StatusRevoked,
	},
	StatusPendingApproval: {
		EvGrant:         StatusGranted,
		EvStageApproved: StatusPendingApproval,
		EvEscalate:      StatusPendingApproval,
		EvDeny:          StatusDenied,
		EvCancel:        StatusCanceled,
		EvTimeout:       StatusCanceled,
		EvFail:          StatusFailed,
	},
	StatusPendingAdminDecision: {
		EvGrant:   StatusGranted, // an administrator approved the extension or renewal
		EvDeny:    StatusDenied,
		EvCancel:  StatusCanceled,
		EvTimeout: StatusCanceled,
		EvFail:    StatusFailed, // approved, but the account was disabled meanwhile
	},
	StatusGranted: {
		EvProvisionStart:  StatusPendingProvisioning,
		EvScheduleCreated: StatusScheduleCreated,
		EvProvisioned:     StatusProvisioned,
		EvFail:            StatusFailed,
	},
	StatusScheduleCreated: {
		EvProvisionStart: StatusPendingProvisioning,
		EvCancel:         StatusCanceled,
		EvRevoke:         StatusRevoked,
		EvFail:           StatusFailed,
	},
	StatusPendingProvisioning: {
		EvProvisioned: StatusProvisioned,
		EvRemoved:     StatusRevoked,
		EvFail:        StatusFailed,
	},
	StatusProvisioned: {
		EvRevoke: StatusRevoked,
	},
}

// Transition returns the status that ev leads to from, or a conflict error
// naming both when the machine refuses it.
func Transition(from Status, ev Event) (Status, error) {
	if to, ok := transitions[from][ev]; ok {
		return to, nil
	}
	name := string(from)
	if from == StatusNew {
		name = "new"
	}
	return from, Errorf(CodeConflict, "the request is %s; it cannot take %s", name, ev)
}

// Apply moves r through ev, stamping CompletedAt when it settles. It is the
// only place a request's status changes.
func (r *Request) Apply(ev Event, now time.Time, reason string) error {
	to, err := Transition(r.Status, ev)
	if err != nil {
		return err
	}
	r.Status = to
	if reason != "" {
		r.StatusReason = reason
	}
	if to.Terminal() || to == StatusProvisioned {
		r.CompletedAt = now
	}
	if r.Approval != nil && !r.AwaitsDecision() {
		// Canceled, failed or timed out while a stage was open: the stage is
		// over too, so no approver is shown a decision that cannot be made.
		for i := range r.Approval.Stages {
			if st := &r.Approval.Stages[i]; st.Status != StageCompleted {
				st.Status = StageCompleted
			}
		}
	}
	return nil
}
