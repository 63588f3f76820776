package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/names"
)

// Names is the resolver every service names people, roles and groups
// through (shared/names), so mails, work notes and messages say "Adam
// Admin (adam@contoso.example)" and "Exchange Administrator", not ids.
func (k *Kernel) Names() *names.Resolver { return k.names }

// PersonName names a user for people: display name and UPN, or the id
// marked as unnamed.
func (k *Kernel) PersonName(ctx context.Context, id domain.ObjectID) string {
	return k.names.Person(ctx, id)
}

// TargetName names a role or group target for people.
func (k *Kernel) TargetName(ctx context.Context, t domain.Target) string {
	return k.names.Target(ctx, t)
}
