package wire

// Approval is Graph beta's approval of a directory role request
// (roleAssignmentApprovals/{id}): its steps, always included.
type Approval struct {
	ID    string         `json:"id"`
	Steps []ApprovalStep `json:"steps"`
}

// ApprovalStep is one stage of a role approval (Graph beta's approvalStep).
type ApprovalStep struct {
	ID               string       `json:"id"`
	AssignedToMe     bool         `json:"assignedToMe"`
	DisplayName      string       `json:"displayName"`
	Justification    *string      `json:"justification"`
	ReviewResult     string       `json:"reviewResult"`
	ReviewedBy       *IdentitySet `json:"reviewedBy"`
	ReviewedDateTime *string      `json:"reviewedDateTime"`
	Status           string       `json:"status"`
}

// GroupApproval is Graph v1.0's approval of a PIM for Groups request
// (assignmentApprovals/{id}); stages is a navigation property, present
// only with $expand=stages.
type GroupApproval struct {
	ID     string          `json:"id"`
	Stages []ApprovalStage `json:"stages,omitempty"`
}

// ApprovalStage is Graph v1.0's approvalStage: the same stage as an
// ApprovalStep, with reviewedBy an identity rather than an identity set.
type ApprovalStage struct {
	ID               string    `json:"id"`
	AssignedToMe     bool      `json:"assignedToMe"`
	DisplayName      string    `json:"displayName"`
	Justification    *string   `json:"justification"`
	ReviewResult     string    `json:"reviewResult"`
	ReviewedBy       *Identity `json:"reviewedBy"`
	ReviewedDateTime *string   `json:"reviewedDateTime"`
	Status           string    `json:"status"`
}

// ApprovalDecision is what an approver PATCHes to a step or stage:
// reviewResult Approve or Deny, and why.
type ApprovalDecision struct {
	ReviewResult  string `json:"reviewResult"`
	Justification string `json:"justification,omitempty"`
}
