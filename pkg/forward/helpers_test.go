// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// tiny describes a small model written with gguf.Builder, without a
// tokenizer: small enough for hand-made cases and fuzz seeds. Zero fields
// take the defaults of withDefaults.
type tiny struct {
	arch                               string
	typ                                gguf.TensorType // of the matrices
	embd, heads, headsKV, ff, vocab, n int             // n: layers
	tied                               bool            // no output.weight
	biases                             bool            // q, k, v biases
	seed                               uint64
	// kvs adds or replaces metadata (a nil value removes the key).
	kvs map[string]any
	// values gives tensors explicit values (row-major: row r is the r-th
	// n_in values); dims replaces a tensor's dimensions; drop leaves
	// tensors out; extra adds F32 tensors.
	values map[string][]float32
	dims   map[string][]uint64
	drop   []string
	extra  map[string][]float32
}

func (s tiny) withDefaults() tiny {
	if s.arch == "" {
		s.arch = "llama"
	}
	if s.embd == 0 {
		s.embd = 8
	}
	if s.heads == 0 {
		s.heads = 2
	}
	if s.headsKV == 0 {
		s.headsKV = s.heads
	}
	if s.ff == 0 {
		s.ff = 12
	}
	if s.vocab == 0 {
		s.vocab = 10
	}
	if s.n == 0 {
		s.n = 2
	}
	if s.seed == 0 {
		s.seed = 1
	}
	return s
}

// bytes returns the GGUF file.
func (s tiny) bytes(tb testing.TB) []byte {
	tb.Helper()
	s = s.withDefaults()
	a := s.arch
	hd := s.embd / s.heads
	kv := hd * s.headsKV
	meta := map[string]any{
		gguf.KeyArchitecture:            a,
		gguf.KeyName:                    "tiny",
		a + gguf.KeyContextLength:       uint32(512),
		a + gguf.KeyEmbeddingLength:     uint32(s.embd),
		a + gguf.KeyBlockCount:          uint32(s.n),
		a + gguf.KeyFeedForwardLength:   uint32(s.ff),
		a + gguf.KeyHeadCount:           uint32(s.heads),
		a + gguf.KeyHeadCountKV:         uint32(s.headsKV),
		a + gguf.KeyLayerNormRMSEpsilon: float32(1e-5),
		a + gguf.KeyRopeFreqBase:        float32(10000),
		a + gguf.KeyRopeDimensionCount:  uint32(hd),
		"general.quantization_version":  uint32(2),
	}
	for k, v := range s.kvs {
		if v == nil {
			delete(meta, k)
		} else {
			meta[k] = v
		}
	}
	var b gguf.Builder
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		require.NoError(tb, b.AddKV(k, meta[k]))
	}
	rng := rand.New(rand.NewPCG(s.seed, 2))
	add := func(name string, typ gguf.TensorType, dims ...uint64) {
		if slices.Contains(s.drop, name) {
			return
		}
		if d, ok := s.dims[name]; ok {
			dims = d
		}
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		vals, ok := s.values[name]
		if !ok {
			vals, ok = s.extra[name]
		}
		if !ok {
			vals = make([]float32, n)
			for i := range vals {
				if len(dims) == 1 && name != "rope_freqs.weight" && !isBias(name) {
					vals[i] = 1 + float32(rng.NormFloat64()*0.1) // a norm
				} else {
					vals[i] = float32(rng.NormFloat64() * 0.4)
				}
			}
		}
		require.Len(tb, vals, n, name)
		data, err := gguf.Quantize(typ, vals)
		require.NoError(tb, err, name)
		require.NoError(tb, b.AddTensor(name, typ, dims, data))
	}
	e, f, v := uint64(s.embd), uint64(s.ff), uint64(s.vocab)
	add("token_embd.weight", s.typ, e, v)
	for i := range s.n {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", gguf.TensorTypeF32, e)
		add(p+"attn_q.weight", s.typ, e, uint64(s.heads*hd))
		add(p+"attn_k.weight", s.typ, e, uint64(kv))
		add(p+"attn_v.weight", s.typ, e, uint64(kv))
		if s.biases {
			add(p+"attn_q.bias", gguf.TensorTypeF32, uint64(s.heads*hd))
			add(p+"attn_k.bias", gguf.TensorTypeF32, uint64(kv))
			add(p+"attn_v.bias", gguf.TensorTypeF32, uint64(kv))
		}
		add(p+"attn_output.weight", s.typ, uint64(s.heads*hd), e)
		add(p+"ffn_norm.weight", gguf.TensorTypeF32, e)
		add(p+"ffn_gate.weight", s.typ, e, f)
		add(p+"ffn_up.weight", s.typ, e, f)
		add(p+"ffn_down.weight", s.typ, f, e)
	}
	add("output_norm.weight", gguf.TensorTypeF32, e)
	if !s.tied {
		add("output.weight", s.typ, e, v)
	}
	for _, name := range slices.Sorted(maps.Keys(s.extra)) {
		add(name, gguf.TensorTypeF32, uint64(len(s.extra[name])))
	}
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(tb, err)
	return buf.Bytes()
}

func isBias(name string) bool { return bytes.HasSuffix([]byte(name), []byte(".bias")) }

// model parses s and returns the Model.
func (s tiny) model(tb testing.TB) *Model {
	tb.Helper()
	m, err := newFromBytes(s.bytes(tb))
	require.NoError(tb, err)
	return m
}

func newFromBytes(data []byte) (*Model, error) {
	f, err := gguf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return New(f)
}
