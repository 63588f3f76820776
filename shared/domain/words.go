package domain

import (
	"strconv"
	"time"
)

// DurationWords is a duration as people say it: "1 hour", "2 days",
// "1 hour 30 minutes".
func DurationWords(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return Plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return Plural(int(d/time.Hour), "hour")
	case d >= time.Hour:
		return Plural(int(d/time.Hour), "hour") + " " + Plural(int(d%time.Hour/time.Minute), "minute")
	}
	return Plural(int(d/time.Minute), "minute")
}

// Plural is "1 hour" or "3 hours".
func Plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// WordsTime is how pages and mails write a moment: "Mon 2 Jan 2006 15:04 UTC".
const WordsTime = "Mon 2 Jan 2006 15:04 UTC"

// ApprovalWindowWords says what approving r grants, as its approver is
// shown it before deciding: the same window ApprovedWindow grants, so what
// the approver sees as the end is the end they grant. An activation that
// starts on approval says its length "counted from approval" (no end time
// the approval would move); a scheduled one says its real start and end.
func (r Request) ApprovalWindowWords() string {
	switch {
	case r.EndAt.IsZero():
		return "permanently"
	case r.Scheduled():
		return "from " + r.StartAt.UTC().Format(WordsTime) + " until " + r.EndAt.UTC().Format(WordsTime)
	}
	return DurationWords(r.EndAt.Sub(r.StartAt)) + ", counted from approval"
}
