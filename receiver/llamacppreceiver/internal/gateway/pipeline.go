// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

const (
	// queueSize bounds the finished requests waiting for the processing goroutine.
	queueSize = 4096
	// maxBatch bounds the requests folded into one batch of spans.
	maxBatch = 256
	// batchQueueSize bounds the batches waiting for Settings.Traces.
	batchQueueSize = 64
	// warnEvery is the least time between two warnings of one kind.
	warnEvery = 10 * time.Second
	// processEvery is how often the processing goroutine takes what is queued, unless maxBatch
	// requests are waiting sooner. Waking it for each request would cost more CPU than
	// processing the request (tens of microseconds a wake-up on a small VM), and the spans go
	// on to the batch processor, which waits longer anyway.
	processEvery = 50 * time.Millisecond
	// idleTicks empty ticks in a row stop the ticker until the next request.
	idleTicks = 20
)

// pipeline moves finished requests off the handlers: one goroutine turns them into spans and
// metrics every processEvery (or as soon as maxBatch are waiting), a second hands batches of
// spans to Settings.Traces, so that neither parsing nor a slow consumer delays a client. Both
// queues are bounded.
type pipeline struct {
	g       *Gateway
	queue   chan *exchange
	batches chan ptrace.Traces
	wake    chan struct{} // process now: maxBatch requests are queued, or the goroutine sleeps
	// sleeping is set while the processing goroutine waits for wake with its ticker stopped (the
	// gateway was idle for idleTicks ticks), so that an idle collector does not tick.
	sleeping atomic.Bool

	started atomic.Bool
	mu      sync.Mutex // guards running and stopped
	running bool
	stopped bool

	stopProc, procDone chan struct{}
	stopExp, expDone   chan struct{}
	consumeCtx         context.Context
	cancelConsume      context.CancelFunc

	heldMu sync.Mutex
	held   []heldSpans // spans waiting for their request's energy (energy.go)

	// dropped counts the spans send dropped, for the summary that stop logs; they are counted in
	// Settings.TelemetryBuilder too, as the consume errors are.
	dropped    atomic.Int64
	dropLog    rateLimitedLog
	consumeLog rateLimitedLog
}

func (p *pipeline) init(g *Gateway) {
	p.g = g
	p.queue = make(chan *exchange, queueSize)
	p.batches = make(chan ptrace.Traces, batchQueueSize)
	p.wake = make(chan struct{}, 1)
	p.dropLog.logger = g.logger
	p.consumeLog.logger = g.logger
}

// start runs the goroutines once; it does nothing after stop.
func (p *pipeline) start() {
	if p.started.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running || p.stopped {
		return
	}
	p.running = true
	p.stopProc, p.procDone = make(chan struct{}), make(chan struct{})
	p.stopExp, p.expDone = make(chan struct{}), make(chan struct{})
	p.consumeCtx, p.cancelConsume = context.WithCancel(context.Background())
	go p.process()
	go p.export()
	p.started.Store(true)
}

// stop drains both queues, waiting until ctx ends at most; past that the goroutines finish on
// their own (an in-flight ConsumeTraces is cancelled). Safe to call more than once and without
// start.
func (p *pipeline) stop(ctx context.Context) error {
	p.mu.Lock()
	wasRunning := p.running && !p.stopped
	p.stopped = true
	p.mu.Unlock()
	if !wasRunning {
		return nil
	}
	defer p.cancelConsume()
	var err error
	close(p.stopProc)
	select {
	case <-p.procDone:
	case <-ctx.Done():
		err = ctx.Err()
		p.cancelConsume()
	}
	close(p.stopExp)
	select {
	case <-p.expDone:
	case <-ctx.Done():
		err = ctx.Err()
		p.cancelConsume()
	}
	if n := p.dropped.Load(); n > 0 {
		p.g.logger.Warn("gateway dropped spans because the trace pipeline was full", zap.Int64("spans", n))
	}
	if err != nil {
		return fmt.Errorf("gateway: handing over the last spans: %w", err)
	}
	return nil
}

// submit hands a finished request to the processing goroutine. When its queue is full (or it
// is not running) the request is processed here, on the caller's goroutine, so metrics are
// never lost.
func (p *pipeline) submit(ex *exchange) {
	if !p.started.Load() {
		p.start()
	}
	if p.started.Load() {
		select {
		case p.queue <- ex:
			if len(p.queue) >= maxBatch || p.sleeping.Load() {
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
			return
		default:
		}
	}
	var td ptrace.Traces
	var spans ptrace.SpanSlice
	traced := p.g.set.Traces != nil
	if traced {
		td, spans = p.g.newBatch()
	}
	p.processSafely(ex, spans, traced)
	if traced {
		p.send(td)
	}
}

// processSafely processes one exchange; a panic (a bug, since every parser here is fuzzed)
// loses that request's telemetry instead of the collector.
func (p *pipeline) processSafely(ex *exchange, spans ptrace.SpanSlice, traced bool) {
	before := 0
	if traced {
		before = spans.Len()
	}
	defer func() {
		if r := recover(); r != nil {
			if traced { // drop what was half built
				i := 0
				spans.RemoveIf(func(ptrace.Span) bool { i++; return i > before })
			}
			p.dropLog.warn("gateway could not process a request's telemetry", zap.Any("panic", r),
				zap.String("path", ex.path))
		}
	}()
	p.g.process(ex, spans, traced)
}

func (p *pipeline) process() {
	defer close(p.procDone)
	tick := time.NewTicker(processEvery)
	defer tick.Stop()
	drain := func() (n int) {
		for {
			select {
			case ex := <-p.queue:
				p.batch(ex)
				n++
			default:
				return n
			}
		}
	}
	empty := 0
	for {
		select {
		case <-tick.C:
			n := drain()
			if p.release(false) || n > 0 {
				empty = 0
				continue
			}
			if empty++; empty < idleTicks {
				continue
			}
			// Idle: stop ticking until a request comes. sleeping is set before the last look at
			// the queue, so a request queued after that look wakes the goroutine.
			p.sleeping.Store(true)
			if drain() == 0 {
				tick.Stop()
				select {
				case <-p.wake:
				case <-p.stopProc:
					p.sleeping.Store(false)
					drain()
					p.release(true)
					return
				}
				tick.Reset(processEvery)
			}
			p.sleeping.Store(false)
			empty = 0
			drain()
		case <-p.wake:
			drain()
		case <-p.stopProc:
			drain()
			p.release(true)
			return
		}
	}
}

// hold keeps a request's spans until the energy ledger has its share of the GPUs' energy. It
// may be called from a handler (submit's fallback) as well as from the processing goroutine.
func (p *pipeline) hold(id uint64, spans ptrace.SpanSlice, tok tokenCounts) {
	h := heldSpans{id: id, spans: spans}
	if tok.hasOutput {
		h.output = tok.output
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	p.heldMu.Lock()
	p.held = append(p.held, h)
	p.heldMu.Unlock()
	if stopped { // nothing will tick again: let it go now, with what is known
		p.release(true)
	}
}

// release sends the held spans whose energy is known (all of them when force, the others
// without energy) and reports whether any are still held.
func (p *pipeline) release(force bool) (holding bool) {
	p.heldMu.Lock()
	if len(p.held) == 0 {
		p.heldMu.Unlock()
		return false
	}
	ledger := p.g.set.Energy
	gpus := ledger.GPUs()
	var td ptrace.Traces
	var out ptrace.SpanSlice
	kept := p.held[:0]
	for _, h := range p.held {
		e, ready, ok := ledger.Result(h.id)
		if !ready && !force {
			kept = append(kept, h)
			continue
		}
		if h.spans.Len() > 0 {
			putGPUAttrs(h.spans.At(0).Attributes(), gpus, e, ready && ok, h.output)
		}
		if out == (ptrace.SpanSlice{}) {
			td, out = p.g.newBatch()
		}
		h.spans.MoveAndAppendTo(out)
	}
	clear(p.held[len(kept):])
	p.held = kept
	holding = len(kept) > 0
	p.heldMu.Unlock()
	if out != (ptrace.SpanSlice{}) {
		p.send(td)
	}
	return holding
}

// batch processes first and whatever else is queued (up to maxBatch) into one batch of spans.
func (p *pipeline) batch(first *exchange) {
	g := p.g
	traced := g.set.Traces != nil
	var td ptrace.Traces
	var spans ptrace.SpanSlice
	if traced {
		td, spans = g.newBatch()
	}
	p.processSafely(first, spans, traced)
	for i := 1; i < maxBatch; i++ {
		select {
		case ex := <-p.queue:
			p.processSafely(ex, spans, traced)
			continue
		default:
		}
		break
	}
	if traced {
		p.send(td)
	}
}

func (p *pipeline) send(td ptrace.Traces) {
	if td.SpanCount() == 0 {
		return
	}
	select {
	case p.batches <- td:
	default:
		n := int64(td.SpanCount())
		p.dropped.Add(n)
		p.g.set.TelemetryBuilder.LlamacppGatewaySpansDropped.Add(context.Background(), n)
		p.dropLog.warn("gateway dropped spans: the trace pipeline is not keeping up", zap.Int64("spans", n))
	}
}

func (p *pipeline) export() {
	defer close(p.expDone)
	for {
		select {
		case td := <-p.batches:
			p.consume(td)
		case <-p.stopExp:
			for {
				select {
				case td := <-p.batches:
					p.consume(td)
				default:
					return
				}
			}
		}
	}
}

func (p *pipeline) consume(td ptrace.Traces) {
	if err := p.g.set.Traces.ConsumeTraces(p.consumeCtx, td); err != nil {
		p.g.set.TelemetryBuilder.LlamacppGatewayConsumeErrors.Add(context.Background(), 1)
		p.consumeLog.warn("gateway could not hand spans to the trace pipeline",
			zap.Int("spans", td.SpanCount()), zap.Error(err))
	}
}

// rateLimitedLog logs at warn level at most once per warnEvery and at debug level otherwise,
// counting what it held back.
type rateLimitedLog struct {
	logger     *zap.Logger
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *rateLimitedLog) warn(msg string, fields ...zap.Field) {
	now := time.Now()
	r.mu.Lock()
	if !r.last.IsZero() && now.Sub(r.last) < warnEvery {
		r.suppressed++
		r.mu.Unlock()
		r.logger.Debug(msg, fields...)
		return
	}
	held := r.suppressed
	r.suppressed = 0
	r.last = now
	r.mu.Unlock()
	r.logger.Warn(msg, append(fields, zap.Int("similar_messages_suppressed", held))...)
}
