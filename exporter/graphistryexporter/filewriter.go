// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/graph"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/internal/diskoutage"
)

// fileWriter writes each window's node and edge tables to file::path. A window whose files
// cannot be written (a full or read-only disk, a permission error) is kept in memory, at most
// file::max_pending of them (the oldest is dropped, and counted, beyond that), and written again,
// oldest first, with the next window and every `window` until the disk takes them. The first
// failure of an outage is logged at error level, the rest are counted
// (otelcol_graphistry_file_write_failures), and the first write that works again is logged at
// info level. A disk problem never fails the pipeline's call: the upload (if any) goes on, and the
// exporterhelper queue and retry see no error to spin on.
type fileWriter struct {
	dir        string
	format     graph.Format
	maxPending int
	logger     *zap.Logger
	tb         *metadata.TelemetryBuilder
	// write writes one window's files (graph.Graph.WriteFiles; a failing filesystem in tests).
	write func(g *graph.Graph, nodesPath, edgesPath string, f graph.Format) error

	mu      sync.Mutex // guards everything below, and serializes writes
	pending []pendingWindow
	outage  diskoutage.Tracker
	dropped int // windows dropped during the current outage
	stop    chan struct{}
	done    sync.WaitGroup
	retry   time.Duration
}

// pendingWindow is a window whose files are not written yet; it owns g.
type pendingWindow struct {
	g     *graph.Graph
	base  string // path without the .nodes/.edges extension
	spans int
}

func newFileWriter(cfg *Config, logger *zap.Logger, tb *metadata.TelemetryBuilder) *fileWriter {
	return &fileWriter{
		dir: cfg.File.Path, format: graph.Format(cfg.File.Format), maxPending: cfg.File.MaxPending,
		logger: logger, tb: tb, retry: cfg.Window,
		write: func(g *graph.Graph, nodesPath, edgesPath string, f graph.Format) error {
			return g.WriteFiles(nodesPath, edgesPath, f)
		},
		outage: diskoutage.Tracker{Logger: logger, What: "trace graph files", Path: cfg.File.Path, Retry: cfg.Window, Now: time.Now},
		stop:   make(chan struct{}),
	}
}

// start begins retrying pending windows every `window`.
func (w *fileWriter) start() {
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(w.retry)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.mu.Lock()
				if len(w.pending) > 0 {
					w.flushLocked(context.Background())
				}
				w.mu.Unlock()
			}
		}
	}()
}

// shutdown stops the retries, tries the pending windows once more, and drops (and counts) those
// the disk still refuses.
func (w *fileWriter) shutdown(ctx context.Context) {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return
	}
	w.flushLocked(ctx)
	if n := len(w.pending); n > 0 {
		spans := 0
		for _, p := range w.pending {
			spans += p.spans
			p.g.Release()
		}
		w.pending = nil
		w.tb.GraphistryFileWindowsDropped.Add(ctx, int64(n))
		w.logger.Warn(fmt.Sprintf("shutting down with %d trace graph windows (%d spans) not written to %s: dropped", n, spans, w.dir),
			zap.String("path", w.dir), zap.Int("windows", n), zap.Int("spans", spans))
	}
}

// add takes g (and its release) and writes it, after any windows still pending.
func (w *fileWriter) add(ctx context.Context, g *graph.Graph, name string, spans int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	base := filepath.Join(w.dir, name)
	for _, p := range w.pending {
		if p.base == base { // the same spans again (an upload's retry): already waiting
			g.Release()
			w.flushLocked(ctx)
			return
		}
	}
	w.pending = append(w.pending, pendingWindow{g: g, base: base, spans: spans})
	w.flushLocked(ctx)
}

// flushLocked writes the pending windows oldest first and stops at the first failure; then,
// beyond max_pending, it drops the oldest.
func (w *fileWriter) flushLocked(ctx context.Context) {
	for len(w.pending) > 0 {
		p := w.pending[0]
		ext := w.format.Ext()
		if err := w.write(p.g, p.base+".nodes"+ext, p.base+".edges"+ext, w.format); err != nil {
			w.tb.GraphistryFileWriteFailures.Add(ctx, 1)
			w.outage.Failed(fmt.Errorf("%d spans in %s: %w", p.spans, filepath.Base(p.base), err))
			break
		}
		p.g.Release()
		w.pending[0] = pendingWindow{}
		w.pending = w.pending[1:]
		if w.outage.Failures() > 0 {
			extra := ""
			if w.dropped > 0 {
				extra = fmt.Sprintf("%d windows were dropped (file::max_pending %d)", w.dropped, w.maxPending)
			}
			w.outage.Succeeded(extra, zap.Int("windows_dropped", w.dropped), zap.Int("windows_pending", len(w.pending)))
			w.dropped = 0
		}
	}
	for len(w.pending) > w.maxPending {
		w.pending[0].g.Release()
		w.pending[0] = pendingWindow{}
		w.pending = w.pending[1:]
		w.dropped++
		w.tb.GraphistryFileWindowsDropped.Add(ctx, 1)
	}
}
