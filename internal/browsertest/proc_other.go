// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package browsertest

import "os/exec"

// setProcAttr does nothing on this system; chromedp's defaults apply.
func setProcAttr(*exec.Cmd) {}

// procInfo is one process that the browser left behind.
type procInfo struct {
	pid     int
	cmdline string
}

// leftovers finds nothing on this system: the check is best effort and needs /proc.
func leftovers(int, string) []procInfo { return nil }

// kill does nothing on this system.
func kill(int) {}
