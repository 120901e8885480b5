// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package launcher provides the llamalauncher extension, a collector extension that owns a llama-server process: it starts it
// from typed configuration (an argv list, never a shell), waits until GET /health answers 200,
// restarts it with exponential backoff when it crashes, stops it on shutdown, and exposes its
// URL, API key, PID, model facts and parsed log lines to other components through
// pkg/launcherapi.
//
//go:generate go tool -modfile=../tools/go.mod mdatagen metadata.yaml
package launcher // import "github.com/llamatelemetry/otelcol-llt/launcher"
