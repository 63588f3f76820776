// Package enginetest is the engine's behaviour suite: the request
// lifecycle, approvals, refusals, policies, overlapping grants, the sweep,
// tickets, notifications, directory failures, the races and Azure
// resource roles, written once
// and run over every domain.Store (the memory store in package engine, the
// Table Storage store on Azurite in package tablestore), so the guarantees
// the engine makes (one winner, one grant, one audit record, nothing
// written by a refusal) are proved where the conditional writes are real.
// Fixture is exported for the tests each store adds of its own.
package enginetest

import (
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

// suite hands the tests their store factory: a test may build several
// fixtures (one per case or per round), each on a fresh store.
type suite struct {
	newStore func(t testing.TB) domain.Store
}

func (s suite) fixture(t testing.TB, mods ...func(*Setup)) *Fixture {
	t.Helper()
	return NewFixture(t, s.newStore(t), mods...)
}

// tests lists the suite by subtest name.
var tests = []struct {
	name string
	run  func(*testing.T, suite)
}{
	{"WalkthroughRole", testWalkthroughRole},
	{"WalkthroughGroup", testWalkthroughGroup},
	{"ActivationExpiresBySweep", testActivationExpiresBySweep},

	{"ApprovalSingleStage", testApprovalSingleStage},
	{"ApprovalDeny", testApprovalDeny},
	{"ApprovalTwoStageSerial", testApprovalTwoStageSerial},
	{"ApprovalByGroupMember", testApprovalByGroupMember},
	{"ApprovalWithoutApproversRefused", testApprovalWithoutApproversRefused},
	{"ApprovalByAdminGroup", testApprovalByAdminGroup},
	{"ApprovalAdminCannotApproveOwn", testApprovalAdminCannotApproveOwn},
	{"ApprovalRechecksDisabledAccount", testApprovalRechecksDisabledAccount},
	{"ApprovalRechecksEligibility", testApprovalRechecksEligibility},
	{"ApprovalTimeout", testApprovalTimeout},
	{"Cancel", testCancel},
	{"ApprovalStartsTheWindow", testApprovalStartsTheWindow},
	{"GrantedWindowEndedBeforeProvisioning", testGrantedWindowEndedBeforeProvisioning},
	{"Escalation", testEscalation},

	{"SelfActivateRefusals", testSelfActivateRefusals},
	{"SelfActivateValidationOnly", testSelfActivateValidationOnly},

	{"AdminAssignRefusals", testAdminAssignRefusals},
	{"AdminByGlobalAdministratorRole", testAdminByGlobalAdministratorRole},
	{"AdminAssignActiveAndExtend", testAdminAssignActiveAndExtend},
	{"AdminExtendEligibility", testAdminExtendEligibility},
	{"AdminRemoveEligibilityEndsActivation", testAdminRemoveEligibilityEndsActivation},
	{"AdminValidationOnlyAssign", testAdminValidationOnlyAssign},
	{"SelfExtendNeedsAdminDecision", testSelfExtendNeedsAdminDecision},
	{"RenewableEligibilities", testRenewableEligibilities},
	{"TicketCheckWhileTyping", testTicketCheckWhileTyping},
	{"ExtendOfferedOnlyInLastDays", testExtendOfferedOnlyInLastDays},
	{"ExtendApprovedMovesEnd", testExtendApprovedMovesEnd},
	{"ExtendDeniedLeavesIt", testExtendDeniedLeavesIt},
	{"RenewApproved", testRenewApproved},
	{"ConcurrentExtendDecisions", testConcurrentExtendDecisions},
	{"ExtendRacesExpiry", testExtendRacesExpiry},

	{"PolicyTierInheritance", testPolicyTierInheritance},
	{"PolicyUpdateRefusals", testPolicyUpdateRefusals},
	{"PolicyConcurrentUpdates", testPolicyConcurrentUpdates},

	{"OverlapExpiry", testOverlapExpiry},
	{"OverlapDeactivate", testOverlapDeactivate},
	{"OverlapActivationOutlivesAssignment", testOverlapActivationOutlivesAssignment},

	{"SweepBreakGlassUntouched", testSweepBreakGlassUntouched},

	{"ScheduledActivation", testScheduledActivation},
	{"ScheduledCancel", testScheduledCancel},
	{"ScheduledCancelRacesSweep", testScheduledCancelRacesSweep},
	{"ScheduledCanceledButScheduleLeft", testScheduledCanceledButScheduleLeft},
	{"ScheduledApprovalKeepsWindow", testScheduledApprovalKeepsWindow},
	{"ScheduledAdminAssignments", testScheduledAdminAssignments},
	{"ScheduledRemovedOrRefusedBeforeStart", testScheduledRemovedOrRefusedBeforeStart},
	{"ScheduledOverlapRefused", testScheduledOverlapRefused},

	{"GroupHolderExpires", testGroupHolderExpires},
	{"GroupEligibleActivatedByAdmin", testGroupEligibleActivatedByAdmin},
	{"GroupPrincipalRefusals", testGroupPrincipalRefusals},

	{"ValidatedTicketOnTheAPI", testValidatedTicketOnTheAPI},
	{"ValidationWithoutTicketSystemDenies", testValidationWithoutTicketSystemDenies},
	{"TicketActivationWithoutMFAPolicy", testTicketActivationWithoutMFAPolicy},
	{"TicketActivationWaitsForRequesterMFA", testTicketActivationWaitsForRequesterMFA},
	{"TicketActivationConfirmationThenApproval", testTicketActivationConfirmationThenApproval},
	{"TicketRefusalsAreNoted", testTicketRefusalsAreNoted},

	{"ActivationNotifiesRequesterAndAdmins", testActivationNotifiesRequesterAndAdmins},
	{"ApproversGetPersonalLinksNotTheRequester", testApproversGetPersonalLinksNotTheRequester},
	{"FailedSendNeverBlocksAndIsRetried", testFailedSendNeverBlocksAndIsRetried},
	{"CriticalLevelSendsOnlyActionMail", testCriticalLevelSendsOnlyActionMail},
	{"ExpiringReminderOnce", testExpiringReminderOnce},

	{"GrantFailsAtActivation", testGrantFailsAtActivation},
	{"RevokeFailsAtExpiry", testRevokeFailsAtExpiry},
	{"RevokeFailsAtDeactivate", testRevokeFailsAtDeactivate},
	{"SweepResumesStuckRequest", testSweepResumesStuckRequest},
	{"SweepResumesHalfProvisioned", testSweepResumesHalfProvisioned},
	{"SweepDoesNotResumeIntoEndedWindow", testSweepDoesNotResumeIntoEndedWindow},

	{"ConcurrentDecide", testConcurrentDecide},
	{"ConcurrentSelfActivate", testConcurrentSelfActivate},
	{"IdempotentSubmitSequential", testIdempotentSubmitSequential},
	{"IdempotentSubmitConcurrent", testIdempotentSubmitConcurrent},
	{"ConcurrentSweep", testConcurrentSweep},

	{"IDSpellings", testIDSpellings},

	{"AzureActivateWithOwnerApproval", testAzureActivateWithOwnerApproval},
	{"AzureExpiryLeavesInherited", testAzureExpiryLeavesInherited},
	{"AzureOutsideAssignmentRefused", testAzureOutsideAssignmentRefused},
	{"AzureBreakGlassUntouched", testAzureBreakGlassUntouched},
	{"AzureInvalidScopeRefused", testAzureInvalidScopeRefused},
	{"AzureFailuresRetriedByName", testAzureFailuresRetriedByName},
	{"AzureOverlap", testAzureOverlap},
	{"AzureNamedRequests", testAzureNamedRequests},
	{"AzureOtherOwnersApprove", testAzureOtherOwnersApprove},
	{"AzureNoOtherOwnerRefused", testAzureNoOtherOwnerRefused},
}

// Run runs the suite as subtests; newStore must return an empty store
// each call.
func Run(t *testing.T, newStore func(t testing.TB) domain.Store) {
	su := suite{newStore: newStore}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, su) })
	}
}
