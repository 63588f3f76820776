package main

import (
	"strings"
	"testing"
	"time"
)

func TestSessionTTL(t *testing.T) {
	base := []string{"AzureWebJobsStorage", "UseDevelopmentStorage=true", "JITPIM_OIDC_ISSUER", "http://127.0.0.1:7080",
		"JITPIM_OIDC_AUDIENCE", "api://jitpim", "JITPIM_GRAPH_BASE_URL", "http://127.0.0.1:7090/v1.0", "JITPIM_GRAPH_ANONYMOUS", "true",
		"JITPIM_PUBLIC_URL", "http://127.0.0.1:7071", "JITPIM_LINK_KEYS", "k1:" + strings.Repeat("a", 32),
		"JITPIM_COOKIE_KEYS", "c1:" + strings.Repeat("b", 32), "JITPIM_WEB_CLIENT_ID", "web"}
	for _, tt := range []struct {
		value string
		want  time.Duration
		err   bool
	}{
		{"", 0, false}, {"8h", 8 * time.Hour, false}, {"30m", 30 * time.Minute, false},
		{"9h", 0, true}, {"30s", 0, true}, {"forever", 0, true}, {"-1h", 0, true},
	} {
		env := append([]string{}, base...)
		if tt.value != "" {
			env = append(env, "JITPIM_SESSION_TTL", tt.value)
		}
		c, err := loadConfig(envWith(env...))
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), "JITPIM_SESSION_TTL") {
				t.Errorf("%q: err %v, want one naming JITPIM_SESSION_TTL", tt.value, err)
			}
			continue
		}
		if err != nil || c.Web.SessionTTL != tt.want {
			t.Errorf("%q: ttl %v, err %v; want %v", tt.value, c.Web.SessionTTL, err, tt.want)
		}
	}
}
