// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestMetricsAfterKnownRequests(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Answer") {
		case "stream":
			sseAnswer(fixture(t, "b11669/chat-completion-stream.sse"), time.Millisecond)(w, r)
		case "500":
			jsonAnswer(500, []byte(`{"error":{"code":500,"message":"Failed to parse input at pos 3","type":"server_error"}}`))(w, r)
		default:
			jsonAnswer(200, fixture(t, "b11669/chat-completion.json"))(w, r) // 67 in, 16 out
		}
	})
	before := time.Now()
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	req := `{"model":"tiny-test","messages":[{"role":"user","content":"hi"}]}`
	post(t, gw.url+"/v1/chat/completions", req)
	post(t, gw.url+"/v1/chat/completions", req)
	post(t, gw.url+"/v1/chat/completions", strings.Replace(req, "{", `{"stream":true,`, 1), "X-Answer", "stream") // 60 in, 6 out
	post(t, gw.url+"/v1/chat/completions", req, "X-Answer", "500")
	waitServerSpans(t, gw.sink, 4)

	now := pcommon.NewTimestampFromTime(time.Now())
	ms := pmetric.NewMetricSlice()
	gw.AppendMetrics(ms, now)
	var names []string
	for i := 0; i < ms.Len(); i++ {
		names = append(names, ms.At(i).Name())
	}
	assert.Equal(t, []string{
		"gen_ai.server.request.duration", "gen_ai.server.time_to_first_token", "gen_ai.server.time_per_output_token",
		"gen_ai.client.token.usage", "llamacpp.gateway.request.duration", "llamacpp.gateway.requests",
	}, names)

	host, port := upstreamHostPort(t, up.URL)
	success := map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "llama_cpp", "gen_ai.request.model": "tiny-test",
		"gen_ai.response.model": "tiny-test", "server.address": host, "server.port": port,
	}
	failure := map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "llama_cpp", "gen_ai.request.model": "tiny-test",
		"server.address": host, "server.port": port, "error.type": "500",
	}

	type point struct {
		attrs  map[string]any
		count  uint64
		sum    float64
		counts []uint64 // nil: only check that buckets add up
	}
	check := func(name, unit string, bounds []float64, want []point) {
		t.Helper()
		m, ok := metricByName(ms, name)
		require.True(t, ok, name)
		assert.Equal(t, unit, m.Unit(), name)
		require.Equal(t, pmetric.MetricTypeHistogram, m.Type(), name)
		h := m.Histogram()
		assert.Equal(t, pmetric.AggregationTemporalityCumulative, h.AggregationTemporality())
		require.Equal(t, len(want), h.DataPoints().Len(), name)
		for i, w := range want {
			dp := h.DataPoints().At(i)
			assert.Equal(t, w.attrs, dp.Attributes().AsRaw(), name)
			assert.Equal(t, w.count, dp.Count(), name)
			assert.Equal(t, bounds, dp.ExplicitBounds().AsRaw(), name)
			assert.Len(t, dp.BucketCounts().AsRaw(), len(bounds)+1, name)
			var total uint64
			for _, c := range dp.BucketCounts().AsRaw() {
				total += c
			}
			assert.Equal(t, dp.Count(), total, name)
			if w.sum != 0 {
				assert.InDelta(t, w.sum, dp.Sum(), 1e-12, name)
			}
			if w.counts != nil {
				assert.Equal(t, w.counts, dp.BucketCounts().AsRaw(), name)
			}
			assert.True(t, dp.StartTimestamp().AsTime().After(before))
			assert.Equal(t, now, dp.Timestamp())
			assert.LessOrEqual(t, dp.Min(), dp.Max())
		}
	}
	check("gen_ai.server.request.duration", "s", requestDurationBounds, []point{{attrs: success, count: 3}, {attrs: failure, count: 1}})
	check("llamacpp.gateway.request.duration", "s", fineDurationBounds, []point{{attrs: success, count: 3}, {attrs: failure, count: 1}})
	check("gen_ai.server.time_to_first_token", "s", timeToFirstTokenBounds, []point{{attrs: success, count: 1}})
	// Decode time per token after the first, from timings: 4.848 ms / 15 twice, 1.515 ms / 5 once.
	check("gen_ai.server.time_per_output_token", "s", timePerOutputTokenBounds, []point{{
		attrs: success, count: 3, sum: 2*4.848/15/1000 + 1.515/5/1000,
		counts: []uint64{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}})
	with := func(m map[string]any, k, v string) map[string]any {
		out := map[string]any{k: v}
		for kk, vv := range m {
			out[kk] = vv
		}
		return out
	}
	check("gen_ai.client.token.usage", "{token}", tokenUsageBounds, []point{
		{attrs: with(success, "gen_ai.token.type", "input"), count: 3, sum: 67 + 67 + 60,
			counts: []uint64{0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{attrs: with(success, "gen_ai.token.type", "output"), count: 3, sum: 16 + 16 + 6,
			counts: []uint64{0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	})

	m, ok := metricByName(ms, "llamacpp.gateway.requests")
	require.True(t, ok)
	assert.Equal(t, "{request}", m.Unit())
	require.Equal(t, pmetric.MetricTypeSum, m.Type())
	assert.True(t, m.Sum().IsMonotonic())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
	got := map[string]int64{}
	for i := 0; i < m.Sum().DataPoints().Len(); i++ {
		dp := m.Sum().DataPoints().At(i)
		a := dp.Attributes().AsRaw()
		assert.Len(t, a, 2)
		got[a["outcome"].(string)+"/"+a["gen_ai.operation.name"].(string)] = dp.IntValue()
	}
	assert.Equal(t, map[string]int64{"success/chat": 3, "error/chat": 1}, got)

	// Cumulative: a second read after one more request counts everything since Start.
	post(t, gw.url+"/v1/chat/completions", req)
	waitServerSpans(t, gw.sink, 5)
	ms2 := pmetric.NewMetricSlice()
	gw.AppendMetrics(ms2, now)
	m2, _ := metricByName(ms2, "gen_ai.server.request.duration")
	assert.Equal(t, uint64(4), m2.Histogram().DataPoints().At(0).Count())
}

func TestMetricsWithoutTraces(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(200, fixture(t, "b11669/v1-embeddings.json")))
	g, err := New(Config{Server: listenOn("127.0.0.1:0")}, Settings{Upstream: fixedURL(up.URL)})
	require.NoError(t, err)
	ms := pmetric.NewMetricSlice()
	g.AppendMetrics(ms, 0)
	assert.Equal(t, 0, ms.Len(), "nothing before the first request")
	require.NoError(t, g.Start(context.Background(), nil))
	for i := 0; i < 3; i++ {
		post(t, "http://"+g.Addr()+"/v1/embeddings", `{"input":"x"}`)
	}
	require.NoError(t, g.Shutdown(context.Background()), "drains the pipeline")
	g.AppendMetrics(ms, pcommon.NewTimestampFromTime(time.Now()))
	m, ok := metricByName(ms, "gen_ai.client.token.usage")
	require.True(t, ok)
	require.Equal(t, 1, m.Histogram().DataPoints().Len(), "embeddings have input tokens only")
	assert.Equal(t, 36.0, m.Histogram().DataPoints().At(0).Sum())
	_, ok = metricByName(ms, "gen_ai.server.time_to_first_token")
	assert.False(t, ok)
}

func TestHistogramBuckets(t *testing.T) {
	h := newHistogram[string]("h", "s", "", []float64{1, 2, 5}, "overflow")
	for _, v := range []float64{0, 1, 1.5, 2, 5, 5.0001, 100} {
		h.record("k", v)
	}
	p := h.points["k"]
	assert.Equal(t, []uint64{2, 2, 1, 2}, p.counts, "upper bounds are inclusive")
	assert.Equal(t, uint64(7), p.count)
	assert.Equal(t, 0.0, p.min)
	assert.Equal(t, 100.0, p.max)
}

func TestMetricSeriesCapped(t *testing.T) {
	m := newMetricsAggregator()
	for i := 0; i < maxSeries+5; i++ {
		m.record(&observation{attrs: genAIAttrs{operation: "chat", provider: "llama_cpp", requestModel: strconv.Itoa(i)}, duration: 0.001})
	}
	ms := pmetric.NewMetricSlice()
	m.appendTo(ms, 0, 1)
	d, ok := metricByName(ms, "gen_ai.server.request.duration")
	require.True(t, ok)
	require.Equal(t, maxSeries+1, d.Histogram().DataPoints().Len())
	last := d.Histogram().DataPoints().At(maxSeries)
	assert.Equal(t, map[string]any{"otel.metric.overflow": true}, last.Attributes().AsRaw())
	assert.Equal(t, uint64(5), last.Count())
}

// TestDisabledMetricsNotEmitted: each metric named in DisabledMetrics is left out of
// AppendMetrics (and not aggregated), the others are unchanged.
func TestDisabledMetricsNotEmitted(t *testing.T) {
	all := []string{
		MetricRequestDuration, MetricTimeToFirstToken, MetricTimePerOutputToken,
		MetricTokenUsage, MetricGatewayDuration, MetricGatewayRequests,
	}
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(fixture(t, "b11669/chat-completion-stream.sse"), 0)(w, r)
	})
	req := `{"model":"tiny-test","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	emitted := func(t *testing.T, disabled ...string) []string {
		gw := startGateway(t, Config{DisabledMetrics: disabled}, fixedURL(up.URL))
		post(t, gw.url+"/v1/chat/completions", req)
		waitServerSpans(t, gw.sink, 1)
		ms := pmetric.NewMetricSlice()
		gw.AppendMetrics(ms, pcommon.NewTimestampFromTime(time.Now()))
		var names []string
		for i := 0; i < ms.Len(); i++ {
			names = append(names, ms.At(i).Name())
		}
		return names
	}
	require.ElementsMatch(t, all, emitted(t), "a streamed answer with usage feeds all six")
	for _, off := range all {
		t.Run(off, func(t *testing.T) {
			var want []string
			for _, n := range all {
				if n != off {
					want = append(want, n)
				}
			}
			assert.ElementsMatch(t, want, emitted(t, off))
		})
	}
	t.Run("all", func(t *testing.T) {
		assert.Empty(t, emitted(t, all...))
	})
	t.Run("aggregator", func(t *testing.T) {
		m := newMetricsAggregator(MetricTokenUsage, MetricGatewayRequests)
		m.record(&observation{attrs: genAIAttrs{operation: "chat"}, duration: 0.1, tokens: tokenCounts{hasInput: true, input: 3}})
		assert.Nil(t, m.tokens, "a disabled histogram holds nothing")
		assert.Empty(t, m.requests)
		assert.Equal(t, uint64(1), m.duration.points[genAIAttrs{operation: "chat"}].count)
	})
}
