// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import "github.com/apache/arrow-go/v18/arrow"

// Node table columns.
const (
	ColID                = "id"
	ColSpanID            = "span_id"
	ColTraceID           = "trace_id"
	ColName              = "name"
	ColService           = "service"
	ColKind              = "kind"
	ColStatus            = "status"
	ColStatusMessage     = "status_message"
	ColStart             = "start"
	ColDurationMs        = "duration_ms"
	ColGenAIModel        = "gen_ai_model"
	ColInputTokens       = "input_tokens"
	ColOutputTokens      = "output_tokens"
	ColErrorType         = "error_type"
	ColSize              = "size"
	ColIsRootPlaceholder = "is_root_placeholder"
	ColIsExternal        = "is_external"
)

// Edge table columns (ColTraceID is shared with the node table).
const (
	ColSrc      = "src"
	ColDst      = "dst"
	ColEdgeType = "edge_type"
)

// Values of the edge_type column.
const (
	EdgeChild = "child" // parent -> child, or trace root -> top span
	EdgeLink  = "link"  // span -> span it links to
)

// Values of the status column. It is computed: a span with status ERROR or an error.type
// attribute is StatusError; a span with status OK is StatusOK; a span with status UNSET and no
// error.type is StatusOKUnset ("ok": it succeeded, instrumentations leave successful server spans
// UNSET as the OpenTelemetry specification asks). StatusUnset is left for the nodes that are not
// spans of the batch (trace roots and external spans), which have no outcome.
const (
	StatusOK      = "OK"
	StatusOKUnset = "ok"
	StatusError   = "ERROR"
	StatusUnset   = "UNSET"
)

// TimestampType is the type of the start column: nanoseconds since the Unix
// epoch, UTC.
var TimestampType = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}

// NodeSchema is the schema of Graph.Nodes (read-only). Strings are utf8,
// never null; start, duration_ms, input_tokens and output_tokens are null
// when unknown.
var NodeSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColID, Type: arrow.BinaryTypes.String},
	{Name: ColSpanID, Type: arrow.BinaryTypes.String},
	{Name: ColTraceID, Type: arrow.BinaryTypes.String},
	{Name: ColName, Type: arrow.BinaryTypes.String},
	{Name: ColService, Type: arrow.BinaryTypes.String},
	{Name: ColKind, Type: arrow.BinaryTypes.String},
	{Name: ColStatus, Type: arrow.BinaryTypes.String},
	{Name: ColStatusMessage, Type: arrow.BinaryTypes.String},
	{Name: ColStart, Type: TimestampType, Nullable: true},
	{Name: ColDurationMs, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: ColGenAIModel, Type: arrow.BinaryTypes.String},
	{Name: ColInputTokens, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: ColOutputTokens, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: ColErrorType, Type: arrow.BinaryTypes.String},
	{Name: ColSize, Type: arrow.PrimitiveTypes.Float64},
	{Name: ColIsRootPlaceholder, Type: arrow.FixedWidthTypes.Boolean},
	{Name: ColIsExternal, Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// EdgeSchema is the schema of Graph.Edges (read-only); nothing is null.
var EdgeSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColSrc, Type: arrow.BinaryTypes.String},
	{Name: ColDst, Type: arrow.BinaryTypes.String},
	{Name: ColEdgeType, Type: arrow.BinaryTypes.String},
	{Name: ColTraceID, Type: arrow.BinaryTypes.String},
}, nil)
