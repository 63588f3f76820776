// Command devissuer runs the development OIDC issuer, or with -mint prints
// one token signed with the key file and exits (for shell scripts). The
// server also runs a sign-in page (GET /authorize) and the authorization
// code flow for the approval pages; scripts can skip the page with
// login_hint=<oid>&dev_mfa=true|false (development only).
//
//	devissuer -key-file .devissuer.pem
//	TOKEN=$(devissuer -key-file .devissuer.pem -mint -oid 1111 -mfa -acrs c1)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jitpim/jitpim/shared/devissuer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devissuer:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:7080", "listen address")
	issuerURL := flag.String("issuer", "http://127.0.0.1:7080", "issuer URL (the iss of minted tokens)")
	audience := flag.String("audience", "api://jitpim", "default aud of minted tokens")
	keyFile := flag.String("key-file", "", "PEM RSA key; generated (mode 0600) if missing. Empty: a throwaway key")
	mint := flag.Bool("mint", false, "print one token to stdout and exit instead of serving")
	oid := flag.String("oid", "", "-mint: object id of the caller")
	tid := flag.String("tid", "", "-mint: tenant id")
	name := flag.String("name", "", "-mint: display name")
	upn := flag.String("upn", "", "-mint: user principal name")
	mfa := flag.Bool("mfa", false, "-mint: add mfa to amr")
	acrs := flag.String("acrs", "", "-mint: comma-separated satisfied auth contexts, e.g. c1,c2")
	lifetime := flag.Duration("lifetime", time.Hour, "-mint: token lifetime")
	age := flag.Duration("age", 0, "-mint: how long ago the caller authenticated")
	flag.Parse()

	iss, err := newIssuer(*issuerURL, *keyFile, *mint)
	if err != nil {
		return err
	}
	iss.SetDefaultAudience(*audience)

	if *mint {
		if *oid == "" {
			return errors.New("-mint needs -oid")
		}
		var contexts []string
		if *acrs != "" {
			contexts = strings.Split(*acrs, ",")
		}
		tok, err := iss.Mint(devissuer.TokenRequest{
			ObjectID: *oid, TenantID: *tid, Name: *name, UPN: *upn,
			MFA: *mfa, ACRS: contexts, Lifetime: *lifetime,
			IssuedAt: time.Now().Add(-*age),
		})
		if err != nil {
			return err
		}
		fmt.Println(tok)
		return nil
	}
	return serve(*addr, iss)
}

func newIssuer(issuerURL, keyFile string, mint bool) (*devissuer.Issuer, error) {
	if keyFile == "" {
		if mint {
			// A throwaway key would sign a token no server can verify.
			return nil, errors.New("-mint needs -key-file, the same one the server uses")
		}
		log.Print("no -key-file: using a throwaway key, tokens will not survive a restart")
		return devissuer.New(issuerURL)
	}
	key, err := devissuer.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	return devissuer.NewWithKey(issuerURL, key)
}

func serve(addr string, iss *devissuer.Issuer) error {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			log.Printf("WARNING: %s is not a loopback address; anyone who reaches it can mint tokens", addr)
		}
	}
	srv := &http.Server{Addr: addr, Handler: iss.Handler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("dev issuer %s listening on %s (kid %s)", iss.URL(), addr, iss.KeyID())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
