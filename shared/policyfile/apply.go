package policyfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
)

// ApplyResult counts what apply did.
type ApplyResult struct {
	Added, Changed, Removed, Held int
}

// Apply carries out a plan through the API, in order: tiers, policies,
// assignments, then removals (only those not held back). Each request goes
// through the engine like any other: it is checked and audited. It stops at
// the first refusal; running plan again shows what is left.
func Apply(ctx context.Context, api API, pl *Plan, w io.Writer) (ApplyResult, error) {
	var res ApplyResult
	run := make([]byte, 8)
	_, _ = rand.Read(run)
	prefix := "jitpim-apply-" + hex.EncodeToString(run)
	seq := 0
	sign := map[string]string{"add": "+", "change": "~", "remove": "-"}
	for _, c := range pl.Changes {
		if c.Held {
			res.Held++
			continue
		}
		for _, call := range c.Calls {
			var headers map[string]string
			if call.Method == "POST" {
				seq++
				headers = map[string]string{"Idempotency-Key": fmt.Sprintf("%s-%d", prefix, seq)}
			}
			if err := api.Call(ctx, call.Method, call.Path, call.Body, headers, nil); err != nil {
				return res, fmt.Errorf("%s %s: %w", sign[c.Op], c.Subject, err)
			}
		}
		if w != nil {
			fmt.Fprintf(w, "  done: %s %s\n", sign[c.Op], c.Subject)
		}
		switch c.Op {
		case "add":
			res.Added++
		case "change":
			res.Changed++
		case "remove":
			res.Removed++
		}
	}
	return res, nil
}

func (r ApplyResult) String() string {
	if r.Added+r.Changed+r.Removed == 0 {
		s := "No changes applied: the live state already matches the file."
		if r.Held > 0 {
			s = "No changes applied."
			s += fmt.Sprintf(" %d removal(s) held back: pass --allow-removals to remove.", r.Held)
		}
		return s
	}
	s := fmt.Sprintf("Applied: %d added, %d changed, %d removed.", r.Added, r.Changed, r.Removed)
	if r.Held > 0 {
		s += fmt.Sprintf(" %d removal(s) held back: pass --allow-removals to remove.", r.Held)
	}
	return s
}
