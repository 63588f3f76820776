package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// lockedWriter lets the host's output and the tests share one buffer.
type lockedWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// tamperOneAuditRecord edits the oldest audit record in place, as an
// attacker with storage access would.
func tamperOneAuditRecord(conn, prefix string) error {
	ctx := context.Background()
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		return err
	}
	c := svc.NewClient(prefix + "Audit")
	// Chained records only (RowKey MaxInt64-seq, digits, sorts before
	// "head"): a pending row ("p|…", not linked yet) is not what verify
	// covers, and one may appear at any moment from the host's own timers.
	filter := "PartitionKey eq 'audit' and RowKey lt 'head'"
	pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	var last map[string]any
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			var m map[string]any
			if err := json.Unmarshal(e, &m); err != nil {
				return err
			}
			last = m
		}
	}
	if last == nil {
		return fmt.Errorf("no audit records to tamper with")
	}
	last["Reason"] = "nothing to see here"
	data, _ := json.Marshal(last)
	_, err = c.UpsertEntity(ctx, data, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge})
	return err
}
