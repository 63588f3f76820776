package memstore_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) domain.Store { return memstore.New() })
}
