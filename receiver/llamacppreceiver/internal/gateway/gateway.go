package gateway

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultProviderName      = "llama_cpp"
	DefaultMaxRequestBody    = 16 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
)

// Config configures the gateway. It mirrors the receiver's `gateway` YAML section.
type Config struct {
	// Endpoint is the address Start listens on, e.g. 127.0.0.1:8081; port 0 picks a free one
	// (see Addr). Required by Start only.
	Endpoint string
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
	// ReadHeaderTimeout bounds reading a request's headers; 0 means DefaultReadHeaderTimeout.
	// Bodies and answers are not bounded: a generation can take minutes.
	ReadHeaderTimeout time.Duration
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
	// Logger logs lifecycle events and rate-limited problems; nil means no logging.
	Logger *zap.Logger
	// ScopeName and ScopeVersion name the instrumentation scope of the spans.
	ScopeName, ScopeVersion string
	// Energy is the launcher's ledger of GPU energy: every inference request is reported to
	// it, and its span waits in the gateway until the request's share of the GPUs' energy is
	// known (see energy.go). nil: no GPU attributes.
	Energy launcherapi.EnergyLedger
}

// Gateway is the traced reverse proxy in front of llama-server. Create it with New; it is safe
// for concurrent use.
type Gateway struct {
	cfg     Config
	set     Settings
	logger  *zap.Logger
	proxy   *httputil.ReverseProxy
	tr      *http.Transport
	handler http.Handler
	metrics *metricsAggregator
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
	case cfg.ReadHeaderTimeout < 0:
		return nil, fmt.Errorf("read header timeout must not be negative, got %v", cfg.ReadHeaderTimeout)
	}
	if cfg.MaxRequestBody == 0 {
		cfg.MaxRequestBody = DefaultMaxRequestBody
	}
	if cfg.ProviderName == "" {
		cfg.ProviderName = DefaultProviderName
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	g := &Gateway{cfg: cfg, set: set, logger: set.Logger, metrics: newMetricsAggregator()}
	g.startNS.Store(time.Now().UnixNano())
	g.tr = newTransport()
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		Transport:      g.tr,
		BufferPool:     copyBuffers,
		ErrorLog:       g.stdLog(),
	}
	g.handler = http.HandlerFunc(g.serveHTTP)
	g.pipe.init(g)
	return g, nil
}

// Start listens on Config.Endpoint (a busy port is an error at once) and serves in a
// goroutine. The cumulative metrics start now.
func (g *Gateway) Start(_ context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("gateway is shut down")
	}
	if g.server != nil {
		return errors.New("gateway already started")
	}
	if g.cfg.Endpoint == "" {
		return errors.New("gateway endpoint is empty")
	}
	ln, err := net.Listen("tcp", g.cfg.Endpoint)
	if err != nil {
		return fmt.Errorf("gateway listen on %s: %w", g.cfg.Endpoint, err)
	}
	g.startNS.Store(time.Now().UnixNano())
	g.pipe.start()
	g.server = &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          g.stdLog(),
	}
	g.addr = ln.Addr().String()
	g.serveDone = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logger.Error("gateway stopped serving", zap.Error(err))
		}
	}(g.server, g.serveDone)
	g.logger.Info("gateway listening", zap.String("endpoint", g.addr))
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
