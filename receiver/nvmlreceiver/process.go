// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procFS reads what the receiver needs of /proc: a process's executable name and its parent.
// It caches names by PID; forget drops the PIDs not seen in the last scrape, so a reused PID
// is read again.
type procFS struct {
	root  string
	names map[uint32]string
	seen  map[uint32]bool
}

func newProcFS(root string) *procFS {
	return &procFS{root: root, names: map[uint32]string{}, seen: map[uint32]bool{}}
}

// name returns pid's executable name ("" when /proc says nothing, e.g. the process is in
// another PID namespace or has exited).
func (p *procFS) name(pid uint32) string {
	p.seen[pid] = true
	if n, ok := p.names[pid]; ok {
		return n
	}
	dir := filepath.Join(p.root, strconv.FormatUint(uint64(pid), 10))
	cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	exe, _ := os.Readlink(filepath.Join(dir, "exe"))
	comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
	n := executableName(cmdline, exe, strings.TrimSpace(string(comm)))
	p.names[pid] = n
	return n
}

// forget drops the cached names of the PIDs name was not asked for since the previous call.
func (p *procFS) forget() {
	for pid := range p.names {
		if !p.seen[pid] {
			delete(p.names, pid)
		}
	}
	clear(p.seen)
}

// ancestorIn returns the key of roots that is pid itself or its nearest ancestor (up to a few
// generations: a wrapper script that forks rather than execs), and whether there is one.
func (p *procFS) ancestorIn(pid uint32, roots map[int]string) (int, bool) {
	if len(roots) == 0 {
		return 0, false
	}
	cur := int(pid)
	for range 8 {
		if _, ok := roots[cur]; ok && cur > 0 {
			return cur, true
		}
		if cur <= 1 {
			return 0, false
		}
		stat, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(cur), "stat"))
		if err != nil {
			return 0, false
		}
		ppid, ok := parentPID(stat)
		if !ok {
			return 0, false
		}
		cur = ppid
	}
	return 0, false
}

// parentPID reads the 4th field of /proc/<pid>/stat ("pid (comm) state ppid ..."); comm may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parentPID(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// loaderOptionsWithValue are the options of glibc's ld.so that take a value (ld.so --help).
var loaderOptionsWithValue = map[string]bool{
	"--library-path": true, "--preload": true, "--audit": true, "--inhibit-rpath": true,
	"--argv0": true, "--glibc-hwcaps-prefix": true, "--glibc-hwcaps-mask": true,
}

// executableName picks the name of a process's program:
//   - the base name of argv[0] from /proc/<pid>/cmdline;
//   - unless argv[0] is a dynamic loader (ld-linux-x86-64.so.2 ... /path/llama-server ...,
//     as a relocated llama-server is started): then the program it runs, the first argument
//     after the loader's own options. comm and exe name the loader in that case;
//   - else the base name of /proc/<pid>/exe; else comm (15 characters at most).
func executableName(cmdline []byte, exe, comm string) string {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) > 0 && args[0] != "" {
		if !isLoader(args[0]) {
			return filepath.Base(args[0])
		}
		for i := 1; i < len(args); i++ {
			a := args[i]
			switch {
			case loaderOptionsWithValue[a]:
				i++
			case strings.HasPrefix(a, "--"):
			default:
				return filepath.Base(a)
			}
		}
	}
	if exe != "" && !isLoader(exe) {
		return filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
	}
	return comm
}

// isLoader reports whether path names a dynamic loader (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1,
// ld.so, ld-musl-x86_64.so.1, ...).
func isLoader(path string) bool {
	b := filepath.Base(path)
	return strings.HasPrefix(b, "ld-linux") || strings.HasPrefix(b, "ld-musl") || b == "ld.so" || strings.HasPrefix(b, "ld.so.")
}
