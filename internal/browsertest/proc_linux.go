// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// setProcAttr puts the browser in a process group of its own, so that its children can be found
// after it exits, and makes the kernel kill it when the thread that started it (and so the test
// binary) dies.
func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// procInfo is one process that the browser left behind.
type procInfo struct {
	pid     int
	cmdline string
}

// leftovers lists the live processes in the process group pgid (the browser's pid, see
// setProcAttr) or with --user-data-dir=dataDir on their command line, which Chromium passes to
// every child. Zombies are left out: they are already dead and only wait for their parent.
func leftovers(pgid int, dataDir string) []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	flag := []byte("--user-data-dir=" + dataDir)
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid pgrp ...": comm can hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		pgrp, _ := strconv.Atoi(fields[2])
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		inGroup := pgid > 0 && pgrp == pgid
		usesDir := dataDir != "" && containsArg(cmdline, flag)
		if inGroup || usesDir {
			out = append(out, procInfo{pid: pid, cmdline: strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))})
		}
	}
	return out
}

func containsArg(cmdline, arg []byte) bool {
	for a := range bytes.SplitSeq(cmdline, []byte{0}) {
		if bytes.Equal(a, arg) {
			return true
		}
	}
	return false
}

// kill sends SIGKILL to the process.
func kill(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
