// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadatatest"
)

var (
	testCode = []string{
		"func add(a, b int) int { return a + b }", "for (int i = 0; i < n; i++) { sum += a[i]; }",
		"SELECT id, name FROM users WHERE age > 30;", "def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)",
		"const xs = items.map((x) => x * 2).filter((x) => x > 10);", "if err != nil { return fmt.Errorf(\"open: %w\", err) }",
		"class Stack { push(x) { this.items.push(x); } }", "while (*p != '\\0') { p++; } return p - s;",
		"let v: Vec<u32> = (0..10).map(|i| i * i).collect();", "map[string]int{\"a\": 1, \"b\": 2}[key]++",
	}
	testProse = []string{
		"The weather was lovely this morning and we walked along the river.",
		"My grandmother used to bake bread every Sunday before church.",
		"Please tell me a short story about a dog who learns to swim.",
		"We are planning a trip to the mountains next summer with friends.",
		"The library opens at nine and closes late on weekdays.",
		"She smiled when she saw the garden full of yellow flowers.",
		"Reading a good book on a rainy afternoon is a simple pleasure.",
		"The children played in the park until the sun went down.",
		"He wrote a long letter to his brother who lives abroad.",
		"Learning to play the piano takes patience and daily practice.",
	}
)

func withContent(s ptrace.Span, prompt string) {
	msgs, _ := json.Marshal([]map[string]any{{"role": "user", "parts": []map[string]any{{"type": "text", "content": prompt}}}})
	s.Attributes().PutStr("gen_ai.input.messages", string(msgs))
	s.Attributes().PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"ANSWER-TEXT"}]}]`)
	ev := s.Events().AppendEmpty()
	ev.SetName("gen_ai.content.prompt")
	ev.Attributes().PutStr("gen_ai.prompt", prompt)
}

// With the real llama-server tokenizing and the tiny model's own token embeddings, code and
// prose prompts land in separable regions of the projection, and no captured text leaves.
func TestEmbeddingsSeparateAndDropContent(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{})
	cfg := modelConfig(t)
	cfg.Embeddings.Enabled = true
	cfg.Embeddings.Endpoint = srv.URL
	cfg.Embeddings.Tokenizer = TokenizerServer // tokens from llama-server's /tokenize
	cfg.Embeddings.Window = 100
	cfg.Embeddings.Categories = []CategoryConfig{{Name: "code", Match: `[{};]|=>|def |SELECT`}}

	// Two rounds fit the projection; a third, sent after the fit, is measured against it.
	batch := func(round int) ptrace.Traces {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i := range testCode {
			withContent(gatewaySpan(ss, "llt-tiny", 10, 2, time.Second, 0), testCode[i]+strings.Repeat(" ", round))
			withContent(gatewaySpan(ss, "llt-tiny", 10, 2, time.Second, 0), testProse[i]+strings.Repeat(" ", round))
		}
		return td
	}
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeTraces(context.Background(), batch(0)))
	require.NoError(t, p.ConsumeTraces(context.Background(), batch(1)))
	time.Sleep(300 * time.Millisecond) // the background fit of the first 40 vectors
	require.NoError(t, p.ConsumeTraces(context.Background(), batch(2)))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllTraces(), 3)
	for b, td := range sink.AllTraces()[:2] {
		sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < sp.Len(); i++ {
			assert.NotContains(t, sp.At(i).Attributes().AsRaw(), "gen_ai.input.messages", "batch %d span %d", b, i)
		}
	}
	out := sink.AllTraces()[2]
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	kinds := func(i int) string { return []string{"code", "prose"}[i%2] }
	raw, err := json.Marshal(spans.At(0).Attributes().AsRaw())
	require.NoError(t, err)
	var code, prose [][3]float64
	for i := 0; i < spans.Len(); i++ {
		a := spans.At(i).Attributes().AsRaw()
		for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages"} {
			assert.NotContains(t, a, k, "span %d still carries %s", i, k)
		}
		for j := 0; j < spans.At(i).Events().Len(); j++ {
			assert.Zero(t, spans.At(i).Events().At(j).Attributes().Len(), "event attributes with content remain")
		}
		p, ok := a[attrProjection].([]any)
		if !ok {
			continue
		}
		require.Len(t, p, 3)
		pt := [3]float64{p[0].(float64), p[1].(float64), p[2].(float64)}
		if kinds(i) == "code" {
			code = append(code, pt)
			assert.Equal(t, "code", a[attrCategory])
		} else {
			prose = append(prose, pt)
		}
	}
	t.Logf("first span after enrichment: %s", raw)
	require.Len(t, code, len(testCode), "every measured code prompt has a point")
	require.Len(t, prose, len(testProse), "every measured prose prompt has a point")
	require.NotEmpty(t, prose)
	// Separation: every measured point is nearer its own group's centroid.
	cc, cp := centroid(code), centroid(prose)
	wrong := 0
	for i, p := range code {
		if dist3(p, cc) >= dist3(p, cp) {
			wrong++
			t.Logf("code prompt %q is nearer the prose centroid (%.4f vs %.4f)", testCode[i], dist3(p, cp), dist3(p, cc))
		}
	}
	for i, p := range prose {
		if dist3(p, cp) >= dist3(p, cc) {
			wrong++
			t.Logf("prose prompt %q is nearer the code centroid (%.4f vs %.4f)", testProse[i], dist3(p, cc), dist3(p, cp))
		}
	}
	spread := 0.0
	for _, p := range code {
		spread += dist3(p, cc) / float64(len(code)+len(prose))
	}
	for _, p := range prose {
		spread += dist3(p, cp) / float64(len(code)+len(prose))
	}
	t.Logf("code %d, prose %d points; centroid distance %.4f, mean spread %.4f; %d nearer the other centroid",
		len(code), len(prose), dist3(cc, cp), spread, wrong)
	// Separable regions: a plane puts every code point on one side and every prose point on the
	// other (found by a perceptron, which converges exactly when such a plane exists), and the
	// groups' centres are farther apart than the points are from their own centre.
	assert.True(t, linearlySeparable(code, prose), "no plane separates code from prose in the projection")
	assert.Greater(t, dist3(cc, cp), spread, "the groups overlap")
	assert.LessOrEqual(t, wrong, 2, "most points are nearer their own group's centre")
	assert.NotContains(t, fmt.Sprint(out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(5).Attributes().AsRaw()), "ANSWER-TEXT")
}

// The tokenizer is down: spans pass without a point, and the text is still dropped.
func TestEmbeddingsServerDown(t *testing.T) {
	cfg := modelConfig(t)
	cfg.Embeddings.Enabled = true
	cfg.Embeddings.Tokenizer = TokenizerServer
	cfg.Embeddings.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", llamatest.FreePort(t))
	cfg.Embeddings.Timeout = 500 * time.Millisecond
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 5 {
		withContent(gatewaySpan(ss, "llt-tiny", 10, 2, time.Second, 0), testProse[i])
	}
	start := time.Now()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	out, logs := runTracesWith(t, metadatatest.NewSettings(tt), cfg, td)
	assert.Less(t, time.Since(start), 5*time.Second, "bounded by the timeout")
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	require.Equal(t, 5, spans.Len(), "nothing dropped")
	for i := 0; i < spans.Len(); i++ {
		a := spans.At(i).Attributes().AsRaw()
		assert.NotContains(t, a, attrProjection)
		assert.NotContains(t, a, "gen_ai.input.messages")
		assert.Equal(t, "llama", a[attrArchitecture], "facts still added")
	}
	assert.Equal(t, 1, logs.FilterMessageSnippet("no vector for some spans").Len())
	metadatatest.AssertEqualGenaienrichEmbeddingFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 5}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// With tokenizer auto (the default) and the generated model's SentencePiece vocabulary, prompts
// are tokenized in the collector: every span gets a point with no llama-server at all.
// (internal/tokenize checks the tokens against llama-server's /tokenize, token for token.)
func TestEmbeddingsInProcessTokenizer(t *testing.T) {
	for _, mode := range []string{TokenizerAuto, TokenizerGGUF} {
		t.Run(mode, func(t *testing.T) {
			cfg := modelConfig(t)
			cfg.Embeddings.Enabled = true
			cfg.Embeddings.Tokenizer = mode
			cfg.Embeddings.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", llamatest.FreePort(t)) // nothing listens
			td := ptrace.NewTraces()
			ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
			for i := range 8 {
				withContent(gatewaySpan(ss, "llt-tiny", 10, 2, time.Second, 0), testProse[i])
			}
			out, logs := runTraces(t, cfg, td)
			spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			require.Equal(t, 8, spans.Len())
			for i := 2; i < spans.Len(); i++ { // the first fit needs three vectors
				assert.Contains(t, spans.At(i).Attributes().AsRaw(), attrProjection, "span %d", i)
			}
			assert.Equal(t, 1, logs.FilterMessageSnippet("tokenizes prompts in the collector").Len())
		})
	}
}

func centroid(ps [][3]float64) (c [3]float64) {
	for _, p := range ps {
		for i := range 3 {
			c[i] += p[i] / float64(len(ps))
		}
	}
	return c
}

func dist3(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// linearlySeparable runs a perceptron (with a bias) over the points, scaled to unit range; it
// converges, with no point misclassified, exactly when a separating plane exists (Novikoff).
func linearlySeparable(a, b [][3]float64) bool {
	scale := 0.0
	for _, ps := range [][][3]float64{a, b} {
		for _, p := range ps {
			for _, x := range p {
				scale = math.Max(scale, math.Abs(x))
			}
		}
	}
	if scale == 0 {
		return false
	}
	var w [4]float64
	for epoch := 0; epoch < 100000; epoch++ {
		errors := 0
		for label, ps := range [][][3]float64{a, b} {
			y := 1.0
			if label == 1 {
				y = -1
			}
			for _, p := range ps {
				x := [4]float64{p[0] / scale, p[1] / scale, p[2] / scale, 1}
				if y*(w[0]*x[0]+w[1]*x[1]+w[2]*x[2]+w[3]*x[3]) <= 0 {
					for i := range w {
						w[i] += y * x[i]
					}
					errors++
				}
			}
		}
		if errors == 0 {
			return true
		}
	}
	return false
}
