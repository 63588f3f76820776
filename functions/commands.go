package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/cli"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/tablestore"
)

// command runs the command line (shared/cli): `serve` (the handler), the
// user, approver and admin commands against the API, and the operator
// commands that read the audit table (audit verify, audit export, and their
// older names audit-verify and audit-export). It exits with the command
// line's code: 0 done, 1 refused, 2 usage error.
func command(args []string, stdout io.Writer) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Env{Args: args, Getenv: os.Getenv, Stdout: stdout, Stderr: os.Stderr, Version: version(),
		Serve: serve, AuditVerify: auditVerify, AuditExport: auditExport, MigrateIDs: migrateIDs})
	stop()
	if code != cli.ExitOK {
		os.Exit(code)
	}
}

// storageFromEnv reads the same storage settings as the handler, so an
// operator command runs with the app's identity-based settings too.
func storageFromEnv() (string, tablestore.Options, error) {
	st, err := readStorageSettings(os.Getenv)
	if err != nil {
		return "", tablestore.Options{}, err
	}
	if !st.configured() {
		return "", tablestore.Options{}, fmt.Errorf("AzureWebJobsStorage__accountName or AzureWebJobsStorage is required")
	}
	return st.open(os.Getenv("JITPIM_TABLE_PREFIX"))
}

// openAudit opens the audit table read-only: the operator commands never
// create tables, so a wrong connection string or prefix is reported
// instead of read as an empty, "intact" chain.
func openAudit(ctx context.Context) (*tablestore.AuditReader, error) {
	conn, opts, err := storageFromEnv()
	if err != nil {
		return nil, err
	}
	return tablestore.OpenAuditReader(ctx, conn, opts)
}

// auditVerify checks the hash chain and reports the first broken link; an
// empty or missing chain fails.
func auditVerify(w io.Writer) error {
	ctx := context.Background()
	a, err := openAudit(ctx)
	if err != nil {
		return err
	}
	n, err := a.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "audit chain intact: %d records in table %s\n", n, a.Table())
	if p, err := a.Pending(ctx); err != nil {
		return err
	} else if p > 0 {
		fmt.Fprintf(w, "%d newer records are written but not linked yet: the expirySweep timer links them within a minute\n", p)
	}
	return nil
}

// migrateIDs moves data stored before object ids were canonical to the
// canonical spelling, and records that it ran in the audit log.
func migrateIDs(w io.Writer) error {
	ctx := context.Background()
	conn, opts, err := storageFromEnv()
	if err != nil {
		return err
	}
	s, err := tablestore.New(ctx, conn, opts)
	if err != nil {
		return err
	}
	rep, err := s.CanonicalizeIDs(ctx)
	if err != nil {
		return err
	}
	rec := domain.AuditRecord{ID: uuid.NewString(), Time: time.Now().UTC(), ActorID: engine.SystemActor, Action: "migrate.ids", Category: "Governance",
		Outcome: "success", Details: map[string]string{"grants_rekeyed": fmt.Sprint(rep.GrantsRekeyed), "grants_merged": fmt.Sprint(rep.GrantsMerged),
			"schedules_rewritten": fmt.Sprint(rep.SchedulesRewritten), "requests_rewritten": fmt.Sprint(rep.RequestsRewritten)}}
	if err := s.AppendAudit(ctx, &rec); err != nil {
		return err
	}
	fmt.Fprintf(w, "ids canonical: %d grants re-keyed (%d merged), %d schedules and %d requests rewritten\n",
		rep.GrantsRekeyed, rep.GrantsMerged, rep.SchedulesRewritten, rep.RequestsRewritten)
	return nil
}

// auditExport writes the audit log as JSON lines, oldest first, for a SIEM.
func auditExport(w io.Writer) error {
	ctx := context.Background()
	a, err := openAudit(ctx)
	if err != nil {
		return err
	}
	recs, err := a.Records(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(map[string]any{"id": r.ID, "time": r.Time, "actor": r.ActorID, "action": r.Action, "category": r.Category,
			"target": r.Target.Key(), "principal": r.PrincipalID, "request": r.RequestID, "outcome": r.Outcome, "reason": r.Reason,
			"invocation": r.InvocationID, "details": r.Details, "prevHash": r.PrevHash, "hash": r.Hash}); err != nil {
			return err
		}
	}
	return nil
}

// version is the module version and VCS revision the binary was built
// from, as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(no build information)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v + " " + bi.GoVersion
}
