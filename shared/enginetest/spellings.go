package enginetest

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// spell writes id the way a careless or hostile client might: any letter
// case, sometimes with braces or surrounding space.
func spell(r *rand.Rand, id domain.ObjectID) string {
	var b strings.Builder
	for _, c := range string(id) {
		if r.IntN(2) == 0 {
			b.WriteString(strings.ToUpper(string(c)))
		} else {
			b.WriteRune(c)
		}
	}
	s := b.String()
	switch r.IntN(8) {
	case 0:
		s = "{" + s + "}"
	case 1:
		s = " " + s
	case 2:
		s += "\t"
	}
	return s
}

// SpellingSeeds are the seeds Run drives IDSpellings with; a fuzz target
// starts its corpus from them.
var SpellingSeeds = []uint64{1, 2, 3, 42, 2026}

// testIDSpellings runs IDSpellings once per seed of SpellingSeeds.
func testIDSpellings(t *testing.T, su suite) {
	for _, seed := range SpellingSeeds {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) { IDSpellings(t, su.fixture(t), seed) })
	}
}

// IDSpellings drives random actions chosen by seed, with ids in random
// spellings parsed at the boundary as the API parses them, and checks after
// every step: the break-glass account keeps exactly its access, nobody
// holds one target twice in the directory, and access made outside jitpim
// is never removed. fx must be fresh. It is the body of the engine's fuzz
// target, which is why it is exported.
func IDSpellings(t *testing.T, fx *Fixture, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	u1, u2 := fx.NewUser(), fx.NewUser()
	people := []domain.ObjectID{u1, u2, fx.BreakGlass}
	targets := []domain.Target{RoleGA, RoleOther}
	// Outside jitpim: the break-glass account holds Global Administrator,
	// and u2 holds the other role, both made directly in Entra.
	if _, _, err := fx.Dir.AddRoleAssignment(fx.Ctx, fx.BreakGlass, domain.RoleGlobalAdministrator, "/"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.Dir.AddRoleAssignment(fx.Ctx, u2, RoleOther.RoleDefinitionID, "/"); err != nil {
		t.Fatal(err)
	}
	for _, who := range []domain.ObjectID{u1, u2} {
		for _, tg := range targets {
			fx.MakeEligible(who, tg)
		}
	}
	actions := []domain.Action{domain.ActionAdminAssign, domain.ActionSelfActivate, domain.ActionSelfDeactivate, domain.ActionAdminRemove}
	for step := 0; step < 40; step++ {
		who := people[r.IntN(len(people))]
		raw := spell(r, who)
		id, err := domain.ParseObjectID("principalId", raw)
		if err != nil {
			if raw == strings.TrimSpace(raw) && !strings.HasPrefix(raw, "{") {
				t.Fatalf("a plain spelling %q was refused: %v", raw, err)
			}
			continue // refused at the boundary, as the API refuses it
		}
		tg := targets[r.IntN(len(targets))]
		a := actions[r.IntN(len(actions))]
		in := engine.Submission{Kind: domain.KindAssignment, Action: a, PrincipalID: id, Target: tg, Justification: "fuzz",
			Schedule: Lasting(time.Duration(10+r.IntN(100)) * time.Minute)}
		caller := fx.Admin
		if a == domain.ActionSelfActivate || a == domain.ActionSelfDeactivate {
			caller = who
		}
		if a == domain.ActionSelfDeactivate || a == domain.ActionAdminRemove {
			in.Schedule = domain.ScheduleInfo{}
		}
		_, err = fx.Submit(caller, in)
		if who == fx.BreakGlass && !domain.IsCode(err, domain.CodeForbidden) {
			t.Fatalf("step %d: %s of the break-glass account spelled %q: %v, want forbidden", step, a, raw, err)
		}
		if r.IntN(5) == 0 {
			fx.Advance(time.Duration(r.IntN(90)) * time.Minute)
			fx.Sweep()
		}
		if !fx.Dir.HasRole(fx.BreakGlass, domain.RoleGlobalAdministrator, "/") || fx.Dir.HasRole(fx.BreakGlass, RoleOther.RoleDefinitionID, "/") {
			t.Fatalf("step %d: the break-glass account's access changed", step)
		}
		if !fx.Dir.HasRole(u2, RoleOther.RoleDefinitionID, "/") {
			t.Fatalf("step %d: access made outside jitpim was removed", step)
		}
		if fx.Dir.RoleCount() > 1+2*len(targets) {
			t.Fatalf("step %d: %d role assignments: someone holds a target twice", step, fx.Dir.RoleCount())
		}
		for _, p := range []domain.ObjectID{u1, u2} {
			for _, tg := range targets {
				if n := countRoles(fx, p, tg); n > 1 {
					t.Fatalf("step %d: %s holds %s %d times", step, p, tg, n)
				}
			}
		}
	}
}

func countRoles(fx *Fixture, p domain.ObjectID, t domain.Target) int {
	ras, _ := fx.Dir.ListRoleAssignments(fx.Ctx, p)
	n := 0
	for _, ra := range ras {
		if ra.RoleDefinitionID == t.RoleDefinitionID && ra.DirectoryScopeID == t.DirectoryScopeID {
			n++
		}
	}
	return n
}
