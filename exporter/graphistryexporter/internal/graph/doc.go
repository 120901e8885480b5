// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package graph turns a batch of OpenTelemetry spans into a Graphistry graph:
// a node table (one row per span, plus a synthetic root per trace and a
// placeholder per linked span outside the batch) and an edge table
// (parent -> child and span -> linked span), both as Arrow records.
//
// Build makes the tables; Graph.EncodeIPC writes one as an Arrow IPC file
// (the upload body Graphistry takes); Graph.WriteFiles writes both as Arrow
// or Parquet files; Encodings gives the dataset's bindings and colour
// encodings. The rules that map spans to rows are on Build; the columns are
// NodeSchema and EdgeSchema.
package graph
