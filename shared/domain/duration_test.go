package domain_test

import (
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

const day = 24 * time.Hour

func TestParseISODuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"PT8H", 8 * time.Hour},
		{"PT30M", 30 * time.Minute},
		{"PT45S", 45 * time.Second},
		{"P180D", 180 * day},
		{"P365D", 365 * day},
		{"P1DT2H30M", day + 2*time.Hour + 30*time.Minute},
		{"P1DT2H30M15S", day + 2*time.Hour + 30*time.Minute + 15*time.Second},
		{"P2W", 14 * day},
		{"PT1.5H", 90 * time.Minute},
		{"PT0.5M", 30 * time.Second},
		{"P0.5D", 12 * time.Hour},
		{"PT0S", 0},
		{"P0D", 0},
		{"PT24H", day},
		{"PT90M", 90 * time.Minute},
		{"P1000D", 1000 * day},
		{"PT1000000S", 1000000 * time.Second},
	}
	for _, c := range cases {
		got, err := domain.ParseISODuration(c.in)
		if err != nil {
			t.Errorf("ParseISODuration(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseISODuration(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestParseISODurationRejects(t *testing.T) {
	for _, in := range []string{
		"", "P", "PT", "8h", "8H", "T8H", "p8h", "pt8h", "PT8h",
		"P1Y", "P1M", "P1Y2D", "PT5X", "P5H", "PT5D", "PT5W", // "P1DT": see TestParseISODurationAcceptsTrailingT
		"-PT8H", "PT-8H", "P-1D", "+PT8H", "PT+8H",
		"PT", "PTT8H", "PT8HT", "P1DTT1H", "PT8", "P8", "PH", "PT.H", "PT1..5H", "PT1.2.3H", "PT 8H", " PT8H", "PT8H ",
		"P1000001D", "PT1000001H", "P99999999999999999999D", "PT1e3H", "PTInfH", "PTNaNH",
	} {
		if d, err := domain.ParseISODuration(in); err == nil {
			t.Errorf("ParseISODuration(%q) = %v, want an error", in, d)
		}
	}
}

func TestParseISODurationErrorMessages(t *testing.T) {
	for in, part := range map[string]string{
		"P1Y":   "give days instead",
		"P1M":   "give days instead",
		"PT5X":  "unknown unit",
		"PTT8H": "two T",
		"8h":    "PT8H or P180D",
	} {
		_, err := domain.ParseISODuration(in)
		if err == nil || !containsStr(err.Error(), part) || !containsStr(err.Error(), in) {
			t.Errorf("ParseISODuration(%q) error %v, want it to quote the input and say %q", in, err, part)
		}
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestParseISODurationAcceptsTrailingT: "P1DT" is not ISO 8601 (a T
// must be followed by a time component) yet parses as one day.
func TestParseISODurationAcceptsTrailingT(t *testing.T) {
	for _, in := range []string{"P1DT", "P2WT"} {
		if d, err := domain.ParseISODuration(in); err == nil {
			t.Errorf("ParseISODuration(%q) = %v, want an error", in, d)
		}
	}
}

// TestParseISODurationOverflows: numbers up to 1e6 are accepted in any
// unit, but 1e6 days (or weeks, or a sum of parts) does not fit a
// time.Duration (max ~292 years). The float-to-int conversion overflows and
// the parser returns a negative or wrapped duration with no error; a caller
// comparing it with a maximum sees a short (or negative) window.
func TestParseISODurationOverflows(t *testing.T) {
	for _, in := range []string{"P1000000D", "P1000000W", "P200000W", "P100000DT1000000H", "P100000D100000D"} {
		d, err := domain.ParseISODuration(in)
		if err == nil && d <= 0 {
			t.Errorf("ParseISODuration(%q) = %v (%d ns) with no error; want an error", in, d, int64(d))
		} else if err == nil && d < 100000*day {
			t.Errorf("ParseISODuration(%q) = %v with no error; the value wrapped around", in, d)
		}
	}
}

func TestFormatISODuration(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{8 * time.Hour, "PT8H"},
		{30 * time.Minute, "PT30M"},
		{180 * day, "P180D"},
		{day + 2*time.Hour + 30*time.Minute, "P1DT2H30M"},
		{14 * day, "P14D"},
		{90 * time.Minute, "PT1H30M"},
		{day, "P1D"},
		{25 * time.Hour, "P1DT1H"},
		{time.Hour + time.Second, "PT1H1S"},
		{45 * time.Second, "PT45S"},
		{2*day + 3*time.Second, "P2DT3S"},
		{0, "PT0S"},
		{-time.Hour, "PT0S"},
		{90*time.Second + 999*time.Millisecond, "PT1M31S"}, // sub-seconds are rounded
	}
	for _, c := range cases {
		if got := domain.FormatISODuration(c.in); got != c.want {
			t.Errorf("FormatISODuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFormatISODurationSubSecondRemainder: a positive duration whose
// remainder after whole days is under a second formats as "PT" (or "P1DT"),
// which is not a valid ISO 8601 duration and which ParseISODuration itself
// refuses ("PT").
func TestFormatISODurationSubSecondRemainder(t *testing.T) {
	for _, d := range []time.Duration{500 * time.Millisecond, time.Nanosecond, day + 500*time.Millisecond} {
		s := domain.FormatISODuration(d)
		back, err := domain.ParseISODuration(s)
		if err != nil || s == "PT" || s[len(s)-1] == 'T' {
			t.Errorf("FormatISODuration(%v) = %q (parse: %v, %v); want a valid duration such as PT0S or P1D", d, s, back, err)
		}
	}
}

func TestISODurationRoundTrip(t *testing.T) {
	// Whole-second durations from 1 s up to ~11.5 days by a mix of strides,
	// plus every day count a policy can use.
	var ds []time.Duration
	for s := int64(1); s < 1_000_000; s = s*3 + 7 {
		ds = append(ds, time.Duration(s)*time.Second)
	}
	for h := 1; h <= 48; h++ {
		ds = append(ds, time.Duration(h)*time.Hour, time.Duration(h)*time.Hour+time.Duration(h)*time.Minute)
	}
	for d := 1; d <= 400; d++ {
		ds = append(ds, time.Duration(d)*day, time.Duration(d)*day+59*time.Minute+59*time.Second)
	}
	for _, d := range ds {
		s := domain.FormatISODuration(d)
		back, err := domain.ParseISODuration(s)
		if err != nil || back != d {
			t.Errorf("round trip %v -> %q -> %v, %v", d, s, back, err)
		}
	}
	// and string -> duration -> canonical string -> same duration
	for _, s := range []string{"PT8H", "P2W", "PT1.5H", "P1DT24H", "PT120M", "P7DT0H0M1S"} {
		d, err := domain.ParseISODuration(s)
		if err != nil {
			t.Fatalf("ParseISODuration(%q): %v", s, err)
		}
		canon := domain.FormatISODuration(d)
		d2, err := domain.ParseISODuration(canon)
		if err != nil || d2 != d {
			t.Errorf("%q -> %v -> %q -> %v, %v", s, d, canon, d2, err)
		}
	}
}

// FuzzParseISODuration checks that the parser never panics on outside input
// and that any value it accepts is non-negative and formats back to a
// string that parses to the same duration, rounded to whole seconds
// (FormatISODuration writes whole seconds).
func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT8H", "PT30M", "P180D", "P1DT2H30M", "P2W", "PT1.5H", "PT0S", "", "P", "PT",
		"8h", "P1Y", "P1M", "PT5X", "P1DT", "-PT8H", "P0.5DT0.5H", "PTT", "P1D1D", "PT1..H", "PT999999S", "P1000000D", "PT0.0001S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := domain.ParseISODuration(s)
		if err != nil {
			if d != 0 {
				t.Errorf("ParseISODuration(%q) returned %v with error %v", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseISODuration(%q) = %v: a negative duration was accepted", s, d)
		}
		f := domain.FormatISODuration(d)
		back, err := domain.ParseISODuration(f)
		if err != nil {
			t.Fatalf("ParseISODuration(%q) = %v formats as %q, which does not parse: %v", s, d, f, err)
		}
		if want := d.Round(time.Second); back != want {
			t.Fatalf("ParseISODuration(%q) = %v formats as %q, which parses to %v, want %v", s, d, f, back, want)
		}
	})
}
