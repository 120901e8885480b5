// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // every request sent failed, or the run could not start
	exitUsage  = 2 // the command line was wrong
)

// drainTimeout bounds the wait for requests in flight after a signal.
var drainTimeout = 10 * time.Second

// progressInterval is how often -v prints a progress line.
var progressInterval = time.Second

// run executes the command line args (without the program name) and returns the exit status.
// Cancelling ctx stops the run as SIGINT does; closing abort (nil: never) cancels the requests
// in flight. getenv reads the API key.
func run(ctx context.Context, abort <-chan struct{}, args []string, getenv func(string) string,
	stdout, stderr io.Writer) int {
	cfg, fs, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs)
		return exitOK
	}
	if err != nil {
		printf(stderr, "lltload: %v\nRun 'lltload -h' for the flags.\n", err)
		return exitUsage
	}
	var rlog *requestLog
	if cfg.logPath != "" {
		f, err := os.Create(cfg.logPath)
		if err != nil {
			printf(stderr, "lltload: --log: %v\n", err)
			return exitFailed
		}
		rlog = &requestLog{f: f, w: bufio.NewWriter(f)}
	}
	sum := newLoad(cfg, stderr, rlog).run(ctx, abort)
	if rlog != nil {
		if err := rlog.close(); err != nil {
			printf(stderr, "lltload: --log: %v\n", err)
		}
	}
	if cfg.json {
		err = sum.writeJSON(stdout)
	} else {
		err = sum.writeText(stdout)
	}
	if err != nil {
		printf(stderr, "lltload: write the summary: %v\n", err)
	}
	if sum.Sent > 0 && sum.OK == 0 {
		return exitFailed
	}
	return exitOK
}

// load is one run of the generator.
type load struct {
	cfg    *config
	client *client
	stats  *stats
	stderr io.Writer
	rlog   *requestLog // nil without --log
}

func newLoad(cfg *config, stderr io.Writer, rlog *requestLog) *load {
	return &load{cfg: cfg, client: newClient(cfg), stats: newStats(), stderr: &lockedWriter{w: stderr}, rlog: rlog}
}

// lockedWriter serializes writes from the progress goroutine and the main one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to the underlying writer.
func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// run sends requests until ctx is done or the limits are reached, waits for the answers, and
// returns the summary.
func (l *load) run(ctx context.Context, abort <-chan struct{}) summary {
	defer l.client.close()
	inflight, cancelInflight := context.WithCancel(context.Background())
	defer cancelInflight()

	// Two generators from one seed: the requests drawn do not depend on --qps or --arrivals.
	seed := uint64(l.cfg.seed)
	gap := gapFunc(l.cfg.arrivals, l.cfg.qps, mrand.New(mrand.NewPCG(seed, 0x61727269)))
	gen := newSpecGen(l.cfg, mrand.New(mrand.NewPCG(seed, 0x72657173)))
	sem := make(chan struct{}, l.cfg.concurrency)
	var wg sync.WaitGroup

	start := time.Now()
	stopProgress := l.startProgress(start)
	defer stopProgress()
	_, stopped := schedule(ctx, realClock{}, gap, l.cfg.duration, l.cfg.requests, func(int) {
		spec := gen.next() // drawn for skipped arrivals too, so a seed gives the same sequence
		select {
		case sem <- struct{}{}:
		default:
			l.stats.skip()
			return
		}
		l.stats.started(spec.stream)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := l.client.do(inflight, spec)
			l.stats.finished(&r)
			if l.rlog != nil {
				l.rlog.write(&r)
			}
		}()
	})
	send := stopped.Sub(start)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	l.drain(ctx, abort, done, cancelInflight)
	return l.stats.summarize(l.cfg, send, time.Since(start))
}

// drain waits for the requests in flight: all of them after a normal end (each is bounded by
// --timeout), at most drainTimeout once ctx is done (a signal), and none once abort is closed.
// Requests still running then are cancelled.
func (l *load) drain(ctx context.Context, abort <-chan struct{}, done <-chan struct{}, cancel func()) {
	signalled := ctx.Done()
	var deadline <-chan time.Time
	if ctx.Err() != nil {
		signalled = nil
		deadline = l.drainDeadline()
	}
	for {
		select {
		case <-done:
			return
		case <-signalled:
			signalled = nil
			deadline = l.drainDeadline()
		case <-deadline:
			l.verbosef("lltload: cancelling %d requests still in flight\n", l.stats.progress().inFlight)
			cancel()
			<-done
			return
		case <-abort:
			cancel()
			<-done
			return
		}
	}
}

func (l *load) drainDeadline() <-chan time.Time {
	if n := l.stats.progress().inFlight; n > 0 {
		l.verbosef("lltload: stopping; waiting up to %v for %d requests in flight\n", drainTimeout, n)
	}
	return time.After(drainTimeout)
}

// startProgress prints a progress line to stderr every progressInterval under -v, and returns
// the function that stops it.
func (l *load) startProgress(start time.Time) func() {
	if !l.cfg.verbose {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				p := l.stats.progress()
				printf(l.stderr, "lltload: %5.1fs sent %d ok %d errors %d skipped %d in flight %d\n",
					now.Sub(start).Seconds(), p.sent, p.ok, p.errors, p.skipped, p.inFlight)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop); wg.Wait() }) }
}

func (l *load) verbosef(format string, args ...any) {
	if l.cfg.verbose {
		printf(l.stderr, format, args...)
	}
}

// requestLog writes one JSON line per finished request (--log).
type requestLog struct {
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	err error
}

// logLine is one line of --log.
type logLine struct {
	Time             string  `json:"time"`
	TraceID          string  `json:"trace_id,omitempty"`
	Category         string  `json:"category"`
	Stream           bool    `json:"stream"`
	MaxTokens        int     `json:"max_tokens"`
	Temperature      float64 `json:"temperature"`
	Status           int     `json:"status"`
	Error            string  `json:"error,omitempty"`
	Detail           string  `json:"detail,omitempty"`
	LatencyMS        float64 `json:"latency_ms"`
	TTFTMS           float64 `json:"ttft_ms,omitempty"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
}

func (rl *requestLog) write(r *result) {
	line := logLine{
		Time: r.start.UTC().Format(time.RFC3339Nano), TraceID: r.traceID, Category: string(r.spec.category),
		Stream: r.spec.stream, MaxTokens: r.spec.maxTokens, Temperature: r.spec.temperature,
		Status: r.status, Error: r.errKind, Detail: r.errDetail, LatencyMS: ms(r.latency), TTFTMS: ms(r.ttft),
	}
	if r.usage != nil {
		line.PromptTokens, line.CompletionTokens = r.usage.PromptTokens, r.usage.CompletionTokens
	}
	b, err := json.Marshal(line)
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.err != nil {
		return
	}
	if err == nil {
		b = append(b, '\n')
		_, err = rl.w.Write(b)
	}
	rl.err = err
}

func (rl *requestLog) close() error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	err := rl.err
	if ferr := rl.w.Flush(); err == nil {
		err = ferr
	}
	if cerr := rl.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// printf writes diagnostics. An error writing them could only be reported to the same writer,
// so it is dropped.
func printf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
