// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// defaultRun is the distribution running the repository's own config.yaml, as `make run` starts
// it, with only its ports and output paths moved (an overlay config merged over it), so that a
// test measures the product as users run it.
type defaultRun struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	dir  string
	// Ports and paths of this run.
	LlamaPort, GatewayPort, OTLPHTTPPort, TelemetryPort, ServePort, PprofPort int
	File, Dashboard, Graphs                                                   string
	// Overlay is the overlay config file (startDefaultConfigWith's extra YAML is merged after it).
	Overlay string
}

// GatewayURL is the gateway's OpenAI-compatible base URL (…/v1).
func (r *defaultRun) GatewayURL() string { return fmt.Sprintf("http://127.0.0.1:%d/v1", r.GatewayPort) }

// LlamaURL is llama-server's own base URL (…/v1), bypassing the gateway.
func (r *defaultRun) LlamaURL() string { return fmt.Sprintf("http://127.0.0.1:%d/v1", r.LlamaPort) }

// OTLPURL is the OTLP/HTTP receiver's base URL.
func (r *defaultRun) OTLPURL() string { return fmt.Sprintf("http://127.0.0.1:%d", r.OTLPHTTPPort) }

// startDefaultConfig runs otelcol-llt --config ../config.yaml --config overlay.yaml, the overlay
// moving every listener to a free port and every output into a temporary folder, and waits until
// the gateway answers. model is the GGUF to serve (the demo model when empty).
func startDefaultConfig(t *testing.T, model string) *defaultRun {
	t.Helper()
	return startDefaultConfigWith(t, model, "")
}

// startDefaultConfigWith is startDefaultConfig with extra YAML merged last (a chaos test's own
// settings, e.g. a smaller limit); "" adds nothing. The pprof extension is added on a free port
// (its goroutine count is what the load and soak tests watch); nothing else of config.yaml changes.
func startDefaultConfigWith(t *testing.T, model, extra string) *defaultRun {
	t.Helper()
	if model == "" {
		model = llamatest.WriteModel(t, modelgen.Tiny())
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	r := &defaultRun{dir: dir,
		LlamaPort: llamatest.FreePort(t), GatewayPort: llamatest.FreePort(t), OTLPHTTPPort: llamatest.FreePort(t),
		TelemetryPort: llamatest.FreePort(t), ServePort: llamatest.FreePort(t), PprofPort: llamatest.FreePort(t),
		File: filepath.Join(dir, "telemetry.jsonl"), Dashboard: filepath.Join(dir, "dashboard.html"),
		Graphs: filepath.Join(dir, "graphs"),
	}
	overlay := filepath.Join(dir, "overlay.yaml")
	require.NoError(t, os.WriteFile(overlay, fmt.Appendf(nil, `
extensions:
  llamalauncher: {port: %d}
  health_check: {endpoint: "127.0.0.1:%d"}
  zpages: {endpoint: "127.0.0.1:%d"}
  pprof: {endpoint: "127.0.0.1:%d"}
receivers:
  llamacpp: {gateway: {endpoint: "127.0.0.1:%d"}}
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
      http: {endpoint: "127.0.0.1:%d"}
exporters:
  file: {path: %q}
  graphistry: {file: {path: %q}}
  plotlyhtml: {path: %q, interval: 1s, serve: {endpoint: "127.0.0.1:%d"}}
service:
  extensions: [llamalauncher, health_check, zpages, pprof]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`, r.LlamaPort, llamatest.FreePort(t), llamatest.FreePort(t), r.PprofPort, r.GatewayPort, llamatest.FreePort(t), r.OTLPHTTPPort,
		r.File, r.Graphs, r.Dashboard, r.ServePort, r.TelemetryPort), 0o600))
	r.Overlay = overlay
	args := []string{"--config", filepath.Join(root, "config.yaml"), "--config", overlay}
	if extra != "" {
		extraFile := filepath.Join(dir, "extra.yaml")
		require.NoError(t, os.WriteFile(extraFile, []byte(extra), 0o600))
		args = append(args, "--config", extraFile)
	}

	r.cmd = exec.Command(otelcolBin(t), args...)
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "LLT_MODEL="+model, "LLAMA_SERVER="+llamatest.Server(t), "LLT_GPU_DEVICES=[]")
	r.logs = &lockedBuffer{}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); _, _ = r.cmd.Process.Wait() })
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/health", r.GatewayPort), 2*time.Minute,
		"the gateway never answered:\n%s", r.logs)
	return r
}

// Stop ends the collector with SIGINT (which flushes the exporters and writes the dashboard a
// last time) and requires a clean exit.
func (r *defaultRun) Stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, r.cmd.Wait(), "collector exit:\n%s", tail(r.logs.String(), 80))
}

// Spans reads every span the file exporter wrote so far.
func (r *defaultRun) Spans(t *testing.T) []fileSpan {
	t.Helper()
	spans, err := r.readSpans()
	require.NoError(t, err)
	return spans
}

// spans is Spans for a polling condition: what could be read so far (a line being written is
// left for the next poll).
func (r *defaultRun) spans() []fileSpan {
	spans, _ := r.readSpans()
	return spans
}

func (r *defaultRun) readSpans() ([]fileSpan, error) {
	f, err := os.Open(r.File)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []fileSpan
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		spans, err := fileSpansOf(sc.Bytes())
		if err != nil {
			return out, err
		}
		out = append(out, spans...)
	}
	return out, sc.Err()
}

// InternalMetric returns the sum of the collector's own metric name (Prometheus text from its
// telemetry endpoint) over the series whose labels contain every one of labels.
func (r *defaultRun) InternalMetric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	total, err := r.internalMetric(name, labels...)
	require.NoError(t, err)
	return total
}

// internalMetric is InternalMetric for a polling condition (which must not fail the test from its
// own goroutine): the error instead.
func (r *defaultRun) internalMetric(name string, labels ...string) (float64, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", r.TelemetryPort))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})?\s+(\S+)$`)
	total := 0.0
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		keep := true
		for _, l := range labels {
			keep = keep && strings.Contains(m[1], l)
		}
		if v, err := strconv.ParseFloat(m[2], 64); err == nil && keep {
			total += v
		}
	}
	return total, nil
}

// fileSpan is one span of the file exporter's OTLP/JSON, with what the tests look at.
type fileSpan struct {
	Service      string
	TraceID      string
	SpanID       string
	ParentSpanID string
	Name         string
	Kind         int
	Status       string // the status message
	Attrs        map[string]any
	// Links are the span ids this span links to, with their attributes.
	Links []fileLink
}

type fileLink struct {
	TraceID, SpanID string
	Attrs           map[string]any
}

// fileSpansOf decodes the spans of one line of the file exporter (other signals: none).
func fileSpansOf(line []byte) ([]fileSpan, error) {
	type kv struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	}
	var doc struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []kv `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []struct {
					TraceID      string `json:"traceId"`
					SpanID       string `json:"spanId"`
					ParentSpanID string `json:"parentSpanId"`
					Name         string `json:"name"`
					Kind         int    `json:"kind"`
					Status       struct {
						Message string `json:"message"`
					} `json:"status"`
					Attributes []kv `json:"attributes"`
					Links      []struct {
						TraceID    string `json:"traceId"`
						SpanID     string `json:"spanId"`
						Attributes []kv   `json:"attributes"`
					} `json:"links"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, err
	}
	attrs := func(list []kv) map[string]any {
		m := make(map[string]any, len(list))
		for _, a := range list {
			m[a.Key] = otlpValue(a.Value)
		}
		return m
	}
	var out []fileSpan
	for _, rs := range doc.ResourceSpans {
		service, _ := attrs(rs.Resource.Attributes)["service.name"].(string)
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				fs := fileSpan{Service: service, TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID,
					Name: s.Name, Kind: s.Kind, Status: s.Status.Message, Attrs: attrs(s.Attributes)}
				for _, l := range s.Links {
					fs.Links = append(fs.Links, fileLink{TraceID: l.TraceID, SpanID: l.SpanID, Attrs: attrs(l.Attributes)})
				}
				out = append(out, fs)
			}
		}
	}
	return out, nil
}
