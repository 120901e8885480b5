// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package gguf reads and writes GGUF files, the model format of llama.cpp
// and ggml.
//
// The format is specified at
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md. A file is a
// little-endian header (magic "GGUF", version, tensor count, metadata count),
// typed key/value metadata, tensor descriptions, and an aligned data
// section holding the tensor bytes.
//
// Versions 2 and 3 are supported; they share one layout. Version 1 (32-bit
// counts) and big-endian files are rejected with a [FormatError].
//
// The reader follows the shape of debug/elf: [Open] and [NewFile] parse the
// header, metadata and tensor descriptions eagerly and validate them, while
// tensor data is read lazily through [File.TensorData],
// [File.ReadTensor] and [File.DequantizeRow]. Parsing never panics and never
// allocates in proportion to a count or length that the file merely claims:
// every count is checked against the bytes left in the file (and against the
// 2^30 limit llama.cpp applies to strings and arrays) before anything is
// allocated. A damaged file yields a *[FormatError] naming the byte offset.
//
// [Dequantize] decodes tensor data to float32 and [Quantize] encodes it.
// [Builder] writes version 3 files, and the modelgen subpackage uses them to
// produce small random-weight models that llama.cpp loads.
package gguf // import "github.com/llamatelemetry/otelcol-llt/pkg/gguf"
