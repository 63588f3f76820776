package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jitpim/jitpim/shared/policyfile"
)

// planFlags are the flags of config plan and apply.
type planFlags struct {
	allowRemovals, allowRegrant bool
}

func (r *runner) configCommand() *cobra.Command {
	validate := &cobra.Command{Use: "validate FILE", Short: "check a policy file (no token needed)",
		Example: "  jitpim config validate local/demo/jitpim.yaml",
		RunE:    r.run(func(ctx context.Context, args []string) error { return r.configValidate(args) })}
	var pf planFlags
	plan := &cobra.Command{Use: "plan FILE", Short: "what apply would change in the live state",
		Long: "plan reads the live state through the API and prints what apply would change. Additions that give back " +
			"what an access review or an administrator removed are marked ! with who removed it, when and why.",
		Example: "  jitpim config plan local/demo/jitpim.yaml",
		RunE:    r.run(func(ctx context.Context, args []string) error { return r.configPlan(ctx, args, pf, false) })}
	apply := &cobra.Command{Use: "apply FILE", Short: "make the live state match the file",
		Long: "apply makes the live state match the file through the same audited API requests a person would send. " +
			"Removals only with --allow-removals; giving back what an access review or an administrator removed only with " +
			"--allow-regrant, which the re-granting request's justification and the audit log record.",
		Example: "  jitpim config apply local/demo/jitpim.yaml --allow-removals",
		RunE:    r.run(func(ctx context.Context, args []string) error { return r.configPlan(ctx, args, pf, true) })}
	for _, c := range []*cobra.Command{plan, apply} {
		c.Flags().BoolVar(&pf.allowRemovals, "allow-removals", false, "also remove what the file no longer lists")
		c.Flags().BoolVar(&pf.allowRegrant, "allow-regrant", false, "also give back what an access review or an administrator removed")
	}
	return r.group("config", "policy as code: validate, plan and apply a policy file", validate, plan, apply)
}

func (r *runner) loadFile(name string, args []string) (*policyfile.File, error) {
	if len(args) != 1 {
		return nil, usagef("%s needs exactly one policy file, e.g. jitpim %s local/demo/jitpim.yaml", name, name)
	}
	f, err := policyfile.Load(args[0], r.Now())
	if err != nil {
		return nil, usagef("cannot read the policy file: %v", err)
	}
	return f, nil
}

func (r *runner) configValidate(args []string) error {
	f, err := r.loadFile("config validate", args)
	if err != nil {
		return err
	}
	errs := f.Errors()
	if r.json {
		if err := r.printJSON(map[string]any{"file": f.Path, "valid": len(errs) == 0, "diagnostics": nonNil(f.Diagnostics)}); err != nil {
			return err
		}
	} else {
		for _, d := range f.Diagnostics {
			fmt.Fprintln(r.Stdout, d.String())
		}
	}
	warnings := len(f.Diagnostics) - len(errs)
	if len(errs) > 0 {
		return refusedError{fmt.Sprintf("%s: %d error(s), %d warning(s): nothing is applied from a file with errors", f.Path, len(errs), warnings)}
	}
	if !r.json {
		fmt.Fprintf(r.Stdout, "%s: valid (%d warning(s))\n", f.Path, warnings)
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
func (r *runner) configPlan(ctx context.Context, args []string, pf planFlags, apply bool) error {
	name := "config plan"
	if apply {
		name = "config apply"
	}
	f, err := r.loadFile(name, args)
	if err != nil {
		return err
	}
	if errs := f.Errors(); len(errs) > 0 {
		for _, d := range f.Diagnostics {
			fmt.Fprintln(r.Stderr, d.String())
		}
		return refusedError{fmt.Sprintf("%s: %d error(s): fix them first (jitpim config validate %s)", f.Path, len(errs), f.Path)}
	}
	for _, d := range f.Diagnostics {
		fmt.Fprintln(r.Stderr, d.String())
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	live, err := policyfile.LoadLive(ctx, c, f)
	if err != nil {
		return fmt.Errorf("reading the live state: %w", err)
	}
	pl := policyfile.BuildPlan(f, live, policyfile.PlanOptions{AllowRemovals: pf.allowRemovals, AllowRegrant: pf.allowRegrant, Now: r.Now()})
	if !apply {
		if r.json {
			return r.printJSON(pl)
		}
		fmt.Fprint(r.Stdout, pl.Text())
		return nil
	}
	// Giving back what an access review or an administrator took away is
	// refused before anything is sent, unless asked for by name.
	if rg := pl.Regrants(); len(rg) > 0 && !pf.allowRegrant {
		if r.json {
			if err := r.printJSON(map[string]any{"plan": pl, "added": 0, "changed": 0, "removed": 0, "held": 0, "refused": len(rg)}); err != nil {
				return err
			}
		} else {
			fmt.Fprint(r.Stdout, pl.Text())
		}
		return refusedError{fmt.Sprintf("apply refused, nothing was changed: %d addition(s) would re-grant access that an access review or an administrator removed (marked ! in the plan). "+
			"Take them out of %s to keep the removal, or run apply again with --allow-regrant to give the access back; the re-granting requests' justification and the audit log record the override", len(rg), f.Path)}
	}
	if !r.json {
		fmt.Fprint(r.Stdout, pl.Text())
		if !pl.Empty() {
			fmt.Fprintln(r.Stdout, "\nApplying:")
		}
	}
	w := r.Stdout
	if r.json {
		w = nil
	}
	res, err := policyfile.Apply(ctx, c, pl, w)
	if r.json {
		out := map[string]any{"plan": pl, "added": res.Added, "changed": res.Changed, "removed": res.Removed, "held": res.Held}
		if err != nil {
			out["error"] = err.Error()
		}
		if jerr := r.printJSON(out); jerr != nil {
			return jerr
		}
	} else {
		if !pl.Empty() || err != nil {
			fmt.Fprintln(r.Stdout, res.String())
		}
		if len(pl.AppSettings) > 0 {
			fmt.Fprintf(r.Stdout, "Not set: %d app setting(s) listed above (alerts, break-glass accounts) are deployment settings that apply cannot set: set them in the Function App's configuration.\n", len(pl.AppSettings))
		}
	}
	if err != nil {
		return fmt.Errorf("apply stopped after %d change(s): %w", res.Added+res.Changed+res.Removed, err)
	}
	return nil
}
