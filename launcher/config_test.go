// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/launcher/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	full := createDefaultConfig()
	full.Executable = "/opt/llama.cpp/bin/llama-server"
	full.Model = "/models/qwen2.5-3b-q4_k_m.gguf"
	full.Alias = "qwen"
	full.Host = "0.0.0.0"
	full.Port = 0
	full.ContextSize = 8192
	full.Parallel = 8
	full.Threads = 16
	full.GPU = GPUConfig{Devices: []int{0, 1}, Layers: "40", MainGPU: 1, SplitMode: "row", TensorSplit: []float64{0.25, 0.75}, FlashAttn: "on", EnergyMaxWait: 30 * time.Second}
	full.Embeddings = true
	full.APIKey = "s3cret"
	full.ExtraArgs = []string{"--temp", "0.7", "--cont-batching"}
	full.Env = map[string]string{"GGML_CUDA_ENABLE_UNIFIED_MEMORY": "1"}
	full.ReadyTimeout = 2 * time.Minute
	full.Restart = RestartConfig{Enabled: false, InitialInterval: 500 * time.Millisecond, MaxInterval: 5 * time.Second, MaxRestarts: 3}
	full.HealthCheck = HealthCheckConfig{Interval: time.Second, Timeout: 500 * time.Millisecond, HungAfter: 5 * time.Second}
	full.ShutdownTimeout = 3 * time.Second
	full.LogLevel = "info"

	minimal := createDefaultConfig()
	minimal.Model = "/models/tiny.gguf"
	assert.Equal(t, "none", minimal.LogLevel, "llama-server's lines go to the collector's log at debug by default")
	warn := createDefaultConfig()
	warn.Model = "/models/tiny.gguf"
	warn.LogLevel = "warn"
	assert.Equal(t, HealthCheckConfig{Interval: 2 * time.Second, Timeout: 2 * time.Second, HungAfter: 10 * time.Second}, minimal.HealthCheck)
	noHang := createDefaultConfig()
	noHang.Model = "/models/tiny.gguf"
	noHang.HealthCheck.HungAfter = 0
	router := createDefaultConfig()
	router.ModelsDir = "/models"
	router.ModelsMax = 2
	cpu := createDefaultConfig()
	cpu.Model = "/models/tiny.gguf"
	cpu.GPU.Devices = []int{}

	tests := []struct {
		name      string
		expected  *Config
		errSubstr []string
	}{
		{name: "", expected: minimal},
		{name: "full", expected: full},
		{name: "log_level_warn", expected: warn},
		{name: "cpu", expected: cpu},
		{name: "no_model", errSubstr: []string{"`model` is required"}},
		{name: "router", expected: router},
		{name: "router_conflicts", errSubstr: []string{"`model` and `models_dir` are mutually exclusive", "`models_max` must not be negative, got -1"}},
		{name: "router_alias", errSubstr: []string{"`alias` is for `model`"}},
		{name: "models_max_alone", errSubstr: []string{"`models_max` is for router mode"}},
		{name: "bad_values", errSubstr: []string{
			"`port` must be between 0 and 65535, got 70000",
			"`parallel` must be at least 1, got 0",
			"`log_level` must be one of debug, info, warn, error, none; got \"loud\"",
			"gpu: `devices` lists 0 twice",
			"`layers` must be \"all\" or a number of layers, got \"most\"",
			"`split_mode` must be none, layer or row; got \"diagonal\"",
			"`flash_attn` must be on, off or auto; got \"maybe\"",
			"`tensor_split` needs one share per device: 1 shares for 2 devices",
			"`energy_max_wait` must be positive, got -1s",
			"restart: `initial_interval` must be positive",
		}},
		{name: "no_hang_detection", expected: noHang},
		{name: "negative_health_check", errSubstr: []string{
			"health_check: `interval` must be positive, got -1s",
			"`timeout` must be positive, got 0s",
			"`hung_after` must not be negative (0 = no hang detection), got -10s",
		}},
		{name: "hung_after_too_short", errSubstr: []string{
			"health_check: `hung_after` (4s) must not be less than `interval` (5s) or `timeout` (3s)",
		}},
		{name: "owned_extra_arg", errSubstr: []string{"extra_args[2]", "--port", "`port`"}},
		{name: "unknown_extra_arg", errSubstr: []string{"extra_args[0]", "--not-a-llama-flag"}},
		{name: "owned_env", errSubstr: []string{"env: CUDA_VISIBLE_DEVICES is set by the launcher: use `gpu::devices`"}},
		{name: "unknown_key", errSubstr: []string{"has invalid keys: gpus"}},
	}
	for _, tt := range tests {
		t.Run("case_"+tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.expected == nil {
				require.Error(t, err)
				for _, s := range tt.errSubstr {
					assert.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}
