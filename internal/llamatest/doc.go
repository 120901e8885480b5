// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package llamatest starts a real llama-server for tests: it finds the binary, generates a tiny
// random-weight model with pkg/gguf/modelgen, starts the server on a free loopback port, waits
// for GET /health to answer 200, and stops it at the end of the test, checking through /proc
// that no process is left behind.
//
// The server is found through $LLAMA_SERVER, then `llama-server` on PATH, then the wrapper that
// scripts/provision-llama-server.sh writes into its cache folder. When none works, tests skip,
// except when LLT_E2E=1 (which `make test` sets): then a missing llama-server is a test failure.
package llamatest // import "github.com/llamatelemetry/otelcol-llt/internal/llamatest"
