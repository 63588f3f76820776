package clitest_test

import (
	"strings"
	"testing"
	"time"
)

// TestScheduledActivation: `jitpim activate --start` schedules an
// activation, says in words when it starts, and `jitpim roles` lists it
// as upcoming until then; a malformed --start is a usage error.
func TestScheduledActivation(t *testing.T) {
	h := newHarness(t)
	h.must("gina", "config", "apply", demoFile)
	dev := group(h.tenant, "PAG-DEV-TEAM")
	if r := h.run("stan", "activate", "--group", dev, "--start", "tomorrow", "--duration", "PT1H", "--justification", "deploy"); r.code != 2 || !strings.Contains(r.stderr, "--start") {
		t.Fatalf("malformed --start: %+v", r)
	}
	start := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	out := h.must("stan", "activate", "--group", dev, "--start", start, "--duration", "PT1H", "--justification", "release night")
	if !strings.Contains(out, "starts at "+start) || !strings.Contains(out, "No access until then") {
		t.Fatalf("scheduled activation: %s", out)
	}
	out = h.must("stan", "roles", "--group")
	if !strings.Contains(out, "upcoming") || !strings.Contains(out, "starts at "+start) {
		t.Fatalf("stan's groups do not show the upcoming activation: %s", out)
	}
}
