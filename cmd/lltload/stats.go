// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// stats counts the requests of a run; its methods are safe for concurrent use.
type stats struct {
	mu         sync.Mutex
	sent       int
	streamed   int
	ok         int
	skipped    int
	inFlight   int
	errors     map[string]int
	latencies  []time.Duration // of successful requests
	ttfts      []time.Duration // of successful streams that produced text
	promptToks int64
	complToks  int64
}

func newStats() *stats { return &stats{errors: map[string]int{}} }

// started records a request that was sent.
func (s *stats) started(stream bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	s.inFlight++
	if stream {
		s.streamed++
	}
}

// skip records an arrival that was not sent because --concurrency requests were in flight.
func (s *stats) skip() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipped++
}

// finished records the outcome of a request that started.
func (s *stats) finished(r *result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	if r.usage != nil {
		s.promptToks += r.usage.PromptTokens
		s.complToks += r.usage.CompletionTokens
	}
	if !r.ok() {
		s.errors[r.errKind]++
		return
	}
	s.ok++
	s.latencies = append(s.latencies, r.latency)
	if r.spec.stream && r.ttft > 0 {
		s.ttfts = append(s.ttfts, r.ttft)
	}
}

// progress is a point-in-time view for the -v lines.
type progress struct {
	sent, ok, errors, skipped, inFlight int
}

func (s *stats) progress() progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := progress{sent: s.sent, ok: s.ok, skipped: s.skipped, inFlight: s.inFlight}
	for _, n := range s.errors {
		p.errors += n
	}
	return p
}

// summary is the report at the end of a run; --json prints it as is.
type summary struct {
	URL         string  `json:"url"`
	Arrivals    string  `json:"arrivals"`
	TargetQPS   float64 `json:"target_qps"`
	Concurrency int     `json:"concurrency"`
	// SendSeconds is how long requests were being sent; ElapsedSeconds adds the wait for the
	// last answers.
	SendSeconds    float64        `json:"send_seconds"`
	ElapsedSeconds float64        `json:"elapsed_seconds"`
	Sent           int            `json:"sent"`
	Streamed       int            `json:"streamed"`
	OK             int            `json:"ok"`
	Errors         int            `json:"errors"`
	ErrorsByKind   map[string]int `json:"errors_by_kind"`
	Skipped        int            `json:"skipped"`
	// LatencyMS covers successful requests, from sending to the end of the answer.
	LatencyMS latencySummary `json:"latency_ms"`
	// TTFTMS covers successful streams: the time to the first chunk with text.
	TTFTMS           latencySummary `json:"ttft_ms"`
	PromptTokens     int64          `json:"prompt_tokens"`
	CompletionTokens int64          `json:"completion_tokens"`
	// AchievedQPS is Sent / SendSeconds.
	AchievedQPS float64 `json:"achieved_qps"`
}

// latencySummary describes a set of durations, in milliseconds.
type latencySummary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Mean  float64 `json:"mean"`
	Max   float64 `json:"max"`
}

// summarize builds the summary of the run so far.
func (s *stats) summarize(cfg *config, send, elapsed time.Duration) summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := summary{
		URL: redacted(cfg.endpoint), Arrivals: cfg.arrivals, TargetQPS: cfg.qps, Concurrency: cfg.concurrency,
		SendSeconds: round3(send.Seconds()), ElapsedSeconds: round3(elapsed.Seconds()),
		Sent: s.sent, Streamed: s.streamed, OK: s.ok, Skipped: s.skipped,
		ErrorsByKind: make(map[string]int, len(s.errors)),
		LatencyMS:    describe(s.latencies), TTFTMS: describe(s.ttfts),
		PromptTokens: s.promptToks, CompletionTokens: s.complToks,
	}
	for k, n := range s.errors {
		sum.ErrorsByKind[k] = n
		sum.Errors += n
	}
	if send > 0 {
		sum.AchievedQPS = round3(float64(s.sent) / send.Seconds())
	}
	return sum
}

// describe returns the nearest-rank percentiles, mean and max of ds in milliseconds; all zero
// when ds is empty.
func describe(ds []time.Duration) latencySummary {
	if len(ds) == 0 {
		return latencySummary{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	return latencySummary{
		Count: len(sorted),
		P50:   ms(percentile(sorted, 50)),
		P95:   ms(percentile(sorted, 95)),
		P99:   ms(percentile(sorted, 99)),
		Mean:  ms(total / time.Duration(len(sorted))),
		Max:   ms(sorted[len(sorted)-1]),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted (ascending, not empty): the
// smallest value with at least p percent of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// redacted returns rawURL with its password, if any, replaced by "xxxxx".
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Redacted()
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// writeText prints the summary for people.
func (s *summary) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "lltload: %s, %s arrivals at %g req/s, concurrency %d\n", s.URL, s.Arrivals, s.TargetQPS, s.Concurrency)
	fmt.Fprintf(&b, "sent       %d in %.1fs (%.2f req/s achieved, %d streamed)\n", s.Sent, s.SendSeconds, s.AchievedQPS, s.Streamed)
	fmt.Fprintf(&b, "ok         %d\n", s.OK)
	fmt.Fprintf(&b, "errors     %d", s.Errors)
	if len(s.ErrorsByKind) > 0 {
		kinds := make([]string, 0, len(s.ErrorsByKind))
		for k := range s.ErrorsByKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for i, k := range kinds {
			kinds[i] = fmt.Sprintf("%s: %d", k, s.ErrorsByKind[k])
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(kinds, ", "))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "skipped    %d\n", s.Skipped)
	fmt.Fprintf(&b, "latency    %s\n", s.LatencyMS.text("ok requests"))
	fmt.Fprintf(&b, "ttft       %s\n", s.TTFTMS.text("streams"))
	fmt.Fprintf(&b, "tokens     prompt %d, completion %d\n", s.PromptTokens, s.CompletionTokens)
	_, err := io.WriteString(w, b.String())
	return err
}

func (l latencySummary) text(what string) string {
	if l.Count == 0 {
		return "- (no " + what + ")"
	}
	return fmt.Sprintf("p50 %.1fms  p95 %.1fms  p99 %.1fms  mean %.1fms  max %.1fms  (%d %s)",
		l.P50, l.P95, l.P99, l.Mean, l.Max, l.Count, what)
}

// writeJSON prints the summary as one indented JSON object.
func (s *summary) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
