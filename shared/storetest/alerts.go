package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// RunAlerts is the conformance suite of a domain.AlertStore; newStore must
// return an empty store each call.
func RunAlerts(t *testing.T, newStore func(t *testing.T) domain.AlertStore) {
	t.Run("RoundTrip", func(t *testing.T) { testAlertRoundTrip(t, newStore(t)) })
	t.Run("Conditional", func(t *testing.T) { testAlertConditional(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testAlertList(t, newStore(t)) })
	t.Run("FullSize", func(t *testing.T) { testAlertFullSize(t, newStore(t)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { testAlertConcurrent(t, newStore(t)) })
}

func sampleAlert(id string) domain.Alert {
	return domain.Alert{
		ID: id, DefinitionID: id, Severity: domain.SeverityHigh, IsActive: true, IncidentCount: 3,
		FirstSeen: base.Add(123456789), LastScanned: base.Add(time.Hour + 7), LastModified: base.Add(time.Minute),
		Incidents: []domain.AlertIncident{
			{ID: "signin:a/b#c?d", Description: "bg1 signed in from 203.0.113.10 — ünïcödé 😀", PrincipalID: userA,
				Target: domain.RoleTarget(roleGA, domain.TenantScope), Details: map[string]string{"ipAddress": "203.0.113.10", "status": "failed"},
				FirstSeen: base.Add(987654321)},
			{ID: "outside:" + userB, Target: domain.GroupTarget(group1, domain.AccessMember), FirstSeen: base},
		},
	}
}

func testAlertRoundTrip(t *testing.T, s domain.AlertStore) {
	ctx := context.Background()
	_, err := s.GetAlert(ctx, "NoSuchAlert")
	wantCode(t, err, domain.CodeNotFound)
	a := sampleAlert(domain.AlertBreakGlassSignIn)
	if err := s.PutAlert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if a.Version == "" {
		t.Fatal("PutAlert did not set the version")
	}
	got, err := s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != a.Version {
		t.Fatalf("version %q, want %q", got.Version, a.Version)
	}
	same(t, "alert", got, a)
	// A dismissed alert with no incidents left.
	got.Incidents, got.IncidentCount, got.IsActive = nil, 0, false
	got.DismissedBy, got.DismissedAt = userB, base.Add(3*time.Hour+11)
	if err := s.PutAlert(ctx, &got); err != nil {
		t.Fatal(err)
	}
	again, err := s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "dismissed alert", again, got)
	// Empty but not nil incidents survive as empty.
	again.Incidents = []domain.AlertIncident{}
	if err := s.PutAlert(ctx, &again); err != nil {
		t.Fatal(err)
	}
	back, _ := s.GetAlert(ctx, a.ID)
	same(t, "alert with empty incidents", back, again)
	// The store keeps its own copy.
	back.Incidents = append(back.Incidents, domain.AlertIncident{ID: "x"})
	if fresh, _ := s.GetAlert(ctx, a.ID); len(fresh.Incidents) != 0 {
		t.Fatal("a caller's change reached the store without a write")
	}
}

func testAlertConditional(t *testing.T, s domain.AlertStore) {
	ctx := context.Background()
	a := sampleAlert(domain.AlertRolesOutsidePIM)
	if err := s.PutAlert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	dup := sampleAlert(domain.AlertRolesOutsidePIM)
	wantCode(t, s.PutAlert(ctx, &dup), domain.CodeConflict) // create of an existing id
	staleCopy := a
	a.IncidentCount = 9
	if err := s.PutAlert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if a.Version == staleCopy.Version {
		t.Fatal("the version did not change on replace")
	}
	staleCopy.IncidentCount = 1
	wantCode(t, s.PutAlert(ctx, &staleCopy), domain.CodeConflict)
	got, _ := s.GetAlert(ctx, a.ID)
	if got.IncidentCount != 9 {
		t.Fatalf("a stale write landed: %d", got.IncidentCount)
	}
	ghost := sampleAlert("NeverStored")
	ghost.Version = a.Version
	wantCode(t, s.PutAlert(ctx, &ghost), domain.CodeConflict) // replace of a missing id
	if _, err := s.GetAlert(ctx, "NeverStored"); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("replace created the alert: %v", err)
	}
}

func testAlertList(t *testing.T, s domain.AlertStore) {
	ctx := context.Background()
	if l, err := s.ListAlerts(ctx); err != nil || len(l) != 0 {
		t.Fatalf("empty store lists %v, %v", l, err)
	}
	ids := []string{domain.AlertStaleSignIn, domain.AlertBreakGlassSignIn, domain.AlertTooManyGlobalAdmins}
	for _, id := range ids {
		a := sampleAlert(id)
		if err := s.PutAlert(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.ListAlerts(ctx)
	if err != nil || len(l) != 3 {
		t.Fatalf("list: %d alerts, %v", len(l), err)
	}
	for i, a := range l {
		if i > 0 && l[i-1].ID >= a.ID {
			t.Fatalf("not ordered by id: %s before %s", l[i-1].ID, a.ID)
		}
		if a.Version == "" || len(a.Incidents) != 2 {
			t.Fatalf("listed alert %s lacks its version or incidents: %+v", a.ID, a)
		}
		cur, _ := s.GetAlert(ctx, a.ID)
		if cur.Version != a.Version {
			t.Fatalf("listed version %q, stored %q", a.Version, cur.Version)
		}
	}
}

// testAlertFullSize stores the most incidents an alert keeps, each with
// text at the engine's bounds (400-byte description, 6 details of 150
// bytes), in non-Latin text, and reads them back intact.
func testAlertFullSize(t *testing.T, s domain.AlertStore) {
	ctx := context.Background()
	a := sampleAlert(domain.AlertStaleSignIn)
	a.Incidents = nil
	for i := range domain.MaxAlertIncidents {
		d := map[string]string{}
		for k := range 6 {
			d[fmt.Sprintf("detail%d", k)] = strings.Repeat("é", 75)
		}
		a.Incidents = append(a.Incidents, domain.AlertIncident{ID: fmt.Sprintf("stale:%036d", i),
			Description: strings.Repeat("ü😀", 66), PrincipalID: userA,
			Target: domain.RoleTarget(roleGA, domain.TenantScope), Details: d, FirstSeen: base.Add(time.Duration(i) * time.Second)})
	}
	a.IncidentCount = 250
	if err := s.PutAlert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != a.Version || got.IncidentCount != a.IncidentCount || len(got.Incidents) != len(a.Incidents) {
		t.Fatalf("full-size alert: version %q/%q, count %d/%d, %d/%d incidents", got.Version, a.Version, got.IncidentCount, a.IncidentCount, len(got.Incidents), len(a.Incidents))
	}
	for i := range a.Incidents {
		sameQuiet(t, fmt.Sprintf("incident %d", i), got.Incidents[i], a.Incidents[i])
	}
}

// sameQuiet is same with a short message: the first differing byte.
func sameQuiet(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) == string(w) {
		return
	}
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	from := max(0, i-40)
	t.Fatalf("%s differs after a round trip at byte %d:\n got: …%s\nwant: …%s", what, i, g[from:min(len(g), i+40)], w[from:min(len(w), i+40)])
}

func testAlertConcurrent(t *testing.T, s domain.AlertStore) {
	ctx := context.Background()
	a := sampleAlert(domain.AlertActivatedTooOften)
	a.IncidentCount = 0
	if err := s.PutAlert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 100; attempt++ {
				cur, err := s.GetAlert(ctx, a.ID)
				if err != nil {
					errs <- err
					return
				}
				cur.IncidentCount++
				err = s.PutAlert(ctx, &cur)
				if err == nil {
					return
				}
				if !domain.IsCode(err, domain.CodeConflict) {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("no write landed in 100 attempts")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _ := s.GetAlert(ctx, a.ID)
	if got.IncidentCount != n {
		t.Fatalf("%d increments landed, want %d: conditional writes lost updates", got.IncidentCount, n)
	}
}
