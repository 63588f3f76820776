package tablestore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/storetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// fakeCredential stands in for a managed identity: it mints tokens the way
// Entra shapes them (issuer, audience, lifetime), unsigned, which is what
// Azurite's `--oauth basic` checks. It records the scopes it was asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes map[string]int
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	if f.scopes == nil {
		f.scopes = map[string]int{}
	}
	for _, s := range o.Scopes {
		f.scopes[s]++
	}
	f.mu.Unlock()
	now := time.Now()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tok := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"oid": "00000000-0000-0000-0000-0000000000aa",
	}) + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
	return azcore.AccessToken{Token: tok, ExpiresOn: now.Add(time.Hour)}, nil
}

// authRecorder is the HTTP transport: it counts how each request
// authenticated before sending it over TLS to Azurite.
type authRecorder struct {
	client            *http.Client
	bearer, sharedKey atomic.Int64
}

func (a *authRecorder) Do(r *http.Request) (*http.Response, error) {
	switch h := r.Header.Get("Authorization"); {
	case strings.HasPrefix(h, "Bearer "):
		a.bearer.Add(1)
	case strings.HasPrefix(h, "SharedKey"):
		a.sharedKey.Add(1)
	}
	return a.client.Do(r)
}

// TestTokenCredentialAzurite runs the store contract over the identity
// path: an Azurite that only accepts what an Entra token looks like, over
// https, with no account key anywhere in the configuration.
func TestTokenCredentialAzurite(t *testing.T) {
	ep := azuritetest.StartOAuth(t)
	cred := &fakeCredential{}
	rec := &authRecorder{client: ep.Client}
	opts := func() tablestore.Options {
		return tablestore.Options{ServiceURL: ep.ServiceURL, Credential: cred, Client: &policy.ClientOptions{Transport: rec}}
	}
	storetest.Run(t, func(t *testing.T) domain.Store { return newStore(t, "", opts()) })

	if rec.bearer.Load() == 0 || rec.sharedKey.Load() != 0 {
		t.Fatalf("requests: %d with a bearer token, %d with a shared key; want only bearer", rec.bearer.Load(), rec.sharedKey.Load())
	}
	cred.mu.Lock()
	scopes := len(cred.scopes)
	storage := cred.scopes["https://storage.azure.com/.default"]
	cred.mu.Unlock()
	if scopes != 1 || storage == 0 {
		t.Fatalf("token scopes asked for: %d kinds, %d for https://storage.azure.com/.default; want only that one", scopes, storage)
	}

	// The audit reader (operator commands) takes the same way in.
	o := opts()
	o.TablePrefix = prefix()
	s := newStore(t, "", o)
	if err := s.AppendAudit(context.Background(), &domain.AuditRecord{ID: "a1", Time: time.Now().UTC(), ActorID: "system", Action: "test", Category: "Governance", Outcome: "success"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChainAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := tablestore.OpenAuditReader(context.Background(), "", o)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Verify(context.Background()); err != nil || n != 1 {
		t.Fatalf("audit verify over a token: %d records, %v", n, err)
	}
}

// TestTokenCredentialRejected: Azurite in OAuth mode refuses a token for
// another audience, so the test above proves the token is what let the
// requests in.
func TestTokenCredentialRejected(t *testing.T) {
	ep := azuritetest.StartOAuth(t)
	_, err := tablestore.New(context.Background(), "", tablestore.Options{TablePrefix: prefix(), ServiceURL: ep.ServiceURL,
		Credential: wrongAudience{}, Client: &policy.ClientOptions{Transport: ep.Client}, MaxAttempts: 1})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a token for another audience: %v; want a 403 refusal", err)
	}
}

type wrongAudience struct{}

func (wrongAudience) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	now := time.Now()
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	tok := enc(map[string]string{"alg": "RS256"}) + "." + enc(map[string]any{"aud": "https://graph.microsoft.com",
		"iss": "https://sts.windows.net/t/", "iat": now.Unix(), "nbf": now.Unix() - 60, "exp": now.Unix() + 3600}) + ".x"
	return azcore.AccessToken{Token: tok, ExpiresOn: now.Add(time.Hour)}, nil
}

func TestCredentialOptionsValidated(t *testing.T) {
	cred := &fakeCredential{}
	for name, c := range map[string]struct {
		conn string
		opts tablestore.Options
	}{
		"both":             {tablestore.DevelopmentStorage, tablestore.Options{ServiceURL: "https://a.table.core.windows.net", Credential: cred}},
		"http with token":  {"", tablestore.Options{ServiceURL: "http://a.table.core.windows.net", Credential: cred}},
		"url without cred": {"", tablestore.Options{ServiceURL: "https://a.table.core.windows.net"}},
		"nothing":          {"", tablestore.Options{}},
	} {
		if _, err := tablestore.New(context.Background(), c.conn, c.opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
