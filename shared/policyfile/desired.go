package policyfile

import (
	"slices"
	"sort"

	"github.com/jitpim/jitpim/shared/domain"
)

func over[T any](dst *Val[T], src Val[T]) {
	if src.Set {
		*dst = src
	}
}

// merge layers settings: a later layer's field wins where it is set.
func merge(layers ...*Settings) Settings {
	var o Settings
	for _, s := range layers {
		if s == nil {
			continue
		}
		if o.Line == 0 {
			o.Line = s.Line
		}
		over(&o.ActivationDuration, s.ActivationDuration)
		over(&o.MFA, s.MFA)
		over(&o.AuthContext, s.AuthContext)
		over(&o.Justification, s.Justification)
		over(&o.Ticket, s.Ticket)
		over(&o.TicketValidation, s.TicketValidation)
		over(&o.Approval, s.Approval)
		over(&o.Approvers, s.Approvers)
		over(&o.ApprovalTimeoutDays, s.ApprovalTimeoutDays)
		over(&o.ApproverJustification, s.ApproverJustification)
		over(&o.Escalation, s.Escalation)
		over(&o.Notification, s.Notification)
		over(&o.NotificationLevel, s.NotificationLevel)
		over(&o.NotificationRecips, s.NotificationRecips)
		over(&o.EligibleExpiration, s.EligibleExpiration)
		over(&o.ActiveExpiration, s.ActiveExpiration)
		over(&o.MFAOnActive, s.MFAOnActive)
		over(&o.JustificationOnActive, s.JustificationOnActive)
	}
	return o
}

func approversOf(refs []*Ref) []domain.Approver {
	var out []domain.Approver
	for _, r := range refs {
		if r != nil && r.ResourceOwners {
			out = append(out, domain.Approver{Kind: domain.ApproverResourceOwners})
			continue
		}
		if r == nil || r.ID == "" {
			continue
		}
		k := domain.ApproverUser
		if r.Group {
			k = domain.ApproverGroup
		}
		out = append(out, domain.Approver{Kind: k, ID: r.ID})
	}
	return out
}

// toPolicy turns merged settings into the full policy they describe:
// Entra's defaults with every given field applied.
func toPolicy(s Settings) domain.Policy {
	p := domain.DefaultPolicy()
	a := &p.Activation
	if s.ActivationDuration.Set {
		a.MaxDuration = s.ActivationDuration.V
	}
	if s.MFA.Set {
		a.RequireMFA = s.MFA.V
	}
	if s.Justification.Set {
		a.RequireJustification = s.Justification.V
	}
	if s.Ticket.Set {
		a.RequireTicket = s.Ticket.V
	}
	if s.TicketValidation.Set {
		a.ValidateTicket = s.TicketValidation.V
	}
	if s.AuthContext.Set {
		a.AuthContext = s.AuthContext.V
	}
	a.ApprovalRequired = s.Approval.V
	a.ApprovalMode = domain.ApprovalNone
	if a.ApprovalRequired {
		a.ApprovalMode = domain.ApprovalSingleStage
		st := domain.StageRule{TimeoutDays: 1, ApproverJustificationRequired: true, PrimaryApprovers: approversOf(s.Approvers.V)}
		if s.ApprovalTimeoutDays.Set {
			st.TimeoutDays = s.ApprovalTimeoutDays.V
		}
		if s.ApproverJustification.Set {
			st.ApproverJustificationRequired = s.ApproverJustification.V
		}
		if e := s.Escalation.V; e != nil {
			st.EscalationEnabled, st.EscalationMinutes, st.EscalationApprovers = true, e.AfterMinutes, approversOf(e.Approvers)
		}
		a.Stages = []domain.StageRule{st}
	}
	for i := range p.Notifications {
		n := &p.Notifications[i]
		if s.NotificationLevel.Set {
			n.Level = s.NotificationLevel.V
		}
		if s.Notification.Set && n.Event == domain.EventEndUserAssign && n.Recipient != domain.RecipientApprover {
			n.DefaultRecipients = s.Notification.V
		}
		if s.NotificationRecips.Set && n.Recipient == domain.RecipientAdmin {
			n.ExtraRecipients = slices.Clone(s.NotificationRecips.V)
		}
	}
	for _, x := range []struct {
		v   Val[Expiry]
		dst *domain.AdminRules
	}{{s.EligibleExpiration, &p.Eligible}, {s.ActiveExpiration, &p.Active}} {
		if !x.v.Set {
			continue
		}
		x.dst.AllowPermanent = x.v.V.Permanent
		if !x.v.V.Permanent {
			x.dst.MaxDuration = x.v.V.Duration
		}
	}
	if s.MFAOnActive.Set {
		p.Active.RequireMFA = s.MFAOnActive.V
	}
	if s.JustificationOnActive.Set {
		p.Active.RequireJustification = s.JustificationOnActive.V
	}
	return p
}

// Desired is what a valid file asks the live state to be.
type Desired struct {
	Tiers   []DesiredTier
	Default *domain.Policy // nil when the file has no defaults section
	Targets []DesiredTarget
}

// DesiredTier is a tier's policy and the targets that inherit it.
type DesiredTier struct {
	Name        string
	Description string
	Policy      domain.Policy
	Targets     []domain.Target
}

// DesiredTarget is a declared target's effective policy and its assignments.
type DesiredTarget struct {
	Target   *Target
	Policy   domain.Policy
	Eligible []*Assignment
	Active   []*Assignment
}

func (f *File) tier(name string) *Tier {
	for _, t := range f.Tiers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// settingsOf returns the merged settings of a target: defaults, its tier, its own.
func (f *File) settingsOf(t *Target) Settings {
	var tier *Settings
	if t.Tier.Set {
		if tr := f.tier(t.Tier.V); tr != nil {
			tier = tr.Settings
		}
	}
	return merge(f.Defaults, tier, t.Settings)
}

// Desired computes the state the file asks for. Call it on a file without errors.
func (f *File) Desired() Desired {
	var d Desired
	if f.Defaults != nil {
		p := toPolicy(merge(f.Defaults))
		p.ID, p.Scope = domain.DefaultPolicyID, domain.ScopeDefault
		d.Default = &p
	}
	tiers := slices.Clone(f.Tiers)
	sort.Slice(tiers, func(i, j int) bool { return tiers[i].Name < tiers[j].Name })
	for _, t := range tiers {
		p := toPolicy(merge(f.Defaults, t.Settings))
		p.ID, p.Scope, p.Tier, p.DisplayName, p.Description = domain.TierPolicyID(t.Name), domain.ScopeTier, t.Name, "Tier "+t.Name, t.Description
		dt := DesiredTier{Name: t.Name, Description: t.Description, Policy: p}
		for _, x := range t.Targets {
			dt.Targets = append(dt.Targets, x.T)
		}
		sortTargets(dt.Targets)
		dt.Policy.TierTargets = dt.Targets
		d.Tiers = append(d.Tiers, dt)
	}
	for _, t := range f.Targets {
		p := toPolicy(f.settingsOf(t))
		p.ID, p.Scope, p.Target = domain.PolicyID(t.T), domain.ScopeTarget, t.T
		d.Targets = append(d.Targets, DesiredTarget{Target: t, Policy: p, Eligible: t.Eligible, Active: t.Active})
	}
	return d
}

func sortTargets(ts []domain.Target) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Key() < ts[j].Key() })
}
