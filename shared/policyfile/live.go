package policyfile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

// API is jitpim's HTTP API as plan and apply use it. Call sends body (if
// not nil) as JSON and decodes a JSON answer into out (if not nil); an
// answer that is not 2xx comes back as an error that carries the API's
// message (see shared/cli's APIError).
type API interface {
	Call(ctx context.Context, method, path string, body any, headers map[string]string, out any) error
}

// StatusCoder is implemented by API errors that carry an HTTP status.
type StatusCoder interface{ StatusCode() int }

func statusOf(err error) int {
	var sc StatusCoder
	if errors.As(err, &sc) {
		return sc.StatusCode()
	}
	return 0
}

// Live is the part of jitpim's state a policy file describes, read through the API.
type Live struct {
	// Policies are the stored policies by id: targets with their own
	// policy, tiers, and the default once changed.
	Policies map[string]domain.Policy
	// Default is the policy in force for targets with none of their own and no tier.
	Default domain.Policy
	// Schedules are the live eligible and admin-made active assignments
	// (activations are left out: they come and go by themselves).
	Schedules []Schedule
	// BreakGlass tells, for each break-glass account of the file, whether
	// the handler refuses to manage it.
	BreakGlass map[domain.ObjectID]BreakGlassCheck
	// Reviews are the live access review definitions, read only when the
	// file has an accessReviews section.
	Reviews []LiveReview
	// ReviewsUnavailable is the API's answer when the service has no
	// access reviews configured.
	ReviewsUnavailable string
	// Removals are the last removals (by an administrator or an access
	// review) of assignments that the file lists and the live state lacks,
	// by removalKey: adding those back re-grants what someone took away.
	Removals map[string]Removal
}

// RemovalOf returns the removal that an addition of this assignment would undo.
func (l *Live) RemovalOf(kind domain.RequestKind, principal domain.ObjectID, t domain.Target) (Removal, bool) {
	r, ok := l.Removals[removalKey(kind, principal, t)]
	return r, ok
}

// BreakGlassCheck is what the handler answered about one break-glass account.
type BreakGlassCheck struct {
	Protected bool
	Answer    string
}

// Schedule is a live eligible or active assignment.
type Schedule struct {
	ID          string
	Kind        domain.RequestKind
	PrincipalID domain.ObjectID
	Target      domain.Target
	Start, End  time.Time
}

func approversFromJSON(us []wire.UserSet) []domain.Approver {
	var out []domain.Approver
	for _, u := range us {
		switch u.ODataType {
		case wire.ODataGroupMembers:
			out = append(out, domain.Approver{Kind: domain.ApproverGroup, ID: domain.CanonicalID(u.GroupID)})
		case wire.ODataResourceOwners:
			out = append(out, domain.Approver{Kind: domain.ApproverResourceOwners})
		default:
			out = append(out, domain.Approver{Kind: domain.ApproverUser, ID: domain.CanonicalID(u.UserID)})
		}
	}
	return out
}

// listOf reads a list property of a rule: nil when the rule has none.
func listOf(l *[]string) []string {
	if l == nil {
		return nil
	}
	return *l
}

// decodePolicy reads a policy in Graph's shape (with its rules) back into the domain's.
func decodePolicy(j wire.Policy) (domain.Policy, error) {
	scope, t, tier, ok := domain.ParsePolicyID(j.ID)
	if !ok {
		return domain.Policy{}, fmt.Errorf("the API returned a policy with an unknown id %q", j.ID)
	}
	p := domain.DefaultPolicy()
	p.ID, p.Scope, p.Target, p.Tier, p.DisplayName, p.Description, p.InheritedFrom = j.ID, scope, t, tier, j.DisplayName, j.Description, j.InheritedFrom
	for _, x := range j.TierTargets {
		tg := domain.RoleTarget(domain.CanonicalID(x.RoleDefinitionID), x.DirectoryScopeID)
		if x.GroupID != "" {
			tg = domain.GroupTarget(domain.CanonicalID(x.GroupID), x.AccessID)
		}
		p.TierTargets = append(p.TierTargets, tg)
	}
	dur := func(s *string) (time.Duration, error) {
		if s == nil {
			return 0, nil
		}
		return domain.ParseISODuration(*s)
	}
	for _, r := range j.Rules {
		var err error
		switch r.ID {
		case "Expiration_EndUser_Assignment":
			p.Activation.MaxDuration, err = dur(r.MaximumDuration)
		case "Enablement_EndUser_Assignment":
			a := &p.Activation
			a.RequireMFA, a.RequireJustification, a.RequireTicket = false, false, false
			for _, e := range listOf(r.EnabledRules) {
				switch strings.ToLower(e) {
				case "multifactorauthentication":
					a.RequireMFA = true
				case "justification":
					a.RequireJustification = true
				case "ticketing":
					a.RequireTicket = true
				}
			}
			a.ValidateTicket = r.IsTicketValidationRequired != nil && *r.IsTicketValidationRequired
		case "Approval_EndUser_Assignment":
			a := &p.Activation
			a.ApprovalRequired, a.ApprovalMode, a.Stages = false, domain.ApprovalNone, nil
			if s := r.Setting; s != nil {
				a.ApprovalRequired, a.ApprovalMode = s.IsApprovalRequired, s.ApprovalMode
				for _, st := range s.ApprovalStages {
					a.Stages = append(a.Stages, domain.StageRule{TimeoutDays: st.ApprovalStageTimeOutInDays, ApproverJustificationRequired: st.IsApproverJustificationRequired,
						PrimaryApprovers: approversFromJSON(st.PrimaryApprovers), EscalationEnabled: st.IsEscalationEnabled,
						EscalationMinutes: st.EscalationTimeInMinutes, EscalationApprovers: approversFromJSON(st.EscalationApprovers)})
				}
			}
		case "AuthenticationContext_EndUser_Assignment":
			p.Activation.AuthContext = ""
			if r.IsEnabled != nil && *r.IsEnabled && r.ClaimValue != nil {
				p.Activation.AuthContext = *r.ClaimValue
			}
		case "Expiration_Admin_Eligibility", "Expiration_Admin_Assignment":
			ar := &p.Active
			if r.ID == "Expiration_Admin_Eligibility" {
				ar = &p.Eligible
			}
			ar.AllowPermanent = r.IsExpirationRequired != nil && !*r.IsExpirationRequired
			ar.MaxDuration, err = dur(r.MaximumDuration)
		case "Enablement_Admin_Eligibility", "Enablement_Admin_Assignment":
			ar := &p.Active
			if r.ID == "Enablement_Admin_Eligibility" {
				ar = &p.Eligible
			}
			ar.RequireJustification, ar.RequireMFA = false, false
			for _, e := range listOf(r.EnabledRules) {
				switch strings.ToLower(e) {
				case "justification":
					ar.RequireJustification = true
				case "multifactorauthentication":
					ar.RequireMFA = true
				}
			}
		default:
			for i := range p.Notifications {
				n := &p.Notifications[i]
				if n.ID() != r.ID {
					continue
				}
				if r.NotificationLevel != nil {
					n.Level = *r.NotificationLevel
				}
				if r.IsDefaultRecipientsEnabled != nil {
					n.DefaultRecipients = *r.IsDefaultRecipientsEnabled
				}
				n.ExtraRecipients = append([]string(nil), listOf(r.NotificationRecipients)...)
			}
		}
		if err != nil {
			return p, fmt.Errorf("policy %s, rule %s: %w", j.ID, r.ID, err)
		}
	}
	return p, nil
}

const (
	pathPolicies = "policies/roleManagementPolicies"
	rmBase       = "roleManagement/directory/"
	pgBase       = "identityGovernance/privilegedAccess/group/"
)

// LoadLive reads the live state through the API. It needs an admin's
// token: listing everyone's schedules is for administrators.
func LoadLive(ctx context.Context, api API, f *File) (*Live, error) {
	l := &Live{Policies: map[string]domain.Policy{}, BreakGlass: map[domain.ObjectID]BreakGlassCheck{}}
	ps, err := wire.ListAll[wire.Policy](ctx, api, pathPolicies+"?$expand=rules")
	if err != nil {
		return nil, fmt.Errorf("reading policies: %w", err)
	}
	for _, j := range ps {
		p, err := decodePolicy(j)
		if err != nil {
			return nil, err
		}
		l.Policies[p.ID] = p
	}
	var def wire.Policy
	if err := api.Call(ctx, "GET", pathPolicies+"/"+domain.DefaultPolicyID+"?$expand=rules", nil, nil, &def); err != nil {
		return nil, fmt.Errorf("reading the default policy: %w", err)
	}
	if l.Default, err = decodePolicy(def); err != nil {
		return nil, err
	}
	for _, src := range []struct {
		path  string
		kind  domain.RequestKind
		group bool
	}{
		{rmBase + "roleEligibilitySchedules", domain.KindEligibility, false},
		{rmBase + "roleAssignmentSchedules", domain.KindAssignment, false},
		{pgBase + "eligibilitySchedules", domain.KindEligibility, true},
		{pgBase + "assignmentSchedules", domain.KindAssignment, true},
	} {
		ss, err := wire.ListAll[wire.Schedule](ctx, api, src.path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", src.path, err)
		}
		for _, s := range ss {
			if src.kind == domain.KindAssignment && strings.EqualFold(s.AssignmentType, domain.AssignmentActivated) { // groups answer "activated"
				continue
			}
			sc := Schedule{ID: s.ID, Kind: src.kind, PrincipalID: s.PrincipalID}
			if src.group {
				sc.Target = domain.GroupTarget(s.GroupID, s.AccessID)
			} else {
				sc.Target = domain.RoleTarget(s.RoleDefinitionID, s.DirectoryScopeID)
			}
			if si := s.ScheduleInfo; si != nil {
				if si.StartDateTime != nil {
					sc.Start, _ = time.Parse(time.RFC3339, *si.StartDateTime)
				}
				if si.Expiration.EndDateTime != nil {
					sc.End, _ = time.Parse(time.RFC3339, *si.Expiration.EndDateTime)
				}
			}
			l.Schedules = append(l.Schedules, sc)
		}
	}
	sort.SliceStable(l.Schedules, func(i, j int) bool { return l.Schedules[i].ID < l.Schedules[j].ID })
	if l.Removals, err = loadRemovals(ctx, api, f, l.Schedules); err != nil {
		return nil, err
	}
	if f.ReviewsDeclared {
		if l.Reviews, err = loadReviews(ctx, api); statusOf(err) == 404 {
			// The service runs without access reviews: plan says so.
			l.ReviewsUnavailable, err = err.Error(), nil
		}
		if err != nil {
			return nil, err
		}
	}
	for _, r := range f.BreakGlass {
		l.BreakGlass[r.ID], err = probeBreakGlass(ctx, api, r.ID)
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// probeBreakGlass asks the handler, with a validation-only request that
// stores nothing, whether it refuses to manage an account as break-glass.
// The API does not list the handler's break-glass accounts, so this is the
// only check possible from outside.
func probeBreakGlass(ctx context.Context, api API, id domain.ObjectID) (BreakGlassCheck, error) {
	body := map[string]any{"action": "adminAssign", "principalId": id, "roleDefinitionId": domain.RoleGlobalAdministrator,
		"directoryScopeId": "/", "justification": "jitpim config plan: break-glass check (validation only)", "isValidationOnly": true,
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "noExpiration"}}}
	err := api.Call(ctx, "POST", rmBase+"roleEligibilityScheduleRequests", body, nil, nil)
	switch {
	case err == nil:
		return BreakGlassCheck{Answer: "the handler would manage it (a validation-only assignment was accepted)"}, nil
	case statusOf(err) == 403 && strings.Contains(err.Error(), "break-glass"):
		return BreakGlassCheck{Protected: true, Answer: "the handler refuses to manage it"}, nil
	case statusOf(err) >= 400 && statusOf(err) < 500 && statusOf(err) != 401:
		return BreakGlassCheck{Answer: "the handler did not refuse it as break-glass: " + err.Error()}, nil
	}
	return BreakGlassCheck{}, fmt.Errorf("checking break-glass account %s: %w", id, err)
}

// effective is the policy in force for a target given the policies that
// will be stored: its own, else the first tier by name listing it, else
// the default. It mirrors engine.EffectivePolicy.
func effective(t domain.Target, own map[string]domain.Policy, tiers []domain.Policy, def domain.Policy) domain.Policy {
	if p, ok := own[domain.PolicyID(t)]; ok {
		return p
	}
	sort.Slice(tiers, func(i, j int) bool { return tiers[i].ID < tiers[j].ID })
	for _, tr := range tiers {
		for _, x := range tr.TierTargets {
			if x == t {
				return tr
			}
		}
	}
	return def
}
