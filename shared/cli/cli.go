// Package cli is jitpim's command line, built on cobra: the handler binary
// runs it when it is given arguments. Users list, activate, deactivate and
// extend their roles; approvers list and decide pending approvals; admins
// validate, plan and apply policy files and export or verify the audit
// log; `serve` starts the handler. Everything but `config validate`, the
// audit table commands and `serve` goes through the API with the caller's
// token, so it is checked and audited like any other request.
//
// It speaks in names: roles and groups by display name, people by name and
// user principal name, ids only as secondary detail; and when the API
// refuses, it names the flag the user typed, not the API's field.
//
// Exit codes: 0 done, 1 refused (by the API, or a policy file with errors),
// 2 usage error.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
	// Version is what `jitpim version` prints (the handler binary fills it
	// from its build information).
	Version string
	// Serve starts the handler and returns when it stops; the handler
	// binary provides it. Nil: `serve` is refused.
	Serve func(ctx context.Context) error
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

// Overview is the root command's help: every command on one screen.
const Overview = `jitpim: just-in-time privileged access for Microsoft Entra ID, from the command line.

Your access (token from JITPIM_TOKEN):
  roles [--group]                      your eligible and active roles (--group: group memberships)
  activate ROLE --duration PT1H --justification "…" [--ticket INC0012345] [--ticket-system ServiceNow]
  activate --group GROUP --access member|owner --duration PT1H --justification "…" [--ticket …]
  deactivate ROLE | --group GROUP [--access owner]
  extend ROLE | --group GROUP --justification "…" [--duration P90D] [--active]
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
Operators:
  serve                                start the handler (the Functions host and Lambda start it themselves)
  version                              this binary's version

ROLE is a built-in role's display name ("Global Administrator") or a role id. GROUP is the display name
of a group you are eligible for or hold ("PAG-DEV-TEAM"), or its object id.
Flags for every command: --api URL (default $JITPIM_API, else ` + DefaultAPI + `), --json.
The token is read from JITPIM_TOKEN only; it is never a flag and never printed.
Exit codes: 0 done, 1 refused (the API's message and the flag it concerns are printed), 2 usage error.`

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
	r := &runner{Env: &e}
	root := r.commands()
	root.SetArgs(e.Args)
	root.SetOut(e.Stdout)
	root.SetErr(e.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if !r.ran { // cobra refused the command line before any command ran
		if _, ok := errors.AsType[usageError](err); !ok {
			err = usageError{err.Error()}
		}
	}
	return report(e.Stderr, err)
}

// report prints what went wrong and returns the exit code.
func report(w io.Writer, err error) int {
	if ue, ok := errors.AsType[usageError](err); ok {
		fmt.Fprintf(w, "jitpim: %s\nRun `jitpim help` for the commands, `jitpim COMMAND --help` for one.\n", ue.msg)
		return ExitUsage
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		msg := ae.Message
		flag := flagFor(ae.Target)
		if flag != "" {
			msg = flag + ": " + strings.TrimPrefix(msg, ae.Target+": ") // the API starts with its field; the user typed the flag
		}
		fmt.Fprintf(w, "jitpim: refused by the API (%d %s): %s\n", ae.Status, ae.Code, msg)
		if ae.Target != "" {
			if flag != "" {
				fmt.Fprintf(w, "jitpim: target: %s (the API's field for %s)\n", ae.Target, flag)
			} else {
				fmt.Fprintf(w, "jitpim: target: %s\n", ae.Target)
			}
		}
		if ctxMsg := strings.TrimSuffix(err.Error(), ae.Error()); ctxMsg != "" {
			fmt.Fprintf(w, "jitpim: while: %s\n", strings.TrimSuffix(ctxMsg, ": "))
		}
		return ExitRefused
	}
	if re, ok := errors.AsType[refusedError](err); ok {
		fmt.Fprintf(w, "jitpim: %s\n", re.msg)
		return ExitRefused
	}
	fmt.Fprintf(w, "jitpim: %v\n", err)
	return ExitRefused
}

// flagFor names the command-line flag or argument behind an API field, so
// a refusal says "--duration", not "scheduleInfo.expiration.duration".
func flagFor(target string) string {
	switch {
	case target == "":
		return ""
	case strings.HasPrefix(target, "scheduleInfo"):
		return "--duration"
	case target == "justification":
		return "--justification"
	case target == "ticketInfo.ticketSystem":
		return "--ticket-system"
	case strings.HasPrefix(target, "ticketInfo"):
		return "--ticket"
	case target == "roleDefinitionId" || target == "directoryScopeId":
		return "ROLE"
	case target == "groupId":
		return "--group"
	case target == "accessId":
		return "--access"
	case target == "principalId":
		return "JITPIM_TOKEN (whose access it is)"
	case target == "reviewResult":
		return "approve/deny"
	}
	return ""
}

// runner holds one run: the environment and the flags every command takes.
type runner struct {
	*Env
	api  string
	json bool
	ran  bool // a command's own code started (its errors are its own)
}

// run adapts a command's function to cobra and records that it ran.
func (r *runner) run(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		r.ran = true
		return fn(cmd.Context(), args)
	}
}

// commands builds the command tree.
func (r *runner) commands() *cobra.Command {
	root := &cobra.Command{
		Use:           "jitpim",
		Short:         "just-in-time privileged access for Microsoft Entra ID",
		Long:          Overview,
		SilenceErrors: true,
		SilenceUsage:  true,
		// No arguments: the usage, not a handler that starts by surprise
		// (the Functions host passes `serve`; Lambda is recognised by its
		// runtime's environment in the handler binary).
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(r.Stderr)
			_ = cmd.Help()
			return usagef("no command given")
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SuggestionsMinimumDistance = 2
	def := r.Getenv("JITPIM_API")
	if def == "" {
		def = DefaultAPI
	}
	root.PersistentFlags().StringVar(&r.api, "api", def, "API base URL ($JITPIM_API)")
	root.PersistentFlags().BoolVar(&r.json, "json", false, "machine-readable output")
	root.SetFlagErrorFunc(r.flagError)
	root.SetHelpCommand(&cobra.Command{Use: "help [command]", Short: "help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			target, _, err := root.Find(args)
			if err != nil || target == nil {
				return usagef("unknown help topic %q", strings.Join(args, " "))
			}
			target.SetOut(r.Stdout)
			return target.Help()
		}})

	root.AddCommand(r.userCommands()...)
	root.AddCommand(r.approverCommands()...)
	root.AddCommand(r.configCommand(), r.auditCommand(), r.migrateCommand(), r.serveCommand(), r.versionCommand())
	// The older names of the audit table commands, kept for scripts.
	root.AddCommand(&cobra.Command{Use: "audit-verify", Hidden: true, Args: noArgs, RunE: r.run(func(ctx context.Context, args []string) error { return r.auditVerify() })},
		&cobra.Command{Use: "audit-export", Hidden: true, Args: noArgs, RunE: r.run(func(ctx context.Context, args []string) error { return r.auditExportStore() })})
	return root
}

// flagError turns pflag's complaints into usage errors that name the
// command and, for a mistyped flag, suggest the one meant.
func (r *runner) flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		msg = "flag provided but not defined: -" + name // the wording of Go's flag package, which scripts may match
		if name == "token" {
			msg += " (the token is read from JITPIM_TOKEN only, never from a flag)"
		} else if s := suggestFlag(cmd, name); s != "" {
			msg += "; did you mean --" + s + "?"
		}
	}
	return usageError{strings.TrimPrefix(cmd.CommandPath(), "jitpim ") + ": " + msg}
}

// suggestFlag finds the command's flag closest to a mistyped one.
func suggestFlag(cmd *cobra.Command, name string) string {
	best, bestD := "", 3
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if d := distance(name, f.Name); d < bestD || strings.HasPrefix(f.Name, name) && bestD > 0 {
			best, bestD = f.Name, d
		}
	})
	return best
}

// distance is the Levenshtein distance, for suggestions.
func distance(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// noArgs refuses arguments to a command that takes none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// group is a command with subcommands: run bare or with an unknown
// subcommand it says which there are, and suggests the one meant.
func (r *runner) group(use, short string, subs ...*cobra.Command) *cobra.Command {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name()
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	if len(names) == 1 {
		list = names[0]
	}
	c := &cobra.Command{Use: use, Short: short}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s needs a subcommand: %s", use, list)
		}
		msg := fmt.Sprintf("unknown %s subcommand %q: use %s", use, args[0], list)
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + s[0] + "?"
		}
		return usageError{msg}
	}
	c.SuggestionsMinimumDistance = 2
	c.AddCommand(subs...)
	return c
}

func (r *runner) serveCommand() *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "start the handler (Azure Functions custom handler, or AWS Lambda)", Args: noArgs,
		Long: "serve starts the handler: on FUNCTIONS_CUSTOMHANDLER_PORT under the Azure Functions host (host.json passes `serve`), " +
			"or on AWS Lambda's runtime API when AWS_LAMBDA_RUNTIME_API is set. It reads the app settings README lists.",
		RunE: r.run(func(ctx context.Context, args []string) error {
			if r.Serve == nil {
				return usagef("serve runs in the handler binary only")
			}
			return r.Serve(ctx)
		})}
}

func (r *runner) versionCommand() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "print this binary's version", Args: noArgs,
		RunE: r.run(func(ctx context.Context, args []string) error {
			v := r.Version
			if v == "" {
				v = "(unknown)"
			}
			if r.json {
				return r.printJSON(map[string]string{"version": v})
			}
			fmt.Fprintf(r.Stdout, "jitpim %s\n", v)
			return nil
		})}
}

func (r *runner) migrateCommand() *cobra.Command {
	ids := &cobra.Command{Use: "ids", Short: "rewrite data stored with upper-case object ids under the canonical id", Args: noArgs,
		RunE: r.run(func(ctx context.Context, args []string) error {
			if r.Getenv("AzureWebJobsStorage") == "" {
				return usagef("migrate ids works on the tables directly: set AzureWebJobsStorage to their connection string")
			}
			if r.MigrateIDs == nil {
				return usagef("migrate ids runs in the handler binary only")
			}
			return storeError(r.MigrateIDs(r.Stdout))
		})}
	return r.group("migrate", "one-off data migrations", ids)
}

// client builds an API client from --api and JITPIM_TOKEN.
func (r *runner) client() (*Client, error) {
	tok := strings.TrimSpace(r.Getenv("JITPIM_TOKEN"))
	if tok == "" {
		return nil, usagef("JITPIM_TOKEN is not set: put an access token for the jitpim API in it (never on the command line)")
	}
	if !strings.HasPrefix(r.api, "http://") && !strings.HasPrefix(r.api, "https://") {
		return nil, usagef("--api %q is not an http(s) URL", r.api)
	}
	if strings.HasPrefix(r.api, "http://") && !isLoopback(r.api) {
		return nil, usagef("--api %q: tokens are only sent over https, except to this machine (127.0.0.1, localhost)", r.api)
	}
	c := NewClient(r.api, tok)
	if r.HTTP != nil {
		c.HTTP = r.HTTP
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

func (r *runner) printJSON(v any) error {
	enc := json.NewEncoder(r.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
