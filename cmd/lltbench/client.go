// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"time"

	"github.com/llamatelemetry/otelcol-llt/pkg/llamaclient"
	"github.com/llamatelemetry/otelcol-llt/pkg/sse"
)

// maxBody bounds a non-streamed response body.
const maxBody = 16 << 20

// maxSSELine bounds one line of an event stream, and one event's data.
const maxSSELine = 1 << 20

// prompts are the user messages sent, request k of a round getting prompts[k%len]: the same
// sequence in every round, direct or through the gateway.
var prompts = []string{
	"Explain what a hash map is in two sentences.",
	"func add(a, b int) int { return a + b } // explain",
	"Write a short poem about the sea at night.",
	"SELECT name, COUNT(*) FROM users GROUP BY name; -- what does this return?",
	"What is the difference between a process and a thread?",
	"Summarize the plot of a detective story in one paragraph.",
	"def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)  # is this fast?",
	"Give three tips for writing clear error messages.",
	"Why is the sky blue?",
	"for (int i = 0; i < n; i++) sum += a[i]; // rewrite with a pointer",
	"Describe a sunny morning in a small town.",
	"What does git rebase -i HEAD~3 do?",
	"List the planets of the solar system in order.",
	"x = [i * i for i in range(10) if i % 2 == 0]  # explain",
	"How do vaccines train the immune system?",
	"Translate 'good morning, how are you?' into French and Spanish.",
}

// usage is the OpenAI "usage" object.
type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// reqResult is the outcome of one request.
type reqResult struct {
	start, end time.Time
	status     int    // HTTP status, 0 when none came
	errKind    string // "" for a success
	errDetail  string
	tokens     int64         // completion tokens from usage; 0 when none
	ttft       time.Duration // streams: to the first chunk with text; 0 when none came
	gaps       []time.Duration
	newConns   int // connections dialled for it (0: a kept-alive one was reused)
}

func (r *reqResult) ok() bool { return r.errKind == "" }

func (r *reqResult) fail(kind, detail string) {
	if len(detail) > 300 {
		detail = detail[:300] + "..."
	}
	r.errKind, r.errDetail = kind, detail
}

// client sends the benchmark's requests to one endpoint.
type client struct {
	http     *http.Client
	endpoint string
	apiKey   string
	stream   bool
	timeout  time.Duration
	bodies   [][]byte // one per prompt
}

// newClient makes a client for endpoint with its own connection pool of maxConns.
func newClient(cfg *config, endpoint string, maxConns int, bodies [][]byte) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = maxConns
	tr.MaxIdleConnsPerHost = maxConns
	tr.DisableCompression = true
	return &client{http: &http.Client{Transport: tr}, endpoint: endpoint, apiKey: cfg.apiKey,
		stream: cfg.stream, timeout: cfg.timeout, bodies: bodies}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// requestBodies returns the body of each prompt: messages, max_tokens, "ignore_eos": true,
// temperature, stream (with stream_options.include_usage), model, logit_bias from --ban-tokens,
// and --body-extra's fields, which win.
func requestBodies(cfg *config) ([][]byte, error) {
	out := make([][]byte, len(prompts))
	for i, p := range prompts {
		m := map[string]any{
			"messages":    []map[string]string{{"role": "user", "content": p}},
			"max_tokens":  cfg.maxTokens,
			"ignore_eos":  true,
			"temperature": cfg.temperature,
			"stream":      cfg.stream,
		}
		if cfg.stream {
			m["stream_options"] = map[string]bool{"include_usage": true}
		}
		if cfg.model != "" {
			m["model"] = cfg.model
		}
		if len(cfg.banTokens) > 0 {
			var lb [][2]any
			for _, r := range cfg.banTokens {
				for t := r.lo; t <= r.hi; t++ {
					lb = append(lb, [2]any{t, false})
				}
			}
			m["logit_bias"] = lb
		}
		for _, k := range sortedKeys(cfg.bodyExtra) {
			m[k] = cfg.bodyExtra[k]
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// do sends request k (its prompt is k modulo the prompts) and reads the whole answer.
func (c *client) do(ctx context.Context, k int) (res reqResult) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint,
		bytes.NewReader(c.bodies[k%len(c.bodies)]))
	if err != nil {
		res.fail("transport", err.Error())
		return res
	}
	// llama-server may close a kept-alive connection after a streamed answer; with this (empty,
	// never sent) header the transport sends the POST again on a new connection when a reused one
	// turns out closed before any answer, instead of failing it.
	req.Header["X-Idempotency-Key"] = nil
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lltbench")
	if c.stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	llamaclient.SetAPIKey(req.Header, c.apiKey)
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				res.newConns++
			}
		},
	}))
	res.start = time.Now()
	defer func() { res.end = time.Now() }()
	resp, err := c.http.Do(req)
	if err != nil {
		res.fail(classify(ctx, "transport"), err.Error())
		return res
	}
	defer func() { _ = resp.Body.Close() }()
	res.status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := llamaclient.ReadBody(resp.Body, 512) // the start of the body is enough
		res.fail("http "+strconv.Itoa(resp.StatusCode), string(bytes.TrimSpace(msg)))
		return res
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if c.stream && mt != "application/json" {
		readStream(ctx, resp.Body, &res)
	} else {
		readJSON(ctx, resp.Body, &res)
	}
	return res
}

func readJSON(ctx context.Context, body io.Reader, res *reqResult) {
	b, err := llamaclient.ReadBody(body, maxBody)
	switch {
	case errors.Is(err, llamaclient.ErrTooLarge):
		res.fail("bad response", fmt.Sprintf("response body over %d bytes", maxBody))
		return
	case err != nil:
		res.fail(classify(ctx, "transport"), "reading the response: "+err.Error())
		return
	}
	var cr struct {
		Choices []json.RawMessage `json:"choices"`
		Usage   *usage            `json:"usage"`
		Error   json.RawMessage   `json:"error"`
	}
	if err := json.Unmarshal(b, &cr); err != nil {
		res.fail("bad response", "not a chat completion: "+err.Error())
		return
	}
	if len(cr.Error) > 0 && string(cr.Error) != "null" {
		res.fail("bad response", "error in response: "+string(cr.Error))
		return
	}
	if cr.Usage == nil {
		res.fail("bad response", "no usage in the response")
		return
	}
	res.tokens = cr.Usage.CompletionTokens
}

func readStream(ctx context.Context, body io.Reader, res *reqResult) {
	var last time.Time
	sr, err := readSSE(body, func(now time.Time) {
		if last.IsZero() {
			res.ttft = now.Sub(res.start)
		} else {
			res.gaps = append(res.gaps, now.Sub(last))
		}
		last = now
	})
	if sr.usage != nil {
		res.tokens = sr.usage.CompletionTokens
	}
	switch {
	case err != nil:
		res.fail(classify(ctx, "truncated stream"), err.Error())
	case sr.errMsg != "":
		res.fail("stream error", sr.errMsg)
	case !sr.done:
		res.fail("truncated stream", fmt.Sprintf("stream ended without [DONE] after %d chunks", sr.chunks))
	case sr.usage == nil:
		res.fail("bad response", "no usage chunk in the stream")
	}
}

// classify names the failure of a request whose context is ctx.
func classify(ctx context.Context, kind string) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	}
	return kind
}

// sseResult is what an event stream said.
type sseResult struct {
	done   bool
	chunks int
	usage  *usage
	errMsg string
}

// errLineTooLong ends the reading of a stream with a line, or an event's data, over maxSSELine.
var errLineTooLong = errors.New("an event stream line is longer than 1 MiB")

// readSSE reads an event stream of chat completion chunks to its end, calling onContent with
// the time each chunk whose delta carries text was parsed. Odd input is skipped, never a panic.
// The stream is split into events by pkg/sse; an event that the stream ends before its closing
// blank line is taken too.
func readSSE(r io.Reader, onContent func(time.Time)) (sseResult, error) {
	var res sseResult
	setErr := func(msg string) {
		if res.errMsg == "" {
			if msg == "" {
				msg = "error event"
			}
			res.errMsg = msg
		}
	}
	tooLong := false
	p := sse.Parser{MaxLine: maxSSELine, OtherField: func(name, value []byte) {
		// llama-server reports a failure after the stream began as "error: {json}".
		if !tooLong && string(name) == "error" {
			setErr(string(value))
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
			setErr(string(data))
			return
		}
		if string(bytes.TrimSpace(data)) == "[DONE]" {
			res.done = true
			return
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage *usage          `json:"usage"`
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(data, &c) != nil {
			return
		}
		res.chunks++
		if len(c.Error) > 0 && string(c.Error) != "null" {
			setErr(string(c.Error))
		}
		if c.Usage != nil {
			res.usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" || ch.Delta.ReasoningContent != "" {
				onContent(time.Now())
				break
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

// waitHealthy polls GET url until it answers 200, ctx ends, or wait passes.
func waitHealthy(ctx context.Context, url string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %v: %s", url, wait, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
