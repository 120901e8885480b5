// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

// ModelFacts summarises a model file. A zero field means the fact is
// absent from the file, except FileType, which is only meaningful when
// FileTypeName is set. The JSON names are snake_case, as
// "lltmodel inspect -json" prints them.
type ModelFacts struct {
	Architecture string `json:"architecture"` // general.architecture, such as "llama"
	Name         string `json:"name"`         // general.name
	// ParameterCount is the sum of the element counts of all tensors.
	ParameterCount uint64 `json:"parameter_count"`
	// FileType is general.file_type; FileTypeName its name, such as
	// "MOSTLY_Q4_K_M", or "" when the key is absent.
	FileType     FileType `json:"file_type"`
	FileTypeName string   `json:"file_type_name"`
	// Quantization is the short name such as "Q4_K_M" or "F16": taken from
	// general.file_type when that is present and known, else the type of
	// the tensors holding most of the weights (see [File.Facts]).
	Quantization      string `json:"quantization"`
	ContextLength     uint64 `json:"context_length"`      // see File.ContextLength
	BlockCount        uint64 `json:"block_count"`         // see File.BlockCount
	EmbeddingLength   uint64 `json:"embedding_length"`    // see File.EmbeddingLength
	HeadCount         uint64 `json:"head_count"`          // see File.HeadCount
	HeadCountKV       uint64 `json:"head_count_kv"`       // see File.HeadCountKV
	FeedForwardLength uint64 `json:"feed_forward_length"` // see File.FeedForwardLength
	VocabSize         uint64 `json:"vocab_size"`          // see File.VocabSize
	TensorCount       uint64 `json:"tensor_count"`        // number of tensors
	// TensorBytes is the total size of the tensor data, without padding;
	// llama.cpp reports the same figure as the model size. Tensors of
	// unknown type are not counted.
	TensorBytes int64 `json:"tensor_bytes"`
	// Size is the file size in bytes, or -1 if unknown.
	Size int64 `json:"size"`
}

// Facts returns a summary of the model. When general.file_type is absent
// or unknown, Quantization is the name of the tensor type that holds the
// most elements among tensors of two or more dimensions (the weight
// matrices), or among all tensors if there are none.
func (f *File) Facts() ModelFacts {
	m := ModelFacts{
		TensorCount: uint64(len(f.Tensors)),
		Size:        f.Size,
	}
	m.Architecture, _ = f.Architecture()
	m.Name, _ = f.Name()
	m.ContextLength, _ = f.ContextLength()
	m.BlockCount, _ = f.BlockCount()
	m.EmbeddingLength, _ = f.EmbeddingLength()
	m.HeadCount, _ = f.HeadCount()
	m.HeadCountKV, _ = f.HeadCountKV()
	m.FeedForwardLength, _ = f.FeedForwardLength()
	m.VocabSize, _ = f.VocabSize()
	for i := range f.Tensors {
		t := &f.Tensors[i]
		m.ParameterCount += t.Elements()
		if s := t.Size(); s > 0 {
			m.TensorBytes += s
		}
	}
	if ft, ok := f.FileType(); ok {
		m.FileType, m.FileTypeName = ft, ft.String()
		m.Quantization = ft.Quantization()
	}
	if m.Quantization == "" {
		m.Quantization = f.dominantTensorType()
	}
	return m
}

// dominantTensorType returns the name of the type with the most elements
// among matrices (tensors of 2+ dimensions), or among all tensors if there
// are no matrices, or "" if there are no tensors.
func (f *File) dominantTensorType() string {
	count := func(matrices bool) (TensorType, bool) {
		elems := map[TensorType]uint64{}
		for i := range f.Tensors {
			t := &f.Tensors[i]
			if !matrices || len(t.Dims) >= 2 {
				elems[t.Type] += t.Elements()
			}
		}
		best, found := TensorType(0), false
		for typ, n := range elems {
			if !found || n > elems[best] || (n == elems[best] && typ < best) {
				best, found = typ, true
			}
		}
		return best, found
	}
	if t, ok := count(true); ok {
		return t.String()
	}
	if t, ok := count(false); ok {
		return t.String()
	}
	return ""
}
