// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/internal/configtest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	all := createDefaultConfig()
	all.Path = "/var/lib/otelcol-llt/dashboard.html"
	all.Interval = 30 * time.Second
	serve := defaultServeConfig()
	serve.NetAddr.Endpoint = "0.0.0.0:8050"
	serve.Refresh = 5 * time.Second
	all.Serve = configoptional.Some(serve)
	all.Retention = 2 * time.Hour
	all.MaxPointsPerSeries = 2000
	all.MaxSeries = 200
	all.MaxSpans = 50000
	all.MaxLogs = 100
	all.PlotlyJS = PlotlyJSDirectory
	all.Dashboards = []string{"unified", "live"}
	all.Title = "GPU box 7"
	all.TemperatureThreshold = 83
	hub := component.MustNewIDWithName("graphistry", "hub")
	all.Graphistry = &hub

	serveDefaults := createDefaultConfig()
	serveDefaults.Serve = configoptional.Some(defaultServeConfig())

	serveOnly := createDefaultConfig()
	serveOnly.Path = ""
	so := defaultServeConfig()
	so.NetAddr.Endpoint = "127.0.0.1:9050"
	serveOnly.Serve = configoptional.Some(so)

	tests := []struct {
		name     string
		expected *Config
		errs     []string
	}{
		{name: "defaults", expected: createDefaultConfig()},
		{name: "all", expected: all},
		{name: "serve_defaults", expected: serveDefaults},
		{name: "serve_only", expected: serveOnly},
		{name: "bad_values", errs: []string{
			"`path` is empty and `serve` is not set",
			"`retention` must be >= 1s",
			"`max_points_per_series` must be >= 10, got 3",
			"`max_series` must be >= 1",
			"`max_spans` must be >= 1",
			"`max_logs` must be >= 0",
			"`plotlyjs` must be one of inline, cdn, directory; got \"embedded\"",
			"`dashboards` names an unknown dashboard \"summary\"",
			"`dashboards` lists \"overview\" twice",
			"`temperature_threshold` must be > 0",
			"`graphistry` must name a graphistry exporter (graphistry or graphistry/<name>), got \"debug\"",
		}},
		{name: "directory_without_path", errs: []string{"`plotlyjs` directory needs `path`"}},
		{name: "bad_serve", errs: []string{"serve: `endpoint` must be set", "serve: `refresh` must be >= 100ms"}},
		{name: "no_dashboards", errs: []string{"`dashboards` must list at least one of overview, live, unified"}},
		{name: "unknown_key", errs: []string{"has invalid keys: paht"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if len(tt.errs) > 0 {
				require.Error(t, err)
				for _, want := range tt.errs {
					configtest.AssertErrorLine(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestDefaultConfigIsValidAndSafe(t *testing.T) {
	cfg := createDefaultConfig()
	require.NoError(t, confmap.Validate(cfg))
	assert.False(t, cfg.Serve.HasValue(), "the live server is off unless serve is set")
	// When serve is set without an endpoint, it binds to loopback only.
	assert.Equal(t, "127.0.0.1:8050", defaultServeConfig().NetAddr.Endpoint)
	assert.Equal(t, PlotlyJSInline, cfg.PlotlyJS, "pages work offline by default")
}
