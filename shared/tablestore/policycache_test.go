package tablestore_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// TestPolicyCache: a process serves policies from its cache only while the
// generation row says no policy changed, so a change made by another
// process is seen on the very next read; a write that does not touch the
// generation row (a binary from before it) is seen within the cache's age
// bound.
func TestPolicyCache(t *testing.T) {
	conn := azuritetest.Start(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	pfx := prefix()
	writer := newStore(t, conn, tablestore.Options{TablePrefix: pfx, Now: clock})
	reader := newStore(t, conn, tablestore.Options{TablePrefix: pfx, Now: clock})

	target := domain.RoleTarget("62e90394-69f5-4237-9190-012177145e10", "/")
	pol := domain.DefaultPolicy()
	pol.ID, pol.Scope, pol.Target = domain.PolicyID(target), domain.ScopeTarget, target
	pol.Activation.MaxDuration = time.Hour
	if err := writer.PutPolicy(ctx, &pol); err != nil {
		t.Fatal(err)
	}
	read := func(step string, want time.Duration, wantTrips int64) {
		t.Helper()
		reader.ResetRoundTrips()
		got, err := reader.GetPolicy(ctx, pol.ID)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got.Activation.MaxDuration != want {
			t.Errorf("%s: max duration %s, want %s", step, got.Activation.MaxDuration, want)
		}
		if n := reader.RoundTrips(); wantTrips > 0 && n != wantTrips {
			t.Errorf("%s: %d round trips, want %d", step, n, wantTrips)
		}
	}
	read("first read", time.Hour, 2)                // generation and listing
	read("unchanged, from the cache", time.Hour, 1) // generation only

	// Another process changes the policy: seen on the next read.
	pol.Activation.MaxDuration = 2 * time.Hour
	if err := writer.PutPolicy(ctx, &pol); err != nil {
		t.Fatal(err)
	}
	read("after another process's write", 2*time.Hour, 2)
	if _, err := reader.GetPolicy(ctx, "DirectoryRole_nope"); !domain.IsCode(err, domain.CodeNotFound) {
		t.Errorf("a policy never stored: %v, want not_found", err)
	}

	// A writer that knows nothing of the generation row replaces the
	// entity directly: the cache serves the old policy at most
	// policyCacheMaxAge (one minute) longer.
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := svc.NewClient(pfx + "Policies")
	raw, err := c.GetEntity(ctx, "policy", tablestore.EscapeKey(pol.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	var e aztables.EDMEntity
	if err := e.UnmarshalJSON(raw.Value); err != nil {
		t.Fatal(err)
	}
	act, ok := e.Properties["Activation"].(string)
	if !ok {
		t.Fatalf("no Activation property in %v", e.Properties)
	}
	e.Properties["Activation"] = replaceMaxDuration(t, act, 3*time.Hour)
	body, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	etag := azcore.ETag(raw.ETag)
	if _, err := c.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace}); err != nil {
		t.Fatal(err)
	}
	read("old-style write, within the age bound", 2*time.Hour, 1)
	advance(61 * time.Second)
	read("old-style write, past the age bound", 3*time.Hour, 2)
}

// replaceMaxDuration sets MaxDuration in a stored Activation JSON string.
func replaceMaxDuration(t *testing.T, js string, d time.Duration) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["MaxDuration"]; !ok {
		t.Fatalf("no MaxDuration in %s", js)
	}
	m["MaxDuration"] = int64(d)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
