// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthInterval is how often /health is polled while llama-server loads its model.
const healthInterval = 100 * time.Millisecond

type httpGetter interface {
	Do(*http.Request) (*http.Response, error)
}

// newHealthClient returns the client of the /health probes; timeout bounds each one
// (health_check::timeout).
func newHealthClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout}
}

// healthy reports whether GET baseURL/health answers 200. llama-server answers 503 while it
// loads the model, and /health is public, but the key is sent anyway for proxies that want it.
func healthy(ctx context.Context, c httpGetter, baseURL, apiKey string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/health", nil)
	if err != nil {
		return false
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitHealthy polls /health every healthInterval until it answers 200 (true), or ctx ends (false).
func waitHealthy(ctx context.Context, c httpGetter, baseURL, apiKey string) bool {
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		if healthy(ctx, c, baseURL, apiKey) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// answers reports whether GET baseURL/health got an HTTP answer, whatever its status: a server
// that answers 503 (loading, or no slot free on builds that say so) is alive, not hung.
func answers(ctx context.Context, c httpGetter, baseURL, apiKey string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/health", nil)
	if err != nil {
		return err
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return resp.Body.Close()
}

// procSample is what the kernel says of a process: the CPU time it has used so far (user and
// system, all its threads, in clock ticks) and whether it is stopped (SIGSTOP, or a debugger).
type procSample struct {
	cpuTicks uint64
	stopped  bool
}

// errNoProcInfo: the system has no /proc to read a process's CPU time and state from.
var errNoProcInfo = errors.New("no per-process CPU time on this system")

// hangWatch watches a ready llama-server for a hang. A server is hung when no /health probe has
// been answered for hungAfter and, when the process can be read (Linux), it also used no CPU time
// since the last answer or is stopped (state T). The CPU condition keeps a busy server from being
// killed: llama-server answers HTTP on a pool of n_parallel+2 threads, and long streaming
// requests can queue /health behind them while the model computes. Its price: a server spinning
// in a livelock (burning CPU without answering) is not detected.
type hangWatch struct {
	interval, timeout, hungAfter time.Duration
	// probe sends one /health probe and returns nil when an answer came (any status).
	probe func(ctx context.Context) error
	// proc reads the process; errNoProcInfo (other systems) leaves the probes alone to decide.
	proc func() (procSample, error)
	// now and after are the clock (tests drive their own).
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// hang says why a server counts as hung.
type hang struct {
	silent time.Duration // since the last answered probe (or readiness)
	why    string        // "it is stopped (state T)", "it used no CPU time meanwhile", ...
	last   error         // the last probe's error
}

func (h hang) Error() string {
	return fmt.Sprintf("it answered no /health probe for %s and %s (last probe: %v)", h.silent.Round(100*time.Millisecond), h.why, h.last)
}

// run probes until the server is hung (returned) or ctx ends (nil). It starts as the server
// became ready, which counts as an answer.
func (w *hangWatch) run(ctx context.Context) *hang {
	lastOK := w.now()
	base, baseErr := w.proc()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.after(w.interval):
		}
		pctx, cancel := context.WithTimeout(ctx, w.timeout)
		err := w.probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		now := w.now()
		if err == nil {
			lastOK = now
			base, baseErr = w.proc()
			continue
		}
		silent := now.Sub(lastOK)
		if silent < w.hungAfter {
			continue
		}
		cur, curErr := w.proc()
		switch {
		case errors.Is(curErr, errNoProcInfo) || errors.Is(baseErr, errNoProcInfo):
			return &hang{silent: silent, why: "the process's CPU time cannot be read on this system", last: err}
		case curErr != nil:
			// The process is gone (it exited: the supervisor sees that) or /proc cannot be
			// read: judge by the probes alone.
			return &hang{silent: silent, why: "its CPU time could not be read (" + curErr.Error() + ")", last: err}
		case cur.stopped:
			return &hang{silent: silent, why: "it is stopped (state T)", last: err}
		case baseErr == nil && cur.cpuTicks == base.cpuTicks:
			return &hang{silent: silent, why: "it used no CPU time meanwhile", last: err}
		}
		// Busy: /health is queued behind work. Judge the next window from here.
		lastOK, base, baseErr = now, cur, nil
	}
}
