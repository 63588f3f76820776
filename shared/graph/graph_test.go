package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

// The adapter's tests against the Graph simulator live in local/graphsim
// (shared/ never imports local/); these need no simulator.

// adam is a demo tenant user id (local/demo/tenant.json).
const adam = "a47440fe-ede2-441f-a6c7-93ef77d456d2"

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", code)
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("want *domain.Error, got %T %v", err, err)
	}
	if de.Code != code {
		t.Fatalf("want code %s, got %s (%v)", code, de.Code, err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]Config{
		"anonymous remote":  {BaseURL: "https://graph.microsoft.com/v1.0", Anonymous: true},
		"plain http remote": {BaseURL: "http://graph.example.com/v1.0", Anonymous: true},
		"no credentials":    {},
		"secret, no tenant": {ClientID: "x", ClientSecret: "y"},
		"missing cert file": {TenantID: "t", ClientID: "x", CertificatePath: "/nonexistent.pem"},
		"not a URL":         {BaseURL: "graph", Anonymous: true},
	} {
		_, err := New(ctx, cfg)
		wantCode(t, err, domain.CodeInvalid)
		_ = name
	}
	// Credentials are only used on the first call: building a client does
	// not reach the network.
	if _, err := New(ctx, Config{TenantID: "462fd4ff-0a73-4588-a3a8-cabb9c8fc47e", ClientID: "11111111-1111-1111-1111-111111111111", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, Config{UseManagedIdentity: true}); err != nil {
		t.Fatal(err)
	}
}

// A bearer token must never go to a host a nextLink names.
func TestNextLinkToOtherHostRefused(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[],"@odata.nextLink":"https://attacker.example/v1.0/roleManagement/directory/roleAssignments?$skiptoken=x"}`))
	}))
	defer evil.Close()
	c, err := New(context.Background(), Config{BaseURL: evil.URL + "/v1.0", Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListRoleAssignments(context.Background(), adam)
	wantCode(t, err, domain.CodeInternal)
}
