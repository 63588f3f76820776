package stack

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// Helpers the end-to-end suites share (the Functions host suite in
// local/e2e and the Lambda runtime suite in local/lambdae2e), so both
// drive the stack the same way.

// MustAs is As failing the test on an error.
func (s *Stack) MustAs(t testing.TB, alias string, mfa bool) *Client {
	t.Helper()
	c, err := s.As(alias, mfa)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Must sends a request and fails the test unless it answers want; it
// returns the decoded body.
func (c *Client) Must(t testing.TB, want int, method, path string, body any) map[string]any {
	t.Helper()
	code, out, err := c.Do(context.Background(), method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

// DemoTicket is the ServiceNow ticket the demo tenant's snsim holds for a
// demo user's work.
func DemoTicket(alias string) string {
	switch alias {
	case "adam":
		return "INC0012345"
	case "steve":
		return "INC0012346"
	case "rita":
		return "CHG0040001"
	case "stan":
		return "RITM0010001"
	}
	return ""
}

// Activation is a demo user's selfActivate body for a directory role at
// the tenant scope, with their demo ticket.
func (s *Stack) Activation(alias, role, dur string) map[string]any {
	return map[string]any{"action": "selfActivate", "principalId": UserID(s.Tenant, alias), "roleDefinitionId": role, "directoryScopeId": "/",
		"justification": "outage", "ticketInfo": map[string]any{"ticketNumber": DemoTicket(alias), "ticketSystem": "ServiceNow"},
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": dur}}}
}

// LogBuffer collects the output of the stack's processes, written from
// several goroutines, for a suite to print when it fails.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
