package cli

import (
	"context"
	"fmt"

	"github.com/jitpim/jitpim/shared/policyfile"
)

// planFlags are the flags of config plan and apply.
type planFlags struct {
	allowRemovals, allowRegrant bool
}

func (e *Env) loadFile(name string, args []string) (*policyfile.File, *opts, planFlags, error) {
	fs, o := e.flags(name)
	var pf planFlags
	fs.BoolVar(&pf.allowRemovals, "allow-removals", false, "also remove what the file no longer lists")
	fs.BoolVar(&pf.allowRegrant, "allow-regrant", false, "also give back what an access review or an administrator removed")
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, pf, err
	}
	if len(pos) != 1 {
		return nil, nil, pf, usagef("%s needs exactly one policy file, e.g. jitpim %s local/demo/jitpim.yaml", name, name)
	}
	f, err := policyfile.Load(pos[0], e.Now())
	if err != nil {
		return nil, nil, pf, usagef("cannot read the policy file: %v", err)
	}
	return f, o, pf, nil
}

func (e *Env) configValidate(args []string) error {
	f, o, _, err := e.loadFile("config validate", args)
	if err != nil {
		return err
	}
	errs := f.Errors()
	if o.json {
		if err := e.printJSON(map[string]any{"file": f.Path, "valid": len(errs) == 0, "diagnostics": nonNil(f.Diagnostics)}); err != nil {
			return err
		}
	} else {
		for _, d := range f.Diagnostics {
			fmt.Fprintln(e.Stdout, d.String())
		}
	}
	warnings := len(f.Diagnostics) - len(errs)
	if len(errs) > 0 {
		return refusedError{fmt.Sprintf("%s: %d error(s), %d warning(s): nothing is applied from a file with errors", f.Path, len(errs), warnings)}
	}
	if !o.json {
		fmt.Fprintf(e.Stdout, "%s: valid (%d warning(s))\n", f.Path, warnings)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// configPlan plans, and with apply carries the plan out.
func (e *Env) configPlan(ctx context.Context, args []string, apply bool) error {
	name := "config plan"
	if apply {
		name = "config apply"
	}
	f, o, pf, err := e.loadFile(name, args)
	if err != nil {
		return err
	}
	if errs := f.Errors(); len(errs) > 0 {
		for _, d := range f.Diagnostics {
			fmt.Fprintln(e.Stderr, d.String())
		}
		return refusedError{fmt.Sprintf("%s: %d error(s): fix them first (jitpim config validate %s)", f.Path, len(errs), f.Path)}
	}
	for _, d := range f.Diagnostics {
		fmt.Fprintln(e.Stderr, d.String())
	}
	c, err := e.client(o)
	if err != nil {
		return err
	}
	live, err := policyfile.LoadLive(ctx, c, f)
	if err != nil {
		return fmt.Errorf("reading the live state: %w", err)
	}
	pl := policyfile.BuildPlan(f, live, policyfile.PlanOptions{AllowRemovals: pf.allowRemovals, AllowRegrant: pf.allowRegrant, Now: e.Now()})
	if !apply {
		if o.json {
			return e.printJSON(pl)
		}
		fmt.Fprint(e.Stdout, pl.Text())
		return nil
	}
	// Giving back what an access review or an administrator took away is
	// refused before anything is sent, unless asked for by name.
	if rg := pl.Regrants(); len(rg) > 0 && !pf.allowRegrant {
		if o.json {
			if err := e.printJSON(map[string]any{"plan": pl, "added": 0, "changed": 0, "removed": 0, "held": 0, "refused": len(rg)}); err != nil {
				return err
			}
		} else {
			fmt.Fprint(e.Stdout, pl.Text())
		}
		return refusedError{fmt.Sprintf("apply refused, nothing was changed: %d addition(s) would re-grant access that an access review or an administrator removed (marked ! in the plan). "+
			"Take them out of %s to keep the removal, or run apply again with --allow-regrant to give the access back; the re-granting requests' justification and the audit log record the override", len(rg), f.Path)}
	}
	if !o.json {
		fmt.Fprint(e.Stdout, pl.Text())
		if !pl.Empty() {
			fmt.Fprintln(e.Stdout, "\nApplying:")
		}
	}
	w := e.Stdout
	if o.json {
		w = nil
	}
	res, err := policyfile.Apply(ctx, c, pl, w)
	if o.json {
		out := map[string]any{"plan": pl, "added": res.Added, "changed": res.Changed, "removed": res.Removed, "held": res.Held}
		if err != nil {
			out["error"] = err.Error()
		}
		if jerr := e.printJSON(out); jerr != nil {
			return jerr
		}
	} else {
		if !pl.Empty() || err != nil {
			fmt.Fprintln(e.Stdout, res.String())
		}
		if len(pl.AppSettings) > 0 {
			fmt.Fprintf(e.Stdout, "Not set: %d app setting(s) listed above (alerts, break-glass accounts) are deployment settings that apply cannot set: set them in the Function App's configuration.\n", len(pl.AppSettings))
		}
	}
	if err != nil {
		return fmt.Errorf("apply stopped after %d change(s): %w", res.Added+res.Changed+res.Removed, err)
	}
	return nil
}
