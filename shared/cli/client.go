package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/wire"
)

// Client calls jitpim's API with a bearer token. The token is sent in the
// Authorization header only: it is never logged, printed or put in an error.
type Client struct {
	Base  string // e.g. http://127.0.0.1:7071/api
	Token string
	HTTP  *http.Client
}

// NewClient returns a client for the API at base.
func NewClient(base, token string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// APIError is an answer other than 2xx, with the API's Graph-shaped error.
type APIError struct {
	Status  int
	Code    string
	Message string
	Target  string
	Method  string
	Path    string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Target != "" {
		s += " (target: " + e.Target + ")"
	}
	return s
}

// StatusCode is the HTTP status of the answer.
func (e *APIError) StatusCode() int { return e.Status }

// maxAnswer bounds what is read from the API.
const maxAnswer = 64 << 20

// Call sends one request. body, when not nil, is sent as JSON; a JSON
// answer is decoded into out when out is not nil. Answers other than 2xx
// come back as *APIError.
func (c *Client) Call(ctx context.Context, method, path string, body any, headers map[string]string, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+"/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			return fmt.Errorf("cannot reach the jitpim API at %s: %w", c.Base, ue.Unwrap())
		}
		return fmt.Errorf("cannot reach the jitpim API at %s: %w", c.Base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := &APIError{Status: res.StatusCode, Method: method, Path: path, Code: http.StatusText(res.StatusCode)}
		var eb wire.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			e.Code, e.Message, e.Target = eb.Error.Code, eb.Error.Message, eb.Error.Target
		} else {
			e.Message = strings.TrimSpace(string(data))
			if len(e.Message) > 300 {
				e.Message = e.Message[:300] + "…"
			}
			if e.Message == "" {
				e.Message = "no details in the answer"
			}
		}
		return e
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return nil
}

// TokenObjectID reads the caller's object id (oid) from a JWT without
// verifying it: the API verifies the token; the command line only needs
// the id to fill in principalId.
func TokenObjectID(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("JITPIM_TOKEN is not a JWT access token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", errors.New("JITPIM_TOKEN is not a JWT access token (its payload is not base64url)")
	}
	var claims struct {
		OID string `json:"oid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.OID == "" {
		return "", errors.New("JITPIM_TOKEN has no oid claim: use an access token issued to a user for the jitpim API")
	}
	return claims.OID, nil
}
