package fakedir_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/directorytest"
	"github.com/jitpim/jitpim/shared/fakedir"
)

// The fake passes the suite the Graph adapter passes against the Graph
// simulator (local/graphsim), so unit tests on it see what production sees.
func TestConformance(t *testing.T) {
	directorytest.Run(t, func(*testing.T) (directorytest.Directory, directorytest.Seeder) {
		d := fakedir.New()
		return d, d
	})
}
