package schedule

import (
	"strings"
	"testing"
)

func TestEventBridge(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"0 */1 * * * *", "cron(* * * * ? *)", ""},
		{"0 */5 * * * *", "cron(0/5 * * * ? *)", ""},
		{"0 0 8 * * *", "cron(0 8 * * ? *)", ""},
		{"0 30 */2 * * *", "cron(30 0/2 * * ? *)", ""},
		{"0 0 9 * * 1-5", "cron(0 9 ? * 2-6 *)", ""},
		{"0 0 9 * * 0,6", "cron(0 9 ? * 1,7 *)", ""},
		{"0 0 9 * * MON", "cron(0 9 ? * MON *)", ""},
		{"0 0 3 1 * *", "cron(0 3 1 * ? *)", ""},
		{"0 0 3 */2 * *", "cron(0 3 1/2 * ? *)", ""},
		{"30 * * * * *", "", "seconds"},
		{"0 0 3 1 * 1", "", "not both"},
		{"0 0 3 * * */2", "", "steps"},
		{"0 0 3 * * 7", "", "outside"},
		{"0 0 3 * *", "", "6 fields"},
	}
	for _, c := range cases {
		got, err := EventBridge(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want an error about %s", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q %v, want %q", c.in, got, err, c.want)
		}
	}
}

func TestTimersTranslate(t *testing.T) {
	seen := map[string]bool{}
	for _, tm := range Timers() {
		if seen[tm.Name] || seen[tm.Setting] {
			t.Fatalf("duplicate %v", tm)
		}
		seen[tm.Name], seen[tm.Setting] = true, true
		if _, err := EventBridge(tm.NCRONTAB); err != nil {
			t.Errorf("%s: %v", tm.Name, err)
		}
	}
	a := Timers()
	a[0].Name = "changed"
	if Timers()[0].Name == "changed" {
		t.Fatal("Timers shares its slice")
	}
}
