// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package genaienrichprocessor provides the genaienrich processor: it rewrites LLM span attributes
// from other instrumentations (OpenLLMetry, OpenInference, OpenLIT, older GenAI semantic
// conventions) to the GenAI semantic conventions v1.41, adds facts about the served model read
// from its GGUF file, derives output tokens per second, time to first token and a cost estimate,
// and, when enabled, gives each span with captured input a privacy-preserving 3D point projected
// from the model's own token embeddings.
//
// Enrichment never drops or holds back data: a span whose enrichment fails passes on unchanged.
//
//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
package genaienrichprocessor // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor"
