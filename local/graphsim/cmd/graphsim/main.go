// Command graphsim serves the Microsoft Graph simulator on loopback, seeded
// from a tenant file:
//
//	graphsim -addr 127.0.0.1:7090 -tenant local/demo/tenant.json
//
// Point jitpim at it with JITPIM_GRAPH_BASE_URL=http://127.0.0.1:7090/v1.0
// and JITPIM_GRAPH_ANONYMOUS=true. Control endpoints live under /_sim/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jitpim/jitpim/local/graphsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "graphsim:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:7090", "listen address (loopback only)")
	tenantPath := flag.String("tenant", "local/demo/tenant.json", "tenant seed file")
	pageSize := flag.Int("page-size", 100, "largest page of any collection")
	denySignIn := flag.Bool("deny-signin-activity", false, "answer 403 to queries of signInActivity (no AuditLog.Read.All / P1)")
	quiet := flag.Bool("quiet", false, "do not log requests")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr: %s is not a loopback address; the simulator has no authentication", host)
	}
	tenant, err := graphsim.LoadTenant(*tenantPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := graphsim.Options{PageSize: *pageSize, DenySignInActivity: *denySignIn}
	if !*quiet {
		opts.Logger = log
	}
	srv := &http.Server{Addr: *addr, Handler: graphsim.New(tenant, opts), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("graphsim listening", "url", "http://"+ln.Addr().String()+"/v1.0", "tenant", tenant.TenantID,
		"users", len(tenant.Users), "groups", len(tenant.Groups))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
