// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const chatRequest = `{"model":"tiny-test","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}],
"temperature":0.5,"top_p":0.9,"top_k":40,"max_tokens":16,"seed":42,"frequency_penalty":0.1,"presence_penalty":0.2,
"stop":["\n\n","END"],"n":1}`

func upstreamHostPort(t *testing.T, raw string) (string, int64) {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	port, err := strconv.ParseInt(u.Port(), 10, 64)
	require.NoError(t, err)
	return u.Hostname(), port
}

func TestChatSpanAttributes(t *testing.T) {
	for _, tc := range []struct {
		fixture                    string
		input, output, cached      int64
		respModel, id, fingerprint string
		promptMS, predictedMS      float64
	}{
		{"b11669/chat-completion.json", 67, 16, 0, "tiny-test", "chatcmpl-QpXX7LD880265RKgBaPwjola7RsC7ZuI", "b11669-Debian", 3.693, 4.848},
		{"upstream-2026-05/chat-completion.json", 59, 64, 0, "qwen-q4km.gguf", "chatcmpl-C9YcyNkkLcX8UI4Y9Pul3akb2qUThNkt", "b0-unknown", 35.461, 214.488},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			body := fixture(t, tc.fixture)
			up := newFakeUpstream(t, jsonAnswer(http.StatusOK, body))
			gw := startGateway(t, Config{}, fixedURL(up.URL))

			resp, got := post(t, gw.url+"/v1/chat/completions", chatRequest)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, body, got, "the answer is forwarded byte for byte")
			assert.JSONEq(t, chatRequest, string(up.received()[0].body), "the request is forwarded as it was")

			spans := waitServerSpans(t, gw.sink, 1)
			s := serverSpans(spans)[0]
			assert.Equal(t, "chat tiny-test", s.Name())
			assert.Equal(t, ptrace.SpanKindServer, s.Kind())
			assert.Equal(t, ptrace.StatusCodeUnset, s.Status().Code())
			host, port := upstreamHostPort(t, up.URL)
			want := map[string]any{
				"gen_ai.operation.name":                "chat",
				"gen_ai.provider.name":                 "llama_cpp",
				"gen_ai.request.model":                 "tiny-test",
				"gen_ai.request.temperature":           0.5,
				"gen_ai.request.top_p":                 0.9,
				"gen_ai.request.top_k":                 40.0,
				"gen_ai.request.max_tokens":            int64(16),
				"gen_ai.request.seed":                  int64(42),
				"gen_ai.request.frequency_penalty":     0.1,
				"gen_ai.request.presence_penalty":      0.2,
				"gen_ai.request.stop_sequences":        []any{"\n\n", "END"},
				"gen_ai.response.id":                   tc.id,
				"gen_ai.response.model":                tc.respModel,
				"gen_ai.response.finish_reasons":       []any{"length"},
				"gen_ai.usage.input_tokens":            tc.input,
				"gen_ai.usage.output_tokens":           tc.output,
				"gen_ai.usage.cache_read.input_tokens": tc.cached,
				"llamacpp.system_fingerprint":          tc.fingerprint,
				"server.address":                       host,
				"server.port":                          port,
				"http.request.method":                  "POST",
				"http.response.status_code":            int64(200),
				"url.path":                             "/v1/chat/completions",
				"llamacpp.timings.prompt_ms":           tc.promptMS,
				"llamacpp.timings.predicted_ms":        tc.predictedMS,
			}
			got2 := attrs(s)
			for k, v := range want {
				assert.Equal(t, v, got2[k], k)
			}
			for _, k := range []string{"llamacpp.timings.prompt_n", "llamacpp.timings.predicted_n", "llamacpp.timings.cache_n",
				"llamacpp.timings.prompt_per_second", "llamacpp.timings.predicted_per_second", "llamacpp.timings.predicted_per_token_ms"} {
				assert.Contains(t, got2, k)
			}
			for _, k := range []string{"error.type", "gen_ai.request.choice.count", "gen_ai.request.stream",
				"gen_ai.input.messages", "gen_ai.output.messages", "llamacpp.stream.chunks"} {
				assert.NotContains(t, got2, k)
			}
			assert.Len(t, children(spans, s), 3)
		})
	}
}

func TestCompletionAndEmbeddingSpans(t *testing.T) {
	for _, tc := range []struct {
		name, path, request, fixture string
		status                       int
		wantName                     string
		want                         map[string]any
		absent                       []string
		phases                       int
	}{
		{
			name: "native completion", path: "/completion", request: `{"prompt":"abc","n_predict":4}`,
			fixture: "b11669/completion-nonstream.json", status: 200, wantName: "text_completion tiny-test",
			want: map[string]any{
				"gen_ai.operation.name": "text_completion", "gen_ai.request.max_tokens": int64(4),
				"gen_ai.response.model": "tiny-test", "gen_ai.response.finish_reasons": []any{"length"},
				"gen_ai.usage.input_tokens": int64(5), "gen_ai.usage.output_tokens": int64(4),
				"gen_ai.usage.cache_read.input_tokens": int64(0), "llamacpp.timings.prompt_n": int64(5),
			},
			absent: []string{"gen_ai.request.model", "gen_ai.response.id", "error.type"}, phases: 3,
		},
		{
			name: "openai completion", path: "/v1/completions", request: `{"model":"tiny-test","prompt":"abc","max_tokens":4}`,
			fixture: "b11669/v1-completions.json", status: 200, wantName: "text_completion tiny-test",
			want: map[string]any{
				"gen_ai.operation.name": "text_completion", "gen_ai.request.model": "tiny-test",
				"gen_ai.response.finish_reasons": []any{"length"}, "gen_ai.usage.input_tokens": int64(4),
				"gen_ai.usage.output_tokens": int64(4), "gen_ai.usage.cache_read.input_tokens": int64(3),
			},
			absent: []string{"error.type"}, phases: 3,
		},
		{
			name: "embeddings", path: "/v1/embeddings", request: `{"model":"tiny-test","input":"hello world"}`,
			fixture: "b11669/v1-embeddings.json", status: 200, wantName: "embeddings tiny-test",
			want: map[string]any{
				"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "tiny-test",
				"gen_ai.response.model": "tiny-test", "gen_ai.usage.input_tokens": int64(12),
			},
			absent: []string{"error.type", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons"},
		},
		{
			name: "embeddings disabled", path: "/v1/embeddings", request: `{"input":"hello world"}`,
			fixture: "b11669/embeddings-disabled.json", status: 501, wantName: "embeddings",
			want: map[string]any{
				"gen_ai.operation.name": "embeddings", "error.type": "501", "http.response.status_code": int64(501),
			},
			absent: []string{"gen_ai.usage.input_tokens"},
		},
		{
			name: "bad json answered 400", path: "/v1/chat/completions", request: `{"messages":`,
			fixture: "b11669/chat-bad-json.json", status: 400, wantName: "chat",
			want:   map[string]any{"error.type": "400", "http.response.status_code": int64(400)},
			absent: []string{"gen_ai.request.model", "gen_ai.request.max_tokens"},
		},
		{
			name: "upstream 500 with a JSON error", path: "/v1/chat/completions", request: `{"messages":[{"role":"user","content":"x"}]}`,
			fixture: "", status: 500, wantName: "chat",
			want: map[string]any{"error.type": "500", "http.response.status_code": int64(500)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"error":{"code":500,"message":"Failed to parse input at pos 12: w1 w2","type":"server_error"}}`)
			if tc.fixture != "" {
				body = fixture(t, tc.fixture)
			}
			up := newFakeUpstream(t, jsonAnswer(tc.status, body))
			gw := startGateway(t, Config{}, fixedURL(up.URL))
			resp, got := post(t, gw.url+tc.path, tc.request)
			require.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, body, got)

			spans := waitServerSpans(t, gw.sink, 1)
			s := serverSpans(spans)[0]
			assert.Equal(t, tc.wantName, s.Name())
			a := attrs(s)
			for k, v := range tc.want {
				assert.Equal(t, v, a[k], k)
			}
			for _, k := range tc.absent {
				assert.NotContains(t, a, k)
			}
			if _, failed := tc.want["error.type"]; failed {
				assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
				assert.NotContains(t, s.Status().Message(), "Failed to parse", "upstream error text may quote output")
			} else {
				assert.Equal(t, ptrace.StatusCodeUnset, s.Status().Code())
			}
			assert.Len(t, children(spans, s), tc.phases)
		})
	}
}

func TestStreamingSpan(t *testing.T) {
	for _, tc := range []struct {
		fixture, path, request string
		chunks                 int64
		input, output, cached  int64
		model                  string
	}{
		{"b11669/chat-completion-stream.sse", "/v1/chat/completions",
			`{"model":"tiny-test","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`, 9, 60, 6, 21, "tiny-test"},
		{"upstream-2026-05/chat-completion-stream.sse", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"hi"}],"stream":true}`, 11, 60, 8, 21, "qwen-q4km.gguf"},
		{"b11669/completion-stream.sse", "/completion", `{"prompt":"abc","n_predict":4,"stream":true}`, 5, 4, 4, 1, "tiny-test"},
		{"upstream-2026-05/completion-stream.sse", "/completion", `{"prompt":"abc","n_predict":4,"stream":true}`, 5, 7, 4, 4, "qwen-q4km.gguf"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			body := fixture(t, tc.fixture)
			up := newFakeUpstream(t, sseAnswer(body, 2*time.Millisecond))
			gw := startGateway(t, Config{}, fixedURL(up.URL))
			start := time.Now()
			resp, got := post(t, gw.url+tc.path, tc.request)
			elapsed := time.Since(start)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			assert.Equal(t, body, got, "the stream is forwarded byte for byte")

			spans := waitServerSpans(t, gw.sink, 1)
			s := serverSpans(spans)[0]
			a := attrs(s)
			assert.Equal(t, true, a["gen_ai.request.stream"])
			assert.Equal(t, tc.chunks, a["llamacpp.stream.chunks"])
			assert.Equal(t, tc.input, a["gen_ai.usage.input_tokens"])
			assert.Equal(t, tc.output, a["gen_ai.usage.output_tokens"])
			assert.Equal(t, tc.cached, a["gen_ai.usage.cache_read.input_tokens"])
			assert.Equal(t, []any{"length"}, a["gen_ai.response.finish_reasons"])
			assert.Equal(t, tc.model, a["gen_ai.response.model"])
			assert.Contains(t, a, "llamacpp.timings.predicted_ms")
			assert.NotContains(t, a, "error.type")

			ttfc, ok := a["gen_ai.response.time_to_first_chunk"].(float64)
			require.True(t, ok)
			assert.Greater(t, ttfc, 0.0)
			assert.Less(t, ttfc, elapsed.Seconds())
			require.Equal(t, 1, s.Events().Len())
			ev := s.Events().At(0)
			assert.Equal(t, "first_token", ev.Name())
			// ttfc went through float seconds: equal to the event's time within a microsecond.
			assert.WithinDuration(t, s.StartTimestamp().AsTime().Add(time.Duration(ttfc*float64(time.Second))),
				ev.Timestamp().AsTime(), time.Microsecond)
			// The first token comes one event after the role-only chunk on chat routes, so it
			// cannot be the last chunk: generation ends later.
			kids := children(spans, s)
			require.Len(t, kids, 3)
			assert.True(t, kids["generation"].EndTimestamp() > ev.Timestamp())
			assert.True(t, kids["generation"].EndTimestamp() <= s.EndTimestamp())
		})
	}
}

// TestStreamIsNotBuffered holds the upstream after its first event until the client has read
// it: a proxy that buffered would deadlock here.
func TestStreamIsNotBuffered(t *testing.T) {
	events := splitEvents(fixture(t, "b11669/chat-completion-stream.sse"))
	clientGotFirst := make(chan struct{})
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(events[0])
		w.(http.Flusher).Flush()
		select {
		case <-clientGotFirst:
		case <-time.After(5 * time.Second):
			return
		}
		for _, ev := range events[1:] {
			_, _ = w.Write(ev)
		}
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	resp, err := http.Post(gw.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSuffix(string(events[0]), "\n"), line)
	close(clientGotFirst)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Contains(t, string(rest), "data: [DONE]")
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.NotContains(t, attrs(s), "error.type")
}

func TestTraceparentContinuation(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	post(t, gw.url+"/v1/chat/completions", chatRequest, "traceparent", tp, "tracestate", "congo=t61rcWkgMzE",
		"Authorization", "Bearer secret-key")
	post(t, gw.url+"/v1/chat/completions", chatRequest) // no parent: a new trace

	rec := up.received()
	require.Len(t, rec, 2)
	assert.Equal(t, tp, rec[0].header.Get("Traceparent"), "traceparent is forwarded unchanged")
	assert.Equal(t, "congo=t61rcWkgMzE", rec[0].header.Get("Tracestate"))
	assert.Equal(t, "Bearer secret-key", rec[0].header.Get("Authorization"))

	spans := waitServerSpans(t, gw.sink, 2)
	var withParent, without ptrace.Span
	for _, s := range serverSpans(spans) {
		if s.ParentSpanID().IsEmpty() {
			without = s
		} else {
			withParent = s
		}
	}
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", withParent.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", withParent.ParentSpanID().String())
	assert.Equal(t, "congo=t61rcWkgMzE", withParent.TraceState().AsRaw())
	assert.Equal(t, uint32(0x301), withParent.Flags(), "sampled, parent is remote")
	assert.NotEqual(t, "00f067aa0ba902b7", withParent.SpanID().String())
	for _, c := range children(spans, withParent) {
		assert.Equal(t, withParent.TraceID(), c.TraceID())
	}
	assert.False(t, without.TraceID().IsEmpty())
	assert.NotEqual(t, withParent.TraceID(), without.TraceID())
}

func TestNonJSONBodyForwardedWithoutRequestAttributes(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusBadRequest, fixture(t, "b11669/chat-bad-json.json")))
	gw := startGateway(t, Config{CaptureContent: true}, fixedURL(up.URL))
	const raw = "not json at all \x00\xff{"
	resp, _ := post(t, gw.url+"/v1/chat/completions", raw)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, []byte(raw), up.received()[0].body)

	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	for k := range attrs(s) {
		assert.False(t, strings.HasPrefix(k, "gen_ai.request."), k)
	}
	assert.NotContains(t, attrs(s), "gen_ai.input.messages")
	assert.Equal(t, "chat", s.Name())
}

func TestRequestTooLarge(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gw := startGateway(t, Config{MaxRequestBody: 64}, fixedURL(up.URL))

	resp, body := post(t, gw.url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"`+strings.Repeat("x", 100)+`"}]}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	var e errorBody
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, 413, e.Error.Code)
	assert.Equal(t, "invalid_request_error", e.Error.Type)

	// Exactly at the limit is fine.
	ok := `{"messages":[],"pad":"` + strings.Repeat("y", 64-len(`{"messages":[],"pad":""}`)) + `"}`
	require.Len(t, ok, 64)
	resp, _ = post(t, gw.url+"/v1/chat/completions", ok)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, up.received(), 1, "the oversize request never reached the upstream")

	spans := serverSpans(waitServerSpans(t, gw.sink, 2))
	var failed int
	for _, s := range spans {
		if v, ok := attrs(s)["error.type"]; ok {
			failed++
			assert.Equal(t, "413", v)
			assert.Equal(t, int64(413), attrs(s)["http.response.status_code"])
			assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
		}
	}
	assert.Equal(t, 1, failed)
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	gw := startGateway(t, Config{}, fixedURL(down))

	resp, body := post(t, gw.url+"/v1/chat/completions", chatRequest)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var e errorBody
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, 502, e.Error.Code)

	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	a := attrs(s)
	assert.Equal(t, "upstream_unreachable", a["error.type"])
	assert.Equal(t, int64(502), a["http.response.status_code"])
	assert.Equal(t, "chat tiny-test", s.Name())
	assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
	assert.Contains(t, s.Status().Message(), "connect")
}

func TestNoUpstream(t *testing.T) {
	gw := startGateway(t, Config{}, func() string { return "" })
	resp, _ := post(t, gw.url+"/v1/chat/completions", chatRequest)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp2, err := http.Get(gw.url + "/health")
	require.NoError(t, err)
	_ = resp2.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp2.StatusCode)

	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.Equal(t, "upstream_unavailable", attrs(s)["error.type"])
	assert.NotContains(t, attrs(s), "server.address")
}

func TestUpstreamFollowedPerRequest(t *testing.T) {
	a := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	b := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "upstream-2026-05/chat-completion.json")))
	var current atomic.Value
	current.Store(a.URL)
	gw := startGateway(t, Config{}, func() string { return current.Load().(string) })
	post(t, gw.url+"/v1/chat/completions", chatRequest)
	current.Store(b.URL)
	post(t, gw.url+"/v1/chat/completions", chatRequest)
	assert.Len(t, a.received(), 1)
	assert.Len(t, b.received(), 1)
	spans := serverSpans(waitServerSpans(t, gw.sink, 2))
	ports := map[int64]bool{}
	for _, s := range spans {
		ports[attrs(s)["server.port"].(int64)] = true
	}
	assert.Len(t, ports, 2)
}

func TestClientDisconnectMidStream(t *testing.T) {
	events := splitEvents(fixture(t, "b11669/chat-completion-stream.sse"))
	upstreamCancelled := make(chan struct{})
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(events[0])
		_, _ = w.Write(events[1])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(upstreamCancelled)
		case <-time.After(10 * time.Second):
		}
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gw.url+"/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	_, err = br.ReadString('\n')
	require.NoError(t, err)
	cancel() // the client goes away mid-stream
	_ = resp.Body.Close()

	select {
	case <-upstreamCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	a := attrs(s)
	assert.Equal(t, "client_disconnected", a["error.type"])
	assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
	assert.Equal(t, int64(2), a["llamacpp.stream.chunks"])
	assert.Equal(t, 1, s.Events().Len(), "the first token had arrived")
}

// TestClientLeavesAfterDone: SDKs stop reading a stream at [DONE] and close it; when the
// upstream is slower to end its response than that, the call is still a success.
func TestClientLeavesAfterDone(t *testing.T) {
	events := splitEvents(fixture(t, "b11669/chat-completion-stream.sse"))
	upstreamCancelled := make(chan struct{})
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events {
			_, _ = w.Write(ev)
		}
		w.(http.Flusher).Flush()
		select { // the end of the response comes late
		case <-r.Context().Done():
			close(upstreamCancelled)
		case <-time.After(10 * time.Second):
		}
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	req, err := http.NewRequest(http.MethodPost, gw.url+"/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.Contains(line, "[DONE]") {
			break
		}
	}
	_ = resp.Body.Close() // as an SDK does at [DONE]
	select {
	case <-upstreamCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.NotContains(t, attrs(s), "error.type")
	assert.NotEqual(t, ptrace.StatusCodeError, s.Status().Code())
	assert.Contains(t, attrs(s), "gen_ai.usage.output_tokens", "the usage chunk was read")
}

func TestUpstreamBreaksOffMidStream(t *testing.T) {
	events := splitEvents(fixture(t, "b11669/chat-completion-stream.sse"))
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(events[0])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // no terminating chunk: the body ends unexpectedly
		}
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	resp, err := http.Post(gw.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	// The client sees why the answer ended: what llama-server sent, then an OpenAI-style error
	// event (as the OpenAI SDKs raise), and no [DONE].
	require.True(t, bytes.HasPrefix(body, events[0]), "%q", body)
	assert.True(t, bytes.HasSuffix(body, streamBrokeOff), "%q", body)
	assert.NotContains(t, string(body), "[DONE]")
	var ev struct {
		Error struct {
			Code    int
			Message string
			Type    string
		}
	}
	last := bytes.TrimSpace(body[bytes.LastIndex(bytes.TrimSpace(body), []byte("data: "))+len("data: "):])
	require.NoError(t, json.Unmarshal(last, &ev), "%q", last)
	assert.Equal(t, 502, ev.Error.Code)
	assert.Equal(t, "server_error", ev.Error.Type)
	assert.Contains(t, ev.Error.Message, "llama-server stopped while answering this request")
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	assert.Equal(t, "upstream_disconnected", attrs(s)["error.type"])
}

func TestContentCapture(t *testing.T) {
	const secretPrompt, secretAnswer = "SECRET-PROMPT-Ünïcødé", "SECRET-ANSWER"
	answer := `{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"` + secretAnswer + `"}}],
"created":1,"model":"tiny-test","object":"chat.completion","usage":{"completion_tokens":2,"prompt_tokens":5,"total_tokens":7},"id":"chatcmpl-x",
"timings":{"prompt_n":5,"prompt_ms":1.0,"predicted_n":2,"predicted_ms":1.0}}`
	stream := "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}],\"id\":\"c\",\"model\":\"tiny-test\"}\n\n" +
		"data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"SECRET-\"}}],\"id\":\"c\",\"model\":\"tiny-test\"}\n\n" +
		"data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"ANSWER\"}}],\"id\":\"c\",\"model\":\"tiny-test\"}\n\n" +
		"data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"id\":\"c\",\"model\":\"tiny-test\",\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":5}}\n\n" +
		"data: [DONE]\n\n"
	request := `{"model":"tiny-test","messages":[{"role":"user","content":"` + secretPrompt + `"}]}`
	streamRequest := `{"model":"tiny-test","stream":true,"messages":[{"role":"user","content":"` + secretPrompt + `"}]}`

	run := func(t *testing.T, cfg Config) []ptrace.Span {
		up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(string(r.Header.Get("X-Stream")), "1") {
				sseAnswer([]byte(stream), 0)(w, r)
				return
			}
			jsonAnswer(200, []byte(answer))(w, r)
		})
		gw := startGateway(t, cfg, fixedURL(up.URL))
		post(t, gw.url+"/v1/chat/completions", request)
		post(t, gw.url+"/v1/chat/completions", streamRequest, "X-Stream", "1")
		return waitServerSpans(t, gw.sink, 2)
	}

	t.Run("off", func(t *testing.T) {
		spans := run(t, Config{})
		for _, s := range spans {
			dump := spanDump(s)
			assert.NotContains(t, dump, "SECRET", s.Name())
			assert.NotContains(t, attrs(s), "gen_ai.input.messages")
			assert.NotContains(t, attrs(s), "gen_ai.output.messages")
		}
	})
	t.Run("on", func(t *testing.T) {
		spans := serverSpans(run(t, Config{CaptureContent: true}))
		for _, s := range spans {
			in, ok := attrs(s)["gen_ai.input.messages"].(string)
			require.True(t, ok)
			var msgs []map[string]any
			require.NoError(t, json.Unmarshal([]byte(in), &msgs))
			assert.Equal(t, []map[string]any{{"role": "user", "parts": []any{map[string]any{"type": "text", "content": secretPrompt}}}}, msgs)
			out, ok := attrs(s)["gen_ai.output.messages"].(string)
			require.True(t, ok)
			require.NoError(t, json.Unmarshal([]byte(out), &msgs))
			assert.Equal(t, []map[string]any{{"role": "assistant", "finish_reason": "stop",
				"parts": []any{map[string]any{"type": "text", "content": secretAnswer}}}}, msgs)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		const limit = 47 // cuts inside "Ünïcødé"
		spans := serverSpans(run(t, Config{CaptureContent: true, MaxContentLength: limit}))
		for _, s := range spans {
			in := attrs(s)["gen_ai.input.messages"].(string)
			assert.LessOrEqual(t, len(in), limit)
			assert.Greater(t, len(in), limit-4)
			assert.True(t, utf8.ValidString(in), in)
			assert.LessOrEqual(t, len(attrs(s)["gen_ai.output.messages"].(string)), limit)
		}
	})
}

// spanDump renders everything a span carries as text.
func spanDump(s ptrace.Span) string {
	var b strings.Builder
	b.WriteString(s.Name())
	b.WriteString(s.Status().Message())
	raw, _ := json.Marshal(s.Attributes().AsRaw())
	b.Write(raw)
	for i := 0; i < s.Events().Len(); i++ {
		raw, _ = json.Marshal(s.Events().At(i).Attributes().AsRaw())
		b.Write(raw)
	}
	return b.String()
}

func TestPassthroughIsNotTraced(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			jsonAnswer(200, []byte(`{"status":"ok"}`))(w, r)
		case "/tokenize":
			jsonAnswer(200, []byte(`{"tokens":[1,2,3]}`))(w, r)
		default:
			jsonAnswer(200, fixture(t, "b11669/chat-completion.json"))(w, r)
		}
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))

	resp, err := http.Get(gw.url + "/health?x=1")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, `{"status":"ok"}`, string(b))
	_, b = post(t, gw.url+"/tokenize", `{"content":"hello"}`, "Authorization", "Bearer k")
	assert.Equal(t, `{"tokens":[1,2,3]}`, string(b))
	resp, err = http.Get(gw.url + "/v1/chat/completions") // not a POST: not inference
	require.NoError(t, err)
	_ = resp.Body.Close()
	// A traced request afterwards: when its span arrives, the others would have too.
	post(t, gw.url+"/v1/chat/completions", chatRequest)
	spans := waitServerSpans(t, gw.sink, 1)
	assert.Len(t, spans, 4, "one server span and its three phases")

	rec := up.received()
	require.Len(t, rec, 4)
	assert.Equal(t, "/health", rec[0].path)
	assert.Equal(t, `{"content":"hello"}`, string(rec[1].body))
	assert.Equal(t, "Bearer k", rec[1].header.Get("Authorization"))
}

func TestPhaseLayout(t *testing.T) {
	// The upstream takes 30 ms more than its timings account for: that is queue time.
	answer := fixture(t, "upstream-2026-05/chat-completion.json") // prompt_ms 35.461, predicted_ms 214.488
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(280 * time.Millisecond)
		jsonAnswer(200, answer)(w, r)
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	post(t, gw.url+"/v1/chat/completions", chatRequest)
	spans := waitServerSpans(t, gw.sink, 1)
	s := serverSpans(spans)[0]
	kids := children(spans, s)
	require.Len(t, kids, 3)
	q, p, g := kids["queue"], kids["prompt"], kids["generation"]
	for _, c := range []ptrace.Span{q, p, g} {
		assert.Equal(t, ptrace.SpanKindInternal, c.Kind())
	}
	assert.Equal(t, s.StartTimestamp(), q.StartTimestamp())
	assert.Equal(t, q.EndTimestamp(), p.StartTimestamp())
	assert.Equal(t, p.EndTimestamp(), g.StartTimestamp())
	assert.Equal(t, s.EndTimestamp(), g.EndTimestamp())
	dur := func(x ptrace.Span) time.Duration { return x.EndTimestamp().AsTime().Sub(x.StartTimestamp().AsTime()) }
	assert.Equal(t, time.Duration(35.461*float64(time.Millisecond)), dur(p))
	assert.Equal(t, time.Duration(214.488*float64(time.Millisecond)), dur(g))
	assert.Equal(t, dur(s)-dur(p)-dur(g), dur(q))
	assert.Greater(t, dur(q), 25*time.Millisecond)
	assert.Equal(t, int64(59), attrs(p)["llamacpp.timings.prompt_n"])
	assert.Equal(t, int64(64), attrs(g)["llamacpp.timings.predicted_n"])
}

func TestPhasesClippedAtRequestStart(t *testing.T) {
	// Timings longer than the request (another clock, a replayed answer): no phase starts
	// before the request, and the queue is empty.
	up := newFakeUpstream(t, jsonAnswer(200, fixture(t, "upstream-2026-05/chat-completion.json")))
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	post(t, gw.url+"/v1/chat/completions", chatRequest)
	spans := waitServerSpans(t, gw.sink, 1)
	s := serverSpans(spans)[0]
	kids := children(spans, s)
	require.Len(t, kids, 3)
	for name, c := range kids {
		assert.GreaterOrEqual(t, c.StartTimestamp(), s.StartTimestamp(), name)
		assert.LessOrEqual(t, c.EndTimestamp(), s.EndTimestamp(), name)
	}
	assert.Equal(t, kids["queue"].StartTimestamp(), kids["queue"].EndTimestamp())
}

func TestLifecycle(t *testing.T) {
	g, err := New(Config{Server: listenOn("127.0.0.1:0")}, Settings{})
	require.NoError(t, err)
	require.NoError(t, g.Shutdown(context.Background()), "shutdown without start")
	require.NoError(t, g.Shutdown(context.Background()), "twice")

	g1, err := New(Config{Server: listenOn("127.0.0.1:0")}, Settings{})
	require.NoError(t, err)
	require.NoError(t, g1.Start(context.Background(), nil))
	g2, err := New(Config{Server: listenOn(g1.Addr())}, Settings{})
	require.NoError(t, err)
	assert.ErrorContains(t, g2.Start(context.Background(), nil), "address already in use", "a busy port fails at once")
	require.NoError(t, g2.Shutdown(context.Background()))
	require.NoError(t, g1.Shutdown(context.Background()))
	require.NoError(t, g1.Shutdown(context.Background()))

	_, err = New(Config{MaxRequestBody: -1}, Settings{})
	assert.Error(t, err)
}

func TestHandlerWithoutStart(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	g, err := New(Config{}, Settings{Upstream: fixedURL(up.URL)})
	require.NoError(t, err)
	srv := newTestServer(t, g.Handler())
	resp, _ := post(t, srv+"/v1/chat/completions", chatRequest)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, g.Shutdown(context.Background()), "stops the pipeline the handler started")
	ms := pmetric.NewMetricSlice()
	g.AppendMetrics(ms, pcommon.NewTimestampFromTime(time.Now()))
	m, ok := metricByName(ms, "llamacpp.gateway.requests")
	require.True(t, ok)
	assert.Equal(t, int64(1), m.Sum().DataPoints().At(0).IntValue())
}

func TestCompressedAnswerForwardedUnread(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(fixture(t, "b11669/chat-completion.json"))
	require.NoError(t, zw.Close())
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		jsonAnswer(200, zipped.Bytes())(w, r)
	})
	gw := startGateway(t, Config{}, fixedURL(up.URL))
	resp, body := post(t, gw.url+"/v1/chat/completions", chatRequest) // the client decompresses
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, fixture(t, "b11669/chat-completion.json"), body)
	assert.Equal(t, "gzip", up.received()[0].header.Get("Accept-Encoding"), "the client's header is forwarded")
	s := serverSpans(waitServerSpans(t, gw.sink, 1))[0]
	a := attrs(s)
	assert.NotContains(t, a, "gen_ai.usage.input_tokens")
	assert.NotContains(t, a, "error.type")
	assert.Equal(t, "chat tiny-test", s.Name())
}

// TestKeptAliveConnectionClosedByServer: llama-server may close a kept-alive connection that the
// gateway is about to reuse (its keep-alive timeout or request limit, or busy threads). The
// request was not answered, so the gateway sends it again on a new connection instead of
// answering 502.
func TestKeptAliveConnectionClosedByServer(t *testing.T) {
	answer := jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json"))
	var requests atomic.Int32
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 2 {
			// The second request arrives on the kept-alive connection: take it whole, then
			// close the connection without a word, as a server closing it does.
			_, _ = io.Copy(io.Discard, r.Body)
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = c.Close()
			}
			return
		}
		answer(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	gw := startGateway(t, Config{}, fixedURL(srv.URL))

	for i := range 2 {
		resp, body := post(t, gw.url+"/v1/chat/completions", chatRequest)
		if resp.StatusCode != http.StatusOK {
			for _, s := range serverSpans(waitServerSpans(t, gw.sink, i+1)) {
				t.Logf("span: %s", s.Status().Message())
			}
		}
		require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i, body)
	}
	assert.EqualValues(t, 3, requests.Load(), "the dropped request was sent again")
	assert.EqualValues(t, 2, conns.Load(), "on a new connection")
	for _, s := range serverSpans(waitServerSpans(t, gw.sink, 2)) {
		assert.NotContains(t, attrs(s), "error.type")
	}
}
