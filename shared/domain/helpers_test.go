package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Fixed identifiers and clock used across the domain tests.
const (
	groupA   = "0b7c1d7e-3c4f-4a1e-9d2b-5f6a7b8c9d0e"
	groupB   = "9a8b7c6d-5e4f-4321-8fed-cba987654321"
	userA    = "11111111-2222-3333-4444-555555555555"
	userB    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	roleGA   = domain.RoleGlobalAdministrator
	rolePRA  = domain.RolePrivilegedRoleAdministrator
	auScope  = "/administrativeUnits/" + groupB
	notAGUID = "not-a-guid"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// wantErr asserts err is a *domain.Error with code, field and a message
// containing every part.
func wantErr(t *testing.T, err error, code domain.Code, field string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s error on field %q containing %q", code, field, parts)
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("got %T (%v), want *domain.Error", err, err)
	}
	if de.Code != code {
		t.Errorf("code = %q, want %q (message %q)", de.Code, code, de.Message)
	}
	if de.Field != field {
		t.Errorf("field = %q, want %q (message %q)", de.Field, field, de.Message)
	}
	for _, p := range parts {
		if !strings.Contains(de.Message, p) {
			t.Errorf("message %q does not contain %q", de.Message, p)
		}
	}
}

func wantNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
