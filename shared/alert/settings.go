package alert

import (
	"math"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Settings tune the daily alert scan and the break-glass check. Entra
// documents no defaults for its PIM alerts; the defaults here are jitpim's.
type Settings struct {
	// GlobalAdminCount and GlobalAdminPercent: "too many Global
	// Administrators" fires when more than GlobalAdminCount principals
	// (2–100; default 5) AND more than GlobalAdminPercent of the tenant's
	// users (0–100; default 10) hold Global Administrator.
	GlobalAdminCount   int
	GlobalAdminPercent float64
	// UnusedDays: eligible for this many days without one activation
	// (1–365; default 90).
	UnusedDays int
	// StaleDays: no sign-in for this many days while holding a role
	// (1–365; default 90).
	StaleDays int
	// ActivationCount activations of one target by one principal within
	// ActivationWindow are "too often" (2–100 and 1h–30d; default 5 in 24h).
	ActivationCount  int
	ActivationWindow time.Duration
	// RemoveOutside removes role assignments made outside jitpim (through
	// the normal revoke path); off by default: the alert only warns.
	RemoveOutside bool
	// BreakGlassLookback is how far the very first break-glass check reads
	// the sign-in log (default 24h, at most 30 days).
	BreakGlassLookback time.Duration
	// BreakGlassLogDelay is how late a sign-in may reach the sign-in log:
	// each check re-reads this much before the previous check (default 2h).
	BreakGlassLogDelay time.Duration
	// BreakGlassTestDays: an emergency account whose last sign-in is older
	// is overdue for its periodic test (default 90).
	BreakGlassTestDays int
}

// DefaultSettings returns the defaults.
func DefaultSettings() Settings {
	return Settings{GlobalAdminCount: 5, GlobalAdminPercent: 10, UnusedDays: 90, StaleDays: 90, ActivationCount: 5,
		ActivationWindow: 24 * time.Hour, BreakGlassLookback: 24 * time.Hour, BreakGlassLogDelay: 2 * time.Hour, BreakGlassTestDays: 90}
}

// withDefaults fills zero fields.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	if s.GlobalAdminCount == 0 {
		s.GlobalAdminCount = d.GlobalAdminCount
	}
	if s.GlobalAdminPercent == 0 {
		s.GlobalAdminPercent = d.GlobalAdminPercent
	}
	if s.UnusedDays == 0 {
		s.UnusedDays = d.UnusedDays
	}
	if s.StaleDays == 0 {
		s.StaleDays = d.StaleDays
	}
	if s.ActivationCount == 0 {
		s.ActivationCount = d.ActivationCount
	}
	if s.ActivationWindow == 0 {
		s.ActivationWindow = d.ActivationWindow
	}
	if s.BreakGlassLookback == 0 {
		s.BreakGlassLookback = d.BreakGlassLookback
	}
	if s.BreakGlassLogDelay == 0 {
		s.BreakGlassLogDelay = d.BreakGlassLogDelay
	}
	if s.BreakGlassTestDays == 0 {
		s.BreakGlassTestDays = d.BreakGlassTestDays
	}
	return s
}

// Validate checks the ranges of the fields that are set.
func (s Settings) Validate() error {
	v := s.withDefaults()
	switch {
	case v.GlobalAdminCount < 2 || v.GlobalAdminCount > 100:
		return domain.Invalid("globalAdminCount", "must be 2 to 100, got %d", v.GlobalAdminCount)
	case v.GlobalAdminPercent < 0 || v.GlobalAdminPercent > 100 || math.IsNaN(v.GlobalAdminPercent):
		return domain.Invalid("globalAdminPercent", "must be 0 to 100, got %v", v.GlobalAdminPercent)
	case v.UnusedDays < 1 || v.UnusedDays > 365:
		return domain.Invalid("unusedDays", "must be 1 to 365, got %d", v.UnusedDays)
	case v.StaleDays < 1 || v.StaleDays > 365:
		return domain.Invalid("staleDays", "must be 1 to 365, got %d", v.StaleDays)
	case v.ActivationCount < 2 || v.ActivationCount > 100:
		return domain.Invalid("activationCount", "must be 2 to 100, got %d", v.ActivationCount)
	case v.ActivationWindow < time.Hour || v.ActivationWindow > 30*24*time.Hour:
		return domain.Invalid("activationWindow", "must be 1h to 30 days, got %s", v.ActivationWindow)
	case v.BreakGlassLookback < 0 || v.BreakGlassLookback > signInRetention:
		return domain.Invalid("breakGlassLookback", "must be at most 30 days, got %s", v.BreakGlassLookback)
	case v.BreakGlassLogDelay < 0 || v.BreakGlassLogDelay > 24*time.Hour:
		return domain.Invalid("breakGlassLogDelay", "must be at most 24h, got %s", v.BreakGlassLogDelay)
	case v.BreakGlassTestDays < 1 || v.BreakGlassTestDays > 365:
		return domain.Invalid("breakGlassTestDays", "must be 1 to 365, got %d", v.BreakGlassTestDays)
	}
	return nil
}
