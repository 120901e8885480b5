package plotlyhtmlexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter"

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
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

// Config is the plotlyhtml exporter's configuration.
type Config struct {
	// Path is the static HTML snapshot, rewritten every Interval and at shutdown by an atomic
	// rename. Empty disables the file (then serve must be set).
	Path string `mapstructure:"path"`
	// Interval is how often the file is rewritten.
	Interval time.Duration `mapstructure:"interval"`
	// Serve, when present, serves the dashboards as live pages that refresh themselves.
	Serve configoptional.Optional[ServeConfig] `mapstructure:"serve"`
	// Retention is the sliding window of telemetry kept in memory and drawn.
	Retention time.Duration `mapstructure:"retention"`
	// MaxPointsPerSeries bounds every drawn series (and the trace graph's node count); longer
	// series are downsampled with LTTB. Memory holds at most twice this many points per series.
	MaxPointsPerSeries int `mapstructure:"max_points_per_series"`
	// MaxSeries bounds the number of distinct metric series kept (name plus attributes).
	MaxSeries int `mapstructure:"max_series"`
	// MaxSpans bounds the spans kept in memory (the newest are kept).
	MaxSpans int `mapstructure:"max_spans"`
	// MaxLogs bounds the log records kept in memory for the logs table (the newest are kept).
	MaxLogs int `mapstructure:"max_logs"`
	// PlotlyJS says how pages load plotly.js: inline (embedded in the file, works offline),
	// cdn (a script tag with an integrity hash) or directory (plotly.min.js written beside the file).
	PlotlyJS string `mapstructure:"plotlyjs"`
	// PlotlyJSFile is a plotly.min.js to use instead of the embedded one.
	PlotlyJSFile string `mapstructure:"plotlyjs_file"`
	// Dashboards lists the dashboards to draw, in order: overview, live, unified.
	Dashboards []string `mapstructure:"dashboards"`
	// Title is the page title.
	Title string `mapstructure:"title"`
	// TemperatureThreshold is the GPU temperature (Celsius) marked on the temperature gauge.
	TemperatureThreshold float64 `mapstructure:"temperature_threshold"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ServeConfig configures the live pages.
type ServeConfig struct {
	confighttp.ServerConfig `mapstructure:",squash"`
	// Refresh is how often a served page fetches new data.
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

// Validate checks the configuration; every message names the key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Path == "" && !cfg.Serve.HasValue() {
		errs = append(errs, errors.New("path: empty and serve not set: nothing to write or serve"))
	}
	if cfg.Path != "" && cfg.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval: must be > 0, got %v", cfg.Interval))
	}
	if cfg.Retention < time.Second {
		errs = append(errs, fmt.Errorf("retention: must be >= 1s, got %v", cfg.Retention))
	}
	if cfg.MaxPointsPerSeries < 10 {
		errs = append(errs, fmt.Errorf("max_points_per_series: must be >= 10, got %d", cfg.MaxPointsPerSeries))
	}
	if cfg.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("max_series: must be >= 1, got %d", cfg.MaxSeries))
	}
	if cfg.MaxSpans < 1 {
		errs = append(errs, fmt.Errorf("max_spans: must be >= 1, got %d", cfg.MaxSpans))
	}
	if cfg.MaxLogs < 0 {
		errs = append(errs, fmt.Errorf("max_logs: must be >= 0, got %d", cfg.MaxLogs))
	}
	switch cfg.PlotlyJS {
	case PlotlyJSInline, PlotlyJSCDN:
	case PlotlyJSDirectory:
		if cfg.Path == "" {
			errs = append(errs, errors.New("plotlyjs: directory needs path (plotly.min.js is written beside it)"))
		}
	default:
		errs = append(errs, fmt.Errorf("plotlyjs: must be one of inline, cdn, directory; got %q", cfg.PlotlyJS))
	}
	if len(cfg.Dashboards) == 0 {
		errs = append(errs, fmt.Errorf("dashboards: must list at least one of %s", strings.Join(allDashboards, ", ")))
	}
	seen := map[string]bool{}
	for i, d := range cfg.Dashboards {
		if !slices.Contains(allDashboards, d) {
			errs = append(errs, fmt.Errorf("dashboards[%d]: unknown dashboard %q (known: %s)", i, d, strings.Join(allDashboards, ", ")))
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("dashboards[%d]: %q listed twice", i, d))
		}
		seen[d] = true
	}
	if cfg.Serve.HasValue() {
		s := cfg.Serve.Get()
		if s.NetAddr.Endpoint == "" {
			errs = append(errs, errors.New("serve::endpoint: must be set (host:port), or remove serve"))
		}
		if s.Refresh < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("serve::refresh: must be >= 100ms, got %v", s.Refresh))
		}
	}
	if cfg.TemperatureThreshold <= 0 {
		errs = append(errs, fmt.Errorf("temperature_threshold: must be > 0, got %v", cfg.TemperatureThreshold))
	}
	return errors.Join(errs...)
}
