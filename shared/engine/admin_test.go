package engine_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

func TestAdminAssignRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture, u domain.ObjectID) (caller domain.ObjectID, in engine.Submission)
		code  domain.Code
		msg   string
	}{
		{"caller is not an admin", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return u, eligibilitySub(u, roleGA, permanent())
		}, domain.CodeForbidden, "administrator"},
		{"caller is not an admin, for someone else", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return u, eligibilitySub(f.newUser(), roleGA, permanent())
		}, domain.CodeForbidden, "administrator"},
		{"already eligible", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.makeEligible(u, roleGA)
			return f.admin, eligibilitySub(u, roleGA, lasting(24*time.Hour))
		}, domain.CodeConflict, "already has this eligibility"},
		{"already actively assigned", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.mustSubmit(f.admin, assignSub(u, roleGA, 2*time.Hour))
			return f.admin, assignSub(u, roleGA, time.Hour)
		}, domain.CodeConflict, "already has this active assignment"},
		{"permanent eligibility forbidden by policy", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) {
				p.Eligible.AllowPermanent, p.Eligible.MaxDuration = false, 90*24*time.Hour
			})
			return f.admin, eligibilitySub(u, roleGA, permanent())
		}, domain.CodeInvalid, "permanent"},
		{"eligibility longer than policy allows", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.setPolicy(domain.PolicyID(roleGA), func(p *domain.Policy) {
				p.Eligible.AllowPermanent, p.Eligible.MaxDuration = false, 90*24*time.Hour
			})
			return f.admin, eligibilitySub(u, roleGA, lasting(91*24*time.Hour))
		}, domain.CodeInvalid, "at most"},
		{"active assignment without justification", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			in := assignSub(u, roleGA, time.Hour)
			in.Justification = ""
			return f.admin, in
		}, domain.CodeInvalid, "justification"},
		{"active assignment starting later", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			in := assignSub(u, roleGA, time.Hour)
			in.Schedule.Start = f.now.Add(time.Hour)
			return f.admin, in
		}, domain.CodeInvalid, "start"},
		{"disabled account", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.dir.SetEnabled(u, false)
			return f.admin, eligibilitySub(u, roleGA, permanent())
		}, domain.CodeForbidden, "disabled"},
		{"unknown account", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return f.admin, eligibilitySub(f.newID(), roleGA, permanent())
		}, domain.CodeNotFound, "does not exist"},
		{"break-glass account", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return f.admin, assignSub(f.breakGlass, roleGA, time.Hour)
		}, domain.CodeForbidden, "break-glass"},
		{"ends before it starts", func(f *fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return f.admin, eligibilitySub(u, roleGA, domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDateTime, End: f.now.Add(-time.Hour)})
		}, domain.CodeInvalid, "ends before"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.newUser()
			caller, in := tc.setup(f, u)
			before := f.snapshot()
			_, err := f.submit(caller, in)
			wantCode(t, err, tc.code)
			wantContains(t, err, tc.msg)
			f.assertNoWrites(t, before)
		})
	}
}

// A Global Administrator in the directory is a jitpim admin without being
// in the admin group.
func TestAdminByGlobalAdministratorRole(t *testing.T) {
	f := newFixture(t)
	ga, u := f.newUser(), f.newUser()
	_, err := f.submit(ga, eligibilitySub(u, roleGA, permanent()))
	wantCode(t, err, domain.CodeForbidden)
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, ga, domain.RoleGlobalAdministrator, "/"); err != nil {
		t.Fatal(err)
	}
	r, err := f.submit(ga, eligibilitySub(u, roleGA, permanent()))
	if err != nil {
		t.Fatalf("Global Administrator adminAssign: %v", err)
	}
	wantStatus(t, r, domain.StatusProvisioned)
	if a := f.auditsFor("request.create", u); len(a) != 1 || a[0].ActorID != ga {
		t.Fatalf("request.create records %+v: want one by the Global Administrator", a)
	}
	// A GA role at a narrower scope does not count.
	au := f.newUser()
	if _, _, err := f.dir.AddRoleAssignment(f.ctx, au, domain.RoleGlobalAdministrator, "/administrativeUnits/x"); err != nil {
		t.Fatal(err)
	}
	_, err = f.submit(au, eligibilitySub(f.newUser(), roleGA, permanent()))
	wantCode(t, err, domain.CodeForbidden)
}

func TestAdminAssignActiveAndExtend(t *testing.T) {
	f := newFixture(t)
	u := f.newUser()
	a := f.mustSubmit(f.admin, assignSub(u, roleGA, 2*time.Hour))
	wantStatus(t, a, domain.StatusProvisioned)
	if !f.hasRole(u, roleGA) {
		t.Fatal("active assignment must give the role")
	}
	if s := f.getSchedule(a.ID); s.AssignmentType != domain.AssignmentAssigned || !s.End.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("schedule %+v", s)
	}

	extend := engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminExtend, PrincipalID: u, Target: roleGA,
		Justification: "project extended", Schedule: lasting(time.Hour)}
	_, err := f.submit(f.admin, extend)
	wantCode(t, err, domain.CodeInvalid)   // must end after the current end
	_, err = f.submit(f.newUser(), extend) // not an admin (u holds Global Administrator now, so u is one)
	wantCode(t, err, domain.CodeForbidden)

	f.advance(30 * time.Minute)
	extend.Schedule = lasting(4 * time.Hour) // counted from the schedule's start
	extend.ValidationOnly = true
	before := f.snapshot()
	if r, err := f.submit(f.admin, extend); err != nil || r.Status != domain.StatusGranted {
		t.Fatalf("validation-only extend: %+v %v", r, err)
	}
	f.assertNoWrites(t, before)
	if s := f.getSchedule(a.ID); !s.End.Equal(t0.Add(2 * time.Hour)) {
		t.Fatal("validation-only extend moved the end")
	}

	extend.ValidationOnly = false
	x := f.mustSubmit(f.admin, extend)
	wantStatus(t, x, domain.StatusProvisioned)
	newEnd := t0.Add(4 * time.Hour)
	if s := f.getSchedule(a.ID); !s.End.Equal(newEnd) || s.Status != domain.ScheduleProvisioned {
		t.Fatalf("schedule after extend: %+v, want end %s", s, newEnd)
	}
	g, _ := f.grant(u, roleGA)
	if len(g.Holders) != 1 || !g.Holders[0].End.Equal(newEnd) {
		t.Fatalf("grant holder after extend: %+v, want end %s", g.Holders, newEnd)
	}
	if n := len(f.auditsFor("schedule.update", u)); n != 1 {
		t.Fatalf("%d schedule.update records", n)
	}

	f.advance(2 * time.Hour) // t0+2h30: past the old end
	if res := f.sweep(); res.Expired != 0 || !f.hasRole(u, roleGA) {
		t.Fatalf("sweep past the old end: %+v, role held %v", res, f.hasRole(u, roleGA))
	}
	f.advance(time.Hour + 31*time.Minute) // t0+4h01
	if res := f.sweep(); res.Expired != 1 || f.hasRole(u, roleGA) {
		t.Fatalf("sweep past the new end: %+v, role held %v", res, f.hasRole(u, roleGA))
	}
	// An ended assignment cannot be extended: it is renewed.
	_, err = f.submit(f.admin, extend)
	wantCode(t, err, domain.CodeNotFound)
}

func TestAdminExtendEligibility(t *testing.T) {
	f := newFixture(t)
	u := f.newUser()
	e := f.mustSubmit(f.admin, eligibilitySub(u, roleGA, lasting(2*time.Hour)))
	_, err := f.activate(u, roleGA, 3*time.Hour)
	wantCode(t, err, domain.CodeInvalid) // beyond the eligibility

	f.mustSubmit(f.admin, engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminExtend, PrincipalID: u, Target: roleGA,
		Schedule: lasting(30 * 24 * time.Hour)})
	if s := f.getSchedule(e.ID); !s.End.Equal(t0.Add(30 * 24 * time.Hour)) {
		t.Fatalf("eligibility end %s", s.End)
	}
	if r, err := f.activate(u, roleGA, 3*time.Hour); err != nil || r.Status != domain.StatusProvisioned {
		t.Fatalf("activation within the extended eligibility: %+v %v", r, err)
	}
	// An activation cannot be extended by an admin.
	act := f.schedulesOf(u, domain.KindAssignment)[0]
	_, err = f.submit(f.admin, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminExtend, PrincipalID: u, Target: roleGA,
		TargetScheduleID: act.ID, Justification: "x", Schedule: lasting(8 * time.Hour)})
	wantCode(t, err, domain.CodeForbidden)
}

// TestAdminRemoveEligibilityEndsActivation: removing an eligibility ends the
// activation drawn on it and takes the access away.
func TestAdminRemoveEligibilityEndsActivation(t *testing.T) {
	f := newFixture(t)
	u, other := f.newUser(), f.newUser()
	elig := f.makeEligible(u, roleGA)
	f.makeEligible(other, roleGA)
	act, err := f.activate(u, roleGA, 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oact, err := f.activate(other, roleGA, 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	rm := engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminRemove, PrincipalID: u, Target: roleGA, Justification: "left the team"}
	_, err = f.submit(f.newUser(), rm) // not an admin
	wantCode(t, err, domain.CodeForbidden)
	rm.ValidationOnly = true
	before := f.snapshot()
	if r, err := f.submit(f.admin, rm); err != nil || r.Status != domain.StatusRevoked {
		t.Fatalf("validation-only remove: %+v %v", r, err)
	}
	f.assertNoWrites(t, before)
	if !f.hasRole(u, roleGA) {
		t.Fatal("validation-only remove took the role")
	}

	f.advance(20 * time.Minute)
	rm.ValidationOnly = false
	r := f.mustSubmit(f.admin, rm)
	wantStatus(t, r, domain.StatusRevoked)
	if r.TargetScheduleID != elig.ID {
		t.Fatalf("removed %s, want the eligibility %s", r.TargetScheduleID, elig.ID)
	}
	if f.hasRole(u, roleGA) {
		t.Fatal("removing the eligibility must end the activation's access")
	}
	if s := f.getSchedule(act.ID); s.Status != domain.ScheduleRevoked || !s.End.Equal(f.now) {
		t.Fatalf("activation schedule %+v: want Revoked now", s)
	}
	if s := f.getSchedule(elig.ID); s.Status != domain.ScheduleRevoked {
		t.Fatalf("eligibility schedule is %s", s.Status)
	}
	wantStatus(t, f.getRequest(act.ID), domain.StatusRevoked)
	wantStatus(t, f.getRequest(elig.ID), domain.StatusRevoked)
	// Someone else's activation of the same role is untouched.
	if !f.hasRole(other, roleGA) || f.getSchedule(oact.ID).Status != domain.ScheduleProvisioned {
		t.Fatal("removing one user's eligibility touched another's activation")
	}
	_, err = f.activate(u, roleGA, time.Hour)
	wantCode(t, err, domain.CodeForbidden)
	_, err = f.submit(f.admin, rm)
	wantCode(t, err, domain.CodeNotFound)
}

func TestAdminValidationOnlyAssign(t *testing.T) {
	f := newFixture(t)
	u := f.newUser()
	for _, in := range []engine.Submission{eligibilitySub(u, roleGA, permanent()), assignSub(u, roleGA, time.Hour)} {
		in.ValidationOnly = true
		before := f.snapshot()
		r, err := f.submit(f.admin, in)
		if err != nil {
			t.Fatalf("validation-only %s: %v", in.Kind, err)
		}
		if r.Status != domain.StatusGranted {
			t.Fatalf("validation-only %s answered %s", in.Kind, r.Status)
		}
		f.assertNoWrites(t, before)
		if len(f.requestsOf(u)) != 0 || len(f.schedulesOf(u, "")) != 0 || f.hasRole(u, roleGA) {
			t.Fatalf("validation-only %s wrote state", in.Kind)
		}
	}
	// And it still refuses what a real request would.
	in := eligibilitySub(u, roleGA, permanent())
	in.ValidationOnly = true
	_, err := f.submit(u, in)
	wantCode(t, err, domain.CodeForbidden)
}

func TestSelfExtendNeedsAdminDecision(t *testing.T) {
	f := newFixture(t)
	u := f.newUser()
	e := f.mustSubmit(f.admin, eligibilitySub(u, roleGA, lasting(48*time.Hour)))
	in := engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionSelfExtend, PrincipalID: u, Target: roleGA,
		Schedule: lasting(30 * 24 * time.Hour)}
	_, err := f.submit(u, in)
	wantCode(t, err, domain.CodeInvalid) // a reason is required

	in.Justification = "still on the rota"
	before := f.snapshot()
	in.ValidationOnly = true
	if r, err := f.submit(u, in); err != nil || r.Status != domain.StatusPendingAdminDecision {
		t.Fatalf("validation-only selfExtend: %+v %v", r, err)
	}
	f.assertNoWrites(t, before)

	in.ValidationOnly = false
	r := f.mustSubmit(u, in)
	wantStatus(t, r, domain.StatusPendingAdminDecision)
	wantStatus(t, f.getRequest(r.ID), domain.StatusPendingAdminDecision)
	if s := f.getSchedule(e.ID); !s.End.Equal(t0.Add(48 * time.Hour)) {
		t.Fatal("a selfExtend request must not move the end by itself")
	}
	if f.dir.Calls()["AddRoleAssignment"] != 0 {
		t.Fatal("selfExtend touched the directory")
	}
	// Someone else cannot ask on the user's behalf.
	_, err = f.submit(f.newUser(), in)
	wantCode(t, err, domain.CodeForbidden)
	// The user may withdraw it.
	c, err := f.eng.Cancel(f.ctx, f.call(u), domain.KindEligibility, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c, domain.StatusCanceled)
}
