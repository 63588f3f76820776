package fakearm_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/azurerbactest"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/fakearm"
)

// The fake passes the suite the ARM adapter passes against the ARM
// simulator (local/armsim), so unit tests on it see what production sees.
func TestConformance(t *testing.T) {
	azurerbactest.Run(t, func(*testing.T) (domain.AzureRBAC, azurerbactest.Seeder) {
		r := fakearm.New()
		return r, r
	})
}
