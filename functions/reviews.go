package main

import (
	"log/slog"
	"time"

	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/funcproto"
)

// registerReviews adds the access review timer function.
func registerReviews(fp *funcproto.Server, eng *engine.Engine, now func() time.Time, log *slog.Logger) {
}
