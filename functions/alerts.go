package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/funcproto"
)

// alertTimers returns the break-glass and alert timer functions
// (functions/breakGlassCheck, every 5 minutes by JITPIM_BREAKGLASS_SCHEDULE;
// functions/alertScan, daily by JITPIM_ALERT_SCHEDULE) and applies the
// alert thresholds from the app settings. A bad threshold fails both
// timers on every run, naming the setting, rather than running on guesses.
func alertTimers(eng *engine.Engine, now func() time.Time, log *slog.Logger) map[string]funcproto.TimerFunc {
	settings, err := alertSettings(os.Getenv)
	if err == nil {
		err = eng.SetAlertSettings(settings)
	}
	if err != nil {
		log.Error("alert settings are invalid; the alert timers will fail until they are fixed", "error", err)
	}
	timers := map[string]funcproto.TimerFunc{}
	timers["breakGlassCheck"] = func(ctx context.Context, inv string, _ funcproto.TimerInfo) (string, error) {
		if err != nil {
			return "", err
		}
		c := engine.NewCall(now(), inv, engine.Caller{ID: engine.SystemActor}, log)
		res, rerr := eng.CheckBreakGlass(ctx, c)
		summary, _ := json.Marshal(res)
		return "breakGlassCheck " + string(summary), rerr
	}
	timers["alertScan"] = func(ctx context.Context, inv string, _ funcproto.TimerInfo) (string, error) {
		if err != nil {
			return "", err
		}
		c := engine.NewCall(now(), inv, engine.Caller{ID: engine.SystemActor}, log)
		res, rerr := eng.ScanAlerts(ctx, c)
		summary, _ := json.Marshal(res)
		return "alertScan " + string(summary), rerr
	}
	return timers
}

// alertSettings reads the alert thresholds; unset ones keep the engine's
// defaults.
func alertSettings(get func(string) string) (engine.AlertSettings, error) {
	var s engine.AlertSettings
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
