// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Command lltbench measures what the otelcol-llt gateway costs: it runs interleaved rounds of
// OpenAI chat completions against llama-server directly and through the gateway, at each of a list
// of concurrencies, with answers of a fixed length, and reports the gateway's output tokens/s
// relative to direct, an A/A control (direct against direct, from the same run) that gives the
// noise floor, the added latency (and, for streams, the added time to first token and gap
// between chunks), and, given the collector's PID, the collector's CPU time per request and its
// resident memory.
//
// Usage:
//
//	lltbench [--direct http://127.0.0.1:8080] [--gateway http://127.0.0.1:8081]
//	         [--concurrency 1,4,16] [--max-tokens 128] [--stream]
//	         [--round-duration 4s | --round-requests N] [--rounds 4] [--max-rounds 4]
//	         [--target-spread 0] [--budget 0] [--warmup 1] [--pause 500ms]
//	         [--collector-pid PID] [--json FILE] [--ban-tokens 0-258] [--body-extra JSON]
//
// The markdown report goes to stdout, one line per round to stderr. It exits with 0 normally,
// 1 when the run failed (no answer at all, a server that never became healthy), 2 on a usage
// error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
