package tablestore

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jitpim/jitpim/shared/domain"
)

// AuditReader reads the audit chain of an existing store for the operator
// commands (audit verify, audit export). It never creates a table and
// never writes: pointed at the wrong account or prefix it must say so,
// not make empty tables and report a chain of nothing as intact.
type AuditReader struct {
	s      *Store
	table  string
	prefix string
}

// OpenAuditReader connects to the account and checks that the audit table
// exists, without creating anything. A missing table is a CodeNotFound
// error naming the table and the prefix.
func OpenAuditReader(ctx context.Context, connectionString string, opts Options) (*AuditReader, error) {
	s, err := connect(connectionString, opts)
	if err != nil {
		return nil, err
	}
	a := &AuditReader{s: s, table: opts.TablePrefix + tblAudit, prefix: opts.TablePrefix}
	// A query on a table that exists answers, empty or not; only a missing
	// table gives 404. This needs read access to the table only, not the
	// right to list the account's tables.
	_, _, _, err = s.queryPage(ctx, s.audit, "PartitionKey eq "+odataString(auditPK), 1, nil, nil)
	if statusOf(err) == http.StatusNotFound {
		return nil, domain.Wrap(domain.CodeNotFound, err, "the audit table %s does not exist in this storage account (%s): "+
			"check AzureWebJobsStorage and JITPIM_TABLE_PREFIX; nothing was created", a.table, a.describePrefix())
	}
	if err != nil {
		return nil, s.fail(err, "reading the audit table %s", a.table)
	}
	return a, nil
}

// Table is the audit table's full name.
func (a *AuditReader) Table() string { return a.table }

func (a *AuditReader) describePrefix() string {
	if a.prefix == "" {
		return "no table prefix"
	}
	return fmt.Sprintf("table prefix %q", a.prefix)
}

// chainRecord is one stored record with the sequence number it was
// appended with.
type chainRecord struct {
	seq int64
	rec domain.AuditRecord
}

// read returns the head (exists false when there is none) and every
// record, oldest first.
func (a *AuditReader) read(ctx context.Context) (auditHead, []chainRecord, error) {
	var head auditHead
	e, err := a.s.get(ctx, a.s.audit, auditPK, headRK)
	switch {
	case statusOf(err) == http.StatusNotFound:
	case err != nil:
		return head, nil, a.s.fail(err, "reading the head of the audit chain in %s", a.table)
	default:
		rd := &reader{m: e.Props}
		head = auditHead{known: true, exists: true, seq: rd.i64("Seq"), hash: rd.str("Hash")}
		if rd.err != nil {
			return head, nil, wrapDecode(rd.err, "audit chain head", a.table)
		}
	}
	ents, _, err := a.s.query(ctx, a.s.audit, "PartitionKey eq "+odataString(auditPK)+" and RowKey lt "+odataString(headRK), 0)
	if err != nil {
		return head, nil, a.s.fail(err, "reading the audit records in %s", a.table)
	}
	out := make([]chainRecord, len(ents))
	for i, e := range ents { // newest first: reverse
		r, err := auditFrom(e)
		if err != nil {
			return head, nil, err
		}
		rd := &reader{m: e.Props}
		seq := rd.i64("Seq")
		if rd.err != nil {
			return head, nil, wrapDecode(rd.err, "audit record", r.ID)
		}
		out[len(ents)-1-i] = chainRecord{seq: seq, rec: r}
	}
	return head, out, nil
}

// errEmpty is the failure of a chain with nothing in it.
func (a *AuditReader) errEmpty(what string) error {
	return domain.Errorf(domain.CodeNotFound, "the audit table %s (%s) holds no audit records: nothing to %s. "+
		"A deployment in use always has some: check AzureWebJobsStorage and JITPIM_TABLE_PREFIX", a.table, a.describePrefix(), what)
}

// Pending counts the records written but not yet linked into the chain
// (the expirySweep timer links them every minute); it only reads.
func (a *AuditReader) Pending(ctx context.Context) (int, error) {
	ents, _, err := a.s.query(ctx, a.s.audit, "PartitionKey eq "+odataString(auditPK)+" and RowKey ge "+odataString(pendingPrefix)+
		" and RowKey lt "+odataString(pendingEnd), 0)
	if err != nil {
		return 0, a.s.fail(err, "reading the pending audit records in %s", a.table)
	}
	return len(ents), nil
}

// Records returns every audit record, oldest first. An empty log is a
// CodeNotFound error: an export of nothing is more likely the wrong
// prefix than a new deployment.
func (a *AuditReader) Records(ctx context.Context) ([]domain.AuditRecord, error) {
	_, recs, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, a.errEmpty("export")
	}
	out := make([]domain.AuditRecord, len(recs))
	for i, r := range recs {
		out[i] = r.rec
	}
	return out, nil
}

// Verify checks the whole chain: records numbered 1, 2, … without a gap,
// each linked to the one before by its hash and hashing to what it says,
// and reaching the head, which names the newest record's number and hash
// (so records cut off the end are found too). It returns how many
// records it checked. An empty or headless chain fails: there is nothing
// to vouch for.
func (a *AuditReader) Verify(ctx context.Context) (int, error) {
	head, recs, err := a.read(ctx)
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 {
		if head.exists {
			return 0, domain.Errorf(domain.CodeConflict, "audit chain broken in %s: the head names record %d but the table holds no records", a.table, head.seq)
		}
		if n, err := a.Pending(ctx); err == nil && n > 0 {
			return 0, domain.Errorf(domain.CodeNotFound, "the audit table %s (%s) holds %d records written but none linked into the chain yet: "+
				"the expirySweep timer links them every minute; verify again after it ran", a.table, a.describePrefix(), n)
		}
		return 0, a.errEmpty("verify")
	}
	if !head.exists {
		return 0, domain.Errorf(domain.CodeConflict, "audit chain broken in %s: %d records but no chain head (row %q)", a.table, len(recs), headRK)
	}
	plain := make([]domain.AuditRecord, len(recs))
	for i, r := range recs {
		if r.seq != int64(i)+1 {
			return 0, domain.Errorf(domain.CodeConflict, "audit chain broken at record %d of %d: id %s has number %d (a record before it is missing; table %s)",
				i+1, len(recs), r.rec.ID, r.seq, a.table)
		}
		plain[i] = r.rec
	}
	if i := domain.VerifyChain(plain); i >= 0 {
		r := recs[i].rec
		return 0, domain.Errorf(domain.CodeConflict, "audit chain broken at record %d of %d: id %s, %s at %s (its content or its link to the record before was changed; table %s)",
			i+1, len(recs), r.ID, r.Action, r.Time.UTC().Format("2006-01-02T15:04:05Z"), a.table)
	}
	if head.seq < 1 {
		return 0, domain.Errorf(domain.CodeConflict, "audit chain broken in %s: the head names record %d", a.table, head.seq)
	}
	// Records appended after the head was read are fine (the chain links
	// them); fewer than the head names means some were cut off the end.
	if int64(len(recs)) < head.seq {
		return 0, domain.Errorf(domain.CodeConflict, "audit chain broken in %s: the head names record %d but only %d are stored (the newest were removed)",
			a.table, head.seq, len(recs))
	}
	if recs[head.seq-1].rec.Hash != head.hash {
		return 0, domain.Errorf(domain.CodeConflict, "audit chain broken in %s: record %d does not have the hash the head names", a.table, head.seq)
	}
	return len(recs), nil
}
