package httpapi

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// ReviewLinkMaker returns the engine's review link function: a signed link
// for one reviewer and one access review instance, expiring when the
// instance ends (at most approvallink.MaxLifetime ahead; reminders carry
// fresh links). The link opens GET /api/approvals/review/{token}.
func ReviewLinkMaker(links *approvallink.Signer, publicURL string, now func() time.Time) engine.ReviewLinkFunc {
	base := strings.TrimRight(publicURL, "/")
	return func(definitionID, instanceID string, reviewerID domain.ObjectID, expires time.Time) (string, error) {
		if max := now().Add(approvallink.MaxLifetime - time.Hour); expires.IsZero() || expires.After(max) {
			expires = max
		}
		tok, err := links.Sign(approvallink.Claims{Purpose: approvallink.PurposeReview, RequestID: instanceID, StageID: definitionID,
			SubjectID: string(reviewerID), Expires: expires})
		if err != nil {
			return "", err
		}
		return base + pagePrefix + "review/" + tok, nil
	}
}

// reviewPageItems bounds the items one page shows; a reviewer with more
// decides these and reloads.
const reviewPageItems = 100

type reviewItemView struct {
	ID, Who, UPN, What, Kind, Until  string
	Recommendation, Reason, Decision string
	Justification                    string
	CanApprove                       bool
}

type reviewView struct {
	Title, Message, Back   string
	Name, Description, End string
	Warning                string
	Open                   bool
	More                   bool
	CSRF, Action           string
	Items                  []reviewItemView
}

// review serves an access review's page for one reviewer, as link does for
// approvals: GET shows (before sign-in only that something waits), POST
// decides one item, and needs the link's own recipient signed in and the
// form's CSRF token. Mail scanners can neither see nor decide anything.
func (p *Pages) review(w http.ResponseWriter, r *http.Request, token, inv string, log *slog.Logger) {
	claims, err := p.links.Verify(token)
	if err != nil {
		p.fail(w, err)
		return
	}
	if claims.Purpose != approvallink.PurposeReview {
		p.fail(w, domain.Errorf(domain.CodeForbidden, "this link is not an access review link"))
		return
	}
	self := pagePrefix + "review/" + token
	sess, err := p.web.Session(r)
	if err != nil {
		if r.Method == http.MethodPost {
			p.fail(w, domain.Errorf(domain.CodeUnauthorized, "sign in before deciding"))
			return
		}
		p.page(w, http.StatusOK, view{Title: "An access review needs you",
			Message: "Sign in to see the access you are asked to review. Opening this page changed nothing.",
			SignIn:  pagePrefix + "login?return=" + url.QueryEscape(self)})
		return
	}
	log = log.With("principal_id", sess.ObjectID, "instance_id", claims.RequestID)
	if !strings.EqualFold(string(sess.ObjectID), claims.SubjectID) {
		log.Warn("review link opened by someone it was not sent to")
		p.fail(w, domain.Errorf(domain.CodeForbidden, "this link was sent to someone else; sign in as its recipient"))
		return
	}
	c := engine.NewCall(p.now(), inv, engine.Caller{ID: sess.ObjectID, Name: sess.Name,
		Auth: domain.AuthEvidence{MFA: sess.MFA(), ACRS: sess.ACRS, AuthenticatedAt: sess.AuthTime}}, log)
	ctx := r.Context()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			p.fail(w, domain.Invalid("form", "could not be read"))
			return
		}
		if err := p.web.CheckCSRF(sess, claims.Nonce, r.PostForm.Get("csrf")); err != nil {
			p.fail(w, err)
			return
		}
		decision := r.PostForm.Get("decision")
		if decision != domain.ReviewApprove && decision != domain.ReviewDeny && decision != domain.ReviewDontKnow {
			p.fail(w, domain.Invalid("decision", "must be Approve, Deny or DontKnow"))
			return
		}
		it, err := p.eng.DecideReview(ctx, c, claims.StageID, claims.RequestID, r.PostForm.Get("item"),
			engine.ReviewInput{Decision: decision, Justification: strings.TrimSpace(r.PostForm.Get("justification"))})
		p.eng.FlushMail(ctx, c)
		if err != nil {
			p.fail(w, err)
			return
		}
		log.Info("decided through the review page", "item_id", it.ID, "decision", decision)
		who := it.PrincipalName
		if who == "" {
			who = string(it.PrincipalID)
		}
		p.reviewPage(w, reviewView{Title: "Recorded", Message: "Your decision (" + decision + ") on " + who + "'s " +
			domain.TargetName(it.Target) + " is recorded. You can change it until the review ends.", Back: self})
		return
	}
	in, items, more, err := p.eng.ReviewerItems(ctx, c, claims.StageID, claims.RequestID, reviewPageItems)
	if err != nil {
		p.fail(w, err)
		return
	}
	v := reviewView{Title: "Access review: " + in.DisplayName, Name: in.DisplayName, End: in.End.UTC().Format(time.RFC1123),
		Open: in.Open(c.Now), More: more, Action: self}
	if ws := engine.ReviewWarnings(in.Settings); len(ws) > 0 {
		v.Warning = ws[0]
	}
	if v.Open {
		v.CSRF = p.web.CSRFToken(sess, claims.Nonce)
		v.Message = "Decide for each assignment whether it is still needed. Your decisions count when the review ends on " + v.End + "."
	} else {
		v.Message = "This review is " + in.Status + ": decisions are closed."
	}
	for _, it := range items {
		iv := reviewItemView{ID: it.ID, Who: it.PrincipalName, UPN: it.PrincipalUPN, What: domain.TargetName(it.Target), Kind: "eligible",
			Until: "permanent", Recommendation: it.Recommendation, Reason: it.RecommendationReason, Decision: it.Decision,
			Justification: it.Justification, CanApprove: in.SelfReview() || !strings.EqualFold(string(it.PrincipalID), string(sess.ObjectID))}
		if iv.Who == "" {
			iv.Who = string(it.PrincipalID)
		}
		if it.Kind == domain.KindAssignment {
			iv.Kind = "active"
		}
		if !it.ScheduleEnd.IsZero() {
			iv.Until = it.ScheduleEnd.UTC().Format(time.RFC1123)
		}
		v.Items = append(v.Items, iv)
	}
	p.reviewPage(w, v)
}

func (p *Pages) reviewPage(w http.ResponseWriter, v reviewView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = reviewT.Execute(w, v)
}

var reviewT = template.Must(template.New("review").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>jitpim · {{.Title}}</title>
<style>body{font-family:Segoe UI,Arial,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}section{border-top:1px solid #ccc;padding:.5em 0}dt{font-weight:600}textarea{width:100%}button{font-size:1em;padding:.4em 1em;margin-right:1em}.warn{color:#a00;font-weight:600}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Warning}}<p class="warn">{{.Warning}}</p>{{end}}
{{range .Items}}
<section>
<dl>
<dt>Who</dt><dd>{{.Who}}{{if .UPN}} ({{.UPN}}){{end}}</dd>
<dt>What</dt><dd>{{.What}}, {{.Kind}} until {{.Until}}</dd>
<dt>Recommendation</dt><dd>{{.Recommendation}}{{if .Reason}}: {{.Reason}}{{end}}</dd>
<dt>Your decision so far</dt><dd>{{.Decision}}{{if .Justification}} ({{.Justification}}){{end}}</dd>
</dl>
{{if $.CSRF}}
<form method="post" action="{{$.Action}}">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="item" value="{{.ID}}">
<p><label>Justification<br><textarea name="justification" rows="2" maxlength="500"></textarea></label></p>
{{if .CanApprove}}<button type="submit" name="decision" value="Approve">Approve (keep)</button>{{else}}<p>You cannot approve your own access.</p>{{end}}
<button type="submit" name="decision" value="Deny">Deny (remove)</button>
<button type="submit" name="decision" value="DontKnow">Don't know</button>
</form>
{{end}}
</section>
{{end}}
{{if .More}}<p>More assignments wait for you: decide these, then open this page again.</p>{{end}}
{{if .Back}}<p><a href="{{.Back}}">Back to the review</a></p>{{end}}
</body></html>`))
