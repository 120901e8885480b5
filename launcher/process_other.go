// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package launcher

import (
	"os"
	"os/exec"
	"syscall"
)

// startAndWait starts cmd and waits for it. Outside Linux there is no parent-death signal: a
// collector killed with SIGKILL leaves llama-server running.
func startAndWait(cmd *exec.Cmd, started func(error)) error {
	if err := cmd.Start(); err != nil {
		started(err)
		return err
	}
	started(nil)
	return cmd.Wait()
}

func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

// readProc has no /proc to read outside Linux: hang detection goes by the /health probes alone.
func readProc(int) (procSample, error) { return procSample{}, errNoProcInfo }
