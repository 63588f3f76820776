package main

import (
	"log/slog"
	"time"

	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/funcproto"
)

// registerAlerts adds the break-glass and alert timer functions.
func registerAlerts(fp *funcproto.Server, eng *engine.Engine, now func() time.Time, log *slog.Logger) {
}
