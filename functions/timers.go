package main

import (
	"fmt"
	"sort"
	"strings"

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
