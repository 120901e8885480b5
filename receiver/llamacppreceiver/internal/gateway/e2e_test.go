// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// These tests run the gateway in front of a real llama-server serving llamatest's tiny
// random-weight model. They skip without llama-server, unless LLT_E2E=1.

type oaiUsage struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		Details          struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

func TestE2ELlamaServer(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{Alias: "tiny-test"})

	t.Run("chat completions: spans match the answers' usage", func(t *testing.T) {
		gw := startGateway(t, Config{}, fixedURL(srv.URL))
		const n = 5
		var want struct{ in, out, cached int64 }
		ids := map[string]bool{}
		for i := 0; i < n; i++ {
			resp, body := post(t, gw.url+"/v1/chat/completions",
				`{"model":"tiny-test","messages":[{"role":"user","content":"count to `+strings.Repeat("ten ", i+1)+`"}],"max_tokens":8,"temperature":0.7,"ignore_eos":true}`)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			var u oaiUsage
			require.NoError(t, json.Unmarshal(body, &u))
			want.in += u.Usage.PromptTokens
			want.out += u.Usage.CompletionTokens
			want.cached += u.Usage.Details.CachedTokens
			ids[u.ID] = true
		}
		waitServerSpans(t, gw.sink, n)
		time.Sleep(50 * time.Millisecond) // anything extra would have arrived by now
		spans := allSpans(t, gw.sink)
		require.Len(t, serverSpans(spans), n, "exactly one span per request")
		var got struct{ in, out, cached int64 }
		for _, s := range serverSpans(spans) {
			a := attrs(s)
			assert.Equal(t, "chat tiny-test", s.Name())
			assert.Equal(t, "tiny-test", a["gen_ai.response.model"])
			assert.Equal(t, 0.7, a["gen_ai.request.temperature"])
			assert.Equal(t, int64(8), a["gen_ai.request.max_tokens"])
			assert.Equal(t, int64(srv.Port), a["server.port"])
			assert.True(t, ids[a["gen_ai.response.id"].(string)])
			assert.NotContains(t, a, "error.type")
			got.in += a["gen_ai.usage.input_tokens"].(int64)
			got.out += a["gen_ai.usage.output_tokens"].(int64)
			got.cached += a["gen_ai.usage.cache_read.input_tokens"].(int64)
			assert.Len(t, children(spans, s), 3)
		}
		assert.Equal(t, want, got)
		assert.Equal(t, int64(n*8), got.out)
	})

	t.Run("streamed chat", func(t *testing.T) {
		gw := startGateway(t, Config{CaptureContent: true}, fixedURL(srv.URL))
		resp, body := post(t, gw.url+"/v1/chat/completions",
			`{"messages":[{"role":"user","content":"hi"}],"max_tokens":8,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.True(t, strings.HasSuffix(string(body), "data: [DONE]\n\n"))
		var last oaiUsage
		for _, ev := range splitEvents(body) {
			if d := strings.TrimPrefix(strings.TrimSpace(string(ev)), "data: "); strings.Contains(d, `"usage"`) {
				require.NoError(t, json.Unmarshal([]byte(d), &last))
			}
		}
		s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
		a := attrs(s)
		assert.Equal(t, last.Usage.PromptTokens, a["gen_ai.usage.input_tokens"])
		assert.Equal(t, int64(8), a["gen_ai.usage.output_tokens"])
		assert.Equal(t, []any{"length"}, a["gen_ai.response.finish_reasons"])
		assert.Equal(t, true, a["gen_ai.request.stream"])
		assert.Greater(t, a["llamacpp.stream.chunks"], int64(2), "role, content..., finish, usage")
		assert.Greater(t, a["gen_ai.response.time_to_first_chunk"], 0.0)
		require.Equal(t, 1, s.Events().Len())
		assert.Equal(t, "first_token", s.Events().At(0).Name())
		assert.Contains(t, a["gen_ai.output.messages"], `"finish_reason":"length"`)
		assert.Contains(t, a["gen_ai.input.messages"], `"content":"hi"`)
	})

	t.Run("native completion, plain and streamed", func(t *testing.T) {
		gw := startGateway(t, Config{}, fixedURL(srv.URL))
		resp, body := post(t, gw.url+"/completion", `{"prompt":"abc","n_predict":4,"ignore_eos":true}`)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		resp, body = post(t, gw.url+"/completion", `{"prompt":"abc","n_predict":4,"ignore_eos":true,"stream":true}`)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		for _, s := range serverSpans(waitServerSpans(t, gw.sink, 2)) {
			a := attrs(s)
			assert.Equal(t, "text_completion tiny-test", s.Name())
			assert.Equal(t, int64(4), a["gen_ai.request.max_tokens"])
			assert.Equal(t, int64(4), a["gen_ai.usage.output_tokens"])
			assert.Greater(t, a["gen_ai.usage.input_tokens"], int64(0))
			assert.Equal(t, []any{"length"}, a["gen_ai.response.finish_reasons"])
		}
	})

	t.Run("embeddings refused without --embeddings", func(t *testing.T) {
		gw := startGateway(t, Config{}, fixedURL(srv.URL))
		resp, _ := post(t, gw.url+"/v1/embeddings", `{"input":"hello"}`)
		require.Equal(t, http.StatusNotImplemented, resp.StatusCode)
		s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
		assert.Equal(t, "501", attrs(s)["error.type"])
		assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
	})

	t.Run("client leaves mid-stream", func(t *testing.T) {
		gw := startGateway(t, Config{}, fixedURL(srv.URL))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, gw.url+"/completion",
			strings.NewReader(`{"prompt":"abc","n_predict":400,"ignore_eos":true,"stream":true}`))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, err = bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		cancel()
		_ = resp.Body.Close()
		s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
		assert.Equal(t, "client_disconnected", attrs(s)["error.type"])
		// The server is free again: its slot was released when the gateway hung up.
		resp2, _ := post(t, gw.url+"/completion", `{"prompt":"abc","n_predict":2}`)
		assert.Equal(t, http.StatusOK, resp2.StatusCode)
	})
}

func TestE2EEmbeddings(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{Alias: "tiny-test", Args: []string{"--embeddings", "--pooling", "mean"}})
	gw := startGateway(t, Config{}, fixedURL(srv.URL))
	resp, body := post(t, gw.url+"/v1/embeddings", `{"model":"tiny-test","input":["hello world","again"]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var u oaiUsage
	require.NoError(t, json.Unmarshal(body, &u))
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	a := attrs(s)
	assert.Equal(t, "embeddings tiny-test", s.Name())
	assert.Equal(t, "embeddings", a["gen_ai.operation.name"])
	assert.Equal(t, u.Usage.PromptTokens, a["gen_ai.usage.input_tokens"])
	assert.Greater(t, u.Usage.PromptTokens, int64(0))
	assert.NotContains(t, a, "error.type")
}
