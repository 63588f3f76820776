package httpapi

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/review"
)

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
	o, ok := p.open(w, r, "review/", token, inv, log, view{Title: "An access review needs you",
		Message: "Sign in to see the access you are asked to review. Opening this page changed nothing."},
		approvallink.PurposeReview)
	if !ok {
		return
	}
	claims, c, ctx, self := o.claims, o.call, r.Context(), o.self
	if r.Method == http.MethodPost {
		decision, err := p.decision(r, o, domain.ReviewApprove, domain.ReviewDeny, domain.ReviewDontKnow)
		if err != nil {
			p.fail(w, err)
			return
		}
		it, err := p.reviews.DecideReview(ctx, c, claims.StageID, claims.RequestID, r.PostForm.Get("item"),
			review.Input{Decision: decision, Justification: strings.TrimSpace(r.PostForm.Get("justification"))})
		p.eng.FlushMail(ctx, c)
		if err != nil {
			p.fail(w, err)
			return
		}
		c.Log.Info("decided through the review page", "item_id", it.ID, "decision", decision)
		who := it.PrincipalName
		if who == "" {
			who = string(it.PrincipalID)
		}
		p.reviewPage(w, reviewView{Title: "Recorded", Message: "Your decision (" + decision + ") on " + who + "'s " +
			domain.TargetName(it.Target) + " is recorded. You can change it until the review ends.", Back: self})
		return
	}
	in, items, more, err := p.reviews.ReviewerItems(ctx, c, claims.StageID, claims.RequestID, reviewPageItems)
	if err != nil {
		p.fail(w, err)
		return
	}
	v := reviewView{Title: "Access review: " + in.DisplayName, Name: in.DisplayName, End: in.End.UTC().Format(time.RFC1123),
		Open: in.Open(c.Now), More: more, Action: self}
	if ws := review.Warnings(in.Settings); len(ws) > 0 {
		v.Warning = ws[0]
	}
	if v.Open {
		v.CSRF = p.web.CSRFToken(o.sess, claims.Nonce)
		v.Message = "Decide for each assignment whether it is still needed. Your decisions count when the review ends on " + v.End + "."
	} else {
		v.Message = "This review is " + in.Status + ": decisions are closed."
	}
	for _, it := range items {
		iv := reviewItemView{ID: it.ID, Who: it.PrincipalName, UPN: it.PrincipalUPN, What: domain.TargetName(it.Target), Kind: "eligible",
			Until: "permanent", Recommendation: it.Recommendation, Reason: it.RecommendationReason, Decision: it.Decision,
			Justification: it.Justification, CanApprove: in.SelfReview() || it.PrincipalID != c.Caller.ID}
		if iv.Who == "" {
			iv.Who = string(it.PrincipalID)
		}
		switch {
		case it.PrincipalKind.IsGroup():
			iv.Who = "Group " + iv.Who
		case it.ViaGroupID != "":
			iv.What += " (as a member of a group holding it)"
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
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>jitpim · {{.Title}}</title>
<link rel="stylesheet" href="/portal/static/app.css">
</head><body>
<header class="top"><span class="brand">jitpim</span> <a href="/portal/">Open the portal</a></header>
<main id="main" class="mailed">
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
</main></body></html>`))
