// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package graphistryexporter provides the graphistry exporter: it turns windows of spans into
// trace graphs (a node per span, parent->child and span-link edges, a synthetic root per trace)
// and uploads them to a Graphistry server over its REST API as Arrow tables, with the server's
// authentication, the exporter helper's queue (persistent with a storage extension), retries and
// timeout, and logs each dataset's viewer URL. It can also, or instead, write the node and edge
// tables as Arrow IPC or Parquet files.
//
//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
package graphistryexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"
