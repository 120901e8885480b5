// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/client"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/graph"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadata"
)

type graphistryExporter struct {
	cfg    *Config
	set    exporter.Settings
	logger *zap.Logger
	http   *http.Client // built in Start from the confighttp settings
	client *client.Client
	mem    memory.Allocator
	tb     *metadata.TelemetryBuilder
	files  *fileWriter // nil without file::path

	// newest is the dataset uploaded last (Datasets.Newest); nil before the first.
	newest atomic.Pointer[Dataset]
}

func newExporter(cfg *Config, set exporter.Settings) (*graphistryExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &graphistryExporter{cfg: cfg, set: set, logger: set.Logger, mem: memory.NewGoAllocator(), tb: tb}
	if cfg.File.Path != "" {
		e.files = newFileWriter(cfg, set.Logger, tb)
	}
	return e, nil
}

// Start makes the file directory and builds the HTTP client.
func (e *graphistryExporter) Start(ctx context.Context, host component.Host) error {
	if e.files != nil {
		if err := os.MkdirAll(e.cfg.File.Path, 0o755); err != nil {
			return fmt.Errorf("file::path: %w", err)
		}
		e.files.start()
	}
	if e.cfg.Endpoint == "" {
		return nil
	}
	// The client is built here, not in the factory: extensions (middlewares) exist once the
	// host is up.
	hc, err := e.cfg.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("building the HTTP client for `endpoint`: %w", err)
	}
	a := e.cfg.Auth
	c, err := client.New(client.Config{
		Endpoint: e.cfg.Endpoint,
		Username: a.Username, Password: string(a.Password),
		PersonalKeyID: a.PersonalKeyID, PersonalKeySecret: string(a.PersonalKeySecret),
		OrgName:    a.OrgName,
		HTTPClient: hc,
		Logger:     e.logger,
	})
	if err != nil {
		return err
	}
	e.http, e.client = hc, c
	return nil
}

// Shutdown writes the windows still pending (if the disk takes them now) and closes idle
// connections. It is safe without Start.
func (e *graphistryExporter) Shutdown(ctx context.Context) error {
	if e.files != nil {
		e.files.shutdown(ctx)
	}
	if e.http != nil {
		e.http.CloseIdleConnections()
	}
	e.tb.Shutdown()
	return nil
}

// pushTraces turns one window of spans into a dataset: files (named after the spans, so a
// retry rewrites the same files) and the upload. A window whose files the disk refuses is kept
// and written later by the fileWriter; it fails neither the call nor the upload.
func (e *graphistryExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if td.SpanCount() == 0 {
		return nil
	}
	g, err := graph.Build(td, e.mem)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("building the trace graph: %w", err))
	}
	name := datasetName(td)
	// The upload's tables are encoded first: the fileWriter owns g from add on (it may keep it
	// for a later retry and release it from another goroutine).
	var nodes, edges bytes.Buffer
	if e.client != nil {
		if err := errors.Join(g.EncodeIPC(&nodes, graph.TableNodes), g.EncodeIPC(&edges, graph.TableEdges)); err != nil {
			g.Release()
			return consumererror.NewPermanent(fmt.Errorf("encoding the trace graph: %w", err))
		}
	}
	if e.files != nil {
		e.files.add(ctx, g, fileBase(td), td.SpanCount())
	} else {
		g.Release()
	}
	if e.client == nil {
		return nil
	}
	nodeEnc, edgeEnc := graph.Encodings()
	res, err := e.client.Upload(ctx, client.Dataset{
		Name: name, Description: fmt.Sprintf("%d spans from otelcol-llt", td.SpanCount()),
		NodeEncodings: nodeEnc, EdgeEncodings: edgeEnc,
		Metadata: map[string]any{"spans": td.SpanCount()},
		Nodes:    nodes.Bytes(), Edges: edges.Bytes(), Share: e.cfg.Share,
	})
	if err != nil {
		permanent := consumererror.IsPermanent(err)
		e.tb.GraphistryUploadsFailed.Add(ctx, 1, metric.WithAttributes(attribute.Bool("permanent", permanent)))
		e.logger.Warn("graphistry upload failed", zap.Int("spans", td.SpanCount()),
			zap.Bool("permanent", permanent), zap.Error(err))
		return err
	}
	e.logger.Info("trace graph uploaded", zap.String("url", res.URL), zap.String("dataset_id", res.DatasetID),
		zap.Int("spans", td.SpanCount()))
	e.newest.Store(&Dataset{Name: name, URL: res.URL, Time: time.Now()})
	return nil
}

// datasetName names a dataset after the time range of its spans.
func datasetName(td ptrace.Traces) string {
	lo, hi := spanRange(td)
	return fmt.Sprintf("otelcol-llt traces %s to %s UTC (%d spans)",
		lo.UTC().Format("2006-01-02 15:04:05"), hi.UTC().Format("15:04:05"), td.SpanCount())
}

// fileBase is a file name that depends only on the spans, so a retried window overwrites its
// own files instead of adding a copy.
func fileBase(td ptrace.Traces) string {
	lo, _ := spanRange(td)
	h := fnv.New64a()
	var ids [][24]byte
	forEachSpan(td, func(s ptrace.Span) {
		var k [24]byte
		tid, sid := s.TraceID(), s.SpanID()
		copy(k[:16], tid[:])
		copy(k[16:], sid[:])
		ids = append(ids, k)
	})
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	for _, k := range ids {
		_, _ = h.Write(k[:])
	}
	return fmt.Sprintf("traces-%s-%016x", lo.UTC().Format("20060102T150405Z"), h.Sum64())
}

func spanRange(td ptrace.Traces) (lo, hi time.Time) {
	forEachSpan(td, func(s ptrace.Span) {
		st, en := s.StartTimestamp().AsTime(), s.EndTimestamp().AsTime()
		if lo.IsZero() || st.Before(lo) {
			lo = st
		}
		if en.After(hi) {
			hi = en
		}
	})
	return lo, hi
}

func forEachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				fn(spans.At(k))
			}
		}
	}
}
