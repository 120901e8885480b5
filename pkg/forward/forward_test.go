// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

var bg = context.Background()

func TestInfo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	spec := modelgen.Spec{Arch: "qwen2", Name: "info", EmbeddingLength: 96, BlockCount: 3, HeadCount: 6, HeadCountKV: 2,
		FeedForwardLength: 160, ContextLength: 4096, WeightType: gguf.TensorTypeF16}
	require.NoError(t, modelgen.WriteFile(path, spec))
	m, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, Info{
		Arch: "qwen2", Name: "info", Layers: 3, Heads: 6, HeadsKV: 2, Embedding: 96,
		FeedForward: 160, Vocab: 275, ContextLength: 4096, HeadDim: 16,
		RopeBase: 1e6, RMSEpsilon: float64(float32(1e-5)),
	}, m.Info())
	assert.True(t, m.neox)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "Close twice")

	_, err = Open(filepath.Join(t.TempDir(), "missing.gguf"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	m = tiny{arch: "llama"}.model(t)
	assert.False(t, m.neox)
	assert.Equal(t, "tiny", m.Info().Name)
	require.NoError(t, m.Close(), "Close of a Model made by New does nothing")
}

// TestHandChecked follows one layer by hand: embeddings e0 = (1, 0) and
// e1 = (0, 1), identity Q, K, V and output projections, a zero attention
// output and feed-forward network (so the block passes x through), and
// unit norms.
func TestHandChecked(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2"} {
		t.Run(arch, func(t *testing.T) {
			id := []float32{1, 0, 0, 1}
			zero2, zeroF := make([]float32, 4), make([]float32, 2*3)
			m := tiny{arch: arch, embd: 2, heads: 1, ff: 3, vocab: 2, n: 1,
				kvs: map[string]any{arch + gguf.KeyLayerNormRMSEpsilon: float32(0)},
				values: map[string][]float32{
					"token_embd.weight": id, "blk.0.attn_q.weight": id, "blk.0.attn_k.weight": id, "blk.0.attn_v.weight": id,
					"blk.0.attn_output.weight": zero2, "blk.0.ffn_gate.weight": zeroF, "blk.0.ffn_up.weight": zeroF, "blk.0.ffn_down.weight": zeroF,
					"blk.0.attn_norm.weight": {1, 1}, "blk.0.ffn_norm.weight": {1, 1}, "output_norm.weight": {1, 1}, "output.weight": {1, 0, 0, 1},
				}}.model(t)
			res, err := m.Run(bg, []int32{0, 1}, Options{Logits: true, Attention: []int{0}})
			require.NoError(t, err)
			// RMS-normalized, e0 and e1 are (√2, 0) and (0, √2): the logits of
			// the last position are (0, √2).
			assert.InDeltaSlice(t, []float32{0, math.Sqrt2}, res.Logits, 1e-6)
			// Position 1 is rotated by 1 radian (one pair, angle p·base⁰):
			// q1 = k1 = √2(−sin 1, cos 1). Scores of query 1, scaled by 1/√2:
			// k0: q1·k0/√2 = −√2 sin 1, k1: |q1|²/√2 = √2.
			s0, s1 := -math.Sqrt2*math.Sin(1), math.Sqrt2
			p0 := 1 / (1 + math.Exp(s1-s0))
			require.Len(t, res.Attention, 1)
			a := res.Attention[0]
			assert.Equal(t, Attention{Layer: 0, Heads: 1, Tokens: 2, Probs: a.Probs}, a)
			assert.InDeltaSlice(t, []float32{1, 0, float32(p0), float32(1 - p0)}, a.Probs, 1e-6)
		})
	}
}

// reference is a plain float64 forward pass written from the llama.cpp
// semantics the package documents, independently of its code: it returns
// the last position's logits and every layer's attention probabilities.
func reference(t *testing.T, m *Model, tokens []int32) ([]float64, [][]float64) {
	t.Helper()
	f, info := m.file, m.info
	vec := func(name string) []float64 {
		if _, ok := f.Tensor(name); !ok {
			return nil
		}
		x, err := f.DequantizeRow(name, 0)
		require.NoError(t, err)
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = float64(v)
		}
		return out
	}
	matvec := func(name string, x []float64) []float64 {
		ti, _ := f.Tensor(name)
		out := make([]float64, ti.Rows())
		for r := range out {
			row, err := f.DequantizeRow(name, r)
			require.NoError(t, err)
			for i, w := range row {
				out[r] += float64(w) * x[i]
			}
		}
		if b := vec(strings.TrimSuffix(name, ".weight") + ".bias"); b != nil {
			for i := range out {
				out[i] += b[i]
			}
		}
		return out
	}
	norm := func(x, w []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+info.RMSEpsilon)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * s * w[i]
		}
		return out
	}
	n, hd, e := len(tokens), info.HeadDim, info.Embedding
	factors := vec("rope_freqs.weight")
	rotate := func(x []float64, p int) {
		for i := range hd / 2 {
			theta := float64(p) * math.Pow(info.RopeBase, -2*float64(i)/float64(hd)) * float64(m.freqScale)
			if factors != nil && !m.neox {
				theta /= factors[i]
			}
			a, b := 2*i, 2*i+1
			if m.neox {
				a, b = i, i+hd/2
			}
			c, s := math.Cos(theta), math.Sin(theta)
			x[a], x[b] = x[a]*c-x[b]*s, x[a]*s+x[b]*c
		}
	}
	x := make([][]float64, n)
	for p, tok := range tokens {
		row, err := f.DequantizeRow("token_embd.weight", int(tok))
		require.NoError(t, err)
		x[p] = make([]float64, e)
		for i, v := range row {
			x[p][i] = float64(v)
		}
	}
	var probs [][]float64
	for l := range info.Layers {
		pre := fmt.Sprintf("blk.%d.", l)
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for p := range n {
			xn := norm(x[p], vec(pre+"attn_norm.weight"))
			q[p], k[p], v[p] = matvec(pre+"attn_q.weight", xn), matvec(pre+"attn_k.weight", xn), matvec(pre+"attn_v.weight", xn)
			for h := range info.Heads {
				rotate(q[p][h*hd:(h+1)*hd], p)
			}
			for h := range info.HeadsKV {
				rotate(k[p][h*hd:(h+1)*hd], p)
			}
		}
		layerProbs := make([]float64, info.Heads*n*n)
		att := make([][]float64, n)
		for p := range n {
			att[p] = make([]float64, info.Heads*hd)
		}
		for h := range info.Heads {
			g := h * info.HeadsKV / info.Heads
			for qi := range n {
				w := layerProbs[(h*n+qi)*n : (h*n+qi)*n+qi+1]
				var sum float64
				for ki := range qi + 1 {
					var d float64
					for i := range hd {
						d += q[qi][h*hd+i] * k[ki][g*hd+i]
					}
					w[ki] = math.Exp(d / math.Sqrt(float64(hd)))
					sum += w[ki]
				}
				for ki := range w {
					w[ki] /= sum
					for i := range hd {
						att[qi][h*hd+i] += w[ki] * v[ki][g*hd+i]
					}
				}
			}
		}
		probs = append(probs, layerProbs)
		for p := range n {
			o := matvec(pre+"attn_output.weight", att[p])
			for i := range o {
				x[p][i] += o[i]
			}
			xn := norm(x[p], vec(pre+"ffn_norm.weight"))
			gate, up := matvec(pre+"ffn_gate.weight", xn), matvec(pre+"ffn_up.weight", xn)
			for i := range gate {
				gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
			}
			d := matvec(pre+"ffn_down.weight", gate)
			for i := range d {
				x[p][i] += d[i]
			}
		}
	}
	out := "output.weight"
	if _, ok := f.Tensor(out); !ok {
		out = "token_embd.weight"
	}
	return matvec(out, norm(x[n-1], vec("output_norm.weight"))), probs
}

// TestReference compares Run with the float64 reference on small models
// of every shape the package handles.
func TestReference(t *testing.T) {
	tests := map[string]tiny{
		"llama":             {},
		"qwen2 biases":      {arch: "qwen2", biases: true},
		"llama GQA":         {heads: 4, headsKV: 2, embd: 16},
		"qwen2 GQA 4:1":     {arch: "qwen2", heads: 4, headsKV: 1, embd: 16, biases: true},
		"llama tied":        {tied: true},
		"llama F16":         {typ: gguf.TensorTypeF16},
		"qwen2 Q8_0":        {arch: "qwen2", typ: gguf.TensorTypeQ8_0, embd: 32, ff: 64},
		"llama Q4_K":        {typ: gguf.TensorTypeQ4_K, embd: 256, ff: 256, heads: 4, vocab: 6, n: 1},
		"qwen2 Q6_K":        {arch: "qwen2", typ: gguf.TensorTypeQ6_K, embd: 256, ff: 256, heads: 8, headsKV: 2, vocab: 6, n: 1},
		"llama key_length":  {embd: 8, heads: 4, dims: keyLength8x4(), kvs: map[string]any{"llama.attention.key_length": uint32(4), "llama.attention.value_length": uint32(4), "llama.rope.dimension_count": uint32(4)}},
		"llama rope extras": {extra: map[string][]float32{"rope_freqs.weight": {1, 3}}, kvs: map[string]any{"llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": float32(2)}},
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			m := s.model(t)
			tokens := []int32{1, 4, 0, 7, 2, 5, 5, 3, 1}
			for i := range tokens {
				tokens[i] %= int32(m.Info().Vocab)
			}
			all := make([]int, m.Info().Layers)
			for i := range all {
				all[i] = i
			}
			res, err := m.Run(bg, tokens, Options{Logits: true, Attention: all})
			require.NoError(t, err)
			logits, probs := reference(t, m, tokens)
			for i, want := range logits {
				require.InDelta(t, want, res.Logits[i], 2e-4*(1+math.Abs(want)), "logit %d", i)
			}
			for l, p := range probs {
				require.Equal(t, l, res.Attention[l].Layer)
				for i, want := range p {
					require.InDelta(t, want, res.Attention[l].Probs[i], 2e-5, "layer %d prob %d", l, i)
				}
			}
		})
	}
}

// keyLength8x4 gives the attention matrices of a model with n_embd 8 and
// 4 heads of dimension 4 (key_length 4, not n_embd/heads = 2).
func keyLength8x4() map[string][]uint64 {
	d := map[string][]uint64{}
	for l := range 2 {
		p := fmt.Sprintf("blk.%d.", l)
		d[p+"attn_q.weight"], d[p+"attn_k.weight"], d[p+"attn_v.weight"] = []uint64{8, 16}, []uint64{8, 16}, []uint64{8, 16}
		d[p+"attn_output.weight"] = []uint64{16, 8}
	}
	return d
}

func TestAttentionProperties(t *testing.T) {
	m := tiny{arch: "qwen2", heads: 4, headsKV: 2, embd: 16, n: 3, biases: true}.model(t)
	tokens := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}
	n := len(tokens)
	res, err := m.Run(bg, tokens, Options{Attention: []int{2, 0, 2}})
	require.NoError(t, err)
	assert.Nil(t, res.Logits)
	require.Len(t, res.Attention, 3)
	for i, l := range []int{2, 0, 2} {
		a := res.Attention[i]
		assert.Equal(t, l, a.Layer)
		assert.Equal(t, 4, a.Heads)
		assert.Equal(t, n, a.Tokens)
		require.Len(t, a.Probs, 4*n*n)
		for h := range 4 {
			for q := range n {
				row := a.Probs[(h*n+q)*n : (h*n+q+1)*n]
				var sum float64
				for k, p := range row {
					if k > q {
						assert.Zero(t, p, "head %d query %d key %d is in the future", h, q, k)
					}
					assert.GreaterOrEqual(t, p, float32(0))
					sum += float64(p)
				}
				assert.InDelta(t, 1, sum, 1e-5, "head %d query %d", h, q)
			}
			assert.Equal(t, float32(1), a.Probs[h*n*n], "the first query sees only itself")
		}
	}
	assert.Equal(t, res.Attention[0].Probs, res.Attention[2].Probs, "a layer listed twice")
	res.Attention[0].Probs[5] = 42
	assert.NotEqual(t, res.Attention[0].Probs, res.Attention[2].Probs, "... gets two copies")
}

// TestPartialRuns checks that computing fewer layers, or only what the
// attention of the last layer asked for needs, gives the same values as a
// full run.
func TestPartialRuns(t *testing.T) {
	m := tiny{heads: 4, headsKV: 2, embd: 16, n: 3}.model(t)
	tokens := []int32{3, 1, 4, 1, 5, 9, 2, 6}
	full, err := m.Run(bg, tokens, Options{Logits: true, Attention: []int{0, 1, 2}})
	require.NoError(t, err)
	for _, opts := range []Options{
		{Attention: []int{1}},
		{Layers: 2, Attention: []int{1}},
		{Layers: 3, Attention: []int{1}},
		{Layers: 2, Attention: []int{1, 0}},
		{Attention: []int{2}},
	} {
		res, err := m.Run(bg, tokens, opts)
		require.NoError(t, err)
		for i, l := range opts.Attention {
			assert.Equal(t, full.Attention[l].Probs, res.Attention[i].Probs, "%+v layer %d", opts, l)
		}
	}
	res, err := m.Run(bg, tokens, Options{Layers: 3, Logits: true})
	require.NoError(t, err)
	assert.Equal(t, full.Logits, res.Logits)
	res, err = m.Run(bg, tokens, Options{})
	require.NoError(t, err)
	assert.Equal(t, &Result{}, res, "nothing asked, nothing computed")

	// A prompt longer than the feed-forward batch gives each position what
	// a shorter run gives it.
	long := make([]int32, ffnTokens+9)
	for i := range long {
		long[i] = int32(i*7) % 10
	}
	a, err := m.Run(bg, long, Options{Attention: []int{2}})
	require.NoError(t, err)
	b, err := m.Run(bg, long[:ffnTokens-3], Options{Attention: []int{2}})
	require.NoError(t, err)
	na, nb := len(long), ffnTokens-3
	for h := range 4 {
		for q := range nb {
			assert.Equal(t, b.Attention[0].Probs[(h*nb+q)*nb:(h*nb+q)*nb+q+1], a.Attention[0].Probs[(h*na+q)*na:(h*na+q)*na+q+1])
		}
	}
}

// TestGQAHeadMapping checks that query head h reads key/value head
// h/(Heads/HeadsKV): a model whose 2 K/V heads are copied out to 4, each
// to the query heads that share it, computes the same values.
func TestGQAHeadMapping(t *testing.T) {
	gqa := tiny{arch: "qwen2", heads: 4, headsKV: 2, embd: 16, biases: true, seed: 9}
	data := gqa.bytes(t)
	f, err := gguf.NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	hd := 4
	expand := func(name string, rowLen int) []float32 {
		ti, _ := f.Tensor(name)
		var out []float32
		for h := range 4 {
			g := h / 2
			for r := g * hd; r < (g+1)*hd; r++ {
				if ti.Rows() == 1 { // a bias: one row of kvDim values
					row, err := f.DequantizeRow(name, 0)
					require.NoError(t, err)
					out = append(out, row[r])
					continue
				}
				row, err := f.DequantizeRow(name, r)
				require.NoError(t, err)
				require.Len(t, row, rowLen)
				out = append(out, row...)
			}
		}
		return out
	}
	mha := gqa
	mha.headsKV = 4
	mha.values = map[string][]float32{}
	for l := range 2 {
		p := fmt.Sprintf("blk.%d.", l)
		for _, w := range []string{"attn_k", "attn_v"} {
			mha.values[p+w+".weight"] = expand(p+w+".weight", 16)
			mha.values[p+w+".bias"] = expand(p+w+".bias", 0)
		}
	}
	// The other tensors must have the same values: seed the same generator
	// and take them from the GQA file.
	for _, ti := range f.Tensors {
		if _, ok := mha.values[ti.Name]; !ok {
			var all []float32
			for r := range int(ti.Rows()) {
				row, err := f.DequantizeRow(ti.Name, r)
				require.NoError(t, err)
				all = append(all, row...)
			}
			mha.values[ti.Name] = all
		}
	}
	tokens := []int32{5, 3, 8, 1, 1, 9}
	opts := Options{Logits: true, Attention: []int{0, 1}}
	a, err := gqa.model(t).Run(bg, tokens, opts)
	require.NoError(t, err)
	b, err := mha.model(t).Run(bg, tokens, opts)
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

// cancelAfter is a context whose Err reports cancellation from its n-th
// call on.
type cancelAfter struct {
	context.Context
	n, calls atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.calls.Add(1) >= c.n.Load() {
		return context.Canceled
	}
	return nil
}

func TestCancel(t *testing.T) {
	m := tiny{n: 4}.model(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := m.Run(ctx, []int32{1, 2}, Options{Logits: true})
	assert.ErrorIs(t, err, context.Canceled)

	// Run checks before it starts and before every layer: cancelling at the
	// third check stops it before layer 1.
	c := &cancelAfter{Context: bg}
	c.n.Store(3)
	_, err = m.Run(c, []int32{1, 2}, Options{Logits: true})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int32(3), c.calls.Load())

	dl, cancel := context.WithTimeout(bg, 0)
	defer cancel()
	_, err = m.Run(dl, []int32{1}, Options{Attention: []int{0}})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestRunErrors(t *testing.T) {
	m := tiny{}.model(t) // 2 layers, 10 tokens
	tests := []struct {
		tokens []int32
		opts   Options
		want   string
	}{
		{nil, Options{Logits: true}, "forward: no tokens"},
		{[]int32{1, 10}, Options{Logits: true}, "forward: token 10 (position 1) is out of range [0, 10)"},
		{[]int32{-1}, Options{Logits: true}, "forward: token -1 (position 0) is out of range [0, 10)"},
		{[]int32{1}, Options{Layers: 3}, "forward: Options.Layers 3 is out of range [0, 2]"},
		{[]int32{1}, Options{Layers: -1}, "forward: Options.Layers -1 is out of range [0, 2]"},
		{[]int32{1}, Options{Layers: 1, Logits: true}, "forward: logits need all 2 layers, Options.Layers is 1"},
		{[]int32{1}, Options{Layers: 1, Attention: []int{1}}, "forward: attention of layer 1 requested, but only layers 0..0 are computed"},
		{[]int32{1}, Options{Attention: []int{-1}}, "forward: attention of layer -1 requested, but only layers 0..1 are computed"},
	}
	for _, tt := range tests {
		_, err := m.Run(bg, tt.tokens, tt.opts)
		assert.EqualError(t, err, tt.want)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		spec tiny
		want string
	}{
		{"architecture", tiny{kvs: map[string]any{gguf.KeyArchitecture: "gpt2"}}, `forward: unsupported architecture "gpt2" (want llama or qwen2)`},
		{"no architecture", tiny{kvs: map[string]any{gguf.KeyArchitecture: nil}}, "forward: general.architecture is missing"},
		{"missing tensor", tiny{drop: []string{"blk.1.ffn_up.weight"}}, `forward: tensor "blk.1.ffn_up.weight" is missing`},
		{"missing norm", tiny{drop: []string{"output_norm.weight"}}, `forward: tensor "output_norm.weight" is missing`},
		{"shape", tiny{dims: map[string][]uint64{"blk.0.attn_k.weight": {8, 6}}, values: map[string][]float32{"blk.0.attn_k.weight": make([]float32, 48)}},
			`forward: tensor "blk.0.attn_k.weight" has shape [8, 6], want [8, 8]`},
		{"transposed", tiny{ff: 8, embd: 8, dims: map[string][]uint64{"blk.0.ffn_down.weight": {8, 8, 2}}, values: map[string][]float32{"blk.0.ffn_down.weight": make([]float32, 128)}},
			`forward: tensor "blk.0.ffn_down.weight" has shape [8, 8, 2], want [8, 8]`},
		{"vocab", tiny{dims: map[string][]uint64{"output.weight": {8, 9}}, values: map[string][]float32{"output.weight": make([]float32, 72)}},
			`forward: tensor "output.weight" has shape [8, 9], want [8, 10]`},
		{"head_count_kv", tiny{heads: 4, headsKV: 3, embd: 12}, "forward: llama.attention.head_count_kv 3 must divide head_count 4"},
		{"no eps", tiny{kvs: map[string]any{"llama" + gguf.KeyLayerNormRMSEpsilon: nil}}, "forward: llama.attention.layer_norm_rms_epsilon is missing"},
		{"eps type", tiny{kvs: map[string]any{"llama" + gguf.KeyLayerNormRMSEpsilon: "small"}}, "forward: llama.attention.layer_norm_rms_epsilon has type string, want a float"},
		{"no blocks", tiny{kvs: map[string]any{"llama" + gguf.KeyBlockCount: uint32(0)}}, "forward: llama.block_count must be positive"},
		{"no embedding", tiny{kvs: map[string]any{"llama" + gguf.KeyEmbeddingLength: nil}}, "forward: llama.embedding_length is missing"},
		{"too many blocks", tiny{kvs: map[string]any{"llama" + gguf.KeyBlockCount: uint32(1000)}}, "forward: llama.block_count is 1000 but the file has only 21 tensors"},
		{"huge", tiny{kvs: map[string]any{"llama" + gguf.KeyFeedForwardLength: uint64(1) << 40}}, "forward: llama.feed_forward_length 1099511627776 exceeds the limit"},
		{"per-layer", tiny{kvs: map[string]any{"llama" + gguf.KeyHeadCountKV: []uint32{2, 1}}}, "forward: llama.attention.head_count_kv differs between layers, which is not supported"},
		{"moe", tiny{kvs: map[string]any{"llama.expert_count": uint32(8)}}, "forward: llama.expert_count is 8: mixture-of-experts models are not supported"},
		{"yarn", tiny{kvs: map[string]any{"llama.rope.scaling.type": "yarn"}}, `forward: rope scaling "yarn" is not supported (only linear)`},
		{"partial rope", tiny{kvs: map[string]any{"llama" + gguf.KeyRopeDimensionCount: uint32(2)}}, "forward: llama.rope.dimension_count 2 differs from the head dimension 4, which is not supported"},
		{"value length", tiny{kvs: map[string]any{"llama.attention.value_length": uint32(2)}}, "forward: llama.attention.value_length 2 differs from key_length 4, which is not supported"},
		{"rope base", tiny{kvs: map[string]any{"llama" + gguf.KeyRopeFreqBase: float32(-1)}}, "forward: llama.rope.freq_base -1 must be positive"},
		{"rope freqs shape", tiny{extra: map[string][]float32{"rope_freqs.weight": {1, 2, 3}}}, `forward: tensor "rope_freqs.weight" has shape [3], want [2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newFromBytes(tt.spec.bytes(t))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestUndequantizable builds a model whose matrices are Q5_0, which gguf
// cannot decode.
func TestUndequantizable(t *testing.T) {
	var b gguf.Builder
	f, err := gguf.NewFile(bytes.NewReader(tiny{embd: 32, heads: 2, ff: 32, typ: gguf.TensorTypeQ8_0}.bytes(t)))
	require.NoError(t, err)
	for _, kv := range f.Metadata {
		require.NoError(t, b.AddKV(kv.Key, kv.Value))
	}
	for _, ti := range f.Tensors {
		raw, err := f.ReadTensor(ti.Name)
		require.NoError(t, err)
		if ti.Name == "blk.1.ffn_gate.weight" {
			ti.Type, raw = gguf.TensorTypeQ5_0, make([]byte, int(ti.Elements())/32*22)
		}
		require.NoError(t, b.AddTensor(ti.Name, ti.Type, ti.Dims, raw))
	}
	var buf bytes.Buffer
	_, err = b.WriteTo(&buf)
	require.NoError(t, err)
	_, err = newFromBytes(buf.Bytes())
	assert.EqualError(t, err, `forward: tensor "blk.1.ffn_gate.weight" has type Q5_0, which cannot be dequantized`)
}

// TestTruncatedData checks that weights missing from a file whose size is
// unknown (so that gguf cannot check the tensors against it) make New fail,
// and that a read failing later makes Run fail, not panic.
func TestTruncatedData(t *testing.T) {
	data := tiny{}.bytes(t)
	f, err := gguf.NewFile(unsized{bytes.NewReader(data[:len(data)-600])})
	require.NoError(t, err)
	_, err = New(f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "of data: EOF")

	r := &failing{r: bytes.NewReader(data)}
	f, err = gguf.NewFile(r)
	require.NoError(t, err)
	m, err := New(f)
	require.NoError(t, err)
	r.fail.Store(true)
	_, err = m.Run(bg, []int32{1, 2}, Options{Logits: true})
	assert.ErrorContains(t, err, "disk on fire")
}

// failing is a reader whose reads fail once fail is set.
type failing struct {
	r    *bytes.Reader
	fail atomic.Bool
}

func (f *failing) ReadAt(p []byte, off int64) (int, error) {
	if f.fail.Load() {
		return 0, errors.New("disk on fire")
	}
	return f.r.ReadAt(p, off)
}

func (f *failing) Size() int64 { return f.r.Size() }

// unsized hides the Size method of a reader, so gguf cannot learn the
// file's length.
type unsized struct{ r *bytes.Reader }

func (u unsized) ReadAt(p []byte, off int64) (int, error) { return u.r.ReadAt(p, off) }

func TestConcurrentRuns(t *testing.T) {
	m := tiny{arch: "qwen2", biases: true, heads: 4, headsKV: 2, embd: 16}.model(t)
	tokens := []int32{1, 2, 3, 4, 5, 6, 7}
	want, err := m.Run(bg, tokens, Options{Logits: true, Attention: []int{1}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := m.Run(bg, tokens, Options{Logits: true, Attention: []int{1}})
			if err == nil && !assert.ObjectsAreEqual(want, got) {
				err = errors.New("a concurrent run computed other values")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestLogSoftmax(t *testing.T) {
	got := LogSoftmax([]float32{1, 2, 3})
	lse := math.Log(math.E + math.E*math.E + math.E*math.E*math.E)
	assert.InDeltaSlice(t, []float64{1 - lse, 2 - lse, 3 - lse}, got, 1e-12)

	// Large logits do not overflow; equal ones share the probability.
	got = LogSoftmax([]float32{1e30, 1e30, -1e30})
	assert.InDeltaSlice(t, []float64{-math.Ln2, -math.Ln2}, got[:2], 1e-12)
	assert.True(t, math.IsInf(got[2], -1) || got[2] < -1e29)

	var sum float64
	for _, v := range LogSoftmax([]float32{0.5, -3, 7, 2, 2}) {
		sum += math.Exp(v)
	}
	assert.InDelta(t, 1, sum, 1e-12)
	assert.Empty(t, LogSoftmax(nil))
}

// TestDecodeMatchesGGUF checks that the fast decoders give
// gguf.Dequantize's values bit for bit, on random bytes (NaNs, infinities
// and subnormals included).
func TestDecodeMatchesGGUF(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []gguf.TensorType{gguf.TensorTypeF32, gguf.TensorTypeF16, gguf.TensorTypeQ8_0} {
		n := 32 * 1024
		raw := make([]byte, n/typ.BlockSize()*typ.BlockBytes())
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		want, err := gguf.Dequantize(typ, raw, n)
		require.NoError(t, err)
		got := make([]float32, n)
		require.True(t, decode(typ, raw, got), "%s", typ)
		for i := range want {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s value %d", typ, i)
		}
	}
	assert.False(t, decode(gguf.TensorTypeQ4_K, nil, nil), "other types are left to gguf")
}
