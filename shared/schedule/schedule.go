// Package schedule is the one list of jitpim's timer jobs and their default
// schedules. The handler registers its timers from it on both clouds, and a
// test holds functions/*/function.json, infra/main.bicep and
// infra/aws/template.yaml to it, so a timer cannot be added, renamed or
// rescheduled in one place and forgotten in another.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Timer is one timer job.
type Timer struct {
	// Name is the function's name: functions/<Name>/function.json on Azure,
	// the {"timer":"<Name>"} input of its schedule on AWS.
	Name string
	// Setting is the app setting function.json reads the schedule from
	// (%Setting%), so operators can move it without a new package.
	Setting string
	// NCRONTAB is the default schedule: six fields (second minute hour
	// day month day-of-week), UTC, as the Functions host reads it.
	NCRONTAB string
}

// Timers returns the timer jobs, a new slice each call so no caller can
// change another's view.
func Timers() []Timer {
	return []Timer{
		{Name: "expirySweep", Setting: "JITPIM_SWEEP_SCHEDULE", NCRONTAB: "0 */1 * * * *"},
		{Name: "reminders", Setting: "JITPIM_REMINDER_SCHEDULE", NCRONTAB: "0 0 8 * * *"},
		{Name: "breakGlassCheck", Setting: "JITPIM_BREAKGLASS_SCHEDULE", NCRONTAB: "0 */5 * * * *"},
		{Name: "alertScan", Setting: "JITPIM_ALERT_SCHEDULE", NCRONTAB: "0 0 6 * * *"},
		{Name: "accessReviews", Setting: "JITPIM_REVIEW_SCHEDULE", NCRONTAB: "0 0 7 * * *"},
	}
}

// EventBridge translates a six-field NCRONTAB expression into the
// EventBridge Scheduler form cron(minutes hours day-of-month month
// day-of-week year). The differences it bridges: Scheduler has no seconds
// (so the seconds field must be 0), needs "?" in one of the two day fields,
// numbers days of the week 1-7 from Sunday where NCRONTAB uses 0-6, and
// writes steps from a start value (0/5) rather than from "*".
func EventBridge(ncrontab string) (string, error) {
	f := strings.Fields(ncrontab)
	if len(f) != 6 {
		return "", fmt.Errorf("%q: NCRONTAB needs 6 fields, got %d", ncrontab, len(f))
	}
	sec, min, hour, dom, month, dow := f[0], f[1], f[2], f[3], f[4], f[5]
	if sec != "0" {
		return "", fmt.Errorf("%q: EventBridge Scheduler cannot fire below a minute, so the seconds field must be 0", ncrontab)
	}
	switch {
	case dow == "*" || dow == "?":
		dow = "?"
	case dom == "*" || dom == "?":
		dom = "?"
		var err error
		if dow, err = shiftDays(dow); err != nil {
			return "", fmt.Errorf("%q: %w", ncrontab, err)
		}
	default:
		return "", fmt.Errorf("%q: restrict day-of-month or day-of-week, not both", ncrontab)
	}
	min, hour = steps(min, "0"), steps(hour, "0")
	dom, month = steps(dom, "1"), steps(month, "1")
	return fmt.Sprintf("cron(%s %s %s %s %s *)", min, hour, dom, month, dow), nil
}

// steps rewrites "*/1" as "*" and "*/n" as "start/n".
func steps(field, start string) string {
	if field == "*/1" {
		return "*"
	}
	if rest, ok := strings.CutPrefix(field, "*/"); ok {
		return start + "/" + rest
	}
	return field
}

// shiftDays moves numeric days of the week from 0-6 (Sunday 0) to 1-7
// (Sunday 1); names such as MON pass through.
func shiftDays(dow string) (string, error) {
	if strings.Contains(dow, "/") {
		return "", errors.New("steps in day-of-week are not translated; list the days")
	}
	parts := strings.Split(dow, ",")
	for i, p := range parts {
		ends := strings.Split(p, "-")
		for j, e := range ends {
			n, err := strconv.Atoi(e)
			if err != nil {
				continue // a name
			}
			if n < 0 || n > 6 {
				return "", fmt.Errorf("day of week %d is outside 0-6", n)
			}
			ends[j] = strconv.Itoa(n + 1)
		}
		parts[i] = strings.Join(ends, "-")
	}
	return strings.Join(parts, ","), nil
}
