// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package plotlyhtmlexporter provides the plotlyhtml exporter: dashboards of llama.cpp inference
// (request latency and tokens, llama-server slots and throughput, GPU load, a trace graph, 3D
// embedding projections and a bottleneck verdict) as self-contained offline HTML pages built on
// plotly.js, rewritten every interval, and optionally as a live page served over HTTP.
//
// One instance is shared by the metrics, traces and logs pipelines that name it, so one page
// correlates the three signals.
//
//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
package plotlyhtmlexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter"
