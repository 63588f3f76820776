package browser

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/jitpim/jitpim/local/stack"
	"github.com/jitpim/jitpim/shared/domain"
)

// download clicks the link at css and returns the file the browser saved
// (its suggested name and its content): what a person gets from the link.
func (p *person) download(css string) (name, body string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	dir := p.t.TempDir()
	begin := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(css))); err != nil {
		p.t.Fatalf("%s: download %s: %v", p.alias, css, err)
	}
	for ev, err := range begin {
		if err != nil {
			p.t.Fatalf("%s: download %s did not begin: %v", p.alias, css, err)
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			p.t.Fatalf("%s: download %s did not finish: %v", p.alias, css, err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			p.t.Fatalf("%s: download %s canceled", p.alias, css)
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			p.t.Fatal(err)
		}
		return name, string(b)
	}
	p.t.Fatalf("%s: download %s: no progress", p.alias, css)
	return "", ""
}

// TestAdminScreens: Gina, a jitpim administrator, signs in with MFA, makes
// Stan eligible for Exchange Administrator, and shortens that role's
// maximum activation to 30 minutes with a ticket required. Stan's next
// activation offers nothing longer and asks for the ticket; he activates.
// Gina finds each step of it in the audit log by his name, downloads it as
// CSV and JSON lines, verifies the hash chain, and sees the alerts with the
// break-glass accounts and the access review definitions. Stan, not an
// administrator, sees no Admin link and is told in words that the Admin
// screens are not his.
func TestAdminScreens(t *testing.T) {
	exchange, err := domain.ParseObjectID("role", stack.RoleExchangeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	target := domain.RoleTarget(exchange, domain.TenantScope)
	stan := stack.UserID(st.Tenant, "stan")

	gina := newPerson(t, "gina")
	gina.run("open Admin", chromedp.Navigate(st.HostURL+"/portal/admin/assignments"), chromedp.WaitVisible(chromedp.CSS(`main a.button`)),
		chromedp.Click(chromedp.CSS(`main a.button`)))
	gina.signIn(true)
	gina.sees("Assignments", "Add an assignment", "Global Administrator")
	gina.checkA11y("admin assignments")

	// An admin adds an eligible assignment.
	gina.run("add Stan as eligible",
		chromedp.SetValue(chromedp.CSS(`#principal`), stan),
		chromedp.SetValue(chromedp.CSS(`#target`), target.Key()),
		chromedp.SetValue(chromedp.CSS(`#end`), "P90D"),
		chromedp.SetValue(chromedp.CSS(`#justification`), "Exchange migration project"),
		chromedp.Click(chromedp.CSS(`#add button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	gina.sees("Stan Developer is eligible for Exchange Administrator until")
	gina.run("see Exchange Administrator's assignments", chromedp.Navigate(st.HostURL+"/portal/admin/assignments?target="+url.QueryEscape(target.Key())),
		chromedp.WaitVisible(chromedp.CSS(`table`)))
	gina.sees("Assignments: Exchange Administrator", "Stan Developer", "Eligible")
	gina.checkA11y("admin assignments of one role")
	gina.shot("admin-assignments")

	// The settings table, then Exchange Administrator's row changed.
	gina.run("settings", chromedp.Click(chromedp.CSS(`nav.subnav a[href="/portal/admin/settings"]`)), chromedp.WaitVisible(chromedp.CSS(`table`)))
	gina.sees("Role and group settings", "Global Administrator", "Exchange Administrator", "Helpdesk Administrator", "Activation duration", "Alice Approver")
	gina.checkA11y("admin settings")
	gina.shot("admin-settings")
	policyID := domain.PolicyID(target)
	gina.run("edit Exchange Administrator", chromedp.Click(chromedp.CSS(`a[href*="`+policyID+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#activation`)))
	gina.sees("Settings: Exchange Administrator", "Maximum activation duration")
	gina.checkA11y("admin settings edit")
	gina.run("shorten and require a ticket",
		chromedp.SetValue(chromedp.CSS(`#activation`), "PT30M"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("input[name=ticket]").checked = true`),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	gina.sees("Saved. The next activation of Exchange Administrator follows these settings.")
	gina.shot("admin-settings-edit")

	// Stan's next activation obeys the change.
	stanB := newPerson(t, "stan")
	stanB.run("open the portal", chromedp.Navigate(st.HostURL+"/"), chromedp.WaitVisible(chromedp.CSS(`main a.button`)),
		chromedp.Click(chromedp.CSS(`main a.button`)))
	stanB.signIn(true)
	stanB.sees("My roles", "Exchange Administrator", "ticket", "at most 30 minutes")
	if stanB.has(`nav a[href="/portal/admin/assignments"]`) {
		t.Error("Stan, not an administrator, is offered the Admin screens")
	}
	stanB.run("open Activate", chromedp.Click(chromedp.CSS(`a[href*="`+stack.RoleExchangeAdmin+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#duration`)))
	stanB.sees("Activate Exchange Administrator", "Ticket number (required)")
	options, err := chromedp.Run(stanB.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#duration option")].map(o => o.textContent)`))
	if err != nil || !slices.Equal(options, []string{"30 minutes"}) {
		t.Errorf("Stan's durations after the change: %q %v, want only 30 minutes", options, err)
	}
	stanB.run("activate",
		chromedp.SetValue(chromedp.CSS(`#justification`), "mailbox migration batch 3"),
		chromedp.SetValue(chromedp.CSS(`#ticket`), stack.DemoTicket("stan")),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	stanB.sees("Exchange Administrator is active until")
	if !st.Graph.HasRoleAssignment(stan, stack.RoleExchangeAdmin, "/") {
		t.Fatal("Stan activated, but does not hold Exchange Administrator")
	}

	// A non-admin gets no Admin screens, in words.
	stanB.run("try Admin", chromedp.Navigate(st.HostURL+"/portal/admin/settings"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	stanB.sees("Only for jitpim administrators", "the Admin screens needs a jitpim administrator")
	stanB.checkA11y("admin refused")
	stanB.run("try the export", chromedp.Navigate(st.HostURL+"/portal/admin/audit.csv"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	stanB.sees("Only for jitpim administrators")

	// The audit log shows each step of Stan's activation, by his name.
	gina.run("audit by person", chromedp.Navigate(st.HostURL+"/portal/admin/audit?person=Stan+Developer"), chromedp.WaitVisible(chromedp.CSS(`#chain`)))
	gina.sees("Audit log", "Stan Developer", "Gina Global", "Exchange Administrator", "request.create", "grant.add")
	gina.checkA11y("admin audit")
	gina.shot("admin-audit")
	for _, f := range []struct{ link, ext, want string }{
		{`a[href^="/portal/admin/audit.csv"]`, ".csv", "time,action,outcome"},
		{`a[href^="/portal/admin/audit.jsonl"]`, ".jsonl", `"principalName":"Stan Developer"`},
	} {
		name, body := gina.download(f.link)
		if !strings.HasPrefix(name, "jitpim-audit-") || !strings.HasSuffix(name, f.ext) || !strings.Contains(body, f.want) ||
			!strings.Contains(body, "Exchange Administrator") || !strings.Contains(body, "grant.add") {
			t.Errorf("download %s: %q\n%s", f.link, name, body)
		}
	}
	if _, err := st.RunTimer(context.Background(), "expirySweep"); err != nil {
		t.Fatal(err)
	}
	gina.run("verify the chain", chromedp.Click(chromedp.CSS(`#chain a`)), chromedp.WaitVisible(chromedp.CSS(`#chain`)))
	gina.sees("Hash chain: Intact:", "records verified")

	gina.run("alerts", chromedp.Click(chromedp.CSS(`nav.subnav a[href="/portal/admin/alerts"]`)), chromedp.WaitVisible(chromedp.CSS(`main h2`)))
	gina.sees("Alerts and break-glass accounts", "Break Glass 1", "Break Glass 2", "Severity")
	gina.checkA11y("admin alerts")
	gina.shot("admin-alerts")
	gina.run("reviews", chromedp.Click(chromedp.CSS(`nav.subnav a[href="/portal/admin/reviews"]`)), chromedp.WaitVisible(chromedp.CSS(`#rname`)))
	gina.run("define a review",
		chromedp.SetValue(chromedp.CSS(`#rname`), "Quarterly Global Administrator review"),
		chromedp.SetValue(chromedp.CSS(`#rscope`), "role:"+stack.RoleGlobalAdmin),
		chromedp.Click(chromedp.CSS(`form[action="/portal/admin/reviews"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)))
	gina.sees("The access review Quarterly Global Administrator review is defined", "Covers", "Global Administrator", "each person themselves")
	gina.checkA11y("admin reviews")
	gina.shot("admin-reviews")
}

// has reports whether the page has an element matching css.
func (p *person) has(css string) bool {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+css+"`"+`).length`))
	if err != nil {
		p.t.Fatalf("%s: query %s: %v", p.alias, css, err)
	}
	return n > 0
}
