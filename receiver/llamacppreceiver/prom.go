// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// This file turns llama-server's /metrics (Prometheus text format) into OTel metrics. It does
// no I/O: decodeMetrics parses a body, promMetrics.record writes it into a MetricsBuilder.

// promSample is one sample of a /metrics answer.
type promSample struct {
	// family is the metric family as /metrics names it, e.g. llamacpp:prompt_tokens_total.
	family string
	// name is the series name: family, or family plus _bucket, _sum or _count for histograms
	// and summaries.
	name   string
	typ    metadata.AttributeLlamacppMetricType
	labels []*dto.LabelPair // sorted by name
	value  float64
}

// label returns the value of the label called name, and whether there is one.
func (s promSample) label(name string) (string, bool) {
	for _, l := range s.labels {
		if l.GetName() == name {
			return l.GetValue(), true
		}
	}
	return "", false
}

// labelString writes the labels as `a="x",b="y"` in name order, escaped like the text format.
func (s promSample) labelString() string {
	var b strings.Builder
	for i, l := range s.labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.GetName())
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(l.GetValue()))
		b.WriteByte('"')
	}
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// promKind says how a known family maps to OTel.
type promKind int

const (
	// kindCounter is a cumulative, monotonic sum: its decrease means llama-server restarted.
	kindCounter promKind = iota
	// kindGauge is a gauge (including llama-server's counters that are not totals).
	kindGauge
)

// knownFamily describes a family this receiver maps to a named metric.
type knownFamily struct {
	kind promKind
	// record writes one sample; the int variants check that the value is a count.
	record func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, s promSample) error
}

// Families whose values are read by the scraper besides being recorded.
const (
	familyPromptTokens     = "llamacpp:prompt_tokens_total"
	familyGenerationTokens = "llamacpp:tokens_predicted_total"
	familySpecPerPosition  = "llamacpp:spec_decode_num_accepted_tokens_per_pos_total"
)

// knownFamilies are the families of both llama-server code generations (llamacpp.md §1.3,
// before and after the 2026-08 metrics refactor) plus the older ones that were removed. The
// mapping keys on names only, never on HELP text or the declared type, which changed across
// versions (n_busy_slots_per_decode was a counter, then a gauge).
var knownFamilies = map[string]knownFamily{
	familyPromptTokens:                               {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppPromptTokensDataPoint)},
	"llamacpp:prompt_tokens_cached_total":            {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppPromptTokensCachedDataPoint)},
	"llamacpp:prompt_seconds_total":                  {kindCounter, asFloat((*metadata.MetricsBuilder).RecordLlamacppPromptDurationDataPoint)},
	familyGenerationTokens:                           {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppGenerationTokensDataPoint)},
	"llamacpp:tokens_predicted_seconds_total":        {kindCounter, asFloat((*metadata.MetricsBuilder).RecordLlamacppGenerationDurationDataPoint)},
	"llamacpp:n_decode_total":                        {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppDecodeCallsDataPoint)},
	"llamacpp:spec_decode_num_draft_tokens_total":    {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppSpecDecodeDraftTokensDataPoint)},
	"llamacpp:spec_decode_num_accepted_tokens_total": {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppSpecDecodeAcceptedTokensDataPoint)},
	"llamacpp:spec_decode_num_drafts_total":          {kindCounter, asCount((*metadata.MetricsBuilder).RecordLlamacppSpecDecodeDraftsDataPoint)},
	familySpecPerPosition:                            {kindCounter, recordSpecPerPosition},
	"llamacpp:n_tokens_max":                          {kindGauge, asCount((*metadata.MetricsBuilder).RecordLlamacppTokensMaxDataPoint)},
	"llamacpp:n_past_max":                            {kindGauge, asCount((*metadata.MetricsBuilder).RecordLlamacppTokensMaxDataPoint)},
	"llamacpp:n_busy_slots_per_decode":               {kindGauge, asFloat((*metadata.MetricsBuilder).RecordLlamacppBatchBusySlotsDataPoint)},
	"llamacpp:prompt_tokens_seconds":                 {kindGauge, asFloat((*metadata.MetricsBuilder).RecordLlamacppPromptWindowThroughputDataPoint)},
	"llamacpp:predicted_tokens_seconds":              {kindGauge, asFloat((*metadata.MetricsBuilder).RecordLlamacppGenerationWindowThroughputDataPoint)},
	"llamacpp:requests_processing":                   {kindGauge, asCount((*metadata.MetricsBuilder).RecordLlamacppRequestsProcessingDataPoint)},
	"llamacpp:requests_deferred":                     {kindGauge, asCount((*metadata.MetricsBuilder).RecordLlamacppRequestsDeferredDataPoint)},
	"llamacpp:kv_cache_usage_ratio":                  {kindGauge, asFloat((*metadata.MetricsBuilder).RecordLlamacppKvCacheUsageDataPoint)},
	"llamacpp:kv_cache_tokens":                       {kindGauge, asCount((*metadata.MetricsBuilder).RecordLlamacppKvCacheTokensDataPoint)},
}

func asCount(rec func(*metadata.MetricsBuilder, pcommon.Timestamp, int64)) func(*metadata.MetricsBuilder, pcommon.Timestamp, promSample) error {
	return func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, s promSample) error {
		n, err := toCount(s)
		if err != nil {
			return err
		}
		rec(mb, ts, n)
		return nil
	}
}

func asFloat(rec func(*metadata.MetricsBuilder, pcommon.Timestamp, float64)) func(*metadata.MetricsBuilder, pcommon.Timestamp, promSample) error {
	return func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, s promSample) error {
		if math.IsNaN(s.value) || math.IsInf(s.value, 0) {
			return fmt.Errorf("%s: value %v is not a finite number", s.name, s.value)
		}
		rec(mb, ts, s.value)
		return nil
	}
}

func recordSpecPerPosition(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, s promSample) error {
	pos, _ := specPosition(s) // classify only lets samples with a position through
	n, err := toCount(s)
	if err != nil {
		return err
	}
	mb.RecordLlamacppSpecDecodePositionAcceptedTokensDataPoint(ts, n, pos)
	return nil
}

func specPosition(s promSample) (int64, bool) {
	v, ok := s.label("position")
	if !ok {
		return 0, false
	}
	pos, err := strconv.ParseInt(v, 10, 64)
	return pos, err == nil
}

// toCount converts a sample that must be a count: finite, not negative, and within int64.
// Fractions are rounded (llama-server writes counts as integers).
func toCount(s promSample) (int64, error) {
	v := s.value
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v >= math.MaxInt64 {
		return 0, fmt.Errorf("%s: value %v is not a count", s.name, v)
	}
	return int64(math.Round(v)), nil
}

// promMetrics is a decoded /metrics answer.
type promMetrics struct {
	// known are the samples that map to named metrics, in family-name order.
	known []promSample
	// unknown are passed through as llamacpp.unknown.
	unknown []promSample
}

// decodeMetrics parses a /metrics body. It accepts the JSON-quoted body that builds b7010–b7100
// sent by mistake (llama.cpp issue #17384). Each known family contributes its first sample
// (some builds add a `model` label to every sample); further samples, samples of unknown
// families and a per-position sample without an integer `position` label go to unknown.
func decodeMetrics(body []byte) (promMetrics, error) {
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return promMetrics{}, fmt.Errorf("body starts with a quote but is not a JSON string: %w", err)
		}
		body = []byte(s)
	}
	switch trimmed := bytes.TrimSpace(body); {
	case bytes.HasPrefix(trimmed, []byte("<")):
		return promMetrics{}, errors.New("body is HTML or XML, not the Prometheus text format (does `endpoint` point at llama-server?)")
	case bytes.HasPrefix(trimmed, []byte("{")) && json.Valid(trimmed):
		// `{"name"} 1` is valid text format (quoted UTF-8 names), a JSON document is not.
		return promMetrics{}, errors.New("body is a JSON object, not the Prometheus text format")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return promMetrics{}, err
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	slices.Sort(names)

	var pm promMetrics
	for _, name := range names {
		samples := flatten(families[name])
		_, isKnown := knownFamilies[name]
		taken := false
		for _, s := range samples {
			switch {
			case !isKnown || s.typ == metadata.AttributeLlamacppMetricTypeHistogram ||
				s.typ == metadata.AttributeLlamacppMetricTypeGaugeHistogram ||
				s.typ == metadata.AttributeLlamacppMetricTypeSummary:
				pm.unknown = append(pm.unknown, s)
			case name == familySpecPerPosition:
				if _, ok := specPosition(s); ok {
					pm.known = append(pm.known, s)
				} else {
					pm.unknown = append(pm.unknown, s)
				}
			case !taken:
				pm.known = append(pm.known, s)
				taken = true
			default:
				pm.unknown = append(pm.unknown, s)
			}
		}
	}
	return pm, nil
}

// flatten turns a family into samples, sorted by labels. Histograms and summaries become their
// exposition series: _bucket{le} or {quantile}, _sum and _count.
func flatten(mf *dto.MetricFamily) []promSample {
	name := mf.GetName()
	var out []promSample
	for _, m := range mf.GetMetric() {
		labels := slices.Clone(m.GetLabel())
		slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		base := promSample{family: name, name: name, labels: labels}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			base.typ, base.value = metadata.AttributeLlamacppMetricTypeCounter, m.GetCounter().GetValue()
			out = append(out, base)
		case dto.MetricType_GAUGE:
			base.typ, base.value = metadata.AttributeLlamacppMetricTypeGauge, m.GetGauge().GetValue()
			out = append(out, base)
		case dto.MetricType_UNTYPED:
			base.typ, base.value = metadata.AttributeLlamacppMetricTypeUntyped, m.GetUntyped().GetValue()
			out = append(out, base)
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			base.typ = metadata.AttributeLlamacppMetricTypeHistogram
			if mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM {
				base.typ = metadata.AttributeLlamacppMetricTypeGaugeHistogram
			}
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				out = append(out, base.with(name+"_bucket", "le", formatFloat(b.GetUpperBound()), float64(b.GetCumulativeCount())))
			}
			out = append(out, base.with(name+"_sum", "", "", h.GetSampleSum()))
			out = append(out, base.with(name+"_count", "", "", float64(h.GetSampleCount())))
		case dto.MetricType_SUMMARY:
			base.typ = metadata.AttributeLlamacppMetricTypeSummary
			sm := m.GetSummary()
			for _, q := range sm.GetQuantile() {
				out = append(out, base.with(name, "quantile", formatFloat(q.GetQuantile()), q.GetValue()))
			}
			out = append(out, base.with(name+"_sum", "", "", sm.GetSampleSum()))
			out = append(out, base.with(name+"_count", "", "", float64(sm.GetSampleCount())))
		}
	}
	slices.SortStableFunc(out, func(a, b promSample) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.labelString(), b.labelString())
	})
	return out
}

// with returns a copy of s named name, with value v and, when label is set, one more label.
func (s promSample) with(name, label, labelValue string, v float64) promSample {
	s.name, s.value = name, v
	if label != "" {
		labels := make([]*dto.LabelPair, 0, len(s.labels)+1)
		labels = append(labels, s.labels...)
		labels = append(labels, &dto.LabelPair{Name: &label, Value: &labelValue})
		slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		s.labels = labels
	}
	return s
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// counterKey identifies a counter series across scrapes.
func counterKey(s promSample) string {
	if s.family == familySpecPerPosition {
		pos, _ := specPosition(s)
		return s.family + "/" + strconv.FormatInt(pos, 10)
	}
	return s.family
}

// counters returns the values of the known counters by counterKey, leaving out invalid ones
// (negative or not finite: record reports them).
func (pm promMetrics) counters() map[string]float64 {
	out := make(map[string]float64, len(pm.known))
	for _, s := range pm.known {
		if knownFamilies[s.family].kind == kindCounter && s.value >= 0 && !math.IsInf(s.value, 1) {
			out[counterKey(s)] = s.value
		}
	}
	return out
}

// record writes every sample into mb. A known sample with an invalid value (a negative or
// non-finite count) is skipped and reported; the others are still recorded. failed is the
// number of samples skipped.
func (pm promMetrics) record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) (failed int, err error) {
	var errs []error
	for _, s := range pm.known {
		if err := knownFamilies[s.family].record(mb, ts, s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range pm.unknown {
		mb.RecordLlamacppUnknownDataPoint(ts, s.value, s.name, s.typ, s.labelString())
	}
	return len(errs), errors.Join(errs...)
}
