// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package modelgen writes small GGUF models with random weights that
// llama.cpp loads and serves: the output text is gibberish, but every
// counter, timing and slot state of a real server is real, which is what
// tests of the telemetry around it need.
//
// A model has the llama (or qwen2) architecture, weight matrices drawn from
// N(0, 0.02) and stored as F32, F16, Q8_0, Q4_K or Q6_K, norm weights of 1,
// and a SentencePiece vocabulary with byte fallback: <unk>, <s>, </s>, the
// 256 byte tokens <0x00>..<0xFF> and a few word pieces. The same Spec always
// produces the same bytes.
package modelgen // import "github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"

import (
	"errors"
	"fmt"
	"math"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// Spec describes a random-weight model that llama.cpp loads and serves.
// A zero field takes the default given in its comment, so Spec{} equals
// Tiny().
type Spec struct {
	// Arch is the architecture: "llama" (default) or "qwen2" (which adds
	// biases to the attention q, k and v projections).
	Arch string
	// Name is general.name; default "llt-tiny".
	Name string
	// EmbeddingLength is n_embd; default 64. It must be divisible by
	// HeadCount, and the head dimension n_embd/HeadCount must be even.
	EmbeddingLength int
	// BlockCount is the number of layers; default 2, at most 512.
	BlockCount int
	// HeadCount is the number of attention heads; default 4.
	HeadCount int
	// HeadCountKV is the number of key/value heads; default HeadCount. It
	// must divide HeadCount.
	HeadCountKV int
	// FeedForwardLength is n_ff; default 128.
	FeedForwardLength int
	// ContextLength is the training context length; default 2048.
	ContextLength int
	// WeightType is the type of the 2-D weight matrices, token_embd and
	// output included: gguf.TensorTypeF32 (default), F16, Q8_0, Q4_K or
	// Q6_K. Norm weights and biases are always F32. The quantized types
	// need EmbeddingLength and FeedForwardLength (the row lengths) to be
	// multiples of their block size: 32 for Q8_0, 256 for Q4_K and Q6_K.
	// Quantized weights are encoded with gguf.Quantize.
	WeightType gguf.TensorType
	// WeightStd is the standard deviation of the random weights and
	// biases; default 0.02. Larger values make the output distribution less
	// flat, which tests comparing logits with llama.cpp's need.
	WeightStd float64
	// Seed seeds the random weights; default 1. The same Spec always
	// produces a byte-identical file.
	Seed int64
}

// Tiny returns the defaults: a llama model with n_embd 64, 2 blocks, 4
// heads, n_ff 128, context 2048, F32 weights and 275 tokens; 117,440
// parameters in a file of about 480 kB.
func Tiny() Spec {
	return Spec{
		Arch:              "llama",
		Name:              "llt-tiny",
		EmbeddingLength:   64,
		BlockCount:        2,
		HeadCount:         4,
		HeadCountKV:       4,
		FeedForwardLength: 128,
		ContextLength:     2048,
		WeightType:        gguf.TensorTypeF32,
		WeightStd:         weightStdDev,
		Seed:              1,
	}
}

const (
	// maxLayers is llama.cpp's LLAMA_MAX_LAYERS.
	maxLayers = 512
	// maxDim bounds every size so that tensor sizes cannot overflow.
	maxDim = 1 << 20
	// maxContext bounds ContextLength, which is written as a uint32.
	maxContext = 1 << 30
	// maxTensorBytes bounds the size of the weights, against a typo that
	// would fill the disk.
	maxTensorBytes = 64 << 30
	// maxWeightStd bounds WeightStd so that quantized weights (drawn up to
	// a few standard deviations) stay far below what a half-precision
	// block scale can hold.
	maxWeightStd = 1000
)

// withDefaults returns s with zero fields replaced by their defaults.
func (s Spec) withDefaults() Spec {
	d := Tiny()
	if s.Arch == "" {
		s.Arch = d.Arch
	}
	if s.Name == "" {
		s.Name = d.Name
	}
	if s.EmbeddingLength == 0 {
		s.EmbeddingLength = d.EmbeddingLength
	}
	if s.BlockCount == 0 {
		s.BlockCount = d.BlockCount
	}
	if s.HeadCount == 0 {
		s.HeadCount = d.HeadCount
	}
	if s.HeadCountKV == 0 {
		s.HeadCountKV = s.HeadCount
	}
	if s.FeedForwardLength == 0 {
		s.FeedForwardLength = d.FeedForwardLength
	}
	if s.ContextLength == 0 {
		s.ContextLength = d.ContextLength
	}
	if s.Seed == 0 {
		s.Seed = d.Seed
	}
	if s.WeightStd == 0 {
		s.WeightStd = weightStdDev
	}
	return s
}

// Validate reports whether llama.cpp would accept a model made from s
// (after defaults are applied), naming the first field at fault.
func (s Spec) Validate() error {
	s = s.withDefaults()
	if s.Arch != "llama" && s.Arch != "qwen2" {
		return fmt.Errorf("modelgen: Arch %q is not supported (want \"llama\" or \"qwen2\")", s.Arch)
	}
	for _, f := range []struct {
		name string
		v    int
		max  int
	}{
		{"EmbeddingLength", s.EmbeddingLength, maxDim},
		{"BlockCount", s.BlockCount, maxLayers},
		{"HeadCount", s.HeadCount, maxDim},
		{"HeadCountKV", s.HeadCountKV, maxDim},
		{"FeedForwardLength", s.FeedForwardLength, maxDim},
		{"ContextLength", s.ContextLength, maxContext},
	} {
		if f.v < 0 {
			return fmt.Errorf("modelgen: %s %d must not be negative", f.name, f.v)
		}
		if f.v > f.max {
			return fmt.Errorf("modelgen: %s %d exceeds the limit of %d", f.name, f.v, f.max)
		}
	}
	if s.EmbeddingLength%s.HeadCount != 0 {
		return fmt.Errorf("modelgen: EmbeddingLength %d must be divisible by HeadCount %d", s.EmbeddingLength, s.HeadCount)
	}
	if hd := s.EmbeddingLength / s.HeadCount; hd%2 != 0 {
		return fmt.Errorf("modelgen: head dimension EmbeddingLength/HeadCount = %d must be even (rotary embeddings rotate pairs)", hd)
	}
	if s.HeadCountKV > s.HeadCount || s.HeadCount%s.HeadCountKV != 0 {
		return fmt.Errorf("modelgen: HeadCountKV %d must divide HeadCount %d", s.HeadCountKV, s.HeadCount)
	}
	switch s.WeightType {
	case gguf.TensorTypeF32, gguf.TensorTypeF16, gguf.TensorTypeQ8_0, gguf.TensorTypeQ4_K, gguf.TensorTypeQ6_K:
	default:
		return fmt.Errorf("modelgen: WeightType %s is not supported (want F32, F16, Q8_0, Q4_K or Q6_K)", s.WeightType)
	}
	if bs := s.WeightType.BlockSize(); bs > 1 {
		for _, f := range []struct {
			name string
			v    int
		}{{"EmbeddingLength", s.EmbeddingLength}, {"FeedForwardLength", s.FeedForwardLength}} {
			if f.v%bs != 0 {
				return fmt.Errorf("modelgen: %s %d must be a multiple of %d for WeightType %s (the row length of the weight matrices)", f.name, f.v, bs, s.WeightType)
			}
		}
	}
	if math.IsNaN(s.WeightStd) || s.WeightStd < 0 || s.WeightStd > maxWeightStd {
		return fmt.Errorf("modelgen: WeightStd %v must be between 0 and %v", s.WeightStd, float64(maxWeightStd))
	}
	if n := s.weightBytes(); n > maxTensorBytes {
		return fmt.Errorf("modelgen: the weights would take %d bytes, the limit is %d (64 GiB)", n, int64(maxTensorBytes))
	}
	if len(s.Name) > 1<<16 {
		return errors.New("modelgen: Name is longer than 65536 bytes")
	}
	return nil
}

// weightBytes returns the size of the weights: the parameters encoded as
// WeightType (norms and biases, which are F32, counted as WeightType too).
func (s Spec) weightBytes() int64 {
	t := s.WeightType
	return s.parameterCount() / int64(t.BlockSize()) * int64(t.BlockBytes())
}

// parameterCount returns the number of weights of the model s describes,
// defaults applied and s valid up to the size check.
func (s Spec) parameterCount() int64 {
	embd, ff := int64(s.EmbeddingLength), int64(s.FeedForwardLength)
	kv := embd / int64(s.HeadCount) * int64(s.HeadCountKV)
	vocab := int64(vocabSize)
	perBlock := 2*embd + // attn_norm, ffn_norm
		2*embd*embd + 2*embd*kv + // attn_q, attn_output, attn_k, attn_v
		3*embd*ff // ffn_gate, ffn_up, ffn_down
	if s.Arch == "qwen2" {
		perBlock += embd + 2*kv // q, k and v biases
	}
	return 2*embd*vocab + embd + int64(s.BlockCount)*perBlock // token_embd, output, output_norm
}
