package enginetest

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

func testAdminAssignRefusals(t *testing.T, su suite) {
	cases := []struct {
		name  string
		setup func(f *Fixture, u domain.ObjectID) (caller domain.ObjectID, in engine.Submission)
		code  domain.Code
		msg   string
	}{
		{"caller is not an admin", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return u, EligibilitySub(u, RoleGA, Permanent())
		}, domain.CodeForbidden, "administrator"},
		{"caller is not an admin, for someone else", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return u, EligibilitySub(f.NewUser(), RoleGA, Permanent())
		}, domain.CodeForbidden, "administrator"},
		{"already eligible", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.MakeEligible(u, RoleGA)
			return f.Admin, EligibilitySub(u, RoleGA, Lasting(24*time.Hour))
		}, domain.CodeConflict, "already has this eligibility"},
		{"already actively assigned", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.MustSubmit(f.Admin, AssignSub(u, RoleGA, 2*time.Hour))
			return f.Admin, AssignSub(u, RoleGA, time.Hour)
		}, domain.CodeConflict, "already has this active assignment"},
		{"permanent eligibility forbidden by policy", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) {
				p.Eligible.AllowPermanent, p.Eligible.MaxDuration = false, 90*24*time.Hour
			})
			return f.Admin, EligibilitySub(u, RoleGA, Permanent())
		}, domain.CodeInvalid, "permanent"},
		{"eligibility longer than policy allows", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) {
				p.Eligible.AllowPermanent, p.Eligible.MaxDuration = false, 90*24*time.Hour
			})
			return f.Admin, EligibilitySub(u, RoleGA, Lasting(91*24*time.Hour))
		}, domain.CodeInvalid, "at most"},
		{"active assignment without justification", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			in := AssignSub(u, RoleGA, time.Hour)
			in.Justification = ""
			return f.Admin, in
		}, domain.CodeInvalid, "justification"},
		{"active assignment starting more than a year ahead", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			in := AssignSub(u, RoleGA, time.Hour)
			in.Schedule.Start = f.Now.Add(domain.MaxScheduleAhead + time.Hour)
			return f.Admin, in
		}, domain.CodeInvalid, "a year ahead"},
		{"disabled account", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			f.Dir.SetEnabled(u, false)
			return f.Admin, EligibilitySub(u, RoleGA, Permanent())
		}, domain.CodeForbidden, "disabled"},
		{"unknown account", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			gone := f.NewID()
			f.Dir.AddMissing(gone)
			return f.Admin, EligibilitySub(gone, RoleGA, Permanent())
		}, domain.CodeNotFound, "does not exist"},
		{"break-glass account", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return f.Admin, AssignSub(f.BreakGlass, RoleGA, time.Hour)
		}, domain.CodeForbidden, "break-glass"},
		{"ends before it starts", func(f *Fixture, u domain.ObjectID) (domain.ObjectID, engine.Submission) {
			return f.Admin, EligibilitySub(u, RoleGA, domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDateTime, End: f.Now.Add(-time.Hour)})
		}, domain.CodeInvalid, "ends before"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := su.fixture(t)
			u := f.NewUser()
			caller, in := tc.setup(f, u)
			before := f.Snapshot()
			_, err := f.Submit(caller, in)
			WantCode(t, err, tc.code)
			WantContains(t, err, tc.msg)
			f.AssertNoWrites(t, before)
		})
	}
}

// A Global Administrator in the directory is a jitpim admin without being
// in the admin group.
func testAdminByGlobalAdministratorRole(t *testing.T, su suite) {
	f := su.fixture(t)
	ga, u := f.NewUser(), f.NewUser()
	_, err := f.Submit(ga, EligibilitySub(u, RoleGA, Permanent()))
	WantCode(t, err, domain.CodeForbidden)
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, ga, domain.RoleGlobalAdministrator, "/"); err != nil {
		t.Fatal(err)
	}
	r, err := f.Submit(ga, EligibilitySub(u, RoleGA, Permanent()))
	if err != nil {
		t.Fatalf("Global Administrator adminAssign: %v", err)
	}
	WantStatus(t, r, domain.StatusProvisioned)
	if a := f.AuditsFor("request.create", u); len(a) != 1 || a[0].ActorID != ga {
		t.Fatalf("request.create records %+v: want one by the Global Administrator", a)
	}
	// A GA role at a narrower scope does not count.
	au := f.NewUser()
	if _, _, err := f.Dir.AddRoleAssignment(f.Ctx, au, domain.RoleGlobalAdministrator, "/administrativeUnits/x"); err != nil {
		t.Fatal(err)
	}
	_, err = f.Submit(au, EligibilitySub(f.NewUser(), RoleGA, Permanent()))
	WantCode(t, err, domain.CodeForbidden)
}

func testAdminAssignActiveAndExtend(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	a := f.MustSubmit(f.Admin, AssignSub(u, RoleGA, 2*time.Hour))
	WantStatus(t, a, domain.StatusProvisioned)
	if !f.HasRole(u, RoleGA) {
		t.Fatal("active assignment must give the role")
	}
	if s := f.GetSchedule(a.ID); s.AssignmentType != domain.AssignmentAssigned || !s.End.Equal(T0.Add(2*time.Hour)) {
		t.Fatalf("schedule %+v", s)
	}

	extend := engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminExtend, PrincipalID: u, Target: RoleGA,
		Justification: "project extended", Schedule: Lasting(time.Hour)}
	_, err := f.Submit(f.Admin, extend)
	WantCode(t, err, domain.CodeInvalid)   // must end after the current end
	_, err = f.Submit(f.NewUser(), extend) // not an admin (u holds Global Administrator now, so u is one)
	WantCode(t, err, domain.CodeForbidden)

	f.Advance(30 * time.Minute)
	extend.Schedule = Lasting(4 * time.Hour) // counted from the schedule's start
	extend.ValidationOnly = true
	before := f.Snapshot()
	if r, err := f.Submit(f.Admin, extend); err != nil || r.Status != domain.StatusGranted {
		t.Fatalf("validation-only extend: %+v %v", r, err)
	}
	f.AssertNoWrites(t, before)
	if s := f.GetSchedule(a.ID); !s.End.Equal(T0.Add(2 * time.Hour)) {
		t.Fatal("validation-only extend moved the end")
	}

	extend.ValidationOnly = false
	x := f.MustSubmit(f.Admin, extend)
	WantStatus(t, x, domain.StatusProvisioned)
	newEnd := T0.Add(4 * time.Hour)
	if s := f.GetSchedule(a.ID); !s.End.Equal(newEnd) || s.Status != domain.ScheduleProvisioned {
		t.Fatalf("schedule after extend: %+v, want end %s", s, newEnd)
	}
	g, _ := f.Grant(u, RoleGA)
	if len(g.Holders) != 1 || !g.Holders[0].End.Equal(newEnd) {
		t.Fatalf("grant holder after extend: %+v, want end %s", g.Holders, newEnd)
	}
	if n := len(f.AuditsFor("schedule.update", u)); n != 1 {
		t.Fatalf("%d schedule.update records", n)
	}

	f.Advance(2 * time.Hour) // T0+2h30: past the old end
	if res := f.Sweep(); res.Expired != 0 || !f.HasRole(u, RoleGA) {
		t.Fatalf("sweep past the old end: %+v, role held %v", res, f.HasRole(u, RoleGA))
	}
	f.Advance(time.Hour + 31*time.Minute) // T0+4h01
	if res := f.Sweep(); res.Expired != 1 || f.HasRole(u, RoleGA) {
		t.Fatalf("sweep past the new end: %+v, role held %v", res, f.HasRole(u, RoleGA))
	}
	// An ended assignment cannot be extended: it is renewed.
	_, err = f.Submit(f.Admin, extend)
	WantCode(t, err, domain.CodeNotFound)
}

func testAdminExtendEligibility(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	e := f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(2*time.Hour)))
	_, err := f.Activate(u, RoleGA, 3*time.Hour)
	WantCode(t, err, domain.CodeInvalid) // beyond the eligibility

	f.MustSubmit(f.Admin, engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminExtend, PrincipalID: u, Target: RoleGA,
		Schedule: Lasting(30 * 24 * time.Hour)})
	if s := f.GetSchedule(e.ID); !s.End.Equal(T0.Add(30 * 24 * time.Hour)) {
		t.Fatalf("eligibility end %s", s.End)
	}
	if r, err := f.Activate(u, RoleGA, 3*time.Hour); err != nil || r.Status != domain.StatusProvisioned {
		t.Fatalf("activation within the extended eligibility: %+v %v", r, err)
	}
	// An activation cannot be extended by an admin.
	act := f.SchedulesOf(u, domain.KindAssignment)[0]
	_, err = f.Submit(f.Admin, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionAdminExtend, PrincipalID: u, Target: RoleGA,
		TargetScheduleID: act.ID, Justification: "x", Schedule: Lasting(8 * time.Hour)})
	WantCode(t, err, domain.CodeForbidden)
}

// testAdminRemoveEligibilityEndsActivation: removing an eligibility ends the
// activation drawn on it and takes the access away.
func testAdminRemoveEligibilityEndsActivation(t *testing.T, su suite) {
	f := su.fixture(t)
	u, other := f.NewUser(), f.NewUser()
	elig := f.MakeEligible(u, RoleGA)
	f.MakeEligible(other, RoleGA)
	act, err := f.Activate(u, RoleGA, 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oact, err := f.Activate(other, RoleGA, 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	rm := engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionAdminRemove, PrincipalID: u, Target: RoleGA, Justification: "left the team"}
	_, err = f.Submit(f.NewUser(), rm) // not an admin
	WantCode(t, err, domain.CodeForbidden)
	rm.ValidationOnly = true
	before := f.Snapshot()
	if r, err := f.Submit(f.Admin, rm); err != nil || r.Status != domain.StatusRevoked {
		t.Fatalf("validation-only remove: %+v %v", r, err)
	}
	f.AssertNoWrites(t, before)
	if !f.HasRole(u, RoleGA) {
		t.Fatal("validation-only remove took the role")
	}

	f.Advance(20 * time.Minute)
	rm.ValidationOnly = false
	r := f.MustSubmit(f.Admin, rm)
	WantStatus(t, r, domain.StatusRevoked)
	if r.TargetScheduleID != elig.ID {
		t.Fatalf("removed %s, want the eligibility %s", r.TargetScheduleID, elig.ID)
	}
	if f.HasRole(u, RoleGA) {
		t.Fatal("removing the eligibility must end the activation's access")
	}
	if s := f.GetSchedule(act.ID); s.Status != domain.ScheduleRevoked || !s.End.Equal(f.Now) {
		t.Fatalf("activation schedule %+v: want Revoked now", s)
	}
	if s := f.GetSchedule(elig.ID); s.Status != domain.ScheduleRevoked {
		t.Fatalf("eligibility schedule is %s", s.Status)
	}
	WantStatus(t, f.GetRequest(act.ID), domain.StatusRevoked)
	WantStatus(t, f.GetRequest(elig.ID), domain.StatusRevoked)
	// Someone else's activation of the same role is untouched.
	if !f.HasRole(other, RoleGA) || f.GetSchedule(oact.ID).Status != domain.ScheduleProvisioned {
		t.Fatal("removing one user's eligibility touched another's activation")
	}
	_, err = f.Activate(u, RoleGA, time.Hour)
	WantCode(t, err, domain.CodeForbidden)
	_, err = f.Submit(f.Admin, rm)
	WantCode(t, err, domain.CodeNotFound)
}

func testAdminValidationOnlyAssign(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	for _, in := range []engine.Submission{EligibilitySub(u, RoleGA, Permanent()), AssignSub(u, RoleGA, time.Hour)} {
		in.ValidationOnly = true
		before := f.Snapshot()
		r, err := f.Submit(f.Admin, in)
		if err != nil {
			t.Fatalf("validation-only %s: %v", in.Kind, err)
		}
		if r.Status != domain.StatusGranted {
			t.Fatalf("validation-only %s answered %s", in.Kind, r.Status)
		}
		f.AssertNoWrites(t, before)
		if len(f.RequestsOf(u)) != 0 || len(f.SchedulesOf(u, "")) != 0 || f.HasRole(u, RoleGA) {
			t.Fatalf("validation-only %s wrote state", in.Kind)
		}
	}
	// And it still refuses what a real request would.
	in := EligibilitySub(u, RoleGA, Permanent())
	in.ValidationOnly = true
	_, err := f.Submit(u, in)
	WantCode(t, err, domain.CodeForbidden)
}

func testSelfExtendNeedsAdminDecision(t *testing.T, su suite) {
	f := su.fixture(t)
	u := f.NewUser()
	e := f.MustSubmit(f.Admin, EligibilitySub(u, RoleGA, Lasting(48*time.Hour)))
	in := engine.Submission{Kind: domain.KindEligibility, Action: domain.ActionSelfExtend, PrincipalID: u, Target: RoleGA,
		Schedule: Lasting(30 * 24 * time.Hour)}
	_, err := f.Submit(u, in)
	WantCode(t, err, domain.CodeInvalid) // a reason is required

	in.Justification = "still on the rota"
	before := f.Snapshot()
	in.ValidationOnly = true
	if r, err := f.Submit(u, in); err != nil || r.Status != domain.StatusPendingAdminDecision {
		t.Fatalf("validation-only selfExtend: %+v %v", r, err)
	}
	f.AssertNoWrites(t, before)

	in.ValidationOnly = false
	r := f.MustSubmit(u, in)
	WantStatus(t, r, domain.StatusPendingAdminDecision)
	WantStatus(t, f.GetRequest(r.ID), domain.StatusPendingAdminDecision)
	if s := f.GetSchedule(e.ID); !s.End.Equal(T0.Add(48 * time.Hour)) {
		t.Fatal("a selfExtend request must not move the end by itself")
	}
	if f.Dir.Calls()["AddRoleAssignment"] != 0 {
		t.Fatal("selfExtend touched the directory")
	}
	// Someone else cannot ask on the user's behalf.
	_, err = f.Submit(f.NewUser(), in)
	WantCode(t, err, domain.CodeForbidden)
	// The user may withdraw it.
	c, err := f.Eng.Cancel(f.Ctx, f.Call(u), domain.KindEligibility, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	WantStatus(t, c, domain.StatusCanceled)
}
