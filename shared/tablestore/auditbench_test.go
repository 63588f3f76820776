package tablestore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// BenchmarkAuditedChanges runs 1, 4, 16 and 32 clients, each changing its
// own principal's request for a fixed time, every change with its audit
// record. It reports changes per second and the records lost: changes made
// minus records in the verified chain afterwards (must be 0).
func BenchmarkAuditedChanges(b *testing.B) {
	conn := azuritetest.Start(b)
	for _, clients := range []int{1, 4, 16, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			opts := tablestore.Options{TablePrefix: prefix()}
			s := newStore(b, conn, opts)
			ctx := context.Background()
			const run = 3 * time.Second
			var changes, failures atomic.Int64
			for b.Loop() {
				reqs := make([]domain.Request, clients)
				for c := range reqs {
					reqs[c] = domain.Request{ID: uuid.NewString(), Kind: domain.KindAssignment, Action: domain.ActionSelfActivate,
						PrincipalID: domain.ObjectID(uuid.NewString()), Target: domain.RoleTarget(domain.RoleGlobalAdministrator, "/"),
						Status: domain.StatusPendingApproval, CreatedAt: t0, CreatedBy: "jitpim"}
					if err := s.CreateRequest(ctx, &reqs[c]); err != nil {
						b.Fatal(err)
					}
				}
				stop := time.Now().Add(run)
				var wg sync.WaitGroup
				for c := range clients {
					wg.Go(func() {
						r := &reqs[c]
						for i := 0; time.Now().Before(stop); i++ {
							r.Justification = fmt.Sprint("change ", i)
							rec := domain.AuditRecord{ID: uuid.NewString(), Time: t0.Add(time.Duration(i) * time.Millisecond), ActorID: r.PrincipalID,
								Action: "request.update", Category: "RoleManagement", Target: r.Target, PrincipalID: r.PrincipalID, RequestID: r.ID, Outcome: "success"}
							if err := s.UpdateRequest(ctx, r, rec); err != nil {
								failures.Add(1)
								b.Error(err)
								return
							}
							changes.Add(1)
						}
					})
				}
				wg.Wait()
			}
			began := time.Now()
			linked, err := s.ChainAudit(ctx)
			if err != nil {
				b.Fatal(err)
			}
			chainTime := time.Since(began)
			rd, err := tablestore.OpenAuditReader(ctx, conn, opts)
			if err != nil {
				b.Fatal(err)
			}
			n, err := rd.Verify(ctx)
			if err != nil {
				b.Fatal(err)
			}
			lost := changes.Load() - int64(n)
			if lost != 0 {
				b.Errorf("%d changes, %d records in the verified chain: %d lost", changes.Load(), n, lost)
			}
			b.ReportMetric(float64(changes.Load())/(run.Seconds()*float64(b.N)), "changes/s")
			b.ReportMetric(float64(lost), "records-lost")
			b.ReportMetric(float64(linked)/chainTime.Seconds(), "chained-records/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
