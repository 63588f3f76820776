package engine

import (
	"github.com/jitpim/jitpim/shared/names"
)

// Names is the resolver every service names people, roles and groups
// through (shared/names), so mails, work notes and messages say "Adam
// Admin (adam@contoso.example)" and "Exchange Administrator", not ids.
func (k *Kernel) Names() *names.Resolver { return k.names }
