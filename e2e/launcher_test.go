// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// launcherConfig writes a collector config whose llamalauncher serves model on a free port.
func launcherConfig(t *testing.T, model string) (cfgPath string, port int) {
	port = llamatest.FreePort(t)
	cfgPath = filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, `
extensions:
  llamalauncher:
    executable: %q
    model: %q
    port: %d
    context_size: 1024
    parallel: 2
    gpu: {devices: []}
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:%d"}
exporters:
  debug: {}
service:
  extensions: [llamalauncher]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`, llamatest.Server(t), model, port, llamatest.FreePort(t)), 0o600))
	return cfgPath, port
}

// startCollector runs bin with cfg and waits until the launcher's llama-server answers /health.
func startCollector(t *testing.T, bin, cfg string, port int) (*exec.Cmd, *lockedBuffer) {
	cmd := exec.Command(bin, "--config", cfg)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/health", port), time.Minute, "llama-server never became healthy:\n%s", logs)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "llama-server ready") },
		10*time.Second, 10*time.Millisecond, "the launcher never reported ready:\n%s", logs)
	return cmd, logs
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCollectorWithLauncher starts bin with the launcher, then stops it with SIGINT: the collector
// exits 0 and no llama-server is left.
func runCollectorWithLauncher(t *testing.T, bin string) {
	model := llamatest.WriteModel(t, modelgen.Tiny())
	cfg, port := launcherConfig(t, model)
	cmd, logs := startCollector(t, bin, cfg, port)
	require.Len(t, llamatest.ProcessesWithArgs("--model", model), 1)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	assert.Empty(t, llamatest.ProcessesWithArgs("--model", model), "llama-server left behind")
	assert.Contains(t, logs.String(), "llama-server stopped")
}

func TestCollectorStopsLlamaServer(t *testing.T) {
	runCollectorWithLauncher(t, otelcolBin(t))
}

// TestKill9LeavesNoLlamaServer: even SIGKILL of the collector takes llama-server with it
// (parent-death signal).
func TestKill9LeavesNoLlamaServer(t *testing.T) {
	model := llamatest.WriteModel(t, modelgen.Tiny())
	cfg, port := launcherConfig(t, model)
	cmd, logs := startCollector(t, otelcolBin(t), cfg, port)
	children := llamatest.ProcessesWithArgs("--model", model)
	require.Len(t, children, 1)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Eventually(t, func() bool {
		return len(llamatest.ProcessesWithArgs("--model", model)) == 0 && !llamatest.Alive(children[0])
	}, 10*time.Second, 10*time.Millisecond, "llama-server %v outlived kill -9 of the collector:\n%s", children, logs)
	assert.False(t, strings.Contains(logs.String(), "panic"))
}
