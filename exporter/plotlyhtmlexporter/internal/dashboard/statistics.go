// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"math"
	"strconv"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// The series of the statistics table, in its order.
const (
	StatRequestLatency          = "request latency"
	StatTTFT                    = "time to first token"
	StatOutputTokensPerRequest  = "output tokens/s per request"
	StatServerGenerationRate    = "server generation throughput"
	StatServerPromptRate        = "server prompt throughput"
	StatGPUUtilization          = "GPU utilization"
	StatGPUMemoryUsed           = "GPU memory used"
	StatGPUTemperature          = "GPU temperature"
	StatGPUPower                = "GPU power"
	statisticsHeight            = 400
	statUnitSeconds             = "s"
	statUnitTokensPerSecond     = "tokens/s"
	statUnitPercent             = "%"
	statUnitMiB                 = "MiB"
	needServerRate              = " from the llamacpp receiver (two scrapes or more)"
	needGatewaySpansWithOutputs = "spans with gen_ai.usage.output_tokens (the llamacpp receiver's gateway, traces pipeline)"
)

// statisticsSeries are the names of the statistics, in order.
var statisticsSeries = []string{
	StatRequestLatency, StatTTFT, StatOutputTokensPerRequest, StatServerGenerationRate, StatServerPromptRate,
	StatGPUUtilization, StatGPUMemoryUsed, StatGPUTemperature, StatGPUPower,
}

// Stat is one row of the statistics: mean, P50, P95 and max of one series over the window.
type Stat struct {
	Name string `json:"name"`
	Unit string `json:"unit"`
	// Samples is the number of values summarized: requests, or points of every stream (GPU,
	// server) pooled.
	Samples int `json:"samples"`
	Mean    Num `json:"mean"`
	P50     Num `json:"p50"`
	P95     Num `json:"p95"`
	Max     Num `json:"max"`
	// Source says what the values are.
	Source string `json:"source"`
	// NoData is set when there are no values: it says what produces them.
	NoData string `json:"no_data,omitempty"`
}

// statistics computes every row of statisticsSeries.
func statistics(d *Data) []Stat {
	var lat, ttft, outRate []float64
	for i := range d.Requests {
		r := &d.Requests[i]
		if finite(r.Latency) {
			lat = append(lat, r.Latency)
		}
		if r.Span != nil && finite(r.Span.TTFTSeconds) && r.Span.TTFTSeconds >= 0 {
			ttft = append(ttft, r.Span.TTFTSeconds)
		}
		if r.Out > 0 && finite(r.Latency) && r.Latency > 0 {
			outRate = append(outRate, float64(r.Out)/r.Latency)
		}
	}
	gen := rateValues(d.tokenRates(metricGenerationThroughput, metricGenerationTokens))
	prompt := rateValues(d.tokenRates(metricPromptThroughput, metricPromptTokens))
	util := d.seriesValues(conventions.MetricHWGPUUtilization, gpuSeries, 100)
	mem := d.seriesValues(conventions.MetricHWGPUMemoryUsage, nil, 1.0/(1<<20))
	temp := d.seriesValues(conventions.MetricHWTemperature, nil, 1)
	power := d.seriesValues(conventions.MetricHWPower, nil, 1)
	return []Stat{
		newStat(StatRequestLatency, statUnitSeconds, lat,
			"latency of each request (its outermost GenAI span)", needSpans),
		newStat(StatTTFT, statUnitSeconds, ttft,
			"gen_ai.response.time_to_first_chunk of each streamed request",
			"streamed requests' spans with gen_ai.response.time_to_first_chunk (the llamacpp receiver's gateway, traces pipeline)"),
		newStat(StatOutputTokensPerRequest, statUnitTokensPerSecond, outRate,
			"gen_ai.usage.output_tokens / latency of each request with output tokens", needGatewaySpansWithOutputs),
		newStat(StatServerGenerationRate, statUnitTokensPerSecond, gen,
			"generated tokens per second of wall-clock time between scrapes (llamacpp.generation.throughput, else the rate of llamacpp.generation.tokens)",
			"llamacpp.generation.throughput or llamacpp.generation.tokens"+needServerRate),
		newStat(StatServerPromptRate, statUnitTokensPerSecond, prompt,
			"prompt tokens per second of wall-clock time between scrapes (llamacpp.prompt.throughput, else the rate of llamacpp.prompt.tokens)",
			"llamacpp.prompt.throughput or llamacpp.prompt.tokens"+needServerRate),
		newStat(StatGPUUtilization, statUnitPercent, util, "hw.gpu.utilization, every GPU", "hw.gpu.utilization from "+needNVML),
		newStat(StatGPUMemoryUsed, statUnitMiB, mem, "hw.gpu.memory.usage, every GPU", "hw.gpu.memory.usage from "+needNVML),
		newStat(StatGPUTemperature, "°C", temp, "hw.temperature, every GPU", "hw.temperature from "+needNVML),
		newStat(StatGPUPower, "W", power, "hw.power, every GPU", "hw.power from "+needNVML),
	}
}

// newStat summarizes values; with none, its NoData is need.
func newStat(name, unit string, values []float64, source, need string) Stat {
	s := Stat{Name: name, Unit: unit, Samples: len(values), Source: source}
	if len(values) == 0 {
		nan := Num(math.NaN())
		s.Mean, s.P50, s.P95, s.Max, s.NoData = nan, nan, nan, nan, need
		return s
	}
	q := quantiles(values, 0.5, 0.95)
	hi := values[0]
	for _, v := range values {
		hi = max(hi, v)
	}
	s.Mean, s.P50, s.P95, s.Max = Num(mean(values)), Num(q[0]), Num(q[1]), Num(hi)
	return s
}

// seriesValues pools the finite values of a metric's streams, times scale.
func (d *Data) seriesValues(metric string, keep func(*store.Series) bool, scale float64) []float64 {
	var out []float64
	for _, s := range d.series(metric, keep) {
		for _, v := range s.V {
			if finite(v) {
				out = append(out, v*scale)
			}
		}
	}
	return out
}

// statisticsTable draws the statistics as a table; empty when no series has values.
func statisticsTable(d *Data, id string) *Figure {
	const title = "Statistics: mean, P50, P95, max"
	stats := statistics(d)
	some := false
	for _, s := range stats {
		if s.NoData == "" {
			some = true
		}
	}
	if !some {
		return emptyFig(id, title, needs(needSpans, "the llamacpp receiver's metrics", "the nvml receiver's metrics (an NVIDIA GPU)"))
	}
	cols := make([][]string, 7)
	for _, s := range stats {
		row := []string{s.Name, "no data", "", "", "", "0", "needs " + s.NoData}
		if s.NoData == "" {
			row = []string{s.Name, fmtStat(s.Mean, s.Unit), fmtStat(s.P50, s.Unit), fmtStat(s.P95, s.Unit), fmtStat(s.Max, s.Unit),
				strconv.Itoa(s.Samples), s.Source}
		}
		for i, c := range row {
			cols[i] = append(cols[i], c)
		}
	}
	return &Figure{ID: id, Title: title, Height: statisticsHeight, Wide: true,
		Layout: Obj{"margin": Obj{"l": 10, "r": 10, "t": 10, "b": 10}},
		Data: []Obj{{
			"type": "table", "columnwidth": []float64{1.6, 1, 1, 1, 1, 0.7, 4},
			"header": Obj{"values": []string{"series", "mean", "P50", "P95", "max", "samples", "from"},
				"align": "left", "fill": Obj{"color": "#e8ebef"}, "font": Obj{"size": 12}},
			"cells": Obj{"values": cols, "align": "left", "font": Obj{"size": 11}, "height": 24},
		}}}
}

// fmtStat prints a statistic with its unit.
func fmtStat(v Num, unit string) string {
	x := float64(v)
	switch {
	case !finite(x):
		return "n/a"
	case unit == statUnitSeconds:
		return fmtDuration(x)
	case unit == statUnitPercent:
		return fmt.Sprintf("%.1f%%", x)
	case unit == statUnitMiB:
		return fmt.Sprintf("%.0f MiB", x)
	default:
		return fmt.Sprintf("%.1f %s", x, unit)
	}
}
