package review

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// DefinitionChange is what an update of a definition may change, as
// Graph's accessReviewScheduleDefinition update allows: the name, the
// descriptions, the reviewers and the settings (recurrence included). A
// nil field is left as it is; the scope never changes.
type DefinitionChange struct {
	DisplayName             *string
	DescriptionForAdmins    *string
	DescriptionForReviewers *string
	Reviewers               *[]domain.Reviewer
	FallbackReviewers       *[]domain.Reviewer
	Settings                *domain.ReviewSettings
}

// UpdateReviewDefinition changes a definition; admins only, with MFA. The
// change applies from the next instance: a running instance keeps the
// settings it started with (it holds its own copy). A changed recurrence
// starts a new series on its start date, or when the latest instance ends
// if that is later, so it never starts a second instance beside a running
// one. It returns the definition as stored and the changed fields.
func (svc *Service) UpdateReviewDefinition(ctx context.Context, c *engine.Call, id string, ch DefinitionChange) (domain.ReviewDefinition, []string, error) {
	if err := svc.on(); err != nil {
		return domain.ReviewDefinition{}, nil, err
	}
	if err := svc.eng.RequireAdminWrite(ctx, c, "changing an access review"); err != nil {
		return domain.ReviewDefinition{}, nil, err
	}
	if _, err := svc.GetReviewDefinition(ctx, c, id); err != nil {
		return domain.ReviewDefinition{}, nil, err
	}
	if err := svc.checkReviewers(ctx, ch); err != nil {
		return domain.ReviewDefinition{}, nil, err
	}
	latestEnd, err := svc.latestInstanceEnd(ctx, id)
	if err != nil {
		return domain.ReviewDefinition{}, nil, err
	}
	var out domain.ReviewDefinition
	var changed []string
	err = engine.Retry(func() error {
		cur, err := svc.reviews.GetReviewDefinition(ctx, id)
		if err != nil {
			return err
		}
		if cur.Deleted {
			return domain.Errorf(domain.CodeNotFound, "access review definition %s does not exist", id)
		}
		next, what := applyChange(cur, ch, c.Now, latestEnd)
		if err := next.Validate(); err != nil {
			return err
		}
		changed = what
		if len(what) == 0 {
			out = cur
			return nil // nothing to write, nothing to audit
		}
		next.ModifiedAt = c.Now
		if err := engine.Stale(svc.reviews.UpdateReviewDefinition(ctx, &next)); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil || len(changed) == 0 {
		return out, changed, err
	}
	details := map[string]string{"definition_id": id, "changed": strings.Join(changed, ","), "reviewers": reviewerList(out.Reviewers),
		"fallback": reviewerList(out.FallbackReviewers), "default_decision": out.Settings.DefaultDecision, "auto_apply": strconv.FormatBool(out.Settings.AutoApply),
		"recurrence":    fmt.Sprintf("%s/%d from %s", out.Settings.Recurrence.Type, out.Settings.Recurrence.Interval, out.Settings.Recurrence.StartDate.Format(time.DateOnly)),
		"duration_days": strconv.Itoa(out.Settings.DurationInDays)}
	if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "review.definition.update", Category: "Governance",
		Reason: strings.Join(Warnings(out.Settings), " "), Details: details}); err != nil {
		return out, changed, err
	}
	c.Log.InfoContext(ctx, "access review changed", "definition_id", id, "changed", changed)
	return out, changed, nil
}

// applyChange is cur with ch applied, and the names of the fields that
// differ (Graph's property names).
func applyChange(cur domain.ReviewDefinition, ch DefinitionChange, now, latestEnd time.Time) (domain.ReviewDefinition, []string) {
	next := cur.Clone()
	var changed []string
	setText := func(name string, from *string, to *string) {
		if to != nil && *to != *from {
			*from = *to
			changed = append(changed, name)
		}
	}
	setText("displayName", &next.DisplayName, ch.DisplayName)
	setText("descriptionForAdmins", &next.DescriptionForAdmins, ch.DescriptionForAdmins)
	setText("descriptionForReviewers", &next.DescriptionForReviewers, ch.DescriptionForReviewers)
	if ch.Reviewers != nil && !slices.Equal(*ch.Reviewers, cur.Reviewers) {
		next.Reviewers = slices.Clone(*ch.Reviewers)
		changed = append(changed, "reviewers")
	}
	if ch.FallbackReviewers != nil && !slices.Equal(*ch.FallbackReviewers, cur.FallbackReviewers) {
		next.FallbackReviewers = slices.Clone(*ch.FallbackReviewers)
		changed = append(changed, "fallbackReviewers")
	}
	if ch.Settings != nil {
		s := *ch.Settings
		old := cur.Settings.Recurrence
		if s.Recurrence.StartDate.IsZero() {
			s.Recurrence.StartDate = old.StartDate
		}
		s.Recurrence.Series = old.Series
		if !s.Recurrence.SameSeries(old) {
			s.Recurrence.Series = old.Series + 1
			// The new series must not start beside the running instance.
			if start := nextDay(latestEnd); s.Recurrence.StartDate.Before(start) {
				s.Recurrence.StartDate = start
			}
			if start := now.UTC().Truncate(24 * time.Hour); s.Recurrence.StartDate.Before(start) {
				s.Recurrence.StartDate = start
			}
		}
		if !sameSettings(s, cur.Settings) {
			next.Settings = s
			changed = append(changed, "settings")
		}
	}
	return next, changed
}

// nextDay is the first UTC midnight at or after t (zero stays zero).
func nextDay(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	if d.Before(t) {
		d = d.Add(24 * time.Hour)
	}
	return d
}

// latestInstanceEnd is the end of the definition's latest instance, zero
// when none started.
func (svc *Service) latestInstanceEnd(ctx context.Context, id string) (time.Time, error) {
	insts, err := svc.reviews.ListReviewInstances(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	var end time.Time
	for _, in := range insts {
		if in.Status != domain.ReviewCanceled && in.End.After(end) {
			end = in.End
		}
	}
	return end, nil
}

// checkReviewers refuses named reviewers the directory does not know, and
// kinds this service cannot resolve, as creating a definition does.
func (svc *Service) checkReviewers(ctx context.Context, ch DefinitionChange) error {
	var all []domain.Reviewer
	if ch.Reviewers != nil {
		all = append(all, *ch.Reviewers...)
	}
	if ch.FallbackReviewers != nil {
		all = append(all, *ch.FallbackReviewers...)
	}
	for _, r := range all {
		if (r.Kind == domain.ReviewerManager || r.Kind == domain.ReviewerGroupOwners) && svc.reader == nil {
			return domain.Invalid("reviewers", "%s reviewers need the directory reader, which this service does not have", r.Kind)
		}
		if r.Kind != domain.ReviewerUser {
			continue
		}
		if _, err := svc.dir.GetUser(ctx, r.ID); domain.IsCode(err, domain.CodeNotFound) {
			return domain.Invalid("reviewers", "user %s does not exist in the directory", r.ID)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// sameSettings compares settings field by field, times by instant.
func sameSettings(a, b domain.ReviewSettings) bool {
	if !a.Recurrence.SameSeries(b.Recurrence) || a.Recurrence.Series != b.Recurrence.Series {
		return false
	}
	a.Recurrence, b.Recurrence = domain.Recurrence{}, domain.Recurrence{}
	return a == b
}
