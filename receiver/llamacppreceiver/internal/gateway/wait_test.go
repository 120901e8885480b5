// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`

// startWaitingGateway is a gateway whose launcher is represented by ready.
func startWaitingGateway(t *testing.T, wait time.Duration, upstreamURL func() string, ready func(context.Context) error) *testGateway {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.Server.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.ServerWait = wait
	return startGatewayWith(t, cfg, Settings{Upstream: upstreamURL, WaitReady: ready})
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// serveAt starts an HTTP server answering chat completions on addr and counts its requests.
func serveAt(t *testing.T, addr string, count *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json"))(w, r)
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// A server that refuses connections and comes back within server_wait: the request waits and is
// answered, once, and its span says how long it waited and why.
func TestWaitForRefusedServer(t *testing.T) {
	addr := freeAddr(t)
	gw := startWaitingGateway(t, 5*time.Second, fixedURL("http://"+addr), nil)
	var served atomic.Int64
	time.AfterFunc(300*time.Millisecond, func() { serveAt(t, addr, &served) })
	resp, body := post(t, gw.url+"/v1/chat/completions", chatBody)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.EqualValues(t, 1, served.Load(), "sent once")
	span := waitServerSpans(t, gw.sink, 1)[0]
	a := attrs(span)
	assert.Equal(t, waitRefused, a[attrGatewayWaitReason])
	assert.GreaterOrEqual(t, a[attrGatewayWait].(float64), 0.2)
	assert.NotContains(t, a, attrErrorType)
}

// While the launcher reports its server starting, a request waits for it to be ready, then goes
// to the address the server has then.
func TestWaitForStartingServer(t *testing.T) {
	addr := freeAddr(t)
	var mu sync.Mutex
	base := ""
	readyCh := make(chan struct{})
	ready := func(ctx context.Context) error {
		select {
		case <-readyCh:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	gw := startWaitingGateway(t, 5*time.Second, func() string { mu.Lock(); defer mu.Unlock(); return base }, ready)
	var served atomic.Int64
	time.AfterFunc(300*time.Millisecond, func() {
		serveAt(t, addr, &served)
		mu.Lock()
		base = "http://" + addr
		mu.Unlock()
		close(readyCh)
	})
	resp, body := post(t, gw.url+"/v1/chat/completions", chatBody)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.EqualValues(t, 1, served.Load())
	a := attrs(waitServerSpans(t, gw.sink, 1)[0])
	assert.Equal(t, waitStarting, a[attrGatewayWaitReason])
	assert.GreaterOrEqual(t, a[attrGatewayWait].(float64), 0.2)
	assert.EqualValues(t, 0, gw.wt.waiting.Load(), "no request waits any more")
}

// A server that does not come back within server_wait: 503, Retry-After, an OpenAI-style error
// that says so, and an error span.
func TestWaitGivesUp(t *testing.T) {
	gw := startWaitingGateway(t, 300*time.Millisecond, fixedURL("http://"+freeAddr(t)), nil)
	began := time.Now()
	resp, body := post(t, gw.url+"/v1/chat/completions", chatBody)
	took := time.Since(began)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	var e struct {
		Error struct {
			Type, Message string
		}
	}
	require.NoError(t, json.Unmarshal(body, &e), "%s", body)
	assert.Equal(t, "unavailable_error", e.Error.Type)
	assert.Contains(t, e.Error.Message, "llama-server is restarting and was not back within")
	assert.GreaterOrEqual(t, took, 300*time.Millisecond)
	assert.Less(t, took, 3*time.Second)
	a := attrs(waitServerSpans(t, gw.sink, 1)[0])
	assert.Equal(t, errUpstreamUnavailable, a[attrErrorType])
	assert.Equal(t, waitRefused, a[attrGatewayWaitReason])
}

// The client's own cancellation ends the wait.
func TestWaitEndsWithTheClient(t *testing.T) {
	gw := startWaitingGateway(t, time.Minute, fixedURL("http://"+freeAddr(t)), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gw.url+"/v1/chat/completions", nil)
	require.NoError(t, err)
	req.Body = http.NoBody
	began := time.Now()
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err)
	a := attrs(waitServerSpans(t, gw.sink, 1)[0])
	assert.Equal(t, errClientDisconnected, a[attrErrorType])
	assert.Less(t, time.Since(began), 5*time.Second, "not the whole minute")
}

// A request that reached the server is never sent again: the server closing the connection
// without an answer is the client's error, with a message that says what happened.
func TestNoResendAfterTheServerGotIt(t *testing.T) {
	var got atomic.Int64
	url := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		got.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	gw := startWaitingGateway(t, 5*time.Second, fixedURL(url), nil)
	resp, body := post(t, gw.url+"/v1/chat/completions", chatBody)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, string(body), "closed the connection before answering")
	// net/http's transport may replay once on a kept-alive connection it finds closed; the
	// gateway's waiting adds no further attempt.
	assert.LessOrEqual(t, got.Load(), int64(2))
	a := attrs(waitServerSpans(t, gw.sink, 1)[0])
	assert.NotContains(t, a, attrGatewayWaitReason, "it did not wait")
}
