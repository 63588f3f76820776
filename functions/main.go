// Command jitpim is the Azure Functions custom handler: one binary that
// serves every function in this folder (`jitpim serve`), and the command
// line (shared/cli). Started by the AWS Lambda runtime
// (AWS_LAMBDA_RUNTIME_API set) the same binary serves the same functions
// from Lambda events instead. main only reads configuration and
// wires the adapters to the engine; behaviour lives in shared/.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/auth"
	"github.com/jitpim/jitpim/shared/azurerbac"
	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/funcproto"
	"github.com/jitpim/jitpim/shared/graph"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/lambdaproto"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/notices"
	"github.com/jitpim/jitpim/shared/policy"
	"github.com/jitpim/jitpim/shared/portal"
	"github.com/jitpim/jitpim/shared/review"
	"github.com/jitpim/jitpim/shared/servicenow"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/weblogin"
)

// main runs the command line (shared/cli). The handler starts under
// `serve`, which host.json passes, or with no arguments when a host
// started the process: the Functions host (FUNCTIONS_CUSTOMHANDLER_PORT)
// or the Lambda runtime (AWS_LAMBDA_RUNTIME_API), whose bootstrap passes
// none. Anyone else who runs the binary bare gets the usage.
func main() {
	args := os.Args[1:]
	if len(args) == 0 && (os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT") != "" || onLambda(os.Getenv)) {
		args = []string{"serve"}
	}
	command(args, os.Stdout)
}

// serve runs the handler until it is stopped.
func serve(ctx context.Context) error {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(ctx, log); err != nil {
		log.Error("jitpim stopped", "error", err)
		return err
	}
	return nil
}

func run(ctx context.Context, log *slog.Logger) error {
	get, err := settings(ctx, os.Getenv, http.DefaultClient)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(get)
	if err != nil {
		return err
	}

	// Both stores keep requests, alerts and access reviews.
	var store interface {
		domain.Store
		domain.AlertStore
		domain.ReviewStore
	}
	var chain portal.AuditChain // the portal's audit verification; none in memory
	if cfg.MemoryStore {
		log.Warn("JITPIM_STORE=memory: state is lost when the process stops; for development only")
		store = memstore.New()
	} else {
		conn, opts, err := cfg.Storage.open(cfg.TablePrefix)
		if err != nil {
			return err
		}
		ts, err := tablestore.New(ctx, conn, opts)
		if err != nil {
			return fmt.Errorf("table storage: %w", err)
		}
		store, chain = ts, ts.AuditChain(opts.TablePrefix)
	}
	dir, err := graph.New(ctx, cfg.Graph)
	if err != nil {
		return fmt.Errorf("microsoft graph: %w", err)
	}
	var azure domain.AzureRBAC
	if cfg.ARM != nil {
		arm, err := azurerbac.New(*cfg.ARM)
		if err != nil {
			return fmt.Errorf("azure resource manager: %w", err)
		}
		azure = arm
	}
	verifier, err := auth.NewVerifier(ctx, cfg.Auth, time.Now)
	if err != nil {
		return fmt.Errorf("token verifier: %w", err)
	}
	signer, err := approvallink.NewSigner(cfg.LinkKeys, time.Now)
	if err != nil {
		return fmt.Errorf("JITPIM_LINK_KEYS: %w", err)
	}
	web, err := weblogin.New(ctx, cfg.Web)
	if err != nil {
		return fmt.Errorf("approval sign-in: %w", err)
	}
	var tickets domain.TicketSystem
	if cfg.ServiceNow != nil {
		sn, err := servicenow.New(*cfg.ServiceNow)
		if err != nil {
			return fmt.Errorf("servicenow: %w", err)
		}
		tickets = servicenow.TicketSystem{Client: sn, Rules: cfg.ServiceNowRule}
	}
	now := clock()
	// A bad alert threshold fails the alert timers on every run, naming the
	// setting, rather than running on guesses; the rest of jitpim serves.
	alertCfg, alertCfgErr := alertSettings(os.Getenv)
	if alertCfgErr != nil {
		log.Error("alert settings are invalid; the alert timers will fail until they are fixed", "error", alertCfgErr)
		alertCfg = alert.DefaultSettings()
	}

	// The kernel first: the alarms need it, and the engine raises through them.
	links := approvallink.NewLinks(signer, cfg.PublicURL, store, now)
	kernel := engine.NewKernel(store, dir, azure, dir, cfg.Engine)
	alarms := alert.NewAlarms(kernel, store, log)
	mail := notices.New(kernel, store, tickets, links)
	eng := engine.New(kernel, engine.Deps{Tickets: tickets, Alarm: alarms, Notices: mail, Azure: azure})
	alerts := alert.New(alert.Deps{Engine: eng, Alarms: alarms, Store: store, Directory: dir, Reader: dir, SignIns: dir, Azure: azure}, alertCfg)
	reviews := review.New(review.Deps{Engine: eng, Reviews: store, Store: store, Directory: dir, Reader: dir, SignIns: dir, Alarm: alarms, Links: links})
	policies := policy.New(eng, store)
	api := httpapi.New(httpapi.Services{Engine: eng, Policies: policies, Reviews: reviews, Alerts: alerts}, verifier, now, log)

	// host.json's routePrefix is empty; every API function's route starts
	// with api/ and its name, and the portal answers at / and /portal/.
	fp, err := funcproto.New(log, funcproto.Options{RoutePrefix: "api"})
	if err != nil {
		return err
	}
	// httpapi.Bodies decodes gzip and bounds every body before any handler reads it.
	// subscriptions and providers: the ARM-shaped API for Azure resource roles.
	for _, fn := range []string{"roleManagement", "identityGovernance", "policies", "auditLogs", "subscriptions", "providers"} {
		fp.HandleHTTP(fn, "req", "res", httpapi.Bodies(api))
	}
	// The mailed links land on the portal's screens (approvals: /api/approvals/…).
	pages := portal.New(web, eng, reviews, links, now, log,
		portal.Admin{Policies: policies, Reviews: reviews, Alerts: alerts, Chain: chain})
	fp.HandleHTTP("approvals", "req", "res", httpapi.Bodies(pages.Mailed()))
	site := httpapi.Bodies(pages)
	fp.HandleHTTP("home", "req", "res", site)
	if err := fp.HandleSite("portal", "req", "res", portal.Prefix, site); err != nil {
		return err
	}
	if cfg.ServiceNow != nil {
		fp.HandleHTTP("servicenow", "req", "res", httpapi.Bodies(httpapi.NewWebhook(cfg.WebhookAuth, eng, now, log)))
	} else {
		fp.HandleHTTP("servicenow", "req", "res", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "ServiceNow integration is not configured", http.StatusNotFound)
		}))
	}
	broken := map[string]error{}
	if alertCfgErr != nil {
		broken["breakGlassCheck"], broken["alertScan"] = alertCfgErr, alertCfgErr
	}
	timers := timerFuncs(now, log, broken, map[string]timerJob{
		"reminders": func(ctx context.Context, c *engine.Call) (any, error) {
			n, err := mail.SendReminders(ctx, c)
			return map[string]int{"queued": n}, err
		},
		"expirySweep": func(ctx context.Context, c *engine.Call) (any, error) {
			res, err := eng.Sweep(ctx, c)
			if _, cerr := eng.ChainAudit(ctx, c); cerr != nil { // records of the sweep and of the requests since the last run
				err = errors.Join(err, cerr)
			}
			return res, err
		},
		"breakGlassCheck": func(ctx context.Context, c *engine.Call) (any, error) { return alerts.CheckBreakGlass(ctx, c) },
		"alertScan":       func(ctx context.Context, c *engine.Call) (any, error) { return alerts.ScanAlerts(ctx, c) },
		"accessReviews":   func(ctx context.Context, c *engine.Call) (any, error) { return reviews.RunReviews(ctx, c) },
	})
	if err := registerTimers(fp, timers); err != nil {
		return err
	}

	if onLambda(os.Getenv) {
		// The Lambda runtime drives the process from here on: HTTP events
		// reach only the forwarded routes (never the envelope endpoints, so
		// no caller can run a timer) and schedules name the timer to run.
		lh := lambdaproto.New(log, fp.Forwarded(), fp, lambdaproto.Options{InvocationHeader: httpapi.InvocationHeader})
		log.Info("jitpim handler serving AWS Lambda events")
		lambda.StartWithOptions(lh.Invoke, lambda.WithContext(ctx))
		return nil
	}

	srv := &http.Server{Addr: "127.0.0.1:" + cfg.Port, Handler: fp, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("jitpim handler listening", "port", cfg.Port)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
