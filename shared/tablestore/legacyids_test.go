package tablestore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// TestIDsWrittenBeforeCanonicalisationReadBackCanonical: rows written by
// releases that stored ids as the caller spelled them (upper case) read
// back as the canonical id, in properties and in nested JSON (approvers),
// so every comparison past the store sees one spelling (normalise on read).
func TestIDsWrittenBeforeCanonicalisationReadBackCanonical(t *testing.T) {
	conn := azuritetest.Start(t)
	ctx := context.Background()
	pfx := prefix()
	s := newStore(t, conn, tablestore.Options{TablePrefix: pfx})
	principal := domain.ObjectID("a47440fe-ede2-441f-a6c7-93ef77d456d2")
	approver := domain.ObjectID("c4049c7c-e12b-4472-b42d-c24808aa1054")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	r := domain.Request{ID: "3f2a9c1e-0000-4000-8000-000000000001", Kind: domain.KindAssignment, Action: domain.ActionSelfActivate,
		PrincipalID: principal, Target: domain.RoleTarget(domain.RoleGlobalAdministrator, "/"), Status: domain.StatusPendingApproval,
		CreatedBy: principal, CreatedAt: now, Approval: &domain.Approval{Stages: []domain.ApprovalStage{{ID: "stage-1",
			Approvers: []domain.Approver{{Kind: domain.ApproverUser, ID: approver}}, Status: domain.StageInProgress, ReviewResult: domain.ReviewNotReviewed}}}}
	if err := s.CreateRequest(ctx, &r); err != nil {
		t.Fatal(err)
	}
	// Rewrite the row as an older release would have stored it.
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := svc.NewClient(pfx + "Requests")
	ent, err := c.GetEntity(ctx, tablestore.EscapeKey(r.ID), "@", nil)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(ent.Value, &m); err != nil {
		t.Fatal(err)
	}
	upper := func(v any) any {
		if s, ok := v.(string); ok {
			return strings.ReplaceAll(strings.ReplaceAll(s, string(principal), strings.ToUpper(string(principal))), string(approver), strings.ToUpper(string(approver)))
		}
		return v
	}
	changed := 0
	for k, v := range m {
		if nv := upper(v); nv != v {
			m[k] = nv
			changed++
		}
	}
	if changed < 3 { // PrincipalId, CreatedBy and the approval's JSON at least
		t.Fatalf("only %d properties held the ids: %v", changed, m)
	}
	data, _ := json.Marshal(m)
	if _, err := c.UpsertEntity(ctx, data, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PrincipalID != principal || got.CreatedBy != principal || got.Approval.Stages[0].Approvers[0].ID != approver {
		t.Fatalf("read back %q / %q / %q, want the canonical ids", got.PrincipalID, got.CreatedBy, got.Approval.Stages[0].Approvers[0].ID)
	}
}

// TestCanonicalizeIDsRekeysLegacyData: a grant and a schedule stored under
// an upper-case principal (as releases before canonical ids wrote them)
// are unreachable by the canonical id until the migration moves them; it
// merges into an existing canonical grant, keeps the directory state, and
// a second run changes nothing.
func TestCanonicalizeIDsRekeysLegacyData(t *testing.T) {
	conn := azuritetest.Start(t)
	ctx := context.Background()
	s := newStore(t, conn, tablestore.Options{})
	canon := domain.ObjectID("5f5e9064-8c0a-4d93-a415-69bda49e5511")
	legacy := domain.ObjectID(strings.ToUpper(string(canon))) // as an older release stored it
	ga := domain.RoleTarget(domain.RoleGlobalAdministrator, "/")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sc := domain.Schedule{ID: "legacy-activation", Kind: domain.KindAssignment, PrincipalID: legacy, Target: ga, AssignmentType: domain.AssignmentActivated,
		MemberType: domain.MemberDirect, Start: now, End: now.Add(time.Hour), Status: domain.ScheduleProvisioned, CreatedAt: now, ModifiedAt: now}
	if err := s.CreateSchedule(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	old := domain.Grant{PrincipalID: legacy, Target: ga, Applied: true, DirectoryID: "ra-1", ModifiedAt: now,
		Holders: []domain.Holder{{ScheduleID: sc.ID, AssignmentType: domain.AssignmentActivated, End: sc.End}}}
	if err := s.PutGrant(ctx, &old); err != nil {
		t.Fatal(err)
	}
	// A canonical grant for the same access also exists (an admin assignment made after the upgrade).
	cur := domain.Grant{PrincipalID: canon, Target: ga, Applied: true, ModifiedAt: now,
		Holders: []domain.Holder{{ScheduleID: "admin-assignment", AssignmentType: domain.AssignmentAssigned}}}
	if err := s.PutGrant(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	listed := func() int {
		p, err := s.ListSchedules(ctx, domain.ScheduleQuery{PrincipalID: canon, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}
	if n := listed(); n != 0 {
		t.Fatalf("setup: the legacy schedule is already listed under the canonical id (%d)", n)
	}
	rep, err := s.CanonicalizeIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.GrantsRekeyed != 1 || rep.GrantsMerged != 1 || rep.SchedulesRewritten != 1 {
		t.Fatalf("migration: %+v", rep)
	}
	g, err := s.GetGrant(ctx, domain.GrantKey(canon, ga))
	if err != nil {
		t.Fatal(err)
	}
	if !g.Applied || !g.HasHolder(sc.ID) || !g.HasHolder("admin-assignment") || g.DirectoryID != "ra-1" {
		t.Fatalf("merged grant %+v: want both holders, applied, the directory id kept", g)
	}
	if _, err := s.GetGrant(ctx, domain.GrantKey(legacy, ga)); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("the legacy grant is still there: %v", err)
	}
	if n := listed(); n != 1 {
		t.Fatalf("%d schedules listed under the canonical id, want the legacy one", n)
	}
	if rep, err := s.CanonicalizeIDs(ctx); err != nil || rep != (tablestore.IDMigration{}) {
		t.Fatalf("second run: %+v %v, want nothing to do", rep, err)
	}
}
