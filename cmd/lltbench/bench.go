// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// arm is where a round's requests go.
type arm string

const (
	armDirect  arm = "direct"
	armGateway arm = "gateway"
)

// roundResult is one round.
type roundResult struct {
	Arm    arm  `json:"arm"`
	Index  int  `json:"index"` // position among the measured rounds; -1 for a warm-up round
	Warmup bool `json:"warmup,omitempty"`
	// StartS is when the round began, in seconds since the run began (for matching against other
	// time series); Seconds its length from the first request to the last answer.
	StartS     float64        `json:"start_s"`
	Seconds    float64        `json:"seconds"`
	Requests   int            `json:"requests"`
	OK         int            `json:"ok"`
	Errors     map[string]int `json:"errors,omitempty"`
	FirstError string         `json:"first_error,omitempty"`
	NewConns   int            `json:"new_connections"`
	Tokens     int64          `json:"tokens"`
	TokensPerS float64        `json:"tokens_per_s"`
	// The collector's CPU time over the round's window, which runs from its start to the start of
	// the next round (the pause after it included), and its RSS at the window's end.
	CPUMS   float64 `json:"collector_cpu_ms,omitempty"`
	WindowS float64 `json:"collector_window_s,omitempty"`
	RSSMiB  float64 `json:"collector_rss_mib,omitempty"`
	// AnonMiB is RssAnon at the same moment: the part of RSS that is the process's own memory.
	AnonMiB float64 `json:"collector_rss_anon_mib,omitempty"`
	// Spans is how many spans the collector accepted over the same window (--collector-metrics).
	Spans float64 `json:"collector_spans,omitempty"`

	reqs []reqResult
}

// bench is one run.
type bench struct {
	cfg     *config
	stderr  io.Writer
	proc    procReader
	start   time.Time
	clients map[arm]*client
	notes   []string
	procErr error
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, fs, err := parseConfig(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs)
		return exitOK
	}
	if err != nil {
		printf(stderr, "lltbench: %v\nRun 'lltbench -h' for the flags.\n", err)
		return exitUsage
	}
	bodies, err := requestBodies(cfg)
	if err != nil {
		printf(stderr, "lltbench: %v\n", err)
		return exitUsage
	}
	if cfg.wait > 0 {
		for _, e := range []string{cfg.directEndpoint, cfg.gatewayEndpoint} {
			if err := waitHealthy(ctx, healthURL(e), cfg.wait); err != nil {
				printf(stderr, "lltbench: %v\n", err)
				return exitFailed
			}
		}
	}
	maxConc := slices.Max(cfg.concurrency)
	b := &bench{cfg: cfg, stderr: stderr, proc: procReader{pid: cfg.collectorPID, clkTck: cfg.clkTck, root: "/proc", metricsURL: cfg.collectorMetrics},
		clients: map[arm]*client{
			armDirect:  newClient(cfg, cfg.directEndpoint, maxConc, bodies),
			armGateway: newClient(cfg, cfg.gatewayEndpoint, maxConc, bodies),
		}}
	defer b.clients[armDirect].close()
	defer b.clients[armGateway].close()
	if _, err := b.proc.sample(); err != nil {
		printf(stderr, "lltbench: the collector (--collector-pid %d, --collector-metrics %q): %v\n", cfg.collectorPID, cfg.collectorMetrics, err)
		return exitFailed
	}
	rep := b.run(ctx)
	if err := rep.writeMarkdown(stdout); err != nil {
		printf(stderr, "lltbench: write the report: %v\n", err)
	}
	if cfg.jsonPath != "" {
		if err := rep.writeJSONFile(cfg.jsonPath); err != nil {
			printf(stderr, "lltbench: --json: %v\n", err)
			return exitFailed
		}
	}
	for _, r := range rep.Results {
		for _, rr := range r.Rounds {
			if rr.OK > 0 {
				return exitOK
			}
		}
	}
	printf(stderr, "lltbench: no request succeeded\n")
	return exitFailed
}

// run measures every concurrency in turn.
func (b *bench) run(ctx context.Context) *report {
	b.start = time.Now()
	rep := newReport(b.cfg, b.start)
	var deadline time.Time
	if b.cfg.budget > 0 {
		deadline = b.start.Add(b.cfg.budget)
	}
	for j, conc := range b.cfg.concurrency {
		if ctx.Err() != nil {
			b.notes = append(b.notes, fmt.Sprintf("interrupted before concurrency %d", conc))
			break
		}
		var concDeadline time.Time
		if !deadline.IsZero() {
			concDeadline = time.Now().Add(time.Until(deadline) / time.Duration(len(b.cfg.concurrency)-j))
		}
		rounds, stop := b.runConcurrency(ctx, conc, concDeadline)
		rep.Results = append(rep.Results, summarizeConcurrency(conc, rounds, stop, b.cfg.stream))
	}
	if b.procErr != nil {
		b.notes = append(b.notes, "reading the collector's /proc files failed: "+b.procErr.Error())
	}
	rep.Notes = b.notes
	rep.ElapsedS = round3(time.Since(b.start).Seconds())
	return rep
}

// runConcurrency runs the warm-up rounds and then D G D G ... D until moreRounds says stop.
func (b *bench) runConcurrency(ctx context.Context, conc int, deadline time.Time) ([]roundResult, stopReason) {
	var rounds []roundResult
	before := b.sample()
	for w := 0; w < b.cfg.warmup && ctx.Err() == nil; w++ {
		for _, a := range []arm{armDirect, armGateway} {
			r, after := b.round(ctx, a, conc, -1, before)
			before = after
			rounds = append(rounds, r)
		}
	}
	var measured time.Duration // wall time of the measured rounds, pauses included
	n := 0
	add := func(a arm) {
		t := time.Now()
		r, after := b.round(ctx, a, conc, n, before)
		before = after
		rounds = append(rounds, r)
		measured += time.Since(t)
		n++
	}
	add(armDirect)
	gw := 0
	for ctx.Err() == nil {
		add(armGateway)
		if ctx.Err() != nil {
			break
		}
		add(armDirect)
		gw++
		tps := measuredTPS(rounds)
		ratio, control := summarizeRatios(gatewayRatios(tps)), summarizeRatios(controlRatios(tps))
		pairCost := 2 * measured / time.Duration(n)
		more, why := moreRounds(gw, b.cfg.rounds, b.cfg.maxRounds, b.cfg.targetSpread,
			float64(ratio.CI95Pct), float64(control.CI95Pct), time.Until(deadline), pairCost, !deadline.IsZero())
		if !more {
			return rounds, why
		}
	}
	return rounds, "interrupted"
}

// measuredTPS returns the tokens/s of the measured rounds, in order.
func measuredTPS(rounds []roundResult) []float64 {
	var tps []float64
	for _, r := range rounds {
		if !r.Warmup {
			tps = append(tps, r.TokensPerS)
		}
	}
	return tps
}

// sample reads the collector's process; a failure is kept and reported once.
func (b *bench) sample() procSample {
	s, err := b.proc.sample()
	if err != nil && b.procErr == nil {
		b.procErr = err
	}
	return s
}

// round runs one round of conc workers against arm a, then pauses, and returns the round and the
// process sample that ends its window (and starts the next).
func (b *bench) round(ctx context.Context, a arm, conc, index int, before procSample) (roundResult, procSample) {
	cl := b.clients[a]
	t0 := time.Now()
	var deadline time.Time
	if b.cfg.roundRequests == 0 {
		deadline = t0.Add(b.cfg.roundDuration)
	}
	var next atomic.Int64
	results := make([][]reqResult, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				k := next.Add(1) - 1
				if b.cfg.roundRequests > 0 && k >= int64(b.cfg.roundRequests) {
					return
				}
				results[w] = append(results[w], cl.do(ctx, int(k)))
			}
		})
	}
	wg.Wait()
	r := roundResult{Arm: a, Index: index, Warmup: index < 0, StartS: round3(t0.Sub(b.start).Seconds())}
	r.reqs = slices.Concat(results...)
	slices.SortFunc(r.reqs, func(x, y reqResult) int { return x.start.Compare(y.start) })
	last := t0
	for _, q := range r.reqs {
		r.Requests++
		r.NewConns += q.newConns
		if q.end.After(last) {
			last = q.end
		}
		if q.ok() {
			r.OK++
			r.Tokens += q.tokens
			continue
		}
		if r.Errors == nil {
			r.Errors = map[string]int{}
			r.FirstError = q.errKind + ": " + q.errDetail
		}
		r.Errors[q.errKind]++
	}
	r.Seconds = round3(last.Sub(t0).Seconds())
	switch {
	case !deadline.IsZero():
		r.TokensPerS = roundN(tokensInWindow(r.reqs, t0, deadline)/b.cfg.roundDuration.Seconds(), 3)
	case last.After(t0):
		r.TokensPerS = roundN(float64(r.Tokens)/last.Sub(t0).Seconds(), 3)
	}
	if b.cfg.pause > 0 && ctx.Err() == nil {
		select {
		case <-time.After(b.cfg.pause):
		case <-ctx.Done():
		}
	}
	after := b.sample()
	if b.proc.pid != 0 && b.procErr == nil {
		r.CPUMS = ms(after.cpu - before.cpu)
		r.WindowS = round3(after.at.Sub(before.at).Seconds())
		r.RSSMiB = roundN(float64(after.rssKiB)/1024, 1)
		r.AnonMiB = roundN(float64(after.anonKiB)/1024, 1)
	}
	if b.cfg.collectorMetrics != "" && b.procErr == nil {
		r.Spans = after.spans - before.spans
	}
	b.logRound(conc, &r)
	return r, after
}

func (b *bench) logRound(conc int, r *roundResult) {
	label := fmt.Sprintf("#%d", r.Index)
	if r.Warmup {
		label = "warm-up"
	}
	errs := ""
	if len(r.Errors) > 0 {
		errs = fmt.Sprintf(" errors %v (%s)", r.Errors, r.FirstError)
	}
	cpu := ""
	if b.proc.pid != 0 {
		cpu = fmt.Sprintf(" collector %.0f ms CPU, %.0f MiB", r.CPUMS, r.RSSMiB)
	}
	printf(b.stderr, "lltbench: c=%d %-7s %-7s %8.1f tok/s  %d req in %.2fs (%d new conns)%s%s\n",
		conc, r.Arm, label, r.TokensPerS, r.Requests, r.Seconds, r.NewConns, cpu, errs)
}

// summarizeConcurrency computes a concurrency's figures from its rounds.
func summarizeConcurrency(conc int, rounds []roundResult, stop stopReason, stream bool) concSummary {
	s := concSummary{Concurrency: conc, Stop: stop, Rounds: rounds, Errors: map[arm]map[string]int{}}
	tps := measuredTPS(rounds)
	s.Ratio = summarizeRatios(gatewayRatios(tps))
	s.Control = summarizeRatios(controlRatios(tps))
	var lat, ttft, gap [2][]time.Duration // [direct, gateway]
	var ctlLat, ctlTTFT, ctlGap [2][]time.Duration
	var tpsSum [2]float64
	var tpsN [2]int
	for _, r := range rounds {
		if r.Warmup {
			continue
		}
		i := 0
		if r.Arm == armGateway {
			i = 1
			s.GatewayRounds++
		} else {
			s.DirectRounds++
		}
		tpsSum[i] += r.TokensPerS
		tpsN[i]++
		for k, n := range r.Errors {
			if s.Errors[r.Arm] == nil {
				s.Errors[r.Arm] = map[string]int{}
			}
			s.Errors[r.Arm][k] += n
		}
		// The A/A latency control compares alternate direct rounds: the 2nd, 4th, ... against
		// the 1st, 3rd, ...
		half := (r.Index / 2) % 2
		for _, q := range r.reqs {
			if !q.ok() {
				continue
			}
			d := q.end.Sub(q.start)
			lat[i] = append(lat[i], d)
			if stream {
				ttft[i] = append(ttft[i], q.ttft)
				gap[i] = append(gap[i], q.gaps...)
			}
			if i == 0 {
				ctlLat[half] = append(ctlLat[half], d)
				if stream {
					ctlTTFT[half] = append(ctlTTFT[half], q.ttft)
					ctlGap[half] = append(ctlGap[half], q.gaps...)
				}
			}
		}
	}
	for i := range 2 {
		if tpsN[i] > 0 {
			tpsSum[i] = roundN(tpsSum[i]/float64(tpsN[i]), 2)
		}
	}
	s.DirectTokensPerS, s.GatewayTokensPerS = tpsSum[0], tpsSum[1]
	s.Latency = compare(lat, ctlLat)
	if stream {
		t, g := compare(ttft, ctlTTFT), compare(gap, ctlGap)
		s.TTFT, s.Gap = &t, &g
	}
	s.Collector = summarizeCollector(rounds)
	return s
}

// compare summarizes the direct and gateway durations, their difference, and the A/A control's
// difference (the even direct rounds, 2nd, 4th, ..., minus the odd ones).
func compare(arms, control [2][]time.Duration) latencyComparison {
	c := latencyComparison{Direct: describe(arms[0]), Gateway: describe(arms[1])}
	c.Added = c.Gateway.minus(c.Direct)
	c.ControlAdded = describe(control[1]).minus(describe(control[0]))
	return c
}

// summarizeCollector computes the collector's CPU per request and memory; nil without samples.
func summarizeCollector(rounds []roundResult) *collectorSummary {
	var cpu, win [2]float64
	var reqs [2]int
	var rates [2][]float64 // CPU ms/s of each round
	var rss, anon []float64
	var spans [2]float64
	for _, r := range rounds {
		if r.Warmup || r.WindowS == 0 {
			continue
		}
		i := 0
		if r.Arm == armGateway {
			i = 1
		}
		cpu[i] += r.CPUMS
		win[i] += r.WindowS
		rates[i] = append(rates[i], r.CPUMS/r.WindowS)
		reqs[i] += r.Requests
		spans[i] += r.Spans
		rss = append(rss, r.RSSMiB)
		anon = append(anon, r.AnonMiB)
	}
	if win[0] == 0 || win[1] == 0 || reqs[1] == 0 {
		return nil
	}
	baseline := cpu[0] / win[0]
	gatewayRate := float64(reqs[1]) / win[1] // requests/s in gateway rounds
	c := &collectorSummary{
		GatewayCPUMSPerRequest:   roundN(cpu[1]/float64(reqs[1]), 3),
		NetCPUMSPerRequest:       roundN((cpu[1]-baseline*win[1])/float64(reqs[1]), 3),
		NetCPUMSPerRequestMedian: roundN((median(rates[1])-median(rates[0]))/gatewayRate, 3),
		BaselineCPUMSPerS:        roundN(baseline, 2),
		GatewayCPUMSPerS:         roundN(cpu[1]/win[1], 2),
		GatewayRequests:          reqs[1],
		RSSMiBMax:                slices.Max(rss),
		RSSMiBLast:               rss[len(rss)-1],
		AnonMiBMax:               slices.Max(anon),
		AnonMiBLast:              anon[len(anon)-1],
	}
	if reqs[0] > 0 {
		c.DirectCPUMSPerDirectRequest = roundN(cpu[0]/float64(reqs[0]), 3)
	}
	// Spans accepted in gateway windows beyond those of direct windows of the same length (the
	// collector's own scrapes make none; an application sending OTLP at the same time would).
	if extra := spans[1] - spans[0]/win[0]*win[1]; extra > 0 {
		c.SpansPerGatewayRequest = roundN(extra/float64(reqs[1]), 3)
		c.NetCPUMSPerSpan = roundN(c.NetCPUMSPerRequest/c.SpansPerGatewayRequest, 3)
	}
	return c
}

// errorCount is the number of failed requests of arm a.
func errorCount(m map[arm]map[string]int, a arm) int {
	n := 0
	for _, c := range m[a] {
		n += c
	}
	return n
}

// printf writes diagnostics; an error writing them could only be reported to the same writer.
func printf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
