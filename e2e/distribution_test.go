// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

func TestVersion(t *testing.T) {
	out := run(t, nil, otelcolBin(t), "--version")
	assert.Equal(t, "otelcol-llt version 0.1.0\n", out)
}

// TestComponents checks that the distribution links everything builder-config.yaml promises.
func TestComponents(t *testing.T) {
	out := run(t, nil, otelcolBin(t), "components")
	var got struct {
		Receivers  []struct{ Name string }   `yaml:"receivers"`
		Processors []struct{ Name string }   `yaml:"processors"`
		Exporters  []struct{ Name string }   `yaml:"exporters"`
		Extensions []struct{ Name string }   `yaml:"extensions"`
		Providers  []struct{ Scheme string } `yaml:"providers"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(out), &got), out)
	names := func(items []struct{ Name string }) []string {
		var s []string
		for _, i := range items {
			s = append(s, i.Name)
		}
		return s
	}
	var schemes []string
	for _, p := range got.Providers {
		schemes = append(schemes, p.Scheme)
	}
	assert.Subset(t, names(got.Receivers), []string{"otlp", "llamacpp", "nvml", "receiver_creator"})
	assert.Subset(t, names(got.Processors), []string{"batch", "memory_limiter", "genaienrich", "k8s_attributes"})
	assert.Subset(t, names(got.Exporters), []string{"debug", "otlp_grpc", "otlp_http", "file", "prometheus", "plotlyhtml", "graphistry", "load_balancing"})
	assert.Subset(t, names(got.Extensions), []string{"llamalauncher", "health_check", "pprof", "zpages", "file_storage", "host_observer", "k8s_observer"})
	assert.ElementsMatch(t, []string{"env", "file", "yaml", "http", "https"}, schemes)
}

func TestValidateDefaultConfig(t *testing.T) {
	cfg, err := filepath.Abs("../config.yaml")
	require.NoError(t, err)
	run(t, []string{"LLT_MODEL=" + llamatest.TinyModel(t)}, otelcolBin(t), "validate", "--config", cfg)
}

func TestValidateRejectsUnknownKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
receivers:
  otlp:
    protocols:
      htttp: {}
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`), 0o600))
	out, err := exec.Command(otelcolBin(t), "validate", "--config", cfg).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "htttp")
}

// TestOTLPToFile runs the collector, sends one span over OTLP/HTTP and finds it in the file
// exporter's output; then SIGINT must stop it cleanly with exit code 0.
func TestOTLPToFile(t *testing.T) {
	dir := t.TempDir()
	otlpPort, healthPort := llamatest.FreePort(t), llamatest.FreePort(t)
	outFile := filepath.Join(dir, "traces.jsonl")
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:%d"}
processors:
  batch: {timeout: 100ms}
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [file]}
`, healthPort, otlpPort, outFile), 0o600))

	cmd := exec.Command(otelcolBin(t), "--config", cfg)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 30*time.Second, "health_check never answered 200:\n%s", &logs)

	span := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"e2e"}}]},
	  "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
	  "name":"llt-e2e-span","kind":1,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"}]}]}]}`
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", otlpPort), "application/json", strings.NewReader(span))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(outFile)
		return bytes.Contains(b, []byte("llt-e2e-span"))
	}, 15*time.Second, 50*time.Millisecond, "span never reached the file exporter")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case err := <-exited:
		require.NoError(t, err, "collector exit after SIGINT:\n%s", &logs)
	case <-ctx.Done():
		t.Fatalf("collector did not stop within 20s of SIGINT:\n%s", &logs)
	}
}
