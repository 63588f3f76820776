package portal

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/httpapi"
)

// settingsView is the seeds' settings table: one row per role, group or
// Azure role with settings of its own, then the tiers and the default.
type settingsView struct {
	Rows  []settingsRow
	Roles []targetOption // built-in roles without settings of their own, to start editing
}

type settingsRow struct {
	Name, Scope, EditURL                     string
	MFA, AuthContext, Notification, Ticket   string
	Justification, Approval, Approvers       string
	Activation, EligibleExpiry, ActiveExpiry string
	InheritedFrom                            string
}

// adminSettings lists the settings of every role, group and Azure role
// that has its own, with the tiers and the default they fall back to.
func (p *Portal) adminSettings(v *visit, pg page) {
	ctx := v.r.Context()
	pols, err := p.adm.Policies.ListPolicies(ctx, v.call)
	if err != nil {
		p.adminFail(v, pg, "admin/settings", err)
		return
	}
	view := &settingsView{}
	own := map[string]bool{}
	hasDefault := false
	for _, pol := range pols {
		own[pol.ID] = true
		hasDefault = hasDefault || pol.Scope == domain.ScopeDefault
		view.Rows = append(view.Rows, p.settingsRow(ctx, v, pol))
	}
	if !hasDefault {
		view.Rows = append(view.Rows, p.settingsRow(ctx, v, domain.DefaultPolicy()))
	}
	order := map[domain.PolicyScope]int{domain.ScopeTarget: 0, domain.ScopeTier: 1, domain.ScopeDefault: 2}
	slices.SortStableFunc(view.Rows, func(a, b settingsRow) int {
		if d := order[domain.PolicyScope(a.Scope)] - order[domain.PolicyScope(b.Scope)]; d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, r := range domain.BuiltInRoles {
		t := domain.RoleTarget(r.ID, domain.TenantScope)
		if !own[domain.PolicyID(t)] {
			view.Roles = append(view.Roles, targetOption{Key: domain.PolicyID(t), Name: p.eng.Names().Target(ctx, t)})
		}
	}
	slices.SortFunc(view.Roles, func(a, b targetOption) int { return strings.Compare(a.Name, b.Name) })
	p.adminPage(v, pg, http.StatusOK, "Role and group settings", adminView{Tab: "admin/settings", Settings: view})
}

func yesNo(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }

func (p *Portal) policyName(ctx context.Context, pol domain.Policy) string {
	switch pol.Scope {
	case domain.ScopeTarget:
		return p.eng.Names().Target(ctx, pol.Target)
	case domain.ScopeTier:
		return "Tier " + pol.Tier + " (roles and groups without settings of their own)"
	}
	return "Default (everything else)"
}

func (p *Portal) settingsRow(ctx context.Context, v *visit, pol domain.Policy) settingsRow {
	a := pol.Activation
	row := settingsRow{Name: p.policyName(ctx, pol), Scope: string(pol.Scope), EditURL: Prefix + "admin/settings/edit?id=" + url.QueryEscape(pol.ID),
		MFA: yesNo(a.RequireMFA || a.AuthContext != ""), AuthContext: "no", Ticket: "no", Justification: yesNo(a.RequireJustification),
		Approval: yesNo(a.ApprovalRequired), Approvers: "none", Activation: human(a.MaxDuration),
		EligibleExpiry: expiryWords(pol.Eligible), ActiveExpiry: expiryWords(pol.Active), Notification: "no"}
	if a.AuthContext != "" {
		row.AuthContext = a.AuthContext
	}
	switch {
	case a.ValidateTicket:
		row.Ticket = "validated"
	case a.RequireTicket:
		row.Ticket = "yes"
	}
	if a.ApprovalRequired {
		n := p.names(v)
		var who []string
		for _, st := range a.Stages {
			for _, ap := range st.PrimaryApprovers {
				who = append(who, approverName(ctx, p, n, ap))
			}
		}
		row.Approvers = strings.Join(who, ", ")
	}
	for _, r := range pol.Notifications {
		if r.DefaultRecipients || len(r.ExtraRecipients) > 0 {
			row.Notification = "yes"
		}
	}
	return row
}

func approverName(ctx context.Context, p *Portal, n *names, ap domain.Approver) string {
	if ap.Kind == domain.ApproverGroup {
		return "members of " + p.eng.Names().Group(ctx, ap.ID)
	}
	return n.person(ap.ID).Name
}

// expiryWords says how long an admin's assignment may last.
func expiryWords(r domain.AdminRules) string {
	if r.AllowPermanent {
		return "permanent allowed"
	}
	return "at most " + human(r.MaxDuration)
}

type policyForm struct {
	ID, Name, CSRF, Inherited                  string
	Activation                                 []durationOption
	Auth                                       string // none, mfa, context
	AuthContext                                string
	Justification, Ticket, ValidateTicket      bool
	Approval, ApproverJustification            bool
	Approvers                                  string // one object id a line; "group:" before a group's
	ApproverNames                              string
	MoreStages                                 bool
	EligiblePermanent, ActivePermanent         bool
	EligibleMax, ActiveMax                     []durationOption
	EligibleJustification, ActiveJustification bool
	ActiveMFA                                  bool
	Notifications                              []notificationField
}

type notificationField struct {
	Index   int
	Label   string
	Default bool
	Extra   string
}

var activationChoices = []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 5 * time.Hour,
	6 * time.Hour, 8 * time.Hour, 10 * time.Hour, 12 * time.Hour, 24 * time.Hour}

var expiryChoices = []time.Duration{15 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour, 180 * 24 * time.Hour, 365 * 24 * time.Hour}

// choices offers ds and the current value, selected.
func choices(ds []time.Duration, cur time.Duration) []durationOption {
	if cur > 0 && !slices.Contains(ds, cur) {
		ds = append(slices.Clone(ds), cur)
		slices.Sort(ds)
	}
	var out []durationOption
	for _, d := range ds {
		out = append(out, durationOption{Value: domain.FormatISODuration(d), Label: human(d), Selected: d == cur})
	}
	return out
}

var recipientWords = map[string]string{domain.RecipientAdmin: "Admins", domain.RecipientRequestor: "The person", domain.RecipientApprover: "Approvers"}
var eventWords = map[string]string{domain.EventAdminEligibility: "when made eligible", domain.EventAdminAssignment: "when assigned active",
	domain.EventEndUserAssign: "when a role is activated"}

// adminPolicy shows and saves one policy's settings: every column of the
// settings table. Saving goes through the policy service (admin write,
// validation, conditional write, audit); the next activation reads it.
func (p *Portal) adminPolicy(v *visit, pg page) {
	ctx := v.r.Context()
	form := v.r.URL.Query()
	if v.r.Method == http.MethodPost {
		form = v.r.PostForm
	}
	id := form.Get("id")
	if _, _, _, ok := domain.ParsePolicyID(id); !ok {
		p.adminFail(v, pg, "admin/settings", domain.Invalid("id", "is not a role, group, tier or default policy"))
		return
	}
	status := http.StatusOK
	if v.r.Method == http.MethodPost {
		// People are looked up once, before the conditional write (whose
		// change may be retried), never inside it.
		resolved, err := p.resolveApprovers(ctx, form)
		var saved domain.Policy
		if err == nil {
			saved, err = p.adm.Policies.UpdatePolicy(ctx, v.call, id, func(pol *domain.Policy) error { return applyPolicyForm(pol, resolved) })
		}
		if err != nil {
			pg.Message, pg.Problem, status = "Nothing was changed: "+messageOf(err), true, httpapi.StatusOf(err)
		} else {
			v.call.Log.Info("policy changed through the portal", "policy_id", id)
			pg.Message = "Saved. The next activation of " + p.policyName(ctx, saved) + " follows these settings."
		}
	}
	pol, err := p.adm.Policies.GetPolicy(ctx, id)
	if err != nil {
		p.adminFail(v, pg, "admin/settings", err)
		return
	}
	a := pol.Activation
	f := &policyForm{ID: id, Name: p.policyName(ctx, pol), CSRF: p.web.CSRFToken(v.sess, "admin/settings/edit"),
		Activation: choices(activationChoices, a.MaxDuration), Auth: "none", AuthContext: a.AuthContext,
		Justification: a.RequireJustification, Ticket: a.RequireTicket, ValidateTicket: a.ValidateTicket, Approval: a.ApprovalRequired,
		EligiblePermanent: pol.Eligible.AllowPermanent, ActivePermanent: pol.Active.AllowPermanent,
		EligibleMax: choices(expiryChoices, pol.Eligible.MaxDuration), ActiveMax: choices(expiryChoices, pol.Active.MaxDuration),
		EligibleJustification: pol.Eligible.RequireJustification, ActiveJustification: pol.Active.RequireJustification, ActiveMFA: pol.Active.RequireMFA,
		MoreStages: len(a.Stages) > 1}
	if pol.InheritedFrom != "" {
		f.Inherited = "It has no settings of its own yet: these are inherited (" + pol.InheritedFrom + "). Saving gives it its own."
	}
	switch {
	case a.AuthContext != "":
		f.Auth = "context"
	case a.RequireMFA:
		f.Auth = "mfa"
	}
	if len(a.Stages) > 0 {
		n := p.names(v)
		var ids, who []string
		for _, ap := range a.Stages[0].PrimaryApprovers {
			ids = append(ids, map[bool]string{true: "group:", false: ""}[ap.Kind == domain.ApproverGroup]+string(ap.ID))
			who = append(who, approverName(ctx, p, n, ap))
		}
		f.Approvers, f.ApproverNames, f.ApproverJustification = strings.Join(ids, "\n"), strings.Join(who, ", "), a.Stages[0].ApproverJustificationRequired
	}
	for i, r := range pol.Notifications {
		f.Notifications = append(f.Notifications, notificationField{Index: i, Label: recipientWords[r.Recipient] + " " + eventWords[r.Event] +
			map[bool]string{true: " (critical only)", false: ""}[r.Level == domain.LevelCritical], Default: r.DefaultRecipients, Extra: strings.Join(r.ExtraRecipients, ", ")})
	}
	pg.Title = "Settings: " + f.Name
	p.adminPage(v, pg, status, pg.Title, adminView{Tab: "admin/settings", PolicyForm: f})
}

// approverTokens splits the approvers field: one a line, or separated by
// commas, semicolons or spaces.
func approverTokens(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == ';' })
}

// resolveApprovers returns the form with every person named by user
// principal name (or e-mail) in the approvers field replaced by their
// object id, read once from the directory; an unknown or ambiguous name is
// refused naming the field. Groups stay as given (group:{object id}).
func (p *Portal) resolveApprovers(ctx context.Context, form url.Values) (url.Values, error) {
	toks := approverTokens(form.Get("approvers"))
	for i, tok := range toks {
		if strings.HasPrefix(tok, "group:") || domain.IsGUID(tok) {
			continue
		}
		id, err := p.eng.ResolveUser(ctx, "approvers", tok)
		if err != nil {
			return nil, err
		}
		toks[i] = string(id)
	}
	out := maps.Clone(form)
	out.Set("approvers", strings.Join(toks, "\n"))
	return out, nil
}

// applyPolicyForm changes pol to what the form says; a field it cannot
// read is refused by name. The policy's own Validate (in the service)
// decides what is allowed.
func applyPolicyForm(pol *domain.Policy, f url.Values) error {
	dur := func(field string) (time.Duration, error) {
		d, err := domain.ParseISODuration(f.Get(field))
		if err != nil || d <= 0 {
			return 0, domain.Invalid(field, "choose a duration from the list")
		}
		return d, nil
	}
	on := func(field string) bool { return f.Get(field) == "on" }
	a := &pol.Activation
	var err error
	if a.MaxDuration, err = dur("activation"); err != nil {
		return err
	}
	switch f.Get("auth") {
	case "none":
		a.RequireMFA, a.AuthContext = false, ""
	case "mfa":
		a.RequireMFA, a.AuthContext = true, ""
	case "context":
		a.AuthContext = strings.TrimSpace(f.Get("authContext"))
		if a.AuthContext == "" {
			return domain.Invalid("authContext", "name the Conditional Access authentication context (for example c1)")
		}
		a.RequireMFA = true
	default:
		return domain.Invalid("auth", "choose none, MFA or an authentication context")
	}
	a.RequireJustification, a.RequireTicket, a.ValidateTicket = on("justification"), on("ticket"), on("validateTicket")
	a.ApprovalRequired = on("approval")
	var approvers []domain.Approver
	for _, tok := range approverTokens(f.Get("approvers")) {
		kind := domain.ApproverUser
		if g, ok := strings.CutPrefix(tok, "group:"); ok {
			kind, tok = domain.ApproverGroup, g
		}
		id, err := domain.ParseObjectID("approvers", tok)
		if err != nil {
			return domain.Invalid("approvers", "%q is not an object id (one a line; group: before a group's)", tok)
		}
		approvers = append(approvers, domain.Approver{Kind: kind, ID: id})
	}
	if a.ApprovalRequired && len(approvers) == 0 {
		return domain.Invalid("approvers", "name at least one approver when approval is required")
	}
	switch {
	case len(a.Stages) > 0:
		a.Stages[0].PrimaryApprovers = approvers
		a.Stages[0].ApproverJustificationRequired = on("approverJustification")
	case len(approvers) > 0:
		a.Stages = []domain.StageRule{{TimeoutDays: 1, PrimaryApprovers: approvers, ApproverJustificationRequired: on("approverJustification")}}
		a.ApprovalMode = domain.ApprovalSingleStage
	}
	if !a.ApprovalRequired && len(approvers) == 0 {
		a.Stages, a.ApprovalMode = nil, domain.ApprovalNone
	}
	if a.ApprovalRequired && a.ApprovalMode == domain.ApprovalNone {
		a.ApprovalMode = domain.ApprovalSingleStage
	}
	pol.Eligible.AllowPermanent, pol.Active.AllowPermanent = on("eligiblePermanent"), on("activePermanent")
	if pol.Eligible.MaxDuration, err = dur("eligibleMax"); err != nil {
		return err
	}
	if pol.Active.MaxDuration, err = dur("activeMax"); err != nil {
		return err
	}
	pol.Eligible.RequireJustification, pol.Active.RequireJustification = on("eligibleJustification"), on("activeJustification")
	pol.Active.RequireMFA = on("activeMFA")
	for i := range pol.Notifications {
		k := strconv.Itoa(i)
		pol.Notifications[i].DefaultRecipients = on("n" + k + "default")
		var extra []string
		for _, m := range strings.FieldsFunc(f.Get("n"+k+"extra"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
			if !strings.Contains(m, "@") || len(m) > 254 {
				return domain.Invalid("n"+k+"extra", "%q is not a mail address", m)
			}
			extra = append(extra, m)
		}
		pol.Notifications[i].ExtraRecipients = extra
	}
	return nil
}
