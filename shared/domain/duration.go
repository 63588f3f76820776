package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseISODuration reads the ISO 8601 durations Graph uses (PT8H, P180D,
// P1DT2H30M, P2W). Years and months are refused: their length in hours is
// ambiguous, and an access window must be exact.
func ParseISODuration(s string) (time.Duration, error) {
	orig := s
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT8H or P180D", orig)
	}
	s = s[1:]
	// Bounded so no sum of parts can overflow: no access window is longer.
	const maxTotal = 3660 * 24 * time.Hour
	var total float64
	inTime := false
	seen := false
	timeParts := 0
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("%q has two T separators", orig)
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT8H or P180D", orig)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 || n > 1e6 {
			return 0, fmt.Errorf("%q has a bad number", orig)
		}
		unit := s[i]
		s = s[i+1:]
		var d time.Duration
		switch {
		case !inTime && unit == 'D':
			d = 24 * time.Hour
		case !inTime && unit == 'W':
			d = 7 * 24 * time.Hour
		case inTime && unit == 'H':
			d = time.Hour
		case inTime && unit == 'M':
			d = time.Minute
		case inTime && unit == 'S':
			d = time.Second
		case !inTime && (unit == 'Y' || unit == 'M'):
			return 0, fmt.Errorf("%q uses years or months; give days instead (P365D)", orig)
		default:
			return 0, fmt.Errorf("%q has an unknown unit %q", orig, unit)
		}
		total += n * float64(d)
		if total > float64(maxTotal) {
			return 0, fmt.Errorf("%q is longer than ten years", orig)
		}
		seen = true
		if inTime {
			timeParts++
		}
	}
	if !seen || (inTime && timeParts == 0) {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT8H or P180D", orig)
	}
	// Access windows are whole seconds: a fraction (PT0.0000001S) is
	// refused rather than rounded, so what is stored is what was asked.
	if d := time.Duration(total); d%time.Second != 0 || total != float64(d) {
		return 0, fmt.Errorf("%q is not a whole number of seconds", orig)
	}
	return time.Duration(total), nil
}

// FormatISODuration writes d the way Graph does: P{days}DT{h}H{m}M{s}S,
// leaving out zero parts.
func FormatISODuration(d time.Duration) string {
	d = d.Round(time.Second) // ISO output carries whole seconds; "PT" alone would not parse
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if d > 0 {
		b.WriteByte('T')
		h := d / time.Hour
		d -= h * time.Hour
		m := d / time.Minute
		d -= m * time.Minute
		sec := d / time.Second
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if sec > 0 {
			fmt.Fprintf(&b, "%dS", sec)
		}
	}
	return b.String()
}
