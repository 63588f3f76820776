package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jitpim/jitpim/shared/cli"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/tablestore"
)

// command runs the command line (shared/cli) instead of the handler: the
// user, approver and admin commands against the API, and the operator
// commands that read the audit table (audit verify, audit export, and their
// older names audit-verify and audit-export). It exits with the command
// line's code: 0 done, 1 refused, 2 usage error.
func command(args []string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Env{Args: args, Getenv: os.Getenv, Stdout: stdout, Stderr: os.Stderr,
		AuditVerify: auditVerify, AuditExport: auditExport})
	stop()
	if code != cli.ExitOK {
		os.Exit(code)
	}
	return nil
}

func openStore(ctx context.Context) (domain.Store, error) {
	conn := os.Getenv("AzureWebJobsStorage")
	if conn == "" {
		return nil, fmt.Errorf("AzureWebJobsStorage: a storage connection string is required")
	}
	return tablestore.New(ctx, conn, tablestore.Options{TablePrefix: os.Getenv("JITPIM_TABLE_PREFIX")})
}

// allAudit reads the whole audit log, oldest first.
func allAudit(ctx context.Context, s domain.Store) ([]domain.AuditRecord, error) {
	var newest []domain.AuditRecord
	q := domain.AuditQuery{Limit: 1000}
	for {
		p, err := s.ListAudit(ctx, q)
		if err != nil {
			return nil, err
		}
		newest = append(newest, p.Items...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	out := make([]domain.AuditRecord, len(newest))
	for i, r := range newest {
		out[len(newest)-1-i] = r
	}
	return out, nil
}

// auditVerify checks the hash chain and reports the first broken link.
func auditVerify(w io.Writer) error {
	ctx := context.Background()
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	recs, err := allAudit(ctx, s)
	if err != nil {
		return err
	}
	if i := domain.VerifyChain(recs); i >= 0 {
		r := recs[i]
		return fmt.Errorf("audit chain broken at record %d of %d: id %s, %s at %s (its content or its link to the record before was changed)",
			i+1, len(recs), r.ID, r.Action, r.Time.Format("2006-01-02T15:04:05Z"))
	}
	fmt.Fprintf(w, "audit chain intact: %d records\n", len(recs))
	return nil
}

// auditExport writes the audit log as JSON lines, oldest first, for a SIEM.
func auditExport(w io.Writer) error {
	ctx := context.Background()
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	recs, err := allAudit(ctx, s)
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
