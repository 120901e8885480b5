// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/llamatelemetry/otelcol-llt/cmd/lltload/internal/prompts"
	"github.com/llamatelemetry/otelcol-llt/pkg/llamaclient"
)

// maxBody bounds a non-streamed response body that lltload reads.
const maxBody = 16 << 20

// Kinds of failed requests, the keys of errors_by_kind (besides "http NNN").
const (
	errTransport   = "transport"        // no response: connection refused, reset, ...
	errTimeout     = "timeout"          // --timeout passed
	errCanceled    = "canceled"         // stopped by a signal before it finished
	errBadResponse = "bad response"     // a 2xx answer that is not a chat completion
	errTruncated   = "truncated stream" // an event stream that ended without [DONE]
	errStream      = "stream error"     // an error event in the stream
)

// requestSpec is what one request asks for.
type requestSpec struct {
	category    prompts.Category
	prompt      string
	maxTokens   int
	temperature float64
	stream      bool
}

// specGen draws request specs. It is used from the scheduler's goroutine only.
type specGen struct {
	rng         *mrand.Rand
	maxTokens   intRange
	temperature floatRange
	streamRatio float64
}

func newSpecGen(cfg *config, rng *mrand.Rand) *specGen {
	return &specGen{rng: rng, maxTokens: cfg.maxTokens, temperature: cfg.temperature, streamRatio: cfg.streamRatio}
}

// next draws a category (each equally likely), a prompt of it, max_tokens, a temperature
// (rounded to two decimals) and whether to stream.
func (g *specGen) next() requestSpec {
	cat := prompts.Categories[g.rng.IntN(len(prompts.Categories))]
	list := prompts.List(cat)
	s := requestSpec{
		category:  cat,
		prompt:    list[g.rng.IntN(len(list))],
		maxTokens: g.maxTokens.min + g.rng.IntN(g.maxTokens.max-g.maxTokens.min+1),
	}
	t := g.temperature.min + g.rng.Float64()*(g.temperature.max-g.temperature.min)
	s.temperature = math.Min(g.temperature.max, math.Max(g.temperature.min, math.Round(t*100)/100))
	s.stream = g.rng.Float64() < g.streamRatio
	return s
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model         string         `json:"model,omitempty"`
	Messages      []chatMessage  `json:"messages"`
	MaxTokens     int            `json:"max_tokens"`
	Temperature   float64        `json:"temperature"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatResponse is the part of a chat.completion that lltload reads.
type chatResponse struct {
	Choices []json.RawMessage `json:"choices"`
	Usage   *usage            `json:"usage"`
	Error   json.RawMessage   `json:"error"`
}

// result is the outcome of one request.
type result struct {
	spec      requestSpec
	traceID   string    // "" when --traceparent=false
	start     time.Time // when the request was sent
	status    int       // HTTP status, 0 when no response came
	errKind   string    // "" for a success
	errDetail string
	latency   time.Duration // to the end of the response body
	ttft      time.Duration // streams: to the first chunk with text; 0 when none came
	usage     *usage        // nil when the response had none
}

// ok reports whether the request succeeded.
func (r *result) ok() bool { return r.errKind == "" }

// client sends chat completion requests.
type client struct {
	http        *http.Client
	endpoint    string
	model       string
	apiKey      string
	traceparent bool
	timeout     time.Duration
}

func newClient(cfg *config) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.concurrency
	tr.MaxIdleConns = cfg.concurrency
	return &client{
		http: &http.Client{Transport: tr}, endpoint: cfg.endpoint, model: cfg.model,
		apiKey: cfg.apiKey, traceparent: cfg.traceparent, timeout: cfg.timeout,
	}
}

// close drops the client's idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }

// do sends one request, reads its whole answer, and classifies the outcome. It does not panic on
// any answer.
func (c *client) do(ctx context.Context, spec requestSpec) (res result) {
	res.spec = spec
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body := chatRequest{
		Model:       c.model,
		Messages:    []chatMessage{{Role: "user", Content: spec.prompt}},
		MaxTokens:   spec.maxTokens,
		Temperature: spec.temperature,
		Stream:      spec.stream,
	}
	if spec.stream {
		body.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen: the body is plain data
		res.fail(errTransport, err.Error())
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(b))
	if err != nil {
		res.fail(errTransport, err.Error())
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lltload")
	if spec.stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	llamaclient.SetAPIKey(req.Header, c.apiKey)
	if c.traceparent {
		var tp string
		res.traceID, tp = newTraceparent()
		req.Header.Set("Traceparent", tp)
	}
	res.start = time.Now()
	defer func() { res.latency = time.Since(res.start) }()
	resp, err := c.http.Do(req)
	if err != nil {
		res.fail(classify(ctx, errTransport), err.Error())
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
	if spec.stream && mt != "application/json" {
		c.readStream(ctx, resp.Body, &res)
	} else {
		c.readJSON(ctx, resp.Body, &res)
	}
	return res
}

// readJSON reads a chat.completion body.
func (c *client) readJSON(ctx context.Context, body io.Reader, res *result) {
	b, err := llamaclient.ReadBody(body, maxBody)
	switch {
	case errors.Is(err, llamaclient.ErrTooLarge):
		res.fail(errBadResponse, fmt.Sprintf("response body over %d bytes", maxBody))
		return
	case err != nil:
		res.fail(classify(ctx, errTransport), "reading the response: "+err.Error())
		return
	}
	var cr chatResponse
	if err := json.Unmarshal(b, &cr); err != nil {
		res.fail(errBadResponse, "response is not a chat completion: "+err.Error())
		return
	}
	if len(cr.Error) > 0 && string(cr.Error) != "null" {
		res.fail(errBadResponse, "error in response: "+string(cr.Error))
		return
	}
	if cr.Choices == nil && cr.Usage == nil {
		res.fail(errBadResponse, "response has neither choices nor usage")
		return
	}
	res.usage = cr.Usage
}

// readStream reads an event stream to its end.
func (c *client) readStream(ctx context.Context, body io.Reader, res *result) {
	sr, err := readSSE(body, func() { res.ttft = time.Since(res.start) })
	res.usage = sr.usage
	switch {
	case err != nil && ctx.Err() != nil:
		res.fail(classify(ctx, errTruncated), err.Error())
	case sr.errMsg != "":
		res.fail(errStream, sr.errMsg)
	case err != nil:
		res.fail(errTruncated, err.Error())
	case !sr.done:
		res.fail(errTruncated, fmt.Sprintf("stream ended without [DONE] after %d chunks", sr.chunks))
	}
}

func (r *result) fail(kind, detail string) {
	r.errKind, r.errDetail = kind, detail
}

// classify names the failure of a request whose context is ctx: a timeout, a cancellation, or
// otherwise kind.
func classify(ctx context.Context, kind string) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		return errCanceled
	}
	return kind
}

// newTraceparent returns a new random trace id and the W3C traceparent header that carries it
// (version 00, a new random parent span id, sampled).
func newTraceparent() (traceID, header string) {
	var b [24]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		if !allZero(b[:16]) && !allZero(b[16:]) {
			break
		}
	}
	traceID = hex.EncodeToString(b[:16])
	return traceID, "00-" + traceID + "-" + hex.EncodeToString(b[16:]) + "-01"
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
