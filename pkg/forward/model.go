// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// Model is a llama-family model (general.architecture "llama" or "qwen2") read from a GGUF file.
// Weights stay in the file (read through the *gguf.File's io.ReaderAt) and are dequantized row by
// row while computing, so memory is the activations plus one layer's scratch, not the model.
// A Model is safe for concurrent use.
type Model struct {
	info Info
	// neox selects ggml's NEOX rotary mode (qwen2): dimension i rotates
	// with i+HeadDim/2; otherwise (llama, NORM) 2i rotates with 2i+1.
	neox bool
	// freqScale is 1/(linear rope scaling factor), 1 without scaling.
	freqScale float32
	// attnScale, 1/√HeadDim, multiplies the query-key dot products.
	attnScale float32
	// ropeFreqs (rope_freqs.weight, HeadDim/2 values) divides each pair's
	// angle, as Llama 3 models use; nil when absent. Only llama reads it.
	ropeFreqs *vector

	tokEmbd    *matrix
	output     *matrix // tokEmbd when the model ties them
	outputNorm *vector
	layers     []layer

	file      *gguf.File
	closeOnce sync.Once
	owned     bool // Open opened file; Close closes it

	// roundInputs, when set, replaces the inputs of every product with a
	// matrix of type t by what it returns. Tests use it to round them as
	// ggml's CPU backend does before its dot products (to F16 for F16
	// weights, to Q8_0 or Q8_K blocks for quantized ones), which accounts
	// for the differences from llama.cpp that remain.
	roundInputs func(t gguf.TensorType, x []float32) []float32
}

// Info describes a model's shape, read from its metadata and tensors.
type Info struct {
	Arch, Name                        string // Name: general.name ("" if absent)
	Layers, Heads, HeadsKV, Embedding int
	FeedForward, Vocab, ContextLength int
	HeadDim                           int
	RopeBase, RMSEpsilon              float64
}

// layer holds one block's tensors. Biases are nil when the file has none;
// as in llama.cpp, qwen2 reads only those of Q, K and V, llama all seven.
type layer struct {
	attnNorm, ffnNorm *vector
	wq, wk, wv, wo    *matrix
	bq, bk, bv, bo    *vector
	gate, up, down    *matrix
	bGate, bUp, bDown *vector
}

// vector is a 1-D tensor (a norm weight or a bias), read when needed.
type vector struct {
	name string
	n    int
	f    *gguf.File
}

// read returns the vector's values.
func (v *vector) read() ([]float32, error) {
	x, err := v.f.DequantizeRow(v.name, 0)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	return x, nil
}

// matrix is a 2-D weight tensor with rows rows (output features) of cols
// values (input features), each row stored as rowBytes bytes of typ.
type matrix struct {
	name       string
	typ        gguf.TensorType
	rows, cols int
	rowBytes   int
	data       io.ReaderAt // the tensor's data, from offset 0
}

// maxDim bounds every size read from the metadata, so that products of a
// few of them cannot overflow; tensors must match the sizes anyway, which
// ties them to the file's length.
const maxDim = 1 << 28

// Open opens the named GGUF file and reads the model in it. Close closes the
// file.
func Open(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := New(f)
	if err != nil {
		_ = f.Close() // the model error is the one worth reporting
		return nil, err
	}
	m.owned = true
	return m, nil
}

// New reads the model in f: its hyperparameters from the metadata, and the
// description of every tensor it needs, whose shapes and types it checks.
// It reads no weights. New does not take ownership of f, which must stay
// open while the Model is used.
func New(f *gguf.File) (*Model, error) {
	l := &loader{f: f}
	m, err := l.load()
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	m.file = f
	return m, nil
}

// Close closes the file if the Model was made by Open; otherwise it does
// nothing. Run must not be called after Close.
func (m *Model) Close() error {
	var err error
	m.closeOnce.Do(func() {
		if m.owned {
			err = m.file.Close()
		}
	})
	return err
}

// Info returns the model's shape.
func (m *Model) Info() Info { return m.info }

// loader reads a model's metadata and tensor descriptions.
type loader struct {
	f    *gguf.File
	arch string
}

func (l *loader) load() (*Model, error) {
	arch, ok := l.f.Architecture()
	if !ok {
		return nil, errors.New("general.architecture is missing")
	}
	m := &Model{freqScale: 1}
	switch arch {
	case "llama":
	case "qwen2":
		m.neox = true
	default:
		return nil, fmt.Errorf("unsupported architecture %q (want llama or qwen2)", arch)
	}
	l.arch = arch
	info := &m.info
	info.Arch = arch
	info.Name, _ = l.f.Name()

	if n, err := l.count(".expert_count", 0); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, fmt.Errorf("%s.expert_count is %d: mixture-of-experts models are not supported", arch, n)
	}
	var err error
	fields := []struct {
		dst    *int
		suffix string
		def    int // -1: required
	}{
		{&info.Embedding, gguf.KeyEmbeddingLength, -1},
		{&info.Layers, gguf.KeyBlockCount, -1},
		{&info.Heads, gguf.KeyHeadCount, -1},
		{&info.FeedForward, gguf.KeyFeedForwardLength, -1},
		{&info.ContextLength, gguf.KeyContextLength, 0},
	}
	for _, fl := range fields {
		if *fl.dst, err = l.count(fl.suffix, fl.def); err != nil {
			return nil, err
		}
		if fl.def < 0 && *fl.dst == 0 {
			return nil, fmt.Errorf("%s%s must be positive", arch, fl.suffix)
		}
	}
	if info.HeadsKV, err = l.count(gguf.KeyHeadCountKV, info.Heads); err != nil {
		return nil, err
	}
	if info.HeadsKV == 0 || info.HeadsKV > info.Heads || info.Heads%info.HeadsKV != 0 {
		return nil, fmt.Errorf("%s.attention.head_count_kv %d must divide head_count %d", arch, info.HeadsKV, info.Heads)
	}
	if info.Layers > len(l.f.Tensors) {
		return nil, fmt.Errorf("%s.block_count is %d but the file has only %d tensors", arch, info.Layers, len(l.f.Tensors))
	}
	defHeadDim := 0
	if info.Embedding%info.Heads == 0 {
		defHeadDim = info.Embedding / info.Heads
	}
	if info.HeadDim, err = l.count(".attention.key_length", defHeadDim); err != nil {
		return nil, err
	}
	if info.HeadDim == 0 {
		return nil, fmt.Errorf("%s.embedding_length %d is not divisible by head_count %d and %s.attention.key_length is absent", arch, info.Embedding, info.Heads, arch)
	}
	if vl, err := l.count(".attention.value_length", info.HeadDim); err != nil {
		return nil, err
	} else if vl != info.HeadDim {
		return nil, fmt.Errorf("%s.attention.value_length %d differs from key_length %d, which is not supported", arch, vl, info.HeadDim)
	}
	if info.Heads > maxDim/info.HeadDim {
		return nil, fmt.Errorf("%d heads of dimension %d are too many", info.Heads, info.HeadDim)
	}

	eps, ok, err := l.float(gguf.KeyLayerNormRMSEpsilon)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s%s is missing", arch, gguf.KeyLayerNormRMSEpsilon)
	}
	if !(eps >= 0 && eps < 1) {
		return nil, fmt.Errorf("%s%s %v is not in [0, 1)", arch, gguf.KeyLayerNormRMSEpsilon, eps)
	}
	info.RMSEpsilon = eps
	if err := l.rope(m); err != nil {
		return nil, err
	}
	// llama.cpp ignores <arch>.attention.scale for llama and qwen2.
	m.attnScale = 1 / float32(math.Sqrt(float64(info.HeadDim)))
	return m, l.tensors(m)
}

// rope reads the rotary embedding parameters.
func (l *loader) rope(m *Model) error {
	info := &m.info
	// llama.cpp rotates whole heads only: it refuses a llama model whose
	// rope.dimension_count differs from the head dimension, and aborts on
	// such a qwen2 one.
	nRot, err := l.count(gguf.KeyRopeDimensionCount, info.HeadDim)
	if err != nil {
		return err
	}
	if nRot != info.HeadDim {
		return fmt.Errorf("%s%s %d differs from the head dimension %d, which is not supported", l.arch, gguf.KeyRopeDimensionCount, nRot, info.HeadDim)
	}
	if info.HeadDim%2 != 0 {
		return fmt.Errorf("the head dimension %d is odd: rotary embeddings rotate pairs", info.HeadDim)
	}
	base, ok, err := l.float(gguf.KeyRopeFreqBase)
	if err != nil {
		return err
	}
	if !ok {
		base = 10000
	}
	if !(base > 0) || math.IsInf(base, 0) {
		return fmt.Errorf("%s%s %v must be positive", l.arch, gguf.KeyRopeFreqBase, base)
	}
	info.RopeBase = base

	scaling := ""
	if v, ok := l.f.KV(l.arch + ".rope.scaling.type"); ok {
		if scaling, ok = v.Str(); !ok {
			return fmt.Errorf("%s.rope.scaling.type has type %s, want string", l.arch, v.Type())
		}
	}
	switch scaling {
	case "", "none", "linear":
	default:
		return fmt.Errorf("rope scaling %q is not supported (only linear)", scaling)
	}
	// Like llama.cpp: rope.scaling.factor, else the older rope.scale_linear;
	// 0 or absent means no scaling.
	factor, ok, err := l.float(".rope.scaling.factor")
	if err != nil {
		return err
	}
	if !ok || factor == 0 {
		if factor, _, err = l.float(".rope.scale_linear"); err != nil {
			return err
		}
	}
	if factor != 0 {
		if !(factor > 0) || math.IsInf(factor, 0) {
			return fmt.Errorf("%s rope scaling factor %v must be positive", l.arch, factor)
		}
		m.freqScale = float32(1 / factor)
	}
	return nil
}

// count reads an architecture-relative integer; def is returned when it is
// absent, and def < 0 makes it required. A per-layer array is accepted when
// all its elements are equal.
func (l *loader) count(suffix string, def int) (int, error) {
	key := l.arch + suffix
	v, ok := l.f.KV(key)
	if !ok {
		if def < 0 {
			return 0, fmt.Errorf("%s is missing", key)
		}
		return def, nil
	}
	u, isInt := v.Uint()
	if !isInt {
		us, isArray := v.Uints()
		if !isArray || len(us) == 0 {
			return 0, fmt.Errorf("%s has type %s, want a non-negative integer", key, v.Type())
		}
		for _, x := range us[1:] {
			if x != us[0] {
				return 0, fmt.Errorf("%s differs between layers, which is not supported", key)
			}
		}
		u = us[0]
	}
	if u > maxDim {
		return 0, fmt.Errorf("%s %d exceeds the limit of %d", key, u, maxDim)
	}
	return int(u), nil
}

// float reads an architecture-relative float32 or float64.
func (l *loader) float(suffix string) (float64, bool, error) {
	key := l.arch + suffix
	v, ok := l.f.KV(key)
	if !ok {
		return 0, false, nil
	}
	x, isFloat := v.Float()
	if !isFloat {
		return 0, false, fmt.Errorf("%s has type %s, want a float", key, v.Type())
	}
	return x, true, nil
}

// tensors finds and checks every tensor the model uses.
func (l *loader) tensors(m *Model) error {
	info := &m.info
	e, f, qDim, kvDim := info.Embedding, info.FeedForward, info.Heads*info.HeadDim, info.HeadsKV*info.HeadDim
	ti, ok := l.f.Tensor("token_embd.weight")
	if !ok {
		return errors.New(`tensor "token_embd.weight" is missing`)
	}
	if len(ti.Dims) < 2 || !trailingOnes(ti.Dims[2:]) || ti.Dims[1] == 0 || ti.Dims[1] > math.MaxInt32 {
		return fmt.Errorf(`tensor "token_embd.weight" has shape %s, want [%d, n_vocab]`, shape(ti.Dims), e)
	}
	info.Vocab = int(ti.Dims[1])
	if v, ok := l.f.KV(gguf.KeyTokens); ok && v.Len() != info.Vocab {
		return fmt.Errorf(`tensor "token_embd.weight" has %d rows but %s has %d tokens`, info.Vocab, gguf.KeyTokens, v.Len())
	}
	var err error
	if m.tokEmbd, err = l.matrix("token_embd.weight", e, info.Vocab, true); err != nil {
		return err
	}
	if m.output, err = l.matrix("output.weight", e, info.Vocab, false); err != nil {
		return err
	}
	if m.output == nil {
		m.output = m.tokEmbd // tied embeddings
	}
	if m.outputNorm, err = l.vector("output_norm.weight", e, true); err != nil {
		return err
	}
	if !m.neox {
		if m.ropeFreqs, err = l.vector("rope_freqs.weight", info.HeadDim/2, false); err != nil {
			return err
		}
	}
	m.layers = make([]layer, info.Layers)
	for i := range m.layers {
		ly := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		for _, t := range []struct {
			dst        **matrix
			name       string
			cols, rows int
		}{
			{&ly.wq, "attn_q", e, qDim},
			{&ly.wk, "attn_k", e, kvDim},
			{&ly.wv, "attn_v", e, kvDim},
			{&ly.wo, "attn_output", qDim, e},
			{&ly.gate, "ffn_gate", e, f},
			{&ly.up, "ffn_up", e, f},
			{&ly.down, "ffn_down", f, e},
		} {
			if *t.dst, err = l.matrix(p+t.name+".weight", t.cols, t.rows, true); err != nil {
				return err
			}
		}
		for _, t := range []struct {
			dst      **vector
			name     string
			n        int
			required bool
			llama    bool // read for llama only
		}{
			{&ly.attnNorm, "attn_norm.weight", e, true, false},
			{&ly.ffnNorm, "ffn_norm.weight", e, true, false},
			{&ly.bq, "attn_q.bias", qDim, false, false},
			{&ly.bk, "attn_k.bias", kvDim, false, false},
			{&ly.bv, "attn_v.bias", kvDim, false, false},
			{&ly.bo, "attn_output.bias", e, false, true},
			{&ly.bGate, "ffn_gate.bias", f, false, true},
			{&ly.bUp, "ffn_up.bias", f, false, true},
			{&ly.bDown, "ffn_down.bias", e, false, true},
		} {
			if t.llama && m.neox {
				continue
			}
			if *t.dst, err = l.vector(p+t.name, t.n, t.required); err != nil {
				return err
			}
		}
	}
	return nil
}

// matrix finds a 2-D tensor of rows rows of cols values; a missing
// optional one is nil.
func (l *loader) matrix(name string, cols, rows int, required bool) (*matrix, error) {
	ti, err := l.find(name, required, []uint64{uint64(cols), uint64(rows)})
	if ti == nil || err != nil {
		return nil, err
	}
	data, err := l.f.TensorData(name)
	if err != nil {
		return nil, err
	}
	return &matrix{
		name: name, typ: ti.Type, rows: rows, cols: cols,
		rowBytes: cols / ti.Type.BlockSize() * ti.Type.BlockBytes(),
		data:     data,
	}, nil
}

// vector finds a 1-D tensor of n values; a missing optional one is nil.
func (l *loader) vector(name string, n int, required bool) (*vector, error) {
	ti, err := l.find(name, required, []uint64{uint64(n)})
	if ti == nil || err != nil {
		return nil, err
	}
	return &vector{name: name, n: n, f: l.f}, nil
}

// find returns the named tensor after checking its shape (trailing
// dimensions of 1 are allowed, as ggml ignores them) and that its type can
// be dequantized. A missing optional tensor is nil.
func (l *loader) find(name string, required bool, dims []uint64) (*gguf.TensorInfo, error) {
	ti, ok := l.f.Tensor(name)
	if !ok {
		if required {
			return nil, fmt.Errorf("tensor %q is missing", name)
		}
		return nil, nil
	}
	if len(ti.Dims) < len(dims) || !equalDims(ti.Dims[:len(dims)], dims) || !trailingOnes(ti.Dims[len(dims):]) {
		return nil, fmt.Errorf("tensor %q has shape %s, want %s", name, shape(ti.Dims), shape(dims))
	}
	if _, err := gguf.Dequantize(ti.Type, nil, 0); err != nil {
		return nil, fmt.Errorf("tensor %q has type %s, which cannot be dequantized", name, ti.Type)
	}
	if l.f.Size < 0 {
		// gguf could not check the data against the file's size: read its
		// last byte, so that no tensor claims more data than there is, and
		// Run never sizes its buffers from sizes the file only claims.
		r, err := l.f.TensorData(name)
		if err != nil {
			return nil, err
		}
		var b [1]byte
		if size := ti.Size(); size > 0 {
			if _, err := r.ReadAt(b[:], size-1); err != nil {
				return nil, fmt.Errorf("tensor %q: reading the end of its %d bytes of data: %w", name, size, err)
			}
		}
	}
	return &ti, nil
}

func equalDims(a, b []uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func trailingOnes(d []uint64) bool {
	for _, x := range d {
		if x != 1 {
			return false
		}
	}
	return true
}

// shape formats dimensions in ggml order, as [n_in, n_out].
func shape(d []uint64) string {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
