package devissuer

import "time"

// SetNow replaces the issuer's clock in tests.
func SetNow(i *Issuer, now func() time.Time) { i.now = now }
