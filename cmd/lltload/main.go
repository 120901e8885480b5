// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Command lltload is a small load generator for llama.cpp's llama-server and the otelcol-llt
// gateway. It sends OpenAI-compatible chat completion requests at a target rate (open loop,
// Poisson or evenly spaced arrivals) with varied prompts, token limits, temperatures and
// streaming, gives each a W3C traceparent with a new trace id, and prints a summary: requests
// sent, succeeded, failed (by kind) and skipped, latency percentiles, tokens and achieved rate.
//
// Usage:
//
//	lltload [--url http://127.0.0.1:8081] [--qps 2] [--arrivals fixed|poisson]
//	        [--concurrency 8] [--duration 0] [--requests 0] [--max-tokens 8:32]
//	        [--temperature 0:1] [--stream-ratio 0.5] [--model NAME] [--seed 1]
//	        [--api-key-env LLAMA_API_KEY] [--traceparent=true] [--timeout 60s]
//	        [--log FILE] [-v] [--json]
//
// It stops after --duration, after --requests arrivals, or at SIGINT/SIGTERM; then it waits up
// to 10 s for the requests in flight (a second signal cancels them) and prints the summary.
// It exits with 0 normally, 1 when every request it sent failed, and 2 on a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := context.WithCancel(context.Background())
	abort := make(chan struct{})
	go func() {
		<-sigs
		stop() // first signal: stop sending, let the requests in flight finish
		<-sigs
		close(abort) // second signal: cancel them
	}()
	os.Exit(run(ctx, abort, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
