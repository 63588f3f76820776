// Command devstack runs jitpim's whole local stack for `make run`: Azurite,
// the Graph and ARM simulators with the demo tenant and Azure estate, the
// development token issuer, and the local Functions host with the real
// handler, then seeds the demo policies and prints where everything
// listens. Ctrl-C stops it all.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/jitpim/jitpim/local/stack"
)

func main() {
	root := flag.String("root", ".", "repository root")
	verbose := flag.Bool("v", true, "show the host's and handler's logs")
	flag.Parse()
	abs, err := filepath.Abs(*root)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := stack.Options{
		Root: abs, HandlerBinary: filepath.Join(abs, "bin", "jitpim"), HostBinary: filepath.Join(abs, "bin", "jitpim-host"),
		HostAddr: "127.0.0.1:7071", GraphAddr: "127.0.0.1:7090", ARMAddr: "127.0.0.1:7091", IssuerAddr: "127.0.0.1:7080", AzuriteAddr: "127.0.0.1:10002",
		SNAddr: "127.0.0.1:7095", WebhookSecret: "local-dev-webhook-secret-not-for-production",
		DataDir: filepath.Join(abs, "local", ".data"), TenantFile: filepath.Join(abs, "local", "demo", "tenant.json"), TablePrefix: "demo",
	}
	if *verbose {
		o.Output = os.Stdout
	}
	s, err := stack.Start(ctx, o)
	if err != nil {
		fail(err)
	}
	defer s.Close()
	if err := s.Seed(ctx); err != nil {
		s.Close()
		fail(err)
	}
	// The seeding's audit records are linked into the hash chain by the
	// expirySweep timer; run it now, so that the audit commands printed
	// below find them rather than waiting for the minute.
	if _, err := s.RunTimer(ctx, "expirySweep"); err != nil {
		s.Close()
		fail(err)
	}
	// The policy file's access reviews start their first instance now, not
	// at the timer's next daily run, so the reviewers' mail is in the outbox.
	if _, err := s.RunTimer(ctx, "accessReviews"); err != nil {
		s.Close()
		fail(err)
	}
	// The operator commands run from the repository root, as make run does.
	export, verify := s.AuditCommands(filepath.Join("bin", "jitpim"))
	fmt.Printf(`
jitpim local stack is up (demo tenant seeded)
  portal               %s/   (sign in on the dev issuer's page with a demo user's object id below;
                       tick "I completed MFA" when a role asks for it)
  API (Functions host) %s/api/...
  token issuer         %s   (POST /token {"oid": "...", "mfa": true})
  Graph simulator      %s   (GET /_sim/state, GET /_sim/outbox)
  ARM simulator        %s   (GET /_sim/state: Azure role assignments)
  Azurite tables       %s   (table prefix %s: tables %sAudit, %sRequests, ...)
  ServiceNow simulator %s   (GET /_sim/worknotes?number=INC0012345)
  webhook secret       %s

audit log, read from the tables (read-only: these create nothing, and fail on
an empty or missing chain, e.g. with another JITPIM_TABLE_PREFIX):
  %s
  %s

demo users to sign in as (object ids):
  gina  (jitpim admin)                              %s
  alice (approves Global Administrator, admin)      %s
  adam  (service desk: Helpdesk, Exchange admin)    %s
  rita  (eligible for Global Administrator)         %s
  bg1   (break-glass: jitpim never touches it)     %s
Follow README.md's walkthrough. Ctrl-C stops everything.
`, s.HostURL, s.HostURL, s.IssuerURL, s.GraphURL, s.ARMURL, o.AzuriteAddr, s.TablePrefix, s.TablePrefix, s.TablePrefix, s.SNURL, s.WebhookSecret,
		verify, export,
		stack.UserID(s.Tenant, "gina"), stack.UserID(s.Tenant, "alice"), stack.UserID(s.Tenant, "adam"),
		stack.UserID(s.Tenant, "rita"), stack.UserID(s.Tenant, "bg1"))
	<-ctx.Done()
	fmt.Println("stopping...")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "devstack:", err)
	os.Exit(1)
}
