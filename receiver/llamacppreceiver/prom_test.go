// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

var testTime = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newTestBuilder() *metadata.MetricsBuilder {
	return metadata.NewMetricsBuilder(metadata.NewDefaultMetricsBuilderConfig(), receivertest.NewNopSettings(metadata.Type))
}

func families(samples []promSample) []string {
	var out []string
	for _, s := range samples {
		out = append(out, s.name)
	}
	return out
}

// TestDecodeMetricsGenerations: every series of both captured generations is known.
func TestDecodeMetricsGenerations(t *testing.T) {
	tests := []struct {
		file  string
		known []string
	}{
		{
			file: "debian-b11669-cpu/metrics.txt",
			known: []string{
				"llamacpp:n_busy_slots_per_decode", "llamacpp:n_decode_total", "llamacpp:n_tokens_max",
				"llamacpp:predicted_tokens_seconds", "llamacpp:prompt_seconds_total", "llamacpp:prompt_tokens_cached_total",
				"llamacpp:prompt_tokens_seconds", "llamacpp:prompt_tokens_total", "llamacpp:requests_deferred",
				"llamacpp:requests_processing", "llamacpp:spec_decode_num_accepted_tokens_total",
				"llamacpp:spec_decode_num_draft_tokens_total", "llamacpp:spec_decode_num_drafts_total",
				"llamacpp:tokens_predicted_seconds_total", "llamacpp:tokens_predicted_total",
			},
		},
		{
			file: "upstream-2026-05-cuda-h200/metrics.txt",
			known: []string{
				"llamacpp:n_busy_slots_per_decode", "llamacpp:n_decode_total", "llamacpp:n_tokens_max",
				"llamacpp:predicted_tokens_seconds", "llamacpp:prompt_seconds_total", "llamacpp:prompt_tokens_seconds",
				"llamacpp:prompt_tokens_total", "llamacpp:requests_deferred", "llamacpp:requests_processing",
				"llamacpp:tokens_predicted_seconds_total", "llamacpp:tokens_predicted_total",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "scraper", tt.file))
			require.NoError(t, err)
			pm, err := decodeMetrics(body)
			require.NoError(t, err)
			assert.Equal(t, tt.known, families(pm.known))
			assert.Empty(t, pm.unknown)
		})
	}
}

// TestDecodeMetricsJSONQuoted: builds b7010–b7100 sent the body as a JSON string (#17384).
func TestDecodeMetricsJSONQuoted(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "scraper", "debian-b11669-cpu", "metrics.txt"))
	require.NoError(t, err)
	quoted, err := json.Marshal(string(body))
	require.NoError(t, err)
	want, err := decodeMetrics(body)
	require.NoError(t, err)
	got, err := decodeMetrics(quoted)
	require.NoError(t, err)
	assert.Equal(t, families(want.known), families(got.known))
	assert.Equal(t, want.counters(), got.counters())
}

func TestDecodeMetricsErrors(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"html", "<html><head><title>llama.cpp</title></head></html>", "body is HTML or XML, not the Prometheus text format (does `endpoint` point at llama-server?)"},
		{"broken quoted body", `"# HELP llamacpp:x`, "body starts with a quote but is not a JSON string: unexpected end of JSON input"},
		{"value", "llamacpp:prompt_tokens_total x\n", `text format parsing error in line 1: expected float as value, got "x"`},
		{"type twice", "# TYPE a counter\n# TYPE a gauge\na 1\n", "text format parsing error in line 2: second TYPE line for metric name \"a\", or TYPE reported after samples"},
		{"json", `{"error":{"code":501}}`, "body is a JSON object, not the Prometheus text format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeMetrics([]byte(tt.body))
			require.Error(t, err)
			assert.Equal(t, tt.wantErr, err.Error())
		})
	}
}

// TestDecodeMetricsLabels: a known family's first sample is used whatever its labels; further
// samples, unknown families and per-position samples without an integer position are passed
// through.
func TestDecodeMetricsLabels(t *testing.T) {
	body := `# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing{model="a"} 1
llamacpp:requests_processing{model="b"} 2
# TYPE llamacpp:spec_decode_num_accepted_tokens_per_pos_total counter
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position="0"} 5
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position="first"} 6
# TYPE llamacpp:brand_new untyped
llamacpp:brand_new{path="C:\\x",q="say \"hi\""} 7
`
	pm, err := decodeMetrics([]byte(body))
	require.NoError(t, err)
	require.Len(t, pm.known, 2)
	assert.Equal(t, `model="a"`, pm.known[0].labelString())
	assert.Equal(t, `position="0"`, pm.known[1].labelString())

	require.Len(t, pm.unknown, 3)
	assert.Equal(t, "llamacpp:brand_new", pm.unknown[0].name)
	assert.Equal(t, metadata.AttributeLlamacppMetricTypeUntyped, pm.unknown[0].typ)
	assert.Equal(t, `path="C:\\x",q="say \"hi\""`, pm.unknown[0].labelString())
	assert.Equal(t, `model="b"`, pm.unknown[1].labelString())
	assert.Equal(t, `position="first"`, pm.unknown[2].labelString())

	assert.Equal(t, map[string]float64{"llamacpp:spec_decode_num_accepted_tokens_per_pos_total/0": 5}, pm.counters())
}

// TestDecodeMetricsQuotedName: a quoted UTF-8 name (text format 1.0.0) starts with `{` but is
// not JSON; it is passed through.
func TestDecodeMetricsQuotedName(t *testing.T) {
	pm, err := decodeMetrics([]byte("{\"llamacpp.new\"} 3\n"))
	require.NoError(t, err)
	require.Len(t, pm.unknown, 1)
	assert.Equal(t, "llamacpp.new", pm.unknown[0].name)
	assert.Equal(t, 3.0, pm.unknown[0].value)
}

// TestDecodeMetricsSummary: a summary is passed through as quantiles, _sum and _count.
func TestDecodeMetricsSummary(t *testing.T) {
	body := `# TYPE llamacpp:latency_seconds summary
llamacpp:latency_seconds{quantile="0.5"} 0.1
llamacpp:latency_seconds{quantile="0.9"} 0.4
llamacpp:latency_seconds_sum 3
llamacpp:latency_seconds_count 12
`
	pm, err := decodeMetrics([]byte(body))
	require.NoError(t, err)
	var got []string
	for _, s := range pm.unknown {
		assert.Equal(t, metadata.AttributeLlamacppMetricTypeSummary, s.typ)
		got = append(got, s.name+"{"+s.labelString()+"}")
	}
	assert.Equal(t, []string{
		`llamacpp:latency_seconds{quantile="0.5"}`, `llamacpp:latency_seconds{quantile="0.9"}`,
		`llamacpp:latency_seconds_count{}`, `llamacpp:latency_seconds_sum{}`,
	}, got)
}

// TestRecordInvalidValues: a value that is not a count, or not finite, is skipped and reported;
// the other samples are recorded.
func TestRecordInvalidValues(t *testing.T) {
	body := `# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total NaN
# TYPE llamacpp:n_busy_slots_per_decode gauge
llamacpp:n_busy_slots_per_decode +Inf
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 12.0
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 1e300
`
	pm, err := decodeMetrics([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"llamacpp:tokens_predicted_total": 12}, pm.counters())
	mb := newTestBuilder()
	failed, err := pm.record(mb, pcommon.NewTimestampFromTime(testTime))
	assert.Equal(t, 3, failed)
	assert.EqualError(t, err, "llamacpp:n_busy_slots_per_decode: value +Inf is not a finite number\n"+
		"llamacpp:prompt_tokens_total: value NaN is not a count\n"+
		"llamacpp:requests_deferred: value 1e+300 is not a count")
	md := mb.Emit()
	require.Equal(t, 1, md.MetricCount())
	assert.Equal(t, int64(12), points(md, "llamacpp.generation.tokens").At(0).IntValue())
}

// TestKnownFamiliesHaveMetrics: every known family records into a metric of its own name.
func TestKnownFamiliesHaveMetrics(t *testing.T) {
	for family, kf := range knownFamilies {
		mb := newTestBuilder()
		s := promSample{family: family, name: family, value: 3}
		if family == familySpecPerPosition {
			s = s.with(family, "position", "2", 3)
		}
		require.NoError(t, kf.record(mb, pcommon.NewTimestampFromTime(testTime), s), family)
		md := mb.Emit()
		require.Equal(t, 1, md.MetricCount(), family)
		m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
		if kf.kind == kindCounter {
			assert.Equal(t, "Sum", m.Type().String(), family)
			assert.True(t, m.Sum().IsMonotonic(), family)
		} else {
			assert.Equal(t, "Gauge", m.Type().String(), family)
		}
	}
}
