// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
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
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/fakenvml"
	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// TestGPUEnergyOnSpans runs the distribution with the launcher (a real llama-server, on the CPU,
// told it has GPU 0), the llamacpp receiver's gateway and the nvml receiver on a fake GPU
// (internal/fakenvml, a constant 250 W and 37% utilization): every gateway span names the GPU as
// the nvml receiver does (hw.id = its UUID) and carries its energy, GPU time and energy per output
// token; the spans' energy adds up to the requests' share that the nvml receiver reports.
func TestGPUEnergyOnSpans(t *testing.T) {
	gpu := fakenvml.GPU{UUID: "GPU-0f0e0d0c-0b0a-4908-8706-050403020111", Name: "NVIDIA Fake H200",
		MemoryTotal: 150754820096, PowerMW: 250000, UtilGPU: 37, EnergyMJ: 5_000_000}
	lib := filepath.Join(fakenvml.Build(t), fakenvml.LibraryName)
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
    gpu: {devices: [0], energy_max_wait: 5s}
receivers:
  llamacpp:
    launcher: llamalauncher
    collection_interval: 1s
    gateway: {endpoint: "127.0.0.1:%d"}
  nvml:
    launcher: llamalauncher
    library_path: %q
    collection_interval: 1s
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [llamalauncher]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [llamacpp], exporters: [file]}
    metrics: {receivers: [nvml, llamacpp], exporters: [file]}
`, llamatest.Server(t), model, llamaPort, gwPort, lib, out), 0o600))

	cmd := exec.Command(otelcolBin(t), "--config", cfg)
	cmd.Env = append(os.Environ(), fakenvml.Script{GPUs: []fakenvml.GPU{gpu}}.Env()...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/health", llamaPort), time.Minute, "llama-server never became healthy:\n%s", logs)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "GPU energy per request: on") },
		10*time.Second, 20*time.Millisecond, "the nvml receiver did not attach the meter:\n%s", logs)

	// Two requests alone, then three at once.
	send := func() {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gwPort), "application/json",
			strings.NewReader(`{"messages":[{"role":"user","content":"Say something about GPUs."}],"max_tokens":8}`))
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	send()
	time.Sleep(1200 * time.Millisecond)
	send()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(send)
	}
	wg.Wait()

	var spans []jsonSpan
	require.Eventually(t, func() bool {
		spans = gatewaySpansOf(out)
		return len(spans) == 5
	}, 20*time.Second, 100*time.Millisecond, "5 gateway spans never came:\n%s", logs)
	var sum float64
	for _, s := range spans {
		a := s.Attrs
		assert.Equal(t, gpu.UUID, a["hw.id"])
		assert.Equal(t, "gpu0", a["hw.name"])
		assert.Equal(t, gpu.Name, a["hw.model"])
		e, _ := a["llt.gen_ai.gpu.energy"].(float64)
		assert.Positive(t, e, "energy: %v", a)
		sum += e
		gt, _ := a["llt.gen_ai.gpu.time"].(float64)
		assert.Positive(t, gt)
		out, _ := a["gen_ai.usage.output_tokens"].(int64)
		require.Positive(t, out)
		assert.InDelta(t, e/float64(out), a["llt.gen_ai.gpu.energy_per_output_token"], 1e-9)
		assert.Contains(t, []any{"tokens", "time"}, a["llt.gen_ai.gpu.energy.method"])
	}

	// The nvml receiver's split: its requests' share is the spans' energy, and it has idle too.
	var requests, idle float64
	require.Eventually(t, func() bool {
		requests, idle = lastEnergyAttribution(out, gpu.UUID)
		return requests >= sum*(1-1e-9) && idle > 0
	}, 10*time.Second, 100*time.Millisecond, "nvidia.gpu.energy.attribution never caught up: requests %v idle %v, spans %v", requests, idle, sum)
	assert.InDelta(t, sum, requests, sum*1e-9, "the requests' share is what the spans carry")
	// The llamacpp receiver's metrics name the GPU too.
	assert.Contains(t, resourcesOf(out), fmt.Sprint([]any{gpu.UUID}), "a llamacpp resource with llamacpp.gpu.ids")
	t.Logf("5 requests: %.3f J on the spans, %.3f J requests and %.3f J idle reported", sum, requests, idle)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	assert.NotContains(t, logs.String(), `"level":"warn"`)
}

// gatewaySpansOf returns the gateway's inference spans (those with gen_ai.operation.name) in the
// file exporter's output.
func gatewaySpansOf(path string) []jsonSpan {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []jsonSpan
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		for _, s := range spansOf(nil, sc.Bytes()) {
			if s.Attrs["gen_ai.operation.name"] != nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// lastEnergyAttribution is the latest nvidia.gpu.energy.attribution of the GPU (requests, idle).
func lastEnergyAttribution(path, uuid string) (requests, idle float64) {
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		if id, _ := rm.Resource().Attributes().Get("hw.id"); id.Str() != uuid {
			return
		}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != "nvidia.gpu.energy.attribution" {
					continue
				}
				for _, dp := range m.Sum().DataPoints().All() {
					if use, _ := dp.Attributes().Get("nvidia.gpu.energy.use"); use.Str() == "requests" {
						requests = dp.DoubleValue()
					} else {
						idle = dp.DoubleValue()
					}
				}
			}
		}
	})
	return requests, idle
}

// resourcesOf lists the llamacpp.gpu.ids of the metric resources in the file exporter's output.
func resourcesOf(path string) []string {
	var out []string
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		if v, ok := rm.Resource().Attributes().Get("llamacpp.gpu.ids"); ok {
			out = append(out, fmt.Sprint(v.Slice().AsRaw()))
		}
	})
	return out
}
