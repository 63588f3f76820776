package cli

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

func (r *runner) auditCommand() *cobra.Command {
	export := &cobra.Command{Use: "export", Short: "the audit log as JSON lines for a SIEM, oldest first", Args: noArgs,
		Long: "export writes the audit log as JSON lines, oldest first. With AzureWebJobsStorage (and the handler's JITPIM_TABLE_PREFIX) " +
			"it reads the audit table: full records with their hash chain. Otherwise it reads auditLogs/directoryAudits through the API " +
			"with your token (admins only). It creates and changes nothing.",
		RunE: r.run(func(ctx context.Context, args []string) error { return r.auditExport(ctx) })}
	verify := &cobra.Command{Use: "verify", Short: "check the audit hash chain in the audit table", Args: noArgs,
		Long: "verify recomputes the audit log's hash chain from the audit table (AzureWebJobsStorage and the handler's " +
			"JITPIM_TABLE_PREFIX) and reports the first broken link; an empty or missing chain fails.",
		RunE: r.run(func(ctx context.Context, args []string) error { return r.auditVerify() })}
	return r.group("audit", "export or verify the audit log", export, verify)
}

// auditExport writes the audit log as JSON lines, oldest first. With
// AzureWebJobsStorage set it reads the audit table (full records with their
// hash chain); otherwise it reads auditLogs/directoryAudits through the API
// with the caller's token (Graph's directoryAudit shape; admins only).
func (r *runner) auditExport(ctx context.Context) error {
	if r.Getenv("AzureWebJobsStorage") != "" && r.AuditExport != nil {
		return storeError(r.AuditExport(r.Stdout))
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	recs, err := wire.ListAll[map[string]any](ctx, c, "auditLogs/directoryAudits") // ListAll asks for $top=999
	if err != nil {
		return err
	}
	enc := json.NewEncoder(r.Stdout)
	for i := len(recs) - 1; i >= 0; i-- { // the API answers newest first
		if err := enc.Encode(recs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) auditExportStore() error {
	if r.AuditExport == nil {
		return usagef("audit-export reads the audit table: it runs in the handler binary only")
	}
	return storeError(r.AuditExport(r.Stdout))
}

// auditVerify checks the hash chain in the audit table. It needs
// AzureWebJobsStorage: the API gives times to the second, so the chain
// cannot be recomputed from what it returns.
func (r *runner) auditVerify() error {
	if r.Getenv("AzureWebJobsStorage") == "" {
		return usagef("audit verify reads the audit table directly: set AzureWebJobsStorage to its connection string " +
			"(the API rounds times to the second, so the hash chain cannot be recomputed from it)")
	}
	if r.AuditVerify == nil {
		return usagef("audit verify reads the audit table: it runs in the handler binary only")
	}
	return storeError(r.AuditVerify(r.Stdout))
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
