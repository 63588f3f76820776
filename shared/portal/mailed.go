package portal

import (
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// MailedPrefix is where the links in approval, confirmation and review
// mails point, and where sign-in starts and comes back (the callback is
// the redirect URI registered in Entra):
//
//	GET  r/{token}       the request, on the portal's approval screen;
//	                     changes nothing (mail scanners open it)
//	POST r/{token}       decides; needs the link's own recipient signed in
//	                     (step-up first) and the form's CSRF token
//	GET  review/{token}  the review, on the portal's review screen
//	POST review/{token}  decides review items, as the portal's screen does
//	GET  login           starts the sign-in (return=, and mfa=1 / acrs=
//	                     for a step-up); GET callback finishes it
//
// A scanner that opens the link, or even submits the form, has no session
// cookie (set only by a real sign-in, HttpOnly and SameSite), so it can
// neither see the details nor decide anything.
const MailedPrefix = approvallink.PagePrefix

// SignInPath starts a sign-in for the portal and the mailed links (one
// session for both).
const SignInPath = MailedPrefix + "login"

// Mailed serves the mailed links and the sign-in under MailedPrefix, with
// the portal's screens and session. A link's signature, expiry, purpose
// and single use are checked by shared/approvallink, as before.
func (p *Portal) Mailed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer") // the token is in the URL: never pass it on
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", csp)
		p.cop.Handler(http.HandlerFunc(p.mailed)).ServeHTTP(w, r)
	})
}

func (p *Portal) mailed(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, MailedPrefix)
	readOrPost := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodPost
	switch {
	case rest == "login" && r.Method == http.MethodGet:
		q := r.URL.Query()
		ret, acrs := q.Get("return"), q.Get("acrs")
		if !(strings.HasPrefix(ret, MailedPrefix+"r/") || strings.HasPrefix(ret, MailedPrefix+"review/") || strings.HasPrefix(ret, Prefix)) || !weblogin.ValidReturnTo(ret) ||
			len(acrs) > 64 || strings.ContainsFunc(acrs, func(c rune) bool { return c <= ' ' || c > '~' }) {
			p.render(w, http.StatusBadRequest, page{Title: "Bad sign-in link", Message: "This sign-in link is not valid.", Problem: true})
			return
		}
		p.web.StartLogin(w, r, ret, domain.StepUp{MFA: q.Get("mfa") == "1", AuthContext: acrs})
	case rest == "callback" && r.Method == http.MethodGet:
		ret, err := p.web.Callback(w, r)
		if err != nil {
			p.log.Warn("sign-in failed", "error", err)
			p.fail(w, page{}, err)
			return
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
	case strings.HasPrefix(rest, "r/") && readOrPost:
		if v, claims, ok := p.openLink(w, r, rest, page{Title: "A privileged access request needs you",
			Message: "Sign in to see the request and decide. Opening this page changed nothing."},
			approvallink.PurposeApprove, approvallink.PurposeConfirm); ok {
			p.approvalLink(v, claims)
		}
	case strings.HasPrefix(rest, "review/") && readOrPost:
		if v, claims, ok := p.openLink(w, r, rest, page{Title: "An access review needs you",
			Message: "Sign in to see the access you are asked to review. Opening this page changed nothing."},
			approvallink.PurposeReview); ok {
			p.reviewScreen(v, claims.StageID, claims.RequestID, v.path, p.web.CSRFToken(v.sess, claims.Nonce), v.path)
		}
	default:
		p.render(w, http.StatusNotFound, page{Title: "Not found", Message: "There is nothing here."})
	}
}

// openLink is the flow every mailed link shares: the token must verify and
// serve one of purposes; before sign-in the page only says that something
// waits (what, is for the recipient) and a POST is refused; after sign-in
// only the person the link was sent to goes on, and a POST must carry the
// CSRF token bound to the session and the link. It answers the request
// itself and reports false when the flow stops.
func (p *Portal) openLink(w http.ResponseWriter, r *http.Request, rest string, waiting page, purposes ...string) (*visit, approvallink.Claims, bool) {
	token := rest[strings.Index(rest, "/")+1:]
	self := MailedPrefix + rest
	claims, err := p.links.Open(token, purposes...)
	if err != nil {
		p.fail(w, page{}, err)
		return nil, claims, false
	}
	inv := r.Header.Get(httpapi.InvocationHeader)
	if inv == "" {
		inv = uuid.NewString()
	}
	log := p.log.With("invocation_id", inv, "function", "approvals")
	sess, err := p.web.Session(r)
	if err != nil {
		if r.Method == http.MethodPost {
			p.fail(w, page{}, domain.Errorf(domain.CodeUnauthorized, "sign in before deciding"))
			return nil, claims, false
		}
		// Mailed links decide privileged access: their sign-in is always a
		// fresh one with MFA, as approvers and confirmations need by default.
		waiting.SignIn = p.signInURL(self, domain.StepUp{MFA: true})
		p.render(w, http.StatusOK, waiting)
		return nil, claims, false
	}
	log = log.With("principal_id", sess.ObjectID, "link_request_id", claims.RequestID)
	v := &visit{w: w, r: r, sess: sess, path: self,
		call: engine.NewCall(p.now(), inv, engine.Caller{ID: sess.ObjectID, Name: sess.Name, Auth: sess.Evidence()}, log)}
	subject, err := domain.ParseObjectID("link subject", claims.SubjectID)
	if err != nil || sess.ObjectID != subject {
		log.Warn("link opened by someone it was not sent to")
		p.fail(w, p.base(v), domain.Errorf(domain.CodeForbidden, "this link was sent to someone else; sign in as its recipient"))
		return nil, claims, false
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			p.fail(w, p.base(v), domain.Invalid("form", "could not be read"))
			return nil, claims, false
		}
		if err := p.web.CheckCSRF(sess, claims.Nonce, r.PostForm.Get("csrf")); err != nil {
			p.fail(w, p.base(v), err)
			return nil, claims, false
		}
	}
	return v, claims, true
}

// approvalLink shows the request of an approval or confirmation link on
// the portal's approval screen, and decides it on POST; the link is spent
// once its decision is recorded.
func (p *Portal) approvalLink(v *visit, claims approvallink.Claims) {
	pg := p.base(v)
	pg.Nav = Prefix + "approvals"
	ctx := v.r.Context()
	req, err := p.eng.GetApproval(ctx, v.call, claims.RequestID)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	i, ok := req.Approval.StageByID(claims.StageID)
	if !ok || (claims.Purpose == approvallink.PurposeConfirm) != req.Approval.Stages[i].Confirmation {
		p.fail(v.w, pg, domain.Errorf(domain.CodeForbidden, "this link does not match the request"))
		return
	}
	stage := req.Approval.Stages[i]
	if !req.AwaitsDecision() || (stage.Status != domain.StageInProgress && stage.Status != domain.StageEscalated) {
		// Over: say so instead of showing a form that would be refused. A
		// POST gets the same page (a scanner or a stale tab changes nothing).
		pg.Title, pg.Message = "Nothing to decide", requestOverMessage(req, stage)
		p.render(v.w, http.StatusConflict, pg)
		return
	}
	need, refused, err := p.eng.DecisionStepUp(ctx, v.call, req, stage)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	if v.r.Method != http.MethodPost { // GET, and HEAD answered like it
		if p.stepUp(v, v.path, need, refused) {
			return
		}
		row := p.approvalRow(v, p.names(v), req, stage)
		row.Action, row.CSRF = v.path, p.web.CSRFToken(v.sess, claims.Nonce)
		pg.Title, pg.Approvals = "Review the request", []approvalRow{row}
		if stage.Confirmation {
			pg.Title = "Confirm your activation"
		}
		p.render(v.w, http.StatusOK, pg)
		return
	}
	f := v.r.PostForm
	decision := f.Get("decision")
	if decision != domain.ReviewApprove && decision != domain.ReviewDeny {
		p.fail(v.w, pg, domain.Invalid("decision", "must be Approve or Deny"))
		return
	}
	got, err := p.eng.Decide(ctx, v.call, claims.RequestID, engine.Decision{StageID: claims.StageID, Result: decision,
		Justification: strings.TrimSpace(f.Get("justification"))})
	p.eng.FlushMail(ctx, v.call)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	// The decision is made once; spending the link makes it unusable afterwards.
	if err := p.links.Spend(ctx, claims); err != nil {
		v.call.Log.Error("recording the used link failed", "error", err)
	}
	v.call.Log.Info("decided through a mailed link", "decision", decision, "status", got.Status)
	name, _ := p.targetName(ctx, got.Target)
	pg.Title = "Recorded"
	verb := map[bool]string{true: "Approved", false: "Denied"}[decision == domain.ReviewApprove]
	if stage.Confirmation {
		verb = map[bool]string{true: "Confirmed", false: "Canceled"}[decision == domain.ReviewApprove]
	}
	pg.Message = verb + ": " + p.names(v).person(got.PrincipalID).Name + ", " + name + " (" + p.outcomeWords(v, got) + ")."
	p.render(v.w, http.StatusOK, pg)
}

// outcomeWords is a request's status in words, naming whom it waits for.
func (p *Portal) outcomeWords(v *visit, r domain.Request) string {
	if r.Status == domain.StatusPendingApproval {
		return p.waitingFor(v, r)
	}
	return statusWords(r.Status)
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
