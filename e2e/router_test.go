// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// TestRouterMode runs the provisioned llama-server in router mode (--models-dir, no --model)
// with two generated models, alpha (llama) and beta (qwen2), and the distribution with a
// llamacpp receiver and its gateway on it. Requests for each model go through the gateway; the
// test checks that the receiver found both models, that each loaded model's series carry it
// (llamacpp.model.alias) with counters that match the requests, that each gateway span carries
// the model that answered, and that the live dashboards draw one line per model.
func TestRouterMode(t *testing.T) {
	models := t.TempDir()
	alpha, beta := modelgen.Tiny(), modelgen.Tiny()
	alpha.Name = "alpha"
	beta.Name, beta.Arch, beta.BlockCount, beta.Seed = "beta", "qwen2", 3, 2
	require.NoError(t, modelgen.WriteFile(filepath.Join(models, "alpha.gguf"), alpha))
	require.NoError(t, modelgen.WriteFile(filepath.Join(models, "beta.gguf"), beta))
	// endpoint: a router started outside the collector; launcher: the llamalauncher's models_dir.
	t.Run("endpoint", func(t *testing.T) {
		srv := llamatest.Start(t, llamatest.Options{ModelsDir: models})
		routerRun(t, "endpoint: "+srv.URL, "")
	})
	t.Run("launcher", func(t *testing.T) {
		routerRun(t, "launcher: llamalauncher", fmt.Sprintf(`
  llamalauncher:
    executable: %s
    models_dir: %s
    port: %d
    parallel: 2
    context_size: 1024
    gpu: {devices: []}`, llamatest.Server(t), models, llamatest.FreePort(t)))
	})
}

// routerRun runs the collector with the llamacpp receiver's target (target) and, when launcher is
// not "", that llamalauncher extension, and checks what TestRouterMode says.
func routerRun(t *testing.T, target, launcher string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "telemetry.jsonl")
	gatewayPort, servePort, healthPort := llamatest.FreePort(t), llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	extensions := "[health_check]"
	if launcher != "" {
		extensions = "[health_check, llamalauncher]"
	}
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  health_check: {endpoint: "127.0.0.1:%d"}%s
receivers:
  llamacpp:
    %s
    collection_interval: 500ms
    gateway: {endpoint: "127.0.0.1:%d"}
processors:
  genaienrich: {}
exporters:
  file: {path: %q}
  plotlyhtml: {path: %q, interval: 1s, serve: {endpoint: "127.0.0.1:%d"}}
service:
  extensions: %s
  pipelines:
    metrics: {receivers: [llamacpp], exporters: [file, plotlyhtml]}
    traces: {receivers: [llamacpp], processors: [genaienrich], exporters: [file, plotlyhtml]}
`, healthPort, launcher, target, gatewayPort, out, filepath.Join(dir, "dashboard.html"), servePort, extensions), 0o600))
	logs := &lockedBuffer{}
	execCollector(t, cfg, logs)
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 30*time.Second, "collector not healthy:\n%s", logs)

	// Before any request the receiver lists both models, unloaded.
	require.Eventually(t, func() bool {
		st := routerStatuses(out)
		return st["alpha"] == "unloaded" && st["beta"] == "unloaded"
	}, 20*time.Second, 100*time.Millisecond, "the receiver never listed both models unloaded: %v\n%s", routerStatuses(out), logs)

	gateway := fmt.Sprintf("http://127.0.0.1:%d", gatewayPort)
	want := map[string]int{"alpha": 3, "beta": 2}
	completion := map[string]int64{}
	for model, n := range want {
		for i := range n {
			completion[model] += routerChat(t, gateway, model, fmt.Sprintf("Hello number %d.", i), i == 0)
		}
	}

	// Per-model series: each loaded model's own resource, its counters matching the requests.
	require.Eventually(t, func() bool {
		gen := routerGenerated(out)
		st := routerStatuses(out)
		return st["alpha"] == "loaded" && st["beta"] == "loaded" && gen["alpha"] == completion["alpha"] && gen["beta"] == completion["beta"]
	}, 30*time.Second, 200*time.Millisecond, "per-model series never matched the completions %v: statuses %v, generated %v\n%s",
		completion, routerStatuses(out), routerGenerated(out), logs)

	// Spans: one per request, each with the model that answered.
	var spans []jsonSpan
	require.Eventually(t, func() bool {
		spans = gatewaySpansOf(out)
		return len(spans) == 5
	}, 20*time.Second, 100*time.Millisecond, "5 gateway spans never came")
	perModel := map[string]int{}
	for _, s := range spans {
		resp, _ := s.Attrs["gen_ai.response.model"].(string)
		req, _ := s.Attrs["gen_ai.request.model"].(string)
		assert.Equal(t, req, resp, "the router answers with the model asked for")
		perModel[resp]++
	}
	assert.Equal(t, want, perModel)

	// The live dashboards: one generation-rate line and one latency line per model.
	require.Eventually(t, func() bool {
		names := routerFigureNames(servePort)
		return hasBoth(names["live-request-latency"], "latency · alpha", "latency · beta") &&
			hasSuffixes(names["live-generation-rate"], " alpha", " beta") && hasSuffixes(names["live-active-slots"], " alpha", " beta")
	}, 30*time.Second, 500*time.Millisecond, "the dashboards never split by model: %v", routerFigureNames(servePort))
	t.Logf("statuses %v; generated tokens per model %v; spans per model %v", routerStatuses(out), routerGenerated(out), perModel)
}

func hasBoth(names []string, a, b string) bool {
	var okA, okB bool
	for _, n := range names {
		okA, okB = okA || n == a, okB || n == b
	}
	return okA && okB
}

func hasSuffixes(names []string, a, b string) bool {
	var okA, okB bool
	for _, n := range names {
		okA, okB = okA || strings.HasSuffix(n, a), okB || strings.HasSuffix(n, b)
	}
	return okA && okB
}

// routerChat sends one chat completion for model through the gateway (streamed when stream)
// and returns its completion tokens.
func routerChat(t *testing.T, gateway, model, content string, stream bool) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"max_tokens":8,"stream":%t,"stream_options":{"include_usage":true}}`, model, content, stream)
	resp, err := http.Post(gateway+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var last struct {
		Model string `json:"model"`
		Usage *struct {
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if !stream {
		require.NoError(t, json.Unmarshal(raw, &last))
	} else {
		for _, line := range strings.Split(string(raw), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var ev struct {
				Model string `json:"model"`
				Usage *struct {
					CompletionTokens int64 `json:"completion_tokens"`
				} `json:"usage"`
			}
			require.NoError(t, json.Unmarshal([]byte(data), &ev))
			if ev.Usage != nil {
				last.Model, last.Usage = ev.Model, ev.Usage
			}
		}
	}
	require.NotNil(t, last.Usage, "usage: %s", raw)
	require.Equal(t, model, last.Model)
	return last.Usage.CompletionTokens
}

// routerStatuses is each model's latest status (the llamacpp.router.model.status point at 1).
func routerStatuses(path string) map[string]string {
	out := map[string]string{}
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		alias, ok := rm.Resource().Attributes().Get("llamacpp.model.alias")
		if !ok {
			return
		}
		eachMetric(rm, "llamacpp.router.model.status", func(dp pmetric.NumberDataPoint) {
			if dp.IntValue() == 1 {
				v, _ := dp.Attributes().Get("llamacpp.model.status")
				out[alias.Str()] = v.Str()
			}
		})
	})
	return out
}

// routerGenerated is each model's latest llamacpp.generation.tokens.
func routerGenerated(path string) map[string]int64 {
	out := map[string]int64{}
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		alias, ok := rm.Resource().Attributes().Get("llamacpp.model.alias")
		if !ok {
			return
		}
		eachMetric(rm, "llamacpp.generation.tokens", func(dp pmetric.NumberDataPoint) {
			out[alias.Str()] = dp.IntValue()
		})
	})
	return out
}

func eachMetric(rm pmetric.ResourceMetrics, name string, fn func(pmetric.NumberDataPoint)) {
	for _, sm := range rm.ScopeMetrics().All() {
		for _, m := range sm.Metrics().All() {
			if m.Name() != name {
				continue
			}
			for _, dp := range numberPoints(m).All() {
				fn(dp)
			}
		}
	}
}

// routerFigureNames returns the trace names of the live panels the test reads, by panel id.
func routerFigureNames(servePort int) map[string][]string {
	out := map[string][]string{}
	for _, id := range []string{"live-request-latency", "live-generation-rate", "live-active-slots"} {
		out[id] = liveTraceNames(servePort, id)
	}
	return out
}
