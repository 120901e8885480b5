// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"bufio"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// attentionTokens are the token labels of the test prompt; none of them occurs elsewhere in a
// page (see TestAttentionWithoutLabelsShowsNoText and the browser test).
var attentionTokens = []string{"<s>", "▁Zanzibar", "▁quokka", "▁of", "▁Vexillology", "▁is", "\n", "▁Ptarmigan", ".", "▁Xylophone", "▁has", "▁Marmalade"}

// attentionWords are the words of attentionTokens found nowhere else.
var attentionWords = []string{"Zanzibar", "quokka", "Vexillology", "Ptarmigan", "Xylophone", "Marmalade"}

// attentionProb is what query q gives key k in the layer at index li, head h: rows sum to 1 and
// every layer/head differs.
func attentionProb(li, h, q, k int) float64 {
	w := func(k int) float64 {
		return math.Exp(-float64(q-k)*(0.2+0.3*float64(h)) + 0.25*float64(li)*float64(k%3))
	}
	sum := 0.0
	for j := 0; j <= q; j++ {
		sum += w(j)
	}
	return w(k) / sum
}

// attentionSpan is an attention sample's span as genaienrich makes it (pkg/conventions): layers
// x heads causal triangles of n positions as half floats, with labels unless nil.
func attentionSpan(model string, layers []int64, heads, n int, labels []string, requestStart time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "otelcol-llt")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{0xa7, 1})
	sp.SetSpanID(pcommon.SpanID{0xa7, 2})
	sp.SetParentSpanID(pcommon.SpanID{0xa7, 3})
	sp.SetName(conventions.SpanAttention)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(requestStart.Add(time.Second)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(requestStart.Add(1500 * time.Millisecond)))
	a := sp.Attributes()
	a.PutStr(conventions.AttrLLTAttentionModel, model)
	a.PutInt(conventions.AttrLLTAttentionRequestStart, requestStart.UnixNano())
	ls := a.PutEmptySlice(conventions.AttrLLTAttentionLayers)
	for _, l := range layers {
		ls.AppendEmpty().SetInt(l)
	}
	a.PutInt(conventions.AttrLLTAttentionLayerCount, 28)
	a.PutInt(conventions.AttrLLTAttentionHeads, int64(heads))
	a.PutInt(conventions.AttrLLTAttentionTokens, int64(n))
	if labels != nil {
		tl := a.PutEmptySlice(conventions.AttrLLTAttentionTokenLabels)
		for _, l := range labels {
			tl.AppendEmpty().SetStr(l)
		}
	}
	var probs []byte
	for li := range layers {
		for h := range heads {
			for q := range n {
				for k := 0; k <= q; k++ {
					probs = binary.LittleEndian.AppendUint16(probs, gguf.Float32ToFloat16(float32(attentionProb(li, h, q, k))))
				}
			}
		}
	}
	a.PutEmptyBytes(conventions.AttrLLTAttentionProbs).FromRaw(probs)
	return td
}

func TestAttentionSpansReachThePanel(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := testConfig(t)
	e := newExporter(cfg, set)
	start := time.Now().Add(-time.Minute)
	e.ingestTraces(attentionSpan("qwen2.5-1.5b", []int64{3, 20}, 4, 12, attentionTokens, start))

	// Samples that do not decode are ignored, counted by reason, and logged: a warning the
	// first time for a reason, then at debug level.
	for range 2 {
		bad := attentionSpan("broken", []int64{0}, 2, 5, nil, start.Add(time.Second))
		attrs := bad.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
		attrs.PutEmptyBytes(conventions.AttrLLTAttentionProbs).FromRaw([]byte{1, 2, 3})
		e.ingestTraces(bad)
	}
	bad := attentionSpan("broken", []int64{0}, 2, 5, []string{"one"}, start.Add(time.Second))
	e.ingestTraces(bad)
	wrongType := attentionSpan("broken", []int64{0}, 2, 5, nil, start.Add(time.Second))
	wrongType.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr(conventions.AttrLLTAttentionHeads, "four")
	e.ingestTraces(wrongType)

	assert.Equal(t, map[string]uint64{store.AttentionReasonLength: 2, store.AttentionReasonLabels: 1, store.AttentionReasonShape: 1},
		e.store.AttentionRejected())
	warned := logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warned, 3, "one warning per reason")
	assert.Equal(t, store.AttentionReasonLength, warned[0].ContextMap()["reason"])
	assert.Len(t, logs.FilterLevelExact(zapcore.DebugLevel).FilterMessage("an attention sample was ignored").All(), 1)

	p := e.page([]string{"unified"})
	f := figureByID(p, "unified-attention")
	require.NotNil(t, f)
	require.Empty(t, f.Empty)
	assert.Contains(t, f.Layout["title"].(dashboard.Obj)["text"], "Attention — qwen2.5-1.5b, layer 3 head 0 — request at "+
		start.UTC().Format("2006-01-02 15:04:05")+" UTC")
	// The attention span is also a span of its trace.
	assert.Equal(t, 5, e.store.Stats().Spans)
}

// Without token labels (genaienrich with drop_content), nothing of the prompt reaches the page.
func TestAttentionWithoutLabelsShowsNoText(t *testing.T) {
	for _, labelled := range []bool{true, false} {
		cfg := testConfig(t)
		cfg.PlotlyJS = PlotlyJSCDN
		e := startExporter(t, cfg)
		var labels []string
		if labelled {
			labels = attentionTokens
		}
		e.ingestTraces(attentionSpan("qwen2.5-1.5b", []int64{3, 20}, 4, 12, labels, time.Now().Add(-time.Minute)))
		require.NoError(t, e.writeFile())
		page := string(mustRead(t, cfg.Path))
		for _, word := range attentionWords {
			assert.Equal(t, labelled, strings.Contains(page, word), "%q in the page (labels sent: %v)", word, labelled)
		}
	}
}

// Children of a gateway request that come in another batch than their parent join it.
func TestWaterfallJoinsBatches(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	now := time.Now()
	for i := range 20 {
		td := fd.request(now.Add(time.Duration(i-20)*time.Second), time.Duration(200+10*i)*time.Millisecond, 40, 12, i == 18)
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		if i%2 == 1 {
			// The children first, the parent in a later batch.
			children := ptrace.NewTraces()
			rs := children.ResourceSpans().AppendEmpty()
			td.ResourceSpans().At(0).Resource().CopyTo(rs.Resource())
			cs := rs.ScopeSpans().AppendEmpty().Spans()
			spans.RemoveIf(func(s ptrace.Span) bool {
				if s.ParentSpanID().IsEmpty() {
					return false
				}
				s.CopyTo(cs.AppendEmpty())
				return true
			})
			e.ingestTraces(children)
		}
		e.ingestTraces(td)
	}
	f := figureByID(e.page([]string{"unified"}), "unified-waterfall")
	require.NotNil(t, f)
	require.Empty(t, f.Empty)
	bars := map[string]int{}
	for _, tr := range f.Data {
		if y, ok := tr["y"].(dashboard.Nums); ok {
			bars[tr["name"].(string)] = len(y)
		}
	}
	assert.Equal(t, map[string]int{"queue": 15, "prompt": 15, "generation": 15, "request (total)": 15, "failed": 1}, bars)
	assert.NotContains(t, f.Title, "without phase spans")
}

// The model panel shows the facts of the llamacpp receiver's resources (the scraper's golden
// file) and those that genaienrich puts on request spans.
func TestModelFactsFromResourcesAndSpans(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	now := time.Now()
	e.ingestMetrics(fd.metricsAt(now, 0))
	td := fd.request(now, 300*time.Millisecond, 40, 12, false)
	a := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	a.PutStr("gen_ai.request.model", "qwen-q4km.gguf")
	a.PutStr("gen_ai.response.model", "qwen-q4km.gguf")
	a.PutStr(attrModelArchitecture, "qwen2")
	a.PutStr(attrModelQuantization, "Q4_K_M")
	a.PutInt(attrModelBlockCount, 36)
	a.PutInt(attrModelHeadCount, 16)
	a.PutInt(attrModelHeadCountKV, 2)
	e.ingestTraces(td)
	f := figureByID(e.page([]string{"unified"}), "unified-model")
	require.NotNil(t, f)
	require.Empty(t, f.Empty)
	cols := f.Data[0]["cells"].(dashboard.Obj)["values"].([][]string)
	require.Len(t, cols, 2, "one model")
	assert.Equal(t, []string{"qwen-q4km.gguf", "qwen2", "3.09 B", "Q4_K_M", "32,768 tokens", "36", "16 (kv 2)", "2,048",
		"151,936 tokens", "1.79 GiB", "qwen-q4km.gguf"}, cols[1])
}

// The model facts the exporter reads are the llamacpp receiver's resource attributes: renaming
// one there fails here instead of emptying a row of the model panel.
func TestModelAttributesAreDeclared(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "receiver", "llamacppreceiver", "metadata.yaml"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	key := regexp.MustCompile(`^  ([a-z0-9_.]+):\s*$`)
	var declared []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' && line[0] != '#' {
			in = strings.HasPrefix(line, "resource_attributes:")
			continue
		}
		if m := key.FindStringSubmatch(line); in && m != nil {
			declared = append(declared, m[1])
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, declared)
	for _, a := range modelAttrs {
		if !slices.Contains(declared, a) {
			t.Errorf("the model panel reads %s, which the llamacpp receiver's metadata.yaml does not declare", a)
		}
	}
}
