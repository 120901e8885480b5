// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"maps"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// The llamacpp receiver's token rates. Its *.throughput gauges are the growth of the token
// counters over the wall-clock time between two scrapes: the tokens the server turned out per
// second, whatever its build. llama-server's own *_tokens_seconds gauges (the receiver's
// *.window_throughput) are not: they divide tokens by the time slots spent on them, so they are
// the speed of one slot, and what they average over depends on the build (b11669 resets them at
// every /metrics request; upstream 2026-05 never does, so they hold total/seconds_total over the
// server's life long after the last request). The dashboards draw tokens/s from the counter
// rates only, and llama-server's per-slot speed as a separately labelled series.
const (
	metricGenerationThroughput       = conventions.MetricLlamacppGenerationThroughput
	metricGenerationWindowThroughput = conventions.MetricLlamacppGenerationWindowThroughput
	metricGenerationTokens           = conventions.MetricLlamacppGenerationTokens
	metricPromptThroughput           = "llamacpp.prompt.throughput"
	metricPromptWindowThroughput     = "llamacpp.prompt.window_throughput"
	metricPromptTokens               = conventions.MetricLlamacppPromptTokens
)

// Legend names of the throughput series.
const (
	// nameGenerationRate is the generated tokens per second of wall-clock time (counter rate).
	nameGenerationRate = "generated tokens/s"
	// namePerSlotDecode is llama-server's own generation speed gauge.
	namePerSlotDecode = "llama-server per-slot decode speed (its own gauge)"
)

// tokenRate is one server's token rate over time, tokens per second of wall-clock time.
type tokenRate struct {
	// S is the stream the rate belongs to (its label names the server when there are several).
	S *store.Series
	T []int64
	V []float64
	// Computed is true when the rate was computed here from the token counter (the receiver's
	// throughput gauge was absent).
	Computed bool
}

// tokenRates is the token rate of each server: the receiver's counter-rate gauge (throughput)
// where the snapshot has it, else the rate of the token counter (tokens) between its points.
// llama-server's *_tokens_seconds gauges are never used here.
func (d *Data) tokenRates(throughput, tokens string) []tokenRate {
	var out []tokenRate
	gauges := d.series(throughput, nil)
	for _, s := range gauges {
		out = append(out, tokenRate{S: s, T: s.T, V: s.V})
	}
	for _, s := range d.series(tokens, nil) {
		if hasStream(gauges, s) {
			continue
		}
		if t, v := rate(s); len(t) > 0 {
			out = append(out, tokenRate{S: s, T: t, V: v, Computed: true})
		}
	}
	return out
}

// hasStream is true when one of ss has the attributes of s (the same server).
func hasStream(ss []*store.Series, s *store.Series) bool {
	for _, c := range ss {
		if maps.Equal(c.Attrs, s.Attrs) {
			return true
		}
	}
	return false
}

// rateValues pools the finite values of rates.
func rateValues(rates []tokenRate) []float64 {
	var v []float64
	for _, r := range rates {
		for _, x := range r.V {
			if finite(x) {
				v = append(v, x)
			}
		}
	}
	return v
}
