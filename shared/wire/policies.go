package wire

// Graph's @odata.type of each policy rule and approver kind.
const (
	ODataExpirationRule            = "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule"
	ODataEnablementRule            = "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule"
	ODataApprovalRule              = "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule"
	ODataAuthenticationContextRule = "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule"
	ODataNotificationRule          = "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule"
	ODataSingleUser                = "#microsoft.graph.singleUser"
	ODataGroupMembers              = "#microsoft.graph.groupMembers"
	// ODataResourceOwners is jitpim's extension for an Azure role: the
	// other owners of the resource, resolved when the activation is
	// requested. Graph has no such approver.
	ODataResourceOwners = "#jitpim.resourceOwners"
)

// Policy is a roleManagementPolicy. InheritedFrom and TierTargets are
// jitpim's extensions: Graph has no tiers.
type Policy struct {
	ID                    string       `json:"id"`
	DisplayName           string       `json:"displayName"`
	Description           string       `json:"description"`
	IsOrganizationDefault bool         `json:"isOrganizationDefault"`
	ScopeID               string       `json:"scopeId"`
	ScopeType             string       `json:"scopeType"`
	LastModifiedDateTime  *string      `json:"lastModifiedDateTime"`
	LastModifiedBy        *IdentitySet `json:"lastModifiedBy"`
	Rules                 []Rule       `json:"rules,omitempty"`
	InheritedFrom         string       `json:"inheritedFrom,omitempty"`
	TierTargets           []TierTarget `json:"tierTargets,omitempty"`
}

// TierTarget names a target of a tier: a role at a scope, or a group's
// membership or ownership.
type TierTarget struct {
	RoleDefinitionID string `json:"roleDefinitionId,omitempty"`
	DirectoryScopeID string `json:"directoryScopeId,omitempty"`
	GroupID          string `json:"groupId,omitempty"`
	AccessID         string `json:"accessId,omitempty"`
}

// PolicyPatch is what a PATCH of a policy may change; pointers tell absent
// from empty.
type PolicyPatch struct {
	DisplayName *string       `json:"displayName,omitempty"`
	Description *string       `json:"description,omitempty"`
	TierTargets *[]TierTarget `json:"tierTargets,omitempty"`
}

// PolicyAssignment is a roleManagementPolicyAssignment: the policy in
// force for a role at a scope, or for a group's member or owner access.
// For a group, roleDefinitionId holds member or owner, as in Graph.
type PolicyAssignment struct {
	ID               string `json:"id"`
	PolicyID         string `json:"policyId"`
	ScopeID          string `json:"scopeId"`
	ScopeType        string `json:"scopeType"`
	RoleDefinitionID string `json:"roleDefinitionId"`
}

// Rule is the union of Graph's policy rule shapes, told apart by
// @odata.type; omitempty keeps each rule to its own properties. The same
// type is answered and PATCHed, so pointers tell absent from empty.
type Rule struct {
	ODataType string      `json:"@odata.type"`
	ID        string      `json:"id"`
	Target    *RuleTarget `json:"target,omitempty"`
	// expiration
	IsExpirationRequired *bool   `json:"isExpirationRequired,omitempty"`
	MaximumDuration      *string `json:"maximumDuration,omitempty"`
	// enablement
	EnabledRules *[]string `json:"enabledRules,omitempty"`
	// IsTicketValidationRequired is jitpim's extension of the end-user
	// enablement rule: the ticket must be confirmed by the ticket system.
	IsTicketValidationRequired *bool `json:"isTicketValidationRequired,omitempty"`
	// approval
	Setting *ApprovalSettings `json:"setting,omitempty"`
	// authentication context
	IsEnabled  *bool   `json:"isEnabled,omitempty"`
	ClaimValue *string `json:"claimValue,omitempty"`
	// notification
	NotificationType           *string   `json:"notificationType,omitempty"`
	RecipientType              *string   `json:"recipientType,omitempty"`
	NotificationLevel          *string   `json:"notificationLevel,omitempty"`
	IsDefaultRecipientsEnabled *bool     `json:"isDefaultRecipientsEnabled,omitempty"`
	NotificationRecipients     *[]string `json:"notificationRecipients,omitempty"`
}

// RuleTarget says whom and what a rule applies to (caller EndUser or
// Admin, level Eligibility or Assignment).
type RuleTarget struct {
	Caller              string   `json:"caller"`
	Operations          []string `json:"operations"`
	Level               string   `json:"level"`
	InheritableSettings []string `json:"inheritableSettings"`
	EnforcedSettings    []string `json:"enforcedSettings"`
}

// ApprovalSettings is the setting of an approval rule.
type ApprovalSettings struct {
	IsApprovalRequired               bool                   `json:"isApprovalRequired"`
	IsApprovalRequiredForExtension   bool                   `json:"isApprovalRequiredForExtension"`
	IsRequestorJustificationRequired bool                   `json:"isRequestorJustificationRequired"`
	ApprovalMode                     string                 `json:"approvalMode"`
	ApprovalStages                   []UnifiedApprovalStage `json:"approvalStages"`
}

// UnifiedApprovalStage is one stage of an approval rule: who approves,
// within how long, and who is asked when they do not.
type UnifiedApprovalStage struct {
	ApprovalStageTimeOutInDays      int       `json:"approvalStageTimeOutInDays"`
	IsApproverJustificationRequired bool      `json:"isApproverJustificationRequired"`
	EscalationTimeInMinutes         int       `json:"escalationTimeInMinutes"`
	IsEscalationEnabled             bool      `json:"isEscalationEnabled"`
	PrimaryApprovers                []UserSet `json:"primaryApprovers"`
	EscalationApprovers             []UserSet `json:"escalationApprovers"`
}

// UserSet is an approver: a user (ODataSingleUser, userId), the members
// of a group (ODataGroupMembers, groupId), or the other owners of an Azure
// resource (ODataResourceOwners, neither).
type UserSet struct {
	ODataType   string `json:"@odata.type"`
	UserID      string `json:"userId,omitempty"`
	GroupID     string `json:"groupId,omitempty"`
	Description string `json:"description,omitempty"`
	IsBackup    *bool  `json:"isBackup,omitempty"`
}
