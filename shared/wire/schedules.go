package wire

import "github.com/jitpim/jitpim/shared/domain"

// Schedule is a schedule (…Schedules: scheduleInfo, status, created and
// modified times) or an instance (…ScheduleInstances: startDateTime,
// endDateTime and the ids of the schedules it comes from), for roles or
// groups; the fields that do not apply are left out.
type Schedule struct {
	ID                        string          `json:"id"`
	PrincipalID               domain.ObjectID `json:"principalId"`
	RoleDefinitionID          domain.ObjectID `json:"roleDefinitionId,omitempty"`
	DirectoryScopeID          string          `json:"directoryScopeId,omitempty"`
	AppScopeID                *string         `json:"appScopeId,omitempty"`
	GroupID                   domain.ObjectID `json:"groupId,omitempty"`
	AccessID                  string          `json:"accessId,omitempty"`
	MemberType                string          `json:"memberType"`
	AssignmentType            string          `json:"assignmentType,omitempty"`
	Status                    string          `json:"status,omitempty"`
	CreatedUsing              string          `json:"createdUsing,omitempty"`
	CreatedDateTime           *string         `json:"createdDateTime,omitempty"`
	ModifiedDateTime          *string         `json:"modifiedDateTime,omitempty"`
	ScheduleInfo              *ScheduleInfo   `json:"scheduleInfo,omitempty"`
	StartDateTime             *string         `json:"startDateTime,omitempty"`
	EndDateTime               *string         `json:"endDateTime,omitempty"`
	RoleAssignmentOriginID    string          `json:"roleAssignmentOriginId,omitempty"`
	RoleAssignmentScheduleID  string          `json:"roleAssignmentScheduleId,omitempty"`
	RoleEligibilityScheduleID string          `json:"roleEligibilityScheduleId,omitempty"`
	AssignmentScheduleID      string          `json:"assignmentScheduleId,omitempty"`
	EligibilityScheduleID     string          `json:"eligibilityScheduleId,omitempty"`
}
