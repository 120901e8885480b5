// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestBodies(t *testing.T) {
	cfg := &config{maxTokens: 8, stream: true, model: "m", temperature: 0.5,
		banTokens: []tokenRange{{3, 5}}, bodyExtra: map[string]json.RawMessage{"top_k": json.RawMessage("1")}}
	bodies, err := requestBodies(cfg)
	require.NoError(t, err)
	require.Len(t, bodies, len(prompts))
	var m map[string]any
	require.NoError(t, json.Unmarshal(bodies[1], &m))
	assert.Equal(t, map[string]any{
		"messages":       []any{map[string]any{"role": "user", "content": prompts[1]}},
		"max_tokens":     8.0,
		"ignore_eos":     true,
		"temperature":    0.5,
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"model":          "m",
		"logit_bias":     []any{[]any{3.0, false}, []any{4.0, false}, []any{5.0, false}},
		"top_k":          1.0,
	}, m)

	bodies, err = requestBodies(&config{maxTokens: 128})
	require.NoError(t, err)
	m = nil
	require.NoError(t, json.Unmarshal(bodies[0], &m))
	assert.NotContains(t, m, "stream_options")
	assert.NotContains(t, m, "model")
	assert.NotContains(t, m, "logit_bias")
	assert.Equal(t, false, m["stream"])
}

func TestReadSSE(t *testing.T) {
	stream := "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n" +
		": a comment\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
		"data: not json\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"c\"}}]}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n" +
		"data: [DONE]\n\n"
	var times []time.Time
	res, err := readSSE(strings.NewReader(stream), func(now time.Time) { times = append(times, now) })
	require.NoError(t, err)
	assert.True(t, res.done)
	assert.Equal(t, 5, res.chunks)
	assert.Len(t, times, 3, "one call per chunk with text")
	assert.Equal(t, &usage{PromptTokens: 5, CompletionTokens: 3}, res.usage)
	assert.Empty(t, res.errMsg)

	res, err = readSSE(strings.NewReader("error: {\"message\":\"boom\"}\n\ndata: [DONE]\n\n"), func(time.Time) {})
	require.NoError(t, err)
	assert.Equal(t, `{"message":"boom"}`, res.errMsg)

	res, err = readSSE(strings.NewReader("event: error\ndata: x\n\n"), func(time.Time) {})
	require.NoError(t, err)
	assert.Equal(t, "x", res.errMsg)
	assert.False(t, res.done)

	_, err = readSSE(strings.NewReader("data: "+strings.Repeat("x", maxSSELine+1)+"\n\n"), func(time.Time) {})
	assert.ErrorContains(t, err, "longer than 1 MiB")
}

func TestReadStreamTimings(t *testing.T) {
	var res reqResult
	res.start = time.Now()
	readStream(t.Context(), strings.NewReader("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"+
		"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"+
		"data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n"+
		"data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]\n\n"), &res)
	assert.True(t, res.ok(), res.errDetail)
	assert.Equal(t, int64(3), res.tokens)
	assert.Positive(t, res.ttft)
	assert.Len(t, res.gaps, 2)

	res = reqResult{}
	readStream(t.Context(), strings.NewReader("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"), &res)
	assert.Equal(t, "truncated stream", res.errKind)
	res = reqResult{}
	readStream(t.Context(), strings.NewReader("data: [DONE]\n\n"), &res)
	assert.Equal(t, "bad response", res.errKind, "no usage chunk")
}
