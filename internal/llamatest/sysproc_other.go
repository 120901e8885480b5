// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package llamatest

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}
