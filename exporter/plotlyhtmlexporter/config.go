// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter"

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"
)

// Dashboard names, in the order a page shows them.
const (
	DashboardOverview = "overview"
	DashboardLive     = "live"
	DashboardUnified  = "unified"
)

// allDashboards lists every dashboard this exporter can draw.
var allDashboards = []string{DashboardOverview, DashboardLive, DashboardUnified}

// How plotly.js reaches a page; the names follow plotly.py's include_plotlyjs.
const (
	PlotlyJSInline    = "inline"
	PlotlyJSCDN       = "cdn"
	PlotlyJSDirectory = "directory"
)

// Config is the plotlyhtml exporter's configuration. The defaults are in createDefaultConfig.
type Config struct {
	// Path is the static HTML snapshot, rewritten every Interval and at shutdown by an atomic
	// rename. Empty disables the file (then serve must be set). Default ./out/dashboard.html.
	Path string `mapstructure:"path"`
	// Interval is how often the file is rewritten (> 0). Default 10s.
	Interval time.Duration `mapstructure:"interval"`
	// Serve, when present, serves the dashboards as live pages that refresh themselves.
	// Default: absent.
	Serve configoptional.Optional[ServeConfig] `mapstructure:"serve"`
	// Retention is the sliding window of telemetry kept in memory and drawn (>= 1s). Default 1h.
	Retention time.Duration `mapstructure:"retention"`
	// MaxPointsPerSeries bounds every drawn series (and the trace graph's node count); longer
	// series are downsampled with LTTB. Memory holds at most twice this many points per series.
	// At least 10. Default 5000.
	MaxPointsPerSeries int `mapstructure:"max_points_per_series"`
	// MaxSeries bounds the number of distinct metric series kept (name plus attributes).
	// Default 1000.
	MaxSeries int `mapstructure:"max_series"`
	// MaxSpans bounds the spans kept in memory (the newest are kept). Default 100000.
	MaxSpans int `mapstructure:"max_spans"`
	// MaxLogs bounds the log records kept in memory for the logs table (the newest are kept).
	// Default 500.
	MaxLogs int `mapstructure:"max_logs"`
	// PlotlyJS says how pages load plotly.js: inline (embedded in the file, works offline),
	// cdn (a script tag with an integrity hash) or directory (plotly.min.js written beside the file).
	// Default inline.
	PlotlyJS string `mapstructure:"plotlyjs"`
	// PlotlyJSFile is a plotly.min.js to use instead of the embedded one. Default: none.
	PlotlyJSFile string `mapstructure:"plotlyjs_file"`
	// Dashboards lists the dashboards to draw, in order, each once: overview, live, unified.
	// Default all three.
	Dashboards []string `mapstructure:"dashboards"`
	// Title is the page title. Default otelcol-llt.
	Title string `mapstructure:"title"`
	// TemperatureThreshold is the GPU temperature (Celsius) marked on the temperature gauge.
	// Default 85.
	TemperatureThreshold float64 `mapstructure:"temperature_threshold"`
	// Graphistry is the ID of a graphistry exporter of the same collector (graphistry or
	// graphistry/<name>) whose newest uploaded trace graph the page header links. It must be in
	// a pipeline: Start fails otherwise. Default: none, no link.
	Graphistry *component.ID `mapstructure:"graphistry"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ServeConfig configures the live pages.
type ServeConfig struct {
	// ServerConfig is where the pages listen: `endpoint` (default 127.0.0.1:8050), `tls`,
	// `cors`, `auth`, ... (confighttp).
	confighttp.ServerConfig `mapstructure:",squash"`
	// Refresh is how often a served page fetches new data (>= 100ms). Default 2s.
	Refresh time.Duration `mapstructure:"refresh"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func defaultServeConfig() ServeConfig {
	sc := confighttp.NewDefaultServerConfig()
	sc.NetAddr.Endpoint = "127.0.0.1:8050"
	return ServeConfig{ServerConfig: sc, Refresh: 2 * time.Second}
}

func createDefaultConfig() *Config {
	return &Config{
		Path:                 filepath.Join(".", "out", "dashboard.html"),
		Interval:             10 * time.Second,
		Serve:                configoptional.Default(defaultServeConfig()),
		Retention:            time.Hour,
		MaxPointsPerSeries:   5000,
		MaxSeries:            1000,
		MaxSpans:             100_000,
		MaxLogs:              500,
		PlotlyJS:             PlotlyJSInline,
		Dashboards:           slices.Clone(allDashboards),
		Title:                "otelcol-llt",
		TemperatureThreshold: 85,
	}
}

var (
	errNothingToDo       = errors.New("`path` is empty and `serve` is not set: nothing to write or serve")
	errDirectoryNeedPath = errors.New("`plotlyjs` directory needs `path` (plotly.min.js is written beside it)")
	errNoDashboards      = fmt.Errorf("`dashboards` must list at least one of %s", strings.Join(allDashboards, ", "))
	errNoServeEndpoint   = errors.New("`endpoint` must be set (host:port), or remove `serve`")
)

// Validate checks the configuration. The serve section checks its own keys
// (ServeConfig.Validate), and confmap.Validate puts `serve` in front of its messages.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Path == "" && !cfg.Serve.HasValue() {
		errs = append(errs, errNothingToDo)
	}
	if cfg.Path != "" && cfg.Interval <= 0 {
		errs = append(errs, fmt.Errorf("`interval` must be > 0, got %v", cfg.Interval))
	}
	if cfg.Retention < time.Second {
		errs = append(errs, fmt.Errorf("`retention` must be >= 1s, got %v", cfg.Retention))
	}
	if cfg.MaxPointsPerSeries < 10 {
		errs = append(errs, fmt.Errorf("`max_points_per_series` must be >= 10, got %d", cfg.MaxPointsPerSeries))
	}
	if cfg.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("`max_series` must be >= 1, got %d", cfg.MaxSeries))
	}
	if cfg.MaxSpans < 1 {
		errs = append(errs, fmt.Errorf("`max_spans` must be >= 1, got %d", cfg.MaxSpans))
	}
	if cfg.MaxLogs < 0 {
		errs = append(errs, fmt.Errorf("`max_logs` must be >= 0, got %d", cfg.MaxLogs))
	}
	switch cfg.PlotlyJS {
	case PlotlyJSInline, PlotlyJSCDN:
	case PlotlyJSDirectory:
		if cfg.Path == "" {
			errs = append(errs, errDirectoryNeedPath)
		}
	default:
		errs = append(errs, fmt.Errorf("`plotlyjs` must be one of inline, cdn, directory; got %q", cfg.PlotlyJS))
	}
	if len(cfg.Dashboards) == 0 {
		errs = append(errs, errNoDashboards)
	}
	seen := map[string]bool{}
	for _, d := range cfg.Dashboards {
		if !slices.Contains(allDashboards, d) {
			errs = append(errs, fmt.Errorf("`dashboards` names an unknown dashboard %q (known: %s)", d, strings.Join(allDashboards, ", ")))
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("`dashboards` lists %q twice", d))
		}
		seen[d] = true
	}
	if cfg.TemperatureThreshold <= 0 {
		errs = append(errs, fmt.Errorf("`temperature_threshold` must be > 0, got %v", cfg.TemperatureThreshold))
	}
	if cfg.Graphistry != nil && cfg.Graphistry.Type() != graphistryexporter.NewFactory().Type() {
		errs = append(errs, fmt.Errorf("`graphistry` must name a graphistry exporter (graphistry or graphistry/<name>), got %q", cfg.Graphistry))
	}
	return errors.Join(errs...)
}

// Validate checks the live pages' settings (when `serve` is set).
func (s *ServeConfig) Validate() error {
	var errs []error
	if s.NetAddr.Endpoint == "" {
		errs = append(errs, errNoServeEndpoint)
	}
	if s.Refresh < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("`refresh` must be >= 100ms, got %v", s.Refresh))
	}
	return errors.Join(errs...)
}
