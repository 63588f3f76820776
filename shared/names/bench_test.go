package names_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/names"
)

// BenchmarkInboxNames names what an approver's inbox of 100 requests shows
// (20 requesters, 5 groups, built-in roles): how many directory calls a
// page of names costs, first with a cold cache, then warm.
func BenchmarkInboxNames(b *testing.B) {
	d := fakedir.New()
	users := make([]domain.ObjectID, 20)
	for i := range users {
		users[i] = domain.CanonicalID(fmt.Sprintf("00000000-0000-4000-8000-0000000001%02d", i))
		d.AddUser(domain.User{ID: users[i], DisplayName: fmt.Sprint("User ", i), UserPrincipalName: fmt.Sprintf("u%d@contoso.example", i)})
	}
	groups := make([]domain.ObjectID, 5)
	for i := range groups {
		groups[i] = domain.CanonicalID(fmt.Sprintf("00000000-0000-4000-8000-0000000002%02d", i))
		d.AddNamedGroup(groups[i], fmt.Sprint("PAG-", i))
	}
	inbox := func(r *names.Resolver) {
		ctx := context.Background()
		for i := range 100 {
			r.Person(ctx, users[i%len(users)])
			if i%2 == 0 {
				r.Target(ctx, domain.GroupTarget(groups[i%len(groups)], domain.AccessMember))
			} else {
				r.Target(ctx, domain.RoleTarget(domain.BuiltInRoles[i%len(domain.BuiltInRoles)].ID, domain.TenantScope))
			}
		}
	}
	for _, warm := range []bool{false, true} {
		b.Run(fmt.Sprintf("warm=%v", warm), func(b *testing.B) {
			calls := 0
			for b.Loop() {
				b.StopTimer()
				r := names.New(d, nil, names.Options{})
				if warm {
					inbox(r)
				}
				b.StartTimer()
				before := total(d.Calls())
				inbox(r)
				calls += total(d.Calls()) - before
			}
			b.ReportMetric(float64(calls)/float64(b.N), "directory-calls/inbox")
		})
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
