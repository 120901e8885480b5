// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/graph"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadatatest"
)

// fullDisk starts a file-mode exporter whose writes fail with ENOSPC while *full is true.
func fullDisk(t *testing.T, maxPending int) (*graphistryExporter, *atomic.Bool, *observer.ObservedLogs, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	cfg := createDefaultConfig()
	cfg.File.Path = t.TempDir()
	cfg.File.MaxPending = maxPending
	cfg.Window = time.Hour // retries come with the next window in these tests
	set := metadatatest.NewSettings(tt)
	core, logs := observer.New(zapcore.DebugLevel)
	set.Logger = zap.New(core)
	e, err := newExporter(cfg, set)
	require.NoError(t, err)
	full := &atomic.Bool{}
	real := e.files.write
	e.files.write = func(g *graph.Graph, nodes, edges string, f graph.Format) error {
		if full.Load() {
			return &os.PathError{Op: "write", Path: nodes + ".tmp", Err: syscall.ENOSPC}
		}
		return real(g, nodes, edges, f)
	}
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	return e, full, logs, tt
}

func graphFiles(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "traces-*"))
	require.NoError(t, err)
	return files
}

// A full disk: every window still returns nil to the pipeline; one error is logged for the
// outage, every failed attempt is counted, at most max_pending windows are kept (the oldest
// dropped and counted), and when the disk takes files again the kept windows are written, oldest
// first, with one info line.
func TestFileModeFullDisk(t *testing.T) {
	ctx := context.Background()
	e, full, logs, tt := fullDisk(t, 2)
	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}

	require.NoError(t, e.pushTraces(ctx, traces(1, 2)))
	require.Len(t, graphFiles(t, e.cfg.File.Path), 2)

	full.Store(true)
	for seq := 2; seq <= 5; seq++ {
		require.NoError(t, e.pushTraces(ctx, traces(seq, 2)), "a disk problem must not fail the pipeline")
	}
	require.NoError(t, e.pushTraces(ctx, traces(5, 2)), "the same window again is not kept twice")
	errs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, errs, 1, "one error per outage")
	assert.Contains(t, errs[0].Message, "writing trace graph files to "+e.cfg.File.Path+" failed; will retry every 1h0m0s; further failures are not logged until writing works again")
	assert.Contains(t, errs[0].ContextMap()["error"], "no space left on device")
	assert.Len(t, e.files.pending, 2)
	metadatatest.AssertEqualGraphistryFileWriteFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 5}}, opts...)
	metadatatest.AssertEqualGraphistryFileWindowsDropped(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	require.Len(t, graphFiles(t, e.cfg.File.Path), 2, "nothing written meanwhile")

	full.Store(false)
	require.NoError(t, e.pushTraces(ctx, traces(6, 2)))
	assert.Len(t, graphFiles(t, e.cfg.File.Path), 2+3*2, "windows 4, 5 (kept) and 6")
	assert.Empty(t, e.files.pending)
	infos := logs.FilterMessageSnippet("writing to " + e.cfg.File.Path + " again after 5 failures over").All()
	require.Len(t, infos, 1)
	assert.Equal(t, zapcore.InfoLevel, infos[0].Level)
	assert.Contains(t, infos[0].Message, "2 windows were dropped (file::max_pending 2)")
	require.Len(t, logs.FilterLevelExact(zapcore.ErrorLevel).All(), 1)

	// A second outage is logged again.
	full.Store(true)
	require.NoError(t, e.pushTraces(ctx, traces(7, 2)))
	require.Len(t, logs.FilterLevelExact(zapcore.ErrorLevel).All(), 2)
	require.NoError(t, e.Shutdown(ctx))
	metadatatest.AssertEqualGraphistryFileWindowsDropped(t, tt, []metricdata.DataPoint[int64]{{Value: 3}}, opts...)
	assert.Equal(t, 1, logs.FilterMessageSnippet("shutting down with 1 trace graph windows (4 spans) not written to").Len())
}

// The retry loop writes kept windows every `window` without new spans.
func TestFileModeRetriesEveryWindow(t *testing.T) {
	ctx := context.Background()
	e, full, logs, _ := fullDisk(t, 10)
	require.NoError(t, e.Shutdown(ctx)) // the fixture's hour-long loop
	e.files = newFileWriter(&Config{Window: 20 * time.Millisecond, File: FileConfig{Path: e.cfg.File.Path, Format: FormatArrow, MaxPending: 10}},
		e.files.logger, e.tb)
	real := e.files.write
	e.files.write = func(g *graph.Graph, nodes, edges string, f graph.Format) error {
		if full.Load() {
			return syscall.EROFS
		}
		return real(g, nodes, edges, f)
	}
	e.files.start()
	t.Cleanup(func() { e.files.shutdown(ctx) })
	full.Store(true)
	require.NoError(t, e.pushTraces(ctx, traces(1, 2)))
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, graphFiles(t, e.cfg.File.Path))
	full.Store(false)
	require.Eventually(t, func() bool { return len(graphFiles(t, e.cfg.File.Path)) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1, logs.FilterMessageSnippet("again after").Len())
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.ErrorLevel).Len())
}
