// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadatatest"
)

// badOpenInference puts two OpenInference attributes that normalization must leave as they are
// (a token count that is a string, a temperature that is not a number) beside a good one.
func badOpenInference(m pcommon.Map) {
	m.PutStr("llm.token_count.prompt", "12")
	m.PutInt("llm.token_count.completion", 3)
	m.PutStr("llm.invocation_parameters", `{"temperature": "hot", "max_tokens": 64}`)
}

// The attributes that normalization skips for a bad value are counted, in spans and in log
// records alike.
func TestNormalizeSkippedCounted(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(ctx)) })
	set := metadatatest.NewSettings(tt)
	cfg := createDefaultConfig().(*Config)

	traces, err := NewFactory().CreateTraces(ctx, set, cfg, new(consumertest.TracesSink))
	require.NoError(t, err)
	require.NoError(t, traces.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, traces.Shutdown(ctx)) })
	td := ptrace.NewTraces()
	badOpenInference(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes())
	require.NoError(t, traces.ConsumeTraces(ctx, td))

	logs, err := NewFactory().CreateLogs(ctx, set, cfg, new(consumertest.LogsSink))
	require.NoError(t, err)
	require.NoError(t, logs.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, logs.Shutdown(ctx)) })
	ld := plog.NewLogs()
	badOpenInference(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes())
	require.NoError(t, logs.ConsumeLogs(ctx, ld))

	metadatatest.AssertEqualGenaienrichNormalizeSkipped(t, tt, []metricdata.DataPoint[int64]{{Value: 2 + 2}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
