// Package azuritetest gives tests a Table Storage endpoint: Azurite, the
// official emulator, pinned in local/azurite (install it with
// `npm ci --prefix local/azurite`).
//
// Start uses, in order: the connection string in JITPIM_AZURITE
// ("UseDevelopmentStorage=true" allowed); an Azurite already listening on
// 127.0.0.1:10002; or a fresh in-memory azurite-table on a free port,
// stopped when the test ends. A missing emulator fails the test rather than
// skipping it, so CI cannot go green without running the storage tests.
package azuritetest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvVar names the variable that may hold a connection string to use.
const EnvVar = "JITPIM_AZURITE"

// AccountKey is Azurite's well-known development account key.
const AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// ConnectionString is the connection string of Azurite's table endpoint at
// host:port.
func ConnectionString(hostPort string) string {
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AccountKey +
		";TableEndpoint=http://" + hostPort + "/devstoreaccount1;"
}

const (
	defaultAddr  = "127.0.0.1:10002"
	readyTimeout = 30 * time.Second
)

// Start returns a connection string to a running Azurite table endpoint.
func Start(t testing.TB) string {
	t.Helper()
	if cs := strings.TrimSpace(os.Getenv(EnvVar)); cs != "" {
		if strings.EqualFold(strings.TrimRight(cs, ";"), "UseDevelopmentStorage=true") {
			return ConnectionString(defaultAddr)
		}
		return cs
	}
	if ready(defaultAddr) {
		return ConnectionString(defaultAddr)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("azuritetest: no free port: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	launch(t, addr, func() bool { return ready(addr) }, "--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(port),
		"--inMemoryPersistence", "--disableTelemetry", "--silent")
	return ConnectionString(addr)
}

// launch starts azurite-table with args and waits until isReady; the
// process group is stopped when the test ends.
func launch(t testing.TB, addr string, isReady func() bool, args ...string) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("azuritetest: %v; install the emulator with `npm ci --prefix local/azurite` (from the module root), or set %s to a connection string", err, EnvVar)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir() // Azurite may write debug files into its working directory
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("azuritetest: starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		// Stop the process group this helper started (node and anything it forked).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		// The exit status of a process we stopped says nothing useful.
		select {
		case err := <-exited:
			_ = err
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err := <-exited
			_ = err
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(readyTimeout)
	for {
		if isReady() {
			return
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("azuritetest: azurite-table exited before it was ready (%v):\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("azuritetest: azurite-table not ready on %s after %s:\n%s", addr, readyTimeout, out.String())
		}
	}
}

// ready reports whether a table endpoint answers HTTP on addr.
func ready(addr string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/devstoreaccount1/Tables")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// binary finds local/azurite/node_modules/.bin/azurite-table under the
// module root (the nearest directory above the working directory that
// holds go.mod).
func binary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, "local", "azurite", "node_modules", ".bin", "azurite-table")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("%s is not installed", bin)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the emulator's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
