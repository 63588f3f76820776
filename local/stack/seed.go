package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/cli"
	"github.com/jitpim/jitpim/shared/policyfile"
)

// Role template ids used by the demo (Entra built-in roles).
const (
	RoleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	RoleExchangeAdmin = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	RoleHelpdeskAdmin = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
)

// Client calls the jitpim API of a stack as one user.
type Client struct {
	Stack *Stack
	Token string
}

// As returns a client acting as a demo user (by UPN alias), with or without MFA.
func (s *Stack) As(alias string, mfa bool) (*Client, error) {
	id := UserID(s.Tenant, alias)
	if id == "" {
		return nil, fmt.Errorf("no demo user %q", alias)
	}
	tok, err := s.Token(id, mfa)
	if err != nil {
		return nil, err
	}
	return &Client{Stack: s, Token: tok}, nil
}

// Do sends a request to the API and decodes the JSON answer, if any.
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Stack.HostURL+"/api/"+strings.ReplaceAll(strings.TrimPrefix(path, "/"), " ", "%20"), rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			return res.StatusCode, nil, fmt.Errorf("%s %s: answer is not JSON: %.200s", method, path, data)
		}
	}
	return res.StatusCode, out, nil
}

// DemoPolicyFile finds the demo's policy file, local/demo/jitpim.yaml:
// $JITPIM_DEMO_POLICY if set, else from the working directory upwards (make
// run starts at the repository root, the end-to-end tests in local/e2e),
// else next to this source file.
func DemoPolicyFile() (string, error) {
	if p := os.Getenv("JITPIM_DEMO_POLICY"); p != "" {
		return p, nil
	}
	rel := filepath.Join("local", "demo", "jitpim.yaml")
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
				return filepath.Join(dir, rel), nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if _, src, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(src), "..", "demo", "jitpim.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: run from the repository or set JITPIM_DEMO_POLICY", rel)
}

// Seed configures the demo tenant by applying local/demo/jitpim.yaml
// through the API as the admin Gina, with the same code as
// `jitpim config apply`: the per-role settings of the seed guide (Global
// Administrator with MFA, ticket and approval for one hour; Exchange
// Administrator two hours; Helpdesk Administrator eight hours with a
// ticket), PIM for Groups on the "Global Administrators (God Mode)" group
// and the privileged access groups, the L1–L3 tiers, and the
// eligibilities. Re-running it changes nothing.
func (s *Stack) Seed(ctx context.Context) error {
	path, err := DemoPolicyFile()
	if err != nil {
		return err
	}
	f, err := policyfile.Load(path, time.Now())
	if err != nil {
		return err
	}
	if errs := f.Errors(); len(errs) > 0 {
		var lines []string
		for _, d := range errs {
			lines = append(lines, d.String())
		}
		return fmt.Errorf("the demo policy file has errors:\n%s", strings.Join(lines, "\n"))
	}
	if err := s.checkDirectory(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	pl, _, err := s.ApplyPolicyFile(ctx, f, "gina", false)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if len(pl.Warnings) > 0 {
		return fmt.Errorf("seed: %s", strings.Join(pl.Warnings, "; "))
	}
	return nil
}

// ApplyPolicyFile plans a policy file against the stack and applies it, as
// a demo user (an admin) signed in with MFA.
func (s *Stack) ApplyPolicyFile(ctx context.Context, f *policyfile.File, alias string, allowRemovals bool) (*policyfile.Plan, policyfile.ApplyResult, error) {
	id := UserID(s.Tenant, alias)
	if id == "" {
		return nil, policyfile.ApplyResult{}, fmt.Errorf("no demo user %q", alias)
	}
	tok, err := s.Token(id, true)
	if err != nil {
		return nil, policyfile.ApplyResult{}, err
	}
	api := cli.NewClient(s.HostURL+"/api", tok)
	live, err := policyfile.LoadLive(ctx, api, f)
	if err != nil {
		return nil, policyfile.ApplyResult{}, err
	}
	pl := policyfile.BuildPlan(f, live, policyfile.PlanOptions{AllowRemovals: allowRemovals, Now: time.Now()})
	res, err := policyfile.Apply(ctx, api, pl, nil)
	return pl, res, err
}

// checkDirectory makes sure the file's names match the demo tenant: every
// user and group exists with that id, and its break-glass accounts are the
// ones the handler is configured with.
func (s *Stack) checkDirectory(f *policyfile.File) error {
	users := map[string]bool{}
	for _, u := range s.Tenant.Users {
		users[strings.ToLower(u.ID)] = true
	}
	groups := map[string]bool{}
	for _, g := range s.Tenant.Groups {
		groups[strings.ToLower(g.ID)] = true
	}
	for _, u := range f.Users {
		if !users[string(u.ID)] {
			return fmt.Errorf("line %d: user %s (%s) is not in the demo tenant", u.Line, u.Name, u.ID)
		}
	}
	for _, g := range f.Groups {
		if !groups[string(g.ID)] {
			return fmt.Errorf("line %d: group %s (%s) is not in the demo tenant", g.Line, g.Name, g.ID)
		}
	}
	var inFile []string
	for _, r := range f.BreakGlass {
		inFile = append(inFile, string(r.ID))
	}
	want := BreakGlassIDs(s.Tenant)
	slices.Sort(inFile)
	slices.Sort(want)
	if !slices.Equal(inFile, want) {
		return fmt.Errorf("breakGlass lists %v, but the stack's handler protects %v", inFile, want)
	}
	return nil
}

// SeedAndStartReviews is Seed, then a run of the accessReviews timer, as
// make run does: the policy file's access reviews start their first
// instance now, so a test's own review is the only one a later run starts.
func (s *Stack) SeedAndStartReviews(ctx context.Context) error {
	if err := s.Seed(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if out, err := s.RunTimer(ctx, "accessReviews"); err != nil {
		return fmt.Errorf("access reviews: %w (%s)", err, out)
	}
	return nil
}
