// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// report is the whole result; --json writes it as is.
type report struct {
	Tool          string        `json:"tool"`
	Started       string        `json:"started"`
	ElapsedS      float64       `json:"elapsed_s"`
	Direct        string        `json:"direct"`
	Gateway       string        `json:"gateway"`
	Concurrency   []int         `json:"concurrency"`
	MaxTokens     int           `json:"max_tokens"`
	Stream        bool          `json:"stream"`
	RoundDuration string        `json:"round_duration,omitempty"`
	RoundRequests int           `json:"round_requests,omitempty"`
	Rounds        int           `json:"rounds"`
	MaxRounds     int           `json:"max_rounds"`
	TargetSpread  float64       `json:"target_spread_pct,omitempty"`
	Budget        string        `json:"budget,omitempty"`
	Warmup        int           `json:"warmup"`
	Pause         string        `json:"pause"`
	CollectorPID  int           `json:"collector_pid,omitempty"`
	Temperature   float64       `json:"temperature"`
	BanTokens     string        `json:"ban_tokens,omitempty"`
	BodyExtra     string        `json:"body_extra,omitempty"`
	Results       []concSummary `json:"results"`
	Notes         []string      `json:"notes,omitempty"`
}

// concSummary is one concurrency's figures.
type concSummary struct {
	Concurrency       int        `json:"concurrency"`
	GatewayRounds     int        `json:"gateway_rounds"`
	DirectRounds      int        `json:"direct_rounds"`
	Stop              stopReason `json:"stopped_by"`
	DirectTokensPerS  float64    `json:"direct_tokens_per_s"`
	GatewayTokensPerS float64    `json:"gateway_tokens_per_s"`
	// Ratio is gateway/direct output tokens/s; Control the A/A control (direct/direct).
	Ratio     ratioSummary           `json:"ratio"`
	Control   ratioSummary           `json:"control"`
	Latency   latencyComparison      `json:"latency_ms"`
	TTFT      *latencyComparison     `json:"ttft_ms,omitempty"`
	Gap       *latencyComparison     `json:"chunk_gap_ms,omitempty"`
	Collector *collectorSummary      `json:"collector,omitempty"`
	Errors    map[arm]map[string]int `json:"errors"`
	Rounds    []roundResult          `json:"rounds"`
}

// latencyComparison holds durations direct and through the gateway, in milliseconds.
type latencyComparison struct {
	Direct  latencySummary `json:"direct"`
	Gateway latencySummary `json:"gateway"`
	// Added is gateway minus direct; ControlAdded the same difference between alternate direct
	// rounds (the A/A control).
	Added        latencySummary `json:"added"`
	ControlAdded latencySummary `json:"control_added"`
}

// collectorSummary is the collector's CPU time and memory.
type collectorSummary struct {
	// GatewayCPUMSPerRequest is its CPU time in the gateway rounds' windows per gateway request;
	// NetCPUMSPerRequest subtracts what it spent in the same time during direct rounds
	// (BaselineCPUMSPerS: scraping, exporting, llama-server's logs). NetCPUMSPerRequestMedian is
	// the median gateway round's CPU rate less the median direct round's, over the gateway
	// request rate: it leaves out background work that lands in a few rounds (genaienrich's PCA
	// refits, say), which the sums charge to whichever arm it fell in.
	GatewayCPUMSPerRequest      float64 `json:"gateway_cpu_ms_per_request"`
	NetCPUMSPerRequest          float64 `json:"net_cpu_ms_per_request"`
	NetCPUMSPerRequestMedian    float64 `json:"net_cpu_ms_per_request_median"`
	BaselineCPUMSPerS           float64 `json:"baseline_cpu_ms_per_s"`
	GatewayCPUMSPerS            float64 `json:"gateway_cpu_ms_per_s"`
	DirectCPUMSPerDirectRequest float64 `json:"direct_cpu_ms_per_direct_request"`
	GatewayRequests             int     `json:"gateway_requests"`
	// With --collector-metrics: spans accepted per gateway request (net of direct rounds) and
	// the net CPU per such span.
	SpansPerGatewayRequest float64 `json:"spans_per_gateway_request,omitempty"`
	NetCPUMSPerSpan        float64 `json:"net_cpu_ms_per_span,omitempty"`
	RSSMiBMax              float64 `json:"rss_mib_max"`
	RSSMiBLast             float64 `json:"rss_mib_last"`
	// The same for RssAnon, which leaves out the mapped executable (page cache the kernel can
	// drop and every copy of the binary shares).
	AnonMiBMax  float64 `json:"rss_anon_mib_max"`
	AnonMiBLast float64 `json:"rss_anon_mib_last"`
}

func newReport(cfg *config, start time.Time) *report {
	r := &report{
		Tool: "lltbench", Started: start.UTC().Format(time.RFC3339), Direct: cfg.direct, Gateway: cfg.gateway,
		Concurrency: cfg.concurrency, MaxTokens: cfg.maxTokens, Stream: cfg.stream, RoundRequests: cfg.roundRequests,
		Rounds: cfg.rounds, MaxRounds: cfg.maxRounds, TargetSpread: cfg.targetSpread, Warmup: cfg.warmup,
		Pause: cfg.pause.String(), CollectorPID: cfg.collectorPID, Temperature: cfg.temperature,
		BodyExtra: cfg.extraDescription,
	}
	if cfg.roundRequests == 0 {
		r.RoundDuration = cfg.roundDuration.String()
	}
	if cfg.budget > 0 {
		r.Budget = cfg.budget.String()
	}
	var bans []string
	for _, t := range cfg.banTokens {
		if t.lo == t.hi {
			bans = append(bans, strconv.Itoa(t.lo))
		} else {
			bans = append(bans, fmt.Sprintf("%d-%d", t.lo, t.hi))
		}
	}
	r.BanTokens = strings.Join(bans, ",")
	return r
}

func (r *report) writeJSONFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeMarkdown prints the tables.
func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	mode := "not streamed"
	if r.Stream {
		mode = "streamed"
	}
	round := r.RoundDuration
	if r.RoundRequests > 0 {
		round = fmt.Sprintf("%d requests", r.RoundRequests)
	}
	fmt.Fprintf(&b, "## lltbench: gateway %s against direct %s\n\n", r.Gateway, r.Direct)
	fmt.Fprintf(&b, "%d-token answers (ignore_eos), %s; rounds of %s in the order D G D G ... D after %d warm-up pair(s); "+
		"ratio = a gateway round's output tokens/s over the mean of the direct rounds on either side, "+
		"A/A = the same for a direct round between two direct rounds; ± is the 95%% confidence half-width of the mean ratio.\n\n",
		r.MaxTokens, mode, round, r.Warmup)
	b.WriteString("| concurrency | gateway rounds | direct tok/s | gateway/direct | A/A control | direct p50 / p99 ms | added p50 ms | added p99 ms | A/A added p50 / p99 ms | errors D / G |\n")
	b.WriteString("|---:|---:|---:|---|---|---|---:|---:|---|---|\n")
	for _, c := range r.Results {
		fmt.Fprintf(&b, "| %d | %d (%s) | %.1f | %s | %s | %.1f / %.1f | %s | %s | %s / %s | %d / %d |\n",
			c.Concurrency, c.GatewayRounds, c.Stop, c.DirectTokensPerS, ratioCell(c.Ratio), ratioCell(c.Control),
			c.Latency.Direct.P50, c.Latency.Direct.P99, signed(c.Latency.Added.P50), signed(c.Latency.Added.P99),
			signed(c.Latency.ControlAdded.P50), signed(c.Latency.ControlAdded.P99),
			errorCount(c.Errors, armDirect), errorCount(c.Errors, armGateway))
	}
	if r.Stream {
		b.WriteString("\nStreams (time to first token, gap between chunks with text):\n\n")
		b.WriteString("| concurrency | direct TTFT mean / p99 ms | added TTFT mean / p99 ms | A/A added TTFT mean / p99 | direct gap mean / p99 ms | added gap mean / p99 ms | A/A added gap mean / p99 |\n")
		b.WriteString("|---:|---|---|---|---|---|---|\n")
		for _, c := range r.Results {
			if c.TTFT == nil || c.Gap == nil {
				continue
			}
			fmt.Fprintf(&b, "| %d | %.2f / %.2f | %s / %s | %s / %s | %.3f / %.3f | %s / %s | %s / %s |\n", c.Concurrency,
				c.TTFT.Direct.Mean, c.TTFT.Direct.P99, signed(c.TTFT.Added.Mean), signed(c.TTFT.Added.P99),
				signed(c.TTFT.ControlAdded.Mean), signed(c.TTFT.ControlAdded.P99),
				c.Gap.Direct.Mean, c.Gap.Direct.P99, signed(c.Gap.Added.Mean), signed(c.Gap.Added.P99),
				signed(c.Gap.ControlAdded.Mean), signed(c.Gap.ControlAdded.P99))
		}
	}
	if r.CollectorPID != 0 {
		fmt.Fprintf(&b, "\nCollector (PID %d; CPU from /proc/PID/stat over each round's window, from its start to the next round's start):\n\n", r.CollectorPID)
		b.WriteString("| concurrency | CPU ms / request, raw | CPU ms / request, net | net, from medians | spans / request | CPU ms / span, net | CPU ms/s in gateway rounds | baseline CPU ms/s (direct rounds) | RSS MiB max / last | anonymous RSS MiB max / last |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
		for _, c := range r.Results {
			if c.Collector == nil {
				continue
			}
			k := c.Collector
			perSpan, spans := "-", "-"
			if k.SpansPerGatewayRequest > 0 {
				spans, perSpan = fmt.Sprintf("%.2f", k.SpansPerGatewayRequest), fmt.Sprintf("%.3f", k.NetCPUMSPerSpan)
			}
			fmt.Fprintf(&b, "| %d | %.3f | %.3f | %.3f | %s | %s | %.1f | %.1f | %.1f / %.1f | %.1f / %.1f |\n", c.Concurrency, k.GatewayCPUMSPerRequest,
				k.NetCPUMSPerRequest, k.NetCPUMSPerRequestMedian, spans, perSpan, k.GatewayCPUMSPerS, k.BaselineCPUMSPerS, k.RSSMiBMax, k.RSSMiBLast,
				k.AnonMiBMax, k.AnonMiBLast)
		}
	}
	for _, c := range r.Results {
		for _, a := range []arm{armDirect, armGateway} {
			if len(c.Errors[a]) > 0 {
				fmt.Fprintf(&b, "\nc=%d %s errors: %v", c.Concurrency, a, c.Errors[a])
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ratioCell formats a ratio as "0.9987 ± 0.21% (n 8)".
func ratioCell(s ratioSummary) string {
	m, ci := float64(s.Mean), float64(s.CI95Pct)
	if math.IsNaN(m) {
		return "-"
	}
	if math.IsInf(ci, 0) {
		return fmt.Sprintf("%.4f (n %d)", m, s.N)
	}
	return fmt.Sprintf("%.4f ± %.2f%% (n %d)", m, ci, s.N)
}

// signed formats a difference with its sign.
func signed(v float64) string { return fmt.Sprintf("%+.2f", v) }
