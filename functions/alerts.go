package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
)

// alertSettings reads the alert thresholds; unset ones keep the engine's
// defaults.
func alertSettings(get func(string) string) (alert.Settings, error) {
	var s alert.Settings
	ints := []struct {
		name string
		dst  *int
	}{
		{"JITPIM_ALERT_GLOBAL_ADMIN_COUNT", &s.GlobalAdminCount},
		{"JITPIM_ALERT_UNUSED_DAYS", &s.UnusedDays},
		{"JITPIM_ALERT_STALE_DAYS", &s.StaleDays},
		{"JITPIM_ALERT_ACTIVATION_COUNT", &s.ActivationCount},
		{"JITPIM_BREAKGLASS_TEST_DAYS", &s.BreakGlassTestDays},
	}
	for _, v := range ints {
		if raw := strings.TrimSpace(get(v.name)); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n <= 0 {
				return s, fmt.Errorf("%s: %q is not a positive whole number", v.name, raw)
			}
			*v.dst = n
		}
	}
	if raw := strings.TrimSpace(get("JITPIM_ALERT_GLOBAL_ADMIN_PERCENT")); raw != "" {
		p, err := strconv.ParseFloat(strings.TrimSuffix(raw, "%"), 64)
		if err != nil || p <= 0 || p > 100 {
			return s, fmt.Errorf("JITPIM_ALERT_GLOBAL_ADMIN_PERCENT: %q is not a percentage above 0 and up to 100", raw)
		}
		s.GlobalAdminPercent = p
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"JITPIM_ALERT_ACTIVATION_WINDOW", &s.ActivationWindow},
		{"JITPIM_BREAKGLASS_LOOKBACK", &s.BreakGlassLookback},
		{"JITPIM_BREAKGLASS_LOG_DELAY", &s.BreakGlassLogDelay},
	}
	for _, v := range durations {
		if raw := strings.TrimSpace(get(v.name)); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d <= 0 {
				return s, fmt.Errorf("%s: %q is not a duration such as 24h", v.name, raw)
			}
			*v.dst = d
		}
	}
	if raw := strings.TrimSpace(get("JITPIM_ALERT_REMOVE_OUTSIDE")); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return s, fmt.Errorf("JITPIM_ALERT_REMOVE_OUTSIDE: must be true or false")
		}
		s.RemoveOutside = b
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("alert settings: %w", err)
	}
	return s, nil
}
