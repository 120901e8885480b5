// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
)

// startAndWait starts cmd in its own process group with a parent-death signal, so that even a
// `kill -9` of the collector takes llama-server with it, then waits for it to exit.
//
// Linux delivers the parent-death signal when the *thread* that forked the child exits, and the
// Go runtime may retire threads. So the start and the wait run on one goroutine locked to its
// thread for the child's whole life.
func startAndWait(cmd *exec.Cmd, started func(error)) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		started(err)
		return err
	}
	started(nil)
	return cmd.Wait()
}

// signalGroup sends sig to the process group that startAndWait created.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }

// readProc reads pid's CPU time and state from /proc/PID/stat. The file is parsed here rather
// than with github.com/prometheus/procfs, which is not in this module's graph: two fields do not
// justify the dependency. For a process (not a thread) utime and stime are the sums over all its
// threads, dead ones included.
func readProc(pid int) (procSample, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procSample{}, err
	}
	return parseStat(string(b))
}
