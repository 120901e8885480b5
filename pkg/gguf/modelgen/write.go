// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package modelgen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// weightStdDev is the default standard deviation of the random weights.
const weightStdDev = 0.02

// fileTypes gives general.file_type for each weight type: what
// llama-quantize writes for a model whose matrices all have that type.
var fileTypes = map[gguf.TensorType]gguf.FileType{
	gguf.TensorTypeF32:  gguf.FileTypeAllF32,
	gguf.TensorTypeF16:  gguf.FileTypeMostlyF16,
	gguf.TensorTypeQ8_0: gguf.FileTypeMostlyQ8_0,
	gguf.TensorTypeQ4_K: gguf.FileTypeMostlyQ4_K_S,
	gguf.TensorTypeQ6_K: gguf.FileTypeMostlyQ6_K,
}

// Write writes the model described by s to w as GGUF. It validates s
// first. Tensor data is generated while writing, one chunk at a time.
func Write(w io.Writer, s Spec) error {
	b, err := build(s)
	if err != nil {
		return err
	}
	_, err = b.WriteTo(w)
	return err
}

// WriteFile writes the model described by s to the named file. It writes a
// temporary file in the same directory and renames it, so the file at path
// is either complete or untouched.
func WriteFile(path string, s Spec) (err error) {
	b, err := build(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil { // the write error is the one worth reporting
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = b.WriteTo(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// build assembles the metadata and tensors of the model.
func build(s Spec) (*gguf.Builder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	tokens, scores, types := vocabulary()
	nEmbd, nFF := uint64(s.EmbeddingLength), uint64(s.FeedForwardLength)
	nVocab := uint64(len(tokens))
	headDim := s.EmbeddingLength / s.HeadCount
	nEmbdKV := uint64(headDim * s.HeadCountKV)
	fileType, freqBase := uint32(fileTypes[s.WeightType]), float32(10000)
	if s.Arch == "qwen2" {
		freqBase = 1e6
	}

	b := &gguf.Builder{}
	a := s.Arch
	kvs := []gguf.KV{
		kv(gguf.KeyArchitecture, a),
		kv(gguf.KeyName, s.Name),
		kv(gguf.KeyFileType, fileType),
		kv(a+gguf.KeyContextLength, uint32(s.ContextLength)),
		kv(a+gguf.KeyEmbeddingLength, uint32(s.EmbeddingLength)),
		kv(a+gguf.KeyBlockCount, uint32(s.BlockCount)),
		kv(a+gguf.KeyFeedForwardLength, uint32(s.FeedForwardLength)),
		kv(a+gguf.KeyHeadCount, uint32(s.HeadCount)),
		kv(a+gguf.KeyHeadCountKV, uint32(s.HeadCountKV)),
		kv(a+gguf.KeyRopeDimensionCount, uint32(headDim)),
		kv(a+gguf.KeyLayerNormRMSEpsilon, float32(1e-5)),
		kv(a+gguf.KeyRopeFreqBase, freqBase),
		kv(gguf.KeyTokenizerModel, "llama"),
		kv(gguf.KeyTokens, tokens),
		kv(gguf.KeyScores, scores),
		kv(gguf.KeyTokenType, types),
		kv(gguf.KeyBOSTokenID, bosID),
		kv(gguf.KeyEOSTokenID, eosID),
		kv(gguf.KeyUNKTokenID, unkID),
		kv(gguf.KeyAddBOSToken, true),
		kv(gguf.KeyAddEOSToken, false),
	}
	for _, e := range kvs {
		if err := b.AddKV(e.Key, e.Value); err != nil {
			return nil, err
		}
	}

	g := &tensors{b: b, seed: uint64(s.Seed), std: s.WeightStd}
	g.random("token_embd.weight", s.WeightType, nEmbd, nVocab)
	for i := range s.BlockCount {
		blk := fmt.Sprintf("blk.%d.", i)
		g.ones(blk+"attn_norm.weight", nEmbd)
		g.random(blk+"attn_q.weight", s.WeightType, nEmbd, nEmbd)
		if s.Arch == "qwen2" {
			g.random(blk+"attn_q.bias", gguf.TensorTypeF32, nEmbd)
		}
		g.random(blk+"attn_k.weight", s.WeightType, nEmbd, nEmbdKV)
		if s.Arch == "qwen2" {
			g.random(blk+"attn_k.bias", gguf.TensorTypeF32, nEmbdKV)
		}
		g.random(blk+"attn_v.weight", s.WeightType, nEmbd, nEmbdKV)
		if s.Arch == "qwen2" {
			g.random(blk+"attn_v.bias", gguf.TensorTypeF32, nEmbdKV)
		}
		g.random(blk+"attn_output.weight", s.WeightType, nEmbd, nEmbd)
		g.ones(blk+"ffn_norm.weight", nEmbd)
		g.random(blk+"ffn_gate.weight", s.WeightType, nEmbd, nFF)
		g.random(blk+"ffn_up.weight", s.WeightType, nEmbd, nFF)
		g.random(blk+"ffn_down.weight", s.WeightType, nFF, nEmbd)
	}
	g.ones("output_norm.weight", nEmbd)
	g.random("output.weight", s.WeightType, nEmbd, nVocab)
	if g.err != nil {
		return nil, g.err
	}
	return b, nil
}

// kv builds a metadata entry from a Go value of a type gguf.ValueOf
// accepts; the values used here are all valid.
func kv(key string, x any) gguf.KV {
	v, _ := gguf.ValueOf(x)
	return gguf.KV{Key: key, Value: v}
}

// tensors adds tensors to a Builder, remembering the first error.
type tensors struct {
	b    *gguf.Builder
	seed uint64
	std  float64
	err  error
}

// ones adds an F32 tensor of ones (a norm weight).
func (g *tensors) ones(name string, n uint64) {
	g.add(name, gguf.TensorTypeF32, []uint64{n}, func() func() float32 {
		return func() float32 { return 1 }
	})
}

// random adds a tensor of N(0, std) values. Each tensor has its own
// generator, seeded from the Spec's seed and the tensor's name, so a
// tensor's values do not depend on which other tensors the model has.
func (g *tensors) random(name string, typ gguf.TensorType, dims ...uint64) {
	h := fnv.New64a()
	h.Write([]byte(name))
	stream := h.Sum64()
	g.add(name, typ, dims, func() func() float32 {
		rng := rand.New(rand.NewPCG(g.seed, stream))
		return func() float32 { return float32(rng.NormFloat64() * g.std) }
	})
}

// add adds a tensor whose values come from a generator made afresh each
// time the tensor is written, so that every write gives the same bytes.
func (g *tensors) add(name string, typ gguf.TensorType, dims []uint64, values func() func() float32) {
	if g.err != nil {
		return
	}
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	g.err = g.b.AddTensorFunc(name, typ, dims, func(w io.Writer) error {
		if typ.BlockSize() > 1 {
			return writeQuantized(w, typ, int(dims[0]), n, values())
		}
		return writeValues(w, typ, n, values())
	})
}

// writeQuantized encodes n values, rows of rowLen at a time, as typ with
// gguf.Quantize. The values are drawn in the same order as for F32.
func writeQuantized(w io.Writer, typ gguf.TensorType, rowLen, n int, next func() float32) error {
	row := make([]float32, rowLen)
	for range n / rowLen {
		for i := range row {
			row[i] = next()
		}
		data, err := gguf.Quantize(typ, row)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// writeValues encodes n values as F32 or F16, little-endian, in chunks.
func writeValues(w io.Writer, typ gguf.TensorType, n int, next func() float32) error {
	const chunk = 16 << 10
	buf := make([]byte, 0, chunk*typ.BlockBytes()) // F32 and F16 have a block size of 1
	for i := range n {
		x := next()
		if typ == gguf.TensorTypeF16 {
			buf = binary.LittleEndian.AppendUint16(buf, gguf.Float32ToFloat16(x))
		} else {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
		if len(buf) == cap(buf) || i == n-1 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}
