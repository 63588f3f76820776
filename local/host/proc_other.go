//go:build !unix

package main

import "os/exec"

func setProcAttrs(cmd *exec.Cmd) {}
