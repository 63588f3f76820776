// Package portal is jitpim's web portal: the screens a requester, an
// approver and a reviewer use (My roles with activate, deactivate, extend
// and renew; My requests with cancel; Approve requests; Access reviews) and
// an administrator's (assignments, settings, access review definitions,
// alerts and break-glass, the audit log), served by the same handler at the
// app's root, and the same screens behind the links in approval,
// confirmation and review mails (mailed.go).
//
// It is a client of the services exactly as the API is (engine.Engine for
// requests, schedules and approvals, review.Service for access reviews;
// policy, review and alert for the Admin screens); it
// never reads a store and holds no rule of its own. People are signed in by
// shared/weblogin (one session for the portal and the mailed links), every
// form carries a CSRF token bound to the session and the form (or the
// link), and every POST also passes net/http.CrossOriginProtection. A form
// that needs MFA or an authentication context is shown only after step-up
// sign-in, never refused after submit. Pages work without JavaScript; the
// one small script (local times, the ticket check while typing) and the
// stylesheet are served from the binary, so the Content-Security-Policy
// needs no 'unsafe-inline' and no CDN.
package portal

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// Prefix is where the portal's screens live; "/" sends the browser there.
// The Graph-shaped API stays under /api (see README, "The portal").
const Prefix = "/portal/"

//go:embed static/app.css static/app.js
var static embed.FS

// Portal serves the portal's screens.
type Portal struct {
	web      *weblogin.Web
	eng      *engine.Engine
	reviews  *review.Service
	links    *approvallink.Links // opens the mailed links (mailed.go)
	signIn   string              // the sign-in endpoint, taking return=, mfa=1 and acrs=
	cop      *http.CrossOriginProtection
	now      func() time.Time
	log      *slog.Logger
	screens  *template.Template
	adm      Admin
	adminNav *adminLinks
}

// New builds the portal; reviews may be nil (the Access reviews screen then
// says they are not configured). Its sign-in is SignInPath, under the
// mailed links' prefix, whose callback is registered in Entra; adm holds
// the services the Admin screens act through.
func New(web *weblogin.Web, eng *engine.Engine, reviews *review.Service, links *approvallink.Links, now func() time.Time, log *slog.Logger, adm Admin) *Portal {
	return &Portal{web: web, eng: eng, reviews: reviews, links: links, signIn: SignInPath, cop: http.NewCrossOriginProtection(), now: now, log: log, screens: allScreens,
		adm: adm, adminNav: &adminLinks{seen: map[domain.ObjectID]adminLink{}}}
}

// csp allows only this site's stylesheet and script, and the script's
// calls to this site (the ticket check): no inline code, no CDN.
const csp = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", csp)
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, Prefix+"static/"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		p.asset(w, r, name)
		return
	}
	h.Set("Cache-Control", "no-store")
	p.cop.Handler(http.HandlerFunc(p.screen)).ServeHTTP(w, r)
}

func (p *Portal) asset(w http.ResponseWriter, r *http.Request, name string) {
	types := map[string]string{"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
	b, err := static.ReadFile("static/" + name)
	if types[name] == "" || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", types[name])
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// visit is one signed-in page view.
type visit struct {
	w    http.ResponseWriter
	r    *http.Request
	sess weblogin.Session
	call *engine.Call
	path string // this screen's path, where step-up comes back to
}

func (p *Portal) screen(w http.ResponseWriter, r *http.Request) {
	inv := r.Header.Get(httpapi.InvocationHeader)
	if inv == "" {
		inv = uuid.NewString()
	}
	log := p.log.With("invocation_id", inv, "function", "portal")
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	if !strings.HasPrefix(r.URL.Path, Prefix) {
		p.render(w, http.StatusNotFound, page{Title: "Not found", Message: "There is nothing here."})
		return
	}
	sess, err := p.web.Session(r)
	if err != nil {
		if r.Method == http.MethodPost {
			p.fail(w, page{}, domain.Errorf(domain.CodeUnauthorized, "your session ended; sign in again, nothing was changed"))
			return
		}
		p.render(w, http.StatusOK, page{Title: "Sign in to jitpim", Message: "jitpim gives you privileged roles just in time. Sign in with your work account to see your roles and requests.",
			SignIn: p.signInURL(r.URL.RequestURI(), domain.StepUp{})})
		return
	}
	log = log.With("principal_id", sess.ObjectID)
	v := &visit{w: w, r: r, sess: sess, path: r.URL.Path,
		call: engine.NewCall(p.now(), inv, engine.Caller{ID: sess.ObjectID, Name: sess.Name, Auth: sess.Evidence()}, log)}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			p.fail(w, p.base(v), domain.Invalid("form", "could not be read"))
			return
		}
		if err := p.web.CheckCSRF(sess, rest, r.PostForm.Get("csrf")); err != nil {
			p.fail(w, p.base(v), err)
			return
		}
	}
	switch {
	case rest == "" && r.Method != http.MethodPost:
		p.myRoles(v)
	case rest == "activate":
		p.activate(v)
	case rest == "deactivate" && r.Method == http.MethodPost:
		p.deactivate(v)
	case rest == "extend":
		p.extend(v)
	case rest == "renew":
		p.renew(v)
	case rest == "ticket" && r.Method == http.MethodGet:
		p.ticketCheck(v)
	case rest == "requests":
		p.myRequests(v)
	case rest == "approvals":
		p.approvals(v)
	case rest == "admin" || strings.HasPrefix(rest, "admin/"):
		p.admin(v, rest)
	case rest == "reviews" && r.Method != http.MethodPost:
		p.myReviews(v)
	case rest == "review":
		p.review(v)
	case rest == "signout" && r.Method == http.MethodPost:
		p.web.SignOut(w)
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
	default:
		p.render(w, http.StatusNotFound, page{Title: "Not found", Message: "There is nothing here."})
	}
}

// signInURL is the sign-in that comes back to returnTo, asking for need.
func (p *Portal) signInURL(returnTo string, need domain.StepUp) string {
	u := p.signIn + "?return=" + url.QueryEscape(returnTo)
	if need.MFA {
		u += "&mfa=1"
	}
	if need.AuthContext != "" {
		u += "&acrs=" + url.QueryEscape(need.AuthContext)
	}
	return u
}

// justSignedIn: a sign-in this recent that still lacks the step-up would
// lack it again, so the page explains instead of sending the person round.
const justSignedIn = 2 * time.Minute

// stepUp sends the browser through step-up sign-in, back to returnTo, when
// refused (the rule's answer for this session) is not nil. It reports
// whether it answered.
func (p *Portal) stepUp(v *visit, returnTo string, need domain.StepUp, refused error) bool {
	if refused == nil {
		return false
	}
	if v.call.Now.Sub(v.sess.AuthTime) < justSignedIn {
		pg := p.base(v)
		pg.Title, pg.Message = "Your sign-in is not strong enough", messageOf(refused)
		pg.SignIn, pg.SignInText = p.signInURL(returnTo, need), "Sign in again"
		p.render(v.w, http.StatusForbidden, pg)
		return true
	}
	http.Redirect(v.w, v.r, p.signInURL(returnTo, need), http.StatusSeeOther)
	return true
}

// base is the page frame of a signed-in visit: who, the navigation, the
// sign-out form.
func (p *Portal) base(v *visit) page {
	me := person{Name: v.sess.Name, UPN: v.sess.UPN}
	if me.Name == "" { // ID tokens without the profile claims: ask the directory
		me = p.names(v).person(v.sess.ObjectID)
	}
	return page{SignedIn: true, Me: me.Name, MyUPN: me.UPN, Nav: v.path, SignOutCSRF: p.web.CSRFToken(v.sess, "signout"), IsAdmin: p.showAdmin(v)}
}

func messageOf(err error) string {
	var de *domain.Error
	if errors.As(err, &de) && de.Code != domain.CodeInternal {
		return de.Message
	}
	return "Something went wrong; nothing was changed. The service logged the cause."
}

func (p *Portal) fail(w http.ResponseWriter, pg page, err error) {
	if httpapi.StatusOf(err) == http.StatusInternalServerError {
		p.log.Error("portal page failed", "error", err)
	}
	pg.Title, pg.Message, pg.Problem = "Nothing was changed", messageOf(err), true
	p.render(w, httpapi.StatusOf(err), pg)
}

func (p *Portal) render(w http.ResponseWriter, status int, pg page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.screens.ExecuteTemplate(w, "page", pg); err != nil {
		p.log.Error("rendering a portal page failed", "error", err)
	}
}

// names resolves display names once per page view.
type names struct {
	ctx   context.Context
	eng   *engine.Engine
	call  *engine.Call
	users map[domain.ObjectID]domain.User
}

func (p *Portal) names(v *visit) *names {
	return &names{ctx: v.r.Context(), eng: p.eng, call: v.call, users: map[domain.ObjectID]domain.User{}}
}

// person is a user's display name and UPN; an id that cannot be resolved
// stays visible as the id.
func (n *names) person(id domain.ObjectID) person {
	u, ok := n.users[id]
	if !ok {
		var err error
		u, err = n.eng.DescribeUser(n.ctx, n.call, id)
		if err != nil {
			u = domain.User{}
		}
		n.users[id] = u
	}
	switch {
	case u.DisplayName == "" && u.UserPrincipalName != "":
		return person{Name: u.UserPrincipalName, ID: string(id)}
	case u.DisplayName == "":
		return person{Name: "unknown user " + string(id), ID: string(id)}
	}
	return person{Name: u.DisplayName, UPN: u.UserPrincipalName, ID: string(id)}
}

type person struct{ Name, UPN, ID string }
