package azuritetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// OAuthEndpoint is an Azurite table endpoint that takes Entra-style bearer
// tokens (`--oauth basic`) over https, the way a storage account with
// shared keys disabled does.
type OAuthEndpoint struct {
	// ServiceURL is the account's table endpoint,
	// https://127.0.0.1:<port>/devstoreaccount1.
	ServiceURL string
	// Client trusts the endpoint's self-signed certificate.
	Client *http.Client
}

// StartOAuth starts a fresh in-memory azurite-table with https and
// `--oauth basic`. In that mode Azurite checks a token's issuer (an Entra
// STS such as https://sts.windows.net/<tenant>/), audience
// (https://storage.azure.com or the account's table endpoint) and
// lifetime (nbf, iat, exp), but not its signature, so a test credential can
// mint tokens without a tenant. Shared-key requests still work against it;
// the tests assert which kind they send.
func StartOAuth(t testing.TB) OAuthEndpoint {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	port, err := freePort()
	if err != nil {
		t.Fatalf("azuritetest: no free port: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	isReady := func() bool {
		c := *client
		c.Timeout = time.Second
		resp, err := c.Get("https://" + addr + "/devstoreaccount1/Tables")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}
	launch(t, addr, isReady, "--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(port),
		"--inMemoryPersistence", "--disableTelemetry", "--silent",
		"--cert", certFile, "--key", keyFile, "--oauth", "basic")
	return OAuthEndpoint{ServiceURL: "https://" + addr + "/devstoreaccount1", Client: client}
}

// selfSigned writes a short-lived certificate for 127.0.0.1 and its key as
// PEM files and returns a pool that trusts it.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "azurite-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
