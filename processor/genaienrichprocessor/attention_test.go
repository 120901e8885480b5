// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/forward"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadatatest"
)

// attentionConfig samples every prompt of the tiny model (in-process tokenizer), with no interval.
func attentionConfig(tb testing.TB) *Config {
	cfg := modelConfig(tb)
	cfg.Attention.Enabled = true
	cfg.Attention.SampleEvery = 1
	cfg.Attention.Interval = 0
	cfg.Embeddings.Tokenizer = TokenizerGGUF
	return cfg
}

// promptBatch is n gateway spans with captured prompts, in trace k.
func promptBatch(n int, k byte) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "llamacpp-gateway")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		s := gatewaySpan(ss, "llt-tiny", 10, 2, time.Second, 0)
		s.SetTraceID(pcommon.TraceID{k, byte(i), 1})
		s.SetSpanID(pcommon.SpanID{k, byte(i), 2})
		withContent(s, testProse[i%len(testProse)])
	}
	return td
}

// attentionSpans returns the llt.attention spans among what the sink received, with their resources.
func attentionSpans(sink *consumertest.TracesSink) (spans []ptrace.Span, res []pcommon.Resource) {
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					if ss.At(k).Name() == conventions.SpanAttention {
						spans = append(spans, ss.At(k))
						res = append(res, rs.Resource())
					}
				}
			}
		}
	}
	return spans, res
}

// unpack decodes llt.attention.probs into [layer][head][q][k] (k <= q).
func unpack(t *testing.T, b []byte, layers, heads, n int) [][][][]float32 {
	t.Helper()
	require.Len(t, b, 2*layers*heads*n*(n+1)/2, "layers*heads*n(n+1)/2 half floats")
	out := make([][][][]float32, layers)
	i := 0
	for l := range layers {
		out[l] = make([][][]float32, heads)
		for h := range heads {
			out[l][h] = make([][]float32, n)
			for q := range n {
				for range q + 1 {
					out[l][h][q] = append(out[l][h][q], gguf.Float16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
					i++
				}
			}
		}
	}
	return out
}

func TestAttentionSampleSpan(t *testing.T) {
	cfg := attentionConfig(t)
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	td := promptBatch(1, 7)
	want := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	parentID, traceID, start := want.SpanID(), want.TraceID(), want.StartTimestamp()
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	require.Eventually(t, func() bool { s, _ := attentionSpans(sink); return len(s) == 1 }, 30*time.Second, 10*time.Millisecond)
	spans, res := attentionSpans(sink)
	sp := spans[0]
	assert.Equal(t, traceID, sp.TraceID(), "in the sampled request's trace")
	assert.Equal(t, parentID, sp.ParentSpanID(), "a child of the sampled span")
	assert.False(t, sp.SpanID().IsEmpty())
	assert.Equal(t, "llamacpp-gateway", res[0].Attributes().AsRaw()["service.name"], "the sampled span's resource")

	spec := modelgen.Tiny()
	a := sp.Attributes().AsRaw()
	assert.Equal(t, spec.Name, a[conventions.AttrLLTAttentionModel])
	assert.Equal(t, "llt-tiny", a[conventions.AttrGenAIRequestModel])
	assert.EqualValues(t, int64(start), a[conventions.AttrLLTAttentionRequestStart])
	assert.Equal(t, []any{int64(0), int64(spec.BlockCount - 1)}, a[conventions.AttrLLTAttentionLayers], "default: the first and the last computed layer")
	assert.EqualValues(t, spec.BlockCount, a[conventions.AttrLLTAttentionLayerCount])
	assert.EqualValues(t, spec.HeadCount, a[conventions.AttrLLTAttentionHeads])
	n := int(a[conventions.AttrLLTAttentionTokens].(int64))
	assert.Greater(t, n, 5, "the prompt's tokens, BOS first")
	labels := a[conventions.AttrLLTAttentionTokenLabels].([]any)
	require.Len(t, labels, n, "without drop_content the axes may name the tokens")
	assert.Equal(t, "<s>", labels[0], "BOS first")
	assert.NotContains(t, a, conventions.AttrGenAIInputMessages, "the prompt itself is not copied")

	// The matrices are the forward pass's, to half precision, and each row sums to 1.
	got := unpack(t, sp.Attributes().AsRaw()[conventions.AttrLLTAttentionProbs].([]byte), 2, spec.HeadCount, n)
	m, err := forward.Open(cfg.Models[0].GGUF)
	require.NoError(t, err)
	defer func() { _ = m.Close() }()
	toks := attentionTokens(t, cfg, testProse[0], n)
	ref, err := m.Run(context.Background(), toks, forward.Options{Attention: []int{0, spec.BlockCount - 1}})
	require.NoError(t, err)
	for l := range 2 {
		for h := range spec.HeadCount {
			for q := range n {
				sum := 0.0
				for k := 0; k <= q; k++ {
					v := got[l][h][q][k]
					sum += float64(v)
					assert.InDelta(t, ref.Attention[l].Probs[(h*n+q)*n+k], v, 1e-3, "layer %d head %d q %d k %d", l, h, q, k)
				}
				assert.InDelta(t, 1, sum, 5e-3, "row %d of layer %d head %d", q, l, h)
			}
		}
	}
	assert.Equal(t, float32(1), got[0][0][0][0], "the first position attends only to itself")
}

// attentionTokens are the ids the sampler gives the forward pass for a prompt: BOS, then the
// in-process tokenizer's, at most n.
func attentionTokens(t *testing.T, cfg *Config, prompt string, n int) []int32 {
	t.Helper()
	s, err := newAttentionSampler(cfg, nil, consumertest.NewNop(), nil, zap.NewNop())
	require.NoError(t, err)
	defer s.shutdown()
	toks, err := s.tokenize(context.Background(), prompt)
	require.NoError(t, err)
	return append([]int32{s.bos}, toks...)[:n]
}

func TestAttentionNoLabelsWithDropContent(t *testing.T) {
	cfg := attentionConfig(t)
	cfg.Embeddings.Enabled = true
	cfg.Embeddings.DropContent = true
	cfg.Embeddings.Endpoint = "http://127.0.0.1:1" // unreachable: the in-process tokenizer makes the points
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	require.NoError(t, p.ConsumeTraces(context.Background(), promptBatch(1, 1)))
	require.Eventually(t, func() bool { s, _ := attentionSpans(sink); return len(s) == 1 }, 30*time.Second, 10*time.Millisecond)
	spans, _ := attentionSpans(sink)
	a := spans[0].Attributes().AsRaw()
	assert.NotContains(t, a, conventions.AttrLLTAttentionTokenLabels, "with drop_content the axes show positions only")
	assert.Contains(t, a, conventions.AttrLLTAttentionProbs)
	// The sampled span itself lost its prompt, as drop_content says.
	req := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.NotContains(t, req.Attributes().AsRaw(), conventions.AttrGenAIInputMessages)
}

func TestAttentionSampling(t *testing.T) {
	cfg := attentionConfig(t)
	cfg.Attention.SampleEvery = 3
	s, err := newAttentionSampler(cfg, nil, consumertest.NewNop(), nil, zap.NewNop())
	require.NoError(t, err)
	defer s.shutdown()
	s.queue = make(chan attentionJob, 100) // no worker: count what is queued
	td := promptBatch(10, 1)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	now := time.Unix(1_800_000_000, 0)
	for i := 0; i < spans.Len(); i++ {
		s.offer(spans.At(i), td.ResourceSpans().At(0).Resource(), now)
	}
	assert.Len(t, s.queue, 4, "one in three of 10 prompts: the 1st, 4th, 7th and 10th")

	// At most one per interval.
	s.cfg.Interval = time.Minute
	s.queue, s.last, s.count = make(chan attentionJob, 100), time.Time{}, 0
	for i := 0; i < spans.Len(); i++ {
		s.offer(spans.At(i), td.ResourceSpans().At(0).Resource(), now.Add(time.Duration(i)*10*time.Second))
	}
	assert.Len(t, s.queue, 2, "10 prompts 10 s apart, one in three, an interval of a minute: the 1st (0 s) and the 7th (60 s); the 4th (30 s) and the 10th (90 s) come too soon")
	// A span without a prompt is not counted.
	s.queue, s.last, s.count = make(chan attentionJob, 100), time.Time{}, 0
	bare := ptrace.NewTraces().ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	gatewaySpan(bare, "llt-tiny", 1, 1, time.Second, 0)
	s.offer(bare.At(0), pcommon.NewResource(), now)
	assert.Empty(t, s.queue)
	assert.Zero(t, s.count)
}

// blockingSink holds the first attention span until released, as a slow pipeline would.
type blockingSink struct {
	consumertest.TracesSink
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSink) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if td.ResourceSpans().Len() > 0 && td.ResourceSpans().At(0).ScopeSpans().Len() > 0 &&
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().Len() > 0 &&
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name() == conventions.SpanAttention {
		b.once.Do(func() {
			close(b.entered)
			<-b.release
		})
	}
	return b.TracesSink.ConsumeTraces(ctx, td)
}

func (*blockingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func TestAttentionQueueFullIsCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := attentionConfig(t)
	sink := &blockingSink{entered: make(chan struct{}), release: make(chan struct{})}
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeTraces(context.Background(), promptBatch(1, 1)))
	<-sink.entered // the worker is sending the first sample and waits
	// The queue (queue_size 1) takes one more prompt; the other four samples are dropped and counted.
	require.NoError(t, p.ConsumeTraces(context.Background(), promptBatch(5, 2)))
	close(sink.release)
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualGenaienrichAttentionDropped(t, tel, []metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
}

func TestResolveLayers(t *testing.T) {
	got, err := resolveLayers([]int{0, -1}, 8)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 7}, got)
	got, err = resolveLayers([]int{0, -1}, 1)
	require.NoError(t, err)
	assert.Equal(t, []int{0}, got, "one computed layer: first and last are the same")
	_, err = resolveLayers([]int{8}, 8)
	require.ErrorIs(t, err, errAttentionLayers)
	assert.ErrorContains(t, err, "layer 8 is outside the 8 computed layers")
	_, err = resolveLayers([]int{-9}, 8)
	require.ErrorIs(t, err, errAttentionLayers)
}

func TestAttentionLayersOutOfRangeStopsStart(t *testing.T) {
	cfg := attentionConfig(t)
	cfg.Attention.Layers = []int{5}
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = p.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "attention::layers: layer 5 is outside the 2 computed layers")
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestAttentionUnsupportedModelIsDisabled(t *testing.T) {
	cfg := attentionConfig(t)
	cfg.Models[0].GGUF = "/nonexistent/model.gguf"
	out, logs := runTraces(t, cfg, promptBatch(1, 1))
	assert.Equal(t, 1, out.SpanCount(), "spans pass as they are")
	assert.Equal(t, 1, logs.FilterMessage("attention: disabled").Len())
}

func TestPackAttention(t *testing.T) {
	// Two heads over three tokens: rows 1; .5 .5; .25 .25 .5 (head 0) and the same halved keys.
	n := 3
	probs := make([]float32, 2*n*n)
	rows := [][]float32{{1}, {0.5, 0.5}, {0.25, 0.25, 0.5}}
	for h := range 2 {
		for q, r := range rows {
			copy(probs[(h*n+q)*n:], r)
		}
	}
	b := packAttention([]forward.Attention{{Layer: 3, Heads: 2, Tokens: n, Probs: probs}})
	got := unpack(t, b, 1, 2, n)
	for h := range 2 {
		for q, r := range rows {
			assert.Equal(t, r, got[0][h][q])
		}
	}
	assert.False(t, math.IsNaN(float64(got[0][1][2][2])))
}
