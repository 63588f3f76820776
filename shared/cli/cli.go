// Package cli is jitpim's command line: the handler binary runs it when it
// is given arguments. Users list, activate, deactivate and extend their
// roles; approvers list and decide pending approvals; admins validate, plan
// and apply policy files and export or verify the audit log. Everything but
// `config validate` and the audit table commands goes through the API with
// the caller's token, so it is checked and audited like any other request.
//
// Exit codes: 0 done, 1 refused (by the API, or a policy file with errors),
// 2 usage error.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitRefused = 1
	ExitUsage   = 2
)

// DefaultAPI is where the command line finds the API when neither --api
// nor JITPIM_API says otherwise: the local stack of `make run`.
const DefaultAPI = "http://127.0.0.1:7071/api"

// Env is what a run of the command line gets from its process.
type Env struct {
	Args   []string
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	HTTP   *http.Client // nil: a client with a 60 s timeout
	Now    func() time.Time
	// AuditVerify and AuditExport read the audit table directly (they need
	// AzureWebJobsStorage); the handler binary provides them.
	AuditVerify func(w io.Writer) error
	AuditExport func(w io.Writer) error
	// MigrateIDs rewrites ids stored before they were canonical (needs
	// AzureWebJobsStorage); the handler binary provides it.
	MigrateIDs func(w io.Writer) error
}

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// refusedError is a refusal that is not the API's (exit code 1), e.g. a
// policy file with errors, already reported.
type refusedError struct{ msg string }

func (e refusedError) Error() string { return e.msg }

// Usage is the command line's help.
const Usage = `usage: jitpim <command> [flags]

Your access (token from JITPIM_TOKEN):
  roles [--group]                      your eligible and active roles (--group: group memberships)
  activate ROLE --duration PT1H --justification "…" [--ticket INC0012345] [--ticket-system ServiceNow]
  activate --group GROUP_ID [--access member|owner] --duration PT1H --justification "…" [--ticket …]
  deactivate ROLE | --group GROUP_ID [--access owner]
  extend ROLE | --group GROUP_ID --justification "…" [--duration P90D] [--active]
                                       ask an administrator to extend your eligible (or --active) assignment
Approvers:
  approvals                            approvals waiting for you
  approve ID [--justification "…"]
  deny ID [--justification "…"]
Administrators:
  config validate FILE                 check a policy file (no token needed)
  config plan FILE [--allow-removals] [--allow-regrant]
                                       what apply would change in the live state; additions that give back
                                       what an access review or an administrator removed are marked !
  config apply FILE [--allow-removals] [--allow-regrant]
                                       make the live state match the file (removals only with --allow-removals;
                                       re-grants of removed access only with --allow-regrant, which is audited)
  audit export                         the audit log as JSON lines for a SIEM, oldest first
                                       (from the audit table with AzureWebJobsStorage and JITPIM_TABLE_PREFIX,
                                       else through the API)
  audit verify                         check the audit hash chain (needs AzureWebJobsStorage and the handler's
                                       JITPIM_TABLE_PREFIX); an empty or missing chain fails. Neither command
                                       creates or changes anything in storage.
  migrate ids                          rewrite grants, schedules and requests stored with upper-case object ids
                                       (before ids were canonical) under the canonical id; idempotent, audited
                                       (needs AzureWebJobsStorage and JITPIM_TABLE_PREFIX)

ROLE is a built-in role's display name ("Global Administrator") or template id.
Flags for every command: --api URL (default $JITPIM_API, else ` + DefaultAPI + `), --json.
The token is read from JITPIM_TOKEN only; it is never a flag and never printed.
Exit codes: 0 done, 1 refused (the API's message and target are printed), 2 usage error.
`

// Run runs one command line and returns its exit code.
func Run(ctx context.Context, e Env) int {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	err := dispatch(ctx, &e)
	if err == nil {
		return ExitOK
	}
	var ue usageError
	var ae *APIError
	var re refusedError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(e.Stderr, "jitpim: %s\nRun `jitpim help` for the commands.\n", ue.msg)
		return ExitUsage
	case errors.As(err, &ae):
		fmt.Fprintf(e.Stderr, "jitpim: refused by the API (%d %s): %s\n", ae.Status, ae.Code, ae.Message)
		if ae.Target != "" {
			fmt.Fprintf(e.Stderr, "jitpim: target: %s\n", ae.Target)
		}
		if ctxMsg := strings.TrimSuffix(err.Error(), ae.Error()); ctxMsg != "" {
			fmt.Fprintf(e.Stderr, "jitpim: while: %s\n", strings.TrimSuffix(ctxMsg, ": "))
		}
		return ExitRefused
	case errors.As(err, &re):
		fmt.Fprintf(e.Stderr, "jitpim: %s\n", re.msg)
		return ExitRefused
	}
	fmt.Fprintf(e.Stderr, "jitpim: %v\n", err)
	return ExitRefused
}

// opts are the flags every command takes.
type opts struct {
	api  string
	json bool
}

func (e *Env) flags(name string) (*flag.FlagSet, *opts) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &opts{}
	def := e.Getenv("JITPIM_API")
	if def == "" {
		def = DefaultAPI
	}
	fs.StringVar(&o.api, "api", def, "API base URL")
	fs.BoolVar(&o.json, "json", false, "machine-readable output")
	return fs, o
}

// parse reads flags anywhere among the arguments and returns the others.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("%s: see `jitpim help`", fs.Name())
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// client builds an API client from --api and JITPIM_TOKEN.
func (e *Env) client(o *opts) (*Client, error) {
	tok := strings.TrimSpace(e.Getenv("JITPIM_TOKEN"))
	if tok == "" {
		return nil, usagef("JITPIM_TOKEN is not set: put an access token for the jitpim API in it (never on the command line)")
	}
	if !strings.HasPrefix(o.api, "http://") && !strings.HasPrefix(o.api, "https://") {
		return nil, usagef("--api %q is not an http(s) URL", o.api)
	}
	if strings.HasPrefix(o.api, "http://") && !isLoopback(o.api) {
		return nil, usagef("--api %q: tokens are only sent over https, except to this machine (127.0.0.1, localhost)", o.api)
	}
	c := NewClient(o.api, tok)
	if e.HTTP != nil {
		c.HTTP = e.HTTP
	}
	return c, nil
}

func isLoopback(u string) bool {
	rest := strings.TrimPrefix(u, "http://")
	host := strings.SplitN(rest, "/", 2)[0]
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return host == "127.0.0.1" || host == "localhost" || host == "[::1]"
}

func (e *Env) printJSON(v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dispatch(ctx context.Context, e *Env) error {
	args := e.Args
	if len(args) == 0 {
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(e.Stdout, Usage)
		return nil
	case "config":
		if len(rest) == 0 {
			return usagef("config needs a subcommand: validate, plan or apply")
		}
		switch rest[0] {
		case "validate":
			return e.configValidate(rest[1:])
		case "plan":
			return e.configPlan(ctx, rest[1:], false)
		case "apply":
			return e.configPlan(ctx, rest[1:], true)
		}
		return usagef("unknown config subcommand %q: use validate, plan or apply", rest[0])
	case "roles":
		return e.roles(ctx, rest)
	case "activate":
		return e.activate(ctx, rest)
	case "deactivate":
		return e.deactivate(ctx, rest)
	case "extend":
		return e.extend(ctx, rest)
	case "approvals":
		return e.approvals(ctx, rest)
	case "approve":
		return e.decide(ctx, rest, "Approve")
	case "deny":
		return e.decide(ctx, rest, "Deny")
	case "audit":
		if len(rest) == 0 {
			return usagef("audit needs a subcommand: export or verify")
		}
		switch rest[0] {
		case "export":
			return e.auditExport(ctx, rest[1:])
		case "verify":
			return e.auditVerify(rest[1:])
		}
		return usagef("unknown audit subcommand %q: use export or verify", rest[0])
	case "migrate":
		if len(rest) != 1 || rest[0] != "ids" {
			return usagef("migrate needs one subcommand: ids")
		}
		if e.Getenv("AzureWebJobsStorage") == "" {
			return usagef("migrate ids works on the tables directly: set AzureWebJobsStorage to their connection string")
		}
		if e.MigrateIDs == nil {
			return usagef("migrate ids runs in the handler binary only")
		}
		return storeError(e.MigrateIDs(e.Stdout))
	case "audit-verify":
		return e.auditVerify(rest)
	case "audit-export":
		return e.auditExportStore(rest)
	}
	return usagef("unknown command %q", cmd)
}
