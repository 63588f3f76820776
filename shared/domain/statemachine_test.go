package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Short names for the literal transition grid below.
const (
	sNew  = domain.StatusNew
	sCan  = domain.StatusCanceled
	sDen  = domain.StatusDenied
	sFail = domain.StatusFailed
	sGra  = domain.StatusGranted
	sPAD  = domain.StatusPendingAdminDecision
	sPA   = domain.StatusPendingApproval
	sPP   = domain.StatusPendingProvisioning
	sPSC  = domain.StatusPendingScheduleCreation
	sProv = domain.StatusProvisioned
	sRev  = domain.StatusRevoked
	sSC   = domain.StatusScheduleCreated
	no    = domain.Status("<refused>") // marks a refused event in the grid
)

// gridEvents is the column order of transitionGrid, written out so the test
// does not depend on domain.Events' order.
var gridEvents = [15]domain.Event{
	"needApproval", "needAdminDecision", "grant", "stageApproved", "escalate", "deny",
	"cancel", "timeout", "provisionStart", "scheduleCreated", "provisioned", "fail", "removalStart", "removed", "revoke",
}

// transitionGrid is the whole expected state machine, one row per status.
var transitionGrid = []struct {
	from domain.Status
	to   [15]domain.Status
}{
	//                 needAppr needAdmin grant stageAppr escalate deny  cancel timeout provStart schedCreated provisioned fail  removalStart removed revoke
	{sNew /*      */, [15]domain.Status{sPA, sPAD, sGra, no, no, no, no, no, no, no, no, sFail, sPP, sRev, no}},
	{sPA /*       */, [15]domain.Status{no, no, sGra, sPA, sPA, sDen, sCan, sCan, no, no, no, sFail, no, no, no}},
	{sPAD /*      */, [15]domain.Status{no, no, sGra, no, no, sDen, sCan, sCan, no, no, no, sFail, no, no, no}},
	{sGra /*      */, [15]domain.Status{no, no, no, no, no, no, no, no, sPP, sSC, sProv, sFail, no, no, no}},
	{sPP /*       */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, sProv, sFail, no, sRev, no}},
	{sProv /*     */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, no, no, no, no, sRev}},
	{sCan /*      */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, no, no, no, no, no}},
	{sDen /*      */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, no, no, no, no, no}},
	{sFail /*     */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, no, no, no, no, no}},
	{sRev /*      */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, no, no, no, no, no}},
	{sPSC /*      */, [15]domain.Status{no, no, no, no, no, no, no, no, no, no, no, no, no, no, no}},
	{sSC /*       */, [15]domain.Status{no, no, no, no, no, no, sCan, no, sPP, no, no, sFail, no, no, sRev}},
}

// TestGridCoversEveryStatusAndEvent makes sure the grid is exhaustive over
// the package's own lists, so a new status or event cannot slip by untested.
func TestGridCoversEveryStatusAndEvent(t *testing.T) {
	if len(domain.Events) != len(gridEvents) {
		t.Fatalf("domain.Events has %d events, the grid %d", len(domain.Events), len(gridEvents))
	}
	inGrid := map[domain.Event]bool{}
	for _, e := range gridEvents {
		inGrid[e] = true
	}
	for _, e := range domain.Events {
		if !inGrid[e] {
			t.Errorf("event %q is not in the grid", e)
		}
	}
	rows := map[domain.Status]bool{}
	for _, r := range transitionGrid {
		if rows[r.from] {
			t.Errorf("status %q appears twice in the grid", r.from)
		}
		rows[r.from] = true
	}
	all := append([]domain.Status{domain.StatusNew}, domain.Statuses...)
	if len(all) != len(transitionGrid) {
		t.Errorf("%d statuses (with new), grid has %d rows", len(all), len(transitionGrid))
	}
	for _, s := range all {
		if !rows[s] {
			t.Errorf("status %q has no row in the grid", s)
		}
	}
	wantStatuses := []string{"Canceled", "Denied", "Failed", "Granted", "PendingAdminDecision", "PendingApproval",
		"PendingProvisioning", "PendingScheduleCreation", "Provisioned", "Revoked", "ScheduleCreated"}
	var got []string
	for _, s := range domain.Statuses {
		got = append(got, string(s))
	}
	if !reflect.DeepEqual(got, wantStatuses) {
		t.Errorf("domain.Statuses = %v, want Graph's %v", got, wantStatuses)
	}
}

func TestTransitionEveryStatusTimesEveryEvent(t *testing.T) {
	for _, row := range transitionGrid {
		for i, ev := range gridEvents {
			want := row.to[i]
			name := string(row.from)
			if row.from == domain.StatusNew {
				name = "new"
			}
			t.Run(name+"/"+string(ev), func(t *testing.T) {
				got, err := domain.Transition(row.from, ev)
				if want != no {
					if err != nil {
						t.Fatalf("Transition(%q, %q) refused: %v; want %q", row.from, ev, err, want)
					}
					if got != want {
						t.Fatalf("Transition(%q, %q) = %q, want %q", row.from, ev, got, want)
					}
					return
				}
				wantErr(t, err, domain.CodeConflict, "", "the request is "+name+";", string(ev))
				if got != row.from {
					t.Errorf("refused Transition(%q, %q) returned %q, want the status unchanged", row.from, ev, got)
				}
			})
		}
	}
}

func TestTransitionUnknownStatusOrEventRefused(t *testing.T) {
	got, err := domain.Transition("Bogus", domain.EvGrant)
	wantErr(t, err, domain.CodeConflict, "", "Bogus", "grant")
	if got != "Bogus" {
		t.Errorf("status = %q, want unchanged", got)
	}
	got, err = domain.Transition(domain.StatusPendingApproval, "approveEverything")
	wantErr(t, err, domain.CodeConflict, "", "PendingApproval", "approveEverything")
	if got != domain.StatusPendingApproval {
		t.Errorf("status = %q, want unchanged", got)
	}
}

func TestTerminal(t *testing.T) {
	want := map[domain.Status]bool{sCan: true, sDen: true, sFail: true, sRev: true}
	for _, s := range append([]domain.Status{domain.StatusNew}, domain.Statuses...) {
		if got := s.Terminal(); got != want[s] {
			t.Errorf("%q.Terminal() = %v, want %v", s, got, want[s])
		}
	}
}

func TestApplyStampsCompletedAt(t *testing.T) {
	now := t0.Add(time.Hour)
	cases := []struct {
		from      domain.Status
		ev        domain.Event
		to        domain.Status
		completed bool
	}{
		{sNew, domain.EvNeedApproval, sPA, false},
		{sNew, domain.EvNeedAdminDecision, sPAD, false},
		{sNew, domain.EvGrant, sGra, false},
		{sNew, domain.EvFail, sFail, true},
		{sNew, domain.EvRemoved, sRev, true},
		{sPA, domain.EvStageApproved, sPA, false},
		{sPA, domain.EvEscalate, sPA, false},
		{sPA, domain.EvGrant, sGra, false},
		{sPA, domain.EvDeny, sDen, true},
		{sPA, domain.EvCancel, sCan, true},
		{sPA, domain.EvTimeout, sCan, true},
		{sPA, domain.EvFail, sFail, true},
		{sPAD, domain.EvDeny, sDen, true},
		{sPAD, domain.EvCancel, sCan, true},
		{sPAD, domain.EvTimeout, sCan, true},
		{sGra, domain.EvProvisionStart, sPP, false},
		{sGra, domain.EvScheduleCreated, sSC, false},
		{sSC, domain.EvProvisionStart, sPP, false},
		{sSC, domain.EvCancel, sCan, true},
		{sSC, domain.EvRevoke, sRev, true},
		{sSC, domain.EvFail, sFail, true},
		{sGra, domain.EvProvisioned, sProv, true},
		{sGra, domain.EvFail, sFail, true},
		{sPP, domain.EvProvisioned, sProv, true},
		{sPP, domain.EvFail, sFail, true},
		{sProv, domain.EvRevoke, sRev, true},
	}
	for _, c := range cases {
		t.Run(string(c.from)+"/"+string(c.ev), func(t *testing.T) {
			r := domain.Request{ID: "r1", Status: c.from}
			if err := r.Apply(c.ev, now, ""); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if r.Status != c.to {
				t.Errorf("status = %q, want %q", r.Status, c.to)
			}
			if c.completed && !r.CompletedAt.Equal(now) {
				t.Errorf("CompletedAt = %v, want %v", r.CompletedAt, now)
			}
			if !c.completed && !r.CompletedAt.IsZero() {
				t.Errorf("CompletedAt = %v, want zero for non-final status %q", r.CompletedAt, r.Status)
			}
		})
	}
}

func TestApplyProvisionedThenRevokedRestampsCompletedAt(t *testing.T) {
	r := domain.Request{Status: sGra}
	wantNoErr(t, r.Apply(domain.EvProvisioned, t0, ""))
	if !r.CompletedAt.Equal(t0) {
		t.Fatalf("CompletedAt = %v, want %v", r.CompletedAt, t0)
	}
	later := t0.Add(2 * time.Hour)
	wantNoErr(t, r.Apply(domain.EvRevoke, later, "ended early"))
	if r.Status != sRev || !r.CompletedAt.Equal(later) || r.StatusReason != "ended early" {
		t.Errorf("after revoke: status %q, CompletedAt %v, reason %q", r.Status, r.CompletedAt, r.StatusReason)
	}
}

func TestApplyStatusReason(t *testing.T) {
	r := domain.Request{Status: sPA, StatusReason: "first"}
	wantNoErr(t, r.Apply(domain.EvStageApproved, t0, ""))
	if r.StatusReason != "first" {
		t.Errorf("empty reason replaced StatusReason: got %q, want %q", r.StatusReason, "first")
	}
	wantNoErr(t, r.Apply(domain.EvDeny, t0, "not needed"))
	if r.StatusReason != "not needed" {
		t.Errorf("StatusReason = %q, want %q", r.StatusReason, "not needed")
	}
	r2 := domain.Request{Status: sGra, StatusReason: "kept"}
	wantNoErr(t, r2.Apply(domain.EvFail, t0, ""))
	if r2.StatusReason != "kept" || r2.Status != sFail {
		t.Errorf("got status %q reason %q, want Failed with reason kept", r2.Status, r2.StatusReason)
	}
}

func TestApplyRefusedChangesNothing(t *testing.T) {
	earlier := t0.Add(-time.Hour)
	for _, row := range transitionGrid {
		for i, ev := range gridEvents {
			if row.to[i] != no {
				continue
			}
			r := domain.Request{
				ID: "r1", Status: row.from, StatusReason: "before", CompletedAt: earlier,
				Approval: &domain.Approval{Stages: []domain.ApprovalStage{{ID: "stage-1", Status: domain.StageInProgress}}},
			}
			before := r.Clone()
			err := r.Apply(ev, t0, "should not be stored")
			if err == nil {
				t.Errorf("Apply(%q) from %q succeeded, want refused", ev, row.from)
				continue
			}
			if !domain.IsCode(err, domain.CodeConflict) || !strings.Contains(err.Error(), string(ev)) {
				t.Errorf("Apply(%q) from %q: err %v, want a conflict naming the event", ev, row.from, err)
			}
			if !reflect.DeepEqual(r, before) {
				t.Errorf("refused Apply(%q) from %q changed the request:\n got %+v\nwant %+v", ev, row.from, r, before)
			}
		}
	}
}
