// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSSE(t *testing.T) {
	const chunk = `{"choices":[{"index":0,"delta":{"content":"x"}}]}`
	for _, tc := range []struct {
		name, in  string
		want      sseResult
		content   bool // onContent was called
		wantError string
	}{
		{
			name: "llama-server with usage",
			in: "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n" +
				"data: {\"choices\":[{\"delta\":{\"content\":\"\"}}]}\n\n" +
				"data: " + chunk + "\n\n" +
				"data: {\"choices\":[],\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":58,\"total_tokens\":61}}\n\n" +
				"data: [DONE]\n\n",
			want:    sseResult{done: true, chunks: 4, usage: &usage{PromptTokens: 58, CompletionTokens: 3}},
			content: true,
		},
		{
			name: "CRLF, comments, no space after the colon, other fields",
			in:   ": ping\r\nid: 1\r\nretry: 10\r\nevent: message\r\ndata:" + chunk + "\r\n\r\ndata:[DONE]\r\n\r\n",
			want: sseResult{done: true, chunks: 1}, content: true,
		},
		{
			name: "reasoning content counts as text",
			in:   "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\ndata: [DONE]\n\n",
			want: sseResult{done: true, chunks: 1}, content: true,
		},
		{
			name: "the last usage wins",
			in: "data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n" +
				"data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\ndata: [DONE]\n\n",
			want: sseResult{done: true, chunks: 2, usage: &usage{PromptTokens: 5, CompletionTokens: 7}},
		},
		{
			name: "data split over lines",
			in:   "data: {\"usage\":\ndata: {\"prompt_tokens\":2,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n",
			want: sseResult{done: true, chunks: 1, usage: &usage{PromptTokens: 2, CompletionTokens: 4}},
		},
		{
			name: "truncated in the middle of a chunk",
			in:   "data: " + chunk + "\n\ndata: {\"choices\":[{\"delta\":{\"cont",
			want: sseResult{chunks: 1, badChunks: 1}, content: true,
		},
		{
			name: "no [DONE]",
			in:   "data: " + chunk + "\n\n",
			want: sseResult{chunks: 1}, content: true,
		},
		{
			name: "[DONE] without the closing blank line",
			in:   "data: " + chunk + "\n\ndata: [DONE]",
			want: sseResult{done: true, chunks: 1}, content: true,
		},
		{
			name: "garbage",
			in:   "<html>oops</html>\n\n\x00\xff\n\ndata: not json\n\ndata: [1,2]\n\ndata: \"s\"\n\ndata: null\n\n",
			want: sseResult{chunks: 1, badChunks: 3},
		},
		{
			name: "wrong types",
			in:   "data: {\"usage\":{\"prompt_tokens\":\"many\"}}\n\ndata: {\"choices\":7}\n\n",
			want: sseResult{badChunks: 2},
		},
		{
			name: "llama-server error line",
			in:   "data: " + chunk + "\n\nerror: {\"code\":500,\"message\":\"boom\"}\n\n",
			want: sseResult{chunks: 1, errMsg: `{"code":500,"message":"boom"}`}, content: true,
		},
		{
			name: "error event",
			in:   "event: error\ndata: {\"message\":\"bad\"}\n\ndata: [DONE]\n\n",
			want: sseResult{done: true, errMsg: `{"message":"bad"}`},
		},
		{
			name: "error object in a chunk",
			in:   "data: {\"error\":{\"message\":\"context full\"}}\n\ndata: {\"error\":null}\n\ndata: [DONE]\n\n",
			want: sseResult{done: true, chunks: 2, errMsg: `{"message":"context full"}`},
		},
		{
			name: "empty",
			in:   "",
			want: sseResult{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := 0
			got, err := readSSE(strings.NewReader(tc.in), func() { called++ })
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			if tc.content {
				assert.Equal(t, 1, called, "onContent calls")
			} else {
				assert.Zero(t, called, "onContent calls")
			}
		})
	}
}

func TestReadSSEErrors(t *testing.T) {
	// A read error after some events: they are kept, the error is returned.
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n"),
		iotest.ErrReader(boom))
	got, err := readSSE(r, nil)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, &usage{PromptTokens: 1, CompletionTokens: 2}, got.usage)

	// A line over the limit.
	_, err = readSSE(strings.NewReader("data: "+strings.Repeat("x", maxSSELine+10)+"\n\n"), nil)
	assert.ErrorContains(t, err, "longer than 1 MiB")

	// One byte at a time.
	got, err = readSSE(iotest.OneByteReader(strings.NewReader("data: {\"choices\":[]}\n\ndata: [DONE]\n\n")), nil)
	require.NoError(t, err)
	assert.Equal(t, sseResult{done: true, chunks: 1}, got)
}

// FuzzReadSSE checks that no input makes readSSE panic.
func FuzzReadSSE(f *testing.F) {
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n")
	f.Add("event: error\ndata: x\n\nerror: y\n:c\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = readSSE(strings.NewReader(in), func() {})
	})
}
