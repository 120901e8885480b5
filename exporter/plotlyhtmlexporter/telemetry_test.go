// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadatatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// gpuUtilization is one hw.gpu.utilization point for each GPU id, at t.
func gpuUtilization(t time.Time, ids ...string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, id := range ids {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(conventions.AttrHWID, id)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(conventions.MetricHWGPUUtilization)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t))
		dp.SetDoubleValue(0.5)
	}
	return md
}

// What the bounds refuse or push out is counted: a third GPU's series beyond max_series, a point
// older than the retention, the first 4096-record chunk of spans once max_spans newer ones are
// held, and the log record that max_logs pushes out.
func TestDropsAndEvictionsCounted(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(ctx)) })
	cfg := testConfig(t)
	cfg.MaxSeries = 2
	cfg.MaxSpans = 10
	cfg.MaxLogs = 2
	e := newExporter(cfg, metadatatest.NewSettings(tt))
	require.NoError(t, e.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.Shutdown(ctx)) })

	now := time.Now()
	require.NoError(t, e.consumeMetrics(ctx, gpuUtilization(now, "GPU-0", "GPU-1", "GPU-2")))
	require.NoError(t, e.consumeMetrics(ctx, gpuUtilization(now.Add(-2*time.Hour), "GPU-0")))

	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 4096 + 10 {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{1})
		s.SetSpanID(pcommon.SpanID{byte(i >> 8), byte(i)})
		s.SetName(fmt.Sprint(i))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	}
	require.NoError(t, e.consumeTraces(ctx, td))

	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 3 {
		lrs.AppendEmpty().SetTimestamp(pcommon.NewTimestampFromTime(now))
	}
	require.NoError(t, e.consumeLogs(ctx, ld))

	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}
	metadatatest.AssertEqualPlotlyhtmlPointsDropped(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "max_series"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "retention"))},
	}, opts...)
	metadatatest.AssertEqualPlotlyhtmlSpansEvicted(t, tt, []metricdata.DataPoint[int64]{{Value: 4096}}, opts...)
	metadatatest.AssertEqualPlotlyhtmlLogsEvicted(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, opts...)
}
