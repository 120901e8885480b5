// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// Defaults: NewDefaultConfig returns them all, and New applies those marked so to zero fields
// of Config. The receiver's `gateway` section starts from NewDefaultConfig, so each default is
// defined here only.
const (
	// DefaultEndpoint is where the gateway listens: llama-server's usual port 8080 plus one, on
	// loopback only.
	DefaultEndpoint = "127.0.0.1:8081"
	// DefaultMaxContentLength is how many bytes of each captured content attribute are kept.
	DefaultMaxContentLength = 4096
	// DefaultProviderName is gen_ai.provider.name (also applied by New to "").
	DefaultProviderName = "llama_cpp"
	// DefaultMaxRequestBody is the largest inference request body (also applied by New to 0).
	DefaultMaxRequestBody = 16 << 20
	// DefaultServerWait bounds the wait of a request for a restarting llama-server (also the
	// receiver's default of gateway::server_wait).
	DefaultServerWait = 30 * time.Second
	// DefaultReadHeaderTimeout bounds reading a request's headers (also applied by New to 0).
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a kept-alive client connection idle for this long.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxConcurrentRequests bounds the inference requests in flight (the receiver's
	// default of gateway::max_concurrent_requests): llama-server runs only `parallel` of them at
	// once and queues the rest itself, so 128 leaves a deep queue for any usual `parallel` while
	// bounding the goroutines, connections and buffered request bodies a flood can pile up.
	DefaultMaxConcurrentRequests = 128
	// DefaultWriteStallTimeout is how long one write of an answer may wait for a client that
	// takes no byte (the receiver's default of gateway::write_stall_timeout).
	DefaultWriteStallTimeout = time.Minute
)

// Config configures the gateway. It mirrors the receiver's `gateway` YAML section.
type Config struct {
	// Server is where and how Start listens: its endpoint (port 0 picks a free one, see Addr),
	// TLS, an authenticator extension, CORS, response headers, limits and timeouts, applied by
	// confighttp.ServerConfig.ToListener and ToServer. A zero Transport means tcp, a zero
	// ReadHeaderTimeout DefaultReadHeaderTimeout, and a zero MaxRequestBodySize (the limit of
	// every request, pass-through ones included) MaxRequestBody. Keep ReadTimeout and
	// WriteTimeout at 0 (NewDefaultConfig does, unlike confighttp.NewDefaultServerConfig): a
	// generation can take minutes, and a write timeout cuts a streamed answer at that age.
	// Required by Start only.
	Server confighttp.ServerConfig
	// CaptureContent records prompts and answers as gen_ai.input.messages and
	// gen_ai.output.messages. Default false: without it no request or response text is kept.
	CaptureContent bool
	// MaxContentLength cuts each captured content attribute to this many bytes, at a UTF-8
	// boundary; 0 means no cut.
	MaxContentLength int
	// MaxRequestBody is the largest inference request body forwarded; a larger one is answered
	// 413. 0 means DefaultMaxRequestBody (16 MiB).
	MaxRequestBody int64
	// ProviderName is gen_ai.provider.name; "" means DefaultProviderName (llama_cpp).
	ProviderName string
	// DisabledMetrics names metrics (the Metric* constants) that are neither aggregated nor
	// appended by AppendMetrics; nil: all six are on.
	DisabledMetrics []string
	// ServerWait bounds how long an inference request waits for llama-server before it is sent:
	// while the launcher reports its server starting (a restart), or when connecting is refused
	// (nothing was sent). After it the request is answered 503. 0 means no waiting.
	ServerWait time.Duration
	// MaxConcurrentRequests bounds the inference requests in flight (from the moment the handler
	// takes them, body read, waiting for llama-server and answer included). One more is answered
	// 429 at once with Retry-After and never sent; pass-through requests (health, metrics,
	// props, ...) are not counted nor refused. 0 means no limit.
	MaxConcurrentRequests int
	// WriteStallTimeout bounds each write of an answer to the client: a client that takes no
	// byte for this long (its socket buffers full) has its connection closed, and the request
	// ends with error.type client_timeout. The time between writes is not bounded (a
	// generation can pause for minutes before its first token). 0 means no bound; it is not
	// applied when Server.WriteTimeout is set (that bounds the whole answer).
	WriteStallTimeout time.Duration
}

// NewDefaultConfig returns the gateway's defaults: a plain-HTTP listener on DefaultEndpoint
// with confighttp's server defaults less its 30 s write timeout, headers read within
// DefaultReadHeaderTimeout, kept-alive connections closed after DefaultIdleTimeout idle, and
// DefaultMaxContentLength, DefaultMaxRequestBody, DefaultProviderName,
// DefaultMaxConcurrentRequests and DefaultWriteStallTimeout.
func NewDefaultConfig() Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = DefaultEndpoint
	server.ReadHeaderTimeout = DefaultReadHeaderTimeout
	// Bodies and answers are not bounded in time: a generation can take minutes.
	server.ReadTimeout = 0
	server.WriteTimeout = 0
	keepalive := confighttp.NewDefaultKeepaliveServerConfig()
	keepalive.IdleTimeout = DefaultIdleTimeout
	server.Keepalive = configoptional.Some(keepalive)
	return Config{
		Server:           server,
		MaxContentLength: DefaultMaxContentLength,
		MaxRequestBody:   DefaultMaxRequestBody,
		ProviderName:     DefaultProviderName,
		ServerWait:       DefaultServerWait,

		MaxConcurrentRequests: DefaultMaxConcurrentRequests,
		WriteStallTimeout:     DefaultWriteStallTimeout,
	}
}

// Settings are the gateway's collaborators, set in code.
type Settings struct {
	// Upstream returns the llama-server base URL (e.g. http://127.0.0.1:8080). It is called for
	// every request, so the gateway follows a server that moves across restarts; "" (or a nil
	// func) means no server: requests are answered 503, inference requests with an error span.
	Upstream func() (baseURL string)
	// Traces receives the spans, in batches, from a background goroutine; nil means no spans
	// are built (metrics are kept either way).
	Traces consumer.Traces
	// Resource returns the resource of each batch of spans (called from the gateway's background
	// goroutine, so it must be safe for concurrent use); nil means an empty resource.
	Resource func() pcommon.Resource
	// Telemetry is the collector's own telemetry: its Logger logs lifecycle events and
	// rate-limited problems, and its TracerProvider and MeterProvider instrument the listener
	// (confighttp's otelhttp handler). Nil fields mean no-op ones.
	Telemetry component.TelemetrySettings
	// ScopeName and ScopeVersion name the instrumentation scope of the spans.
	ScopeName, ScopeVersion string
	// Energy is the launcher's ledger of GPU energy: every inference request is reported to
	// it, and its span waits in the gateway until the request's share of the GPUs' energy is
	// known (see energy.go). nil: no GPU attributes.
	Energy launcherapi.EnergyLedger
	// TelemetryBuilder counts what the gateway loses in the receiver's own metrics: spans
	// dropped because the traces pipeline did not keep up (otelcol_llamacpp_gateway_spans_dropped)
	// and batches it refused (otelcol_llamacpp_gateway_consume_errors). nil: New builds one from
	// Telemetry.
	TelemetryBuilder *metadata.TelemetryBuilder
	// WaitReady blocks until the launcher's llama-server is ready and returns nil, or returns
	// ctx's error, or an error at once when the launcher gave up (launcherapi.Launcher.WaitReady).
	// nil without a launcher: requests then wait only on refused connections.
	WaitReady func(ctx context.Context) error
	// ServerError is why the launcher's llama-server is not ready (launcherapi.ErrorReporter),
	// nil while it is. When a request that llama-server had been sent gets no answer, it says
	// why: a *launcherapi.HungError (the launcher killed a server that stopped answering) makes
	// it a timeout, 504. nil without a launcher.
	ServerError func() error
}

// Gateway is the traced reverse proxy in front of llama-server. Create it with New; it is safe
// for concurrent use.
type Gateway struct {
	cfg     Config
	set     Settings
	logger  *zap.Logger
	proxy   *httputil.ReverseProxy
	tr      *http.Transport
	wt      *waitingTransport
	handler http.Handler
	metrics *metricsAggregator
	limit   *limiter
	startNS atomic.Int64 // start of the cumulative metrics, Unix ns
	up      atomic.Pointer[upstream]

	mu        sync.Mutex // guards the lifecycle fields below
	server    *http.Server
	addr      string
	serveDone chan struct{}
	closed    bool

	pipe pipeline
}

// New returns a gateway; nothing runs until Start (or until Handler serves a first request).
func New(cfg Config, set Settings) (*Gateway, error) {
	switch {
	case cfg.MaxRequestBody < 0:
		return nil, fmt.Errorf("max request body must not be negative, got %d", cfg.MaxRequestBody)
	case cfg.MaxContentLength < 0:
		return nil, fmt.Errorf("max content length must not be negative, got %d", cfg.MaxContentLength)
	case cfg.Server.ReadHeaderTimeout < 0:
		return nil, fmt.Errorf("read header timeout must not be negative, got %v", cfg.Server.ReadHeaderTimeout)
	case cfg.MaxConcurrentRequests < 0:
		return nil, fmt.Errorf("max concurrent requests must not be negative, got %d", cfg.MaxConcurrentRequests)
	case cfg.WriteStallTimeout < 0:
		return nil, fmt.Errorf("write stall timeout must not be negative, got %v", cfg.WriteStallTimeout)
	}
	if cfg.Server.WriteTimeout > 0 {
		cfg.WriteStallTimeout = 0 // the server's deadline bounds the whole answer, stalls included
	}
	if cfg.MaxRequestBody == 0 {
		cfg.MaxRequestBody = DefaultMaxRequestBody
	}
	if cfg.ProviderName == "" {
		cfg.ProviderName = DefaultProviderName
	}
	if cfg.Server.ReadHeaderTimeout == 0 {
		cfg.Server.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.Server.NetAddr.Transport == "" {
		cfg.Server.NetAddr.Transport = confignet.TransportTypeTCP
	}
	switch {
	case cfg.Server.MaxRequestBodySize == 0:
		cfg.Server.MaxRequestBodySize = cfg.MaxRequestBody
	case cfg.Server.MaxRequestBodySize < cfg.MaxRequestBody:
		// The server's limit would answer 413 first, with a message that names the wrong size.
		return nil, fmt.Errorf("the server's max request body size (%d) must not be below the max request body (%d)",
			cfg.Server.MaxRequestBodySize, cfg.MaxRequestBody)
	}
	if set.Telemetry.Logger == nil {
		set.Telemetry.Logger = zap.NewNop()
	}
	if set.Telemetry.TracerProvider == nil {
		set.Telemetry.TracerProvider = nooptrace.NewTracerProvider()
	}
	if set.Telemetry.MeterProvider == nil {
		set.Telemetry.MeterProvider = noopmetric.NewMeterProvider()
	}
	if set.TelemetryBuilder == nil {
		tb, err := metadata.NewTelemetryBuilder(set.Telemetry)
		if err != nil {
			return nil, err
		}
		set.TelemetryBuilder = tb
	}
	g := &Gateway{cfg: cfg, set: set, logger: set.Telemetry.Logger, metrics: newMetricsAggregator(cfg.DisabledMetrics...),
		limit: newLimiter(cfg.MaxConcurrentRequests)}
	g.startNS.Store(time.Now().UnixNano())
	g.tr = newTransport()
	g.wt = &waitingTransport{base: g.tr, wait: cfg.ServerWait, ready: set.WaitReady, upstream: g.upstream,
		recordWait: func(ctx context.Context, s float64) { set.TelemetryBuilder.LlamacppGatewayWaitDuration.Record(ctx, s) }}
	if err := set.TelemetryBuilder.RegisterLlamacppGatewayRequestsWaitingCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(g.wt.waiting.Load())
		return nil
	}); err != nil {
		return nil, err
	}
	if err := g.registerLimitTelemetry(); err != nil {
		return nil, err
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		Transport:      g.wt,
		BufferPool:     copyBuffers,
		ErrorLog:       g.stdLog(),
	}
	g.handler = http.HandlerFunc(g.serveHTTP)
	g.pipe.init(g)
	return g, nil
}

// Start listens on Config.Server (a busy port is an error at once) and serves in a goroutine,
// through confighttp: TLS, the authenticator and the other server settings apply there, with
// host's extensions (nil: none). The cumulative metrics start now.
func (g *Gateway) Start(ctx context.Context, host component.Host) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("gateway is shut down")
	}
	if g.server != nil {
		return errors.New("gateway already started")
	}
	sc := g.cfg.Server // ToServer fills in its defaults: keep Config as given
	if sc.NetAddr.Endpoint == "" {
		return errors.New("gateway endpoint is empty")
	}
	var extensions map[component.ID]component.Component
	if host != nil {
		extensions = host.GetExtensions()
	}
	// Build the server first: a missing authenticator then fails before a port is taken.
	srv, err := sc.ToServer(ctx, extensions, g.set.Telemetry, g.handler, confighttp.WithErrorHandler(writeServerError))
	if err != nil {
		return fmt.Errorf("gateway server: %w", err)
	}
	// net/http's own messages (a client that went away, a malformed request, a failed TLS
	// handshake) are per-request events, not lifecycle ones: debug level, not ToServer's error.
	srv.ErrorLog = g.stdLog()
	ln, err := sc.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("gateway listen on %s: %w", sc.NetAddr.Endpoint, err)
	}
	g.startNS.Store(time.Now().UnixNano())
	g.pipe.start()
	g.server = srv
	g.addr = ln.Addr().String()
	g.serveDone = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logger.Error("gateway stopped serving", zap.Error(err))
		}
	}(g.server, g.serveDone)
	g.logger.Info("gateway listening", zap.String("endpoint", g.addr), zap.Bool("tls", sc.TLS.HasValue()))
	return nil
}

// stdLog routes net/http's own messages (a client that went away, a malformed request) to the
// debug level: they are per-request events, not lifecycle ones.
func (g *Gateway) stdLog() *log.Logger {
	l, err := zap.NewStdLogAt(g.logger, zap.DebugLevel)
	if err != nil {
		return zap.NewStdLog(zap.NewNop())
	}
	return l
}

// Shutdown stops accepting requests, waits for those in flight (streams included) until ctx
// ends, then closes what is left, hands the last spans to Settings.Traces, and returns. It is
// safe without Start and more than once.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	srv, done := g.server, g.serveDone
	g.closed = true
	g.server = nil
	g.mu.Unlock()

	var errs []error
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gateway shutdown: %w", err))
			_ = srv.Close()
		}
		<-done
		g.logger.Info("gateway stopped")
	}
	if err := g.pipe.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	g.tr.CloseIdleConnections()
	return errors.Join(errs...)
}

// Addr is the address the gateway listens on after Start (with the port picked for port 0),
// or "" before.
func (g *Gateway) Addr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addr
}

// Handler is the gateway's HTTP handler: the traced proxy, without the listener. Tests and
// benchmarks mount it on their own server; Shutdown still flushes its spans.
func (g *Gateway) Handler() http.Handler { return g.handler }

// AppendMetrics appends the gateway's cumulative metrics since Start to dest, with now as the
// points' timestamp. Nothing is appended for a metric without observations. Safe for
// concurrent use.
func (g *Gateway) AppendMetrics(dest pmetric.MetricSlice, now pcommon.Timestamp) {
	g.metrics.appendTo(dest, pcommon.Timestamp(g.startNS.Load()), now)
}

// newBatch starts a batch of spans with the configured resource and scope.
func (g *Gateway) newBatch() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if g.set.Resource != nil {
		g.set.Resource().CopyTo(rs.Resource())
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(g.set.ScopeName)
	ss.Scope().SetVersion(g.set.ScopeVersion)
	return td, ss.Spans()
}
