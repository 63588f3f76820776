package tablestore_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// tablesWithPrefix lists the account's tables whose names start with p.
func tablesWithPrefix(t *testing.T, conn, p string) []string {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	pager := svc.NewListTablesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range page.Tables {
			if tb.Name != nil && strings.HasPrefix(*tb.Name, p) {
				out = append(out, *tb.Name)
			}
		}
	}
	return out
}

// TestAuditReaderFailsLoudlyAndCreatesNothing: the reader of the operator
// commands refuses a missing table (naming it and the prefix) without
// creating any table, refuses an empty chain, verifies a real one, and
// finds records removed from the middle or cut off the end.
func TestAuditReaderFailsLoudlyAndCreatesNothing(t *testing.T) {
	conn := azuritetest.Start(t)
	ctx := context.Background()

	wrong := prefix()
	_, err := tablestore.OpenAuditReader(ctx, conn, tablestore.Options{TablePrefix: wrong})
	if !domain.IsCode(err, domain.CodeNotFound) || !strings.Contains(err.Error(), "the audit table "+wrong+"Audit does not exist") ||
		!strings.Contains(err.Error(), fmt.Sprintf("table prefix %q", wrong)) {
		t.Fatalf("missing table: %v", err)
	}
	if got := tablesWithPrefix(t, conn, wrong); len(got) != 0 {
		t.Fatalf("the read-only reader created tables: %v", got)
	}

	p := prefix()
	s := newStore(t, conn, tablestore.Options{TablePrefix: p})
	a, err := tablestore.OpenAuditReader(ctx, conn, tablestore.Options{TablePrefix: p})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Verify(ctx); !domain.IsCode(err, domain.CodeNotFound) || n != 0 || !strings.Contains(err.Error(), "holds no audit records: nothing to verify") ||
		!strings.Contains(err.Error(), p+"Audit") {
		t.Fatalf("verify of an empty chain: %d %v", n, err)
	}
	if _, err := a.Records(ctx); !domain.IsCode(err, domain.CodeNotFound) {
		t.Fatalf("export of an empty chain: %v", err)
	}

	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 4 {
		rec := &domain.AuditRecord{ID: fmt.Sprintf("rec-%d", i+1), Time: base.Add(time.Duration(i) * time.Second), ActorID: "jitpim", Action: "test.append", Category: "Test"}
		if err := s.AppendAudit(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Appended records are pending until a chain writer links them; the
	// reader sends no write, so it sees the chain as linked, and counts
	// what waits.
	if n, err := a.Pending(ctx); err != nil || n != 4 {
		t.Fatalf("pending before linking: %d %v", n, err)
	}
	if _, err := s.ChainAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("pending after linking: %d %v", n, err)
	}
	if n, err := a.Verify(ctx); err != nil || n != 4 {
		t.Fatalf("verify of an intact chain: %d %v", n, err)
	}
	if recs, err := a.Records(ctx); err != nil || len(recs) != 4 || recs[0].ID != "rec-1" || recs[3].ID != "rec-4" {
		t.Fatalf("records: %v %v", recs, err)
	}

	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	audit := svc.NewClient(p + "Audit")
	rowKey := func(seq int64) string { return fmt.Sprintf("%019d", math.MaxInt64-seq) }
	// The newest record cut off the end: every link left is fine, the head says more.
	if _, err := audit.DeleteEntity(ctx, "audit", rowKey(4), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx); !domain.IsCode(err, domain.CodeConflict) || !strings.Contains(err.Error(), "the head names record 4 but only 3 are stored") {
		t.Fatalf("verify with the newest record removed: %v", err)
	}
	// A record removed from the middle.
	if _, err := audit.DeleteEntity(ctx, "audit", rowKey(2), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx); !domain.IsCode(err, domain.CodeConflict) || !strings.Contains(err.Error(), "audit chain broken at record 2 of 2: id rec-3 has number 3") {
		t.Fatalf("verify with a record removed from the middle: %v", err)
	}
	// Records without the head that vouches for them.
	if _, err := audit.DeleteEntity(ctx, "audit", "head", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx); !domain.IsCode(err, domain.CodeConflict) || !strings.Contains(err.Error(), "2 records but no chain head") {
		t.Fatalf("verify without a head: %v", err)
	}
	if got := tablesWithPrefix(t, conn, wrong); len(got) != 0 {
		t.Fatalf("tables appeared under the wrong prefix: %v", got)
	}
}
