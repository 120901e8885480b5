package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxSSELine bounds one line of an event stream; a longer line ends the stream with an error.
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

// readSSE reads a Server-Sent Events stream of chat completion chunks to its end (EOF, not
// [DONE], so that the connection can be reused). onContent is called once, at the first chunk
// whose delta has text. It returns the error that ended the reading, nil at a clean EOF; what
// was read before is in the result either way. It never panics on odd input: lines that are
// not fields, events that are not JSON, and an event cut off by EOF are counted or ignored.
func readSSE(r io.Reader, onContent func()) (sseResult, error) {
	var res sseResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxSSELine)
	var data []byte
	hasData := false
	event := ""
	dispatch := func() {
		defer func() { data, hasData, event = data[:0], false, "" }()
		if !hasData {
			return
		}
		if event == "error" {
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
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			dispatch()
			continue
		}
		if line[0] == ':' { // a comment
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			event = string(value)
		case "error":
			// llama-server reports a failure after the stream began as "error: {json}".
			res.setErr(string(value))
		}
	}
	// An event without its closing blank line: take it, but a cut-off chunk will not parse.
	dispatch()
	err := sc.Err()
	if errors.Is(err, bufio.ErrTooLong) {
		err = errors.New("an event stream line is longer than 1 MiB")
	}
	return res, err
}

func (r *sseResult) setErr(msg string) {
	if r.errMsg == "" {
		if msg == "" {
			msg = "error event"
		}
		r.errMsg = msg
	}
}
