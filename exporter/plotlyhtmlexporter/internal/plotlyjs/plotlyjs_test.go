// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyjs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The build fetches the bundle before the tests run (make test -> make build), so it must be here.
func TestEmbeddedBundleIsThePinnedVersion(t *testing.T) {
	b, ok := Embedded()
	if !ok {
		t.Fatal("plotly.js is not embedded: run scripts/fetch-plotlyjs.sh")
	}
	if !strings.Contains(string(b[:200]), "plotly.js v"+Version) {
		t.Fatalf("embedded bundle is not plotly.js v%s: %q", Version, b[:200])
	}
	// The SRI constant is what `cdn` pages put in their script tag; it must match the very bytes.
	if got := Integrity(b); got != SRI {
		t.Fatalf("Integrity(embedded) = %s, want the pinned SRI %s", got, SRI)
	}
	if !strings.Contains(License(), "MIT") {
		t.Fatalf("licence text missing or not MIT: %q", License())
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.js")
	if err := os.WriteFile(good, []byte("/**\n* plotly.js v9.9.9\n*/ var Plotly={}"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.js")
	if err := os.WriteFile(bad, []byte("alert(1)"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Load(good); err != nil || !strings.Contains(string(b), "9.9.9") {
		t.Fatalf("Load(good) = %q, %v", b, err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "plotlyjs_file") {
		t.Fatalf("Load(bad) error = %v, want one naming plotlyjs_file", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.js")); err == nil || !strings.Contains(err.Error(), "plotlyjs_file") {
		t.Fatalf("Load(missing) error = %v", err)
	}
	if _, err := Load(""); err != nil {
		t.Fatalf("Load(embedded): %v", err)
	}
}
