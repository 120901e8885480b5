// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	all := createDefaultConfig().(*Config)
	all.CollectionInterval = 10 * time.Second
	all.Launcher = &launcherID
	all.LibraryPath = "/usr/local/nvidia/lib64/libnvidia-ml.so.1"
	all.Devices = []string{"0", "1", "GPU-ff2b91cf-a824-0da0-8e94-d655b7940273", "MIG-6b2898f0-50e7-b133-0000-000000000000"}
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"metrics": map[string]any{"nvidia.gpu.fan.speed_ratio": map[string]any{"enabled": false}},
	}).Unmarshal(&all.MetricsBuilderConfig))
	require.False(t, all.Metrics.NvidiaGpuFanSpeedRatio.Enabled)

	launchers := createDefaultConfig().(*Config)
	launchers.Launchers = []component.ID{component.MustNewIDWithName("llamalauncher", "a"), component.MustNewIDWithName("llamalauncher", "b")}

	libraryName := createDefaultConfig().(*Config)
	libraryName.LibraryPath = "libnvidia-ml.so.1"

	tests := []struct {
		name     string
		expected *Config
		errs     []string
	}{
		{name: "defaults", expected: createDefaultConfig().(*Config)},
		{name: "all", expected: all},
		{name: "library_name", expected: libraryName},
		{name: "launchers", expected: launchers},
		{name: "launcher_and_launchers", errs: []string{"`launcher` and `launchers` are both set"}},
		{name: "launchers_twice", errs: []string{"`launchers`: \"llamalauncher/a\" is listed twice"}},
		{name: "bad_devices", errs: []string{
			"`devices`: \"-1\" is neither a GPU index (0, 1, ...) nor a UUID starting with GPU- or MIG-",
			"`devices`: \"gpu0\" is neither",
			"`devices`: \"GPU-\" is neither",
			"`devices`: \"01\" is neither",
			"`devices`: \"0\" is listed twice",
		}},
		{name: "relative_library_path", errs: []string{"`library_path` must be an absolute path or a bare file name"}},
		{name: "bad_interval", errs: []string{"collection_interval"}},
		{name: "unknown_key", errs: []string{"has invalid keys: device"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.expected == nil {
				require.Error(t, err)
				for _, e := range tt.errs {
					assert.ErrorContains(t, err, e)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, time.Second, cfg.CollectionInterval)
	assert.Empty(t, cfg.LibraryPath)
	assert.Empty(t, cfg.Devices)
	assert.Nil(t, cfg.Launcher)
	assert.Empty(t, cfg.Launchers)
	assert.NoError(t, cfg.Validate())
}

func TestLauncherIDs(t *testing.T) {
	a, b := component.MustNewIDWithName("llamalauncher", "a"), component.MustNewIDWithName("llamalauncher", "b")
	cfg := createDefaultConfig().(*Config)
	assert.Empty(t, cfg.launcherIDs())
	cfg.Launcher = &launcherID
	assert.Equal(t, []component.ID{launcherID}, cfg.launcherIDs())
	cfg.Launcher, cfg.Launchers = nil, []component.ID{a, b}
	assert.Equal(t, []component.ID{a, b}, cfg.launcherIDs())
}
