//go:build testclock

package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clock, in end-to-end test builds only, adds the offset in seconds written
// to the file named by JITPIM_TEST_CLOCK_FILE, so tests can move the
// engine's time (expiry, timeouts) without waiting. Token checks keep the
// real clock. This file is not compiled into the shipped binary.
func clock() func() time.Time {
	path := os.Getenv("JITPIM_TEST_CLOCK_FILE")
	return func() time.Time {
		now := time.Now()
		if path == "" {
			return now
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return now
		}
		sec, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return now
		}
		return now.Add(time.Duration(sec) * time.Second)
	}
}
