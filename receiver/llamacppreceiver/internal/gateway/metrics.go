// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"math"
	"slices"
	"sort"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Explicit bucket boundaries. The gen_ai.* ones are those the GenAI semantic conventions v1.41
// give (docs/gen-ai/gen-ai-metrics.md); the fine one resolves the sub-10 ms requests of a fast
// GPU, which would all land in the spec's first bucket.
var (
	requestDurationBounds    = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	timeToFirstTokenBounds   = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	timePerOutputTokenBounds = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
	tokenUsageBounds         = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	fineDurationBounds       = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60}
)

// Metric names, as Config.DisabledMetrics takes them.
const (
	MetricRequestDuration    = conventions.MetricGenAIServerRequestDuration
	MetricTimeToFirstToken   = conventions.MetricGenAIServerTimeToFirstToken
	MetricTimePerOutputToken = conventions.MetricGenAIServerTimePerOutputToken
	MetricTokenUsage         = conventions.MetricGenAIClientTokenUsage
	MetricGatewayDuration    = conventions.MetricLlamacppGatewayDuration
	MetricGatewayRequests    = conventions.MetricLlamacppGatewayRequests
)

const outcomeSuccess, outcomeError = "success", "error"

// maxSeries bounds the attribute sets of one metric. Request models come from clients, so
// their number is not bounded otherwise; past the cap, observations go to one overflow series
// (otel.metric.overflow=true, as the OpenTelemetry SDKs do).
const maxSeries = 2000

// genAIAttrs is the attribute set of the gen_ai.* metrics. It is comparable, so it keys the
// aggregation maps directly.
type genAIAttrs struct {
	overflow      bool
	operation     string
	provider      string
	requestModel  string
	responseModel string
	serverAddress string
	serverPort    int64
	errorType     string
}

func (a *genAIAttrs) putAll(m pcommon.Map) {
	if a.overflow {
		m.PutBool("otel.metric.overflow", true)
		return
	}
	m.PutStr(attrOperationName, a.operation)
	m.PutStr(attrProviderName, a.provider)
	if a.requestModel != "" {
		m.PutStr(attrRequestModel, a.requestModel)
	}
	if a.responseModel != "" {
		m.PutStr(attrResponseModel, a.responseModel)
	}
	if a.serverAddress != "" {
		m.PutStr(attrServerAddress, a.serverAddress)
		if a.serverPort > 0 {
			m.PutInt(attrServerPort, a.serverPort)
		}
	}
	if a.errorType != "" {
		m.PutStr(attrErrorType, a.errorType)
	}
}

var genAIOverflow = genAIAttrs{overflow: true}

type tokenAttrs struct {
	genAIAttrs
	tokenType string
}

type requestAttrs struct {
	outcome   string
	operation string
}

type histPoint struct {
	counts   []uint64
	count    uint64
	sum      float64
	min, max float64
}

// histogram aggregates an explicit-bucket histogram per attribute set, in first-seen order.
type histogram[K comparable] struct {
	name, unit, desc string
	bounds           []float64
	points           map[K]*histPoint
	order            []K
	overflow         K // the key used past maxSeries
}

func newHistogram[K comparable](name, unit, desc string, bounds []float64, overflow K) *histogram[K] {
	return &histogram[K]{name: name, unit: unit, desc: desc, bounds: bounds, points: map[K]*histPoint{}, overflow: overflow}
}

func (h *histogram[K]) record(k K, v float64) {
	if h == nil || math.IsNaN(v) || math.IsInf(v, 0) { // nil: the metric is disabled
		return
	}
	p := h.points[k]
	if p == nil && len(h.order) >= maxSeries {
		k = h.overflow
		p = h.points[k]
	}
	if p == nil {
		p = &histPoint{counts: make([]uint64, len(h.bounds)+1), min: v, max: v}
		h.points[k] = p
		h.order = append(h.order, k)
	}
	// Bucket i holds bounds[i-1] < v <= bounds[i] (OTLP explicit bucket semantics).
	p.counts[sort.SearchFloat64s(h.bounds, v)]++
	p.count++
	p.sum += v
	p.min = math.Min(p.min, v)
	p.max = math.Max(p.max, v)
}

func (h *histogram[K]) appendTo(dest pmetric.MetricSlice, start, now pcommon.Timestamp, attrs func(K, pcommon.Map)) {
	if h == nil || len(h.order) == 0 {
		return
	}
	m := dest.AppendEmpty()
	m.SetName(h.name)
	m.SetUnit(h.unit)
	m.SetDescription(h.desc)
	hist := m.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dps := hist.DataPoints()
	dps.EnsureCapacity(len(h.order))
	for _, k := range h.order {
		p := h.points[k]
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		attrs(k, dp.Attributes())
		dp.SetCount(p.count)
		dp.SetSum(p.sum)
		dp.SetMin(p.min)
		dp.SetMax(p.max)
		dp.ExplicitBounds().FromRaw(h.bounds)
		dp.BucketCounts().FromRaw(p.counts)
	}
}

// metricsAggregator holds the gateway's cumulative metrics. Safe for concurrent use. A
// disabled histogram is nil, and disabled requests stays nil: neither records nor appends.
type metricsAggregator struct {
	mu            sync.Mutex
	duration      *histogram[genAIAttrs]
	fineDuration  *histogram[genAIAttrs]
	ttft          *histogram[genAIAttrs]
	tpot          *histogram[genAIAttrs]
	tokens        *histogram[tokenAttrs]
	requests      map[requestAttrs]int64
	requestsOrder []requestAttrs
}

// newMetricsAggregator returns an aggregator of the metrics not named in disabled.
func newMetricsAggregator(disabled ...string) *metricsAggregator {
	on := func(name string) bool { return !slices.Contains(disabled, name) }
	m := &metricsAggregator{}
	if on(MetricRequestDuration) {
		m.duration = newHistogram[genAIAttrs](MetricRequestDuration, "s",
			"Generative AI server request duration such as time-to-last byte or last output token.", requestDurationBounds, genAIOverflow)
	}
	if on(MetricGatewayDuration) {
		m.fineDuration = newHistogram[genAIAttrs](MetricGatewayDuration, "s",
			"Request duration seen by the llamacpp gateway, with buckets from 0.5 ms.", fineDurationBounds, genAIOverflow)
	}
	if on(MetricTimeToFirstToken) {
		m.ttft = newHistogram[genAIAttrs](MetricTimeToFirstToken, "s",
			"Time to generate first token for successful responses.", timeToFirstTokenBounds, genAIOverflow)
	}
	if on(MetricTimePerOutputToken) {
		m.tpot = newHistogram[genAIAttrs](MetricTimePerOutputToken, "s",
			"Time per output token generated after the first token for successful responses.", timePerOutputTokenBounds, genAIOverflow)
	}
	if on(MetricTokenUsage) {
		m.tokens = newHistogram[tokenAttrs](MetricTokenUsage, "{token}",
			"Number of input and output tokens used.", tokenUsageBounds, tokenAttrs{genAIAttrs: genAIOverflow})
	}
	if on(MetricGatewayRequests) {
		m.requests = map[requestAttrs]int64{}
	}
	return m
}

// observation is one finished request, as the metrics see it.
type observation struct {
	attrs    genAIAttrs
	duration float64 // seconds
	ttft     float64 // seconds; 0: not measured
	tpot     float64 // seconds; 0: not measured
	tokens   tokenCounts
}

func (m *metricsAggregator) record(o *observation) {
	outcome := outcomeSuccess
	if o.attrs.errorType != "" {
		outcome = outcomeError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.duration.record(o.attrs, o.duration)
	m.fineDuration.record(o.attrs, o.duration)
	if outcome == outcomeSuccess {
		if o.ttft > 0 {
			m.ttft.record(o.attrs, o.ttft)
		}
		if o.tpot > 0 {
			m.tpot.record(o.attrs, o.tpot)
		}
		if o.tokens.hasInput {
			m.tokens.record(tokenAttrs{o.attrs, "input"}, float64(o.tokens.input))
		}
		if o.tokens.hasOutput {
			m.tokens.record(tokenAttrs{o.attrs, "output"}, float64(o.tokens.output))
		}
	}
	if m.requests == nil {
		return
	}
	k := requestAttrs{outcome: outcome, operation: o.attrs.operation}
	if _, ok := m.requests[k]; !ok {
		m.requestsOrder = append(m.requestsOrder, k)
	}
	m.requests[k]++
}

func (m *metricsAggregator) appendTo(dest pmetric.MetricSlice, start, now pcommon.Timestamp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	putGenAI := func(a genAIAttrs, attrs pcommon.Map) { a.putAll(attrs) }
	m.duration.appendTo(dest, start, now, putGenAI)
	m.ttft.appendTo(dest, start, now, putGenAI)
	m.tpot.appendTo(dest, start, now, putGenAI)
	m.tokens.appendTo(dest, start, now, func(a tokenAttrs, attrs pcommon.Map) {
		a.putAll(attrs)
		if !a.overflow {
			attrs.PutStr(attrTokenType, a.tokenType)
		}
	})
	m.fineDuration.appendTo(dest, start, now, putGenAI)
	if len(m.requestsOrder) == 0 {
		return
	}
	metric := dest.AppendEmpty()
	metric.SetName(MetricGatewayRequests)
	metric.SetUnit("{request}")
	metric.SetDescription("Inference requests handled by the llamacpp gateway, by outcome.")
	sum := metric.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, k := range m.requestsOrder {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		dp.Attributes().PutStr("outcome", k.outcome)
		dp.Attributes().PutStr(attrOperationName, k.operation)
		dp.SetIntValue(m.requests[k])
	}
}
