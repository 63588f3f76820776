package notify

// Access review notifications. TargetName is the review's name, except in
// ReviewAccessRemoved, where it is the role or group and Actor the review.
// They live in their own file and register in init, beside the kinds of
// notify.go, so that the two lists are edited apart.
const (
	ReviewNeeded        Kind = "reviewNeeded"        // to each reviewer, with a personal link
	ReviewReminder      Kind = "reviewReminder"      // to reviewers with items left
	ReviewAutoDenyArmed Kind = "reviewAutoDenyArmed" // to admins: unanswered items will be removed
	ReviewApplying      Kind = "reviewApplying"      // to admins: removals are being applied
	ReviewAccessRemoved Kind = "reviewAccessRemoved" // to the principal whose access a review removed
)

func init() {
	for k, t := range map[Kind][2]string{
		ReviewNeeded: {"Access review: {{.TargetName}} needs your decisions by {{when .End}}",
			`You are a reviewer in the access review {{.TargetName}}. {{.Reason}} Decide for each whether the access is still needed before {{when .End}}. Open the review to decide; you will be asked to sign in. Opening the link changes nothing by itself.`},
		ReviewReminder: {"Reminder: access review {{.TargetName}} ends {{when .End}}",
			`The access review {{.TargetName}} ends on {{when .End}} and still waits for you. {{.Reason}} Open the review to decide; you will be asked to sign in.`},
		ReviewAutoDenyArmed: {"WARNING: access review {{.TargetName}} will REMOVE unanswered access on {{when .End}}",
			`The access review {{.TargetName}} started. {{.Reason}} Every item nobody answers by {{when .End}} is DENIED and its access REMOVED automatically. Make sure the reviewers answer, or stop or delete the review before it ends.`},
		ReviewApplying: {"Access review {{.TargetName}} is removing access now",
			`The access review {{.TargetName}} ended and jitpim is applying its decisions. {{.Reason}} Each removal is an adminRemove request by jitpim, in the audit log.`},
		ReviewAccessRemoved: {"Your {{.TargetName}} access was removed by an access review",
			`{{.PrincipalName}}'s {{.TargetName}} access was removed because of the access review {{.Actor}}.{{if .Reason}} {{.Reason}}{{end}} Ask an administrator if it is still needed.`},
	} {
		subjects[k], bodies[k] = t[0], t[1]
	}
}
