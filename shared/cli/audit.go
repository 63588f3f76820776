package cli

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

// auditExport writes the audit log as JSON lines, oldest first. With
// AzureWebJobsStorage set it reads the audit table (full records with their
// hash chain); otherwise it reads auditLogs/directoryAudits through the API
// with the caller's token (Graph's directoryAudit shape; admins only).
func (e *Env) auditExport(ctx context.Context, args []string) error {
	fs, o := e.flags("audit export")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("audit export takes no arguments, got %q", pos[0])
	}
	if e.Getenv("AzureWebJobsStorage") != "" && e.AuditExport != nil {
		return storeError(e.AuditExport(e.Stdout))
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	recs, err := wire.ListAll[map[string]any](ctx, c, "auditLogs/directoryAudits")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.Stdout)
	for i := len(recs) - 1; i >= 0; i-- { // the API answers newest first
		if err := enc.Encode(recs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) auditExportStore(args []string) error {
	if len(args) > 0 {
		return usagef("audit-export takes no arguments")
	}
	if e.AuditExport == nil {
		return usagef("audit-export reads the audit table: it runs in the handler binary only")
	}
	return storeError(e.AuditExport(e.Stdout))
}

// auditVerify checks the hash chain in the audit table. It needs
// AzureWebJobsStorage: the API gives times to the second, so the chain
// cannot be recomputed from what it returns.
func (e *Env) auditVerify(args []string) error {
	if len(args) > 0 {
		return usagef("audit verify takes no arguments")
	}
	if e.Getenv("AzureWebJobsStorage") == "" {
		return usagef("audit verify reads the audit table directly: set AzureWebJobsStorage to its connection string " +
			"(the API rounds times to the second, so the hash chain cannot be recomputed from it)")
	}
	if e.AuditVerify == nil {
		return usagef("audit verify reads the audit table: it runs in the handler binary only")
	}
	return storeError(e.AuditVerify(e.Stdout))
}

// storeError reports a failure of the audit table commands (exit 1) with
// the store's own message: which table and prefix it looked at.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return refusedError{de.Message}
	}
	return refusedError{err.Error()}
}
