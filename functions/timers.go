package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/funcproto"
	"github.com/jitpim/jitpim/shared/schedule"
)

// registerTimers registers the timer functions in the order and under the
// names of schedule.Timers, the one list both clouds' templates are tested
// against. A function with no entry there, or an entry with no function,
// stops the handler at start: a timer nobody schedules, or a schedule
// that runs nothing, would otherwise go unnoticed.
func registerTimers(fp *funcproto.Server, fns map[string]funcproto.TimerFunc) error {
	left := map[string]bool{}
	for name := range fns {
		left[name] = true
	}
	var missing []string
	for _, t := range schedule.Timers() {
		f, ok := fns[t.Name]
		if !ok {
			missing = append(missing, t.Name)
			continue
		}
		delete(left, t.Name)
		fp.HandleTimer(t.Name, "timer", f)
	}
	if len(missing) > 0 {
		return fmt.Errorf("timers listed in shared/schedule but not implemented: %s", strings.Join(missing, ", "))
	}
	if len(left) > 0 {
		var extra []string
		for n := range left {
			extra = append(extra, n)
		}
		sort.Strings(extra)
		return fmt.Errorf("timers implemented but not listed in shared/schedule: %s", strings.Join(extra, ", "))
	}
	return nil
}

// timerJob is one timer function's work, given the call timerFuncs made.
type timerJob func(ctx context.Context, c *engine.Call) (any, error)

// timerFuncs turns jobs into timer functions. Each run gets one call by
// jitpim's system actor at the injected clock's time and returns its
// summary as "name {JSON}". A job named in broken fails every run with
// that error (a setting it needs is invalid) instead of running on guesses.
func timerFuncs(now func() time.Time, log *slog.Logger, broken map[string]error, jobs map[string]timerJob) map[string]funcproto.TimerFunc {
	out := make(map[string]funcproto.TimerFunc, len(jobs))
	for name, job := range jobs {
		out[name] = func(ctx context.Context, inv string, _ funcproto.TimerInfo) (string, error) {
			if err := broken[name]; err != nil {
				return "", err
			}
			c := engine.NewCall(now(), inv, engine.Caller{ID: engine.SystemActor}, log)
			res, err := job(ctx, c)
			summary, _ := json.Marshal(res)
			return name + " " + string(summary), err
		}
	}
	return out
}
