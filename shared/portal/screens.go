package portal

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/httpapi"
)

// page is what a screen shows; one template renders every screen.
type page struct {
	Title, Message      string
	Problem             bool // Message is a refusal
	SignIn, SignInText  string
	SignedIn            bool
	Me, MyUPN, Nav      string
	SignOutCSRF         string
	Roles               []roleRow
	Activate            *activateForm
	Extend              *extendForm
	Requests            []requestRow
	Approvals           []approvalRow
	ApprovalsCSRF       string
	ShowRoles, ShowReqs bool
	ShowApprovals       bool
	IsAdmin             bool       // the Admin link shows only to administrators
	Admin               *adminView // an Admin screen
	Reviews             []reviewListRow
	Review              *reviewScreen
	ShowReviews         bool
}

// when is a time shown in the viewer's zone (app.js) with UTC on hover;
// without JavaScript it reads in UTC.
type when struct {
	ISO, UTC string
}

func at(t time.Time) *when {
	if t.IsZero() {
		return nil
	}
	return &when{ISO: t.UTC().Format(time.RFC3339), UTC: t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")}
}

type roleRow struct {
	Name, Kind, Needs string
	Eligible          bool
	EligibleUntil     *when
	Active            bool
	ActiveUntil       *when
	StartsAt, Until   *when // an activation or assignment scheduled to start later
	ActivateURL       string
	ExtendURL         string
	ExpiredAt         *when // ran out; may be renewed at RenewURL
	RenewURL          string
	ExtendOffered     bool // in the last 14 days of the eligibility (domain.ExtendOffered)
	TargetKey         string
	CSRF              string // the deactivate form's
}

// targetName names a role or group for people, through the names
// resolver every service uses: built-in roles by their Entra names, groups
// by their display name (an unknown group shows its id, marked), Azure
// roles by role and scope.
func (p *Portal) targetName(ctx context.Context, t domain.Target) (name, kind string) {
	switch t.Kind {
	case domain.TargetGroup:
		g, ok := p.eng.Names().GroupName(ctx, t.GroupID)
		if !ok {
			g = domain.UnnamedGroup(t.GroupID)
		}
		return g, map[bool]string{true: "Group owner", false: "Group member"}[t.AccessID == "owner"]
	case domain.TargetAzureRole:
		return p.eng.Names().Target(ctx, t), "Azure role"
	}
	return p.eng.Names().Target(ctx, t), "Directory role"
}

// needs says in words what activating asks for.
func needs(a domain.ActivationRules) string {
	var n []string
	if a.AuthContext != "" {
		n = append(n, "authentication context "+a.AuthContext)
	} else if a.RequireMFA {
		n = append(n, "MFA")
	}
	if a.RequireJustification {
		n = append(n, "justification")
	}
	if a.ValidateTicket {
		n = append(n, "validated ticket")
	} else if a.RequireTicket {
		n = append(n, "ticket")
	}
	if a.ApprovalRequired {
		n = append(n, "approval")
	}
	if a.MaxDuration > 0 {
		n = append(n, "at most "+human(a.MaxDuration))
	}
	if len(n) == 0 {
		return "nothing"
	}
	return strings.Join(n, ", ")
}

// human is a duration as people say it.
func human(d time.Duration) string { return domain.DurationWords(d) }

// schedules lists the caller's live schedules of kind, roles and groups,
// with one store query.
func (p *Portal) schedules(v *visit, kind domain.RequestKind) ([]domain.Schedule, error) {
	pg, err := p.eng.ListSchedules(v.r.Context(), v.call, engine.ScheduleFilter{Kind: kind, PrincipalID: v.sess.ObjectID,
		AllTargets: true, Limit: 200})
	return pg.Items, err
}

// myRoles is the home screen: eligible and active roles and groups, with
// what each needs and the actions that fit.
func (p *Portal) myRoles(v *visit) {
	pg := p.base(v)
	pg.Title, pg.ShowRoles = "My roles", true
	elig, err := p.schedules(v, domain.KindEligibility)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	active, err := p.schedules(v, domain.KindAssignment)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	rows := map[string]*roleRow{}
	var order []string
	row := func(t domain.Target) *roleRow {
		k := t.Key()
		if r, ok := rows[k]; ok {
			return r
		}
		name, kind := p.targetName(v.r.Context(), t)
		rows[k] = &roleRow{Name: name, Kind: kind, TargetKey: k}
		order = append(order, k)
		return rows[k]
	}
	for _, s := range elig {
		r := row(s.Target)
		r.Eligible, r.EligibleUntil = true, at(s.End)
		pol, err := p.eng.EffectivePolicy(v.r.Context(), s.Target)
		if err != nil {
			p.fail(v.w, pg, err)
			return
		}
		r.Needs = needs(pol.Activation)
		r.ExtendOffered = domain.ExtendOffered(s, v.call.Now)
	}
	for _, s := range active {
		r := row(s.Target)
		if s.Upcoming(v.call.Now) {
			r.StartsAt, r.Until = at(s.Start), at(s.End)
			continue
		}
		r.Active, r.ActiveUntil = true, at(s.End)
	}
	for _, k := range order {
		r := rows[k]
		if r.Eligible && !r.Active {
			r.ActivateURL = Prefix + "activate?target=" + url.QueryEscape(k)
		}
		if r.Active && r.Eligible {
			r.CSRF = p.web.CSRFToken(v.sess, "deactivate")
		}
		if r.Eligible && r.ExtendOffered {
			r.ExtendURL = Prefix + "extend?target=" + url.QueryEscape(k)
		}
		pg.Roles = append(pg.Roles, *r)
	}
	renewable, err := p.renewableRows(v, rows)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	pg.Roles = append(pg.Roles, renewable...)
	slices.SortStableFunc(pg.Roles, func(a, b roleRow) int { return strings.Compare(a.Name, b.Name) })
	if len(pg.Roles) == 0 {
		pg.Message = "You have no eligible or active roles."
	}
	p.render(v.w, http.StatusOK, pg)
}

type activateForm struct {
	Name, Kind, Needs, TargetKey, CSRF string
	Durations                          []durationOption
	NeedJustification, NeedTicket      bool
	Justification, Ticket              string
}

type durationOption struct {
	Value, Label string
	Selected     bool
}

// activate shows the activation form (after step-up when the role needs
// MFA or an authentication context the session lacks) and submits it.
func (p *Portal) activate(v *visit) {
	pg := p.base(v)
	pg.Title = "Activate"
	form := v.r.URL.Query()
	if v.r.Method == http.MethodPost {
		form = v.r.PostForm
	}
	t, err := domain.ParseTargetKey(form.Get("target"))
	if err != nil {
		p.fail(v.w, pg, domain.Invalid("target", "is not a role or group this portal offers"))
		return
	}
	ctx := v.r.Context()
	pol, err := p.eng.EffectivePolicy(ctx, t)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	a := pol.Activation
	refused := domain.CheckStepUp(a, v.sess.Evidence(), v.call.Now, p.eng.Config().MFAFreshness)
	if v.r.Method != http.MethodPost && p.stepUp(v, Prefix+"activate?target="+url.QueryEscape(t.Key()), domain.StepUpOf(a), refused) {
		return
	}
	name, kind := p.targetName(v.r.Context(), t)
	if v.r.Method != http.MethodPost {
		f := &activateForm{Name: name, Kind: kind, Needs: needs(a), TargetKey: t.Key(), CSRF: p.web.CSRFToken(v.sess, "activate"),
			NeedJustification: a.RequireJustification, NeedTicket: a.RequireTicket || a.ValidateTicket}
		max := a.MaxDuration
		if max <= 0 {
			max = 8 * time.Hour
		}
		for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
			if d <= max && d >= p.eng.Config().MinActivation {
				f.Durations = append(f.Durations, durationOption{Value: domain.FormatISODuration(d), Label: human(d), Selected: d == min(time.Hour, max)})
			}
		}
		if len(f.Durations) == 0 || f.Durations[len(f.Durations)-1].Value != domain.FormatISODuration(max) {
			f.Durations = append(f.Durations, durationOption{Value: domain.FormatISODuration(max), Label: human(max), Selected: max < time.Hour})
		}
		pg.Title, pg.Activate = "Activate "+name, f
		p.render(v.w, http.StatusOK, pg)
		return
	}
	d, err := domain.ParseISODuration(form.Get("duration"))
	if err != nil {
		p.fail(v.w, pg, domain.Invalid("duration", "choose how long you need the role"))
		return
	}
	in := engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfActivate, PrincipalID: v.sess.ObjectID, Target: t,
		Justification: strings.TrimSpace(form.Get("justification")),
		Schedule:      domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: d}}
	if n := strings.TrimSpace(form.Get("ticket")); n != "" {
		in.Ticket = domain.TicketInfo{Number: n, System: "ServiceNow"}
	}
	req, err := p.eng.Submit(ctx, v.call, in)
	p.eng.FlushMail(ctx, v.call)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	v.call.Log.Info("activated through the portal", "request_id", req.ID, "status", req.Status)
	pg.Title, pg.Message = name, p.outcome(v, req)
	p.render(v.w, http.StatusOK, pg)
}

// outcome says in words where a request stands.
func (p *Portal) outcome(v *visit, r domain.Request) string {
	name, _ := p.targetName(v.r.Context(), r.Target)
	switch r.Status {
	case domain.StatusProvisioned, domain.StatusGranted:
		if r.EndAt.IsZero() {
			return name + " is active."
		}
		return name + " is active until " + r.EndAt.UTC().Format("15:04 UTC") + "."
	case domain.StatusPendingApproval:
		return name + ": " + p.waitingFor(v, r) + "."
	case domain.StatusScheduleCreated:
		return name + " starts at " + r.StartAt.UTC().Format(domain.WordsTime) + " and is active until " + r.EndAt.UTC().Format(domain.WordsTime) + "; cancel it under My requests before then."
	case domain.StatusRevoked:
		return name + " is no longer active."
	}
	return name + ": " + statusWords(r.Status)
}

// waitingFor names the approvers of the open stage.
func (p *Portal) waitingFor(v *visit, r domain.Request) string {
	i := r.Approval.Current()
	if i < 0 {
		return "waiting for approval"
	}
	st := r.Approval.Stages[i]
	if st.Confirmation {
		return "waiting for your confirmation with MFA"
	}
	n := p.names(v)
	var who []string
	for _, a := range st.Approvers {
		if a.Kind == domain.ApproverUser {
			who = append(who, n.person(a.ID).Name)
		}
	}
	if len(who) == 0 {
		return "waiting for approval"
	}
	return "waiting for " + strings.Join(who, " or ")
}

func statusWords(s domain.Status) string {
	switch s {
	case domain.StatusPendingApproval:
		return "waiting for approval"
	case domain.StatusPendingAdminDecision:
		return "waiting for an administrator"
	case domain.StatusProvisioned, domain.StatusGranted:
		return "granted"
	case domain.StatusDenied:
		return "denied"
	case domain.StatusCanceled:
		return "canceled"
	case domain.StatusFailed:
		return "failed"
	case domain.StatusRevoked:
		return "ended"
	case domain.StatusScheduleCreated:
		return "scheduled: starts later"
	case domain.StatusPendingProvisioning, domain.StatusPendingScheduleCreation:
		return "being granted"
	}
	return strings.ToLower(string(s))
}

// deactivate ends the caller's own activation of a target.
func (p *Portal) deactivate(v *visit) {
	pg := p.base(v)
	t, err := domain.ParseTargetKey(v.r.PostForm.Get("target"))
	if err != nil {
		p.fail(v.w, pg, domain.Invalid("target", "is not a role or group this portal offers"))
		return
	}
	ctx := v.r.Context()
	req, err := p.eng.Submit(ctx, v.call, engine.Submission{Kind: domain.KindAssignment, Action: domain.ActionSelfDeactivate,
		PrincipalID: v.sess.ObjectID, Target: t})
	p.eng.FlushMail(ctx, v.call)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	v.call.Log.Info("deactivated through the portal", "request_id", req.ID, "status", req.Status)
	name, _ := p.targetName(v.r.Context(), t)
	pg.Title, pg.Message = "Deactivated", name+" is no longer active."
	p.render(v.w, http.StatusOK, pg)
}

type requestRow struct {
	ID, Kind, What, Action, Status, Justification string
	Created, Until                                *when
	CSRF                                          string // the cancel form's, when it can be canceled
}

var actionWords = map[domain.Action]string{
	domain.ActionSelfActivate: "activate", domain.ActionSelfDeactivate: "deactivate", domain.ActionSelfExtend: "extend",
	domain.ActionSelfRenew: "renew", domain.ActionAdminAssign: "assigned by an admin", domain.ActionAdminRemove: "removed by an admin",
	domain.ActionAdminUpdate: "updated by an admin", domain.ActionAdminExtend: "extended by an admin", domain.ActionAdminRenew: "renewed by an admin",
}

// myRequests lists the caller's requests, newest first, and cancels one.
func (p *Portal) myRequests(v *visit) {
	pg := p.base(v)
	pg.Title, pg.ShowReqs = "My requests", true
	ctx := v.r.Context()
	if v.r.Method == http.MethodPost {
		kind := domain.KindAssignment
		if v.r.PostForm.Get("kind") == string(domain.KindEligibility) {
			kind = domain.KindEligibility
		}
		r, err := p.eng.Cancel(ctx, v.call, kind, v.r.PostForm.Get("id"))
		p.eng.FlushMail(ctx, v.call)
		if err != nil {
			p.fail(v.w, pg, err)
			return
		}
		name, _ := p.targetName(v.r.Context(), r.Target)
		pg.Message = "Your request for " + name + " is canceled."
	}
	for _, kind := range []domain.RequestKind{domain.KindAssignment, domain.KindEligibility} {
		list, err := p.eng.ListRequests(ctx, v.call, domain.RequestQuery{Kind: kind, PrincipalID: v.sess.ObjectID, Limit: 50})
		if err != nil {
			p.fail(v.w, pg, err)
			return
		}
		for _, r := range list.Items {
			name, _ := p.targetName(v.r.Context(), r.Target)
			row := requestRow{ID: r.ID, Kind: string(kind), What: name, Action: actionWords[r.Action], Status: statusWords(r.Status),
				Justification: r.Justification, Created: at(r.CreatedAt), Until: at(r.EndAt)}
			switch r.Status {
			case domain.StatusPendingApproval:
				row.Status = p.waitingFor(v, r)
				row.CSRF = p.web.CSRFToken(v.sess, "requests")
			case domain.StatusPendingAdminDecision:
				row.CSRF = p.web.CSRFToken(v.sess, "requests")
			case domain.StatusScheduleCreated:
				row.Status = "starts at " + r.StartAt.UTC().Format(domain.WordsTime)
				row.CSRF = p.web.CSRFToken(v.sess, "requests")
			}
			pg.Requests = append(pg.Requests, row)
		}
	}
	slices.SortStableFunc(pg.Requests, func(a, b requestRow) int { return strings.Compare(b.Created.ISO, a.Created.ISO) })
	if len(pg.Requests) == 0 && pg.Message == "" {
		pg.Message = "You have made no requests."
	}
	p.render(v.w, http.StatusOK, pg)
}

// maxPicks bounds the requests one form decides.
const maxPicks = 50

type approvalRow struct {
	ID, StageID             string
	Requester               person
	What, Justification     string
	Ticket                  string
	TicketValidated         bool
	Window                  string
	Requested               *when
	JustificationIsRequired bool
	Confirm                 bool           // the requester's own confirmation stage
	Action, CSRF            string         // where its form posts, and its token
	Extension               *extensionView // a selfExtend or selfRenew an admin decides
}

// approvals is the approver's inbox: requests waiting for the caller, with
// who wants what, and approve or deny. The form is shown only to a sign-in
// that can decide (step-up first).
func (p *Portal) approvals(v *visit) {
	pg := p.base(v)
	pg.Title, pg.ShowApprovals = "Approve requests", true
	ctx := v.r.Context()
	if v.r.Method == http.MethodPost {
		f := v.r.PostForm
		picks := f["pick"] // several at once: "requestId stageId" each
		if len(picks) == 0 {
			picks = []string{f.Get("id") + " " + f.Get("stage")}
		}
		if len(picks) > maxPicks {
			p.fail(v.w, pg, domain.Invalid("pick", "at most %d requests at once", maxPicks))
			return
		}
		var done []string
		for _, pick := range picks {
			id, stage, _ := strings.Cut(pick, " ")
			got, err := p.eng.Decide(ctx, v.call, id, engine.Decision{StageID: stage, Result: f.Get("decision"),
				Justification: strings.TrimSpace(f.Get("justification"))})
			if err != nil {
				p.eng.FlushMail(ctx, v.call)
				if len(done) > 0 {
					pg.Message = "Already recorded: " + strings.Join(done, "; ") + "."
					pg.Title, pg.Problem = "Stopped at one request", true
					pg.Message += " Not recorded: " + messageOf(err)
					p.render(v.w, httpapi.StatusOf(err), pg)
					return
				}
				p.fail(v.w, pg, err)
				return
			}
			v.call.Log.Info("decided through the portal", "request_id", got.ID, "status", got.Status)
			name, _ := p.targetName(v.r.Context(), got.Target)
			done = append(done, p.names(v).person(got.PrincipalID).Name+", "+name+" ("+statusWords(got.Status)+")")
		}
		p.eng.FlushMail(ctx, v.call)
		pg.Message = map[bool]string{true: "Approved", false: "Denied"}[strings.EqualFold(f.Get("decision"), domain.ReviewApprove)] +
			": " + strings.Join(done, "; ") + "."
	}
	list, err := p.pendingDecisions(v)
	if err != nil {
		p.fail(v.w, pg, err)
		return
	}
	n := p.names(v)
	for _, r := range list {
		i := r.Approval.Current()
		if i < 0 {
			continue
		}
		st := r.Approval.Stages[i]
		need, refused, err := p.eng.DecisionStepUp(ctx, v.call, r, st)
		if err != nil {
			p.fail(v.w, pg, err)
			return
		}
		if v.r.Method != http.MethodPost && p.stepUp(v, Prefix+"approvals", need, refused) {
			return
		}
		row := p.approvalRow(v, n, r, st)
		row.Action, row.CSRF = Prefix+"approvals", p.web.CSRFToken(v.sess, "approvals")
		row.Extension = p.extension(ctx, v.call, r, st)
		pg.Approvals = append(pg.Approvals, row)
	}
	pg.ApprovalsCSRF = p.web.CSRFToken(v.sess, "approvals")
	if len(pg.Approvals) == 0 && pg.Message == "" {
		pg.Message = "Nothing is waiting for your approval."
	}
	p.render(v.w, http.StatusOK, pg)
}

// approvalRow is what an approver sees of one request's open stage.
func (p *Portal) approvalRow(v *visit, n *names, r domain.Request, st domain.ApprovalStage) approvalRow {
	name, _ := p.targetName(v.r.Context(), r.Target)
	row := approvalRow{ID: r.ID, StageID: st.ID, Requester: n.person(r.PrincipalID), What: name, Justification: r.Justification,
		Ticket: r.Ticket.Number, TicketValidated: r.Ticket.Validated, Requested: at(r.CreatedAt), JustificationIsRequired: st.ApproverJustificationRequired,
		Confirm: st.Confirmation}
	row.Window = r.ApprovalWindowWords() // what approving grants, so the end shown is the end granted
	return row
}

type extendForm struct {
	Name, Kind, TargetKey, CSRF string
	Until                       *when
	Renew                       bool  // the form asks to renew one that ran out
	Expired                     *when // when it ran out (Renew)
}

// extend asks an administrator to extend an eligibility that will end
// (Entra's Extend): a request an admin settles, with the person's reason.
func (p *Portal) extend(v *visit) {
	pg := p.base(v)
	form := v.r.URL.Query()
	if v.r.Method == http.MethodPost {
		form = v.r.PostForm
	}
	t, err := domain.ParseTargetKey(form.Get("target"))
	if err != nil {
		p.fail(v.w, pg, domain.Invalid("target", "is not a role or group this portal offers"))
		return
	}
	name, kind := p.targetName(v.r.Context(), t)
	if v.r.Method != http.MethodPost {
		elig, err := p.schedules(v, domain.KindEligibility)
		if err != nil {
			p.fail(v.w, pg, err)
			return
		}
		f := &extendForm{Name: name, Kind: kind, TargetKey: t.Key(), CSRF: p.web.CSRFToken(v.sess, "extend")}
		for _, s := range elig {
			if s.Target == t {
				f.Until = at(s.End)
			}
		}
		pg.Title, pg.Extend = "Extend "+name, f
		p.render(v.w, http.StatusOK, pg)
		return
	}
	if _, ok := p.askAdmin(v, pg, domain.ActionSelfExtend, t, form.Get("justification")); !ok {
		return
	}
	pg.Title, pg.Message = "Extension asked", "Your request to extend "+name+" waits for an administrator."
	p.render(v.w, http.StatusOK, pg)
}
