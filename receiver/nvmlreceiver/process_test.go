// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecutableName(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string // NUL-separated as in /proc/<pid>/cmdline; "|" stands for NUL here
		exe     string
		comm    string
		want    string
	}{
		{name: "plain", cmdline: "/usr/bin/llama-server|--port|8080|", exe: "/usr/bin/llama-server", comm: "llama-server", want: "llama-server"},
		{name: "relative argv0", cmdline: "./build/bin/llama-server|-m|x.gguf|", comm: "llama-server", want: "llama-server"},
		{
			name:    "through the loader (scripts/provision-llama-server.sh)",
			cmdline: "/cache/root/lib64/ld-linux-x86-64.so.2|--library-path|/cache/lib:/cache/lib2|/cache/root/usr/bin/llama-server|--port|8080|",
			exe:     "/cache/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", comm: "ld-linux-x86-64",
			want: "llama-server",
		},
		{name: "loader flags", cmdline: "/lib/ld-linux-aarch64.so.1|--inhibit-cache|--argv0|srv|/opt/llama-server|", want: "llama-server"},
		{name: "musl loader", cmdline: "/lib/ld-musl-x86_64.so.1|/usr/bin/python3|x.py|", want: "python3"},
		{name: "loader alone", cmdline: "/lib64/ld-linux-x86-64.so.2|--list|", exe: "/lib64/ld-linux-x86-64.so.2", comm: "ld-linux-x86-64", want: "ld-linux-x86-64"},
		{name: "no cmdline (kernel thread or gone): exe", exe: "/usr/bin/llama-server (deleted)", comm: "llama-server", want: "llama-server"},
		{name: "only comm", comm: "python3", want: "python3"},
		{name: "nothing", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := executableName([]byte(strings.ReplaceAll(tt.cmdline, "|", "\x00")), tt.exe, tt.comm)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParentPID(t *testing.T) {
	ppid, ok := parentPID([]byte("4242 (llama server) (x)) S 17 4242 4242 0 -1 4194560"))
	require.True(t, ok)
	assert.Equal(t, 17, ppid)
	for _, bad := range []string{"", "4242 no-paren S 1", "1 (x) S", "1 (x) S notanumber"} {
		_, ok := parentPID([]byte(bad))
		assert.False(t, ok, bad)
	}
}

func TestProcFS(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, 10, 1, "sh", "/bin/sh", "-c", "exec llama-server")
	writeProc(t, root, 11, 10, "llama-server", "/usr/bin/llama-server")
	writeProc(t, root, 12, 11, "worker", "/usr/bin/worker")
	p := newProcFS(root)

	descendsFrom := func(pid uint32, ancestor int) bool {
		_, ok := p.ancestorIn(pid, map[int]string{ancestor: "l"})
		return ok
	}
	assert.True(t, descendsFrom(11, 11))
	assert.True(t, descendsFrom(12, 10))
	assert.False(t, descendsFrom(10, 11))
	assert.False(t, descendsFrom(12, 0), "no launcher child")
	assert.False(t, descendsFrom(99, 10), "gone")

	// Two launchers, one server the other's descendant (a server started through a wrapper that
	// another launcher runs is not a real setup, but the nearest one wins).
	servers := map[int]string{10: "llamalauncher/a", 11: "llamalauncher/b"}
	got, ok := p.ancestorIn(12, servers)
	assert.True(t, ok)
	assert.Equal(t, 11, got, "the nearest ancestor")
	got, ok = p.ancestorIn(10, servers)
	assert.True(t, ok)
	assert.Equal(t, 10, got)
	_, ok = p.ancestorIn(12, nil)
	assert.False(t, ok)

	assert.Equal(t, "llama-server", p.name(11))
	p.forget()
	// The name is cached while the PID is seen; a PID not seen in a scrape is forgotten.
	require.NoError(t, os.WriteFile(filepath.Join(root, "11", "cmdline"), []byte("/usr/bin/other\x00"), 0o600))
	assert.Equal(t, "llama-server", p.name(11))
	p.forget()
	p.forget()
	assert.Equal(t, "other", p.name(11))
	assert.Empty(t, p.name(404), "no such process")
}
