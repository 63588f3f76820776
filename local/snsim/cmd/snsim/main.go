// Command snsim serves the ServiceNow simulator on loopback, seeded from a
// data file:
//
//	SNSIM_PASSWORD=local-only snsim -addr 127.0.0.1:7095 -data local/demo/servicenow.json
//
// Point jitpim's ServiceNow client at http://127.0.0.1:7095 with user
// jitpim and that password. Control endpoints live under /_sim/.
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

	"github.com/jitpim/jitpim/local/snsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "snsim:", err)
		os.Exit(1)
	}
}

func run() error {
	defPassword := os.Getenv("SNSIM_PASSWORD")
	if defPassword == "" {
		defPassword = "local-only"
	}
	addr := flag.String("addr", "127.0.0.1:7095", "listen address (loopback only)")
	dataPath := flag.String("data", "local/demo/servicenow.json", "seed file")
	user := flag.String("user", "jitpim", "Table API basic-auth user")
	// The default comes from the environment so the password need not
	// appear in the process list.
	password := flag.String("password", defPassword, "Table API basic-auth password (default $SNSIM_PASSWORD or local-only)")
	quiet := flag.Bool("quiet", false, "do not log requests")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr: %s is not a loopback address; the control endpoints have no authentication", host)
	}
	data, err := snsim.LoadData(*dataPath)
	if err != nil {
		return err
	}
	if err := snsim.Check(data); err != nil {
		return fmt.Errorf("%s: %w", *dataPath, err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := snsim.Options{User: *user, Password: *password}
	if !*quiet {
		opts.Logger = log
	}
	srv := &http.Server{Addr: *addr, Handler: snsim.New(data, opts), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("snsim listening", "url", "http://"+ln.Addr().String(), "user", *user,
		"users", len(data.Users), "tickets", len(data.Tickets))
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
