// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/llamatelemetry/otelcol-llt/pkg/sse"
)

// maxSSELine bounds one line of an event stream, and one event's data; a longer one ends the
// stream with an error.
const maxSSELine = 1 << 20

// usage is the OpenAI "usage" object of a response or of a stream's last chunk.
type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// streamChunk is the part of a chat.completion.chunk that lltload reads.
type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// sseResult is what an event stream said.
type sseResult struct {
	done      bool   // the stream ended with "data: [DONE]"
	chunks    int    // data events that parsed as JSON chunks
	badChunks int    // data events that did not
	usage     *usage // the last usage seen, nil when none
	errMsg    string // the first error event, "" when none
}

// errLineTooLong ends the reading of a stream with a line, or an event's data, over maxSSELine.
var errLineTooLong = errors.New("an event stream line is longer than 1 MiB")

// readSSE reads a Server-Sent Events stream of chat completion chunks to its end (EOF, not
// [DONE], so that the connection can be reused). onContent is called once, at the first chunk
// whose delta has text. It returns the error that ended the reading, nil at a clean EOF; what
// was read before is in the result either way. It never panics on odd input: lines that are
// not fields, events that are not JSON, and an event cut off by EOF are counted or ignored.
// The stream is split into events by pkg/sse; unlike a browser, readSSE takes an event that the
// stream ends before its closing blank line.
func readSSE(r io.Reader, onContent func()) (sseResult, error) {
	var res sseResult
	tooLong := false
	p := sse.Parser{MaxLine: maxSSELine, OtherField: func(name, value []byte) {
		// llama-server reports a failure after the stream began as "error: {json}".
		if !tooLong && string(name) == "error" {
			res.setErr(string(value))
		}
	}}
	dispatch := func(ev *sse.Event) {
		if tooLong {
			return
		}
		if ev.Truncated {
			tooLong = true
			return
		}
		data := ev.Data
		if string(ev.Type) == "error" {
			res.setErr(string(data))
			return
		}
		if string(bytes.TrimSpace(data)) == "[DONE]" {
			res.done = true
			return
		}
		var c streamChunk
		if err := json.Unmarshal(data, &c); err != nil {
			res.badChunks++
			return
		}
		res.chunks++
		if len(c.Error) > 0 && string(c.Error) != "null" {
			res.setErr(string(c.Error))
		}
		if c.Usage != nil {
			res.usage = c.Usage
		}
		if onContent != nil {
			for _, ch := range c.Choices {
				if ch.Delta.Content != "" || ch.Delta.ReasoningContent != "" {
					onContent()
					onContent = nil
					break
				}
			}
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		p.Feed(buf[:n], dispatch)
		if tooLong {
			return res, errLineTooLong
		}
		if err != nil {
			// An event without its closing blank line: take it, but a cut-off chunk will not parse.
			p.End(dispatch)
			if tooLong {
				return res, errLineTooLong
			}
			if errors.Is(err, io.EOF) {
				return res, nil
			}
			return res, err
		}
	}
}

func (r *sseResult) setErr(msg string) {
	if r.errMsg == "" {
		if msg == "" {
			msg = "error event"
		}
		r.errMsg = msg
	}
}
