package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jitpim/jitpim/shared/schedule"
)

// TestTimersAgreeEverywhere holds function.json, the Bicep and the AWS
// template to shared/schedule, the one list of timers: same names, the
// same app setting for each, the same default schedule (translated for
// EventBridge Scheduler), and nothing extra anywhere.
func TestTimersAgreeEverywhere(t *testing.T) {
	want := map[string]schedule.Timer{}
	for _, tm := range schedule.Timers() {
		want[tm.Name] = tm
	}

	// functions/*/function.json: every timer function reads its schedule
	// from its setting, and there is one folder per timer.
	files, _ := filepath.Glob("*/function.json")
	seen := map[string]bool{}
	for _, f := range files {
		var fj struct {
			Bindings []struct{ Type, Schedule string }
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &fj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(filepath.Dir(f))
		for _, bd := range fj.Bindings {
			if bd.Type != "timerTrigger" {
				continue
			}
			tm, ok := want[name]
			if !ok {
				t.Errorf("%s: a timer function not in shared/schedule", f)
				continue
			}
			seen[name] = true
			if bd.Schedule != "%"+tm.Setting+"%" {
				t.Errorf("%s: schedule %q, want %%%s%%", f, bd.Schedule, tm.Setting)
			}
		}
	}
	for n := range want {
		if !seen[n] {
			t.Errorf("functions/%s/function.json: missing", n)
		}
	}

	// infra/main.bicep: each JITPIM_*_SCHEDULE app setting it sets has the
	// default, as a literal or through a parameter's default.
	bicep, err := os.ReadFile("../infra/main.bicep")
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^param\s+(\w+)\s+string\s*=\s*'([^']*)'`).FindAllStringSubmatch(string(bicep), -1) {
		params[m[1]] = m[2]
	}
	settingRe := regexp.MustCompile(`name:\s*'(JITPIM_\w+_SCHEDULE)'\s*,\s*value:\s*('([^']*)'|\w+)`)
	bicepSeen := map[string]string{}
	for _, m := range settingRe.FindAllStringSubmatch(string(bicep), -1) {
		v := m[3]
		if !strings.HasPrefix(m[2], "'") {
			p, ok := params[m[2]]
			if !ok {
				t.Errorf("main.bicep: %s takes %s, which is no string parameter with a default", m[1], m[2])
				continue
			}
			v = p
		}
		bicepSeen[m[1]] = v
	}
	if len(bicepSeen) > 0 { // a Bicep that leaves schedules to defaults sets none
		for _, tm := range want {
			if got, ok := bicepSeen[tm.Setting]; !ok {
				t.Errorf("main.bicep: sets no %s", tm.Setting)
			} else if got != tm.NCRONTAB {
				t.Errorf("main.bicep: %s = %q, want %q", tm.Setting, got, tm.NCRONTAB)
			}
			delete(bicepSeen, tm.Setting)
		}
		for s := range bicepSeen {
			t.Errorf("main.bicep: %s is no timer's setting", s)
		}
	}

	// infra/aws/template.yaml: one ScheduleV2 event per timer, its input
	// naming the timer, its expression the translated default.
	raw, err := os.ReadFile("../infra/aws/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// yaml.v3 reads lower-cased field names unless told otherwise.
	type event struct {
		Type       string `yaml:"Type"`
		Properties struct {
			ScheduleExpression         string `yaml:"ScheduleExpression"`
			ScheduleExpressionTimezone string `yaml:"ScheduleExpressionTimezone"`
			Input                      string `yaml:"Input"`
		} `yaml:"Properties"`
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Events map[string]event `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	awsSeen := map[string]bool{}
	for rname, r := range tpl.Resources {
		if r.Type == "AWS::Scheduler::Schedule" || r.Type == "AWS::Events::Rule" {
			t.Errorf("template.yaml: %s: schedules are ScheduleV2 events of the function, so this test sees them", rname)
		}
		for ename, ev := range r.Properties.Events {
			if ev.Type != "ScheduleV2" {
				continue
			}
			var in struct{ Timer string }
			if err := json.Unmarshal([]byte(ev.Properties.Input), &in); err != nil {
				t.Errorf("template.yaml: %s: Input %q is not {\"timer\":...}", ename, ev.Properties.Input)
				continue
			}
			tm, ok := want[in.Timer]
			if !ok {
				t.Errorf("template.yaml: %s runs %q, not in shared/schedule", ename, in.Timer)
				continue
			}
			if awsSeen[in.Timer] {
				t.Errorf("template.yaml: %q is scheduled twice", in.Timer)
			}
			awsSeen[in.Timer] = true
			expr, err := schedule.EventBridge(tm.NCRONTAB)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Properties.ScheduleExpression != expr || ev.Properties.ScheduleExpressionTimezone != "UTC" {
				t.Errorf("template.yaml: %s: %q %q, want %q UTC", ename, ev.Properties.ScheduleExpression, ev.Properties.ScheduleExpressionTimezone, expr)
			}
		}
	}
	for n := range want {
		if !awsSeen[n] {
			t.Errorf("template.yaml: no schedule runs %s", n)
		}
	}
}
