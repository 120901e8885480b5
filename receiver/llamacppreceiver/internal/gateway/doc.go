// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package gateway is the llamacpp receiver's traced reverse proxy: an OpenAI-compatible endpoint
// that applications call instead of llama-server, and that turns every inference request into
// an OpenTelemetry span and a handful of latency and token histograms, with no change to the
// application.
//
// # How a request flows
//
// The gateway is an [net/http/httputil.ReverseProxy] whose behaviour is set through its hooks:
// Rewrite points the outbound request at the upstream llama-server (read afresh per request, so
// the gateway follows a server that moves across restarts), ModifyResponse puts a tap on the
// response body, and ErrorHandler answers 502 with an OpenAI-style JSON error when the server
// cannot be reached. Client headers, Authorization and traceparent included, are forwarded as
// they are.
//
// Only inference routes are traced: POST /v1/chat/completions, /chat/completions,
// /v1/completions, /completions, /completion, /v1/embeddings, /embeddings and /embedding.
// Their request body is read up to Config.MaxRequestBody (413 above it) and forwarded as the
// same bytes. Every other request passes through untouched: no span, body not read.
//
// The response is copied to the client as it arrives. Streamed answers (text/event-stream) are
// flushed after every write; a side tap splits the stream into events (pkg/sse's parser, which
// accepts any split of the bytes, CRLF, comments and multi-line data) to time the first token,
// count chunks and pick up the final chunk's usage and timings, for both the OpenAI routes (which
// end with `data: [DONE]`) and /completion (whose last chunk has `stop: true`). A copy error
// part-way through aborts the client connection ([net/http.ErrAbortHandler]) instead of
// pretending the answer was complete, and the span records why (`client_disconnected`,
// `upstream_disconnected`, `timeout`).
//
// # What the handler does not do
//
// The handler never builds spans or parses responses on the client's time. When a response is
// complete it hands a small record to one background goroutine, which parses the request and
// response JSON, builds the spans, updates the metrics and passes batches of spans to
// Settings.Traces through a second goroutine, so a slow trace pipeline never delays a client.
// Both queues are bounded; spans that do not fit are dropped and counted in a rate-limited log
// line.
//
// # Spans
//
// One SERVER span per inference request follows the GenAI semantic conventions v1.41 (name
// `{gen_ai.operation.name} {gen_ai.request.model}`, request parameters, response id, model and
// finish reasons, token usage, server.address/port) plus llama.cpp's `timings` as
// `llamacpp.timings.*`. Three INTERNAL children (`queue`, `prompt`, `generation`) are laid out
// back to back from those timings, ending when the response (or the last streamed chunk) did, so
// a waterfall shows where the time went. A W3C traceparent from the client makes the span a
// child of the caller's span.
//
// Prompts and completions are recorded only when Config.CaptureContent is set, as
// gen_ai.input.messages and gen_ai.output.messages JSON strings cut to Config.MaxContentLength
// bytes. Otherwise no request or response text is kept anywhere, error messages included.
//
// # Metrics
//
// AppendMetrics appends cumulative histograms (gen_ai.server.request.duration,
// gen_ai.server.time_to_first_token, gen_ai.server.time_per_output_token,
// gen_ai.client.token.usage, and llamacpp.gateway.request.duration with buckets from 0.5 ms for
// fast GPUs) and the llamacpp.gateway.requests counter, aggregated since Start. A metric named
// in Config.DisabledMetrics is not aggregated at all.
//
// # Load limits
//
// Config.MaxConcurrentRequests bounds the inference requests in flight (a buffered channel of
// tokens, taken without waiting): one more is answered 429 with Retry-After and an OpenAI-style
// error at once, before its body is read, and gets a span with error.type concurrency_limit; it
// is counted in otelcol_llamacpp_gateway_requests_rejected. Pass-through requests are not
// limited. Config.WriteStallTimeout puts a deadline on each write of an answer (set before it,
// cleared after, so the time between writes is free): a client that takes no byte for that long
// is disconnected, and the span says client_timeout.
//
// # The listener
//
// Start serves the handler through confighttp.ServerConfig (Config.Server): TLS, an
// authenticator extension (a refused request is answered 401 in the OpenAI error shape and
// never reaches the handler: no span), CORS, decompression of request bodies and the server's
// own body limit come from there. NewDefaultConfig keeps confighttp's defaults except its write
// timeout, which would cut long streamed answers.
package gateway // import "github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/gateway"
