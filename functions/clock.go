//go:build !testclock

package main

import "time"

// clock is the engine's time source. Production builds use the real clock;
// builds with the testclock tag (end-to-end tests only) can move it.
func clock() func() time.Time { return time.Now }
