package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/local/stack"
)

// advance moves the handler's clock; tests put it back when they finish,
// since tokens and MFA freshness are counted on the real clock.
func advance(t *testing.T, d time.Duration) {
	t.Helper()
	if err := os.WriteFile(clockFile, []byte(fmt.Sprint(int64(d/time.Second))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestExpiryTimerInterruptedAndRerun: an activation ends through the real
// expirySweep function; the first run finds Graph failing half-way (the
// revoke gets 503s), records the failure without pretending, and a later
// run finishes the revoke. Running the timer again changes nothing.
func TestExpiryTimerInterruptedAndRerun(t *testing.T) {
	defer advance(t, 0)
	steve := as(t, "steve", true)
	group := stack.GroupID(st.Tenant, "PAG-SERVICE-DESK-L2")
	out := must(t, steve, 201, "POST", "identityGovernance/privilegedAccess/group/assignmentScheduleRequests", map[string]any{
		"action": "selfActivate", "principalId": user("steve"), "groupId": group, "accessId": "member", "justification": "password reset queue",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}})
	if out["status"] != "Provisioned" || !st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatalf("activation: %v", out)
	}
	ctx := context.Background()
	advance(t, 30*time.Minute)
	if _, err := st.RunTimer(ctx, "expirySweep"); err != nil || !st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatalf("swept before the end: %v", err)
	}
	st.Graph.AddFault(graphsim.Fault{Method: "DELETE", PathPrefix: "/groups", Status: 503})
	advance(t, 61*time.Minute)
	res, err := st.RunTimer(ctx, "expirySweep")
	if err != nil {
		t.Fatalf("sweep: %v %s", err, res)
	}
	if !st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatal("membership gone although every revoke failed")
	}
	// The revoke failed, so the expiry is pending on the directory (the
	// schedule stays listed and due), not counted as done. Other tests'
	// activations share the stack and may be due in the same run.
	if !regexp.MustCompile(`\\"RevokesPending\\":[1-9]`).MatchString(res) || !strings.Contains(res, `\"GrantsFailing\":`) {
		t.Fatalf("summary: %s", res)
	}
	st.Graph.ClearFaults()
	advance(t, 61*time.Minute+30*time.Second) // inside the backoff: not retried yet
	if _, err := st.RunTimer(ctx, "expirySweep"); err != nil {
		t.Fatal(err)
	}
	if !st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatal("retried inside the backoff")
	}
	advance(t, 70*time.Minute)
	if _, err := st.RunTimer(ctx, "expirySweep"); err != nil {
		t.Fatal(err)
	}
	if st.Graph.InGroup(group, "member", user("steve")) {
		t.Fatal("the rerun did not finish the revoke")
	}
	inst := must(t, steve, 200, "GET", "identityGovernance/privilegedAccess/group/assignmentScheduleInstances/filterByCurrentUser(on='principal')", nil)
	if strings.Contains(fmt.Sprint(inst), group) {
		t.Fatalf("the instance is still listed after the confirmed revoke: %v", inst)
	}
	// Idempotent: more runs change nothing and remove nothing else.
	members := func() string { return fmt.Sprint(st.Graph.State().Groups) }
	before := members()
	for i := 0; i < 2; i++ {
		if _, err := st.RunTimer(ctx, "expirySweep"); err != nil {
			t.Fatal(err)
		}
	}
	if after := members(); after != before {
		t.Fatalf("extra runs changed memberships:\n%s\n%s", before, after)
	}
}

// TestRemindersTimer: an eligibility ending within 14 days is announced
// once by the daily reminders function, however often it runs.
func TestRemindersTimer(t *testing.T) {
	defer advance(t, 0)
	const securityReader = "5d6b6bb7-de71-4623-b4af-96380a352509"
	must(t, as(t, "gina", true), 201, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": user("stan"),
		"roleDefinitionId": securityReader, "directoryScopeId": "/", "justification": "audit season",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P20D"}}})
	count := func() int {
		n := 0
		for _, m := range st.Graph.Outbox() {
			if strings.Contains(m.Subject, "Security Reader expires on") && strings.Contains(strings.Join(m.To, ","), "stan") {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	if _, err := st.RunTimer(ctx, "reminders"); err != nil || count() != 0 {
		t.Fatalf("reminded 20 days ahead: %v %d", err, count())
	}
	advance(t, 7*24*time.Hour)
	for i := 0; i < 3; i++ {
		if _, err := st.RunTimer(ctx, "reminders"); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("%d reminders, want 1", n)
	}
}
