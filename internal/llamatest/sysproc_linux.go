// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamatest

import "syscall"

// sysProcAttr puts the server in its own process group and kills it when the test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
