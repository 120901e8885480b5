// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// Short error classes for error.type, beside HTTP status codes.
const (
	errUpstreamUnavailable  = "upstream_unavailable"  // no llama-server to send to
	errUpstreamUnreachable  = "upstream_unreachable"  // connecting or sending failed
	errUpstreamDisconnected = "upstream_disconnected" // the answer broke off
	errClientDisconnected   = "client_disconnected"
	errTimeout              = "timeout"
	errOther                = "_OTHER"
)

// operation is the GenAI operation of an inference route.
type operation uint8

const (
	opNone operation = iota
	opChat
	opTextCompletion
	opEmbeddings
)

// String returns the gen_ai.operation.name value.
func (o operation) String() string {
	switch o {
	case opChat:
		return "chat"
	case opTextCompletion:
		return "text_completion"
	case opEmbeddings:
		return "embeddings"
	}
	return ""
}

// routeOf returns the operation of an inference request, or opNone for a request to pass
// through untraced. The routes are llama-server's (tools/server/server.cpp route table).
func routeOf(r *http.Request) operation {
	if r.Method != http.MethodPost {
		return opNone
	}
	switch r.URL.Path {
	case "/v1/chat/completions", "/chat/completions":
		return opChat
	case "/v1/completions", "/completions", "/completion":
		return opTextCompletion
	case "/v1/embeddings", "/embeddings", "/embedding":
		return opEmbeddings
	}
	return opNone
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// serveHTTP is the gateway's handler.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op := routeOf(r)
	if op == opNone {
		if g.cfg.WriteStallTimeout > 0 {
			w = &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: g.cfg.WriteStallTimeout}
		}
		g.passThrough(w, r)
		return
	}
	ex := &exchange{start: time.Now(), op: op, method: r.Method, path: r.URL.Path}
	ex.parent = parseTraceparent(r.Header)
	if !g.limit.acquire() {
		// Refused before anything is read or sent: a span (error.type concurrency_limit) and
		// the metrics record it, as they do a 413.
		defer func() { g.finish(ex, r, recover()) }()
		g.reject(w, r, ex)
		return
	}
	// Registered first, run last: the slot is given back on every way out, a panic included,
	// once finish has handed the exchange on.
	defer g.limit.release()
	defer func() { g.finish(ex, r, recover()) }()
	if g.cfg.WriteStallTimeout > 0 {
		w = &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: g.cfg.WriteStallTimeout, ex: ex}
	}

	body, tooLarge, err := readBody(r, g.cfg.MaxRequestBody)
	switch {
	case tooLarge:
		ex.fail(http.StatusRequestEntityTooLarge, "413", "request body larger than "+strconv.FormatInt(g.cfg.MaxRequestBody, 10)+" bytes")
		writeJSONError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", ex.errMsg)
		return
	case err != nil:
		if r.Context().Err() != nil {
			ex.fail(0, errClientDisconnected, "client went away while sending the request")
			return
		}
		ex.fail(http.StatusBadRequest, "400", "reading the request body failed")
		writeJSONError(w, http.StatusBadRequest, "invalid_request_error", ex.errMsg)
		return
	}
	ex.body = body

	up, err := g.upstream()
	if err != nil && g.cfg.ServerWait > 0 && g.set.WaitReady != nil {
		// No server yet (the launcher is starting or restarting it): the transport waits for it
		// and sends the request to its address then.
		err = nil
	}
	if err != nil {
		ex.fail(http.StatusServiceUnavailable, errUpstreamUnavailable, err.Error())
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable_error", err.Error())
		return
	}
	ex.up = up
	if g.set.Energy != nil {
		ex.energyID = g.set.Energy.Begin(ex.start)
	}

	ex.reqBody.b = body
	if len(body) == 0 {
		r.Body = http.NoBody
	} else {
		r.Body = &ex.reqBody
		r.GetBody = ex.newBody
	}
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex))
	g.proxy.ServeHTTP(w, r)
}

// passThrough forwards a request that is not traced: no span, body not read.
func (g *Gateway) passThrough(w http.ResponseWriter, r *http.Request) {
	if _, err := g.upstream(); err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable_error", err.Error())
		return
	}
	g.proxy.ServeHTTP(w, r)
}

// finish closes the exchange on the handler goroutine and hands it to the pipeline. p is what
// the handler panicked with: ReverseProxy panics with http.ErrAbortHandler when an answer breaks
// off part-way, which is passed on after recording why.
func (g *Gateway) finish(ex *exchange, r *http.Request, p any) {
	ex.end = time.Now()
	if ex.stream != nil {
		ex.stream.flushPending()
	}
	// A client that leaves once the stream's end ([DONE]) has passed got its whole answer: the
	// SDKs stop reading there and close, and whatever then fails is no failure of the call.
	complete := ex.stream != nil && ex.stream.done && (p == nil || p == http.ErrAbortHandler) &&
		(ex.readErr == nil || errors.Is(ex.readErr, context.Canceled) || r.Context().Err() != nil)
	if ex.errType == "" && !complete && (p != nil || ex.readErr != nil) {
		switch {
		case p != nil && p != http.ErrAbortHandler:
			ex.errType = errOther
		case ex.readErr == nil, errors.Is(ex.readErr, context.Canceled), r.Context().Err() != nil:
			// Nothing failed upstream, so writing to the client did; or the client's context
			// was cancelled, which the server does when the client's connection closes.
			ex.errType = errClientDisconnected
		case isTimeout(ex.readErr):
			ex.errType = errTimeout
		case g.serverHung() != nil:
			ex.errType, ex.errMsg = errTimeout, "the answer broke off: "+g.serverHung().Error()
		default:
			ex.errType = errUpstreamDisconnected
			ex.errMsg = "the answer broke off: " + ex.readErr.Error()
		}
	}
	if ex.energyID != 0 {
		g.set.Energy.End(ex.energyID, ex.end)
	}
	g.pipe.submit(ex)
	if p != nil {
		panic(p)
	}
}

// rewrite is ReverseProxy.Rewrite: it points the request at the upstream and keeps the
// client's forwarding headers (Rewrite strips them).
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	up := g.up.Load()
	if ex := exchangeFrom(pr.In.Context()); ex != nil {
		up = ex.up
		// The body was read already (the client got its 100 Continue then): do not make the
		// transport wait for another one from upstream.
		pr.Out.Header.Del("Expect")
		// The body is buffered (GetBody), so the transport may send the request again on a new
		// connection when llama-server closed the reused kept-alive connection without
		// answering ("http: server closed idle connection", or EOF before the status line),
		// which Go does only for requests it may replay. A nil value marks the request so
		// without sending the header (net/http's Transport documentation). llama-server closes
		// kept-alive connections on its own (timeout, request count, busy threads); without
		// this such a race answered 502 under concurrency.
		pr.Out.Header["X-Idempotency-Key"] = nil
	}
	if up == nil {
		up = unroutable
	}
	pr.SetURL(up.url)
	for _, h := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		}
	}
}

// modifyResponse is ReverseProxy.ModifyResponse: it records the status and taps the body.
func (g *Gateway) modifyResponse(resp *http.Response) error {
	ex := exchangeFrom(resp.Request.Context())
	if ex == nil {
		return nil
	}
	ex.status = resp.StatusCode
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		// A compressed answer is forwarded as it is but not read (llama-server does not
		// compress; something in between might).
		ex.respOver = true
	} else if isEventStream(resp.Header.Get("Content-Type")) {
		ex.stream = newStreamTap(g.cfg.CaptureContent, g.cfg.MaxContentLength, int(g.cfg.MaxRequestBody)+(1<<20))
	}
	ex.tap = bodyTap{rc: resp.Body, ex: ex, hung: g.serverHung}
	resp.Body = &ex.tap
	return nil
}

// proxyError is ReverseProxy.ErrorHandler: the upstream could not be reached, or the client
// left before the answer started.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r.Context())
	status, class := http.StatusBadGateway, errUpstreamUnreachable
	var waited *waitError
	switch {
	case r.Context().Err() != nil:
		status, class = 0, errClientDisconnected
	case errors.As(err, &waited):
		status, class = http.StatusServiceUnavailable, errUpstreamUnavailable
	case isTimeout(err):
		status, class = http.StatusGatewayTimeout, errTimeout
	}
	if ex != nil {
		ex.fail(status, class, err.Error())
	} else {
		g.logger.Debug("gateway could not forward a request", zap.String("path", r.URL.Path), zap.Error(err))
	}
	if status == 0 {
		return // nobody is left to answer
	}
	msg, typ := "llama-server is unreachable", "server_error"
	switch {
	case waited != nil:
		msg, typ = "llama-server is restarting and was not back within "+waited.waited.Round(time.Millisecond).String()+"; retry later", "unavailable_error"
		w.Header().Set("Retry-After", "1")
	case class == errTimeout:
		msg = "llama-server did not answer in time"
	case ex != nil && !notSent(err):
		if hung := g.serverHung(); hung != nil {
			status, typ, msg = http.StatusGatewayTimeout, "timeout_error", hungMessage(hung, "got no answer")
			ex.fail(status, errTimeout, hung.Error())
			break
		}
		msg = "llama-server closed the connection before answering (it may have stopped or be restarting)"
	}
	writeJSONError(w, status, typ, msg)
}

// serverHung returns the launcher's error when the request's llama-server was killed because it
// stopped answering (a hang), nil otherwise. The launcher records the hang before it kills the
// server, so a request that loses its connection to that kill always finds it.
func (g *Gateway) serverHung() *launcherapi.HungError {
	var hung *launcherapi.HungError
	if g.set.ServerError != nil && errors.As(g.set.ServerError(), &hung) {
		return hung
	}
	return nil
}

// hungMessage is what a client is told when its request's llama-server hung: a timeout, with how
// long it was silent and what the launcher did.
func hungMessage(hung *launcherapi.HungError, what string) string {
	return fmt.Sprintf("timed out: llama-server stopped answering (no /health answer for %s, health_check::hung_after %s) and "+
		"the launcher restarted it; this request %s; retry it", hung.Silent.Round(100*time.Millisecond), hung.HungAfter, what)
}

// readBody reads an inference request body, up to limit bytes; tooLarge reports that there
// was more, or that the server's own limit (confighttp's max_request_body_size, an
// http.MaxBytesReader) was reached first. It reads to EOF, which also lets the server notice a
// client that goes away later.
func readBody(r *http.Request, limit int64) (body []byte, tooLarge bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	if r.ContentLength > limit {
		return nil, true, nil
	}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, true, nil
		}
		if err == io.EOF {
			return buf, false, nil
		}
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// errorBody is the OpenAI-style error llama-server itself answers with.
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

func writeJSONError(w http.ResponseWriter, status int, typ, msg string) {
	var e errorBody
	e.Error.Code, e.Error.Message, e.Error.Type = status, msg, typ
	b, _ := json.Marshal(&e)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeServerError is confighttp's error handler for the gateway's server (ToServer's
// WithErrorHandler): a request the authenticator refused (401) or whose body could not be
// decompressed (400) is answered in the same OpenAI-style shape as llama-server's own errors,
// which the SDKs parse.
func writeServerError(w http.ResponseWriter, _ *http.Request, msg string, status int) {
	typ := "invalid_request_error"
	if status == http.StatusUnauthorized {
		typ = "authentication_error"
	}
	writeJSONError(w, status, typ, msg)
}

func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isEventStream(ct string) bool {
	const es = "text/event-stream"
	if len(ct) < len(es) {
		return false
	}
	for i := 0; i < len(es); i++ {
		c := ct[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != es[i] {
			return false
		}
	}
	return len(ct) == len(es) || ct[len(es)] == ';' || ct[len(es)] == ' '
}

// upstream is a parsed Settings.Upstream value.
type upstream struct {
	raw     string
	url     *url.URL
	address string
	port    int64
}

// unroutable makes a request fail fast (502) if no upstream is known when Rewrite runs.
var unroutable = &upstream{url: &url.URL{Scheme: "http", Host: "127.0.0.1:0"}}

var errNoUpstream = errors.New("llama-server is not available")

// upstream returns the current upstream, parsing Settings.Upstream only when it changed.
func (g *Gateway) upstream() (*upstream, error) {
	var raw string
	if g.set.Upstream != nil {
		raw = g.set.Upstream()
	}
	if raw == "" {
		return nil, errNoUpstream
	}
	if up := g.up.Load(); up != nil && up.raw == raw {
		return up, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("llama-server address is not an http(s) URL")
	}
	up := &upstream{raw: raw, url: u, address: u.Hostname()}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	up.port, _ = strconv.ParseInt(port, 10, 64)
	g.up.Store(up)
	return up, nil
}

// newTransport is the one client transport of a gateway: keep-alive, enough idle connections
// for a busy server, no proxy from the environment, and no transparent decompression (bodies
// pass through as they are).
//
// Idle connections are closed after 4 s, before llama-server's own keep-alive timeout (5 s,
// "Keep-Alive: timeout=5, max=100"), so the gateway never sends on a connection the server is
// closing. The idle pool is bounded because llama-server's HTTP library keeps one of its threads
// (n_parallel+2 by default) per open connection: a large idle pool would make other clients,
// such as the receiver's scraper, wait for a thread.
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       4 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// bufferPool implements httputil.BufferPool: the proxy would otherwise allocate 32 KiB per
// response.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

var copyBuffers = &bufferPool{}
