package portal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/review"
)

// reviewPageItems bounds the items one review screen shows; a reviewer
// with more decides these and reloads (the screen says so).
const reviewPageItems = 100

type reviewListRow struct {
	Name, Covers, Status, Progress, URL string
	Due                                 *when
}

// myReviews lists the access reviews the caller takes part in, with what
// each covers, when it is due and how far the caller has got.
func (p *Portal) myReviews(v *visit) {
	pg := p.base(v)
	pg.Title, pg.ShowReviews = "Access reviews", true
	ctx := v.r.Context()
	list, err := p.reviews.MyReviews(ctx, v.call)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	for _, in := range list {
		row := reviewListRow{Name: in.DisplayName, Covers: p.reviews.ScopeName(ctx, in.Scope), Status: reviewStatusWords(in, v),
			Due: at(in.End), URL: reviewURL(in.DefinitionID, in.ID)}
		if in.Open(v.call.Now) {
			_, items, more, err := p.reviews.ReviewerItems(ctx, v.call, in.DefinitionID, in.ID, reviewPageItems)
			if err != nil {
				p.fail(v.w, pg, err)
				return
			}
			row.Progress = progress(items, more)
		}
		pg.Reviews = append(pg.Reviews, row)
	}
	if len(pg.Reviews) == 0 {
		pg.Message = "No access review is waiting for you."
	}
	p.render(v.w, http.StatusOK, pg)
}

func reviewURL(definitionID, instanceID string) string {
	return Prefix + "review?definition=" + url.QueryEscape(definitionID) + "&instance=" + url.QueryEscape(instanceID)
}

// reviewStatusWords says where a review stands for its reviewers.
func reviewStatusWords(in domain.ReviewInstance, v *visit) string {
	switch {
	case in.Open(v.call.Now):
		return "open for your decisions"
	case in.Status == domain.ReviewInProgress:
		return "ended, being completed"
	case in.Status == domain.ReviewCompleted:
		return "ended; decisions wait to be applied"
	case in.Status == domain.ReviewApplying:
		return "ended; decisions being applied"
	case in.Status == domain.ReviewApplied:
		return "ended; decisions applied"
	case in.Status == domain.ReviewCanceled:
		return "canceled"
	}
	return strings.ToLower(in.Status)
}

// progress says how many of the caller's items are decided.
func progress(items []domain.ReviewDecision, more bool) string {
	done := 0
	for _, it := range items {
		if it.Decision != domain.ReviewNotReviewed && it.Decision != "" {
			done++
		}
	}
	total := strconv.Itoa(len(items))
	if more {
		total = "more than " + total
	}
	return strconv.Itoa(done) + " of " + total + " decided"
}

// reviewScreen is one review: its items for the caller with names and the
// evidence beside each recommendation, accept-recommendations for many at
// once, and a decision item by item.
type reviewScreen struct {
	Name, Covers, Status, Progress string
	Due                            *when
	Warning                        string
	Open, More                     bool
	Action, CSRF                   string // where the forms post, and their token
	Definition, Instance           string
	NeedApproveJustification       bool
	Recommended                    []reviewItemRow // undecided items with a recommendation
	Items                          []reviewItemRow
}

type reviewItemRow struct {
	ID                        string
	Who                       person
	What, Kind                string
	Until                     *when
	LastSignIn, LastActivated *when
	Recommendation, Reason    string
	Decision, Justification   string
	DecidedBy                 string
	CanApprove                bool
}

// review serves /portal/review: GET shows a review, POST decides (one item
// or the recommendations of several). The mailed review link serves the
// same screen with its own form action and token (mailed.go).
func (p *Portal) review(v *visit) {
	form := v.r.URL.Query()
	if v.r.Method == http.MethodPost {
		form = v.r.PostForm
	}
	def, inst := form.Get("definition"), form.Get("instance")
	p.reviewScreen(v, def, inst, Prefix+"review", p.web.CSRFToken(v.sess, "review"), reviewURL(def, inst))
}

// reviewScreen shows (and on POST first decides) review def/inst for the
// visit; action and csrf are the forms' target and token, back is where
// step-up sign-in returns.
func (p *Portal) reviewScreen(v *visit, def, inst, action, csrf, back string) {
	pg := p.base(v)
	pg.Title, pg.Nav = "Access review", Prefix+"reviews"
	ctx := v.r.Context()
	status := http.StatusOK
	if v.r.Method == http.MethodPost {
		// The answer, recorded or refused, shows above the review as it now stands.
		msg, err := p.decideReview(v, def, inst)
		if err != nil {
			status, msg, pg.Problem = httpapi.StatusOf(err), "Nothing was recorded: "+messageOf(err), true
			if status == http.StatusInternalServerError {
				v.call.Log.Error("deciding a review item failed", "error", err)
			}
		}
		pg.Message = msg
	}
	in, items, more, err := p.reviews.ReviewerItems(ctx, v.call, def, inst, reviewPageItems)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	open := in.Open(v.call.Now)
	if open && v.r.Method != http.MethodPost {
		need, refused := p.reviews.StepUp(v.call)
		if p.stepUp(v, back, need, refused) {
			return
		}
	}
	s := &reviewScreen{Name: in.DisplayName, Covers: p.reviews.ScopeName(ctx, in.Scope), Status: reviewStatusWords(in, v),
		Progress: progress(items, more), Due: at(in.End), Open: open, More: more, Definition: def, Instance: inst,
		NeedApproveJustification: in.Settings.JustificationRequiredOnApproval}
	if ws := review.Warnings(in.Settings); len(ws) > 0 {
		s.Warning = ws[0]
	}
	if open {
		s.Action, s.CSRF = action, csrf
	}
	n := p.names(v)
	for _, it := range items {
		row := reviewItemRow{ID: it.ID, Who: person{Name: it.PrincipalName, UPN: it.PrincipalUPN, ID: string(it.PrincipalID)},
			What: p.targetLabel(ctx, it.Target), Kind: "eligible", Until: at(it.ScheduleEnd),
			LastSignIn: at(it.LastSignIn), LastActivated: at(it.LastActivation),
			Recommendation: recommendationWords(it.Recommendation), Reason: it.RecommendationReason,
			Decision: reviewDecisionWords(it.Decision), Justification: it.Justification,
			CanApprove: in.SelfReview() || it.PrincipalID != v.call.Caller.ID}
		if row.Who.Name == "" { // the directory gave no display name when the item was written
			row.Who = n.person(it.PrincipalID)
		}
		switch {
		case it.PrincipalKind.IsGroup():
			row.Who.Name, row.Who.UPN = "Group "+row.Who.Name, ""
		case it.ViaGroupID != "":
			row.What += " (as a member of group " + p.eng.Names().Group(ctx, it.ViaGroupID) + ", which holds it)"
		}
		if it.Kind == domain.KindAssignment {
			row.Kind = "active"
		}
		if it.ReviewedBy != "" && it.ReviewedBy != v.call.Caller.ID {
			row.DecidedBy = n.person(it.ReviewedBy).Name
		}
		if it.Decision == domain.ReviewNotReviewed && (it.Recommendation == domain.ReviewApprove || it.Recommendation == domain.ReviewDeny) {
			s.Recommended = append(s.Recommended, row)
		}
		s.Items = append(s.Items, row)
	}
	pg.Title, pg.Review = "Access review: "+in.DisplayName, s
	p.render(v.w, status, pg)
}

// decideReview records the POSTed decision: accept the recommendations of
// the picked items, or one item's decision. It answers in words.
func (p *Portal) decideReview(v *visit, def, inst string) (string, error) {
	f, ctx := v.r.PostForm, v.r.Context()
	just := strings.TrimSpace(f.Get("justification"))
	defer p.eng.FlushMail(ctx, v.call)
	if f.Get("accept") != "" {
		got, err := p.reviews.AcceptRecommendations(ctx, v.call, def, inst, f["pick"], just)
		if err != nil {
			return "", err
		}
		var done, refused []string
		for _, a := range got {
			who := a.Item.PrincipalName
			if who == "" {
				who = p.names(v).person(a.Item.PrincipalID).Name
			}
			if a.Err != nil {
				refused = append(refused, who+": "+messageOf(a.Err))
				continue
			}
			done = append(done, who+" ("+strings.ToLower(reviewDecisionWords(a.Decision))+")")
		}
		v.call.Log.Info("accepted review recommendations through the portal", "instance_id", inst, "recorded", len(done), "refused", len(refused))
		msg := ""
		if len(done) > 0 {
			msg = "Recommendations accepted: " + strings.Join(done, "; ") + "."
		}
		if len(refused) > 0 {
			msg += " Not recorded: " + strings.Join(refused, "; ") + "."
		}
		return strings.TrimSpace(msg), nil
	}
	it, err := p.reviews.DecideReview(ctx, v.call, def, inst, f.Get("item"), review.Input{Decision: f.Get("decision"), Justification: just})
	if err != nil {
		return "", err
	}
	v.call.Log.Info("decided a review item through the portal", "item_id", it.ID, "decision", it.Decision)
	who := it.PrincipalName
	if who == "" {
		who = p.names(v).person(it.PrincipalID).Name
	}
	return "Recorded: " + reviewDecisionWords(it.Decision) + " for " + who + ", " + p.targetLabel(ctx, it.Target) +
		". You can change it until the review ends.", nil
}

func recommendationWords(r string) string {
	switch r {
	case domain.ReviewApprove:
		return "Approve (keep)"
	case domain.ReviewDeny:
		return "Deny (remove)"
	}
	return "none"
}

func reviewDecisionWords(d string) string {
	switch d {
	case domain.ReviewApprove:
		return "Approve (keep)"
	case domain.ReviewDeny:
		return "Deny (remove)"
	case domain.ReviewDontKnow:
		return "Don't know"
	}
	return "not decided yet"
}

// targetLabel names a role or group with what the access is ("member of
// group PAG-DEV-TEAM"), where no column says it.
func (p *Portal) targetLabel(ctx context.Context, t domain.Target) string {
	return p.eng.Names().Target(ctx, t)
}
