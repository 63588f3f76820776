package snsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jitpim/jitpim/shared/servicenow"
)

// SendWebhook does what a ServiceNow Business Rule with RESTMessageV2
// does: it encodes hook as JSON, signs it with secret (X-Jitpim-Timestamp,
// X-Jitpim-Signature) and POSTs it to url. It returns jitpim's status and
// body (at most 1 MiB).
func SendWebhook(ctx context.Context, url string, secret []byte, hook map[string]any) (status int, body []byte, err error) {
	payload, err := json.Marshal(hook)
	if err != nil {
		return 0, nil, fmt.Errorf("encoding webhook: %w", err)
	}
	ts, sig := servicenow.Sign(secret, time.Now(), payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ServiceNow/1.0 (snsim)")
	req.Header.Set(servicenow.HeaderTimestamp, ts)
	req.Header.Set(servicenow.HeaderSignature, sig)
	client := &http.Client{Timeout: 60 * time.Second} // RESTMessageV2's default HTTP timeout
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
