// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/genaimsg"
)

func TestParseTraceparent(t *testing.T) {
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name, value string
		valid       bool
		flags       byte
	}{
		{"valid", good, true, 1},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, 0},
		{"unknown flags of version 00 dropped", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", true, 3},
		{"future version with more fields", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like", true, 1},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, 0},
		{"version 00 with extra", good + "-00", false, 0},
		{"upper case", strings.ToUpper(good), false, 0},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, 0},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, 0},
		{"short", good[:54], false, 0},
		{"bad separator", strings.Replace(good, "-", "_", 1), false, 0},
		{"not hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false, 0},
		{"empty", "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.value != "" {
				h.Set("traceparent", tc.value)
			}
			sc := parseTraceparent(h)
			assert.Equal(t, tc.valid, sc.valid)
			if tc.valid {
				assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", sc.traceID.String())
				assert.Equal(t, "00f067aa0ba902b7", sc.spanID.String())
				assert.Equal(t, tc.flags, sc.flags)
			}
		})
	}
	t.Run("two traceparent headers", func(t *testing.T) {
		h := http.Header{"Traceparent": {good, good}}
		assert.False(t, parseTraceparent(h).valid)
	})
	t.Run("tracestate joined and capped", func(t *testing.T) {
		h := http.Header{"Traceparent": {good}, "Tracestate": {"a=1", "b=2"}}
		assert.Equal(t, "a=1,b=2", parseTraceparent(h).traceState)
		h["Tracestate"] = []string{strings.Repeat("x", 600)}
		sc := parseTraceparent(h)
		assert.True(t, sc.valid)
		assert.Empty(t, sc.traceState)
	})
}

func TestParseRequest(t *testing.T) {
	r := parseRequest([]byte(`{"model":"m","temperature":"hot","top_k":40,"n_predict":8,"seed":-1,"stop":"END","n":2,
		"response_format":{"type":"json_object"},"stream":false}`))
	require.True(t, r.parsed)
	assert.Equal(t, "m", r.doc.Model)
	assert.False(t, r.doc.Temperature.set, "a field of the wrong type is skipped")
	assert.Equal(t, optNumber{v: 40, set: true}, r.doc.TopK)
	assert.Equal(t, optBool{v: false, set: true}, r.doc.Stream)
	n, ok := r.maxTokens()
	assert.True(t, ok)
	assert.Equal(t, int64(8), n)
	s, ok := r.doc.Seed.int()
	assert.True(t, ok)
	assert.Equal(t, int64(-1), s)
	assert.Equal(t, []string{"END"}, r.doc.Stop)
	assert.Equal(t, "json", r.outputType())

	r = parseRequest([]byte(`{"max_tokens":3,"max_completion_tokens":5,"n_predict":7,"stop":[1,2],"seed":1.5}`))
	n, _ = r.maxTokens()
	assert.Equal(t, int64(3), n, "max_tokens first")
	assert.Nil(t, r.doc.Stop, "a stop list of the wrong shape is ignored")
	_, ok = r.doc.Seed.int()
	assert.False(t, ok)

	r = parseRequest([]byte(`{"stop":["a","b"],"top_p":null,"temperature":0.25,"response_format":{"type":"text"}}`))
	assert.Equal(t, []string{"a", "b"}, r.doc.Stop)
	assert.False(t, r.doc.TopP.set)
	assert.Equal(t, optNumber{v: 0.25, set: true}, r.doc.Temperature)
	assert.Equal(t, "text", r.outputType())

	for _, bad := range []string{``, `[1,2]`, `"x"`, `{"model":`, `not json`, `{"model":"m"} trailing`, `{"model":"m",}`, `{"model" "m"}`} {
		r := parseRequest([]byte(bad))
		assert.False(t, r.parsed, bad)
		assert.Empty(t, r.doc.Model, bad)
	}
}

func TestResponseTokens(t *testing.T) {
	decode := func(s string) *responseSummary {
		var d responseDoc
		require.True(t, decodeResponse([]byte(s), &d))
		sum := &responseSummary{}
		sum.absorb(&d)
		return sum
	}
	// Timings only: input counts cached tokens too.
	tok := decode(`{"timings":{"cache_n":3,"prompt_n":2,"predicted_n":5}}`).tokens()
	assert.Equal(t, tokenCounts{input: 5, output: 5, cacheRead: 3, hasInput: true, hasOutput: true, hasCacheRead: true}, tok)
	// OpenAI usage wins over timings.
	tok = decode(`{"usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":6},
		"completion_tokens_details":{"reasoning_tokens":2}},"timings":{"cache_n":1,"prompt_n":1,"predicted_n":1}}`).tokens()
	assert.Equal(t, tokenCounts{input: 10, output: 4, cacheRead: 6, reasoning: 2,
		hasInput: true, hasOutput: true, hasCacheRead: true, hasReasoning: true}, tok)

	for stopType, want := range map[string][]string{"limit": {"length"}, "eos": {"stop"}, "word": {"stop"}, "none": nil} {
		sum := decode(`{"content":"","stop":true,"stop_type":"` + stopType + `"}`)
		assert.Equal(t, want, sum.finishReasons(), stopType)
	}
	assert.Equal(t, []string{"length"}, decode(`{"content":"x","stop":true,"stopped_limit":true}`).finishReasons(), "older builds")
	assert.Nil(t, decode(`{"content":"x","stop":false,"stop_type":"limit"}`).finishReasons())
	assert.Equal(t, []string{"stop", "length"},
		decode(`{"choices":[{"index":1,"finish_reason":"length"},{"index":0,"finish_reason":"stop"}]}`).finishReasons())
	assert.Equal(t, "500", decode(`{"error":{"code":500,"message":"Failed to parse input","type":"server_error"}}`).errType)
	assert.Equal(t, "server_error", decode(`{"error":{"message":"x","type":"server_error"}}`).errType)
	assert.Empty(t, decode(`{"choices":[{"index":100000000,"finish_reason":"stop"}]}`).finishReasons(), "absurd indexes ignored")
}

func TestDecodeResponseCut(t *testing.T) {
	full := fixture(t, "b11669/v1-embeddings.json")
	cut := full[:bytes.Index(full, []byte(`"data"`))+40]
	var doc responseDoc
	require.True(t, decodeResponse(cut, &doc))
	sum := &responseSummary{}
	sum.absorb(&doc)
	assert.Equal(t, "tiny-test", sum.model)
	assert.Equal(t, int64(12), sum.tokens().input)
}

func TestInputMessages(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"chat", `{"messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"http://x/i.png"}}]}]}`,
			`[{"role":"system","parts":[{"type":"text","content":"sys"}]},{"role":"user","parts":[{"type":"text","content":"look"},{"type":"uri","modality":"image","uri":"http://x/i.png"}]}]`},
		{"tools", `{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
			`[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":"{\"a\":1}"}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"42"}]}]`},
		{"prompt", `{"prompt":"abc"}`, `[{"role":"user","parts":[{"type":"text","content":"abc"}]}]`},
		{"prompt list", `{"prompt":["a",[1,2]]}`, `[{"role":"user","parts":[{"type":"text","content":"a"},{"type":"text","content":"[1,2]"}]}]`},
		{"embedding input", `{"input":"e"}`, `[{"role":"user","parts":[{"type":"text","content":"e"}]}]`},
		{"native embedding", `{"content":"n"}`, `[{"role":"user","parts":[{"type":"text","content":"n"}]}]`},
		{"none", `{"model":"m"}`, ``},
		{"not json", `xx`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := inputMessages([]byte(tc.body))
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.JSONEq(t, tc.want, got)
		})
	}
}

func TestOutputMessagesStreamDeltas(t *testing.T) {
	tap := newStreamTap(true, 0, 1<<20)
	tap.arrive(fixture(t, "upstream-2026-05/chat-completion-stream.sse"))
	tap.flushPending()
	var msgs []genaimsg.Message
	require.NoError(t, json.Unmarshal([]byte(outputMessages(&tap.summary)), &msgs))
	require.Len(t, msgs, 1)
	assert.Equal(t, "assistant", msgs[0].Role)
	assert.Equal(t, "length", msgs[0].FinishReason)
	assert.Equal(t, " w120967 w117961 w50643 w53724 w29465 w73475 w131311 w114281", msgs[0].Parts[0].Content)
	assert.True(t, tap.done)
	assert.Equal(t, int64(11), tap.chunks)
}

func TestStreamTapSkipsPlainChunks(t *testing.T) {
	tap := newStreamTap(false, 0, 1<<20)
	assert.True(t, tap.needsDecode([]byte(`{"choices":[{"finish_reason":null,"delta":{"content":"x"}}]}`)), "before the first token")
	tap.arrive(fixture(t, "b11669/chat-completion-stream.sse"))
	tap.flushPending()
	assert.False(t, tap.needsDecode([]byte(`{"choices":[{"finish_reason":null,"delta":{"content":"x"}}]}`)))
	assert.False(t, tap.needsDecode([]byte(`{"content":"x","stop":false}`)))
	assert.True(t, tap.needsDecode([]byte(`{"choices":[{"finish_reason": null}],"usage":{}}`)))
	assert.True(t, tap.needsDecode([]byte(`{"choices":[{"finish_reason":"stop"}]}`)))
	assert.True(t, tap.needsDecode([]byte(`{"error":{"code":500}}`)))
	tok := tap.summary.tokens()
	assert.Equal(t, int64(60), tok.input)
	assert.Equal(t, int64(6), tok.output)
}

func TestTruncateUTF8(t *testing.T) {
	s := "aé€😀"
	for max := 0; max <= len(s)+1; max++ {
		got := truncateUTF8(s, max)
		assert.True(t, utf8.ValidString(got), max)
		if max == 0 || max >= len(s) {
			assert.Equal(t, s, got)
		} else {
			assert.LessOrEqual(t, len(got), max)
			assert.Greater(t, len(got), max-4)
		}
	}
}

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream": true, "Text/Event-Stream; charset=utf-8": true, "text/event-stream;x=y": true,
		"text/event-streamx": false, "application/json": false, "": false,
	} {
		assert.Equal(t, want, isEventStream(ct), ct)
	}
}

func TestValidNumber(t *testing.T) {
	for _, n := range []string{"0", "-0", "7", "-12", "3.25", "1e9", "1E+9", "2.5e-3", "-0.0"} {
		assert.True(t, validNumber([]byte(n)), n)
	}
	for _, n := range []string{"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "--1", "1-", "1.2.3", "0x1"} {
		assert.False(t, validNumber([]byte(n)), n)
	}
	// A request with a malformed number is not well formed, as for encoding/json.
	assert.False(t, parseRequest([]byte(`{"content":-}`)).parsed)
}
