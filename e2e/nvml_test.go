// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// TestNVMLWithoutGPU: on a machine without an NVIDIA driver (this one, and CI's) the nvml
// receiver starts, warns once however many scrapes run, emits nothing, and the collector runs on.
func TestNVMLWithoutGPU(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this machine has an NVIDIA driver; the no-GPU path is tested elsewhere")
	}
	health := llamatest.FreePort(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:
  nvml: {collection_interval: 100ms}
exporters:
  debug: {}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [nvml], exporters: [debug]}
`, health), 0o600))
	cmd := exec.Command(otelcolBin(t), "--config", cfg)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 30*time.Second, "collector not healthy:\n%s", logs)
	time.Sleep(time.Second) // about ten scrapes
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	assert.Equal(t, 1, strings.Count(logs.String(), "NVIDIA GPU metrics are off"), logs.String())
}

// TestLazyBinding: the distribution must not be linked with BIND_NOW: NVML is resolved when the
// receiver starts, so that the binary starts on machines without an NVIDIA driver.
func TestLazyBinding(t *testing.T) {
	f, err := elf.Open(otelcolBin(t))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	flags, err := f.DynValue(elf.DT_FLAGS)
	require.NoError(t, err)
	for _, v := range flags {
		assert.Zero(t, v&uint64(elf.DF_BIND_NOW), "DT_FLAGS has BIND_NOW")
	}
	flags1, err := f.DynValue(elf.DT_FLAGS_1)
	require.NoError(t, err)
	for _, v := range flags1 {
		assert.Zero(t, v&uint64(elf.DF_1_NOW), "DT_FLAGS_1 has NOW")
	}
	bindNow, err := f.DynValue(elf.DT_BIND_NOW)
	require.NoError(t, err)
	assert.Empty(t, bindNow, "DT_BIND_NOW present")
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	for _, l := range libs {
		assert.NotContains(t, l, "nvidia", "NVML must be loaded at run time, not linked")
	}

	// It starts here, without NVML; binding every symbol at start (what -z now would do) fails.
	run(t, nil, otelcolBin(t), "--version")
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		cmd := exec.Command(otelcolBin(t), "--version")
		cmd.Env = append(os.Environ(), "LD_BIND_NOW=1")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "with LD_BIND_NOW=1 the unresolved NVML symbols should stop the start")
		assert.Contains(t, string(out), "undefined symbol: nvml")
	}
}
