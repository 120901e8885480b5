// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
)

// gatewaySpan is a span as the llamacpp gateway records a chat request.
func gatewaySpan(ss ptrace.SpanSlice, model string, in, out int64, dur, first time.Duration) ptrace.Span {
	s := ss.AppendEmpty()
	start := time.Unix(1_800_000_000, 0)
	s.SetName("chat " + model)
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(dur)))
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "llama_cpp")
	a.PutStr("gen_ai.request.model", model)
	a.PutStr("gen_ai.response.model", model)
	a.PutInt("gen_ai.usage.input_tokens", in)
	a.PutInt("gen_ai.usage.output_tokens", out)
	if first > 0 {
		ev := s.Events().AppendEmpty()
		ev.SetName("first_token")
		ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(first)))
	}
	return s
}

func runTraces(t *testing.T, cfg *Config, td ptrace.Traces) (ptrace.Traces, *observer.ObservedLogs) {
	t.Helper()
	return runTracesWith(t, processortest.NewNopSettings(metadata.Type), cfg, td)
}

// runTracesWith is runTraces with the given settings (their logger is replaced by an observer).
func runTracesWith(t *testing.T, set processor.Settings, cfg *Config, td ptrace.Traces) (ptrace.Traces, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllTraces(), 1, "the batch passes on")
	return sink.AllTraces()[0], logs
}

func tinyModel(tb testing.TB) string { return llamatest.TinyModel(tb) }

func modelConfig(tb testing.TB) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Models = []ModelConfig{{Name: "llt-tiny", GGUF: tinyModel(tb)}}
	return cfg
}

func TestModelFactsFromGGUF(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	gatewaySpan(ss, "llt-tiny", 10, 5, time.Second, 0)
	gatewaySpan(ss, "llt-tiny.gguf", 10, 5, time.Second, 0) // llama-server without --alias names the file
	gatewaySpan(ss, "other-model", 10, 5, time.Second, 0)
	out, _ := runTraces(t, modelConfig(t), td)
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spec := modelgen.Tiny()
	for i := range 2 {
		a := spans.At(i).Attributes().AsRaw()
		assert.Equal(t, "llama", a[attrArchitecture], i)
		assert.Equal(t, "F32", a[attrQuantization], i)
		assert.EqualValues(t, spec.BlockCount, a[attrBlockCount], i)
		assert.EqualValues(t, spec.EmbeddingLength, a[attrEmbeddingLength], i)
		assert.EqualValues(t, spec.ContextLength, a[attrContextTrain], i)
		assert.Positive(t, a[attrParameters], i)
	}
	assert.NotContains(t, spans.At(2).Attributes().AsRaw(), attrArchitecture, "an unknown model gets no facts")
}

func TestDerived(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	gatewaySpan(ss, "m", 100, 41, 2*time.Second, 400*time.Millisecond) // event TTFT
	s2 := gatewaySpan(ss, "m", 100, 10, time.Second, 0)                // no TTFT
	s3 := gatewaySpan(ss, "m", 100, 21, time.Second, 0)
	s3.Attributes().PutDouble("gen_ai.response.time_to_first_chunk", 0.5) // spec attribute wins
	cfg := createDefaultConfig().(*Config)
	cfg.Cost.PerMillionTokens = map[string]TokenPrice{"m": {Input: 1, Output: 2}}
	out, _ := runTraces(t, cfg, td)
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	a := spans.At(0).Attributes().AsRaw()
	assert.InDelta(t, 0.4, a[attrTTFT], 1e-9)
	assert.InDelta(t, 40/1.6, a[attrTPS], 1e-9, "40 tokens after the first in 1.6 s")
	assert.InDelta(t, (100*1.0+41*2.0)/1e6, a[attrCost], 1e-15)
	assert.Equal(t, "tokens", a[attrCostMethod])
	assert.InDelta(t, 10.0, spans.At(1).Attributes().AsRaw()[attrTPS], 1e-9)
	assert.NotContains(t, spans.At(1).Attributes().AsRaw(), attrTTFT)
	a3 := spans.At(2).Attributes().AsRaw()
	assert.InDelta(t, 0.5, a3[attrTTFT], 1e-9)
	assert.InDelta(t, 40.0, a3[attrTPS], 1e-9)
	_ = s2
}

func TestGPUTimeCost(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	gatewaySpan(ss, "m", 1, 1, 36*time.Second, 0) // 0.01 h alone
	gatewaySpan(ss, "m", 1, 1, 36*time.Second, 0) // same interval: two at once
	cfg := createDefaultConfig().(*Config)
	cfg.Cost.GPUHourlyUSD = 4
	out, _ := runTraces(t, cfg, td)
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	assert.InDelta(t, 0.04, spans.At(0).Attributes().AsRaw()[attrCost], 1e-12)
	assert.InDelta(t, 0.02, spans.At(1).Attributes().AsRaw()[attrCost], 1e-12, "the GPU is shared by two requests")
	assert.Equal(t, "gpu_time", spans.At(1).Attributes().AsRaw()[attrCostMethod])
}

// With an energy price, a span's GPU energy adds to its GPU-time cost; alone it is the cost.
func TestEnergyCost(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	gatewaySpan(ss, "m", 1, 1, 36*time.Second, 0)
	ss.At(0).Attributes().PutDouble(attrGPUEnergy, 36000) // 0.01 kWh
	gatewaySpan(ss, "m", 1, 1, 36*time.Second, 0)         // no energy measured
	cfg := createDefaultConfig().(*Config)
	cfg.Cost.USDPerKWh = 0.5
	out, _ := runTraces(t, cfg, td)
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	assert.InDelta(t, 0.005, spans.At(0).Attributes().AsRaw()[attrCost], 1e-12)
	assert.Equal(t, "energy", spans.At(0).Attributes().AsRaw()[attrCostMethod])
	assert.NotContains(t, spans.At(1).Attributes().AsRaw(), attrCost)

	td = ptrace.NewTraces()
	ss = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	gatewaySpan(ss, "m", 1, 1, 36*time.Second, 0)
	ss.At(0).Attributes().PutDouble(attrGPUEnergy, 36000)
	cfg.Cost.GPUHourlyUSD = 4
	out, _ = runTraces(t, cfg, td)
	a := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()
	assert.InDelta(t, 0.04+0.005, a[attrCost], 1e-12)
	assert.Equal(t, "gpu_time+energy", a[attrCostMethod])
}

// Bad input: the span passes unchanged (plus at most a debug log); nothing is dropped.
func TestBadInputPassesUnchanged(t *testing.T) {
	cases := map[string]func(a pcommon.Map){
		"string token count":   func(a pcommon.Map) { a.PutStr("gen_ai.usage.output_tokens", "12") },
		"negative token count": func(a pcommon.Map) { a.PutInt("gen_ai.usage.output_tokens", -3) },
		"NaN token count":      func(a pcommon.Map) { a.PutDouble("gen_ai.usage.output_tokens", math.NaN()) },
		"NaN ttft":             func(a pcommon.Map) { a.PutDouble("gen_ai.response.time_to_first_chunk", math.NaN()) },
		"unknown model":        func(a pcommon.Map) { a.PutStr("gen_ai.response.model", "nobody") },
		"model is a number":    func(a pcommon.Map) { a.PutInt("gen_ai.response.model", 7) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			td := ptrace.NewTraces()
			ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
			s := gatewaySpan(ss, "nobody", 5, 5, time.Second, 0)
			s.Attributes().Remove("gen_ai.usage.output_tokens")
			s.Attributes().Remove("gen_ai.request.model")
			mutate(s.Attributes())
			before := s.Attributes().AsRaw()
			out, _ := runTraces(t, modelConfig(t), td)
			after := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()
			for k, v := range before {
				if f, ok := v.(float64); ok && math.IsNaN(f) {
					assert.True(t, math.IsNaN(after[k].(float64)), k)
					continue
				}
				assert.Equal(t, v, after[k], "attribute %s changed", k)
			}
			for k := range after {
				if _, ok := before[k]; !ok {
					assert.NotContains(t, []string{attrTPS, attrArchitecture, attrCost}, k, "nothing derived from bad input")
				}
			}
		})
	}
}

func TestUnreadableGGUFStartsAndPasses(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	require.NoError(t, os.WriteFile(bad, []byte("not a gguf"), 0o600))
	cfg := createDefaultConfig().(*Config)
	cfg.Models = []ModelConfig{{Name: "m", GGUF: bad}, {Name: "gone", GGUF: filepath.Join(t.TempDir(), "missing.gguf")}}
	td := ptrace.NewTraces()
	gatewaySpan(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans(), "m", 1, 1, time.Second, 0)
	out, logs := runTraces(t, cfg, td)
	assert.NotContains(t, out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw(), attrArchitecture)
	assert.Equal(t, 2, logs.FilterMessageSnippet("cannot read the GGUF file").Len())
}

func TestMetricsGetFacts(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gen_ai.server.request.duration")
	dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("gen_ai.request.model", "llt-tiny")
	other := m.Histogram().DataPoints().AppendEmpty()
	other.Attributes().PutStr("gen_ai.request.model", "x")
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), modelConfig(t), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeMetrics(context.Background(), md))
	require.NoError(t, p.Shutdown(context.Background()))
	got := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints()
	assert.Equal(t, "llama", got.At(0).Attributes().AsRaw()[attrArchitecture])
	assert.NotContains(t, got.At(1).Attributes().AsRaw(), attrArchitecture)
}

func TestMissingContentPassesWithoutPoint(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{})
	cfg := modelConfig(t)
	cfg.Embeddings.Enabled = true
	cfg.Embeddings.Endpoint = srv.URL
	td := ptrace.NewTraces()
	s := gatewaySpan(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans(), "llt-tiny", 3, 3, time.Second, 0)
	s.Attributes().PutStr("gen_ai.input.messages", `not json`)
	out, _ := runTraces(t, cfg, td)
	a := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()
	assert.NotContains(t, a, attrProjection)
	assert.NotContains(t, a, "gen_ai.input.messages", "drop_content still removes what was captured")
	assert.Equal(t, "llama", a[attrArchitecture])
}

func TestLatestGateSwitchesNames(t *testing.T) {
	require.NoError(t, featuregate.GlobalRegistry().Set(latestGate.ID(), true))
	t.Cleanup(func() { _ = featuregate.GlobalRegistry().Set(latestGate.ID(), false) })
	td := ptrace.NewTraces()
	s := gatewaySpan(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans(), "m", 3, 3, time.Second, 0)
	s.Attributes().PutInt("gen_ai.usage.cache_creation.input_tokens", 2)
	out, _ := runTraces(t, createDefaultConfig().(*Config), td)
	a := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()
	assert.EqualValues(t, 2, a["gen_ai.usage.cache_write.input_tokens"])
	assert.NotContains(t, a, "gen_ai.usage.cache_creation.input_tokens")
}
