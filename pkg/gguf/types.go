// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"strconv"
	"strings"
)

// ValueType is the type of a metadata value as stored in a GGUF file.
type ValueType uint32

// Metadata value types, numbered as in the GGUF specification.
const (
	ValueTypeUint8   ValueType = 0  // unsigned 8-bit integer
	ValueTypeInt8    ValueType = 1  // signed 8-bit integer
	ValueTypeUint16  ValueType = 2  // unsigned 16-bit integer
	ValueTypeInt16   ValueType = 3  // signed 16-bit integer
	ValueTypeUint32  ValueType = 4  // unsigned 32-bit integer
	ValueTypeInt32   ValueType = 5  // signed 32-bit integer
	ValueTypeFloat32 ValueType = 6  // IEEE 754 binary32
	ValueTypeBool    ValueType = 7  // one byte, 0 or 1
	ValueTypeString  ValueType = 8  // uint64 length, then UTF-8 bytes
	ValueTypeArray   ValueType = 9  // uint32 element type, uint64 count, elements
	ValueTypeUint64  ValueType = 10 // unsigned 64-bit integer
	ValueTypeInt64   ValueType = 11 // signed 64-bit integer
	ValueTypeFloat64 ValueType = 12 // IEEE 754 binary64
)

var valueTypeNames = [...]string{
	ValueTypeUint8:   "uint8",
	ValueTypeInt8:    "int8",
	ValueTypeUint16:  "uint16",
	ValueTypeInt16:   "int16",
	ValueTypeUint32:  "uint32",
	ValueTypeInt32:   "int32",
	ValueTypeFloat32: "float32",
	ValueTypeBool:    "bool",
	ValueTypeString:  "string",
	ValueTypeArray:   "array",
	ValueTypeUint64:  "uint64",
	ValueTypeInt64:   "int64",
	ValueTypeFloat64: "float64",
}

// String returns the type's name, such as "uint32", or "ValueType(N)" for
// an unknown type.
func (t ValueType) String() string {
	if t.valid() {
		return valueTypeNames[t]
	}
	return "ValueType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

func (t ValueType) valid() bool { return t <= ValueTypeFloat64 }

// minSize is the fewest bytes an encoded value of type t can occupy.
func (t ValueType) minSize() int64 {
	switch t {
	case ValueTypeUint8, ValueTypeInt8, ValueTypeBool:
		return 1
	case ValueTypeUint16, ValueTypeInt16:
		return 2
	case ValueTypeUint32, ValueTypeInt32, ValueTypeFloat32:
		return 4
	case ValueTypeUint64, ValueTypeInt64, ValueTypeFloat64, ValueTypeString:
		return 8 // a string is at least its uint64 length
	case ValueTypeArray:
		return 12 // uint32 element type + uint64 count
	}
	return 1
}

// TensorType is a ggml tensor element type (enum ggml_type).
type TensorType uint32

// Tensor types, numbered as in ggml. Numbers 4, 5, 31-33 and 36-38 belonged
// to types that ggml has removed.
const (
	TensorTypeF32     TensorType = 0
	TensorTypeF16     TensorType = 1
	TensorTypeQ4_0    TensorType = 2
	TensorTypeQ4_1    TensorType = 3
	TensorTypeQ5_0    TensorType = 6
	TensorTypeQ5_1    TensorType = 7
	TensorTypeQ8_0    TensorType = 8
	TensorTypeQ8_1    TensorType = 9
	TensorTypeQ2_K    TensorType = 10
	TensorTypeQ3_K    TensorType = 11
	TensorTypeQ4_K    TensorType = 12
	TensorTypeQ5_K    TensorType = 13
	TensorTypeQ6_K    TensorType = 14
	TensorTypeQ8_K    TensorType = 15
	TensorTypeIQ2_XXS TensorType = 16
	TensorTypeIQ2_XS  TensorType = 17
	TensorTypeIQ3_XXS TensorType = 18
	TensorTypeIQ1_S   TensorType = 19
	TensorTypeIQ4_NL  TensorType = 20
	TensorTypeIQ3_S   TensorType = 21
	TensorTypeIQ2_S   TensorType = 22
	TensorTypeIQ4_XS  TensorType = 23
	TensorTypeI8      TensorType = 24
	TensorTypeI16     TensorType = 25
	TensorTypeI32     TensorType = 26
	TensorTypeI64     TensorType = 27
	TensorTypeF64     TensorType = 28
	TensorTypeIQ1_M   TensorType = 29
	TensorTypeBF16    TensorType = 30
	TensorTypeTQ1_0   TensorType = 34
	TensorTypeTQ2_0   TensorType = 35
	TensorTypeMXFP4   TensorType = 39
)

type tensorTypeInfo struct {
	name       string
	blockSize  int // values per block
	blockBytes int // bytes per block
}

// tensorTypes holds ggml's type_traits (ggml.c) for every type in use;
// block layouts are in ggml-common.h.
var tensorTypes = [...]tensorTypeInfo{
	TensorTypeF32:     {"F32", 1, 4},
	TensorTypeF16:     {"F16", 1, 2},
	TensorTypeQ4_0:    {"Q4_0", 32, 18},
	TensorTypeQ4_1:    {"Q4_1", 32, 20},
	TensorTypeQ5_0:    {"Q5_0", 32, 22},
	TensorTypeQ5_1:    {"Q5_1", 32, 24},
	TensorTypeQ8_0:    {"Q8_0", 32, 34},
	TensorTypeQ8_1:    {"Q8_1", 32, 36},
	TensorTypeQ2_K:    {"Q2_K", 256, 84},
	TensorTypeQ3_K:    {"Q3_K", 256, 110},
	TensorTypeQ4_K:    {"Q4_K", 256, 144},
	TensorTypeQ5_K:    {"Q5_K", 256, 176},
	TensorTypeQ6_K:    {"Q6_K", 256, 210},
	TensorTypeQ8_K:    {"Q8_K", 256, 292},
	TensorTypeIQ2_XXS: {"IQ2_XXS", 256, 66},
	TensorTypeIQ2_XS:  {"IQ2_XS", 256, 74},
	TensorTypeIQ3_XXS: {"IQ3_XXS", 256, 98},
	TensorTypeIQ1_S:   {"IQ1_S", 256, 50},
	TensorTypeIQ4_NL:  {"IQ4_NL", 32, 18},
	TensorTypeIQ3_S:   {"IQ3_S", 256, 110},
	TensorTypeIQ2_S:   {"IQ2_S", 256, 82},
	TensorTypeIQ4_XS:  {"IQ4_XS", 256, 136},
	TensorTypeI8:      {"I8", 1, 1},
	TensorTypeI16:     {"I16", 1, 2},
	TensorTypeI32:     {"I32", 1, 4},
	TensorTypeI64:     {"I64", 1, 8},
	TensorTypeF64:     {"F64", 1, 8},
	TensorTypeIQ1_M:   {"IQ1_M", 256, 56},
	TensorTypeBF16:    {"BF16", 1, 2},
	TensorTypeTQ1_0:   {"TQ1_0", 256, 54},
	TensorTypeTQ2_0:   {"TQ2_0", 256, 66},
	TensorTypeMXFP4:   {"MXFP4", 32, 17},
}

func (t TensorType) info() (tensorTypeInfo, bool) {
	if int(t) < len(tensorTypes) && tensorTypes[t].blockSize != 0 {
		return tensorTypes[t], true
	}
	return tensorTypeInfo{}, false
}

// String returns ggml's name for the type, such as "Q4_K", or
// "TensorType(N)" for an unknown or removed type.
func (t TensorType) String() string {
	if ti, ok := t.info(); ok {
		return ti.name
	}
	return "TensorType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Known reports whether t is a ggml type this package knows the block
// layout of. Files may hold tensors of unknown types; their sizes cannot be
// computed, so their data cannot be read.
func (t TensorType) Known() bool {
	_, ok := t.info()
	return ok
}

// BlockSize returns the number of values in one block of type t (1 for
// plain types such as F32, 32 for Q8_0, 256 for the K-quants), or 0 if t is
// unknown. A tensor's row length must be a multiple of it.
func (t TensorType) BlockSize() int {
	ti, _ := t.info()
	return ti.blockSize
}

// BlockBytes returns the encoded size in bytes of one block of type t, or 0
// if t is unknown.
func (t TensorType) BlockBytes() int {
	ti, _ := t.info()
	return ti.blockBytes
}

// FileType is the value of general.file_type: the predominant tensor type
// of a model (enum llama_ftype in llama.cpp).
type FileType uint32

// File types, numbered as in llama.cpp's llama_ftype. Numbers 4-6 and
// 33-35 belonged to types that llama.cpp has removed.
const (
	FileTypeAllF32         FileType = 0
	FileTypeMostlyF16      FileType = 1
	FileTypeMostlyQ4_0     FileType = 2
	FileTypeMostlyQ4_1     FileType = 3
	FileTypeMostlyQ8_0     FileType = 7
	FileTypeMostlyQ5_0     FileType = 8
	FileTypeMostlyQ5_1     FileType = 9
	FileTypeMostlyQ2_K     FileType = 10
	FileTypeMostlyQ3_K_S   FileType = 11
	FileTypeMostlyQ3_K_M   FileType = 12
	FileTypeMostlyQ3_K_L   FileType = 13
	FileTypeMostlyQ4_K_S   FileType = 14
	FileTypeMostlyQ4_K_M   FileType = 15
	FileTypeMostlyQ5_K_S   FileType = 16
	FileTypeMostlyQ5_K_M   FileType = 17
	FileTypeMostlyQ6_K     FileType = 18
	FileTypeMostlyIQ2_XXS  FileType = 19
	FileTypeMostlyIQ2_XS   FileType = 20
	FileTypeMostlyQ2_K_S   FileType = 21
	FileTypeMostlyIQ3_XS   FileType = 22
	FileTypeMostlyIQ3_XXS  FileType = 23
	FileTypeMostlyIQ1_S    FileType = 24
	FileTypeMostlyIQ4_NL   FileType = 25
	FileTypeMostlyIQ3_S    FileType = 26
	FileTypeMostlyIQ3_M    FileType = 27
	FileTypeMostlyIQ2_S    FileType = 28
	FileTypeMostlyIQ2_M    FileType = 29
	FileTypeMostlyIQ4_XS   FileType = 30
	FileTypeMostlyIQ1_M    FileType = 31
	FileTypeMostlyBF16     FileType = 32
	FileTypeMostlyTQ1_0    FileType = 36
	FileTypeMostlyTQ2_0    FileType = 37
	FileTypeMostlyMXFP4MoE FileType = 38
)

var fileTypeNames = map[FileType]string{
	FileTypeAllF32:         "ALL_F32",
	FileTypeMostlyF16:      "MOSTLY_F16",
	FileTypeMostlyQ4_0:     "MOSTLY_Q4_0",
	FileTypeMostlyQ4_1:     "MOSTLY_Q4_1",
	FileTypeMostlyQ8_0:     "MOSTLY_Q8_0",
	FileTypeMostlyQ5_0:     "MOSTLY_Q5_0",
	FileTypeMostlyQ5_1:     "MOSTLY_Q5_1",
	FileTypeMostlyQ2_K:     "MOSTLY_Q2_K",
	FileTypeMostlyQ3_K_S:   "MOSTLY_Q3_K_S",
	FileTypeMostlyQ3_K_M:   "MOSTLY_Q3_K_M",
	FileTypeMostlyQ3_K_L:   "MOSTLY_Q3_K_L",
	FileTypeMostlyQ4_K_S:   "MOSTLY_Q4_K_S",
	FileTypeMostlyQ4_K_M:   "MOSTLY_Q4_K_M",
	FileTypeMostlyQ5_K_S:   "MOSTLY_Q5_K_S",
	FileTypeMostlyQ5_K_M:   "MOSTLY_Q5_K_M",
	FileTypeMostlyQ6_K:     "MOSTLY_Q6_K",
	FileTypeMostlyIQ2_XXS:  "MOSTLY_IQ2_XXS",
	FileTypeMostlyIQ2_XS:   "MOSTLY_IQ2_XS",
	FileTypeMostlyQ2_K_S:   "MOSTLY_Q2_K_S",
	FileTypeMostlyIQ3_XS:   "MOSTLY_IQ3_XS",
	FileTypeMostlyIQ3_XXS:  "MOSTLY_IQ3_XXS",
	FileTypeMostlyIQ1_S:    "MOSTLY_IQ1_S",
	FileTypeMostlyIQ4_NL:   "MOSTLY_IQ4_NL",
	FileTypeMostlyIQ3_S:    "MOSTLY_IQ3_S",
	FileTypeMostlyIQ3_M:    "MOSTLY_IQ3_M",
	FileTypeMostlyIQ2_S:    "MOSTLY_IQ2_S",
	FileTypeMostlyIQ2_M:    "MOSTLY_IQ2_M",
	FileTypeMostlyIQ4_XS:   "MOSTLY_IQ4_XS",
	FileTypeMostlyIQ1_M:    "MOSTLY_IQ1_M",
	FileTypeMostlyBF16:     "MOSTLY_BF16",
	FileTypeMostlyTQ1_0:    "MOSTLY_TQ1_0",
	FileTypeMostlyTQ2_0:    "MOSTLY_TQ2_0",
	FileTypeMostlyMXFP4MoE: "MOSTLY_MXFP4_MOE",
}

// Known reports whether ft is a file type this package has a name for.
func (ft FileType) Known() bool {
	_, ok := fileTypeNames[ft]
	return ok
}

// String returns llama.cpp's name for the file type, such as
// "MOSTLY_Q4_K_M", or "FileType(N)" for an unknown one.
func (ft FileType) String() string {
	if name, ok := fileTypeNames[ft]; ok {
		return name
	}
	return "FileType(" + strconv.FormatUint(uint64(ft), 10) + ")"
}

// Quantization returns the short quantization name used in model file
// names, such as "Q4_K_M", "F16" or "F32", or "" for an unknown file type.
func (ft FileType) Quantization() string {
	name, ok := fileTypeNames[ft]
	if !ok {
		return ""
	}
	name = strings.TrimPrefix(name, "MOSTLY_")
	return strings.TrimPrefix(name, "ALL_")
}
