package policyfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
)

// ApplyResult counts what apply did.
type ApplyResult struct {
	Added, Changed, Removed, Held int
}

// Apply carries out a plan through the API, in order: tiers, policies,
// assignments, then removals (only those not held back). Each request goes
// through the engine like any other: it is checked and audited. It stops at
// the first refusal; running plan again shows what is left.
//
// A plan that re-grants what an access review or an administrator removed
// is refused whole, before anything is sent, unless it was made with
// AllowRegrant: applying the rest would leave the file half carried out,
// and skipping the re-grants quietly would hide that the file disagrees
// with a decision someone made.
func Apply(ctx context.Context, api API, pl *Plan, w io.Writer) (ApplyResult, error) {
	var res ApplyResult
	if rg := pl.Regrants(); len(rg) > 0 && !pl.AllowRegrant {
		subjects := make([]string, 0, len(rg))
		for _, c := range rg {
			subjects = append(subjects, c.Subject+" ("+c.Regrant.Summary+")")
		}
		return res, domain.Errorf(domain.CodeConflict, "nothing applied: %d addition(s) would re-grant access that was removed: %s. "+
			"Take them out of the file to keep the removal, or pass --allow-regrant to give the access back (the requests' justification records it)",
			len(rg), strings.Join(subjects, "; "))
	}
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
