package memstore_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/storetest"
)

func TestAlertConformance(t *testing.T) {
	storetest.RunAlerts(t, func(*testing.T) domain.AlertStore { return memstore.New() })
}
