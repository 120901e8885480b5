// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamatest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// ProcessesWithArgs returns the PIDs of live processes whose argv contains args as consecutive
// elements (e.g. "--port", "8080"), read from /proc/*/cmdline. Zombies are not counted. On
// systems without /proc it returns nil.
func ProcessesWithArgs(args ...string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(joinNUL(args))
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 { // gone, or a zombie (empty cmdline)
			continue
		}
		if bytes.Contains(append([]byte{0}, cmdline...), want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Alive reports whether pid names a live (non-zombie) process.
func Alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// Field 3 of /proc/PID/stat is the state; it follows the ")" that ends the command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

func joinNUL(args []string) string {
	s := "\x00"
	for _, a := range args {
		s += a + "\x00"
	}
	return s
}
