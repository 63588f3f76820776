package httpapi

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// Pages serves the pages behind the links in approval and confirmation
// mails, under /api/approvals/:
//
//	GET  r/{token}  shows the request; changes nothing (mail scanners open it)
//	POST r/{token}  decides; needs the link's own recipient signed in
//	                (OIDC, MFA visible in the token) and the form's CSRF token
//	GET  login      starts the sign-in (return=, and mfa=1 / acrs= for a
//	                step-up); GET callback finishes it
//
// A scanner that opens the link, or even submits the form, has no session
// cookie (it is set only by a real sign-in and is HttpOnly and SameSite), so
// it can neither see the details nor decide anything. Before a form is
// shown, a session whose sign-in would be refused (no MFA, too old, no
// authentication context) is sent through step-up sign-in and back. Every
// POST also passes net/http.CrossOriginProtection (Sec-Fetch-Site, Origin)
// besides its CSRF token.
type Pages struct {
	links   *approvallink.Links
	web     *weblogin.Web
	cop     *http.CrossOriginProtection
	eng     *engine.Engine
	reviews *review.Service
	now     func() time.Time
	log     *slog.Logger
}

// NewPages builds the approval and review pages; reviews may be nil (the
// review pages then say access reviews are not configured).
func NewPages(links *approvallink.Links, web *weblogin.Web, eng *engine.Engine, reviews *review.Service, now func() time.Time, log *slog.Logger) *Pages {
	return &Pages{links: links, web: web, cop: http.NewCrossOriginProtection(), eng: eng, reviews: reviews, now: now, log: log}
}

const pagePrefix = approvallink.PagePrefix

// SignInPath starts a sign-in for the mailed pages and the portal (one
// session for both); its callback is the redirect URI registered in Entra.
const SignInPath = pagePrefix + "login"

// portalPrefix is where the portal lives; the sign-in may return there.
const portalPrefix = "/portal/"

// opened is a mailed link opened by its own recipient, signed in.
type opened struct {
	claims approvallink.Claims
	sess   weblogin.Session
	call   *engine.Call
	self   string // the page's own path, the form's action
}

// open is the flow every mailed link shares: the token must verify and
// serve one of purposes; before sign-in the page only says that something
// waits (what, is for the recipient) and a POST is refused; after sign-in
// only the person the link was sent to goes on. It answers the request
// itself and reports false when the flow stops.
func (p *Pages) open(w http.ResponseWriter, r *http.Request, path, token, inv string, log *slog.Logger, waiting view, purposes ...string) (opened, bool) {
	claims, err := p.links.Open(token, purposes...)
	if err != nil {
		p.fail(w, err)
		return opened{}, false
	}
	self := pagePrefix + path + token
	sess, err := p.web.Session(r)
	if err != nil {
		if r.Method == http.MethodPost {
			p.fail(w, domain.Errorf(domain.CodeUnauthorized, "sign in before deciding"))
			return opened{}, false
		}
		// Mailed links decide privileged access: their sign-in is always a
		// fresh one with MFA, as approvers and confirmations need by default.
		waiting.SignIn = signInURL(self, domain.StepUp{MFA: true})
		p.page(w, http.StatusOK, waiting)
		return opened{}, false
	}
	log = log.With("principal_id", sess.ObjectID, "link_request_id", claims.RequestID)
	if sess.ObjectID != domain.CanonicalID(claims.SubjectID) {
		log.Warn("link opened by someone it was not sent to")
		p.fail(w, domain.Errorf(domain.CodeForbidden, "this link was sent to someone else; sign in as its recipient"))
		return opened{}, false
	}
	c := engine.NewCall(p.now(), inv, engine.Caller{ID: sess.ObjectID, Name: sess.Name, Auth: sess.Evidence()}, log)
	return opened{claims: claims, sess: sess, call: c, self: self}, true
}

// signInURL is the sign-in that comes back to returnTo, asking for need.
func signInURL(returnTo string, need domain.StepUp) string {
	u := pagePrefix + "login?return=" + url.QueryEscape(returnTo)
	if need.MFA {
		u += "&mfa=1"
	}
	if need.AuthContext != "" {
		u += "&acrs=" + url.QueryEscape(need.AuthContext)
	}
	return u
}

// justSignedIn is how long after a sign-in a page explains a missing
// step-up instead of sending the person to sign in again: a sign-in that
// just failed to provide it would fail again, in a loop.
const justSignedIn = 2 * time.Minute

// stepUp sends the browser through step-up sign-in when the session
// cannot do what the form offers (refused is the engine's answer for this
// session), before the form is shown. It reports whether it answered.
func (p *Pages) stepUp(w http.ResponseWriter, r *http.Request, o opened, need domain.StepUp, refused error) bool {
	if refused == nil || r.Method == http.MethodPost {
		return false // a POST is decided by the engine, which refuses it the same way
	}
	if p.now().Sub(o.sess.AuthTime) < justSignedIn {
		p.page(w, http.StatusForbidden, view{Title: "Your sign-in is not strong enough", Message: messageOf(refused),
			SignIn: signInURL(o.self, need), SignInText: "Sign in again"})
		return true
	}
	http.Redirect(w, r, signInURL(o.self, need), http.StatusSeeOther)
	return true
}

// decision reads a POSTed decision form: the CSRF token bound to the
// session and the link, and one of the decisions allowed.
func (p *Pages) decision(r *http.Request, o opened, allowed ...string) (string, error) {
	if err := r.ParseForm(); err != nil {
		return "", domain.Invalid("form", "could not be read")
	}
	if err := p.web.CheckCSRF(o.sess, o.claims.Nonce, r.PostForm.Get("csrf")); err != nil {
		return "", err
	}
	d := r.PostForm.Get("decision")
	if !slices.Contains(allowed, d) {
		return "", domain.Invalid("decision", "must be %s or %s", strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1])
	}
	return d, nil
}

func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL: never pass it on
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// The portal's stylesheet, the same look; no inline style or script.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	inv := r.Header.Get(InvocationHeader)
	if inv == "" {
		inv = uuid.NewString()
	}
	log := p.log.With("invocation_id", inv, "function", "approvals")
	p.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, log, inv) })).ServeHTTP(w, r)
}

func (p *Pages) serve(w http.ResponseWriter, r *http.Request, log *slog.Logger, inv string) {
	rest := strings.TrimPrefix(r.URL.Path, pagePrefix)
	switch {
	case rest == "login" && r.Method == http.MethodGet:
		q := r.URL.Query()
		ret, acrs := q.Get("return"), q.Get("acrs")
		if !(strings.HasPrefix(ret, pagePrefix+"r/") || strings.HasPrefix(ret, pagePrefix+"review/") || strings.HasPrefix(ret, portalPrefix)) || !weblogin.ValidReturnTo(ret) ||
			len(acrs) > 64 || strings.ContainsFunc(acrs, func(c rune) bool { return c <= ' ' || c > '~' }) {
			p.page(w, http.StatusBadRequest, view{Title: "Bad sign-in link", Message: "This sign-in link is not valid."})
			return
		}
		p.web.StartLogin(w, r, ret, domain.StepUp{MFA: q.Get("mfa") == "1", AuthContext: acrs})
	case rest == "callback" && r.Method == http.MethodGet:
		ret, err := p.web.Callback(w, r)
		if err != nil {
			log.Warn("sign-in failed", "error", err)
			p.fail(w, err)
			return
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
	case strings.HasPrefix(rest, "r/") && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodPost):
		p.link(w, r, strings.TrimPrefix(rest, "r/"), inv, log)
	case strings.HasPrefix(rest, "review/") && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodPost):
		p.review(w, r, strings.TrimPrefix(rest, "review/"), inv, log)
	default:
		p.page(w, http.StatusNotFound, view{Title: "Not found", Message: "There is nothing here."})
	}
}

type view struct {
	Title, Message string
	Request        *domain.Request
	Target         string
	Requester      string
	Stage          *domain.ApprovalStage
	Confirm        bool
	SignIn         string
	SignInText     string
	CSRF           string
	Action         string
	End            string
}

func (p *Pages) link(w http.ResponseWriter, r *http.Request, token, inv string, log *slog.Logger) {
	o, ok := p.open(w, r, "r/", token, inv, log, view{Title: "A privileged access request needs you",
		Message: "Sign in to see the request and decide. Opening this page changed nothing."},
		approvallink.PurposeApprove, approvallink.PurposeConfirm)
	if !ok {
		return
	}
	claims, c, ctx := o.claims, o.call, r.Context()
	req, err := p.eng.GetApproval(ctx, c, claims.RequestID)
	if err != nil {
		p.fail(w, err)
		return
	}
	i, ok := req.Approval.StageByID(claims.StageID)
	if !ok || (claims.Purpose == approvallink.PurposeConfirm) != req.Approval.Stages[i].Confirmation {
		p.fail(w, domain.Errorf(domain.CodeForbidden, "this link does not match the request"))
		return
	}
	stage := req.Approval.Stages[i]
	v := view{Request: &req, Target: domain.TargetName(req.Target), Requester: string(req.PrincipalID), Stage: &stage,
		Confirm: stage.Confirmation, Action: o.self, End: req.EndAt.UTC().Format(time.RFC1123)}
	if !req.AwaitsDecision() || (stage.Status != domain.StageInProgress && stage.Status != domain.StageEscalated) {
		// Over: say so instead of showing a form that would be refused. A
		// POST gets the same page (a scanner or a stale tab changes nothing).
		v.Title, v.Message = "Nothing to decide", requestOverMessage(req, stage)
		p.page(w, http.StatusConflict, v)
		return
	}
	need, refused, err := p.eng.DecisionStepUp(ctx, c, req, stage)
	if err != nil {
		p.fail(w, err)
		return
	}
	if p.stepUp(w, r, o, need, refused) {
		return
	}
	if r.Method != http.MethodPost { // GET, and HEAD answered like it
		v.Title, v.CSRF = "Review the request", p.web.CSRFToken(o.sess, claims.Nonce)
		if stage.Confirmation {
			v.Title = "Confirm your activation"
		}
		p.page(w, http.StatusOK, v)
		return
	}
	decision, err := p.decision(r, o, domain.ReviewApprove, domain.ReviewDeny)
	if err != nil {
		p.fail(w, err)
		return
	}
	got, err := p.eng.Decide(ctx, c, claims.RequestID, engine.Decision{StageID: claims.StageID, Result: decision,
		Justification: strings.TrimSpace(r.PostForm.Get("justification"))})
	p.eng.FlushMail(ctx, c)
	if err != nil {
		p.fail(w, err)
		return
	}
	// The decision is made once; spending the link makes it unusable afterwards.
	if err := p.links.Spend(ctx, claims); err != nil {
		c.Log.Error("recording the used link failed", "error", err)
	}
	c.Log.Info("decided through the approval page", "decision", decision, "status", got.Status)
	p.page(w, http.StatusOK, view{Title: "Recorded", Message: "Your decision (" + decision + ") is recorded. The request is now " + string(got.Status) + "."})
}

func (p *Pages) fail(w http.ResponseWriter, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		de = domain.Wrap(domain.CodeInternal, err, "internal error")
	}
	m := statusOf[de.Code]
	if m.status == 0 {
		m = statusOf[domain.CodeInternal]
	}
	msg := de.Message
	if de.Code == domain.CodeInternal {
		msg = "Something went wrong; nothing was decided. The service logged the cause."
	}
	p.page(w, m.status, view{Title: "Nothing was changed", Message: msg})
}

func (p *Pages) page(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageT.Execute(w, v)
}

// messageOf is the message a person may read of a refusal.
func messageOf(err error) string {
	var de *domain.Error
	if errors.As(err, &de) && de.Code != domain.CodeInternal {
		return de.Message
	}
	return "Something went wrong; nothing was changed."
}

// requestOverMessage says in words why a mailed link has nothing left to decide.
func requestOverMessage(req domain.Request, stage domain.ApprovalStage) string {
	switch req.Status {
	case domain.StatusCanceled:
		return "This request was canceled; nothing is waiting for you."
	case domain.StatusDenied:
		return "This request was denied; nothing is waiting for you."
	case domain.StatusFailed:
		return "This request failed and was not granted; nothing is waiting for you."
	case domain.StatusProvisioned, domain.StatusGranted, domain.StatusPendingProvisioning:
		return "This request was already approved and granted; nothing is waiting for you."
	case domain.StatusRevoked:
		return "This request was granted and has since ended; nothing is waiting for you."
	}
	if stage.ReviewResult != domain.ReviewNotReviewed && stage.ReviewResult != "" {
		return "This stage was already decided (" + stage.ReviewResult + "); the request waits for its next stage."
	}
	return "This stage is not open for a decision."
}

var pageT = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>jitpim · {{.Title}}</title>
<link rel="stylesheet" href="/portal/static/app.css">
</head><body>
<header class="top"><span class="brand">jitpim</span> <a href="/portal/">Open the portal</a></header>
<main id="main" class="mailed">
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .SignIn}}<p><a href="{{.SignIn}}">{{if .SignInText}}{{.SignInText}}{{else}}Sign in with your work account{{end}}</a></p>{{end}}
{{if and .Request .CSRF}}
<dl>
<dt>Who</dt><dd>{{.Requester}}</dd>
<dt>What</dt><dd>{{.Target}}</dd>
<dt>Until</dt><dd>{{.End}}</dd>
<dt>Justification</dt><dd>{{.Request.Justification}}</dd>
{{if .Request.Ticket.Number}}<dt>Ticket</dt><dd>{{.Request.Ticket.System}} {{.Request.Ticket.Number}}{{if .Request.Ticket.Validated}} (validated){{end}}</dd>{{end}}
</dl>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if .Confirm}}
<p>Confirming activates the role for you now. Your sign-in must have used multi-factor authentication.</p>
<button type="submit" name="decision" value="Approve">Confirm activation</button>
<button type="submit" name="decision" value="Deny">Cancel it</button>
{{else}}
<p><label for="j">Justification</label><br><textarea id="j" name="justification" rows="3" maxlength="500"></textarea></p>
<button type="submit" name="decision" value="Approve">Approve</button>
<button type="submit" name="decision" value="Deny">Deny</button>
{{end}}
</form>
{{end}}
</main></body></html>`))
