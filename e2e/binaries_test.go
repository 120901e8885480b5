// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// binary returns the path in env, else def (relative to this folder), and requires that it exists.
func binary(t *testing.T, env, def, build string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		p = def
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		llamatest.Require(t, "%s is missing (%v): run `%s` or set %s", abs, err, build, env)
	}
	return abs
}

func otelcolBin(t *testing.T) string {
	return binary(t, "OTELCOL_LLT_BIN", "../otelcol-llt/otelcol-llt", "make build")
}

func lltmodelBin(t *testing.T) string {
	return binary(t, "LLTMODEL_BIN", "../bin/lltmodel", "make build")
}

// run runs a binary to completion and returns its combined output; a non-zero exit fails t.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return string(out)
}

// waitOK waits until GET url answers 200, failing t with msg after timeout.
func waitOK(t *testing.T, url string, timeout time.Duration, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, timeout, 20*time.Millisecond, append([]any{msg}, args...)...)
}
