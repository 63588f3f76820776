package tablestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// BenchmarkSchedulesEndingBy sweeps 5 due schedules among 300 stored ones;
// round-trips/op shows the cost follows what is due.
func BenchmarkSchedulesEndingBy(b *testing.B) {
	conn := azuritetest.Start(b)
	s := newStore(b, conn, tablestore.Options{})
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		end := t0.Add(time.Duration(24+i) * time.Hour)
		if i < 5 {
			end = t0.Add(time.Duration(i) * time.Minute)
		}
		sc := schedule(fmt.Sprintf("s-%03d", i), end)
		if err := s.CreateSchedule(ctx, &sc); err != nil {
			b.Fatal(err)
		}
	}
	s.ResetRoundTrips()
	b.ResetTimer()
	for b.Loop() {
		due, err := s.SchedulesEndingBy(ctx, t0.Add(time.Hour), 100)
		if err != nil || len(due) != 5 {
			b.Fatalf("%d due, %v", len(due), err)
		}
	}
	b.ReportMetric(float64(s.RoundTrips())/float64(b.N), "round-trips/op")
}
