package stack

import (
	"strings"

	"github.com/jitpim/jitpim/shared/tablestore"
)

// AuditCommands are the exact command lines that export and verify this
// stack's audit log from Table Storage with the handler binary at bin:
// the operator commands need the same connection string and table prefix
// as the handler, and with another prefix they find no table (and say so).
// `make run` prints them; the end-to-end tests run them as printed.
func (s *Stack) AuditCommands(bin string) (export, verify string) {
	env := "AzureWebJobsStorage=" + shellQuote(s.storageSetting()) + " JITPIM_TABLE_PREFIX=" + shellQuote(s.TablePrefix) + " "
	return env + shellQuote(bin) + " audit export", env + shellQuote(bin) + " audit verify"
}

// storageSetting is the connection string as a person would type it:
// Azurite on its default port is UseDevelopmentStorage=true.
func (s *Stack) storageSetting() string {
	if s.Connection == tablestore.DevelopmentStorage {
		return "UseDevelopmentStorage=true"
	}
	return s.Connection
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
