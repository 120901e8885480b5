// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// benchTraces is a batch of n gateway-like spans (about 20 v1.41 attributes each, and the captured
// prompt that config.yaml's capture_content gives them), a quarter of them as OpenInference would
// send them.
func benchTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		s := gatewaySpan(ss, "llt-tiny", int64(100+i%50), int64(20+i%30), time.Second, 200*time.Millisecond)
		a := s.Attributes()
		a.PutStr("server.address", "127.0.0.1")
		a.PutInt("server.port", 8080)
		a.PutDouble("gen_ai.request.temperature", 0.7)
		a.PutInt("gen_ai.request.max_tokens", 64)
		a.PutBool("gen_ai.request.stream", true)
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%d", i))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutStr("http.request.method", "POST")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("url.path", "/v1/chat/completions")
		a.PutInt("llamacpp.timings.prompt_n", 100)
		a.PutDouble("llamacpp.timings.prompt_ms", 12.5)
		a.PutInt("llamacpp.timings.predicted_n", 20)
		a.PutDouble("llamacpp.timings.predicted_ms", 150)
		withContent(s, testProse[i%len(testProse)])
		if i%4 == 0 {
			a.Remove("gen_ai.usage.input_tokens")
			a.Remove("gen_ai.usage.output_tokens")
			a.Remove("gen_ai.request.model")
			a.PutStr("llm.model_name", "llt-tiny")
			a.PutInt("llm.token_count.prompt", 100)
			a.PutInt("llm.token_count.completion", 20)
			a.PutStr("llm.invocation_parameters", `{"temperature":0.7,"max_tokens":64}`)
			a.PutStr("openinference.span.kind", "LLM")
		}
	}
	return td
}

// BenchmarkProcess: normalize + facts + derived values (no embeddings) per span, with and
// without the pairing of client and gateway spans (correlate, on by default), beside a baseline
// that only walks the same spans' attributes (the cost of touching the data at all). The spans
// are what a gateway sends: every one is recorded, waiting for a client span that may come.
func BenchmarkProcess(b *testing.B) {
	const batch = 1000
	// Batches with ids of their own (chatcmpl-<k>-<i>), used in turn: more distinct ids than the
	// correlator keeps, as a gateway's spans have.
	srcs := make([]ptrace.Traces, 16)
	for k := range srcs {
		srcs[k] = benchTraces(batch)
		spans := srcs[k].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			spans.At(i).Attributes().PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%d-%d", k, i))
		}
	}
	src := srcs[0]
	// enrich, then with correlation, then with attention sampled at the default rate (one prompt
	// in 10, at most one per 10 s, computed on a background worker), then enrich again as a
	// control of the order's own effect.
	for _, c := range []struct {
		name                 string
		correlate, attention bool
	}{{"enrich", false, false}, {"enrich+correlate", true, false}, {"enrich+attention", false, true}, {"enrich-again", false, false}} {
		b.Run(c.name, func(b *testing.B) {
			e := benchEnricher(b, c.correlate, c.attention)
			processEach(b, e, srcs, batch)
		})
	}
	// The same comparison with the noise of this machine taken out: each iteration processes one
	// batch with attention off and the same batch with attention on (default rate), in turns,
	// each timed on its own, so drift of the host's speed hits both alike. Reported: the time per
	// batch of each and their ratio (on/off).
	b.Run("attention-interleaved", func(b *testing.B) {
		off, on := benchEnricher(b, false, false), benchEnricher(b, false, true)
		var tOff, tOn time.Duration
		for i := 0; b.Loop(); i++ {
			src := srcs[i%len(srcs)]
			a, c := ptrace.NewTraces(), ptrace.NewTraces()
			src.CopyTo(a)
			src.CopyTo(c)
			first, second, t1, t2 := off, on, &tOff, &tOn
			if i%2 == 1 {
				first, second, t1, t2 = on, off, &tOn, &tOff
			}
			t0 := time.Now()
			if _, err := first.processTraces(context.Background(), a); err != nil {
				b.Fatal(err)
			}
			mid := time.Now()
			if _, err := second.processTraces(context.Background(), c); err != nil {
				b.Fatal(err)
			}
			*t1 += mid.Sub(t0)
			*t2 += time.Since(mid)
		}
		b.ReportMetric(float64(tOff.Microseconds())/float64(b.N)/1000, "ms-off/batch")
		b.ReportMetric(float64(tOn.Microseconds())/float64(b.N)/1000, "ms-on/batch")
		b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
	})
	b.Run("baseline-walk", func(b *testing.B) {
		// The walk only reads: no copy per iteration (copies outside the timer would make the
		// benchmark's wall time hundreds of times its measured time).
		td := src
		for b.Loop() {
			n := 0
			spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for i := 0; i < spans.Len(); i++ {
				n += spans.At(i).Attributes().Len()
			}
			if n == 0 {
				b.Fatal("no attributes")
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "spans/s")
	})
}

// benchCalls is a batch of n/2 gateway spans followed by the n/2 client spans of the same calls
// in other traces (as an SDK that sends no traceparent exports them): three in four client spans
// carry the response id, the others (as OpenInference) are paired by the fallback, among the
// hundred or so calls that overlap each.
func benchCalls(n int) ptrace.Traces {
	td := benchTraces(n / 2)
	ss := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range n / 2 {
		// Calls 2 ms apart, 200 ms each: about a hundred in flight at any time.
		start := pcommon.NewTimestampFromTime(time.Unix(1_800_000_000, 0).Add(time.Duration(i) * 2 * time.Millisecond))
		ss.At(i).SetStartTimestamp(start)
		ss.At(i).SetEndTimestamp(start + pcommon.Timestamp(200*time.Millisecond))
		c := ss.AppendEmpty()
		c.SetTraceID(pcommon.TraceID{1, byte(i >> 8), byte(i)})
		c.SetSpanID(pcommon.SpanID{1, byte(i >> 8), byte(i)})
		c.SetKind(ptrace.SpanKindClient)
		c.SetName("openai.chat")
		c.SetStartTimestamp(ss.At(i).StartTimestamp() - 1e6)
		c.SetEndTimestamp(ss.At(i).EndTimestamp() + 1e6)
		a := c.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "llt-tiny")
		if i%4 != 0 {
			id, _ := ss.At(i).Attributes().Get("gen_ai.response.id")
			a.PutStr("gen_ai.response.id", id.Str())
		}
	}
	return td
}

// BenchmarkProcessCorrelate: the same enrichment with and without the pairing of client and
// gateway spans, on a batch where every call has both spans (the worst case for its cost).
func BenchmarkProcessCorrelate(b *testing.B) {
	const batch = 1000
	src := benchCalls(batch)
	for _, on := range []bool{false, true} {
		name := "without-correlate"
		if on {
			name = "with-correlate"
		}
		b.Run(name, func(b *testing.B) {
			e := benchEnricher(b, on, false)
			processEach(b, e, []ptrace.Traces{src}, batch)
		})
	}
}

// processEach processes a copy of the batches in turn for the benchmark's iterations (the copies
// outside the timer) and reports spans/s.
func processEach(b *testing.B, e *enricher, srcs []ptrace.Traces, batch int) {
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		td := ptrace.NewTraces()
		srcs[i%len(srcs)].CopyTo(td)
		b.StartTimer()
		if _, err := e.processTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "spans/s")
}

// benchEnricher is the traces enricher of the benchmarks: the tiny model's facts, the GPU-time
// cost, the default correlation when correlate is set, and attention sampled at the default rate
// when attention is.
func benchEnricher(b *testing.B, correlate, attention bool) *enricher {
	cfg := modelConfig(b)
	cfg.Cost.GPUHourlyUSD = 2
	cfg.Attention.Enabled = attention
	e, err := newEnricher(cfg, componenttest.NewNopTelemetrySettings())
	if err != nil {
		b.Fatal(err)
	}
	e.next = consumertest.NewNop()
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.shutdown(context.Background()) })
	if attention && e.att == nil {
		b.Fatal("attention sampling did not start")
	}
	if correlate {
		p, err := newPairer(createDefaultConfig().(*Config).Correlate, componenttest.NewNopTelemetrySettings())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		e.pairs = p
	}
	return e
}

// BenchmarkProcessEmbeddings: the embeddings path on its own (real llama-server tokenizing, the
// tiny model's token embeddings, projection), in spans/s; beside it the same spans without
// embeddings, in the same run.
func BenchmarkProcessEmbeddings(b *testing.B) {
	srv := llamatest.Start(b, llamatest.Options{})
	const batch = 100
	src := ptrace.NewTraces()
	ss := src.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range batch {
		prompt := testProse[i%len(testProse)]
		if i%2 == 0 {
			prompt = testCode[i%len(testCode)]
		}
		withContent(gatewaySpan(ss, "llt-tiny", 10, 2, time.Second, 0), prompt)
	}
	for _, on := range []bool{true, false} {
		name := "with-embeddings"
		if !on {
			name = "baseline-without"
		}
		b.Run(name, func(b *testing.B) {
			cfg := modelConfig(b)
			cfg.Embeddings.Enabled = on
			cfg.Embeddings.Endpoint = srv.URL
			e, err := newEnricher(cfg, componenttest.NewNopTelemetrySettings())
			if err != nil {
				b.Fatal(err)
			}
			if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = e.shutdown(context.Background()) }()
			processEach(b, e, []ptrace.Traces{src}, batch)
		})
	}
}

// BenchmarkAttentionOffer: what attention sampling adds to each span on the hot path at the
// default rate (a prompt check, a counter, a clock comparison; for the sampled one in ten within
// the interval, its text and a non-blocking send), per span. Compare with BenchmarkProcess's time
// per span (about 5 µs).
func BenchmarkAttentionOffer(b *testing.B) {
	cfg := modelConfig(b)
	cfg.Attention.Enabled = true
	s, err := newAttentionSampler(cfg, nil, consumertest.NewNop(), nil, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.shutdown)
	s.queue = make(chan attentionJob, 1) // no worker: the first sample fills the queue
	td := benchTraces(1000)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	res := td.ResourceSpans().At(0).Resource()
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		s.offer(spans.At(i%spans.Len()), res, now)
	}
}
