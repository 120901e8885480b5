// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamatest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

var tiny struct {
	once sync.Once
	path string
	err  error
}

// TinyModel returns the path of modelgen.Tiny() (a few hundred KB; generating it takes
// milliseconds). It is written once per test binary to a fixed path under the system's temporary
// folder, atomically, so concurrent test binaries share it and nothing needs cleaning up. Use
// WriteModel for other shapes.
func TinyModel(tb testing.TB) string {
	tb.Helper()
	tiny.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "llamatest")
		if tiny.err = os.MkdirAll(dir, 0o755); tiny.err != nil {
			return
		}
		tiny.path = filepath.Join(dir, "llt-tiny.gguf")
		tiny.err = modelgen.WriteFile(tiny.path, modelgen.Tiny())
	})
	if tiny.err != nil {
		tb.Fatalf("generate tiny model: %v", tiny.err)
	}
	return tiny.path
}

// WriteModel writes a model with spec into tb's temporary folder and returns its path.
func WriteModel(tb testing.TB, spec modelgen.Spec) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "model.gguf")
	if err := modelgen.WriteFile(p, spec); err != nil {
		tb.Fatalf("generate model: %v", err)
	}
	return p
}
