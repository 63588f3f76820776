package policyfile_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/policyfile"
)

const (
	ga       = domain.RoleGlobalAdministrator
	helpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	userAdm  = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	secRead  = "5d6b6bb7-de71-4623-b4af-96380a352509"
	globRead = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	repRead  = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	pagOps   = "6e2981ed-9cb2-4d22-928f-dd8946241809"
	rita     = "5f5e9064-8c0a-4d93-a415-69bda49e5511"
	steve    = "15913a41-3b2d-433e-8b1c-348c5ea65257"
	adam     = "a47440fe-ede2-441f-a6c7-93ef77d456d2"
	bg1      = "e56a8394-5973-4642-b020-43bafd44ea44"
	bg2      = "f18e8cfa-4802-41ad-8761-3ba93cf992bf"
)

func own(id string, t domain.Target, change func(*domain.Policy)) domain.Policy {
	p := domain.DefaultPolicy()
	p.ID, p.Scope, p.Target = id, domain.ScopeTarget, t
	if change != nil {
		change(&p)
	}
	return p
}

// liveState is a tenant that has drifted from testdata/plan/policy.yaml in
// every way a plan shows.
func liveState() *policyfile.Live {
	tier := func(name string, targets []domain.Target, change func(*domain.Policy)) domain.Policy {
		p := domain.DefaultPolicy()
		p.ID, p.Scope, p.Tier, p.DisplayName, p.TierTargets = "Tier_"+name, domain.ScopeTier, name, "Tier "+name, targets
		if change != nil {
			change(&p)
		}
		return p
	}
	role := func(id domain.ObjectID) domain.Target { return domain.RoleTarget(id, "/") }
	l := &policyfile.Live{Policies: map[string]domain.Policy{}, Default: domain.DefaultPolicy(), BreakGlass: map[domain.ObjectID]policyfile.BreakGlassCheck{
		bg1: {Protected: true, Answer: "the handler refuses to manage it"},
		bg2: {Answer: "the handler would manage it (a validation-only assignment was accepted)"},
	}}
	for _, p := range []domain.Policy{
		// The tier lets activations run 4 h, and lists Security Reader instead of two of its targets.
		tier("Ops", []domain.Target{role(helpdesk), role(secRead)}, func(p *domain.Policy) {
			p.Activation.MaxDuration = 4 * time.Hour
			p.Description = "Operations roles"
		}),
		// A tier the file does not name: outside the file, left alone.
		tier("Legacy", []domain.Target{role(globRead)}, nil),
		// Global Administrator was loosened by hand.
		own("DirectoryRole_"+string(ga), role(ga), func(p *domain.Policy) { p.Activation.MaxDuration = 8 * time.Hour }),
		// User Administrator has a policy of its own that no longer asks for MFA.
		own("DirectoryRole_"+userAdm, role(userAdm), func(p *domain.Policy) {
			p.Activation.RequireMFA = false
			p.Activation.MaxDuration = 2 * time.Hour
		}),
		// Reports Reader is not in the file at all.
		own("DirectoryRole_"+repRead, role(repRead), nil),
	} {
		l.Policies[p.ID] = p
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	l.Schedules = []policyfile.Schedule{
		{ID: "s1", Kind: domain.KindEligibility, PrincipalID: rita, Target: role(ga), Start: at("2025-01-01T00:00:00Z")},
		{ID: "s2", Kind: domain.KindEligibility, PrincipalID: steve, Target: role(helpdesk), Start: at("2025-01-01T00:00:00Z")},
		{ID: "s3", Kind: domain.KindEligibility, PrincipalID: adam, Target: role(helpdesk), Start: at("2025-12-01T00:00:00Z"), End: at("2026-07-31T00:00:00Z")},
		{ID: "s4", Kind: domain.KindEligibility, PrincipalID: rita, Target: role(helpdesk), Start: at("2025-12-01T00:00:00Z"), End: at("2026-03-01T00:00:00Z")},
		// On a target the file does not declare: never touched.
		{ID: "s5", Kind: domain.KindEligibility, PrincipalID: rita, Target: role(repRead), Start: at("2025-12-01T00:00:00Z")},
	}
	return l
}

func TestPlanOutput(t *testing.T) {
	f, err := policyfile.Load("testdata/plan/policy.yaml", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Errors()) > 0 {
		t.Fatalf("test file has errors: %v", f.Errors())
	}
	pl := policyfile.BuildPlan(f, liveState(), policyfile.PlanOptions{Now: now})
	golden(t, "testdata/plan/plan.golden", pl.Text())
	if a, c, r, held := pl.Counts(); a != 1 || r != 0 || held != 2 || c == 0 {
		t.Errorf("counts: %d add, %d change, %d remove, %d held", a, c, r, held)
	}

	// With --allow-removals the held removals are carried out; the tier
	// the file does not name is still left alone.
	all := policyfile.BuildPlan(f, liveState(), policyfile.PlanOptions{Now: now, AllowRemovals: true})
	golden(t, "testdata/plan/plan-allow-removals.golden", all.Text())
	if _, _, r, held := all.Counts(); r != 1 || held != 0 {
		t.Errorf("with removals: %d remove, %d held", r, held)
	}

	// The JSON form carries the API calls apply would send.
	data, err := json.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"path":"policies/roleManagementPolicies/Tier_Ops/rules/Expiration_EndUser_Assignment"`,
		`"maximumDuration":"PT2H"`, `"action":"adminUpdate"`, `"targetScheduleId":"s2"`, `"action":"adminRemove"`, `"held":true`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("plan JSON lacks %s", want)
		}
	}
}

// TestPlanOfMatchingStateIsEmpty: a live state built from the file's own
// desired policies and assignments gives no changes.
func TestPlanOfMatchingStateIsEmpty(t *testing.T) {
	f, err := policyfile.Load("testdata/plan/policy.yaml", now)
	if err != nil {
		t.Fatal(err)
	}
	d := f.Desired()
	l := &policyfile.Live{Policies: map[string]domain.Policy{}, Default: domain.DefaultPolicy(),
		BreakGlass: map[domain.ObjectID]policyfile.BreakGlassCheck{bg1: {Protected: true, Answer: "refused"}, bg2: {Protected: true, Answer: "refused"}}}
	for _, tr := range d.Tiers {
		l.Policies[tr.Policy.ID] = tr.Policy
	}
	for _, dt := range d.Targets {
		l.Policies[dt.Policy.ID] = dt.Policy
	}
	start := now.Add(-24 * time.Hour)
	l.Schedules = []policyfile.Schedule{
		{ID: "a", Kind: domain.KindEligibility, PrincipalID: rita, Target: domain.RoleTarget(ga, "/"), Start: start},
		{ID: "b", Kind: domain.KindEligibility, PrincipalID: steve, Target: domain.RoleTarget(helpdesk, "/"), Start: start, End: start.Add(180 * 24 * time.Hour)},
		{ID: "c", Kind: domain.KindEligibility, PrincipalID: adam, Target: domain.RoleTarget(helpdesk, "/"), Start: start, End: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)},
		{ID: "d", Kind: domain.KindAssignment, PrincipalID: adam, Target: domain.GroupTarget(pagOps, "member"), Start: start, End: start.Add(30 * 24 * time.Hour)},
	}
	pl := policyfile.BuildPlan(f, l, policyfile.PlanOptions{Now: now})
	if !pl.Empty() || len(pl.Changes) != 0 || len(pl.Warnings) != 0 {
		t.Fatalf("plan of a matching state:\n%s", pl.Text())
	}
	if !strings.Contains(pl.Text(), "No changes: the live state matches the file.") {
		t.Fatalf("summary: %s", pl.Summary())
	}
}
