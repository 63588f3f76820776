package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// hostConfig is the part of host.json this host honours.
type hostConfig struct {
	ExecutablePath   string
	WorkingDirectory string
	Arguments        []string
	RoutePrefix      string
	// Forwarding is customHandler.enableForwardingHttpRequest: HTTP
	// functions are proxied to the handler instead of wrapped in envelopes.
	Forwarding bool
}

type hostJSON struct {
	Version       string `json:"version"`
	CustomHandler *struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			// Pointer: an explicit "" (no prefix) differs from absent ("api").
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
}

func loadHostConfig(root string) (*hostConfig, error) {
	path := filepath.Join(root, "host.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading host.json: %w", err)
	}
	var hj hostJSON
	if err := json.Unmarshal(raw, &hj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := &hostConfig{RoutePrefix: "api"}
	if hj.CustomHandler != nil {
		cfg.Forwarding = hj.CustomHandler.EnableForwardingHttpRequest
		d := hj.CustomHandler.Description
		cfg.ExecutablePath = d.DefaultExecutablePath
		cfg.WorkingDirectory = d.WorkingDirectory
		cfg.Arguments = d.Arguments
	}
	if p := hj.Extensions.HTTP.RoutePrefix; p != nil {
		cfg.RoutePrefix = strings.Trim(*p, "/")
	}
	return cfg, nil
}

type functionKind string

const (
	kindHTTP  functionKind = "http"
	kindTimer functionKind = "timer"
)

// function is one validated function.json.
type function struct {
	Name string
	Kind functionKind

	// TriggerName is the trigger binding's name: the key under "Data".
	TriggerName string

	// HTTP trigger.
	Methods    []string // lowercase; nil means every method
	Route      string   // template as written (after trimming slashes)
	AuthLevel  string
	OutputName string // http output binding name: the key under "Outputs"
	template   *routeTemplate

	// Timer trigger.
	Schedule     string // after %AppSetting% substitution
	RunOnStartup bool
}

type bindingJSON struct {
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	Name         string   `json:"name"`
	Methods      []string `json:"methods"`
	AuthLevel    string   `json:"authLevel"`
	Route        *string  `json:"route"`
	Schedule     string   `json:"schedule"`
	RunOnStartup bool     `json:"runOnStartup"`
}

type functionJSON struct {
	Bindings []bindingJSON `json:"bindings"`
}

// loadFunctions reads every <dir>/<name>/function.json, sorted by name.
// Subfolders without a function.json are skipped, as the real host does.
func loadFunctions(dir string, getenv func(string) string) ([]*function, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading functions folder: %w", err)
	}
	var fns []*function
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), "function.json")
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fn, err := parseFunction(e.Name(), raw, getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		fns = append(fns, fn)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	for i := 1; i < len(fns); i++ {
		// The real host treats function names case-insensitively.
		if strings.EqualFold(fns[i-1].Name, fns[i].Name) {
			return nil, fmt.Errorf("functions %q and %q differ only in case", fns[i-1].Name, fns[i].Name)
		}
	}
	return fns, nil
}

var knownMethods = map[string]bool{
	"get": true, "post": true, "put": true, "patch": true, "delete": true,
	"head": true, "options": true, "trace": true, "connect": true,
}

func parseFunction(name string, raw []byte, getenv func(string) string) (*function, error) {
	var fj functionJSON
	if err := json.Unmarshal(raw, &fj); err != nil {
		return nil, err
	}
	fn := &function{Name: name}
	var trigger, httpOut *bindingJSON
	for i := range fj.Bindings {
		b := &fj.Bindings[i]
		switch {
		case strings.EqualFold(b.Type, "httpTrigger"), strings.EqualFold(b.Type, "timerTrigger"):
			if trigger != nil {
				return nil, fmt.Errorf("function %q has more than one trigger", name)
			}
			if !strings.EqualFold(b.Direction, "in") {
				return nil, fmt.Errorf("function %q: trigger %q must have direction \"in\"", name, b.Name)
			}
			trigger = b
		case strings.EqualFold(b.Type, "http") && strings.EqualFold(b.Direction, "out"):
			if httpOut != nil {
				return nil, fmt.Errorf("function %q has more than one http output binding", name)
			}
			httpOut = b
		default:
			return nil, fmt.Errorf("function %q: binding type %q (direction %q) is not supported by this host; only httpTrigger + http output and timerTrigger are", name, b.Type, b.Direction)
		}
		if b.Name == "" {
			return nil, fmt.Errorf("function %q: binding of type %q has no name", name, b.Type)
		}
	}
	if trigger == nil {
		return nil, fmt.Errorf("function %q has no trigger binding", name)
	}
	fn.TriggerName = trigger.Name

	if strings.EqualFold(trigger.Type, "timerTrigger") {
		if httpOut != nil {
			return nil, fmt.Errorf("function %q: a timerTrigger function cannot have an http output binding", name)
		}
		fn.Kind = kindTimer
		sched, err := expandAppSettings(trigger.Schedule, getenv)
		if err != nil {
			return nil, fmt.Errorf("function %q field schedule: %w", name, err)
		}
		if err := validateNCRONTAB(sched); err != nil {
			return nil, fmt.Errorf("function %q field schedule %q: %w", name, sched, err)
		}
		fn.Schedule = sched
		fn.RunOnStartup = trigger.RunOnStartup
		return fn, nil
	}

	fn.Kind = kindHTTP
	if httpOut == nil {
		return nil, fmt.Errorf("function %q: httpTrigger needs an http output binding (e.g. {\"type\":\"http\",\"direction\":\"out\",\"name\":\"res\"})", name)
	}
	fn.OutputName = httpOut.Name
	fn.AuthLevel = trigger.AuthLevel
	for _, m := range trigger.Methods {
		m = strings.ToLower(strings.TrimSpace(m))
		if !knownMethods[m] {
			return nil, fmt.Errorf("function %q field methods: unknown HTTP method %q", name, m)
		}
		fn.Methods = append(fn.Methods, m)
	}
	fn.Route = name
	if trigger.Route != nil {
		fn.Route = *trigger.Route
	}
	fn.Route = strings.Trim(fn.Route, "/")
	tmpl, err := parseRouteTemplate(fn.Route)
	if err != nil {
		return nil, fmt.Errorf("function %q field route %q: %w", name, fn.Route, err)
	}
	fn.template = tmpl
	return fn, nil
}

var appSettingRef = regexp.MustCompile(`%([^%\s]+)%`)

// expandAppSettings replaces each %Name% with the environment variable Name,
// which is how the real host resolves app settings referenced by bindings.
// A missing setting is an error: running a timer on a literal "%X%" is never
// what was meant.
func expandAppSettings(s string, getenv func(string) string) (string, error) {
	var missing []string
	out := appSettingRef.ReplaceAllStringFunc(s, func(ref string) string {
		key := ref[1 : len(ref)-1]
		v := getenv(key)
		if v == "" {
			missing = append(missing, key)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("app setting(s) %s not set in the environment", strings.Join(missing, ", "))
	}
	return out, nil
}

func (f *function) allows(method string) bool {
	if f.Methods == nil {
		return true
	}
	m := strings.ToLower(method)
	for _, a := range f.Methods {
		if a == m {
			return true
		}
	}
	return false
}
