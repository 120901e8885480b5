// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fault suite: every test named TestChaos* runs the real binary on the default config and a
// real llama-server, and injects one fault (kills, a hung server, a thousand streams, slow
// clients, an OTLP flood, a full or read-only disk). `make test` runs them at CI size; `make
// chaos` runs only them, and `make chaos CHAOS=long` at the long size (chaosLong).

// chaosLong reports whether the fault suite runs at its long size (LLT_CHAOS=long): more kills,
// more streams, longer floods.
func chaosLong() bool { return os.Getenv("LLT_CHAOS") == "long" }

// chaosSize returns short under the CI-sized suite and long under LLT_CHAOS=long.
func chaosSize[T any](short, long T) T {
	if chaosLong() {
		return long
	}
	return short
}

// procStats is one sample of a process's resources.
type procStats struct {
	RSSKiB     int64 // VmRSS
	FDs        int   // entries of /proc/PID/fd
	Threads    int   // OS threads
	Goroutines int   // from the pprof extension's goroutine profile; -1 when not asked
}

func (s procStats) String() string {
	return fmt.Sprintf("RSS %.1f MiB, %d fds, %d threads, %d goroutines", float64(s.RSSKiB)/1024, s.FDs, s.Threads, s.Goroutines)
}

// sampleProc reads pid's RSS, open files and threads from /proc, and its goroutines from
// pprofPort's /debug/pprof/goroutine (0: not read).
func sampleProc(t testing.TB, pid, pprofPort int) procStats {
	t.Helper()
	s, err := readProcStats(pid, pprofPort)
	require.NoError(t, err)
	return s
}

func readProcStats(pid, pprofPort int) (procStats, error) {
	s := procStats{Goroutines: -1}
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			s.RSSKiB = n
		case "Threads":
			s.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	if pprofPort > 0 {
		if s.Goroutines, err = goroutines(pprofPort); err != nil {
			return s, err
		}
	}
	return s, nil
}

// goroutines reads the count from the first line of the pprof extension's goroutine profile in
// text form: "goroutine profile: total 123".
func goroutines(pprofPort int) (int, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine?debug=1", pprofPort))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("goroutine profile: %w", err)
	}
	const prefix = "goroutine profile: total "
	if !strings.HasPrefix(line, prefix) {
		return 0, fmt.Errorf("goroutine profile starts with %q", line)
	}
	return strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, prefix)))
}
