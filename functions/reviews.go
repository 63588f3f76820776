package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/funcproto"
)

// reviewTimers returns the access review timer function (accessReviews,
// daily by JITPIM_REVIEW_SCHEDULE): it starts due reviews, reminds
// reviewers, and ends and applies reviews whose end has passed. A run that
// dies half-way is finished by the next one.
func reviewTimers(eng *engine.Engine, now func() time.Time, log *slog.Logger) map[string]funcproto.TimerFunc {
	return map[string]funcproto.TimerFunc{"accessReviews": func(ctx context.Context, inv string, _ funcproto.TimerInfo) (string, error) {
		c := engine.NewCall(now(), inv, engine.Caller{ID: engine.SystemActor}, log)
		res, err := eng.RunReviews(ctx, c)
		summary, _ := json.Marshal(res)
		return "accessReviews " + string(summary), err
	}}
}
