package e2e

import (
	"os"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	llamatest.Cleanup()
	os.Exit(code)
}
