package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// onLambda tells whether the Lambda runtime started the process: it sets
// AWS_LAMBDA_RUNTIME_API in every execution environment it creates.
func onLambda(getenv func(string) string) bool { return getenv("AWS_LAMBDA_RUNTIME_API") != "" }

// settings returns where configuration is read from. On Lambda with
// JITPIM_AWS_SECRET_ID set, the named Secrets Manager secrets (comma
// separated, later ones winning; each a JSON object
// of setting name to value: AzureWebJobsStorage, AZURE_CLIENT_CERTIFICATE,
// JITPIM_LINK_KEYS, ...) is read once, at start, and its values win over
// the environment, so no secret sits in the function's configuration.
// Elsewhere the environment (the Functions app settings) is all there is.
func settings(ctx context.Context, getenv func(string) string, hc *http.Client) (func(string) string, error) {
	ids := getenv("JITPIM_AWS_SECRET_ID")
	if !onLambda(getenv) || ids == "" {
		return getenv, nil
	}
	secret := map[string]string{}
	for _, id := range strings.Split(ids, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		values, err := readSecret(ctx, getenv, hc, id)
		if err != nil {
			return nil, fmt.Errorf("JITPIM_AWS_SECRET_ID: %w", err)
		}
		maps.Copy(secret, values)
	}
	return func(k string) string {
		if v, ok := secret[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// readSecret fetches a secret through the AWS Parameters and Secrets Lambda
// Extension, which listens on localhost inside the execution environment
// and checks the function's session token (its defence against request
// forgery). The extension rather than the AWS SDK: it needs no Go
// dependency at all (the SDK's config, credentials and signing add about
// 4 MB to the binary) and it caches, so cold starts do not each call
// Secrets Manager. README "Deployment on AWS" has the measurement.
func readSecret(ctx context.Context, getenv func(string) string, hc *http.Client, id string) (map[string]string, error) {
	port := getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
	if port == "" {
		port = "2773"
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: %q is not a port", port)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := "http://localhost:" + port + "/secretsmanager/get?secretId=" + url.QueryEscape(id)
	// The extension may still be starting when the first request comes;
	// it answers 400 "not ready" then, so a few short retries.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), lastErr)
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Aws-Parameters-Secrets-Token", getenv("AWS_SESSION_TOKEN"))
		res, err := hc.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if res.StatusCode != http.StatusOK {
			// The body may name the secret but never holds its value.
			lastErr = fmt.Errorf("the Parameters and Secrets extension answered %d: %.200s", res.StatusCode, body)
			if res.StatusCode >= 500 || res.StatusCode == http.StatusBadRequest {
				continue
			}
			return nil, lastErr
		}
		var out struct {
			SecretString *string `json:"SecretString"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.SecretString == nil {
			return nil, fmt.Errorf("secret %s: no SecretString in the extension's answer", id)
		}
		values := map[string]string{}
		if err := json.Unmarshal([]byte(*out.SecretString), &values); err != nil {
			return nil, fmt.Errorf("secret %s: must be a JSON object of setting names to string values", id)
		}
		return values, nil
	}
	return nil, lastErr
}
