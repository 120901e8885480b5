// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package normalize rewrites the attributes of LLM spans written by other instrumentations
// (OpenLLMetry, OpenInference, OpenLIT, vLLM's request spans, the agent frameworks of contrib's
// genainormalizer, GenAI semantic conventions older than v1.37) to the OpenTelemetry GenAI
// semantic conventions v1.41, so that spans from any source can be compared.
//
// The mapping is a fixed table ([Table]); README.md in this directory renders it with the
// source of every row. The rules:
//
//   - A v1.41 attribute already on the span is never overwritten. When a source attribute maps
//     to a target that exists with a different value, the source stays and the case is counted
//     in [Result.Conflicts]; when the values are equal the source is treated as mapped.
//   - Bad input is left alone: a value of the wrong type (a token count sent as the string
//     "12", a negative count, a double that is not an integer, NaN or Inf), invalid JSON in
//     llm.invocation_parameters, an unknown enum value. The source attribute stays, nothing is
//     written for it, and it is counted in [Result.Skipped].
//   - With [Options.KeepOriginal] false (the default) a source attribute that was mapped is
//     removed; with true it stays beside the new attribute.
//   - With [Options.Latest] the attributes renamed in the semantic-conventions-genai repository
//     after v1.41 are written under their new names (and v1.41 names on the span are renamed);
//     without it, new names found on a span are renamed back to v1.41.
//   - When two source attributes map to the same target, the row that comes first in [Table]
//     wins and the later one counts as a conflict.
//   - Generic, unprefixed names (session.id, tool.name, agent_role, ...) are mapped only on
//     spans that carry their framework's marker attribute.
//
// A span that carries only v1.41 attributes costs one pass over its attributes with one map
// lookup per key and no allocation.
//
// The Normalizer never panics on its input, but it mutates the attribute maps it is given:
// the caller must own them (a read-only pdata payload makes pdata itself panic).
package normalize // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/normalize"
