package policyfile

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/wire"
)

// Removal is how an assignment the file asks for was last taken away: an
// adminRemove request that took effect, made by an administrator or by an
// access review's apply, with no assignment made since. Adding it back
// would silently undo that decision, so plan names it and apply refuses
// it unless the administrator passes --allow-regrant.
type Removal struct {
	RequestID  string `json:"requestId"`
	ScheduleID string `json:"scheduleId,omitempty"`
	// By is the object id of the administrator who removed it; empty when
	// jitpim itself did.
	By string `json:"by,omitempty"`
	// App is the application that removed it ("jitpim" for an access
	// review's apply), when no user did.
	App string `json:"app,omitempty"`
	// AccessReview is the name of the access review whose apply removed it.
	AccessReview  string    `json:"accessReview,omitempty"`
	At            time.Time `json:"at"`
	Justification string    `json:"justification,omitempty"`
	// Summary says it for people, with the file's names.
	Summary string `json:"summary,omitempty"`
}

// removalKey names one principal's eligibility or active assignment for a target.
func removalKey(kind domain.RequestKind, principal domain.ObjectID, t domain.Target) string {
	return string(kind) + "|" + string(principal) + "|" + t.Key()
}

func requestTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// tookEffect reports whether a request's change reached the state: a
// grant that was carried out (and may since have ended: Revoked), or a
// removal that happened.
func tookEffect(status domain.Status) bool {
	switch status {
	case domain.StatusGranted, domain.StatusPendingProvisioning, domain.StatusProvisioned, domain.StatusRevoked:
		return true
	}
	return false
}

// reviewRemovalPrefix starts the justification of every removal an access
// review's apply makes (engine.applyItem: `access review "NAME": why`).
// The request is made by jitpim itself, the only adminRemove that is, so
// the prefix only names the review; it does not decide what counts.
const reviewRemovalPrefix = "access review "

// reviewName reads the review's name from such a justification.
func reviewName(justification string) string {
	rest, ok := strings.CutPrefix(justification, reviewRemovalPrefix)
	if !ok {
		return ""
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return ""
	}
	name, err := strconv.Unquote(q)
	if err != nil {
		return ""
	}
	return name
}

// lastRemoval finds, among one principal's requests for one target and
// kind, the newest removal that took effect, unless an assignment was made
// at or after it (then someone already decided to give it back). A
// removal of an activation does not count: it ends a user's own
// activation, not an assignment the file manages.
func lastRemoval(reqs []wire.Request) (Removal, bool) {
	byID := make(map[string]wire.Request, len(reqs))
	for _, r := range reqs {
		byID[r.ID] = r
	}
	var last *Removal
	for _, r := range reqs {
		if r.Action != domain.ActionAdminRemove || !tookEffect(r.Status) {
			continue
		}
		sched := ""
		if r.TargetScheduleID != nil {
			sched = *r.TargetScheduleID
		}
		// A schedule's id is the id of the request that made it.
		if made, ok := byID[sched]; ok && made.Action == domain.ActionSelfActivate {
			continue
		}
		at := requestTime(r.CompletedDateTime)
		if at.IsZero() {
			at = requestTime(r.CreatedDateTime)
		}
		if last != nil && !at.After(last.At) {
			continue
		}
		rm := Removal{RequestID: r.ID, ScheduleID: sched, At: at, Justification: r.Justification}
		switch {
		case r.CreatedBy.User != nil:
			rm.By = string(r.CreatedBy.User.ID)
		case r.CreatedBy.Application != nil:
			rm.App = r.CreatedBy.Application.DisplayName
			rm.AccessReview = reviewName(r.Justification)
		}
		last = &rm
	}
	if last == nil {
		return Removal{}, false
	}
	for _, r := range reqs {
		granted := r.Action == domain.ActionAdminAssign || r.Action == domain.ActionAdminRenew
		// The grant whose schedule the removal ended is not a giving back.
		// Times come to the second: another grant in the same second as the
		// removal is the file's own replace (remove, then assign anew).
		if granted && r.ID != last.ScheduleID && tookEffect(r.Status) && !requestTime(r.CreatedDateTime).Before(last.At) {
			return Removal{}, false
		}
	}
	return *last, true
}

// filterValue quotes a value for $filter (OData doubles single quotes).
func filterValue(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// loadRemovals reads, for every user assignment of the file that has no
// live schedule (what plan would add), that principal's requests for the
// target, and keeps the last removal that no grant has undone since. It
// costs one listing per such assignment and none when the live state
// already has everything; the API matches principal and target, so no id
// is compared here.
func loadRemovals(ctx context.Context, api API, f *File, live []Schedule) (map[string]Removal, error) {
	have := map[string]bool{}
	for _, s := range live {
		have[removalKey(s.Kind, s.PrincipalID, s.Target)] = true
	}
	out := map[string]Removal{}
	for _, t := range f.Targets {
		for _, a := range append(append([]*Assignment{}, t.Eligible...), t.Active...) {
			if a.Principal == nil || a.Principal.Group || a.Principal.ID == "" {
				continue // groups are not applied (plan says so)
			}
			kind := domain.KindEligibility
			if a.Active {
				kind = domain.KindAssignment
			}
			key := removalKey(kind, a.Principal.ID, t.T)
			if have[key] {
				continue
			}
			have[key] = true // asked once, even if the file names it twice
			filter := "principalId eq " + filterValue(string(a.Principal.ID))
			if t.T.Kind == domain.TargetGroup {
				filter += " and groupId eq " + filterValue(string(t.T.GroupID)) + " and accessId eq " + filterValue(t.T.AccessID)
			} else {
				filter += " and roleDefinitionId eq " + filterValue(string(t.T.RoleDefinitionID)) + " and directoryScopeId eq " + filterValue(t.T.DirectoryScopeID)
			}
			path := requestPath(t.T, a.Active)
			reqs, err := wire.ListAll[wire.Request](ctx, api, path+"?$filter="+url.QueryEscape(filter))
			if err != nil {
				return nil, fmt.Errorf("reading the removals of %s's %s: %w", a.Principal.Name, kindWord(a.Active), err)
			}
			if rm, ok := lastRemoval(reqs); ok {
				out[key] = rm
			}
		}
	}
	return out, nil
}

func kindWord(active bool) string {
	if active {
		return "active assignments"
	}
	return "eligibilities"
}

// remover names who removed it, for people.
func (n namer) remover(r Removal) string {
	switch {
	case r.AccessReview != "":
		return fmt.Sprintf("access review %q", r.AccessReview)
	case r.By != "":
		if name := n.user(domain.CanonicalID(r.By)); name != r.By {
			return name + " (" + r.By + ")"
		}
		return r.By
	case r.App != "":
		return r.App
	}
	return "someone"
}

// regrantLine is what plan shows under an addition that re-grants.
func (n namer) regrantLine(r Removal) string {
	s := fmt.Sprintf("re-grants what %s removed at %s (request %s)", n.remover(r), r.At.UTC().Format(time.RFC3339), r.RequestID)
	if r.Justification != "" {
		s += fmt.Sprintf(", justification %q", r.Justification)
	}
	return s
}

// regrantJustification is the justification of a re-granting request:
// the file's, then the override, so that the request and its audit
// record say that the administrator chose to undo the removal. The
// file's part is shortened if the whole would exceed the API's limit.
func (n namer) regrantJustification(just string, r Removal) string {
	note := fmt.Sprintf(" [--allow-regrant: undoes the removal by %s at %s, request %s]", n.remover(r), r.At.UTC().Format(time.RFC3339), r.RequestID)
	note = clipRunes(note, domain.MaxJustification/2)
	return clipRunes(just, domain.MaxJustification-utf8.RuneCountInString(note)) + note
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n < 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}
