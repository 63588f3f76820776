package cli

import (
	"context"
	"encoding/json"
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
		return e.AuditExport(e.Stdout)
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	recs, err := e.list(ctx, c, "auditLogs/directoryAudits?$top=999")
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
	return e.AuditExport(e.Stdout)
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
	if err := e.AuditVerify(e.Stdout); err != nil {
		return refusedError{err.Error()}
	}
	return nil
}
