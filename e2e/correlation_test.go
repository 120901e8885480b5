// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// openInferenceSpan is the client span that OpenInference's OpenAI instrumentation writes for a
// call (attribute names from its semantic conventions: llm.model_name is the model that
// answered, llm.invocation_parameters the request's parameters, token counts only when the
// response carried usage, and no response id), in a trace of its own as when no traceparent is
// sent.
func openInferenceSpan(ss ptrace.SpanSlice, i int, c clientCall) ptrace.Span {
	s := ss.AppendEmpty()
	s.SetTraceID(pcommon.TraceID{0xfb, byte(i >> 8), byte(i)})
	s.SetSpanID(fallbackSpanID(i))
	s.SetName("ChatCompletion")
	s.SetKind(ptrace.SpanKindInternal)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(c.Start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(c.End))
	a := s.Attributes()
	a.PutStr("openinference.span.kind", "LLM")
	a.PutStr("llm.system", "openai")
	a.PutStr("llm.provider", "openai")
	a.PutStr("llm.model_name", c.Model)
	a.PutStr("llm.invocation_parameters", fmt.Sprintf(`{"model":"demo","max_tokens":%d,"temperature":0,"stream":%v}`, 8, c.Stream))
	if !c.Stream {
		a.PutInt("llm.token_count.prompt", c.In)
		a.PutInt("llm.token_count.completion", c.Out)
		a.PutInt("llm.token_count.total", c.In+c.Out)
	}
	return s
}

func fallbackSpanID(i int) pcommon.SpanID {
	return pcommon.SpanID{0xfb, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}
}

// TestFallbackErrorRate measures the correlation without response ids on the real product: 160
// calls at concurrency 8 through the gateway of the default config, half of them streamed, each
// reported as OpenInference reports it (no response id; no usage for a stream) to the collector's
// OTLP receiver in batches every 500 ms. Each client span's pair, found by the processor's
// fallback, is checked against the response id the client really got. The figures are in the
// test's log; the bound is loose because they depend on the machine's load.
func TestFallbackErrorRate(t *testing.T) {
	run := startDefaultConfig(t, "")
	const calls, workers = 160, 8
	results := make([]clientCall, calls)
	var mu sync.Mutex
	var pending []int
	jobs := make(chan int)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				prompt := []string{"Say hello.", "Count to three.", "Name a colour.", "What is two plus two?"}[i%4]
				c, err := goCall(ctx, run.GatewayURL(), prompt, i%2 == 1, int64(4+i%9))
				if !assert.NoError(t, err, "call %d", i) {
					continue
				}
				mu.Lock()
				results[i] = c
				pending = append(pending, i)
				mu.Unlock()
			}
		})
	}
	flushed := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(flushed)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for done := false; !done; {
			select {
			case <-tick.C:
			case <-stop:
				done = true
			}
			mu.Lock()
			batch := pending
			pending = nil
			mu.Unlock()
			if len(batch) > 0 {
				td := ptrace.NewTraces()
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", "fallback-probe")
				ss := rs.ScopeSpans().AppendEmpty()
				ss.Scope().SetName("@arizeai/openinference-instrumentation-openai")
				for _, i := range batch {
					openInferenceSpan(ss.Spans(), i, results[i])
				}
				postOTLP(t, run.OTLPURL(), td)
			}
		}
	}()
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(stop)
	<-flushed

	var spans []fileSpan
	assert.Eventually(t, func() bool {
		spans = run.spans()
		probes := 0
		for _, s := range spans {
			if s.Service == "fallback-probe" {
				probes++
			}
		}
		return probes == calls
	}, 30*time.Second, 200*time.Millisecond, "the probe's client spans did not all arrive:\n%s", tail(run.logs.String(), 40))
	matched := run.InternalMetric(t, "otelcol_genaienrich_correlation_matched", `method="fallback"`)
	run.Stop(t)
	spans = run.Spans(t)

	for _, s := range spans {
		if s.Attrs["error.type"] != nil {
			t.Logf("failed call: %s: %s (%v)", s.Name, s.Status, s.Attrs["error.type"])
		}
	}
	// The response id of each gateway span, and each client span's partner by the links either
	// way.
	idOf := map[string]string{}
	for _, s := range spans {
		if s.Kind == int(ptrace.SpanKindServer) {
			id, _ := s.Attrs["gen_ai.response.id"].(string)
			idOf[s.SpanID] = id
		}
	}
	partner := map[string]string{}
	for _, s := range spans {
		for _, l := range s.Links {
			if l.Attrs["llt.gen_ai.correlation.method"] != "fallback" {
				continue
			}
			if s.Service == "fallback-probe" {
				partner[s.SpanID] = l.SpanID
			} else {
				partner[l.SpanID] = s.SpanID
			}
		}
	}
	wrong, unmatched := 0, 0
	for i, c := range results {
		sid := fallbackSpanID(i)
		gw, ok := partner[hex.EncodeToString(sid[:])]
		switch {
		case !ok:
			unmatched++
		case idOf[gw] != c.ResponseID:
			wrong++
		}
	}
	t.Logf("fallback correlation: %d calls at concurrency %d (half streamed, no usage on those): %d paired right, "+
		"%d paired wrong (%.1f%%), %d unpaired (%.1f%%); processor's fallback matches: %.0f",
		calls, workers, calls-wrong-unmatched, wrong, 100*float64(wrong)/calls, unmatched, 100*float64(unmatched)/calls, matched)
	// Measured: 0 of 160 wrong or unpaired on a quiet machine; 15 and 19 of 160 on the 2-core
	// build machine under a full test run, where calls of the same length start
	// milliseconds apart and the client's own timestamps lag. The bound catches a broken fallback,
	// not that load-dependent spread.
	assert.LessOrEqual(t, wrong+unmatched, calls/5, "the fallback errs on more than 20%% of calls")
}

// postOTLP sends td to an OTLP/HTTP receiver as protobuf, as the SDKs' exporters do.
func postOTLP(t *testing.T, base string, td ptrace.Traces) {
	body, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	resp, err := http.Post(base+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
