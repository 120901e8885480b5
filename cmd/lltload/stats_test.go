// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func msList(vals ...int) []time.Duration {
	ds := make([]time.Duration, len(vals))
	for i, v := range vals {
		ds[i] = time.Duration(v) * time.Millisecond
	}
	return ds
}

func TestPercentiles(t *testing.T) {
	var hundred []int
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, i)
	}
	assert.Equal(t, latencySummary{Count: 100, P50: 50, P95: 95, P99: 99, Mean: 50.5, Max: 100}, describe(msList(hundred...)))
	assert.Equal(t, latencySummary{Count: 1, P50: 7, P95: 7, P99: 7, Mean: 7, Max: 7}, describe(msList(7)))
	assert.Equal(t, latencySummary{Count: 4, P50: 20, P95: 40, P99: 40, Mean: 25, Max: 40}, describe(msList(40, 10, 30, 20)))
	assert.Equal(t, latencySummary{}, describe(nil))

	ten := msList(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	assert.Equal(t, 5*time.Millisecond, percentile(ten, 50))
	assert.Equal(t, 10*time.Millisecond, percentile(ten, 95))
	assert.Equal(t, 1*time.Millisecond, percentile(ten, 0))
	assert.Equal(t, 10*time.Millisecond, percentile(ten, 100))

	ds := []time.Duration{1500 * time.Microsecond}
	assert.Equal(t, 1.5, describe(ds).P50)
}

func sampleSummary() summary {
	s := newStats()
	cfg := &config{endpoint: "http://h/v1/chat/completions", arrivals: arrivalsPoisson, qps: 2, concurrency: 8}
	for i, lat := range []int{100, 200, 300, 400} {
		stream := i%2 == 0
		s.started(stream)
		s.finished(&result{spec: requestSpec{stream: stream}, latency: time.Duration(lat) * time.Millisecond,
			ttft: time.Duration(lat/10) * time.Millisecond, usage: &usage{PromptTokens: 10, CompletionTokens: 5}})
	}
	s.started(false)
	s.finished(&result{errKind: "http 500", status: 500})
	s.started(true)
	s.finished(&result{spec: requestSpec{stream: true}, errKind: errTruncated, usage: &usage{PromptTokens: 10, CompletionTokens: 2}})
	s.started(false)
	s.finished(&result{errKind: errTransport})
	s.started(false)
	s.finished(&result{errKind: "http 500"})
	s.skip()
	s.started(false) // still in flight
	p := s.progress()
	if p != (progress{sent: 9, ok: 4, errors: 4, skipped: 1, inFlight: 1}) {
		panic(p)
	}
	return s.summarize(cfg, 4*time.Second, 5*time.Second)
}

func TestSummary(t *testing.T) {
	sum := sampleSummary()
	assert.Equal(t, 9, sum.Sent)
	assert.Equal(t, 3, sum.Streamed)
	assert.Equal(t, 4, sum.OK)
	assert.Equal(t, 4, sum.Errors)
	assert.Equal(t, map[string]int{"http 500": 2, errTruncated: 1, errTransport: 1}, sum.ErrorsByKind)
	assert.Equal(t, 1, sum.Skipped)
	assert.Equal(t, latencySummary{Count: 4, P50: 200, P95: 400, P99: 400, Mean: 250, Max: 400}, sum.LatencyMS)
	assert.Equal(t, latencySummary{Count: 2, P50: 10, P95: 30, P99: 30, Mean: 20, Max: 30}, sum.TTFTMS)
	assert.Equal(t, int64(50), sum.PromptTokens, "tokens of failed requests count too")
	assert.Equal(t, int64(22), sum.CompletionTokens)
	assert.Equal(t, 2.25, sum.AchievedQPS)
	assert.Equal(t, 4.0, sum.SendSeconds)
	assert.Equal(t, 5.0, sum.ElapsedSeconds)

	var text bytes.Buffer
	require.NoError(t, sum.writeText(&text))
	assert.Equal(t, `lltload: http://h/v1/chat/completions, poisson arrivals at 2 req/s, concurrency 8
sent       9 in 4.0s (2.25 req/s achieved, 3 streamed)
ok         4
errors     4 (http 500: 2, transport: 1, truncated stream: 1)
skipped    1
latency    p50 200.0ms  p95 400.0ms  p99 400.0ms  mean 250.0ms  max 400.0ms  (4 ok requests)
ttft       p50 10.0ms  p95 30.0ms  p99 30.0ms  mean 20.0ms  max 30.0ms  (2 streams)
tokens     prompt 50, completion 22
`, text.String())

	var js bytes.Buffer
	require.NoError(t, sum.writeJSON(&js))
	var back summary
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, sum, back)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &raw))
	for _, k := range []string{"sent", "ok", "errors", "errors_by_kind", "skipped", "latency_ms", "ttft_ms",
		"prompt_tokens", "completion_tokens", "achieved_qps", "send_seconds", "elapsed_seconds"} {
		assert.Contains(t, raw, k)
	}

	assert.Equal(t, "http://user:xxxxx@h/v1/chat/completions", redacted("http://user:pw@h/v1/chat/completions"))
	assert.Equal(t, "http://h/", redacted("http://h/"))

	empty := newStats().summarize(&config{endpoint: "u", arrivals: arrivalsFixed, qps: 1, concurrency: 1}, 0, 0)
	text.Reset()
	require.NoError(t, empty.writeText(&text))
	assert.Contains(t, text.String(), "errors     0\n")
	assert.Contains(t, text.String(), "latency    - (no ok requests)\n")
	assert.Contains(t, text.String(), "ttft       - (no streams)\n")
	js.Reset()
	require.NoError(t, empty.writeJSON(&js))
	assert.Contains(t, js.String(), `"errors_by_kind": {}`)
}
