// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultServerDoesNotCutStreams: confighttp.NewDefaultServerConfig sets a 30 s write
// timeout, which would cut every streamed answer at 30 s; the gateway's defaults have no read
// or write timeout, headers within 10 s, and idle connections closed after 2 minutes.
func TestDefaultServerDoesNotCutStreams(t *testing.T) {
	cfg := NewDefaultConfig()
	assert.Equal(t, DefaultEndpoint, cfg.Server.NetAddr.Endpoint)
	assert.Equal(t, "127.0.0.1:8081", DefaultEndpoint)
	assert.Zero(t, cfg.Server.WriteTimeout)
	assert.Zero(t, cfg.Server.ReadTimeout)
	assert.Equal(t, 10*time.Second, cfg.Server.ReadHeaderTimeout)
	assert.False(t, cfg.Server.TLS.HasValue(), "plain HTTP unless tls is set")
	assert.False(t, cfg.Server.Auth.HasValue())

	cfg.Server.NetAddr.Endpoint = "127.0.0.1:0"
	g, err := New(cfg, Settings{})
	require.NoError(t, err)
	require.NoError(t, g.Start(context.Background(), nil))
	t.Cleanup(func() { assert.NoError(t, g.Shutdown(context.Background())) })
	g.mu.Lock()
	srv := g.server
	g.mu.Unlock()
	assert.Zero(t, srv.WriteTimeout, "a write timeout cuts streamed answers")
	assert.Zero(t, srv.ReadTimeout, "a read timeout cuts long uploads and, with HTTP/1.1, bounds the whole exchange")
	assert.Equal(t, 10*time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, 2*time.Minute, srv.IdleTimeout)
}

// TestSlowStreamThroughServer: an answer that keeps streaming past the server's timeouts
// arrives whole. The timeouts are shortened here to keep the test fast; read_header_timeout
// bounds the headers only.
func TestSlowStreamThroughServer(t *testing.T) {
	up := newFakeUpstream(t, sseAnswer(fixture(t, "b11669/chat-completion-stream.sse"), 60*time.Millisecond))
	cfg := Config{Server: listenOn("127.0.0.1:0")}
	cfg.Server.ReadHeaderTimeout = 100 * time.Millisecond
	gw := startGateway(t, cfg, fixedURL(up.URL))
	start := time.Now()
	resp, body := post(t, gw.url+"/v1/chat/completions", strings.Replace(chatRequest, "{", `{"stream":true,`, 1))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Greater(t, time.Since(start), 300*time.Millisecond, "the stream outlived the header timeout")
	assert.True(t, bytes.HasSuffix(bytes.TrimSpace(body), []byte("data: [DONE]")), "the whole stream arrived: %s", body)
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.NotContains(t, attrs(s), "error.type")
}

// TestServerBodyLimitIs413: the server's own limit (max_request_body_size) defaults to
// MaxRequestBody, and a chunked body that reaches it is answered 413 like one that announced
// its length, not 400.
func TestServerBodyLimitIs413(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gw := startGateway(t, Config{MaxRequestBody: 64}, fixedURL(up.URL))
	assert.EqualValues(t, 64, gw.cfg.Server.MaxRequestBodySize)

	req, err := http.NewRequest(http.MethodPost, gw.url+"/v1/chat/completions", io.MultiReader(strings.NewReader(chatRequest)))
	require.NoError(t, err)
	req.ContentLength = -1 // chunked: only reading finds the size
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.Equal(t, "413", attrs(s)["error.type"])
	assert.Empty(t, up.received(), "nothing forwarded")

	sc := listenOn("127.0.0.1:0")
	sc.MaxRequestBodySize = 32
	_, err = New(Config{MaxRequestBody: 64, Server: sc}, Settings{})
	assert.ErrorContains(t, err, "must not be below the max request body")
}

// TestCompressedRequestIsRead: confighttp decompresses a gzip request body before the handler,
// so the span has the request's attributes and llama-server gets plain JSON.
func TestCompressedRequestIsRead(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte(chatRequest))
	require.NoError(t, zw.Close())
	req, err := http.NewRequest(http.MethodPost, gw.url+"/v1/chat/completions", &zipped)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := up.received()
	require.Len(t, got, 1)
	assert.JSONEq(t, chatRequest, string(got[0].body))
	assert.Empty(t, got[0].header.Get("Content-Encoding"))
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.Equal(t, 0.5, attrs(s)["gen_ai.request.temperature"])
}

// TestUnsupportedEncodingIsOpenAIError: what confighttp refuses before the handler (here an
// unknown Content-Encoding) is answered in the OpenAI error shape, like the gateway's own errors.
func TestUnsupportedEncodingIsOpenAIError(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	resp, body := post(t, gw.url+"/v1/chat/completions", chatRequest, "Content-Encoding", "br")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var e errorBody
	require.NoError(t, json.Unmarshal(body, &e), "%s", body)
	assert.Equal(t, http.StatusBadRequest, e.Error.Code)
	assert.Equal(t, "invalid_request_error", e.Error.Type)
	assert.Contains(t, e.Error.Message, "br")
	assert.Empty(t, up.received())
}
