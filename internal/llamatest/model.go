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
	dir  string
	path string
	err  error
}

// TinyModel returns the path of modelgen.Tiny() written once per test binary into a temporary
// folder (a few hundred KB; generating it takes milliseconds). Use WriteModel for other shapes.
func TinyModel(tb testing.TB) string {
	tb.Helper()
	tiny.once.Do(func() {
		tiny.dir, tiny.err = os.MkdirTemp("", "llamatest-model-")
		if tiny.err != nil {
			return
		}
		tiny.path = filepath.Join(tiny.dir, "llt-tiny.gguf")
		tiny.err = modelgen.WriteFile(tiny.path, modelgen.Tiny())
	})
	if tiny.err != nil {
		tb.Fatalf("generate tiny model: %v", tiny.err)
	}
	return tiny.path
}

// Cleanup removes what TinyModel wrote. Call it from TestMain after m.Run, if at all.
func Cleanup() {
	if tiny.dir != "" {
		_ = os.RemoveAll(tiny.dir)
	}
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
