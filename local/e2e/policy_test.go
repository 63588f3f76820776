package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/local/stack"
)

// policyRecords counts the audit log's policy changes, through the API.
func policyRecords(t *testing.T) int {
	t.Helper()
	gina := as(t, "gina", true)
	n := 0
	path := "auditLogs/directoryAudits?$top=999"
	for pages := 0; path != "" && pages < 100; pages++ {
		out := must(t, gina, 200, "GET", path, nil)
		for _, v := range out["value"].([]any) {
			if r := v.(map[string]any); r["category"] == "Policy" || strings.HasPrefix(fmt.Sprint(r["operationType"]), "policy.") {
				n++
			}
		}
		path = ""
		if next, _ := out["@odata.nextLink"].(string); next != "" {
			if i := strings.Index(next, "$skiptoken="); i >= 0 {
				path = "auditLogs/directoryAudits?$top=999&" + next[i:]
			}
		}
	}
	return n
}

func demoFile(t *testing.T) string {
	t.Helper()
	p, err := stack.DemoPolicyFile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDemoPolicyFileIsTheSeed: `make run` seeds the demo by applying
// local/demo/jitpim.yaml, so planning it again finds nothing to do, and
// applying it again writes no policy record.
func TestDemoPolicyFileIsTheSeed(t *testing.T) {
	file := demoFile(t)
	if out := mustCLI(t, "", "config", "validate", file); !strings.Contains(out, "valid (0 warning(s))") {
		t.Fatalf("validate: %s", out)
	}
	plan := mustCLI(t, "gina", "config", "plan", file)
	if !strings.Contains(plan, "No changes") || strings.Contains(plan, "Warnings") || !strings.Contains(plan, "the handler refuses to manage it") {
		t.Fatalf("plan of the seeded demo:\n%s", plan)
	}
	before := policyRecords(t)
	if out := mustCLI(t, "gina", "config", "apply", file); !strings.Contains(out, "No changes") || strings.Contains(out, "Applying") {
		t.Fatalf("second apply: %s", out)
	}
	if after := policyRecords(t); after != before {
		t.Fatalf("applying the seeded file again wrote %d policy records", after-before)
	}
	// README's walkthrough facts come from the file.
	ga := must(t, as(t, "gina", true), 200, "GET", "policies/roleManagementPolicies/DirectoryRole_"+stack.RoleGlobalAdmin+"/rules/Expiration_EndUser_Assignment", nil)
	if ga["maximumDuration"] != "PT1H" {
		t.Fatalf("Global Administrator activation: %v", ga)
	}
}

// e2eFile manages targets that no other test uses: a tier, two roles and a
// group's ownership, with an eligibility and an active assignment.
const e2eFile = `version: 1
directory:
  users:
    adam: a47440fe-ede2-441f-a6c7-93ef77d456d2
    stan: bab627f5-13ed-48bf-ab5f-3cd25232621a
    alice: c4049c7c-e12b-4472-b42d-c24808aa1054
  groups:
    PAG-SERVICE-DESK-L3: 6e2981ed-9cb2-4d22-928f-dd8946241809
tiers:
  E2E:
    description: end-to-end test tier
    settings:
      activationDuration: PT3H
      mfa: true
      ticket: true
roles:
  Security Administrator:
    tier: E2E
    eligible:
      - user: adam
        expiration: P30D
  Reports Reader:
    settings:
      activationDuration: PT4H
      activeExpiration: P7D
    active:
      - user: stan
        expiration: P7D
        justification: quarterly reporting
privilegedAccessGroups:
  PAG-SERVICE-DESK-L3:
    owner:
      tier: E2E
      settings:
        approval: true
        approvers: [alice]
`

const reportsReader = "4a5d8f65-41da-4de4-8968-e035b65339cf"

// TestPolicyFileApplyIsIdempotentAndRemovalsNeedTheFlag: a file is
// planned, applied (access appears in the directory), applied again
// (nothing changes, no policy record), then shrunk: removals wait for
// --allow-removals.
func TestPolicyFileApplyIsIdempotentAndRemovalsNeedTheFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "jitpim.yaml")
	if err := os.WriteFile(file, []byte(e2eFile), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := mustCLI(t, "gina", "config", "plan", file)
	for _, want := range []string{"+ tier E2E (Tier_E2E)", "targets: + group PAG-SERVICE-DESK-L3 owner, + role Security Administrator",
		"~ role Reports Reader", "activation duration: PT8H → PT4H", "~ group PAG-SERVICE-DESK-L3 owner", "approval: off → alice",
		"+ adam: eligible for role Security Administrator: P30D", "+ stan: active for role Reports Reader: P7D", "Plan: 3 to add, 2 to change, 0 to remove."} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if r := jitpim(t, "rita", true, nil, "config", "apply", file); r.code != 1 || !strings.Contains(r.stderr, "403") {
		t.Fatalf("apply by a non-admin: %+v", r)
	}
	before := policyRecords(t)
	if out := mustCLI(t, "gina", "config", "apply", file); !strings.Contains(out, "Applied: 3 added, 2 changed, 0 removed.") {
		t.Fatalf("apply: %s", out)
	}
	if policyRecords(t) == before {
		t.Fatal("the first apply wrote no policy record")
	}
	if !st.Graph.HasRoleAssignment(user("stan"), reportsReader, "/") {
		t.Fatal("stan's active assignment is not in the directory")
	}
	policies := policyRecords(t)
	if out := mustCLI(t, "gina", "config", "plan", file); !strings.Contains(out, "No changes: the live state matches the file.") {
		t.Fatalf("plan after apply:\n%s", out)
	}
	if out := mustCLI(t, "gina", "config", "apply", file); !strings.Contains(out, "No changes: the live state matches the file.") || strings.Contains(out, "Applying") {
		t.Fatalf("second apply: %s", out)
	}
	if n := policyRecords(t); n != policies {
		t.Fatalf("the second apply wrote %d policy records", n-policies)
	}

	// The file no longer lists stan's active assignment.
	shrunk := strings.Replace(e2eFile, "    active:\n      - user: stan\n        expiration: P7D\n        justification: quarterly reporting\n", "", 1)
	if err := os.WriteFile(file, []byte(shrunk), 0o600); err != nil {
		t.Fatal(err)
	}
	plan = mustCLI(t, "gina", "config", "plan", file)
	if !strings.Contains(plan, "- stan: active for role Reports Reader, not in the file") || !strings.Contains(plan, "[held back: pass --allow-removals to remove]") ||
		!strings.Contains(plan, "No changes to apply. 1 removal(s) held back") {
		t.Fatalf("plan of the shrunk file:\n%s", plan)
	}
	mustCLI(t, "gina", "config", "apply", file)
	if !st.Graph.HasRoleAssignment(user("stan"), reportsReader, "/") {
		t.Fatal("apply without --allow-removals removed an assignment")
	}
	if out := mustCLI(t, "gina", "config", "apply", file, "--allow-removals"); !strings.Contains(out, "Applied: 0 added, 0 changed, 1 removed.") {
		t.Fatalf("apply --allow-removals: %s", out)
	}
	if st.Graph.HasRoleAssignment(user("stan"), reportsReader, "/") {
		t.Fatal("the removed assignment is still in the directory")
	}
	if out := mustCLI(t, "gina", "config", "plan", file, "--allow-removals"); !strings.Contains(out, "No changes: the live state matches the file.") {
		t.Fatalf("final plan:\n%s", out)
	}
}

// TestPolicyFileValidationThroughTheBinary: errors come back as
// file:line: message and exit 1; nothing is planned from such a file.
func TestPolicyFileValidationThroughTheBinary(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "version: 1\ndirectory:\n  users:\n    bg1: e56a8394-5973-4642-b020-43bafd44ea44\nroles:\n  Global Administrator:\n    settings:\n      activationDuration: PT25H\n      approval: true\n    eligible: [bg1]\nbreakGlass: [bg1, bg2]\n"
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := jitpim(t, "", false, nil, "config", "validate", file)
	for _, want := range []string{file + ":8: roles.Global Administrator.settings.activationDuration: an activation may last at most 24 hours",
		file + ":9: Global Administrator: approval is required but no approver is named", file + ":10: Global Administrator: bg1 is a break-glass account",
		file + `:11: breakGlass: unknown user "bg2"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	if r := jitpim(t, "gina", true, nil, "config", "apply", file); r.code != 1 || !strings.Contains(r.stderr, "fix them first") {
		t.Fatalf("apply of a bad file: %+v", r)
	}
}

// reviewFile declares one access review; applying it twice creates it once.
const reviewFile = `version: 1
directory:
  users:
    alice: c4049c7c-e12b-4472-b42d-c24808aa1054
accessReviews:
  - name: E2E policy file review
    scope: {role: Security Reader}
    reviewers: [alice]
    recurrence: {every: 3, unit: months}
    durationInDays: 14
    defaultDecision: approve
`

// TestPolicyFileCreatesAccessReviewsOnce: apply POSTs the definition
// through the API; the second plan and apply find nothing to do.
func TestPolicyFileCreatesAccessReviewsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "reviews.yaml")
	if err := os.WriteFile(file, []byte(reviewFile), 0o600); err != nil {
		t.Fatal(err)
	}
	gina := as(t, "gina", true)
	named := func() []string {
		var ids []string
		for _, v := range must(t, gina, 200, "GET", "identityGovernance/accessReviews/definitions", nil)["value"].([]any) {
			if d := v.(map[string]any); d["displayName"] == "E2E policy file review" {
				ids = append(ids, d["id"].(string))
			}
		}
		return ids
	}
	t.Cleanup(func() {
		for _, id := range named() {
			must(t, gina, 204, "DELETE", "identityGovernance/accessReviews/definitions/"+id, nil)
		}
	})
	if plan := mustCLI(t, "gina", "config", "plan", file); !strings.Contains(plan, `+ access review "E2E policy file review"`) {
		t.Fatalf("plan:\n%s", plan)
	}
	if out := mustCLI(t, "gina", "config", "apply", file); !strings.Contains(out, "Applied: 1 added") {
		t.Fatalf("apply: %s", out)
	}
	if ids := named(); len(ids) != 1 {
		t.Fatalf("definitions after apply: %v", ids)
	}
	plan := mustCLI(t, "gina", "config", "plan", file)
	if !strings.Contains(plan, "No changes") || !strings.Contains(plan, `= access review "E2E policy file review"`) || strings.Contains(plan, "+ access review") {
		t.Fatalf("second plan:\n%s", plan)
	}
	if out := mustCLI(t, "gina", "config", "apply", file); !strings.Contains(out, "No changes") || strings.Contains(out, "Applying") {
		t.Fatalf("second apply: %s", out)
	}
	if ids := named(); len(ids) != 1 {
		t.Fatalf("definitions after the second apply: %v", ids)
	}
}
