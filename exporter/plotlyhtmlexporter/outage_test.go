// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadatatest"
)

// A full disk: the page stays as it was, one error is logged for the outage, every failed write
// is counted, and the first write that works again logs one info line.
func TestFullDiskLoggedOncePerOutage(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(ctx)) })
	set := metadatatest.NewSettings(tt)
	core, logs := observer.New(zapcore.DebugLevel)
	set.Logger = zap.New(core)
	cfg := testConfig(t)
	e := newExporter(cfg, set)
	full := false
	e.write = func(path string, data []byte) error {
		if full {
			return &os.PathError{Op: "write", Path: path + ".tmp", Err: syscall.ENOSPC}
		}
		return writeAtomic(path, data)
	}
	require.NoError(t, e.Start(ctx, componenttest.NewNopHost()))
	before, err := os.ReadFile(cfg.Path)
	require.NoError(t, err)

	full = true
	for range 5 {
		require.ErrorIs(t, e.writeFile(), syscall.ENOSPC)
	}
	after, err := os.ReadFile(cfg.Path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the previous page stays")
	errs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, errs, 1)
	assert.Equal(t, "writing the dashboard file to "+cfg.Path+" failed; will retry every 1h0m0s; further failures are not logged until writing works again", errs[0].Message)
	assert.Contains(t, errs[0].ContextMap()["error"], "no space left on device")
	metadatatest.AssertEqualPlotlyhtmlWriteFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 5}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	full = false
	require.NoError(t, e.writeFile())
	require.NoError(t, e.writeFile())
	infos := logs.FilterMessageSnippet("writing to " + cfg.Path + " again after 5 failures over").All()
	require.Len(t, infos, 1)
	assert.Equal(t, zapcore.InfoLevel, infos[0].Level)
	require.NoError(t, e.Shutdown(ctx))
	assert.Len(t, logs.FilterLevelExact(zapcore.ErrorLevel).All(), 1)
}

// A disk that is full when the collector starts does not stop it: Start logs the error and the
// loop keeps trying.
func TestFullDiskAtStartDoesNotFailStart(t *testing.T) {
	ctx := context.Background()
	core, logs := observer.New(zapcore.DebugLevel)
	set := metadatatest.NewSettings(componenttest.NewTelemetry())
	set.Logger = zap.New(core)
	e := newExporter(testConfig(t), set)
	e.write = func(string, []byte) error { return syscall.EROFS }
	require.NoError(t, e.Start(ctx, componenttest.NewNopHost()))
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.ErrorLevel).Len())
	require.Error(t, e.Shutdown(ctx), "the last write at shutdown fails too")
}

// writeAtomic leaves no temporary file behind when the rename fails, and the target as it was.
func TestWriteAtomicRemovesTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dashboard.html")
	require.NoError(t, os.MkdirAll(filepath.Join(path, "x"), 0o755)) // a non-empty directory: rename fails
	require.Error(t, writeAtomic(path, []byte("page")))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the directory itself")
	assert.Equal(t, "dashboard.html", entries[0].Name())
}
