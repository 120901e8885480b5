// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamatest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// E2E reports whether end-to-end tests are required (LLT_E2E=1, set by `make test`). When they
// are, a missing llama-server fails the test instead of skipping it.
func E2E() bool { return os.Getenv("LLT_E2E") == "1" }

// Require skips tb, or fails it under LLT_E2E=1, with a message that says how to get what is
// missing. Tests use it for every real part they need (llama-server, built binaries).
func Require(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if E2E() {
		tb.Fatalf("LLT_E2E=1 and %s", msg)
	}
	tb.Skipf("%s (set LLT_E2E=1 to make this a failure)", msg)
}

// CacheDir is the folder where scripts/provision-llama-server.sh keeps its Debian root and wrapper:
// $LLT_CACHE_DIR, else $XDG_CACHE_HOME/otelcol-llt, else ~/.cache/otelcol-llt.
func CacheDir() string {
	if d := os.Getenv("LLT_CACHE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "otelcol-llt")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "otelcol-llt")
	}
	return filepath.Join(home, ".cache", "otelcol-llt")
}

var errNotFound = errors.New("no llama-server found: run `make provision` (scripts/provision-llama-server.sh) or set LLAMA_SERVER")

// FindServer returns the path of a llama-server executable: $LLAMA_SERVER, `llama-server` on
// PATH, or the provisioning script's wrapper in CacheDir.
func FindServer() (string, error) {
	if p := os.Getenv("LLAMA_SERVER"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("LLAMA_SERVER=%s: %w", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("llama-server"); err == nil {
		return p, nil
	}
	p := filepath.Join(CacheDir(), "bin", "llama-server")
	if _, err := exec.LookPath(p); err == nil {
		return p, nil
	}
	return "", errNotFound
}

// Server returns the llama-server executable, or skips/fails tb through Require.
func Server(tb testing.TB) string {
	tb.Helper()
	p, err := FindServer()
	if err != nil {
		Require(tb, "%v", err)
	}
	return p
}
