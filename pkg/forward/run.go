// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Options choose what Run computes.
type Options struct {
	// Layers is how many blocks to compute from the first; 0 means all. Logits need all.
	Layers int
	// Attention lists the (0-based) layers whose attention probabilities Run returns; each must be < the computed layers.
	Attention []int
	// Logits asks for the output logits of the last position (needs all layers).
	Logits bool
}

// Result is what Run computed.
type Result struct {
	Logits    []float32   // len Vocab, the last position's; nil unless Options.Logits
	Attention []Attention // in the order of Options.Attention
}

// Attention holds one layer's attention probabilities.
type Attention struct {
	Layer, Heads, Tokens int
	// Probs[(h*Tokens+q)*Tokens+k] is head h's softmax weight of key k for query q (0 for k > q).
	Probs []float32
}

// ffnTokens bounds how many tokens go through the feed-forward network at
// once, which bounds its two n_ff-wide buffers however long the prompt.
const ffnTokens = 128

// Run computes the forward pass over tokens (positions 0..len-1, as llama.cpp evaluates a prompt in one batch).
// It checks ctx between layers and returns ctx.Err() when cancelled. Token ids out of range are an error.
//
// Run computes no more than opts needs: without Logits it stops at the last
// layer listed in Attention, and of that layer it computes only the
// queries and keys. It runs on the calling goroutine only. Memory is the
// activations (a few vectors of n_embd values per token, two of n_ff for up
// to 128 tokens at a time), plus Heads·len(tokens)² values per layer of
// attention returned.
func (m *Model) Run(ctx context.Context, tokens []int32, opts Options) (*Result, error) {
	info := &m.info
	n := len(tokens)
	if n == 0 {
		return nil, errors.New("forward: no tokens")
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= info.Vocab {
			return nil, fmt.Errorf("forward: token %d (position %d) is out of range [0, %d)", t, i, info.Vocab)
		}
	}
	layers := opts.Layers
	switch {
	case layers < 0 || layers > info.Layers:
		return nil, fmt.Errorf("forward: Options.Layers %d is out of range [0, %d]", layers, info.Layers)
	case layers == 0:
		layers = info.Layers
	case opts.Logits && layers != info.Layers:
		return nil, fmt.Errorf("forward: logits need all %d layers, Options.Layers is %d", info.Layers, layers)
	}
	need := 0 // layers to compute
	if opts.Logits {
		need = layers
	}
	for _, l := range opts.Attention {
		if l < 0 || l >= layers {
			return nil, fmt.Errorf("forward: attention of layer %d requested, but only layers 0..%d are computed", l, layers-1)
		}
		need = max(need, l+1)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	r := &run{m: m, n: n, probs: map[int][]float32{}, s: scratch{roundInputs: m.roundInputs}}
	for _, l := range opts.Attention {
		r.probs[l] = nil // filled by the layer
	}
	if need > 0 {
		if err := r.init(tokens); err != nil {
			return nil, err
		}
	}
	for il := range need {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := r.layer(il, !opts.Logits && il == need-1); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	if opts.Logits {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if res.Logits, err = r.logits(); err != nil {
			return nil, err
		}
	}
	for i, l := range opts.Attention {
		p := r.probs[l]
		if slices.Index(opts.Attention, l) < i {
			p = slices.Clone(p) // a layer listed twice gets two copies
		}
		res.Attention = append(res.Attention, Attention{Layer: l, Heads: info.Heads, Tokens: n, Probs: p})
	}
	return res, nil
}

// run is the state of one forward pass.
type run struct {
	m *Model
	n int // tokens
	s scratch
	// x is the residual stream, n·Embedding values; xn its normalized copy.
	x, xn []float32
	// q, k, v, att are n·Heads·HeadDim, n·HeadsKV·HeadDim (k, v) values;
	// att is the attention output before attn_output.
	q, k, v, att []float32
	// proj is the output of attn_output or ffn_down, n·Embedding values.
	proj []float32
	// gate and up hold the feed-forward activations of up to ffnTokens
	// tokens; they are allocated by the first feed-forward network run.
	gate, up []float32
	// cos and sin are the rotary angles (see ropeTable).
	cos, sin []float32
	// probs receives the attention probabilities of the requested layers.
	probs map[int][]float32
}

// init embeds the tokens and allocates the activations.
func (r *run) init(tokens []int32) error {
	info, n := &r.m.info, r.n
	e, qd, kvd := info.Embedding, info.Heads*info.HeadDim, info.HeadsKV*info.HeadDim
	r.x, r.xn = make([]float32, n*e), make([]float32, n*e)
	r.q, r.k, r.v = make([]float32, n*qd), make([]float32, n*kvd), make([]float32, n*kvd)
	r.att, r.proj = make([]float32, n*qd), make([]float32, n*e)
	var factors []float32
	if r.m.ropeFreqs != nil {
		var err error
		if factors, err = r.m.ropeFreqs.read(); err != nil {
			return err
		}
	}
	r.cos, r.sin = ropeTable(n, info.HeadDim, float32(info.RopeBase), r.m.freqScale, factors)
	for p, t := range tokens {
		row, err := r.s.readRows(r.m.tokEmbd, int(t), 1)
		if err != nil {
			return err
		}
		copy(r.x[p*e:(p+1)*e], row)
	}
	return nil
}

// read reads a vector that may be absent (nil).
func read(v *vector) ([]float32, error) {
	if v == nil {
		return nil, nil
	}
	return v.read()
}

// layer computes block il. With attnOnly it computes only what the
// attention probabilities need: the queries and keys.
func (r *run) layer(il int, attnOnly bool) error {
	m, info, n := r.m, &r.m.info, r.n
	ly := &m.layers[il]
	e, hd := info.Embedding, info.HeadDim
	qd, kvd := info.Heads*hd, info.HeadsKV*hd
	eps := float32(info.RMSEpsilon)

	attnNorm, err := ly.attnNorm.read()
	if err != nil {
		return err
	}
	for t := range n {
		rmsNorm(r.xn[t*e:(t+1)*e], r.x[t*e:(t+1)*e], attnNorm, eps)
	}
	projs := []struct {
		w    *matrix
		b    *vector
		dst  []float32
		skip bool
	}{
		{ly.wq, ly.bq, r.q, false},
		{ly.wk, ly.bk, r.k, false},
		{ly.wv, ly.bv, r.v, attnOnly},
	}
	for _, p := range projs {
		if p.skip {
			continue
		}
		bias, err := read(p.b)
		if err != nil {
			return err
		}
		if err := r.s.matmul(p.w, p.dst, r.xn, n, bias); err != nil {
			return err
		}
	}
	half := hd / 2
	for t := range n {
		cos, sin := r.cos[t*half:(t+1)*half], r.sin[t*half:(t+1)*half]
		for h := range info.Heads {
			rope(r.q[t*qd+h*hd:t*qd+(h+1)*hd], cos, sin, m.neox)
		}
		for h := range info.HeadsKV {
			rope(r.k[t*kvd+h*hd:t*kvd+(h+1)*hd], cos, sin, m.neox)
		}
	}
	r.attention(il, attnOnly)
	if attnOnly {
		return nil
	}

	bo, err := read(ly.bo)
	if err != nil {
		return err
	}
	if err := r.s.matmul(ly.wo, r.proj, r.att, n, bo); err != nil {
		return err
	}
	addTo(r.x, r.proj)

	ffnNorm, err := ly.ffnNorm.read()
	if err != nil {
		return err
	}
	for t := range n {
		rmsNorm(r.xn[t*e:(t+1)*e], r.x[t*e:(t+1)*e], ffnNorm, eps)
	}
	bGate, err := read(ly.bGate)
	if err != nil {
		return err
	}
	bUp, err := read(ly.bUp)
	if err != nil {
		return err
	}
	bDown, err := read(ly.bDown)
	if err != nil {
		return err
	}
	if r.gate == nil {
		ft := min(n, ffnTokens) * info.FeedForward
		r.gate, r.up = make([]float32, ft), make([]float32, ft)
	}
	for t0 := 0; t0 < n; t0 += ffnTokens {
		nt := min(ffnTokens, n-t0)
		xn := r.xn[t0*e : (t0+nt)*e]
		gate, up := r.gate[:nt*info.FeedForward], r.up[:nt*info.FeedForward]
		if err := r.s.matmul(ly.gate, gate, xn, nt, bGate); err != nil {
			return err
		}
		if err := r.s.matmul(ly.up, up, xn, nt, bUp); err != nil {
			return err
		}
		for i, g := range gate {
			gate[i] = silu(g) * up[i]
		}
		if err := r.s.matmul(ly.down, r.proj[t0*e:(t0+nt)*e], gate, nt, bDown); err != nil {
			return err
		}
	}
	addTo(r.x, r.proj)
	return nil
}

// attention computes causal grouped-query attention: the probabilities of
// every head, kept when layer il was requested, and (unless attnOnly) the
// weighted sums of the values into r.att.
func (r *run) attention(il int, attnOnly bool) {
	info, n := &r.m.info, r.n
	hd := info.HeadDim
	qd, kvd := info.Heads*hd, info.HeadsKV*hd
	group := info.Heads / info.HeadsKV
	probs, keep := r.probs[il]
	if keep {
		probs = make([]float32, info.Heads*n*n)
		r.probs[il] = probs
	}
	var buf []float32 // the scores of one query, when they are not kept
	if !keep {
		buf = make([]float32, n)
	}
	if !attnOnly {
		clear(r.att)
	}
	for h := range info.Heads {
		g := h / group
		for q := range n {
			var row []float32
			if keep {
				row = probs[(h*n+q)*n : (h*n+q)*n+q+1]
			} else {
				row = buf[:q+1]
			}
			qv := r.q[q*qd+h*hd : q*qd+(h+1)*hd]
			for k := range q + 1 {
				row[k] = dot(qv, r.k[k*kvd+g*hd:k*kvd+(g+1)*hd]) * r.m.attnScale
			}
			softmax(row)
			if attnOnly {
				continue
			}
			out := r.att[q*qd+h*hd : q*qd+(h+1)*hd]
			for k, p := range row {
				axpy(p, r.v[k*kvd+g*hd:k*kvd+(g+1)*hd], out)
			}
		}
	}
}

// logits computes the output logits of the last position.
func (r *run) logits() ([]float32, error) {
	m, info := r.m, &r.m.info
	e := info.Embedding
	norm, err := m.outputNorm.read()
	if err != nil {
		return nil, err
	}
	last := make([]float32, e)
	rmsNorm(last, r.x[(r.n-1)*e:], norm, float32(info.RMSEpsilon))
	out := make([]float32, info.Vocab)
	if err := r.s.matmul(m.output, out, last, 1, nil); err != nil {
		return nil, err
	}
	return out, nil
}
