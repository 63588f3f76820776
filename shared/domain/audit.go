package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"time"
)

// AuditHash is the SHA-256 over a record's content and its PrevHash, so a
// changed, removed or reordered record breaks the chain after it.
func AuditHash(r AuditRecord) string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	field(r.PrevHash)
	field(r.ID)
	field(r.Time.UTC().Format(time.RFC3339Nano))
	field(string(r.ActorID))
	field(r.Action)
	field(r.Category)
	field(r.Target.Key())
	field(string(r.PrincipalID))
	field(r.RequestID)
	field(r.Outcome)
	field(r.Reason)
	field(r.InvocationID)
	keys := make([]string, 0, len(r.Details))
	for k := range r.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k)
		field(r.Details[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyChain checks records given oldest first; it returns the index of the
// first record whose link or hash is broken, or -1.
func VerifyChain(oldestFirst []AuditRecord) int {
	prev := ""
	for i, r := range oldestFirst {
		if r.PrevHash != prev || AuditHash(r) != r.Hash {
			return i
		}
		prev = r.Hash
	}
	return -1
}
