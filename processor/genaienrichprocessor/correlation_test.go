// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadatatest"
)

var callStart = time.Unix(1_800_000_000, 0)

// call builds the two spans of one chat call: the application's client span (as OpenLLMetry
// writes it for a stream: no usage) and the gateway's server span, in different traces.
func call(id string, withClientID bool, clientUsage bool) (client, server ptrace.Traces) {
	client = ptrace.NewTraces()
	cs := client.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	cs.SetTraceID(pcommon.TraceID{1, byte(len(id))})
	cs.SetSpanID(pcommon.SpanID{1, 1})
	cs.SetKind(ptrace.SpanKindClient)
	cs.SetName("openai.chat")
	cs.SetStartTimestamp(pcommon.NewTimestampFromTime(callStart))
	cs.SetEndTimestamp(pcommon.NewTimestampFromTime(callStart.Add(500 * time.Millisecond)))
	ca := cs.Attributes()
	ca.PutStr("gen_ai.operation.name", "chat")
	ca.PutStr("gen_ai.request.model", "demo")
	if withClientID {
		ca.PutStr("gen_ai.response.id", id)
	}
	if clientUsage {
		ca.PutInt("gen_ai.usage.input_tokens", 12)
		ca.PutInt("gen_ai.usage.output_tokens", 8)
	}

	server = ptrace.NewTraces()
	ss := server.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	s := gatewaySpan(ss, "demo", 12, 8, 400*time.Millisecond, 50*time.Millisecond)
	s.SetTraceID(pcommon.TraceID{2, byte(len(id))})
	s.SetSpanID(pcommon.SpanID{2, 2})
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(callStart.Add(40 * time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(callStart.Add(440 * time.Millisecond)))
	s.Attributes().PutStr("gen_ai.response.model", "llt-tiny")
	s.Attributes().PutStr("gen_ai.response.id", id)
	s.Attributes().PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("length")
	return client, server
}

// pipeline starts the traces processor with the default config (correlation on) and returns
// a function that sends one batch and returns the one span that came out.
func pipeline(t *testing.T, set processor.Settings) func(ptrace.Traces) ptrace.Span {
	t.Helper()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), set, createDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return func(td ptrace.Traces) ptrace.Span {
		require.NoError(t, p.ConsumeTraces(context.Background(), td))
		all := sink.AllTraces()
		return all[len(all)-1].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	}
}

func strs(v pcommon.Value) []string {
	var out []string
	for i := 0; i < v.Slice().Len(); i++ {
		out = append(out, v.Slice().At(i).AsString())
	}
	return out
}

func TestCorrelateClientSecond(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	send := pipeline(t, metadatatest.NewSettings(tt))
	client, server := call("chatcmpl-abc", true, false)

	srv := send(server)
	_, linked := srv.Attributes().Get(attrCorrelationMethod)
	assert.False(t, linked, "nothing to pair with yet")
	assert.Equal(t, 0, srv.Links().Len())

	cl := send(client)
	a := cl.Attributes().AsRaw()
	assert.Equal(t, "response_id", a[attrCorrelationMethod])
	require.Equal(t, 1, cl.Links().Len(), "the client span links to the gateway's span")
	l := cl.Links().At(0)
	assert.Equal(t, srv.SpanID(), l.SpanID())
	assert.Equal(t, srv.TraceID(), l.TraceID())
	assert.Equal(t, "response_id", l.Attributes().AsRaw()[attrCorrelationMethod])
	// What the SDK could not see for a stream comes from the gateway, marked as derived.
	assert.EqualValues(t, 12, a["gen_ai.usage.input_tokens"])
	assert.EqualValues(t, 8, a["gen_ai.usage.output_tokens"])
	assert.Equal(t, "llt-tiny", a["gen_ai.response.model"])
	assert.Equal(t, []any{"length"}, a["gen_ai.response.finish_reasons"])
	derived, _ := cl.Attributes().Get(attrDerived)
	assert.ElementsMatch(t, []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
		"gen_ai.response.model", "gen_ai.response.finish_reasons"}, strs(derived))
	assert.InDelta(t, 0.1, a[attrClientOverhead], 1e-9, "500 ms client minus 400 ms server")
	// Tokens per second is derived on the client span now that it has usage.
	assert.Contains(t, a, attrTPS)

	metadatatest.AssertEqualGenaienrichCorrelationMatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("method", "response_id"))},
		{Value: 0, Attributes: attribute.NewSet(attribute.String("method", "fallback"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualGenaienrichCorrelationPending(t, tt, []metricdata.DataPoint[int64]{{Value: 0}},
		metricdatatest.IgnoreTimestamp())
}

func TestCorrelateServerSecond(t *testing.T) {
	send := pipeline(t, metadatatest.NewSettings(componenttest.NewTelemetry()))
	client, server := call("chatcmpl-xyz", true, true)
	cl := send(client)
	assert.Equal(t, 0, cl.Links().Len())
	srv := send(server)
	require.Equal(t, 1, srv.Links().Len(), "the gateway span links to the client span that came first")
	assert.Equal(t, cl.SpanID(), srv.Links().At(0).SpanID())
	a := srv.Attributes().AsRaw()
	assert.Equal(t, "response_id", a[attrCorrelationMethod])
	assert.InDelta(t, 0.1, a[attrClientOverhead], 1e-9)
	assert.NotContains(t, a, attrDerived, "a server span gets nothing copied")
}

// TestCorrelateFallback: OpenInference records no response id; the client span is paired by
// model, token counts and time.
func TestCorrelateFallback(t *testing.T) {
	tt := componenttest.NewTelemetry()
	send := pipeline(t, metadatatest.NewSettings(tt))
	client, server := call("chatcmpl-fb", false, true)
	// OpenInference writes the requested name as the model of a stream it has no answer for.
	client.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("gen_ai.response.model", "demo")
	send(server)
	cl := send(client)
	a := cl.Attributes().AsRaw()
	assert.Equal(t, "fallback", a[attrCorrelationMethod])
	assert.Equal(t, "chatcmpl-fb", a["gen_ai.response.id"], "the id is derived too")
	assert.Equal(t, "llt-tiny", a["gen_ai.response.model"], "the model that answered, as the gateway saw it")
	derived, _ := cl.Attributes().Get(attrDerived)
	assert.Contains(t, strs(derived), "gen_ai.response.model")
	require.Equal(t, 1, cl.Links().Len())
	metadatatest.AssertEqualGenaienrichCorrelationMatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 0, Attributes: attribute.NewSet(attribute.String("method", "response_id"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("method", "fallback"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestCorrelatePropagated: when the SDK sent traceparent, the gateway span is in the client's
// trace: parentage joins them and no link is added, but a stream's usage is still filled in.
func TestCorrelatePropagated(t *testing.T) {
	send := pipeline(t, metadatatest.NewSettings(componenttest.NewTelemetry()))
	client, server := call("chatcmpl-tp", true, false)
	cs := client.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	ss := server.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	ss.SetTraceID(cs.TraceID())
	ss.SetParentSpanID(cs.SpanID())
	send(server)
	cl := send(client)
	assert.Equal(t, 0, cl.Links().Len(), "parentage joins them")
	a := cl.Attributes().AsRaw()
	assert.Equal(t, "response_id", a[attrCorrelationMethod])
	assert.EqualValues(t, 8, a["gen_ai.usage.output_tokens"])
}

// TestCorrelateSharedAcrossPipelines: two traces pipelines naming the same processor ID share
// one correlator, so a gateway span in one finds the client span in the other.
func TestCorrelateSharedAcrossPipelines(t *testing.T) {
	set := metadatatest.NewSettings(componenttest.NewTelemetry())
	set.ID = component.MustNewIDWithName("genaienrich", "shared")
	one, two := pipeline(t, set), pipeline(t, set)
	client, server := call("chatcmpl-sh", true, false)
	one(server)
	cl := two(client)
	assert.Equal(t, 1, cl.Links().Len())
}

func TestCorrelateOff(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Correlate.Enabled = false
	client, server := call("chatcmpl-off", true, false)
	runTraces(t, cfg, server)
	out, _ := runTraces(t, cfg, client)
	cl := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, 0, cl.Links().Len())
	_, ok := cl.Attributes().Get("gen_ai.usage.output_tokens")
	assert.False(t, ok)
}
