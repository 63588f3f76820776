package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser is exactly what cron.WithSeconds() installs, so validation and
// scheduling read an expression the same way.
var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// validateNCRONTAB rejects expressions that robfig/cron would accept but
// schedule differently from the Functions host's NCRONTAB, so a timer never
// silently fires on the wrong days.
func validateNCRONTAB(expr string) error {
	if strings.HasPrefix(strings.TrimSpace(expr), "@") {
		return errors.New("descriptors such as @every/@daily are not NCRONTAB; use 6 fields (sec min hour day month day-of-week)")
	}
	fields := strings.Fields(expr)
	if len(fields) != 6 {
		return fmt.Errorf("NCRONTAB needs exactly 6 fields (sec min hour day month day-of-week), got %d (TimeSpan schedules are not supported either)", len(fields))
	}
	if hasSpecialChars(fields) {
		return errors.New("the NCRONTAB special characters L, W and # are not supported (robfig/cron cannot express them)")
	}
	dom, dow := fields[3], fields[5]
	// robfig ORs day-of-month and day-of-week when both are restricted,
	// NCRONTAB ANDs them.
	if !unrestricted(dom) && !unrestricted(dow) {
		return errors.New("day-of-month and day-of-week are both restricted; NCRONTAB ANDs them but robfig/cron ORs them, so set one of them to *")
	}
	if err := checkDowSeven(dow); err != nil {
		return err
	}
	if _, err := cronParser.Parse(expr); err != nil {
		return err
	}
	return nil
}

// hasSpecialChars looks for L/W/# as operators, not inside day/month names
// such as JUL, WED or SAT... which robfig does understand.
func hasSpecialChars(fields []string) bool {
	for _, f := range fields {
		for _, part := range strings.Split(strings.ToUpper(f), ",") {
			if strings.Contains(part, "#") {
				return true
			}
			for _, tok := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '/' }) {
				if tok == "L" || tok == "W" || tok == "LW" {
					return true
				}
				// "15W", "5L", "L-3": a number glued to L or W.
				trimmed := strings.TrimRight(strings.TrimLeft(tok, "LW"), "LW")
				if trimmed != tok {
					if _, err := strconv.Atoi(trimmed); err == nil {
						return true
					}
				}
			}
		}
	}
	return false
}

func unrestricted(field string) bool { return field == "*" || field == "?" }

// checkDowSeven rejects 7 as a day of week: some cron dialects read it as
// Sunday, robfig/cron refuses it, and it is not portable NCRONTAB.
func checkDowSeven(dow string) error {
	for _, part := range strings.Split(dow, ",") {
		rng, _, _ := strings.Cut(part, "/") // what follows "/" is a step, not a day
		for _, v := range strings.Split(rng, "-") {
			if v == "7" {
				return errors.New("day-of-week 7 is not allowed; use 0 for Sunday")
			}
		}
	}
	return nil
}

// scheduleStatus mirrors TimerInfo.ScheduleStatus of the real host.
type scheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// timerState keeps what the real host persists per timer function.
type timerState struct {
	fn       *function
	schedule cron.Schedule
	running  atomic.Bool // one run at a time, as the real host's singleton lock

	mu     sync.Mutex
	status *scheduleStatus
}

// tryStart claims the single run slot; it reports false if a run is going.
func (ts *timerState) tryStart() bool { return ts.running.CompareAndSwap(false, true) }
func (ts *timerState) finish()        { ts.running.Store(false) }

func (ts *timerState) currentStatus() *scheduleStatus {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.status == nil {
		return nil
	}
	s := *ts.status
	return &s
}

// advance returns the status to hand to a scheduled run and records this run
// for the next one.
func (ts *timerState) advance(now time.Time) *scheduleStatus {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	prev := ts.status
	ts.status = &scheduleStatus{Last: now, Next: ts.schedule.Next(now), LastUpdated: now}
	return prev
}

// timers owns the cron scheduler and per-function state.
type timers struct {
	cron   *cron.Cron
	states map[string]*timerState
}

func newTimers(fns []*function) (*timers, error) {
	t := &timers{
		cron:   cron.New(cron.WithSeconds(), cron.WithLocation(time.UTC)),
		states: map[string]*timerState{},
	}
	for _, f := range fns {
		if f.Kind != kindTimer {
			continue
		}
		sched, err := cronParser.Parse(f.Schedule)
		if err != nil {
			return nil, fmt.Errorf("function %q field schedule: %w", f.Name, err)
		}
		t.states[f.Name] = &timerState{fn: f, schedule: sched}
	}
	return t, nil
}

// start schedules every timer. run is called in its own goroutine per tick;
// ticks that find the previous run still going are skipped and logged.
func (t *timers) start(run func(ts *timerState, scheduled bool), logf func(string, ...any)) {
	for _, ts := range t.states {
		t.cron.Schedule(ts.schedule, cron.FuncJob(func() {
			if !ts.tryStart() {
				logf("timer %s: previous run still in progress, skipping this occurrence", ts.fn.Name)
				return
			}
			defer ts.finish()
			run(ts, true)
		}))
	}
	t.cron.Start()
}

// stop prevents new ticks and waits (bounded by ctx) for running ones.
func (t *timers) stop(ctx context.Context) {
	done := t.cron.Stop()
	select {
	case <-done.Done():
	case <-ctx.Done():
	}
}
