// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package llamacppreceiver provides the llamacpp receiver: typed metrics scraped from
// llama-server (/metrics, /slots, /health, /props, /v1/models), a traced OpenAI-compatible
// gateway in front of it (GenAI semantic-convention spans and latency histograms, no change to
// the application), and llama-server's log lines as OpenTelemetry logs.
//
//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
package llamacppreceiver // import "github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver"
