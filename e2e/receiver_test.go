// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// TestFullPipeline runs the distribution the way config.yaml does (launcher, llamacpp receiver
// with its gateway in the metrics, traces and logs pipelines) on free ports, sends a chat
// completion through the gateway, and finds the span, the scraped metrics and llama-server's
// log lines in the file exporter's output.
func TestFullPipeline(t *testing.T) {
	model := llamatest.WriteModel(t, modelgen.Tiny())
	dir := t.TempDir()
	out := filepath.Join(dir, "telemetry.jsonl")
	llamaPort, gwPort := llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  llamalauncher:
    executable: %q
    model: %q
    port: %d
    context_size: 1024
    parallel: 2
    gpu: {devices: []}
receivers:
  llamacpp:
    launcher: llamalauncher
    collection_interval: 200ms
    gateway:
      endpoint: "127.0.0.1:%d"
processors:
  batch: {timeout: 100ms}
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [llamalauncher]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [llamacpp], processors: [batch], exporters: [file]}
    traces: {receivers: [llamacpp], processors: [batch], exporters: [file]}
    logs: {receivers: [llamacpp], processors: [batch], exporters: [file]}
`, llamatest.Server(t), model, llamaPort, gwPort, out), 0o600))

	cmd, logs := startCollector(t, otelcolBin(t), cfg, llamaPort)
	body := `{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8}`
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gwPort), "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)

	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(out)
		return bytes.Contains(b, []byte(`"name":"chat llt-tiny"`)) &&
			bytes.Contains(b, []byte(`"name":"llamacpp.generation.tokens"`)) &&
			bytes.Contains(b, []byte(`"name":"gen_ai.server.request.duration"`)) &&
			bytes.Contains(b, []byte(`print_timing`))
	}, 20*time.Second, 50*time.Millisecond, "span, metrics or log lines missing from the file exporter:\n%s", logs)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	require.Empty(t, llamatest.ProcessesWithArgs("--model", model))
}
