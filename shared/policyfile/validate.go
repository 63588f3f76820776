package policyfile

import (
	"fmt"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// validate runs the checks that look across sections: tiers, merged
// policies, assignments against their policy, and break-glass accounts.
func (p *parser) validate() {
	f := p.f
	p.reported = map[string]bool{}
	breakGlass := breakGlassRefs{refs: map[domain.ObjectID]*Ref{}}
	for _, r := range f.BreakGlass {
		breakGlass.list = append(breakGlass.list, r.ID)
		breakGlass.refs[r.ID] = r
	}
	for _, t := range f.Targets {
		if !t.Tier.Set {
			continue
		}
		tr := f.tier(t.Tier.V)
		if tr == nil {
			msg := fmt.Sprintf("%s: tier %q is referenced but not defined under tiers", t.Name, t.Tier.V)
			names := make([]string, 0, len(f.Tiers))
			for _, x := range f.Tiers {
				names = append(names, x.Name)
			}
			if s := closest(t.Tier.V, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.d.errorf(t.Tier.Line, "%s", msg)
			continue
		}
		tr.Targets = append(tr.Targets, t)
	}
	for _, tr := range f.Tiers {
		if len(tr.Targets) == 0 {
			p.d.warnf(tr.Line, "tier %s is defined but no role or group uses it", tr.Name)
		}
	}
	if f.Defaults != nil {
		p.checkMerged("defaults", merge(f.Defaults), f.Defaults.Line, nil)
	}
	for _, tr := range f.Tiers {
		var groups []string
		for _, t := range tr.Targets {
			if t.T.Kind == domain.TargetGroup {
				groups = append(groups, t.Name)
			}
		}
		p.checkMerged("tier "+tr.Name, merge(f.Defaults, tr.Settings), tr.Line, groups)
	}
	for _, t := range f.Targets {
		ms := f.settingsOf(t)
		var groups []string
		if t.T.Kind == domain.TargetGroup {
			groups = []string{t.Name}
		}
		p.checkMerged(t.Name, ms, t.Line, groups)
		pol := toPolicy(ms)
		p.checkAssignments(t, pol, breakGlass)
		p.checkSelfApproval(t, pol)
	}
	p.checkApproversNotBreakGlass(breakGlass)
	p.checkOtherOwners()
	for _, r := range f.Reviews {
		for _, x := range append(append([]*Ref{}, r.Reviewers...), r.Fallback...) {
			if bg, ok := breakGlass.find(x.ID); ok {
				p.d.warnf(x.Line, "access review %q: %s is a break-glass account; it should not be used for day-to-day work such as reviews (break-glass at line %d)", r.Name, x.Name, bg.Line)
			}
		}
	}
}

// lineOr returns the line a merged value came from, or fallback when it is
// Entra's default.
func lineOr[T any](v Val[T], fallback int) int {
	if v.Set {
		return v.Line
	}
	return fallback
}

// checkMerged checks the rules that need the whole policy: approval needs
// approvers, ticket validation needs tickets, groups activate for 8 h at most.
//
// A problem that comes from a tier or the defaults is reported once, for
// the tier or the defaults, not again for each target that inherits it.
func (p *parser) checkMerged(what string, s Settings, line int, groups []string) {
	once := func(kind string, at int) bool {
		k := fmt.Sprintf("%s@%d", kind, at)
		if p.reported[k] {
			return false
		}
		p.reported[k] = true
		return true
	}
	if at := lineOr(s.Approval, line); s.Approval.V && len(s.Approvers.V) == 0 && once("noapprover", at) {
		p.d.errorf(at, "%s: approval is required but no approver is named: list approvers (users or groups) who may approve", what)
	}
	if at := lineOr(s.Approvers, line); !s.Approval.V && len(s.Approvers.V) > 0 && once("approveroff", at) {
		p.d.warnf(at, "%s: approvers are listed but approval is off, so nobody is asked: set approval: true or remove them", what)
	}
	if at := lineOr(s.Escalation, line); !s.Approval.V && s.Escalation.V != nil && once("escalationoff", at) {
		p.d.warnf(at, "%s: escalation has no effect while approval is off", what)
	}
	if at := lineOr(s.TicketValidation, line); s.TicketValidation.V && !s.Ticket.V && once("ticketvalidation", at) {
		p.d.errorf(at, "%s: ticketValidation needs ticket: true (a ticket must be asked for before it can be checked)", what)
	}
	pol := toPolicy(s)
	if at := lineOr(s.ActivationDuration, line); len(groups) > 0 && pol.Activation.MaxDuration > domain.MaxGroupActivation && once("group8h", at) {
		applies := ""
		if len(groups) > 1 || groups[0] != what {
			applies = " (it applies to " + strings.Join(groups, ", ") + ")"
		}
		p.d.errorf(at, "%s: group membership may be activated for at most 8 hours (PT8H), but the activation duration is %s%s",
			what, hours(pol.Activation.MaxDuration), applies)
	}
	if e := s.Escalation.V; e != nil && s.Approval.V {
		for _, a := range e.Approvers {
			for _, b := range s.Approvers.V {
				if a.ID == b.ID {
					p.d.warnf(e.Line, "%s: %s is both an approver and an escalation approver", what, a.Name)
				}
			}
		}
	}
}

func (p *parser) checkAssignments(t *Target, pol domain.Policy, breakGlass breakGlassRefs) {
	seen := map[string]int{}
	for _, a := range append(append([]*Assignment{}, t.Eligible...), t.Active...) {
		kind, rules, key := "eligible", pol.Eligible, "eligibleExpiration"
		if a.Active {
			kind, rules, key = "active", pol.Active, "activeExpiration"
		}
		r := a.Principal
		if bg, ok := breakGlass.find(r.ID); ok {
			p.d.errorf(a.Line, "%s: %s is a break-glass account (line %d) and must never be made %s through jitpim: emergency accounts keep their permanent access outside PIM",
				t.Name, r.Name, bg.Line, kind)
			continue
		}
		k := kind + "|" + string(r.ID)
		if first, dup := seen[k]; dup {
			p.d.errorf(a.Line, "%s: %s is listed as %s twice (first at line %d)", t.Name, r.Name, kind, first)
			continue
		}
		seen[k] = a.Line
		if !a.Expiration.Set {
			continue
		}
		e, line := a.Expiration.V, a.Expiration.Line
		limit := fmt.Sprintf("the policy of %s allows %s assignments of at most %s (%s)", t.Name, kind, domain.FormatISODuration(rules.MaxDuration), key)
		switch {
		case e.Permanent && !rules.AllowPermanent:
			p.d.errorf(line, "%s: %s is made %s permanently, but %s", t.Name, r.Name, kind, limit)
		case e.Duration > 0 && !rules.AllowPermanent && e.Duration > rules.MaxDuration:
			p.d.errorf(line, "%s: %s is made %s for %s, but %s", t.Name, r.Name, kind, domain.FormatISODuration(e.Duration), limit)
		case !e.Until.IsZero() && !e.Until.After(p.now):
			p.d.errorf(line, "%s: %s's %s assignment would end %s, which is in the past", t.Name, r.Name, kind, e.Until.Format("2006-01-02T15:04:05Z"))
		case !e.Until.IsZero() && !rules.AllowPermanent && e.Until.Sub(p.now) > rules.MaxDuration:
			p.d.errorf(line, "%s: %s's %s assignment would end %s, but %s", t.Name, r.Name, kind, e.Until.Format("2006-01-02"), limit)
		}
	}
}

// checkSelfApproval warns when the only approver of a target is eligible
// for it: nobody could approve that person's own activations.
func (p *parser) checkSelfApproval(t *Target, pol domain.Policy) {
	a := pol.Activation
	if !a.ApprovalRequired || len(a.Stages) != 1 || len(a.Stages[0].PrimaryApprovers) != 1 {
		return
	}
	only := a.Stages[0].PrimaryApprovers[0]
	if only.Kind != domain.ApproverUser {
		return
	}
	for _, e := range t.Eligible {
		if e.Principal.ID == only.ID {
			p.d.warnf(e.Line, "%s: %s is eligible and the only approver; nobody approves their own request, so %s could never activate: add a second approver",
				t.Name, e.Principal.Name, e.Principal.Name)
		}
	}
}

func (p *parser) checkApproversNotBreakGlass(breakGlass breakGlassRefs) {
	check := func(what string, s *Settings) {
		if s == nil {
			return
		}
		refs := append([]*Ref{}, s.Approvers.V...)
		if s.Escalation.V != nil {
			refs = append(refs, s.Escalation.V.Approvers...)
		}
		for _, r := range refs {
			if _, ok := breakGlass.find(r.ID); ok {
				p.d.warnf(r.Line, "%s: %s is a break-glass account; keep emergency accounts out of day-to-day work such as approvals", what, r.Name)
			}
		}
	}
	check("defaults", p.f.Defaults)
	for _, t := range p.f.Tiers {
		check("tier "+t.Name, t.Settings)
	}
	for _, t := range p.f.Targets {
		check(t.Name, t.Settings)
	}
}

// checkOtherOwners: otherOwners approves only an Azure role's activation,
// where there is a resource to own; defaults and tiers reach other targets.
func (p *parser) checkOtherOwners() {
	check := func(what string, s *Settings, azure bool) {
		if s == nil || azure {
			return
		}
		refs := append([]*Ref{}, s.Approvers.V...)
		if s.Escalation.V != nil {
			refs = append(refs, s.Escalation.V.Approvers...)
		}
		for _, r := range refs {
			if r.ResourceOwners {
				p.d.errorf(r.Line, "%s: %s approves only Azure roles (under azureRoles), where there is a resource to own; name users or groups here", what, OtherOwners)
			}
		}
	}
	check("defaults", p.f.Defaults, false)
	for _, t := range p.f.Tiers {
		check("tier "+t.Name, t.Settings, false)
	}
	for _, t := range p.f.Targets {
		check(t.Name, t.Settings, t.T.Kind == domain.TargetAzureRole)
	}
}

// hours writes a duration as people wrote it: PT25H rather than P1DT1H.
func hours(d time.Duration) string {
	if d%time.Hour == 0 && d < 100*time.Hour {
		return fmt.Sprintf("PT%dH", d/time.Hour)
	}
	return domain.FormatISODuration(d)
}

// breakGlassRefs asks the domain's break-glass rule (domain.BreakGlass) and
// keeps where in the file each account was declared, for the messages.
type breakGlassRefs struct {
	list domain.BreakGlass
	refs map[domain.ObjectID]*Ref
}

func (b breakGlassRefs) find(id domain.ObjectID) (*Ref, bool) {
	if !b.list.Protects(id) {
		return nil, false
	}
	return b.refs[id], true
}
