package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/stack"
	"github.com/jitpim/jitpim/shared/domain"
)

// scheduledBody is body with scheduleInfo.startDateTime set to start.
func scheduledBody(body map[string]any, start time.Time) map[string]any {
	si := body["scheduleInfo"].(map[string]any)
	si["startDateTime"] = start.UTC().Format(time.RFC3339)
	return body
}

// sweep runs the real expirySweep function through the host.
func sweep(t *testing.T) string {
	t.Helper()
	res, err := st.RunTimer(context.Background(), "expirySweep")
	if err != nil {
		t.Fatalf("expirySweep: %v %s", err, res)
	}
	return res
}

// TestScheduledAccess is scheduled access through the real handler: an
// admin's future-dated eligibility starts on time; an activation scheduled
// on it is accepted, listed as a schedule and not an instance, granted in
// the Graph simulator only when the sweep reaches its start, and ended at
// its end; a canceled one never grants; an admin's future-dated active
// assignment starts on time.
func TestScheduledAccess(t *testing.T) {
	defer advance(t, 0)
	gina, stan := as(t, "gina", true), as(t, "stan", true)
	t0 := time.Now().UTC()
	const exchange, helpdesk = stack.RoleExchangeAdmin, stack.RoleHelpdeskAdmin

	// An admin's eligibility starting in a minute.
	elig := must(t, gina, 201, "POST", eligReqs, scheduledBody(map[string]any{"action": "adminAssign", "principalId": user("stan"),
		"roleDefinitionId": exchange, "directoryScopeId": "/", "justification": "mailbox migrations next week",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P30D"}}}, t0.Add(time.Minute)))
	if elig["status"] != "ScheduleCreated" {
		t.Fatalf("future-dated eligibility: %v", elig)
	}
	now := map[string]any{"action": "selfActivate", "principalId": user("stan"), "roleDefinitionId": exchange, "directoryScopeId": "/",
		"justification": "mailbox outage", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}}
	if code, out, _ := stan.Do(context.Background(), "POST", assignReqs, now); code != 403 || !strings.Contains(fmt.Sprint(out), "not eligible") {
		t.Fatalf("activation before the eligibility starts: %d %v", code, out)
	}
	advance(t, time.Minute)
	sweep(t)
	if got := must(t, gina, 200, "GET", eligReqs+"/"+elig["id"].(string), nil); got["status"] != "Provisioned" {
		t.Fatalf("eligibility at its start: %v", got)
	}

	// An activation scheduled 39 minutes ahead (of the handler's clock, now t0+1m).
	// What needs a fresh MFA sign-in is done now: freshness is counted on the
	// handler's clock, which the test moves ahead, and a token cannot be
	// signed in the future.
	body := scheduledBody(map[string]any{"action": "selfActivate", "principalId": user("stan"), "roleDefinitionId": exchange, "directoryScopeId": "/",
		"justification": "planned mailbox cutover", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}},
		t0.Add(40*time.Minute))
	act := must(t, stan, 201, "POST", assignReqs, body)
	if act["status"] != "ScheduleCreated" || st.Graph.HasRoleAssignment(user("stan"), exchange, "/") {
		t.Fatalf("scheduled activation: %v", act)
	}
	listed := func(what string) bool {
		out := must(t, stan, 200, "GET", "roleManagement/directory/"+what+"/filterByCurrentUser(on='principal')", nil)
		return strings.Contains(fmt.Sprint(out), act["id"].(string))
	}
	if !listed("roleAssignmentSchedules") || listed("roleAssignmentScheduleInstances") {
		t.Fatal("a scheduled activation is listed as a schedule, not as an instance, until it starts")
	}
	// The portal's My roles says when it starts, in words.
	pb := newBrowser(t, user("stan"), true)
	_, page := pb.get(st.HostURL + "/portal/")
	if _, page = pb.signInFrom(page); !strings.Contains(page, "Starts at") {
		t.Fatalf("My roles does not show the scheduled activation: %s", page)
	}
	// A second one overlapping it is refused, naming the conflict.
	if code, out, _ := stan.Do(context.Background(), "POST", assignReqs, scheduledBody(now, t0.Add(50*time.Minute))); code != 409 {
		t.Fatalf("overlapping scheduled activation: %d %v", code, out)
	}
	// Too far ahead or in the past: 400 naming the field, nothing stored.
	for _, start := range []time.Time{t0.Add(40 * 24 * time.Hour), t0.Add(-time.Hour)} {
		code, out, _ := stan.Do(context.Background(), "POST", assignReqs, scheduledBody(map[string]any{"action": "selfActivate", "principalId": user("stan"),
			"roleDefinitionId": exchange, "directoryScopeId": "/", "justification": "x",
			"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}}, start))
		if code != 400 || !strings.Contains(fmt.Sprint(out), "startDateTime") {
			t.Fatalf("start %s: %d %v", start, code, out)
		}
	}

	// Another, for later, canceled before its start; and an admin's active
	// assignment starting in four hours.
	canceled := must(t, stan, 201, "POST", assignReqs, scheduledBody(now, t0.Add(3*time.Hour)))
	if canceled["status"] != "ScheduleCreated" {
		t.Fatalf("second scheduled activation: %v", canceled)
	}
	if code, out, _ := stan.Do(context.Background(), "POST", assignReqs+"/"+canceled["id"].(string)+"/cancel", nil); code != 204 && code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	active := must(t, gina, 201, "POST", assignReqs, scheduledBody(map[string]any{"action": "adminAssign", "principalId": user("stan"),
		"roleDefinitionId": helpdesk, "directoryScopeId": "/", "justification": "weekend on-call",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT2H"}}}, t0.Add(4*time.Hour)))
	if active["status"] != "ScheduleCreated" || st.Graph.HasRoleAssignment(user("stan"), helpdesk, "/") {
		t.Fatalf("future-dated active assignment: %v", active)
	}

	advance(t, 39*time.Minute)
	sweep(t)
	if st.Graph.HasRoleAssignment(user("stan"), exchange, "/") {
		t.Fatal("granted before its start")
	}
	advance(t, 40*time.Minute+time.Second)
	if res := sweep(t); !strings.Contains(res, `\"Started\":1`) {
		t.Fatalf("sweep at the start: %s", res)
	}
	if !st.Graph.HasRoleAssignment(user("stan"), exchange, "/") {
		t.Fatal("not granted at its start")
	}
	if got := must(t, stan, 200, "GET", assignReqs+"/"+act["id"].(string), nil); got["status"] != "Provisioned" || !listed("roleAssignmentScheduleInstances") {
		t.Fatalf("after the start: %v", got)
	}
	advance(t, 100*time.Minute+2*time.Second)
	sweep(t)
	if st.Graph.HasRoleAssignment(user("stan"), exchange, "/") {
		t.Fatal("still held after its end")
	}

	// The canceled one never grants.
	advance(t, 3*time.Hour+time.Minute)
	sweep(t)
	if st.Graph.HasRoleAssignment(user("stan"), exchange, "/") {
		t.Fatal("a canceled scheduled activation was granted")
	}
	if got := must(t, stan, 200, "GET", assignReqs+"/"+canceled["id"].(string), nil); got["status"] != "Canceled" {
		t.Fatalf("canceled request: %v", got)
	}
	// The admin's active assignment starts and ends on time.
	if st.Graph.HasRoleAssignment(user("stan"), helpdesk, "/") {
		t.Fatal("the active assignment was granted before its start")
	}
	advance(t, 4*time.Hour+time.Second)
	sweep(t)
	if !st.Graph.HasRoleAssignment(user("stan"), helpdesk, "/") {
		t.Fatal("the active assignment did not start on time")
	}
	advance(t, 6*time.Hour+2*time.Second)
	sweep(t)
	if st.Graph.HasRoleAssignment(user("stan"), helpdesk, "/") {
		t.Fatal("the active assignment did not end on time")
	}
}

// TestScheduledApproval: approving a scheduled activation grants its
// window from the scheduled start, not from the approval.
func TestScheduledApproval(t *testing.T) {
	defer advance(t, 0)
	rita, alice := as(t, "rita", true), as(t, "alice", true)
	start := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)
	req := must(t, rita, 201, "POST", assignReqs, scheduledBody(activation("rita", stack.RoleGlobalAdmin, "PT1H"), start))
	if req["status"] != "PendingApproval" {
		t.Fatalf("request: %v", req)
	}
	id := req["approvalId"].(string)
	appr := must(t, alice, 200, "GET", "roleManagement/directory/roleAssignmentApprovals/"+id, nil)
	step := appr["steps"].([]any)[0].(map[string]any)["id"].(string)
	// The mailed approval page shows the window the approval grants: the scheduled one.
	if body := approvalPage(t); !strings.Contains(body, "from "+start.Format(domain.WordsTime)+" until "+start.Add(time.Hour).Format(domain.WordsTime)) {
		t.Fatalf("approval page of a scheduled activation: %s", body)
	}
	advance(t, 30*time.Minute)
	must(t, alice, 204, "PATCH", "roleManagement/directory/roleAssignmentApprovals/"+id+"/steps/"+step,
		map[string]any{"reviewResult": "Approve", "justification": "planned change"})
	got := must(t, rita, 200, "GET", assignReqs+"/"+req["id"].(string), nil)
	if got["status"] != "ScheduleCreated" || st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatalf("after approval: %v", got)
	}
	sched := must(t, rita, 200, "GET", "roleManagement/directory/roleAssignmentSchedules/filterByCurrentUser(on='principal')", nil)
	found := false
	for _, v := range sched["value"].([]any) {
		s := v.(map[string]any)
		if s["id"] == req["id"] {
			found = true
			si := s["scheduleInfo"].(map[string]any)
			end := si["expiration"].(map[string]any)["endDateTime"]
			if si["startDateTime"] != start.Format(time.RFC3339) || end != start.Add(time.Hour).Format(time.RFC3339) {
				t.Fatalf("schedule %v – %v, want the scheduled %s and an hour after it", si["startDateTime"], end, start)
			}
		}
	}
	if !found {
		t.Fatalf("the approved schedule is not listed: %v", sched)
	}
	advance(t, 2*time.Hour)
	sweep(t)
	if !st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("not granted at the scheduled start")
	}
	advance(t, 3*time.Hour+time.Second)
	sweep(t)
	if st.Graph.HasRoleAssignment(user("rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("still held after the scheduled end")
	}
}

// approvalPage opens the newest approval link mailed to Alice, signed in as
// her with MFA, and returns the page with its decision form.
func approvalPage(t *testing.T) string {
	t.Helper()
	body, _, _ := openApprovalLink(t)
	return body
}

func openApprovalLink(t *testing.T) (body, link, csrf string) {
	t.Helper()
	link = linkFor(t, "alice", "Approval needed")
	ab := newBrowser(t, user("alice"), true)
	_, body = ab.get(link)
	m := signRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in link: %s", body)
	}
	_, body = ab.get(st.HostURL + strings.ReplaceAll(m[1], "&amp;", "&"))
	c := formCSRF(body, linkPath(link))
	if c == nil {
		t.Fatalf("no decision form: %s", body)
	}
	return body, link, c[1]
}

// TestApprovalPageShowsWhatItGrants: the mailed approval page says an
// activation runs "1 hour, counted from approval", and approving it
// later grants exactly that: an end one hour after the approval, not
// after the request.
func TestApprovalPageShowsWhatItGrants(t *testing.T) {
	defer advance(t, 0)
	rita := as(t, "rita", true)
	req := must(t, rita, 201, "POST", assignReqs, activation("rita", stack.RoleGlobalAdmin, "PT1H"))
	if req["status"] != "PendingApproval" {
		t.Fatalf("request: %v", req)
	}
	body, link, csrf := openApprovalLink(t)
	if !strings.Contains(body, "1 hour, counted from approval") {
		t.Fatalf("approval page: %s", body)
	}
	advance(t, 20*time.Minute)
	ab := newBrowser(t, user("alice"), true)
	_, page := ab.get(link)
	_, page = ab.get(st.HostURL + strings.ReplaceAll(signRE.FindStringSubmatch(page)[1], "&amp;", "&"))
	if c := formCSRF(page, linkPath(link)); c != nil {
		csrf = c[1]
	}
	if code, out := ab.post(link, url.Values{"decision": {"Approve"}, "justification": {"bridge call"}, "csrf": {csrf}}); code != 200 || !strings.Contains(out, "(granted)") {
		t.Fatalf("approval: %d %s", code, out)
	}
	got := must(t, rita, 200, "GET", assignReqs+"/"+req["id"].(string), nil)
	approved, err := time.Parse(time.RFC3339, fmt.Sprint(got["completedDateTime"]))
	if err != nil {
		t.Fatalf("completedDateTime: %v (%v)", err, got)
	}
	si := got["scheduleInfo"].(map[string]any)
	end, err := time.Parse(time.RFC3339, fmt.Sprint(si["expiration"].(map[string]any)["endDateTime"]))
	if err != nil || !end.Equal(approved.Add(time.Hour)) || fmt.Sprint(si["startDateTime"]) != approved.Format(time.RFC3339) {
		t.Fatalf("granted %v – %v, want an hour from the approval at %s", si["startDateTime"], end, approved)
	}
	created, _ := time.Parse(time.RFC3339, fmt.Sprint(got["createdDateTime"]))
	if !approved.After(created.Add(19 * time.Minute)) {
		t.Fatalf("approved at %s, created %s: the clock did not move", approved, created)
	}
	must(t, rita, 201, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": user("rita"),
		"roleDefinitionId": stack.RoleGlobalAdmin, "directoryScopeId": "/"})
}
