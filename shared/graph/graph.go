// Package graph implements domain.Directory on Microsoft Graph v1.0 with the
// Microsoft Graph Go SDK (msgraph-sdk-go), and adds the mail and sign-in log
// calls jitpim needs.
//
// It is the only package that imports the SDK: the SDK is large (its first
// build takes minutes), so nothing else may depend on it. To keep that cost
// down this package imports only the SDK's request builders it uses (users,
// groups, roleManagement, auditLogs) and its models, never the root
// GraphServiceClient, which pulls in every Graph API.
//
// Credentials come from azidentity: a managed identity in Azure, else a
// client certificate, else a client secret. The SDK's Azure authentication
// provider caches and refreshes tokens, so a warm serverless instance never
// uses an expired one. Anonymous is for the local Graph simulator only and
// is refused for anything but a loopback base URL.
//
// Graph application permissions it needs: RoleManagement.ReadWrite.Directory
// (role assignments, and members of role-assignable groups),
// GroupMember.ReadWrite.All, User.Read.All, AuditLog.Read.All (sign-in log
// and signInActivity, which also need Entra ID P1) and Mail.Send (scope it
// to the sender mailbox with an application access policy).
//
// Every error is a *domain.Error: CodeNotFound for 404, CodeForbidden for
// 403, CodeInvalid for 400, CodeTransient for 429/5xx (after the SDK's retry
// handler has honoured Retry-After), timeouts and network failures, and
// CodeInternal otherwise. The cause is kept.
package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/jitpim/jitpim/shared/domain"
)

// DefaultBaseURL is the global Microsoft Graph v1.0 endpoint.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Config configures a Client. Secrets come from app settings (Key Vault
// references in Azure), never from code.
type Config struct {
	// BaseURL is the Graph v1.0 root (default DefaultBaseURL); a national
	// cloud or the local simulator (http://127.0.0.1:7090/v1.0).
	BaseURL  string
	TenantID string
	// ClientID is the app registration's client id, or with
	// UseManagedIdentity the client id of a user-assigned identity (empty:
	// the system-assigned one).
	ClientID        string
	ClientSecret    string
	CertificatePath string // PEM or PKCS#12 holding the certificate and its private key
	// CertificatePEM is the same as PEM text, for runtimes that hand the
	// certificate over as a secret's value (AWS Secrets Manager) rather
	// than as a file; it wins over CertificatePath.
	CertificatePEM      string
	CertificatePassword string // for an encrypted key
	UseManagedIdentity  bool
	// Anonymous sends no credentials: tests and the local simulator only,
	// refused unless BaseURL is a loopback address.
	Anonymous bool
	// MailSender is the mailbox (object id or UPN) SendMail sends from.
	MailSender string
	// HTTPClient supplies the transport (its Transport and Timeout are
	// used; the client itself is not modified). Nil: a default one.
	HTTPClient *http.Client

	// Timeout bounds one call, retries included (default 60s).
	Timeout time.Duration
	// MaxRetries is how often a 429/503/504 is retried (default 3, at most 10).
	MaxRetries int
	// MaxRetryWait bounds the total time spent waiting between retries of
	// one request (default 30s); a Retry-After that would exceed it ends
	// the retries at once with CodeTransient.
	MaxRetryWait time.Duration
	// CompressRequests gzips request bodies as the SDK does by default.
	// Off by default: Graph accepts both and plain bodies are easier to
	// trace; the simulator handles both.
	CompressRequests bool
	// Logger receives warnings (e.g. signInActivity not permitted).
	Logger *slog.Logger
}

// Client is a domain.Directory on Microsoft Graph. It is safe for
// concurrent use.
type Client struct {
	adapter     *core.GraphRequestAdapterBase
	base        *url.URL
	baseURL     string
	mailSender  string
	timeout     time.Duration
	log         *slog.Logger
	noSignInMu  sync.Mutex
	noSignInTil time.Time // signInActivity answered 403 until then: skip it
}

var _ domain.Directory = (*Client)(nil)

// graphClientOptions is what the SDK's telemetry handler reports.
var graphClientOptions = core.GraphClientOptions{GraphServiceVersion: "", GraphServiceLibraryVersion: "1.89.0"}

// New builds a Client. It does not call Graph; credentials are checked on
// first use.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, domain.Invalid("BaseURL", "%q is not an absolute http(s) URL", cfg.BaseURL)
	}
	loopback := isLoopbackHost(base.Hostname())
	if base.Scheme == "http" && !loopback {
		return nil, domain.Invalid("BaseURL", "plain http is only allowed to a loopback address")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	var parent http.RoundTripper
	timeout := cfg.Timeout
	if cfg.HTTPClient != nil {
		parent = cfg.HTTPClient.Transport
		if cfg.HTTPClient.Timeout > 0 && cfg.HTTPClient.Timeout < timeout {
			timeout = cfg.HTTPClient.Timeout
		}
	}
	if parent == nil {
		parent = khttp.GetDefaultTransport()
	}

	var authProvider absauth.AuthenticationProvider
	if cfg.Anonymous {
		if !loopback {
			return nil, domain.Invalid("Anonymous", "anonymous access is only allowed to a loopback BaseURL (the local Graph simulator)")
		}
		authProvider = &absauth.AnonymousAuthenticationProvider{}
	} else {
		cred, err := credential(cfg, &http.Client{Transport: parent, Timeout: timeout})
		if err != nil {
			return nil, err
		}
		scope := base.Scheme + "://" + base.Host + "/.default"
		p, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{scope}, []string{base.Hostname()})
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "graph authentication provider")
		}
		authProvider = p
	}

	retry := &khttp.RetryHandlerOptions{
		MaxRetries:   cfg.MaxRetries,
		DelaySeconds: 1,
		ShouldRetry:  shouldRetry(cfg.MaxRetryWait),
	}
	middlewares := []khttp.Middleware{
		statusRecorder{},
		core.NewGraphTelemetryHandler(&graphClientOptions),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewRetryHandlerWithOptions(*retry),
		khttp.NewCompressionHandlerWithOptions(*khttp.NewCompressionOptionsReference(cfg.CompressRequests)),
		retryBodyBuffer{},
	}
	httpClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, middlewares...),
		Timeout:   timeout,
		// Graph answers these calls without redirects; never follow one
		// with a bearer token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	parse := absser.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	ser := absser.NewSerializationWriterFactoryRegistry()
	ser.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()

	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		authProvider, graphClientOptions, parse, ser, httpClient)
	if err != nil {
		return nil, domain.Wrap(domain.CodeInternal, err, "graph request adapter")
	}
	adapter.SetBaseUrl(base.String())

	return &Client{
		adapter:    adapter,
		base:       base,
		baseURL:    base.String(),
		mailSender: cfg.MailSender,
		timeout:    cfg.Timeout,
		log:        cfg.Logger,
	}, nil
}

// credential picks managed identity, then certificate, then secret.
func credential(cfg Config, hc *http.Client) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{Transport: hc}
	switch {
	case cfg.UseManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if cfg.ClientID != "" {
			mo.ID = azidentity.ClientID(cfg.ClientID)
		}
		c, err := azidentity.NewManagedIdentityCredential(mo)
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "managed identity credential")
		}
		return c, nil
	case cfg.CertificatePath != "" || cfg.CertificatePEM != "":
		if cfg.TenantID == "" || cfg.ClientID == "" {
			return nil, domain.Invalid("TenantID", "a certificate credential needs TenantID and ClientID")
		}
		data := []byte(cfg.CertificatePEM)
		if len(data) == 0 {
			var err error
			if data, err = os.ReadFile(cfg.CertificatePath); err != nil {
				return nil, domain.Wrap(domain.CodeInvalid, err, "reading the client certificate")
			}
		}
		var pw []byte
		if cfg.CertificatePassword != "" {
			pw = []byte(cfg.CertificatePassword)
		}
		certs, key, err := azidentity.ParseCertificates(data, pw)
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "parsing the client certificate")
		}
		c, err := azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, SendCertificateChain: true})
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "client certificate credential")
		}
		return c, nil
	case cfg.ClientSecret != "":
		if cfg.TenantID == "" || cfg.ClientID == "" {
			return nil, domain.Invalid("TenantID", "a client secret credential needs TenantID and ClientID")
		}
		c, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "client secret credential")
		}
		return c, nil
	}
	return nil, domain.Invalid("ClientID", "no Graph credentials: set UseManagedIdentity, CertificatePath or ClientSecret")
}

var _ policy.Transporter = (*http.Client)(nil)

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ---- HTTP pipeline ---------------------------------------------------------

// callInfo travels in a call's context so the pipeline can tell the
// adapter what the final answer was, whatever the SDK made of its body.
type callInfo struct {
	mu         sync.Mutex
	status     int
	retryAfter string
}

type callInfoKey struct{}

func withCallInfo(ctx context.Context) (context.Context, *callInfo) {
	ci := &callInfo{}
	return context.WithValue(ctx, callInfoKey{}, ci), ci
}

func (ci *callInfo) get() (int, string) {
	if ci == nil {
		return 0, ""
	}
	ci.mu.Lock()
	defer ci.mu.Unlock()
	return ci.status, ci.retryAfter
}

// statusRecorder is the outermost middleware: it sees the answer after
// retries.
type statusRecorder struct{}

func (statusRecorder) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if ci, ok := req.Context().Value(callInfoKey{}).(*callInfo); ok && resp != nil {
		ci.mu.Lock()
		ci.status, ci.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		ci.mu.Unlock()
	}
	return resp, err
}

// retryBodyBuffer is the innermost middleware: it reads the small body of
// a retriable answer into memory and closes the connection's body, because
// the SDK's retry handler drops such a response without closing it.
type retryBodyBuffer struct{}

func (retryBodyBuffer) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		b, _ := readLimited(resp.Body, 64<<10)
		resp.Body.Close()
		resp.Body = newBytesBody(b)
		resp.ContentLength = int64(len(b))
	}
	return resp, nil
}

// shouldRetry bounds the SDK's retries: the total wait stays within
// maxWait and within the call's deadline.
func shouldRetry(maxWait time.Duration) func(time.Duration, int, *http.Request, *http.Response) bool {
	return func(waited time.Duration, attempt int, req *http.Request, resp *http.Response) bool {
		next := nextDelay(resp, attempt+1)
		if waited+next > maxWait {
			return false
		}
		if dl, ok := req.Context().Deadline(); ok && time.Now().Add(next).After(dl) {
			return false
		}
		return true
	}
}

// nextDelay is the SDK's delay for a retry: Retry-After (seconds or a date)
// or, without one, exponential back-off from 1s plus up to 1s jitter.
func nextDelay(resp *http.Response, attempt int) time.Duration {
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if d, ok := parseRetryAfter(ra); ok {
			return d
		}
	}
	return time.Duration(1<<(attempt-1))*time.Second + time.Second
}

func parseRetryAfter(v string) (time.Duration, bool) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}

// ---- errors ----------------------------------------------------------------

// graphErr classifies err from the SDK into a *domain.Error.
func graphErr(err error, ci *callInfo, format string, args ...any) *domain.Error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return de
	}
	msg := fmt.Sprintf(format, args...)
	status := 0
	var ae abs.ApiErrorable
	if errors.As(err, &ae) {
		status = ae.GetStatusCode()
	}
	if status == 0 && ci != nil {
		status, _ = ci.get()
	}
	code, detail := odataCode(err)
	if detail != "" {
		msg += ": " + detail
		if code != "" {
			msg += " (" + code + ")"
		}
	} else if status != 0 {
		msg += fmt.Sprintf(": HTTP %d", status)
	}
	switch {
	case status == http.StatusNotFound:
		return domain.Wrap(domain.CodeNotFound, err, "%s", msg)
	case status == http.StatusForbidden:
		return domain.Wrap(domain.CodeForbidden, err, "%s", msg)
	case status == http.StatusBadRequest:
		return domain.Wrap(domain.CodeInvalid, err, "%s", msg)
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		if _, ra := ci.get(); ra != "" {
			msg += " (Retry-After " + ra + ")"
		}
		return domain.Wrap(domain.CodeTransient, err, "%s", msg)
	case status >= 400:
		return domain.Wrap(domain.CodeInternal, err, "%s", msg)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || (errors.As(err, &ne) && ne.Timeout()) {
		return domain.Wrap(domain.CodeTransient, err, "%s: timed out", msg)
	}
	var oe *net.OpError
	var ue *url.Error
	if errors.As(err, &oe) || errors.As(err, &ue) {
		return domain.Wrap(domain.CodeTransient, err, "%s: network error", msg)
	}
	var ae2 *azidentity.AuthenticationFailedError
	if errors.As(err, &ae2) {
		return domain.Wrap(domain.CodeInternal, err, "%s: authentication failed", msg)
	}
	return domain.Wrap(domain.CodeInternal, err, "%s", msg)
}

// ---- helpers ---------------------------------------------------------------

// call runs fn with the call's timeout and a callInfo in its context.
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc, *callInfo) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	ctx, ci := withCallInfo(ctx)
	return ctx, cancel, ci
}

// quote makes an OData string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// checkID refuses empty ids and ids with control characters before they
// reach a URL or a $filter.
func checkID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return domain.Invalid(field, "is required")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return domain.Invalid(field, "contains a control character")
		}
	}
	return nil
}

// sameOrigin refuses to follow a nextLink anywhere but the Graph host.
func (c *Client) sameOrigin(link string) error {
	u, err := url.Parse(link)
	if err != nil || !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) {
		return domain.Errorf(domain.CodeInternal, "graph: refusing to follow @odata.nextLink to %q", link)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func (c *Client) pathParams() map[string]string {
	return map[string]string{"baseurl": c.baseURL}
}
