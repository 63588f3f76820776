package tablestore_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/storetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

func TestAlertConformance(t *testing.T) {
	conn := azuritetest.Start(t)
	storetest.RunAlerts(t, func(t *testing.T) domain.AlertStore { return newStore(t, conn, tablestore.Options{}) })
}
