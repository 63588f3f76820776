package policyfile

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

func req(id, action, status, created, completed string, by string, sched string, just string) wire.Request {
	r := wire.Request{ID: id, Action: domain.Action(action), Status: domain.Status(status), Justification: just}
	if created != "" {
		r.CreatedDateTime = &created
	}
	if completed != "" {
		r.CompletedDateTime = &completed
	}
	if sched != "" {
		r.TargetScheduleID = &sched
	}
	if by == "jitpim" {
		r.CreatedBy.Application = &wire.Identity{DisplayName: "jitpim"}
	} else if by != "" {
		r.CreatedBy.User = &wire.Identity{ID: domain.CanonicalID(by)}
	}
	return r
}

const (
	t0 = "2026-03-01T10:00:00Z"
	t1 = "2026-03-02T10:00:00Z"
	t2 = "2026-03-03T10:00:00Z"
)

func TestLastRemoval(t *testing.T) {
	gina := "4d0013b9-f403-43b3-9ed8-22bfdf76040f"
	review := `access review "Helpdesk \"L1\" admins": denied by c4049c7c-e12b-4472-b42d-c24808aa1054`
	for _, tc := range []struct {
		name             string
		reqs             []wire.Request
		want             bool
		id, by, app, rev string
	}{
		{name: "nothing", reqs: nil},
		{name: "only a grant", reqs: []wire.Request{req("a", "adminAssign", "Provisioned", t0, t0, gina, "", "x")}},
		{name: "an admin removal", want: true, id: "r", by: gina, reqs: []wire.Request{
			req("a", "adminAssign", "Revoked", t0, t0, gina, "", "x"),
			req("r", "adminRemove", "Revoked", t1, t1, gina, "a", "left the team")}},
		{name: "an access review's removal", want: true, id: "r", app: "jitpim", rev: `Helpdesk "L1" admins`, reqs: []wire.Request{
			req("a", "adminAssign", "Revoked", t0, t0, gina, "", "x"),
			req("r", "adminRemove", "Revoked", t1, t1, "jitpim", "a", review)}},
		{name: "the newest of two removals", want: true, id: "r2", by: gina, reqs: []wire.Request{
			req("r2", "adminRemove", "Revoked", t2, t2, gina, "b", "again"),
			req("a", "adminAssign", "Revoked", t0, t0, gina, "", "x"),
			req("r1", "adminRemove", "Revoked", t0, t0, "jitpim", "a", review),
			req("b", "adminAssign", "Revoked", t1, t1, gina, "", "x")}},
		{name: "given back since", reqs: []wire.Request{
			req("a", "adminAssign", "Revoked", t0, t0, gina, "", "x"),
			req("r", "adminRemove", "Revoked", t1, t1, "jitpim", "a", review),
			req("b", "adminAssign", "Revoked", t2, t2, gina, "", "given back; expired since")}},
		{name: "the file's own replace in the same second", reqs: []wire.Request{
			req("a", "adminAssign", "Revoked", t0, t0, gina, "", "x"),
			req("r", "adminRemove", "Revoked", t1, t1, gina, "a", "x (replaced: new expiration)"),
			req("b", "adminAssign", "Revoked", t1, t1, gina, "", "x")}},
		{name: "a failed or denied grant gives nothing back", want: true, id: "r", by: gina, reqs: []wire.Request{
			req("r", "adminRemove", "Revoked", t1, t1, gina, "a", "x"),
			req("b", "adminAssign", "Failed", t2, t2, gina, "", "x"),
			req("c", "adminRenew", "Denied", t2, t2, gina, "", "x")}},
		{name: "ending a user's activation is not a removal of an assignment", reqs: []wire.Request{
			req("act", "selfActivate", "Revoked", t0, t0, gina, "", "x"),
			req("r", "adminRemove", "Revoked", t1, t1, gina, "act", "x")}},
		{name: "a refused removal", reqs: []wire.Request{
			req("r", "adminRemove", "Failed", t1, "", gina, "a", "x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lastRemoval(tc.reqs)
			if ok != tc.want {
				t.Fatalf("found %v (%+v), want %v", ok, got, tc.want)
			}
			if !ok {
				return
			}
			if got.RequestID != tc.id || got.By != tc.by || got.App != tc.app || got.AccessReview != tc.rev || got.At.IsZero() {
				t.Fatalf("removal %+v", got)
			}
		})
	}
}

func TestRegrantJustificationStaysWithinTheLimit(t *testing.T) {
	n := namer{users: map[domain.ObjectID]string{}}
	rm := Removal{RequestID: "48445871-8ccf-4a82-b401-f146a268c1ec", AccessReview: strings.Repeat("R", 400), At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	for _, just := range []string{"quarterly access", strings.Repeat("é", domain.MaxJustification)} {
		got := n.regrantJustification(just, rm)
		if utf8.RuneCountInString(got) > domain.MaxJustification || !strings.Contains(got, "[--allow-regrant: undoes the removal by access review") {
			t.Fatalf("%d runes: %q", utf8.RuneCountInString(got), got)
		}
	}
	if got := n.regrantJustification("quarterly access", Removal{RequestID: "r1", By: "u1", At: rm.At}); got != "quarterly access [--allow-regrant: undoes the removal by u1 at 2026-03-01T10:00:00Z, request r1]" {
		t.Fatalf("justification %q", got)
	}
}

// recordingAPI answers nothing and records every call.
type recordingAPI struct{ calls []string }

func (a *recordingAPI) Call(_ context.Context, method, path string, _ any, _ map[string]string, _ any) error {
	a.calls = append(a.calls, method+" "+path)
	return nil
}

// TestApplyRefusesARegrantWholeWithoutTheFlag: a plan with a re-grant and
// other changes sends nothing at all; made with AllowRegrant it sends the
// re-grant with the override in its justification.
func TestApplyRefusesARegrantWholeWithoutTheFlag(t *testing.T) {
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	f, err := Load("testdata/plan/policy.yaml", now)
	if err != nil || len(f.Errors()) > 0 {
		t.Fatalf("%v %v", err, f.Errors())
	}
	steve := domain.ObjectID("15913a41-3b2d-433e-8b1c-348c5ea65257")
	helpdesk := domain.RoleTarget("729827e3-9c14-49f7-bb1b-9608f156bbb8", "/")
	live := &Live{Policies: map[string]domain.Policy{}, Default: domain.DefaultPolicy(), BreakGlass: map[domain.ObjectID]BreakGlassCheck{},
		Removals: map[string]Removal{removalKey(domain.KindEligibility, steve, helpdesk): {RequestID: "r1", App: "jitpim", AccessReview: "Helpdesk",
			At: now.Add(-36 * time.Second), Justification: `access review "Helpdesk": denied by alice`}}}
	pl := BuildPlan(f, live, PlanOptions{Now: now})
	if len(pl.Regrants()) != 1 || pl.Empty() {
		t.Fatalf("regrants: %+v", pl.Regrants())
	}
	text := pl.Text()
	for _, want := range []string{"[refused: pass --allow-regrant to re-grant]",
		`! re-grants what access review "Helpdesk" removed at 2026-03-09T23:59:24Z (request r1), justification "access review \"Helpdesk\": denied by alice"`,
		"apply refuses them without --allow-regrant."} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	api := &recordingAPI{}
	if _, err := Apply(context.Background(), api, pl, nil); !domain.IsCode(err, domain.CodeConflict) || len(api.calls) != 0 {
		t.Fatalf("apply without the flag: %v, %d calls", err, len(api.calls))
	}

	pl = BuildPlan(f, live, PlanOptions{Now: now, AllowRegrant: true})
	found := false
	for _, c := range pl.Regrants() {
		body := c.Calls[0].Body.(map[string]any)
		found = body["principalId"] == steve && strings.Contains(body["justification"].(string), `[--allow-regrant: undoes the removal by access review "Helpdesk" at 2026-03-09T23:59:24Z, request r1]`)
	}
	if !found {
		t.Fatalf("no re-grant call with the override: %+v", pl.Regrants())
	}
	if _, err := Apply(context.Background(), api, pl, nil); err != nil || len(api.calls) == 0 {
		t.Fatalf("apply with the flag: %v, %d calls", err, len(api.calls))
	}
}
