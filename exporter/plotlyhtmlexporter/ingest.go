// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"errors"
	"math"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// drawnMetrics are the metrics the dashboards draw; the others are not kept.
var drawnMetrics = map[string]store.Kind{
	conventions.MetricLlamacppGenerationWindowThroughput: store.Gauge,
	conventions.MetricLlamacppGenerationThroughput:       store.Gauge,
	conventions.MetricLlamacppGenerationTokens:           store.Cumulative,
	conventions.MetricLlamacppPromptTokens:               store.Cumulative,
	conventions.MetricLlamacppSlotsBusy:                  store.Gauge,
	conventions.MetricLlamacppSlotsTotal:                 store.Gauge,
	conventions.MetricLlamacppRequestsDeferred:           store.Gauge,
	conventions.MetricLlamacppRequestsProcessing:         store.Gauge,
	conventions.MetricLlamacppKVCacheUsage:               store.Gauge,
	conventions.MetricLlamacppGatewayRequests:            store.Cumulative,
	conventions.MetricHWGPUUtilization:                   store.Gauge,
	conventions.MetricHWGPUMemoryUsage:                   store.Gauge,
	conventions.MetricHWGPUMemoryLimit:                   store.Gauge,
	conventions.MetricHWTemperature:                      store.Gauge,
	conventions.MetricHWPower:                            store.Gauge,
}

// drawnHistograms are the histogram metrics kept (newest state per stream).
var drawnHistograms = map[string]bool{
	conventions.MetricGenAIServerRequestDuration:  true,
	conventions.MetricGenAIServerTimeToFirstToken: true,
	conventions.MetricGenAIClientTokenUsage:       true,
}

// identifying resource attributes: they tell streams of one metric apart and name them. The
// model's alias tells apart the models of one llama-server in router mode (one resource each,
// on the router's address).
var resourceKeys = []string{conventions.AttrHWGPUIndex, conventions.AttrHWID, "server.address", "server.port", attrModelAlias, "service.instance.id"}

// metricPoints converts the drawn metrics of md into store points, and hands histogram states to
// setHist. A histogram of gen_ai.server.request.duration also yields a mean-latency point.
func (e *plotlyExporter) ingestMetrics(md pmetric.Metrics) {
	var pts []store.Point
	var facts []store.ModelFacts
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := identifying(rm.Resource().Attributes())
		if f, ok := modelFactsOf(rm.Resource().Attributes(), ""); ok {
			facts = append(facts, f)
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if kind, ok := drawnMetrics[m.Name()]; ok {
					pts = appendNumberPoints(pts, m, kind, res)
				} else if drawnHistograms[m.Name()] && m.Type() == pmetric.MetricTypeHistogram {
					pts = e.ingestHistogram(pts, m, res)
				}
			}
		}
	}
	if len(pts) > 0 {
		e.store.AddPoints(pts)
	}
	if len(facts) > 0 {
		e.store.SetModelFacts(facts)
	}
}

func appendNumberPoints(pts []store.Point, m pmetric.Metric, kind store.Kind, res map[string]string) []store.Point {
	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
		if m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
			// Not what the receivers here emit; a delta sum's values are drawn as they come.
			kind = store.Gauge
		}
	default:
		return pts
	}
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		if dp.Flags().NoRecordedValue() {
			continue
		}
		var v float64
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeInt:
			v = float64(dp.IntValue())
		case pmetric.NumberDataPointValueTypeDouble:
			v = dp.DoubleValue()
		default:
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		attrs := merge(res, dp.Attributes())
		pts = append(pts, store.Point{
			Key: seriesKey(m.Name(), attrs), Metric: m.Name(), Label: label(attrs), Unit: m.Unit(), Attrs: attrs,
			Kind: kind, TimeMs: timeMs(dp.Timestamp()), Value: v,
		})
	}
	return pts
}

func (e *plotlyExporter) ingestHistogram(pts []store.Point, m pmetric.Metric, res map[string]string) []store.Point {
	h := m.Histogram()
	delta := h.AggregationTemporality() == pmetric.AggregationTemporalityDelta
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		if dp.Flags().NoRecordedValue() {
			continue
		}
		attrs := merge(res, dp.Attributes())
		key := seriesKey(m.Name(), attrs)
		t := timeMs(dp.Timestamp())
		e.store.SetHist(store.Hist{
			Key: key, Metric: m.Name(), Attrs: attrs, Unit: m.Unit(),
			Bounds: dp.ExplicitBounds().AsRaw(), Counts: dp.BucketCounts().AsRaw(), Count: dp.Count(), Sum: dp.Sum(), T: t,
		}, delta)
		if m.Name() != conventions.MetricGenAIServerRequestDuration {
			continue
		}
		// Mean duration since the previous point of the stream.
		dCount, dSum := float64(dp.Count()), dp.Sum()
		if !delta {
			e.histMu.Lock()
			prev, ok := e.lastHist[key]
			e.lastHist[key] = [2]float64{float64(dp.Count()), dp.Sum()}
			e.histMu.Unlock()
			if !ok {
				continue
			}
			dCount, dSum = dCount-prev[0], dSum-prev[1]
		}
		if dCount > 0 && dSum >= 0 {
			pts = append(pts, store.Point{Key: "derived|" + key, Metric: dashboard.DerivedMeanLatency, Label: label(attrs),
				Unit: "s", Attrs: attrs, Kind: store.Gauge, TimeMs: t, Value: dSum / dCount})
		}
	}
	return pts
}

// ingestTraces keeps a compact record of every span, the attention samples (decoded), and the
// model facts that request spans carry.
func (e *plotlyExporter) ingestTraces(td ptrace.Traces) {
	var recs []store.Span
	var facts []store.ModelFacts
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				r := spanRecord(sp, service)
				recs = append(recs, r)
				if r.Name == conventions.SpanAttention {
					e.ingestAttention(sp)
				}
				if r.GenAI && hasModelFacts(sp.Attributes()) {
					if f, ok := modelFactsOf(sp.Attributes(), r.Model); ok {
						facts = append(facts, f)
					}
				}
			}
		}
	}
	if len(recs) > 0 {
		e.store.AddSpans(recs)
	}
	if len(facts) > 0 {
		e.store.SetModelFacts(facts)
	}
}

// ingestAttention decodes an attention sample's span into the store; a sample that does not
// decode is counted by reason and logged (a warning for the first of each reason).
func (e *plotlyExporter) ingestAttention(sp ptrace.Span) {
	in := attentionInput(sp)
	err := e.store.AddAttention(&in)
	if err == nil {
		return
	}
	var count uint64
	reason := "unknown"
	var ae *store.AttentionError
	if errors.As(err, &ae) {
		count, reason = ae.Count, ae.Reason
	}
	fields := []zap.Field{zap.String("reason", reason), zap.Uint64("ignored_for_this_reason", count), zap.Error(err)}
	if count <= 1 {
		e.logger.Warn("an attention sample was ignored; later ones for the same reason are logged at debug level", fields...)
	} else {
		e.logger.Debug("an attention sample was ignored", fields...)
	}
}

// attentionInput reads an attention sample's attributes (conventions.AttrLLTAttention*) as they
// are; store.DecodeAttention checks them.
func attentionInput(sp ptrace.Span) store.AttentionInput {
	attrs := sp.Attributes()
	in := store.AttentionInput{
		TraceID: sp.TraceID(), SpanID: sp.SpanID(),
		StartNs: int64(sp.StartTimestamp()), EndNs: int64(sp.EndTimestamp()),
		RequestStartNs: integerAttr(attrs, conventions.AttrLLTAttentionRequestStart),
		LayerCount:     integerAttr(attrs, conventions.AttrLLTAttentionLayerCount),
		Heads:          integerAttr(attrs, conventions.AttrLLTAttentionHeads),
		Tokens:         integerAttr(attrs, conventions.AttrLLTAttentionTokens),
	}
	if v, ok := attrs.Get(conventions.AttrLLTAttentionModel); ok {
		in.Model = v.AsString()
	}
	if v, ok := attrs.Get(conventions.AttrLLTAttentionLayers); ok {
		if v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() <= store.MaxAttentionLayers {
			s := v.Slice()
			in.Layers = make([]int64, s.Len())
			for i := range s.Len() {
				in.Layers[i] = asInteger(s.At(i))
			}
		} else if v.Type() == pcommon.ValueTypeInt {
			in.Layers = []int64{v.Int()}
		}
	}
	if v, ok := attrs.Get(conventions.AttrLLTAttentionTokenLabels); ok {
		in.HasLabels = true
		if v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() <= store.MaxAttentionTokens {
			s := v.Slice()
			in.Labels = make([]string, s.Len())
			for i := range s.Len() {
				in.Labels[i] = s.At(i).AsString()
			}
		}
	}
	// Bytes beyond the bound are not copied: without them the length does not match.
	if v, ok := attrs.Get(conventions.AttrLLTAttentionProbs); ok && v.Type() == pcommon.ValueTypeBytes && v.Bytes().Len() <= 2*store.MaxAttentionValues {
		in.Probs = v.Bytes().AsRaw()
	}
	return in
}

// integerAttr is an integer attribute (an int, or a double with an integral value); -1 when it is
// something else, 0 when absent.
func integerAttr(attrs pcommon.Map, key string) int64 {
	v, ok := attrs.Get(key)
	if !ok {
		return 0
	}
	return asInteger(v)
}

// asInteger is v as an integer (an int, or a double with an integral value), -1 otherwise.
func asInteger(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		if d := v.Double(); d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return int64(d)
		}
	}
	return -1
}

// The model facts the llamacpp receiver puts on its resources (receiver/llamacppreceiver
// metadata.yaml, resource_attributes) and the genaienrich processor on request spans.
const (
	attrModelAlias           = "llamacpp.model.alias"
	attrModelArchitecture    = "llamacpp.model.architecture"
	attrModelQuantization    = "llamacpp.model.quantization"
	attrModelPath            = "llamacpp.model.path"
	attrModelParameters      = "llamacpp.model.parameters"
	attrModelContextTrain    = "llamacpp.model.context_train"
	attrModelBlockCount      = "llamacpp.model.block_count"
	attrModelHeadCount       = "llamacpp.model.head_count"
	attrModelHeadCountKV     = "llamacpp.model.head_count_kv"
	attrModelEmbeddingLength = "llamacpp.model.embedding_length"
	attrModelVocabSize       = "llamacpp.model.vocab_size"
	attrModelSize            = "llamacpp.model.size"
)

// modelAttrs are every model fact attribute read (the contract test checks them against the
// receiver's metadata.yaml).
var modelAttrs = []string{attrModelAlias, attrModelArchitecture, attrModelQuantization, attrModelPath, attrModelParameters,
	attrModelContextTrain, attrModelBlockCount, attrModelHeadCount, attrModelHeadCountKV, attrModelEmbeddingLength,
	attrModelVocabSize, attrModelSize}

// modelFactPrefix starts every model fact attribute.
const modelFactPrefix = "llamacpp.model."

// hasModelFacts is true when attrs carry a model fact attribute (one pass over them).
func hasModelFacts(attrs pcommon.Map) bool {
	found := false
	attrs.Range(func(k string, _ pcommon.Value) bool {
		found = strings.HasPrefix(k, modelFactPrefix)
		return !found
	})
	return found
}

// modelFactsOf reads the model facts of attrs; name is the model's name when attrs carry no
// alias. ok is false when attrs carry no fact.
func modelFactsOf(attrs pcommon.Map, name string) (store.ModelFacts, bool) {
	f := store.ModelFacts{Name: name}
	str := func(key string) string {
		if v, ok := attrs.Get(key); ok {
			return v.AsString()
		}
		return ""
	}
	num := func(key string) int64 {
		if n := integerAttr(attrs, key); n > 0 {
			return n
		}
		return 0
	}
	if alias := str(attrModelAlias); alias != "" {
		f.Name = alias
	}
	f.Architecture = str(attrModelArchitecture)
	f.Quantization = str(attrModelQuantization)
	f.Path = str(attrModelPath)
	f.Parameters = num(attrModelParameters)
	f.ContextTrain = num(attrModelContextTrain)
	f.BlockCount = num(attrModelBlockCount)
	f.HeadCount = num(attrModelHeadCount)
	f.HeadCountKV = num(attrModelHeadCountKV)
	f.EmbeddingLength = num(attrModelEmbeddingLength)
	f.VocabSize = num(attrModelVocabSize)
	f.SizeBytes = num(attrModelSize)
	return f, f.Known()
}

func spanRecord(sp ptrace.Span, service string) store.Span {
	r := store.NewSpan()
	r.TraceID = sp.TraceID()
	r.SpanID = sp.SpanID()
	r.ParentID = sp.ParentSpanID()
	r.Name = sp.Name()
	r.Service = service
	r.Kind = int8(sp.Kind())
	r.Status = int8(sp.Status().Code())
	r.StartNs = int64(sp.StartTimestamp())
	r.EndNs = int64(sp.EndTimestamp())
	attrs := sp.Attributes()
	if v, ok := attrs.Get(conventions.AttrGenAIOperationName); ok {
		r.GenAI = true
		r.Operation = v.AsString()
	}
	if v, ok := attrs.Get(conventions.AttrGenAIResponseModel); ok && v.AsString() != "" {
		r.Model = v.AsString()
	} else if v, ok := attrs.Get(conventions.AttrGenAIRequestModel); ok {
		r.Model = v.AsString()
	}
	r.InputTokens = intAttr(attrs, conventions.AttrGenAIUsageInputTokens)
	r.OutputTokens = intAttr(attrs, conventions.AttrGenAIUsageOutputTokens)
	if v, ok := attrs.Get(conventions.AttrGenAIResponseTimeToFirstChunk); ok && v.Type() == pcommon.ValueTypeDouble && v.Double() >= 0 {
		r.TTFTSeconds = v.Double()
	}
	if v, ok := attrs.Get("error.type"); ok {
		r.ErrorType = v.AsString()
	}
	if r.Status == int8(ptrace.StatusCodeError) && r.ErrorType == "" {
		r.ErrorType = sp.Status().Message()
	}
	if v, ok := attrs.Get(conventions.AttrLLTEmbeddingProjection); ok && v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() == 3 {
		ok := true
		for i := 0; i < 3; i++ {
			x := v.Slice().At(i)
			switch x.Type() {
			case pcommon.ValueTypeDouble:
				r.Projection[i] = x.Double()
			case pcommon.ValueTypeInt:
				r.Projection[i] = float64(x.Int())
			default:
				ok = false
			}
			if math.IsNaN(r.Projection[i]) || math.IsInf(r.Projection[i], 0) {
				ok = false
			}
		}
		r.HasProjection = ok
	}
	if v, ok := attrs.Get(conventions.AttrLLTEmbeddingCategory); ok {
		r.Category = v.AsString()
	}
	r.GPUEnergyJ = nonNegativeAttr(attrs, attrGPUEnergy)
	r.GPUEnergyPerTokenJ = nonNegativeAttr(attrs, attrGPUEnergyPerToken)
	r.GPUSeconds = nonNegativeAttr(attrs, attrGPUTime)
	r.GPU = gpuIDs(attrs)
	if v, ok := attrs.Get(conventions.AttrGenAIInputMessages); ok {
		r.Preview = cut(v.AsString(), 200)
	}
	links := sp.Links()
	for i := 0; i < links.Len(); i++ {
		if _, ok := links.At(i).Attributes().Get(attrCorrelationMethod); ok {
			r.SameCall = links.At(i).SpanID()
			r.SameCallTrace = links.At(i).TraceID()
			break
		}
	}
	return r
}

// attrCorrelationMethod marks a span link that the genaienrich processor made between the
// client span and the gateway span of one call.
const attrCorrelationMethod = conventions.AttrLLTCorrelationMethod

// The GPU attributes the llamacpp gateway puts on a request's span when it ran on a GPU.
const (
	attrGPUEnergy         = conventions.AttrLLTGPUEnergy               // joules
	attrGPUEnergyPerToken = conventions.AttrLLTGPUEnergyPerOutputToken // joules
	attrGPUTime           = conventions.AttrLLTGPUTime                 // GPU-seconds
	attrGPUID             = conventions.AttrHWID
)

// maxGPUIDs bounds the hw.id text kept per span.
const maxGPUIDs = 256

// gpuIDs is hw.id as text: a string as it is, an array's strings joined with ", ".
func gpuIDs(attrs pcommon.Map) string {
	v, ok := attrs.Get(attrGPUID)
	if !ok {
		return ""
	}
	if v.Type() != pcommon.ValueTypeSlice {
		return cut(v.AsString(), maxGPUIDs)
	}
	ids := make([]string, 0, v.Slice().Len())
	for i := 0; i < v.Slice().Len(); i++ {
		if id := v.Slice().At(i).AsString(); id != "" {
			ids = append(ids, id)
		}
	}
	return cut(strings.Join(ids, ", "), maxGPUIDs)
}

// ingestLogs keeps the newest log records.
func (e *plotlyExporter) ingestLogs(ld plog.Logs) {
	var recs []store.Log
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		service := ""
		if v, ok := rl.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				t := lr.Timestamp()
				if t == 0 {
					t = lr.ObservedTimestamp()
				}
				sev := lr.SeverityText()
				if sev == "" && lr.SeverityNumber() != plog.SeverityNumberUnspecified {
					sev = lr.SeverityNumber().String()
				}
				recs = append(recs, store.Log{TimeNs: int64(t), Severity: sev, SeverityNumber: int32(lr.SeverityNumber()),
					Body: cut(lr.Body().AsString(), store.MaxLogBody), TraceID: lr.TraceID(), SpanID: lr.SpanID(), Service: service})
			}
		}
	}
	if len(recs) > 0 {
		e.store.AddLogs(recs)
	}
}

func identifying(attrs pcommon.Map) map[string]string {
	out := map[string]string{}
	for _, k := range resourceKeys {
		if v, ok := attrs.Get(k); ok {
			out[k] = v.AsString()
		}
	}
	return out
}

func merge(res map[string]string, attrs pcommon.Map) map[string]string {
	out := make(map[string]string, len(res)+attrs.Len())
	for k, v := range res {
		out[k] = v
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		out[k] = v.AsString()
		return true
	})
	return out
}

func seriesKey(metric string, attrs map[string]string) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(metric)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(attrs[k])
	}
	return b.String()
}

// label names a stream in a legend from the attributes that usually tell streams apart.
func label(attrs map[string]string) string {
	var parts []string
	if v, ok := attrs[conventions.AttrHWGPUIndex]; ok {
		parts = append(parts, "GPU "+v)
	} else if v, ok := attrs[conventions.AttrHWID]; ok {
		parts = append(parts, v)
	}
	if v, ok := attrs["server.address"]; ok {
		if p, ok := attrs["server.port"]; ok {
			v += ":" + p
		}
		parts = append(parts, v)
	}
	if v, ok := attrs[attrModelAlias]; ok {
		parts = append(parts, v)
	}
	for _, k := range []string{conventions.AttrHWGPUTask, conventions.AttrHWSensorLocation, "outcome", conventions.AttrGenAITokenType, conventions.AttrLlamacppSlotID} {
		if v, ok := attrs[k]; ok {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

func intAttr(attrs pcommon.Map, key string) int64 {
	v, ok := attrs.Get(key)
	if !ok {
		return -1
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if v.Int() >= 0 {
			return v.Int()
		}
	case pcommon.ValueTypeDouble:
		if d := v.Double(); d >= 0 && d < 1e15 && !math.IsNaN(d) {
			return int64(d)
		}
	}
	return -1
}

// nonNegativeAttr is a finite, non-negative number attribute (double or int), NaN otherwise.
func nonNegativeAttr(attrs pcommon.Map, key string) float64 {
	v, ok := attrs.Get(key)
	if !ok {
		return math.NaN()
	}
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	default:
		return math.NaN()
	}
	if f < 0 || math.IsInf(f, 0) {
		return math.NaN()
	}
	return f
}

func timeMs(ts pcommon.Timestamp) int64 { return int64(ts) / 1e6 }

// cut returns at most n bytes of s, not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
