package alert

import (
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Definition describes one alert, as Graph's
// unifiedRoleManagementAlertDefinition.
type Definition struct {
	ID              string
	DisplayName     string
	Severity        string
	Description     string
	SecurityImpact  string
	MitigationSteps string
	HowToPrevent    string
	IsRemediatable  bool
}

// Definitions lists every alert jitpim raises, in the order the API shows them.
var Definitions = []Definition{
	{ID: domain.AlertBreakGlassSignIn, DisplayName: "A break-glass account signed in", Severity: domain.SeverityHigh,
		Description:     "An emergency access account signed in (or tried to). These accounts are for emergencies only; every sign-in must be explained.",
		SecurityImpact:  "Break-glass accounts hold permanent Global Administrator and are excluded from Conditional Access: a stolen one controls the tenant.",
		MitigationSteps: "Find out who signed in and why. If nobody can explain it, treat it as a compromise: reset the account's credentials and review the audit log.",
		HowToPrevent:    "Keep the credentials in a safe with dual control and test the accounts on a schedule, announcing each test."},
	{ID: domain.AlertBreakGlassMisconfig, DisplayName: "Break-glass accounts are missing or misconfigured", Severity: domain.SeverityHigh,
		Description:     "Fewer than two emergency access accounts are configured, or one of them does not exist, is disabled, lacks permanent active Global Administrator, or has not been tested (signed in) within the test interval.",
		SecurityImpact:  "Without working emergency access a Conditional Access mistake or an outage of the MFA provider can lock every administrator out.",
		MitigationSteps: "Create or enable the account, assign Global Administrator at the tenant scope directly (not through a group or jitpim), and test the sign-in.",
		HowToPrevent:    "Keep two or more cloud-only emergency accounts with permanent Global Administrator (JITPIM_BREAK_GLASS_IDS) and test them at least every 90 days."},
	{ID: domain.AlertRolesOutsidePIM, DisplayName: "Roles are being assigned outside of jitpim", Severity: domain.SeverityHigh,
		Description:     "A directory role is held through an assignment jitpim did not grant and does not manage.",
		SecurityImpact:  "Standing access granted outside jitpim skips its approvals, time limits and audit.",
		MitigationSteps: "Review each assignment. Remove it, or replace it with an eligibility in jitpim. Removal can be automated (JITPIM_ALERT_REMOVE_OUTSIDE=true).",
		HowToPrevent:    "Grant privileged roles only through jitpim; restrict who holds Privileged Role Administrator.", IsRemediatable: true},
	{ID: domain.AlertTooManyGlobalAdmins, DisplayName: "There are too many Global Administrators", Severity: domain.SeverityLow,
		Description:     "More principals hold Global Administrator than the configured count and percentage of users allow. Every current holder counts, as in Entra: break-glass accounts, jitpim activations and members of groups holding the role.",
		SecurityImpact:  "Global Administrator can do anything in the tenant; each holder is a target.",
		MitigationSteps: "Review the holders and move them to less privileged roles, or make them eligible through jitpim instead of permanently active.",
		HowToPrevent:    "Assign the least privileged role that does the job."},
	{ID: domain.AlertStaleSignIn, DisplayName: "Potential stale accounts in a privileged role", Severity: domain.SeverityMedium,
		Description:     "An account with an eligible or active privileged role has not signed in for the configured number of days (or has no sign-in on record).",
		SecurityImpact:  "Unused accounts in privileged roles are attractive to attackers and their misuse goes unnoticed.",
		MitigationSteps: "Confirm the account is still needed; remove its roles or disable it.",
		HowToPrevent:    "Review privileged access regularly (access reviews)."},
	{ID: domain.AlertAdminsNotUsingRoles, DisplayName: "Administrators aren't using their privileged roles", Severity: domain.SeverityLow,
		Description:     "A principal has been eligible for a role for the configured number of days without activating it once.",
		SecurityImpact:  "Eligibilities nobody needs widen the attack surface.",
		MitigationSteps: "Remove the eligibilities that are not needed.",
		HowToPrevent:    "Give eligibilities an end date and review them."},
	{ID: domain.AlertNoMFAOnActivation, DisplayName: "Roles don't require multifactor authentication for activation", Severity: domain.SeverityLow,
		Description:     "The policy of a privileged role, or of a target people are eligible for, lets them activate without MFA or a Conditional Access authentication context.",
		SecurityImpact:  "A stolen password is enough to activate the role.",
		MitigationSteps: "Enable MultiFactorAuthentication in Enablement_EndUser_Assignment, or require an authentication context.",
		HowToPrevent:    "Keep MFA on activation in the default and tier policies."},
	{ID: domain.AlertActivatedTooOften, DisplayName: "Roles are being activated too frequently", Severity: domain.SeverityLow,
		Description:     "A principal activated the same target more often than the configured count within the configured window.",
		SecurityImpact:  "Frequent re-activation can mean the maximum activation is too short for the work, or that access is being used as standing access.",
		MitigationSteps: "Ask the person why; adjust the role's maximum activation or assign a less privileged role.",
		HowToPrevent:    "Set activation lengths that match the tasks the role is used for."},
	{ID: domain.AlertRevokeFailing, DisplayName: "Revoking access keeps failing", Severity: domain.SeverityHigh,
		Description:     "jitpim tried repeatedly to remove access that has ended, and the directory refused each time; the access is still there.",
		SecurityImpact:  "Access outlives its approval window.",
		MitigationSteps: "Check jitpim's Graph permissions and the directory; remove the assignment by hand if needed. The expiry sweep keeps retrying.",
		HowToPrevent:    "Keep jitpim's managed identity's RoleManagement.ReadWrite.Directory and GroupMember.ReadWrite.All permissions."},
	{ID: domain.AlertAccessReviewAutoDeny, DisplayName: "An access review will remove access automatically", Severity: domain.SeverityHigh,
		Description:     "An access review applies its decisions automatically with Deny as the default decision: unanswered reviews remove access.",
		SecurityImpact:  "If reviewers do not answer, everyone in scope loses access.",
		MitigationSteps: "Make sure reviewers answer, or change the default decision before the review ends.",
		HowToPrevent:    "Use a default decision of Recommendation or Approve, or keep auto-apply off."},
}

// DefinitionByID finds a definition.
func DefinitionByID(id string) (Definition, bool) {
	for _, d := range Definitions {
		if d.ID == id {
			return d, true
		}
	}
	return Definition{}, false
}

// signInRetention is how long Graph keeps sign-ins (30 days with Entra ID
// P1/P2): the furthest a break-glass check reads, and how long seen
// sign-ins stay as incidents (so a re-read never reports one twice).
const signInRetention = 30 * 24 * time.Hour

// raisedIncidentTTL is how long an incident given to RaiseAlert stays
// without being raised again.
const raisedIncidentTTL = 30 * 24 * time.Hour

// Bounds on what one incident stores, so 200 incidents fit one storage entity.
const (
	maxIncidentText    = 400
	maxIncidentDetails = 6
	maxDetailKey       = 40
	maxDetailValue     = 150
)
