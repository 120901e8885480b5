// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap/zaptest"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadatatest"
)

// startLimitedGateway is startGateway with the receiver's own telemetry recorded in tt.
func startLimitedGateway(t *testing.T, cfg Config, upstreamURL string) (*testGateway, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := tt.NewTelemetrySettings()
	set.Logger = zaptest.NewLogger(t)
	sink := new(consumertest.TracesSink)
	cfg.Server.NetAddr.Endpoint = "127.0.0.1:0"
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "gateway-test")
	g, err := New(cfg, Settings{
		Upstream: fixedURL(upstreamURL), Traces: sink, Telemetry: set,
		Resource:  func() pcommon.Resource { return res },
		ScopeName: "llamacppreceiver/gateway",
	})
	require.NoError(t, err)
	require.NoError(t, g.Start(context.Background(), nil))
	t.Cleanup(func() { assert.NoError(t, g.Shutdown(context.Background())) })
	return &testGateway{Gateway: g, sink: sink, url: "http://" + g.Addr()}, tt
}

var limitOpts = []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}

// Over max_concurrent_requests an inference request is answered 429 at once, with Retry-After
// and an OpenAI-style error, and never reaches llama-server; a pass-through request (a health
// probe) is still served; the refusal is counted and has its span; the slots come back.
func TestConcurrencyLimit(t *testing.T) {
	hold := make(chan struct{})
	var held sync.WaitGroup
	held.Add(2)
	var holding atomic.Int64 // the first two streams are held until hold closes
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			jsonAnswer(http.StatusOK, []byte(`{"status":"ok"}`))(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		if strings.Contains(r.URL.Path, "chat") && holding.Add(1) <= 2 {
			held.Done()
			<-hold
		}
		_, _ = w.Write([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"))
	})
	gw, tt := startLimitedGateway(t, Config{MaxConcurrentRequests: 2}, up.URL)

	stream := `{"messages":[{"role":"user","content":"hi"}],"stream":true}`
	var clients sync.WaitGroup
	for range 2 {
		clients.Go(func() {
			resp, _ := post(t, gw.url+"/v1/chat/completions", stream)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
	held.Wait() // both streams are in llama-server

	start := time.Now()
	resp, body := post(t, gw.url+"/v1/chat/completions", stream)
	assert.Less(t, time.Since(start), time.Second, "refused at once")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var e errorBody
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, 429, e.Error.Code)
	assert.Equal(t, "rate_limit_error", e.Error.Type)
	assert.Contains(t, e.Error.Message, "max_concurrent_requests")

	health, err := http.Get(gw.url + "/health")
	require.NoError(t, err)
	_ = health.Body.Close()
	assert.Equal(t, http.StatusOK, health.StatusCode, "a health probe is not refused")

	metadatatest.AssertEqualLlamacppGatewayRequestsInFlight(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, limitOpts...)
	metadatatest.AssertEqualLlamacppGatewayRequestsRejected(t, tt, []metricdata.DataPoint[int64]{{
		Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "concurrency_limit")),
	}}, limitOpts...)

	close(hold)
	clients.Wait()
	assert.Equal(t, int64(0), gw.limit.inFlight.Load())
	metadatatest.AssertEqualLlamacppGatewayRequestsInFlight(t, tt, []metricdata.DataPoint[int64]{{Value: 0}}, limitOpts...)
	chats := 0
	for _, r := range up.received() {
		if r.path == "/v1/chat/completions" {
			chats++
		}
	}
	assert.Equal(t, 2, chats, "the refused request never reached llama-server")

	// The slots came back: the next requests are served.
	for range 3 {
		resp, _ = post(t, gw.url+"/v1/chat/completions", stream)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}

	spans := serverSpans(waitServerSpans(t, gw.sink, 6))
	refused := 0
	for _, s := range spans {
		if attrs(s)["error.type"] == "concurrency_limit" {
			refused++
			assert.Equal(t, int64(429), attrs(s)["http.response.status_code"])
			assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
			assert.NotContains(t, attrs(s), "server.address", "never sent")
		} else {
			assert.NotContains(t, attrs(s), "error.type")
		}
	}
	assert.Equal(t, 1, refused)
}

// The slot is given back on every way a request ends: success, an upstream error status, an
// unreachable upstream, an answer that breaks off (ReverseProxy panics with ErrAbortHandler), a
// client that leaves mid-stream, a body too large, a refusal. With a limit of 1, each next
// request is served only if the previous one gave its slot back.
func TestConcurrencySlotReleasedOnEveryPath(t *testing.T) {
	events := splitEvents(fixture(t, "b11669/chat-completion-stream.sse"))
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.RawQuery, "status"):
			jsonAnswer(http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"boom","type":"server_error"}}`))(w, r)
		case strings.Contains(r.URL.RawQuery, "breakoff"):
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"choices":`))
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case strings.Contains(r.URL.RawQuery, "hang"):
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(events[0])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json"))(w, r)
		}
	})
	gw, _ := startLimitedGateway(t, Config{MaxConcurrentRequests: 1, MaxRequestBody: 1024}, up.URL)
	down := freeAddr(t)
	gwDown, _ := startLimitedGateway(t, Config{MaxConcurrentRequests: 1}, "http://"+down)

	released := func(g *testGateway, what string) {
		t.Helper()
		require.Eventually(t, func() bool { return g.limit.inFlight.Load() == 0 && len(g.limit.slots) == 0 },
			5*time.Second, time.Millisecond, "%s kept its slot", what)
		resp, _ := post(t, g.url+"/v1/chat/completions?ok", chatRequest)
		require.NotEqual(t, http.StatusTooManyRequests, resp.StatusCode, "after %s", what)
	}

	resp, _ := post(t, gw.url+"/v1/chat/completions", chatRequest)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	released(gw, "a success")

	resp, _ = post(t, gw.url+"/v1/chat/completions?status", chatRequest)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	released(gw, "an upstream 500")

	resp, _ = post(t, gwDown.url+"/v1/chat/completions", chatRequest)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	released(gwDown, "an unreachable upstream")

	req, err := http.NewRequest(http.MethodPost, gw.url+"/v1/chat/completions?breakoff", strings.NewReader(chatRequest))
	require.NoError(t, err)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Error(t, err, "the answer broke off")
	}
	released(gw, "an answer that broke off (ErrAbortHandler)")

	ctx, cancel := context.WithCancel(context.Background())
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, gw.url+"/v1/chat/completions?hang",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`))
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	cancel()
	_ = resp.Body.Close()
	released(gw, "a client that left mid-stream")

	resp, _ = post(t, gw.url+"/v1/chat/completions", `{"pad":"`+strings.Repeat("x", 2000)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	released(gw, "a 413")
}

// A client that takes no byte of a streamed answer is cut after write_stall_timeout: its
// connection is closed, the upstream request is cancelled (llama-server's slot frees), the span
// says client_timeout and the gateway's slot comes back. The gateway buffered only what the
// sockets hold, not the upstream answer.
func TestWriteStallTimeoutCutsAClientThatDoesNotRead(t *testing.T) {
	upstreamDone := make(chan error, 1)
	event := []byte("data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", 1000) + "\"},\"finish_reason\":null}]}\n\n")
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		// 64 MiB at most: far more than the sockets between the gateway and the client hold.
		for range 64 << 10 {
			if _, err := w.Write(event); err != nil {
				upstreamDone <- err
				return
			}
			w.(http.Flusher).Flush()
		}
		upstreamDone <- nil
	})
	gw, _ := startLimitedGateway(t, Config{MaxConcurrentRequests: 4, WriteStallTimeout: 300 * time.Millisecond}, up.URL)

	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(gw.url, "http://"))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	body := `{"messages":[{"role":"user","content":"hi"}],"stream":true}`
	_, err = fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	require.NoError(t, err)

	select {
	case err := <-upstreamDone:
		require.Error(t, err, "the upstream request was cancelled, not read to its end")
	case <-time.After(20 * time.Second):
		t.Fatal("the stalled client was not cut")
	}
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.Equal(t, "client_timeout", attrs(s)["error.type"])
	assert.Contains(t, s.Status().Message(), "300ms")
	require.Eventually(t, func() bool { return gw.limit.inFlight.Load() == 0 }, 5*time.Second, time.Millisecond)

	// The connection was closed by the gateway: reading drains what the sockets held, then EOF
	// or a reset.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := io.Copy(io.Discard, conn)
	assert.False(t, isTimeout(err), "the connection stayed open")
	t.Logf("the client had %d bytes in its socket buffers when the gateway gave up (%v)", n, err)
	assert.Less(t, n, int64(16<<20), "the gateway did not buffer the upstream answer")
}

// The stall bound is per write, not between writes: an answer whose events come slower than
// write_stall_timeout is not cut.
func TestWriteStallTimeoutAllowsSlowEvents(t *testing.T) {
	up := newFakeUpstream(t, sseAnswer(fixture(t, "b11669/chat-completion-stream.sse"), 60*time.Millisecond))
	gw, _ := startLimitedGateway(t, Config{WriteStallTimeout: 20 * time.Millisecond}, up.URL)
	resp, body := post(t, gw.url+"/v1/chat/completions", strings.Replace(chatRequest, "{", `{"stream":true,`, 1))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasSuffix(strings.TrimSpace(string(body)), "data: [DONE]"), "the whole stream arrived: %s", body)
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.NotContains(t, attrs(s), "error.type")

	// Pass-through answers go through the stall bound too, unchanged.
	health, err := http.Get(gw.url + "/health")
	require.NoError(t, err)
	_ = health.Body.Close()
	assert.Equal(t, http.StatusOK, health.StatusCode)
}

func TestLimitConfigChecked(t *testing.T) {
	_, err := New(Config{MaxConcurrentRequests: -1}, Settings{})
	assert.ErrorContains(t, err, "max concurrent requests must not be negative")
	_, err = New(Config{WriteStallTimeout: -time.Second}, Settings{})
	assert.ErrorContains(t, err, "write stall timeout must not be negative")
	cfg := NewDefaultConfig()
	assert.Equal(t, 128, cfg.MaxConcurrentRequests)
	assert.Equal(t, time.Minute, cfg.WriteStallTimeout)
	// A server write timeout bounds whole answers: the stall bound is then not applied.
	cfg.Server.WriteTimeout = time.Hour
	g, err := New(cfg, Settings{})
	require.NoError(t, err)
	assert.Zero(t, g.cfg.WriteStallTimeout)
	// 0: no limit.
	g, err = New(Config{}, Settings{})
	require.NoError(t, err)
	for range 1000 {
		require.True(t, g.limit.acquire())
	}
}
