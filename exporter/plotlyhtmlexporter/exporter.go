// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/plotlyjs"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/internal/diskoutage"
)

// plotlyExporter is one plotlyhtml exporter, shared by the pipelines of every signal that name it.
type plotlyExporter struct {
	cfg    *Config
	set    exporter.Settings
	logger *zap.Logger
	store  *store.Store
	tb     *metadata.TelemetryBuilder // set in Start

	// lastHist holds the previous (count, sum) of each cumulative request-duration stream.
	histMu   sync.Mutex
	lastHist map[string][2]float64

	// bundle is plotly.js (nil for cdn pages).
	bundle []byte
	loader dashboard.Loader

	started bool       // Start succeeded, so the file is written once more at shutdown
	writeMu sync.Mutex // one file write at a time; guards outage
	// write puts data at path (writeAtomic; a failing filesystem in tests).
	write func(path string, data []byte) error
	// outage follows the file's writes through a full or read-only disk: one error when writes
	// start failing, one info line when they work again.
	outage diskoutage.Tracker
	server *http.Server
	stop   chan struct{}
	done   sync.WaitGroup

	// links returns header links (the newest dataset of the `graphistry` exporter); nil: none.
	links func() []dashboard.Link
}

func newExporter(cfg *Config, set exporter.Settings) *plotlyExporter {
	return &plotlyExporter{
		cfg:    cfg,
		set:    set,
		logger: set.Logger,
		store: store.New(store.Limits{
			Retention: cfg.Retention, MaxPoints: cfg.MaxPointsPerSeries, MaxSeries: cfg.MaxSeries,
			MaxSpans: cfg.MaxSpans, MaxLogs: cfg.MaxLogs,
		}),
		lastHist: map[string][2]float64{},
		stop:     make(chan struct{}),
		write:    writeAtomic,
		outage: diskoutage.Tracker{Logger: set.Logger, What: "the dashboard file", Path: cfg.Path, Retry: cfg.Interval,
			Now: time.Now},
	}
}

// graphistryLinks links the newest trace graph that ds uploaded, once there is one.
func graphistryLinks(ds graphistryexporter.Datasets) func() []dashboard.Link {
	return func() []dashboard.Link {
		d, ok := ds.Newest()
		if !ok {
			return nil
		}
		return []dashboard.Link{{Text: "trace graph on Graphistry", URL: d.URL}}
	}
}

func (e *plotlyExporter) Start(ctx context.Context, host component.Host) error {
	if e.cfg.Graphistry != nil {
		// Every exporter of the pipelines exists by now (the collector creates them all before
		// it starts any), so a missing one is a configuration mistake.
		ds, err := graphistryexporter.Find(*e.cfg.Graphistry)
		if err != nil {
			return fmt.Errorf("`graphistry`: %w", err)
		}
		e.links = graphistryLinks(ds)
	}
	if err := e.startTelemetry(); err != nil {
		return err
	}
	if err := e.prepareLoader(); err != nil {
		return err
	}
	if e.cfg.Path != "" {
		if err := os.MkdirAll(filepath.Dir(e.cfg.Path), 0o755); err != nil {
			return fmt.Errorf("path: creating the directory of %s: %w", e.cfg.Path, err)
		}
		// Write once now so that the file exists (with empty panels) from the start. A disk
		// that is full or read-only does not stop the collector: the error is logged, and the
		// loop tries again every interval.
		_ = e.writeFile()
		e.done.Add(1)
		go e.writeLoop()
	}
	if e.cfg.Serve.HasValue() {
		if err := e.startServer(ctx, host); err != nil {
			close(e.stop)
			e.done.Wait()
			return err
		}
	}
	e.started = true
	return nil
}

// prepareLoader settles how pages get plotly.js.
func (e *plotlyExporter) prepareLoader() error {
	needBundle := e.cfg.PlotlyJS != PlotlyJSCDN || e.cfg.Serve.HasValue()
	if needBundle {
		b, err := plotlyjs.Load(e.cfg.PlotlyJSFile)
		switch {
		case err == nil:
			e.bundle = b
		case e.cfg.PlotlyJS == PlotlyJSCDN:
			// A served page can load the bundle from the CDN as well.
			e.logger.Debug("plotly.js not available locally; served pages use the CDN", zap.Error(err))
		default:
			return fmt.Errorf("plotlyjs: %w", err)
		}
	}
	switch e.cfg.PlotlyJS {
	case PlotlyJSInline:
		e.loader = dashboard.Loader{Inline: e.bundle}
	case PlotlyJSCDN:
		e.loader = dashboard.Loader{Src: plotlyjs.CDNURL, Integrity: plotlyjs.SRI}
		if e.cfg.PlotlyJSFile != "" && e.bundle != nil {
			// A custom bundle has its own hash; the CDN URL would not match it.
			e.logger.Warn("plotlyjs_file is ignored for plotlyjs: cdn pages")
		}
	case PlotlyJSDirectory:
		e.loader = dashboard.Loader{Src: plotlyjs.FileName}
		dst := filepath.Join(filepath.Dir(e.cfg.Path), plotlyjs.FileName)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("plotlyjs: directory: %w", err)
		}
		if old, err := os.ReadFile(dst); err != nil || !bytes.Equal(old, e.bundle) {
			if err := writeAtomic(dst, e.bundle); err != nil {
				return fmt.Errorf("plotlyjs: directory: writing %s: %w", dst, err)
			}
		}
	}
	return nil
}

func (e *plotlyExporter) writeLoop() {
	defer e.done.Done()
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			_ = e.writeFile() // logged and counted there
		}
	}
}

func (e *plotlyExporter) options() dashboard.Options {
	return dashboard.Options{Title: e.cfg.Title, MaxPoints: e.cfg.MaxPointsPerSeries, TemperatureThreshold: e.cfg.TemperatureThreshold}
}

// page draws the dashboards from the current data.
func (e *plotlyExporter) page(dashboards []string) *dashboard.Page {
	p := dashboard.Build(e.store.Snapshot(), e.options(), dashboards)
	if e.links != nil {
		p.Links = e.links()
	}
	return p
}

// writeFile renders every configured dashboard into the file, by an atomic rename. A failed
// write leaves the previous file as it was; it is counted (otelcol_plotlyhtml_write_failures),
// and the first of an outage is logged (diskoutage.Tracker), as is the first write that works again.
func (e *plotlyExporter) writeFile() error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	var buf bytes.Buffer
	if err := dashboard.WriteHTML(&buf, e.page(e.cfg.Dashboards), e.loader); err != nil {
		return err
	}
	if err := e.write(e.cfg.Path, buf.Bytes()); err != nil {
		if e.tb != nil {
			e.tb.PlotlyhtmlWriteFailures.Add(context.Background(), 1)
		}
		e.outage.Failed(err)
		return fmt.Errorf("path: writing %s: %w", e.cfg.Path, err)
	}
	e.outage.Succeeded("")
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it over path, so a reader
// never sees a half-written page, and a write that fails (a full disk) leaves the previous page
// in place; the temporary file is removed.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

func (e *plotlyExporter) startServer(ctx context.Context, host component.Host) error {
	sc := e.cfg.Serve.Get()
	ln, err := sc.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("serve::endpoint: listening on %s: %w", sc.NetAddr.Endpoint, err)
	}
	srv, err := sc.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, e.handler(sc.Refresh))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	e.server = srv
	e.logger.Info("serving live dashboards", zap.String("url", "http://"+ln.Addr().String()+"/"))
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			e.logger.Error("live dashboard server stopped", zap.Error(err))
		}
	}()
	return nil
}

func (e *plotlyExporter) Shutdown(ctx context.Context) error {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	var errs []error
	if e.server != nil {
		errs = append(errs, e.server.Shutdown(ctx))
	}
	e.done.Wait()
	if e.cfg.Path != "" && e.started {
		// The final state, so the file shows everything that arrived.
		errs = append(errs, e.writeFile())
	}
	if e.tb != nil {
		e.tb.Shutdown()
	}
	return errors.Join(errs...)
}

func (e *plotlyExporter) consumeMetrics(_ context.Context, md pmetric.Metrics) error {
	e.ingestMetrics(md)
	return nil
}

func (e *plotlyExporter) consumeTraces(_ context.Context, td ptrace.Traces) error {
	e.ingestTraces(td)
	return nil
}

func (e *plotlyExporter) consumeLogs(_ context.Context, ld plog.Logs) error {
	e.ingestLogs(ld)
	return nil
}
