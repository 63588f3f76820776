package tablestore

// AuditChain is the audit chain check on this store's own connection, for
// the portal's audit screen: the same Verify and Pending as `jitpim audit
// verify`, counted in this store's round trips. prefix is the store's
// table prefix (Options.TablePrefix), which the check's messages name.
func (s *Store) AuditChain(prefix string) *AuditReader {
	return &AuditReader{s: s, table: prefix + tblAudit, prefix: prefix}
}
