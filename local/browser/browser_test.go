// Package browser drives the real portal in headless Chromium (Debian's
// chromium package) through chromedp, against the local stack that
// `make run` starts: the handler under the local Functions host, Azurite,
// the Graph, ServiceNow and issuer simulators. People sign in on the dev
// issuer's page as a person would. Every portal screen is checked with
// axe-core (pinned in package.json, injected by the test): no serious or
// critical WCAG 2.1 AA violation. Each test saves screenshots (to
// $TMPDIR/jitpim-screenshots; with JITPIM_UPDATE_SCREENSHOTS=1, as
// `make screenshots` sets, to docs/screenshots for README).
//
// Chromium must be on PATH as chromium (.ci/run installs it); without it
// the tests fail when JITPIM_BROWSER_REQUIRED=1 (CI) and skip otherwise.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitpim/jitpim/local/stack"
)

var (
	st        *stack.Stack
	clockFile string // the handler's test clock offset, in seconds (advance)
	chromium  string
	axeJS     string
	shotsDir  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	chromium, _ = exec.LookPath("chromium")
	if chromium == "" {
		if os.Getenv("JITPIM_BROWSER_REQUIRED") == "1" {
			fmt.Fprintln(os.Stderr, "chromium is not installed (apt-get install -y chromium)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "browser tests skipped: chromium is not installed (apt-get install -y chromium)")
		return 0
	}
	axe, err := os.ReadFile(filepath.Join(root, "local", "browser", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "axe-core is missing: npm ci --prefix local/browser:", err)
		return 1
	}
	axeJS = string(axe)
	// Screenshots always go to a directory of their own; README's copies in
	// docs/screenshots are replaced only when asked (make screenshots), so
	// a test run does not change the tree.
	shotsDir = filepath.Join(os.TempDir(), "jitpim-screenshots")
	if os.Getenv("JITPIM_UPDATE_SCREENSHOTS") == "1" {
		shotsDir = filepath.Join(root, "docs", "screenshots")
	}
	if err := os.MkdirAll(shotsDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin, err := os.MkdirTemp("", "jitpim-browser")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bin)
	for _, b := range [][]string{
		{"build", "-tags", "testclock", "-o", filepath.Join(bin, "jitpim"), "./functions"},
		{"build", "-o", filepath.Join(bin, "jitpim-host"), "./local/host"},
	} {
		cmd := exec.Command("go", b...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %v: %v\n%s", b, err, out)
			return 1
		}
	}
	clockFile = filepath.Join(bin, "clock")
	if err := os.WriteFile(clockFile, []byte("0"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logs := &stack.LogBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err = stack.Start(ctx, stack.Options{Root: root, HandlerBinary: filepath.Join(bin, "jitpim"), HostBinary: filepath.Join(bin, "jitpim-host"),
		TenantFile: filepath.Join(root, "local", "demo", "tenant.json"), Output: logs, Env: []string{"JITPIM_TEST_CLOCK_FILE=" + clockFile}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "stack: %v\n%s", err, logs.String())
		return 1
	}
	if err := st.SeedAndStartReviews(ctx); err != nil {
		st.Close()
		fmt.Fprintf(os.Stderr, "%v\n%s", err, logs.String())
		return 1
	}
	code := m.Run()
	st.Close()
	if code != 0 {
		s := logs.String()
		fmt.Fprintf(os.Stderr, "---- stack logs ----\n%s", s[max(0, len(s)-20000):])
	}
	return code
}

// person is one browser (its own cookies) for one demo user.
type person struct {
	t     *testing.T
	ctx   context.Context
	alias string
}

func newPerson(t *testing.T, alias string) *person {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-GB"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Run starts the browser, which lives as long as its context:
	// no timeout on that one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &person{t: t, ctx: ctx, alias: alias}
}

func (p *person) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		body, _ := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS("body")))
		p.t.Fatalf("%s: %s: %v\npage: %s", p.alias, what, err, body)
	}
}

// text is what the page shows.
func (p *person) text() string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		p.t.Fatalf("%s: read the page: %v", p.alias, err)
	}
	return body
}

// sees waits for the page to show text, and fails naming what it shows instead.
func (p *person) sees(texts ...string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := p.text()
		missing := ""
		for _, s := range texts {
			if !strings.Contains(body, s) {
				missing = s
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s does not see %q on:\n%s", p.alias, missing, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// signIn completes the dev issuer's sign-in page as the person, with or
// without MFA, and waits to be back on the portal.
func (p *person) signIn(mfa bool) {
	p.t.Helper()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS(`input[name=oid]`)),
		chromedp.SetValue(chromedp.CSS(`input[name=oid]`), stack.UserID(st.Tenant, p.alias)),
	}
	if mfa {
		actions = append(actions, chromedp.Click(chromedp.CSS(`input[name=mfa]`)))
	}
	actions = append(actions, chromedp.Click(chromedp.CSS(`button[value=signin]`)), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	p.run("sign in", actions...)
}

// violations runs axe-core on the page and returns its serious and
// critical violations of WCAG 2.0/2.1 A and AA.
func (p *person) violations(screen string) []string {
	p.t.Helper()
	script := axeJS + `;
axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r =>
  r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")))`
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("axe on %s: %v", screen, err)
	}
	return found
}

// checkA11y fails the test for every serious or critical violation.
func (p *person) checkA11y(screen string) {
	p.t.Helper()
	for _, v := range p.violations(screen) {
		p.t.Errorf("%s: accessibility: %s", screen, v)
	}
}

// shot saves a PNG of the viewport for README.
func (p *person) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(shotsDir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestRequesterStepUpAndApprover: Rita signs in without MFA, sees her
// roles by name with what they need, opens Activate for Global
// Administrator and is sent through step-up before the form; she
// activates and is told who she waits for. Alice approves from her inbox
// (also on a phone-sized screen), and Rita sees the role active and ends it.
func TestRequesterStepUpAndApprover(t *testing.T) {
	rita := newPerson(t, "rita")
	rita.run("open the portal", chromedp.Navigate(st.HostURL+"/"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	rita.sees("Sign in to jitpim")
	rita.checkA11y("sign-in")
	rita.shot("sign-in")
	// The check can fail: an unlabelled field and an image without text
	// on this very page are found.
	rita.run("break the page", chromedp.Evaluate[chromedp.Void](`document.querySelector("main").insertAdjacentHTML("beforeend", '<img src="/portal/static/none.png"><input type="text">')`))
	if v := strings.Join(rita.violations("a broken page"), "\n"); !strings.Contains(v, "image-alt") || !strings.Contains(v, "label") {
		t.Fatalf("axe missed planted violations: %q", v)
	}
	rita.run("start sign-in", chromedp.Click(chromedp.CSS(`main a.button`)))
	rita.signIn(false)
	rita.sees("My roles", "Rita Regular", "Global Administrator", "MFA, justification, ticket, approval, at most 1 hour")
	rita.checkA11y("my roles")
	rita.shot("my-roles")

	ga := `a[href*="` + stack.RoleGlobalAdmin + `"]`
	rita.run("open Activate", chromedp.Click(chromedp.CSS(ga)), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	rita.sees("Your sign-in is not strong enough", "multi-factor")
	rita.checkA11y("step-up")
	rita.run("step up", chromedp.Click(chromedp.CSS(`main a.button`)))
	rita.signIn(true)
	rita.sees("Activate Global Administrator", "How long", "Ticket number")
	rita.checkA11y("activate")
	rita.shot("activate")
	rita.run("activate",
		chromedp.SetValue(chromedp.CSS(`#justification`), "tenant-wide Conditional Access change"),
		chromedp.SetValue(chromedp.CSS(`#ticket`), stack.DemoTicket("rita")),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	rita.sees("waiting for Alice")
	rita.run("my requests", chromedp.Click(chromedp.CSS(`nav a[href="/portal/requests"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	rita.sees("My requests", "Global Administrator", "waiting for Alice")
	rita.checkA11y("my requests")
	rita.shot("my-requests")

	alice := newPerson(t, "alice")
	alice.run("open the inbox", chromedp.Navigate(st.HostURL+"/portal/approvals"), chromedp.WaitVisible(chromedp.CSS(`main a.button`)),
		chromedp.Click(chromedp.CSS(`main a.button`)))
	alice.signIn(true)
	alice.sees("Approve requests", "Rita Regular wants Global Administrator", "rita@jitpimdemo.onmicrosoft.com",
		stack.DemoTicket("rita"), "1 hour, counted from approval", "tenant-wide Conditional Access change")
	alice.checkA11y("approve requests")
	alice.shot("approve-requests")
	alice.run("phone-sized", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	alice.checkA11y("approve requests on a phone")
	alice.shot("approve-requests-phone")
	alice.run("approve",
		chromedp.SetValue(chromedp.CSS(`textarea[name=justification]`), "CAB approved"),
		chromedp.Click(chromedp.CSS(`button[value=Approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	alice.sees("Approved: Rita Regular, Global Administrator")
	if !st.Graph.HasRoleAssignment(stack.UserID(st.Tenant, "rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("approved, but Rita does not hold Global Administrator")
	}

	rita.run("my roles again", chromedp.Click(chromedp.CSS(`nav a[href="/portal/"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	rita.sees("Active until")
	rita.checkA11y("my roles, active")
	rita.shot("my-roles-active")
	rita.run("deactivate", chromedp.Click(chromedp.CSS(`form[action="/portal/deactivate"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	rita.sees("Global Administrator is no longer active")
	if st.Graph.HasRoleAssignment(stack.UserID(st.Tenant, "rita"), stack.RoleGlobalAdmin, "/") {
		t.Fatal("deactivated, but Rita still holds Global Administrator")
	}
}
