// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Load limits: how many inference requests the gateway holds at once, and how long one write of
// an answer may wait for a client that does not read.
const (
	// errConcurrencyLimit is error.type of a request refused because Config.MaxConcurrentRequests
	// were in flight (it was answered 429 and never sent).
	errConcurrencyLimit = "concurrency_limit"
	// errClientTimeout is error.type of a request whose client took no byte of the answer for
	// Config.WriteStallTimeout: the connection was closed.
	errClientTimeout = "client_timeout"
	// retryAfter is the Retry-After of a 429, in seconds: a stream of the tiny demo model lasts
	// about that long, a slot frees up in that time under a steady load.
	retryAfter = "1"
)

// reasonConcurrencyLimit is the reason attribute of otelcol_llamacpp_gateway_requests_rejected.
var reasonConcurrencyLimit = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", errConcurrencyLimit)))

// limiter bounds the inference requests in flight: a buffered channel of MaxConcurrentRequests
// tokens, taken without waiting (a full channel is a 429 at once), and a count for the gauge.
type limiter struct {
	slots    chan struct{} // nil: no limit
	inFlight atomic.Int64  // otelcol_llamacpp_gateway_requests_in_flight
}

func newLimiter(max int) *limiter {
	l := &limiter{}
	if max > 0 {
		l.slots = make(chan struct{}, max)
	}
	return l
}

// acquire takes a slot if one is free and reports whether it did; it never waits.
func (l *limiter) acquire() bool {
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		default:
			return false
		}
	}
	l.inFlight.Add(1)
	return true
}

// release gives back a slot acquire took.
func (l *limiter) release() {
	l.inFlight.Add(-1)
	if l.slots != nil {
		<-l.slots
	}
}

// reject answers an inference request over the limit: 429 with Retry-After and an OpenAI-style
// error, which the OpenAI SDKs retry after that many seconds. The body is not read (the server
// discards a small one for keep-alive, or closes the connection).
func (g *Gateway) reject(w http.ResponseWriter, r *http.Request, ex *exchange) {
	g.set.TelemetryBuilder.LlamacppGatewayRequestsRejected.Add(r.Context(), 1, reasonConcurrencyLimit)
	msg := "the gateway is serving its limit of " + strconv.Itoa(g.cfg.MaxConcurrentRequests) +
		" concurrent requests (gateway::max_concurrent_requests); retry later"
	ex.fail(http.StatusTooManyRequests, errConcurrencyLimit, msg)
	w.Header().Set("Retry-After", retryAfter)
	writeJSONError(w, http.StatusTooManyRequests, "rate_limit_error", msg)
}

// stallWriter bounds each write of an answer to the client by a deadline: a client that takes
// no byte for timeout (its socket buffers full) makes the write fail, and the connection is
// closed, so a client that stops reading does not hold its goroutines, its buffers, its slot of
// MaxConcurrentRequests and a llama-server slot for ever. The deadline is set before each Write
// and Flush and cleared after, so the time between writes (prompt processing, a slow model) is
// not bounded. Unwrap lets http.ResponseController (ReverseProxy's flushes) reach the
// connection's writer; FlushError puts the flushes under the deadline too.
type stallWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	ex      *exchange // nil for a pass-through request
}

func (s *stallWriter) arm() { _ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) }

func (s *stallWriter) disarm() { _ = s.rc.SetWriteDeadline(time.Time{}) }

func (s *stallWriter) note(err error) {
	if err != nil && s.ex != nil && errors.Is(err, os.ErrDeadlineExceeded) && s.ex.errType == "" {
		s.ex.errType = errClientTimeout
		s.ex.errMsg = "the client took no byte of the answer for " + s.timeout.String()
	}
}

func (s *stallWriter) Write(b []byte) (int, error) {
	s.arm()
	n, err := s.ResponseWriter.Write(b)
	s.disarm()
	s.note(err)
	return n, err
}

// FlushError is http.ResponseController's flush, under the deadline.
func (s *stallWriter) FlushError() error {
	s.arm()
	err := s.rc.Flush()
	s.disarm()
	s.note(err)
	return err
}

// Unwrap is for http.ResponseController.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// registerLimitTelemetry registers the in-flight gauge's callback.
func (g *Gateway) registerLimitTelemetry() error {
	return g.set.TelemetryBuilder.RegisterLlamacppGatewayRequestsInFlightCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(g.limit.inFlight.Load())
		return nil
	})
}
