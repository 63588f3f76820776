// Package stack brings up jitpim's whole local stack: Azurite (Table
// Storage), the Graph and Azure Resource Manager simulators, the
// development token issuer, and the local Functions host running the real
// handler binary. `make run` and the
// end-to-end tests both use it, so what a newcomer runs is what CI tests.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jitpim/jitpim/local/armsim"
	"github.com/jitpim/jitpim/local/graphsim"
	"github.com/jitpim/jitpim/local/snsim"
	"github.com/jitpim/jitpim/shared/devissuer"
)

// Audience is the API audience the local stack's tokens carry.
const Audience = "api://jitpim"

// Options configures a stack. Zero values pick free loopback ports.
type Options struct {
	Root          string // repository root (holds host.json and functions/)
	HandlerBinary string
	HostBinary    string
	HostAddr      string // e.g. 127.0.0.1:7071
	GraphAddr     string
	ARMAddr       string // Azure Resource Manager simulator
	// AzureFile seeds the ARM simulator; default local/demo/azure.json.
	AzureFile   string
	IssuerAddr  string
	AzuriteAddr string
	SNAddr      string // ServiceNow simulator
	SNData      string // its seed file; default local/demo/servicenow.json
	// WebhookSecret signs ServiceNow webhooks; default: random per stack.
	WebhookSecret string
	// AzuriteConnection, when set, uses a running Azurite instead of starting one.
	AzuriteConnection string
	// DataDir keeps the issuer's signing key, so tokens survive restarts;
	// Azurite always runs in memory, like the Graph simulator, so the two
	// never disagree about what was granted.
	DataDir     string
	TablePrefix string // default: random, so test runs never share tables
	TenantFile  string
	// Env adds or overrides handler settings.
	Env    []string
	Output io.Writer
	// Launch, when set, runs the handler some other way than under the
	// local Functions host (the Lambda e2e tests run it under the Runtime
	// API emulator): it gets the handler's settings and the address to
	// serve HTTP at, and returns how to stop it. HostBinary is unused then.
	Launch func(ctx context.Context, env []string, addr string) (stop func(), err error)
}

// Stack is a running local stack.
type Stack struct {
	HostURL   string // http://127.0.0.1:7071
	GraphURL  string
	IssuerURL string
	Issuer    *devissuer.Issuer
	Graph     *graphsim.Server
	Tenant    graphsim.Tenant
	ARMURL    string
	ARM       *armsim.Server
	SNURL     string
	SN        *snsim.Server
	// WebhookSecret is the HMAC secret jitpim accepts ServiceNow webhooks with.
	WebhookSecret string
	Connection    string
	TablePrefix   string
	procs         []*exec.Cmd
	servers       []*http.Server
	stops         []func()
}

// Start brings everything up and waits until the host answers.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Output == nil {
		o.Output = io.Discard
	}
	s := &Stack{}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	tenant, err := graphsim.LoadTenant(o.TenantFile)
	if err != nil {
		return nil, fmt.Errorf("demo tenant: %w", err)
	}
	s.Tenant = tenant

	gl, err := listen(o.GraphAddr)
	if err != nil {
		return nil, err
	}
	s.GraphURL = "http://" + gl.Addr().String()
	s.Graph = graphsim.New(tenant, graphsim.Options{})
	s.serve(gl, s.Graph)

	if o.AzureFile == "" {
		o.AzureFile = filepath.Join(o.Root, "local", "demo", "azure.json")
	}
	azure, err := armsim.LoadSeed(o.AzureFile)
	if err != nil {
		return nil, fmt.Errorf("demo Azure estate: %w", err)
	}
	al, err := listen(o.ARMAddr)
	if err != nil {
		return nil, err
	}
	s.ARMURL = "http://" + al.Addr().String()
	s.ARM = armsim.New(azure, armsim.Options{})
	s.serve(al, s.ARM)

	il, err := listen(o.IssuerAddr)
	if err != nil {
		return nil, err
	}
	s.IssuerURL = "http://" + il.Addr().String()
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, err
		}
		key, err := devissuer.LoadOrCreateKey(filepath.Join(o.DataDir, "issuer-key.pem"))
		if err != nil {
			return nil, err
		}
		s.Issuer, err = devissuer.NewWithKey(s.IssuerURL, key)
		if err != nil {
			return nil, err
		}
	} else if s.Issuer, err = devissuer.New(s.IssuerURL); err != nil {
		return nil, err
	}
	s.Issuer.SetDefaultAudience(Audience)
	s.serve(il, s.Issuer.Handler())

	sl, err := listen(o.SNAddr)
	if err != nil {
		return nil, err
	}
	s.SNURL = "http://" + sl.Addr().String()
	if o.SNData == "" {
		o.SNData = filepath.Join(o.Root, "local", "demo", "servicenow.json")
	}
	snData, err := snsim.LoadData(o.SNData)
	if err != nil {
		return nil, fmt.Errorf("servicenow demo data: %w", err)
	}
	s.SN = snsim.New(snData, snsim.Options{User: "jitpim", Password: "local-only"})
	s.serve(sl, s.SN)
	s.WebhookSecret = o.WebhookSecret
	if s.WebhookSecret == "" {
		s.WebhookSecret = randomHex(24)
	}

	s.Connection = o.AzuriteConnection
	if s.Connection == "" {
		if s.Connection, err = s.startAzurite(o); err != nil {
			return nil, err
		}
	}
	s.TablePrefix = o.TablePrefix
	if s.TablePrefix == "" {
		s.TablePrefix = "t" + randomHex(4)
	}

	hostAddr := o.HostAddr
	if hostAddr == "" {
		if hostAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	s.HostURL = "http://" + hostAddr
	env := append(os.Environ(),
		"AzureWebJobsStorage="+s.Connection,
		"JITPIM_TABLE_PREFIX="+s.TablePrefix,
		"JITPIM_OIDC_ISSUER="+s.IssuerURL,
		"JITPIM_OIDC_AUDIENCE="+Audience,
		"JITPIM_GRAPH_BASE_URL="+s.GraphURL+"/v1.0",
		"JITPIM_GRAPH_ANONYMOUS=true",
		"JITPIM_ARM_ENDPOINT="+s.ARMURL,
		"JITPIM_ARM_ANONYMOUS=true",
		"JITPIM_ADMIN_GROUP_ID="+GroupID(tenant, "jitpim-admins"),
		"JITPIM_BREAK_GLASS_IDS="+strings.Join(BreakGlassIDs(tenant), ","),
		"JITPIM_MAIL_SENDER="+MailSender(tenant),
		"JITPIM_SWEEP_SCHEDULE=0 */1 * * * *",
		"JITPIM_REMINDER_SCHEDULE=0 0 8 * * *",
		"JITPIM_REVIEW_SCHEDULE=0 0 7 * * *",
		"JITPIM_BREAKGLASS_SCHEDULE=0 */5 * * * *",
		"JITPIM_ALERT_SCHEDULE=0 0 6 * * *",
		"JITPIM_ALERT_GLOBAL_ADMIN_COUNT=5",
		"JITPIM_ALERT_GLOBAL_ADMIN_PERCENT=10",
		"JITPIM_ALERT_UNUSED_DAYS=90",
		"JITPIM_ALERT_STALE_DAYS=90",
		"JITPIM_ALERT_ACTIVATION_COUNT=5",
		"JITPIM_ALERT_ACTIVATION_WINDOW=24h",
		"JITPIM_ALERT_REMOVE_OUTSIDE=false",
		"JITPIM_PUBLIC_URL="+s.HostURL,
		"JITPIM_LINK_KEYS=dev1:"+randomHex(24),
		"JITPIM_COOKIE_KEYS=dev1:"+randomHex(24),
		"JITPIM_WEB_CLIENT_ID=jitpim-web",
		"JITPIM_ADMIN_MAIL=security@jitpimdemo.onmicrosoft.com",
		"JITPIM_SERVICENOW_URL="+s.SNURL,
		"JITPIM_SERVICENOW_USER=jitpim",
		"JITPIM_SERVICENOW_PASSWORD=local-only",
		"JITPIM_SERVICENOW_WEBHOOK_SECRETS="+s.WebhookSecret,
	)
	env = append(env, o.Env...)
	if o.Launch != nil {
		stop, err := o.Launch(ctx, env, hostAddr)
		if err != nil {
			return nil, fmt.Errorf("launching the handler: %w", err)
		}
		s.stops = append(s.stops, stop)
		if err := waitHTTP(ctx, s.HostURL+"/", 90*time.Second); err != nil {
			return nil, fmt.Errorf("the handler did not come up: %w", err)
		}
		ok = true
		return s, nil
	}
	host := exec.Command(o.HostBinary, "-root", o.Root, "-handler", o.HandlerBinary, "-addr", hostAddr)
	host.Env = env
	host.Stdout, host.Stderr = o.Output, o.Output
	host.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := host.Start(); err != nil {
		return nil, fmt.Errorf("local host: %w", err)
	}
	s.procs = append(s.procs, host)
	if err := waitHTTP(ctx, s.HostURL+"/", 90*time.Second); err != nil {
		return nil, fmt.Errorf("local host did not come up: %w", err)
	}
	ok = true
	return s, nil
}

func (s *Stack) serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
}

func (s *Stack) startAzurite(o Options) (string, error) {
	bin := filepath.Join(o.Root, "local", "azurite", "node_modules", ".bin", "azurite-table")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("azurite is not installed: run `npm ci --prefix local/azurite` (make deps)")
	}
	addr := o.AzuriteAddr
	if addr == "" {
		var err error
		if addr, err = freeAddr(); err != nil {
			return "", err
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"--tableHost", host, "--tablePort", port, "--disableTelemetry", "--silent"}
	args = append(args, "--inMemoryPersistence")
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = o.Output, o.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("azurite: %w", err)
	}
	s.procs = append(s.procs, cmd)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return "", errors.New("azurite did not start within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://" + addr + "/devstoreaccount1;", nil
}

// Token mints a token for a user of the demo tenant.
func (s *Stack) Token(objectID string, mfa bool) (string, error) {
	return s.Issuer.Mint(devissuer.TokenRequest{ObjectID: objectID, Audience: Audience, MFA: mfa})
}

// RunTimer runs a timer function now through the host's admin endpoint and
// waits for it to finish.
func (s *Stack) RunTimer(ctx context.Context, name string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", s.HostURL+"/admin/functions/"+name+"?wait=true", strings.NewReader(`{"input":""}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("timer %s: %d %s", name, res.StatusCode, body)
	}
	return string(body), nil
}

// Close stops the host (and with it the handler), Azurite and the servers.
func (s *Stack) Close() {
	for _, stop := range s.stops {
		stop()
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		if p.Process == nil {
			continue
		}
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// GroupID finds a demo group by display name.
func GroupID(t graphsim.Tenant, name string) string {
	for _, g := range t.Groups {
		if g.DisplayName == name {
			return g.ID
		}
	}
	return ""
}

// UserID finds a demo user by the part of the UPN before '@'.
func UserID(t graphsim.Tenant, alias string) string {
	for _, u := range t.Users {
		if strings.EqualFold(strings.SplitN(u.UserPrincipalName, "@", 2)[0], alias) {
			return u.ID
		}
	}
	return ""
}

// BreakGlassIDs lists the demo tenant's emergency accounts: the users whose
// UPN starts with "bg" (bg1@, bg2@), as the demo tenant names them.
func BreakGlassIDs(t graphsim.Tenant) []string {
	var ids []string
	for _, u := range t.Users {
		if strings.HasPrefix(strings.ToLower(u.UserPrincipalName), "bg") {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// MailSender is the mailbox jitpim sends from in the demo tenant.
func MailSender(t graphsim.Tenant) string {
	if id := UserID(t, "jitpim"); id != "" {
		return id
	}
	return "jitpim@" + t.Domain
}
