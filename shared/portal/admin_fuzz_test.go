package portal

import (
	"net/url"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

// FuzzApplyPolicyForm: whatever a browser posts, the settings form either
// refuses with a coded error naming a field, or yields a policy whose
// approvers are all canonical object ids: it never panics and never lets
// a raw string through as an id.
func FuzzApplyPolicyForm(f *testing.F) {
	f.Add("PT1H", "mfa", "", "on", "c4049c7c-e12b-4472-b42d-c24808aa1054", "P90D", "a@b.example")
	f.Add("PT30M", "context", "c1", "", "group:6756a9c9-c7e3-4b68-9883-5dbadb50b0e6\nC4049C7C-E12B-4472-B42D-C24808AA1054", "P365D", "")
	f.Add("P1D", "none", "", "on", "", "P15D", "x")
	f.Fuzz(func(t *testing.T, activation, auth, ctxName, approval, approvers, expiry, extra string) {
		pol := domain.DefaultPolicy()
		form := url.Values{"activation": {activation}, "auth": {auth}, "authContext": {ctxName}, "approval": {approval},
			"approvers": {approvers}, "eligibleMax": {expiry}, "activeMax": {expiry}, "n0extra": {extra}}
		err := applyPolicyForm(&pol, form)
		if err != nil {
			if !domain.IsCode(err, domain.CodeInvalid) {
				t.Fatalf("refusal is not a coded 400: %v", err)
			}
			return
		}
		for _, st := range pol.Activation.Stages {
			for _, ap := range st.PrimaryApprovers {
				if got, err := domain.ParseObjectID("id", string(ap.ID)); err != nil || got != ap.ID {
					t.Fatalf("approver %q is not a canonical id", ap.ID)
				}
			}
		}
	})
}

// FuzzParseAuditFilter: the audit filter accepts any query without
// panicking, and a window it accepts is never empty or reversed.
func FuzzParseAuditFilter(f *testing.F) {
	f.Add("Stan Developer", "2026-12-01", "2026-12-05")
	f.Add("bab627f5-13ed-48bf-ab5f-3cd25232621a", "", "")
	f.Add("", "2026-13-40", "yesterday")
	f.Fuzz(func(t *testing.T, person, from, to string) {
		got, err := parseAuditFilter(url.Values{"person": {person}, "from": {from}, "to": {to}})
		if err != nil {
			if !domain.IsCode(err, domain.CodeInvalid) {
				t.Fatalf("refusal is not a coded 400: %v", err)
			}
			return
		}
		if !got.from.IsZero() && !got.to.IsZero() && !got.from.Before(got.to) {
			t.Fatalf("accepted an empty window %v – %v", got.from, got.to)
		}
		if got.personID != "" {
			if id, err := domain.ParseObjectID("person", string(got.personID)); err != nil || id != got.personID {
				t.Fatalf("person id %q is not canonical", got.personID)
			}
		}
	})
}
