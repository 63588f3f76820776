package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestExtendDecidedByAdmin: a holder's selfExtend waits for an admin, who
// finds it among the approvals (API and command line) and decides it with
// a reason. The approved one moves the end in the schedule the API serves
// and in the due index: the expiry sweep leaves it at the old end and ends
// it at the new one. The denied one ends at its old end. An extension
// asked for more than 14 days before the end is refused, naming the field.
func TestExtendDecidedByAdmin(t *testing.T) {
	defer advance(t, 0)
	ctx := context.Background()
	const (
		teams  = "69091246-20e8-4a56-aa4d-066075b2a7a8" // Teams Administrator: extension approved
		groups = "fdd7a751-b60b-444a-984c-02652fe8fa1c" // Groups Administrator: extension denied
	)
	gina, stan, stanID := as(t, "gina", true), as(t, "stan", true), user("stan")
	assign := func(role string) string {
		out := must(t, gina, 201, "POST", assignReqs, map[string]any{"action": "adminAssign", "principalId": stanID, "roleDefinitionId": role,
			"directoryScopeId": "/", "justification": "tenant migration",
			"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P10D"}}})
		if out["status"] != "Provisioned" {
			t.Fatalf("adminAssign: %v", out)
		}
		return out["id"].(string)
	}
	extend := func(role string) map[string]any {
		return map[string]any{"action": "selfExtend", "principalId": stanID, "roleDefinitionId": role, "directoryScopeId": "/",
			"justification": "the migration runs another three weeks",
			"scheduleInfo":  map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P30D"}}}
	}
	approvedSched, deniedSched := assign(teams), assign(groups)
	oldEnd := endOf(t, must(t, stan, 200, "GET", "roleManagement/directory/roleAssignmentSchedules/"+approvedSched, nil))
	deniedEnd := endOf(t, must(t, stan, 200, "GET", "roleManagement/directory/roleAssignmentSchedules/"+deniedSched, nil))

	// Too early: an eligibility ending in 60 days cannot be extended yet.
	must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": stanID, "roleDefinitionId": teams,
		"directoryScopeId": "/", "justification": "tenant migration",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P60D"}}})
	refused := must(t, stan, 400, "POST", eligReqs, extend(teams))
	if msg := refused["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "action") || !strings.Contains(msg, "14 days") {
		t.Fatalf("too-early extension refused with %q, want the field and the rule named", msg)
	}

	yes := must(t, stan, 201, "POST", assignReqs, extend(teams))
	no := must(t, stan, 201, "POST", assignReqs, extend(groups))
	for _, r := range []map[string]any{yes, no} {
		if r["status"] != "PendingAdminDecision" || r["approvalId"] != r["id"] {
			t.Fatalf("selfExtend: %v", r)
		}
	}
	if !st.Graph.HasRoleAssignment(stanID, teams, "/") {
		t.Fatal("the active assignment is not in the directory")
	}

	// The admin sees both, named, on the API and the command line.
	waiting := must(t, gina, 200, "GET", assignReqs+"/filterByCurrentUser(on='approver')", nil)["value"].([]any)
	seen := map[string]bool{}
	for _, w := range waiting {
		seen[w.(map[string]any)["id"].(string)] = true
	}
	if !seen[yes["id"].(string)] || !seen[no["id"].(string)] {
		t.Fatalf("admin's approvals %v lack the extensions", waiting)
	}
	list := mustCLI(t, "gina", "approvals")
	for _, want := range []string{"Extensions and renewals", "Stan Developer", "Teams Administrator", "Groups Administrator", "extend active", yes["id"].(string),
		oldEnd.UTC().Format(time.RFC3339), oldEnd.Add(20 * 24 * time.Hour).UTC().Format(time.RFC3339)} {
		if !strings.Contains(list, want) {
			t.Fatalf("jitpim approvals lacks %q:\n%s", want, list)
		}
	}

	// Deciding is an admin write: the requester cannot, nor without MFA, nor without a reason.
	approval := "roleManagement/directory/roleAssignmentApprovals/"
	a := must(t, gina, 200, "GET", approval+yes["id"].(string), nil)
	step := a["steps"].([]any)[0].(map[string]any)
	if step["id"] != "admin" || step["assignedToMe"] != true || step["displayName"] != "Administrator decision" {
		t.Fatalf("approval steps: %v", a)
	}
	must(t, as(t, "gina", false), 403, "PATCH", approval+yes["id"].(string)+"/steps/admin", map[string]any{"reviewResult": "Approve", "justification": "ok"})
	must(t, gina, 400, "PATCH", approval+yes["id"].(string)+"/steps/admin", map[string]any{"reviewResult": "Approve"})
	if out := jitpim(t, "stan", true, nil, "approve", yes["id"].(string), "--justification", "mine"); out.code == 0 {
		t.Fatalf("the requester approved their own extension: %+v", out)
	}

	if out := mustCLI(t, "gina", "approve", yes["id"].(string), "--justification", "CAB approved the migration"); !strings.Contains(out, "Approved") {
		t.Fatalf("jitpim approve: %s", out)
	}
	// The portal's Approve requests screen shows the other one with both
	// ends, and Gina denies it there with her reason.
	web := newBrowser(t, user("gina"), true)
	_, body := web.get(st.HostURL + "/portal/approvals")
	code, body := web.signInFrom(body)
	for _, want := range []string{"Stan Developer", "wants Groups Administrator", "Extend the active assignment", "Ends now", "Asked to end",
		`datetime="` + deniedEnd.UTC().Format(time.RFC3339) + `"`, `datetime="` + deniedEnd.Add(20*24*time.Hour).UTC().Format(time.RFC3339) + `"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("portal inbox lacks %q: %d %s", want, code, body)
		}
	}
	csrf := formCSRF(body, "/portal/approvals")
	if csrf == nil {
		t.Fatalf("no decision form: %s", body)
	}
	code, body = web.post(st.HostURL+"/portal/approvals", url.Values{"csrf": {csrf[1]}, "id": {no["id"].(string)}, "stage": {"admin"},
		"decision": {"Deny"}, "justification": {"hand it to the Teams team"}})
	if code != 200 || !strings.Contains(body, "Denied: Stan Developer") {
		t.Fatalf("deny in the portal: %d %s", code, body)
	}
	must(t, gina, 409, "PATCH", approval+no["id"].(string)+"/steps/admin", map[string]any{"reviewResult": "Approve", "justification": "changed my mind"})

	if r := must(t, stan, 200, "GET", assignReqs+"/"+yes["id"].(string), nil); r["status"] != "Provisioned" {
		t.Fatalf("approved extension: %v", r)
	}
	if r := must(t, stan, 200, "GET", assignReqs+"/"+no["id"].(string), nil); r["status"] != "Denied" {
		t.Fatalf("denied extension: %v", r)
	}
	newEnd := endOf(t, must(t, stan, 200, "GET", "roleManagement/directory/roleAssignmentSchedules/"+approvedSched, nil))
	if got := newEnd.Sub(oldEnd); got != 20*24*time.Hour {
		t.Fatalf("the approved extension moved the end by %s, want 20 days (%s → %s)", got, oldEnd, newEnd)
	}
	if e := endOf(t, must(t, stan, 200, "GET", "roleManagement/directory/roleAssignmentSchedules/"+deniedSched, nil)); !e.Equal(deniedEnd) {
		t.Fatalf("the denied extension moved the end to %s", e)
	}

	// Past the old end: the sweep ends the denied one, not the extended one.
	advance(t, 10*24*time.Hour+2*time.Minute)
	if out, err := st.RunTimer(ctx, "expirySweep"); err != nil {
		t.Fatalf("sweep: %v %s", err, out)
	}
	if !st.Graph.HasRoleAssignment(stanID, teams, "/") {
		t.Fatal("the sweep ended the extended assignment at its old end")
	}
	if st.Graph.HasRoleAssignment(stanID, groups, "/") {
		t.Fatal("the assignment whose extension was denied outlived its end")
	}
	// Past the new end: the sweep ends it.
	advance(t, 30*24*time.Hour+2*time.Minute)
	if out, err := st.RunTimer(ctx, "expirySweep"); err != nil {
		t.Fatalf("sweep: %v %s", err, out)
	}
	if st.Graph.HasRoleAssignment(stanID, teams, "/") {
		t.Fatal("the extended assignment outlived its new end")
	}
	advance(t, 0) // the admin's MFA sign-in is fresh again for the clean-up
	must(t, gina, 201, "POST", eligReqs, map[string]any{"action": "adminRemove", "principalId": stanID, "roleDefinitionId": teams, "directoryScopeId": "/"})
}

// endOf reads a schedule's end from the API.
func endOf(t *testing.T, s map[string]any) time.Time {
	t.Helper()
	si, _ := s["scheduleInfo"].(map[string]any)
	exp, _ := si["expiration"].(map[string]any)
	v, _ := exp["endDateTime"].(string)
	end, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Fatalf("schedule without an end: %v", s)
	}
	return end
}
