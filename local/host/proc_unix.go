//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts the handler in its own process group so a terminal
// Ctrl-C reaches only the host, which then stops the handler in order
// (SIGTERM, grace period, SIGKILL) instead of racing it.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
