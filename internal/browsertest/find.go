// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// DefaultPath is where Debian's chromium package installs the browser; [Find] falls back to it.
const DefaultPath = "/usr/bin/chromium"

// provisionHint says how to get a browser; it ends every "not found" message.
const provisionHint = "run scripts/provision-chromium.sh, or set CHROMIUM=/path/to/chromium"

// ErrNotFound is returned (wrapped) by [Find] when no Chromium is installed.
var ErrNotFound = errors.New("no Chromium found")

// candidates are the names that [Find] looks up on PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome"}

// Find returns the path of a Chromium executable: $CHROMIUM when it is set (an error when it does
// not name an executable), else the first of chromium, chromium-browser and google-chrome on
// PATH, else [DefaultPath]. The error wraps [ErrNotFound] when nothing is installed.
func Find() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("CHROMIUM=%s is not an executable: %w (%s)", p, err, provisionHint)
		}
		return found, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if _, err := exec.LookPath(DefaultPath); err == nil {
		return DefaultPath, nil
	}
	return "", fmt.Errorf("%w ($CHROMIUM is unset, none of %v is on PATH, no %s): %s",
		ErrNotFound, candidates, DefaultPath, provisionHint)
}

// E2E reports whether end-to-end tests are required: LLT_E2E=1, which `make test` sets. Then a
// missing browser fails a test instead of skipping it.
func E2E() bool { return os.Getenv("LLT_E2E") == "1" }

// Require returns the path that [Find] gives. When there is none, it fails tb under LLT_E2E=1
// and skips tb otherwise; both messages say to run scripts/provision-chromium.sh.
func Require(tb testing.TB) string {
	tb.Helper()
	p, err := Find()
	if err == nil {
		return p
	}
	if E2E() {
		tb.Fatalf("browsertest: LLT_E2E=1 and %v", err)
	} else {
		tb.Skipf("browsertest: %v (set LLT_E2E=1 to make this a failure)", err)
	}
	return ""
}

// FileURL returns the file: URL of a local file, for [Browser.Open]; a relative path is made
// absolute first.
func FileURL(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
