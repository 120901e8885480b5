// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Why an inference request waited before it was sent (llamacpp.gateway.wait.reason).
const (
	// waitStarting: the launcher reported its llama-server starting (or restarting).
	waitStarting = "server_starting"
	// waitRefused: connecting to llama-server failed before any byte was sent.
	waitRefused = "connection_refused"
)

// Backoff between attempts to connect while no launcher says when the server is back.
const (
	minRetryBackoff = 25 * time.Millisecond
	maxRetryBackoff = 500 * time.Millisecond
)

// waitingTransport sends an inference request once llama-server can take it: a request that
// arrives while the launcher reports the server starting waits for it to be ready, and one whose
// connection is refused (nothing was sent, so it can be sent again) waits and is sent again, both
// within Config.ServerWait and the client's own cancellation. A request that reached llama-server
// is never sent twice: an error after the connection was made is the caller's.
type waitingTransport struct {
	base http.RoundTripper
	// wait bounds the waiting of one request; 0 turns waiting off.
	wait time.Duration
	// ready blocks until the launcher's server is ready (nil without a launcher); it returns at
	// once when it is.
	ready func(context.Context) error
	// upstream re-reads the server's address after a wait (a restarted server may have moved).
	upstream func() (*upstream, error)
	// waiting counts the requests waiting now (otelcol_llamacpp_gateway_requests_waiting).
	waiting atomic.Int64
	// recordWait records the time a request waited (otelcol_llamacpp_gateway_wait_duration).
	recordWait func(ctx context.Context, seconds float64)
}

func (t *waitingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchangeFrom(req.Context())
	if ex == nil || t.wait <= 0 {
		return t.base.RoundTrip(req)
	}
	var (
		began    time.Time
		deadline <-chan time.Time
		backoff  = minRetryBackoff
	)
	startWait := func(reason string) {
		if began.IsZero() {
			began = time.Now()
			ex.waitReason = reason
			deadline = time.After(t.wait)
			t.waiting.Add(1)
		}
	}
	defer func() {
		if !began.IsZero() {
			t.waiting.Add(-1)
			ex.waited = time.Since(began)
			if t.recordWait != nil {
				t.recordWait(req.Context(), ex.waited.Seconds())
			}
		}
	}()
	for {
		if t.ready != nil {
			waitedBefore := !began.IsZero()
			if err := t.readyWithin(req, &began, startWait); err != nil {
				return nil, err
			}
			if !waitedBefore && !began.IsZero() {
				// The server was restarting: send to where it is now.
				next, err := t.resend(req, ex)
				if err != nil {
					return nil, err
				}
				req = next
			}
		}
		resp, err := t.base.RoundTrip(req)
		if err == nil || !notSent(err) || req.Context().Err() != nil {
			return resp, err
		}
		startWait(waitRefused)
		timer := time.NewTimer(backoff)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-deadline:
			timer.Stop()
			return nil, &waitError{waited: time.Since(began), last: err}
		case <-timer.C:
		}
		backoff = min(2*backoff, maxRetryBackoff)
		if next, rerr := t.resend(req, ex); rerr == nil {
			req = next
		} else {
			return nil, rerr
		}
	}
}

// cancelled is a context that is already done: with it, ready answers at once whether the
// server is ready (nil), not yet (context.Canceled), or failed.
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// readyWithin waits, when the launcher's server is starting, for it to be ready, within the
// wait. A launcher that gave up (its server failed, or it stopped) is not waited for.
func (t *waitingTransport) readyWithin(req *http.Request, began *time.Time, startWait func(string)) error {
	err := t.ready(cancelled)
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.Canceled) {
		return err
	}
	startWait(waitStarting)
	left := t.wait - time.Since(*began)
	ctx, cancel := context.WithTimeout(req.Context(), max(left, 0))
	defer cancel()
	if err := t.ready(ctx); err != nil {
		if req.Context().Err() != nil {
			return req.Context().Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &waitError{waited: time.Since(*began), last: errors.New("the launcher still reports it starting")}
		}
		return err
	}
	return nil
}

// resend is the request again, with its body from the start and the server's current address.
func (t *waitingTransport) resend(req *http.Request, ex *exchange) (*http.Request, error) {
	next := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		next.Body = body
	}
	if up, err := t.upstream(); err == nil {
		ex.up = up
		next.URL.Scheme, next.URL.Host = up.url.Scheme, up.url.Host
		next.Host = ""
	}
	return next, nil
}

// notSent reports whether err means the request never reached llama-server: the connection was
// not made (refused, no route, reset while connecting), so sending it again cannot run it twice.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// waitError is the error of a request that waited its whole ServerWait for llama-server.
type waitError struct {
	waited time.Duration
	last   error
}

func (e *waitError) Error() string {
	return "llama-server was not back within " + e.waited.Round(time.Millisecond).String() + ": " + e.last.Error()
}

func (e *waitError) Unwrap() error { return e.last }
