package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fakeExtension answers like the Parameters and Secrets extension.
func fakeExtension(t *testing.T, secrets map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Aws-Parameters-Secrets-Token") != "session" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		v, ok := secrets[r.URL.Query().Get("secretId")]
		if r.URL.Path != "/secretsmanager/get" || !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Name":"x","SecretString":` + v + `}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettingsFromSecretsManager(t *testing.T) {
	srv := fakeExtension(t, map[string]string{
		"arn:a": `"{\"AzureWebJobsStorage\":\"conn\",\"JITPIM_LINK_KEYS\":\"k1:x\"}"`,
		"arn:b": `"{\"AZURE_CLIENT_CERTIFICATE\":\"PEM\",\"JITPIM_LINK_KEYS\":\"k2:y\"}"`,
		"arn:c": `"not json"`,
	})
	u, _ := url.Parse(srv.URL)
	base := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9", "AWS_SESSION_TOKEN": "session",
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": u.Port(), "JITPIM_AWS_SECRET_ID": "arn:a, arn:b", "JITPIM_OIDC_AUDIENCE": "api://x",
		"AzureWebJobsStorage": "from-env"}
	get, err := settings(context.Background(), envOf(base), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"AzureWebJobsStorage": "conn", "JITPIM_LINK_KEYS": "k2:y", "AZURE_CLIENT_CERTIFICATE": "PEM", "JITPIM_OIDC_AUDIENCE": "api://x"} {
		if got := get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	cases := []struct {
		name, change, value, err string
	}{
		{"wrong token", "AWS_SESSION_TOKEN", "other", "403"},
		{"unknown secret", "JITPIM_AWS_SECRET_ID", "arn:z", "404"},
		{"not an object", "JITPIM_AWS_SECRET_ID", "arn:c", "JSON object"},
		{"bad port", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "x", "not a port"},
	}
	for _, c := range cases {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		env[c.change] = c.value
		if _, err := settings(context.Background(), envOf(env), srv.Client()); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
		}
	}

	// Off Lambda the secret setting is ignored: the Functions app settings
	// are the only source there.
	env := map[string]string{"JITPIM_AWS_SECRET_ID": "arn:a", "AzureWebJobsStorage": "from-env"}
	get, err = settings(context.Background(), envOf(env), srv.Client())
	if err != nil || get("AzureWebJobsStorage") != "from-env" {
		t.Fatalf("off Lambda: %v %q", err, get("AzureWebJobsStorage"))
	}
}
