// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// startHungGateway is a gateway whose launcher reports serverErr (Settings.ServerError).
func startHungGateway(t *testing.T, upstreamURL func() string, serverErr func() error) *testGateway {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.Server.NetAddr.Endpoint = "127.0.0.1:0"
	return startGatewayWith(t, cfg, Settings{Upstream: upstreamURL, ServerError: serverErr})
}

// hangThenKill is an upstream that, as the launcher does with a hung server, first records the
// hang (the launcher's LastError) and then closes the connection (the kill); before that it
// writes first (a stream's first event), or nothing.
func hangThenKill(first []byte, lastErr *atomic.Pointer[error], reported error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if first != nil {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(first)
			w.(http.Flusher).Flush()
		}
		lastErr.Store(&reported)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

var testHang = &launcherapi.HungError{PID: 4242, Silent: 10300 * time.Millisecond, HungAfter: 10 * time.Second,
	Why: "it is stopped (state T)", LastProbe: syscall.ETIMEDOUT}

func reportedBy(p *atomic.Pointer[error]) func() error {
	return func() error {
		if e := p.Load(); e != nil {
			return *e
		}
		return nil
	}
}

// A request in flight when the launcher kills a hung llama-server ends as a timeout: 504, an
// OpenAI-style timeout error that says what happened, and error.type timeout on its span.
func TestHungServerRequestTimesOut(t *testing.T) {
	var lastErr atomic.Pointer[error]
	url := newTestServer(t, hangThenKill(nil, &lastErr, testHang))
	gw := startHungGateway(t, fixedURL(url), reportedBy(&lastErr))
	resp, body := post(t, gw.url+"/v1/chat/completions", chatBody)
	require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "%s", body)
	var eb errorBody
	require.NoError(t, json.Unmarshal(body, &eb), "%s", body)
	assert.Equal(t, "timeout_error", eb.Error.Type)
	assert.Equal(t, http.StatusGatewayTimeout, eb.Error.Code)
	assert.Equal(t, "timed out: llama-server stopped answering (no /health answer for 10.3s, health_check::hung_after 10s) and "+
		"the launcher restarted it; this request got no answer; retry it", eb.Error.Message)
	s := waitServerSpans(t, gw.sink, 1)[0]
	assert.Equal(t, errTimeout, attrs(s)[attrErrorType])
	assert.Contains(t, s.Status().Message(), "llama-server (pid 4242) hung")
}

// A stream the kill breaks off ends with a timeout error event, not the generic one.
func TestHungServerStreamTimesOut(t *testing.T) {
	events := splitEvents(fixture(t, "b11669/chat-completion-stream.sse"))
	var lastErr atomic.Pointer[error]
	url := newTestServer(t, hangThenKill(events[0], &lastErr, testHang))
	gw := startHungGateway(t, fixedURL(url), reportedBy(&lastErr))
	resp, err := http.Post(gw.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(body, events[0]), "%q", body)
	assert.NotContains(t, string(body), "[DONE]")
	last := bytes.TrimSpace(body[bytes.LastIndex(bytes.TrimSpace(body), []byte("data: "))+len("data: "):])
	var eb errorBody
	require.NoError(t, json.Unmarshal(last, &eb), "%q", last)
	assert.Equal(t, http.StatusGatewayTimeout, eb.Error.Code)
	assert.Equal(t, "timeout_error", eb.Error.Type)
	assert.Contains(t, eb.Error.Message, "timed out: llama-server stopped answering (no /health answer for 10.3s")
	assert.Contains(t, eb.Error.Message, "this request was cut off; the answer is incomplete")
	s := waitServerSpans(t, gw.sink, 1)[0]
	assert.Equal(t, errTimeout, attrs(s)[attrErrorType])
	assert.Contains(t, s.Status().Message(), "llama-server (pid 4242) hung")
}

// Any other reason (a crash, a kill) keeps the 502 and the generic event.
func TestCrashedServerIsNotATimeout(t *testing.T) {
	var lastErr atomic.Pointer[error]
	url := newTestServer(t, hangThenKill(nil, &lastErr, errors.New("llama-server (pid 1) exited unexpectedly: killed by signal killed")))
	gw := startHungGateway(t, fixedURL(url), reportedBy(&lastErr))
	resp, body := post(t, gw.url+"/v1/chat/completions", chatBody)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "closed the connection before answering")
	assert.NotEqual(t, errTimeout, attrs(waitServerSpans(t, gw.sink, 1)[0])[attrErrorType])
}
