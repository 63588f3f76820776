package policyfile

import (
	"strings"
)

// reviewUpdate is the in-place update of a live definition to the file's
// review: a PATCH of the properties Graph lets an update change (name,
// descriptions, reviewers, settings), which applies from the next
// instance while the running one keeps its settings. The details name
// people, not ids: "reviewers: Alice Approver → Gina Global".
func reviewUpdate(f *File, r *Review, have LiveReview, want ReviewShape) Change {
	names := reviewerNames(f)
	named := func(qs []string, none string) []string {
		if len(qs) == 0 {
			return []string{none}
		}
		out := make([]string, 0, len(qs))
		for _, q := range qs {
			out = append(out, names.of(q))
		}
		return out
	}
	h, w := have.Shape, want
	h.Reviewers, w.Reviewers = named(h.Reviewers, "self-review"), named(w.Reviewers, "self-review")
	h.FallbackReviewers, w.FallbackReviewers = named(h.FallbackReviewers, "none"), named(w.FallbackReviewers, "none")
	details := []string{"update in place, from the next instance (the running one keeps its settings)"}
	for _, d := range reviewDiff(h, w) {
		details = append(details, strings.NewReplacer("[", "", "]", "").Replace(d))
	}
	body := r.Body()
	delete(body, "scope") // fixed; the update refuses a different one
	return Change{Op: "change", Kind: "review", Subject: "update access review \"" + r.Name + "\" (" + have.ID + ")", Details: details,
		Calls: []APICall{{"PATCH", pathReviews + "/" + have.ID, body}}}
}

// queryNames turns reviewer queries into the names the file gives them.
type queryNames map[string]string

func reviewerNames(f *File) queryNames {
	out := queryNames{}
	// Every name the directory section gives, so a reviewer the file no
	// longer uses is still shown by name.
	for _, u := range f.Users {
		out[userQuery(&Ref{ID: u.ID})] = u.Name
	}
	for _, g := range f.Groups {
		out[userQuery(&Ref{ID: g.ID, Group: true})] = "members of " + g.Name
	}
	for _, r := range f.Reviews {
		for _, x := range append(append([]*Ref(nil), r.Reviewers...), r.Fallback...) {
			if x == nil || x.ID == "" || x.Name == "" {
				continue
			}
			if x.Group {
				out[userQuery(x)] = "members of " + x.Name
			} else {
				out[userQuery(x)] = x.Name
			}
		}
	}
	return out
}

func (n queryNames) of(q string) string {
	if name, ok := n[q]; ok {
		return name
	}
	switch q {
	case "./manager":
		return "each person's manager"
	case "./owners":
		return "the group's owners"
	}
	return q
}
