package e2e

import (
	"context"
	"sort"
	"testing"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/jitpim/jitpim/local/stack"
)

// asB is as for benchmarks.
func asB(b *testing.B, alias string) *stack.Client {
	b.Helper()
	c, err := st.As(alias, true)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkActivationRoundTrip times one selfActivate through the whole
// local stack, sent by the Graph SDK (default client: gzip, retry and
// telemetry middleware, kiota serialization) and by plain net/http with a
// JSON body, in the same run. Each iteration deactivates again, untimed.
// `make bench` runs it; the handler is the e2e build (race detector on), so
// compare the two, not the absolute figures with Azure.
func BenchmarkActivationRoundTrip(b *testing.B) {
	ctx := context.Background()
	stan := user("stan")
	gina := asB(b, "gina")
	eligible := "roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '" + stan + "' and roleDefinitionId eq '" + roleReportsReader + "'"
	if code, out, err := gina.Do(ctx, "GET", eligible, nil); err != nil || code != 200 {
		b.Fatalf("%d %v %v", code, out, err)
	} else if len(out["value"].([]any)) == 0 {
		if code, out, err := gina.Do(ctx, "POST", eligReqs, map[string]any{"action": "adminAssign", "principalId": stan, "roleDefinitionId": roleReportsReader,
			"directoryScopeId": "/", "justification": "benchmark", "scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P30D"}}}); err != nil || code != 201 {
			b.Fatalf("eligibility: %d %v %v", code, out, err)
		}
	}
	plain := asB(b, "stan")
	deactivate := func() {
		if code, out, err := plain.Do(ctx, "POST", assignReqs, map[string]any{"action": "selfDeactivate", "principalId": stan,
			"roleDefinitionId": roleReportsReader, "directoryScopeId": "/"}); err != nil || code != 201 {
			b.Fatalf("deactivate: %d %v %v", code, out, err)
		}
	}
	report := func(b *testing.B, took []time.Duration) {
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	}

	b.Run("sdk", func(b *testing.B) {
		c := sdkAs(b, "stan", true)
		took := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			r := models.NewUnifiedRoleAssignmentScheduleRequest()
			r.SetAction(ptr(models.SELFACTIVATE_UNIFIEDROLESCHEDULEREQUESTACTIONS))
			r.SetPrincipalId(&stan)
			r.SetRoleDefinitionId(ptr(roleReportsReader))
			r.SetDirectoryScopeId(ptr("/"))
			r.SetJustification(ptr("benchmark"))
			ex := models.NewExpirationPattern()
			ex.SetTypeEscaped(ptr(models.AFTERDURATION_EXPIRATIONPATTERNTYPE))
			d, err := absser.ParseISODuration("PT1H")
			if err != nil {
				b.Fatal(err)
			}
			ex.SetDuration(d)
			si := models.NewRequestSchedule()
			si.SetExpiration(ex)
			r.SetScheduleInfo(si)
			start := time.Now()
			out, err := c.rm.Directory().RoleAssignmentScheduleRequests().Post(ctx, r, nil)
			took = append(took, time.Since(start))
			if err != nil || val(out.GetStatus()) != "Provisioned" {
				b.Fatalf("sdk activation: %v", err)
			}
			b.StopTimer()
			deactivate()
			b.StartTimer()
		}
		report(b, took)
	})
	b.Run("json", func(b *testing.B) {
		took := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			code, out, err := plain.Do(ctx, "POST", assignReqs, map[string]any{"action": "selfActivate", "principalId": stan,
				"roleDefinitionId": roleReportsReader, "directoryScopeId": "/", "justification": "benchmark",
				"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "PT1H"}}})
			took = append(took, time.Since(start))
			if err != nil || code != 201 || out["status"] != "Provisioned" {
				b.Fatalf("json activation: %d %v %v", code, out, err)
			}
			b.StopTimer()
			deactivate()
			b.StartTimer()
		}
		report(b, took)
	})
}
