package portal

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/policy"
	"github.com/jitpim/jitpim/shared/review"
)

// Admin holds the services the Admin screens act through: the same ones
// the API uses, so a rule the portal applies is the service's rule.
type Admin struct {
	Policies *policy.Service
	Reviews  *review.Service
	Alerts   *alert.Service
	// Chain verifies the audit hash chain as `jitpim audit verify` does;
	// nil (the memory store) shows that verification is not available.
	Chain AuditChain
}

// AuditChain is the audit chain check of the store in use
// (tablestore.AuditReader).
type AuditChain interface {
	// Verify returns how many linked records it checked, or where the chain is broken.
	Verify(ctx context.Context) (int, error)
	// Pending counts records written but not yet linked into the chain.
	Pending(ctx context.Context) (int, error)
}

// adminView is what an Admin screen shows below the frame.
type adminView struct {
	Tab         string
	Assignments *assignmentsView
	Settings    *settingsView
	PolicyForm  *policyForm
	Reviews     *reviewsView
	Alerts      *alertsView
	Audit       *auditView
}

// adminTabs are the Admin screens, in the order the sub-navigation shows them.
var adminTabs = []struct{ Path, Label string }{
	{"admin/assignments", "Assignments"},
	{"admin/settings", "Settings"},
	{"admin/reviews", "Access reviews"},
	{"admin/alerts", "Alerts"},
	{"admin/audit", "Audit log"},
}

// admin routes the Admin screens. Every one needs a jitpim administrator
// (the kernel's rule); a person who is not one is told so, in words, and
// sees nothing else. Forms that change something are shown only to a
// sign-in that may write (MFA, the kernel's RequireAdminWrite): step-up
// first, never a refusal after submit.
func (p *Portal) admin(v *visit, rest string) {
	pg := p.base(v)
	pg.Title = "Admin"
	if err := p.eng.RequireAdmin(v.r.Context(), v.call, "the Admin screens"); err != nil {
		if domain.IsCode(err, domain.CodeForbidden) {
			pg.Title, pg.Message, pg.Problem = "Only for jitpim administrators", messageOf(err)+
				". Ask a jitpim administrator if you need to change assignments or settings.", true
			p.render(v.w, http.StatusForbidden, pg)
			return
		}
		p.fail(v.w, pg, err)
		return
	}
	if v.r.Method != http.MethodPost && !strings.HasPrefix(rest, "admin/audit") && !p.canWrite(v, v.r.URL.RequestURI(), "changing assignments, settings, reviews or alerts") {
		return
	}
	switch rest {
	case "admin", "admin/":
		http.Redirect(v.w, v.r, Prefix+"admin/assignments", http.StatusSeeOther)
	case "admin/assignments":
		p.adminAssignments(v, pg)
	case "admin/settings":
		p.adminSettings(v, pg)
	case "admin/settings/edit":
		p.adminPolicy(v, pg)
	case "admin/reviews":
		p.adminReviews(v, pg)
	case "admin/alerts":
		p.adminAlerts(v, pg)
	case "admin/audit":
		p.adminAudit(v, pg)
	case "admin/audit.csv", "admin/audit.jsonl":
		p.adminAuditExport(v, pg, strings.TrimPrefix(rest, "admin/audit."))
	case "admin/audit/verify":
		p.adminAuditVerify(v, pg)
	default:
		p.render(v.w, http.StatusNotFound, page{Title: "Not found", Message: "There is nothing here."})
	}
}

// canWrite applies the kernel's admin-write rule to this sign-in before a
// screen with forms is shown. When it refuses, the browser goes through
// step-up sign-in (MFA) back to returnTo, and canWrite reports false: it
// has answered. The audit screens only read, so they need no step-up.
func (p *Portal) canWrite(v *visit, returnTo, what string) bool {
	refused := p.eng.RequireAdminWrite(v.r.Context(), v.call, what)
	if refused == nil {
		return true
	}
	if !domain.IsCode(refused, domain.CodeForbidden) || !p.stepUp(v, returnTo, domain.StepUp{MFA: true}, refused) {
		p.fail(v.w, p.base(v), refused)
	}
	return false
}

// adminPage renders an Admin screen under its tab.
func (p *Portal) adminPage(v *visit, pg page, status int, title string, view adminView) {
	pg.Title, pg.Admin = title, &view
	p.render(v.w, status, pg)
}

// adminFail shows a refusal on the Admin screen that was asked for.
func (p *Portal) adminFail(v *visit, pg page, tab string, err error) {
	pg.Admin = &adminView{Tab: tab}
	p.fail(v.w, pg, err)
}

// adminLinkTTL is how long the navigation remembers whether a person is an
// administrator. Only the link depends on it: every Admin screen asks the
// kernel afresh, so a removed admin loses the screens at once and at worst
// sees the link a few minutes longer.
const adminLinkTTL = 5 * time.Minute

// maxAdminLinks bounds the remembered answers; when full, all are forgotten.
const maxAdminLinks = 10000

// adminLinks remembers, per person, whether the Admin link shows: asking
// the directory on every page view would cost two Graph calls a page.
type adminLinks struct {
	mu   sync.Mutex
	seen map[domain.ObjectID]adminLink
}

type adminLink struct {
	admin bool
	at    time.Time
}

// showAdmin reports whether the navigation offers the Admin screens. Deny
// on doubt: when the directory cannot say, no link, and nothing is kept.
func (p *Portal) showAdmin(v *visit) bool {
	id := v.sess.ObjectID
	p.adminNav.mu.Lock()
	e, ok := p.adminNav.seen[id]
	p.adminNav.mu.Unlock()
	if ok && v.call.Now.Sub(e.at) < adminLinkTTL && !v.call.Now.Before(e.at) {
		return e.admin
	}
	admin, err := p.eng.IsAdmin(v.r.Context(), v.call)
	if err != nil {
		return false
	}
	p.adminNav.mu.Lock()
	if len(p.adminNav.seen) >= maxAdminLinks {
		clear(p.adminNav.seen)
	}
	p.adminNav.seen[id] = adminLink{admin: admin, at: v.call.Now}
	p.adminNav.mu.Unlock()
	return admin
}
