// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package sse splits a text/event-stream (Server-Sent Events) into events, as the WHATWG HTML
// standard, §9.2.6 "Interpreting an event stream", describes
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
//
// A [Parser] is fed the stream in byte slices split anywhere and calls a function for every
// event it completes. It copies only what it must keep across calls and keeps at most
// [Parser.MaxLine] bytes of one line or of one event's data. It is the one SSE parser of
// otelcol-llt: the llamacpp gateway's stream tap and lltload both read llama-server's streamed
// answers with it.
//
// The parser is fuzzed (FuzzSSE in fuzz_test.go); its seed corpus in testdata/fuzz/FuzzSSE is
// the llama-server streams of the gateway's fixtures, as captured and with CRLF line ends.
package sse // import "github.com/llamatelemetry/otelcol-llt/pkg/sse"
