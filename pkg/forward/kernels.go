// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// blockElems is the size, in float32 values, of the two working sets of a
// matrix product: the dequantized rows read at once, and the block of
// token activations they are dotted with. 64 Ki values (256 KiB) each keeps
// both in a core's L2 cache.
const blockElems = 64 << 10

// dot returns the float32 dot product of a and b (equal lengths) with
// gonum's assembly kernel, which accumulates in float32 lanes as ggml's
// vec_dot_f32 does.
func dot(a, b []float32) float32 {
	return blas32.Dot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(b), Inc: 1, Data: b})
}

// axpy adds alpha·x to y.
func axpy(alpha float32, x, y []float32) {
	blas32.Axpy(alpha, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(y), Inc: 1, Data: y})
}

// scratch is the reusable memory of one Run.
type scratch struct {
	raw  []byte
	vals []float32
	// roundInputs is Model.roundInputs.
	roundInputs func(t gguf.TensorType, x []float32) []float32
}

// matmul sets dst[t·rows+r] = Σᵢ w[r][i]·src[t·cols+i] (+ bias[r]) for the
// n tokens of src. It reads a block of rows, dequantizes it, and dots each
// row with a block of tokens at a time, so every row is decoded once per
// call however many tokens there are. (A BLAS matrix-matrix product would
// need the whole matrix decoded first, and gonum's runs on several
// goroutines; Run is meant to use one.)
func (s *scratch) matmul(w *matrix, dst, src []float32, n int, bias []float32) error {
	if s.roundInputs != nil {
		src = s.roundInputs(w.typ, src[:n*w.cols])
	}
	rowsPer := max(1, blockElems/w.cols)
	tokensPer := max(1, blockElems/w.cols)
	for r0 := 0; r0 < w.rows; r0 += rowsPer {
		nr := min(rowsPer, w.rows-r0)
		vals, err := s.readRows(w, r0, nr)
		if err != nil {
			return err
		}
		for t0 := 0; t0 < n; t0 += tokensPer {
			nt := min(tokensPer, n-t0)
			for j := range nr {
				row := vals[j*w.cols : (j+1)*w.cols]
				r := r0 + j
				for t := t0; t < t0+nt; t++ {
					dst[t*w.rows+r] = dot(row, src[t*w.cols:(t+1)*w.cols])
				}
			}
		}
	}
	if bias != nil {
		for t := range n {
			addTo(dst[t*w.rows:(t+1)*w.rows], bias)
		}
	}
	return nil
}

// readRows reads and dequantizes rows r0..r0+nr-1 of w.
func (s *scratch) readRows(w *matrix, r0, nr int) ([]float32, error) {
	size := nr * w.rowBytes
	if cap(s.raw) < size {
		s.raw = make([]byte, size)
	}
	raw := s.raw[:size]
	if k, err := w.data.ReadAt(raw, int64(r0)*int64(w.rowBytes)); k < size {
		if err == nil {
			err = fmt.Errorf("short read")
		}
		return nil, fmt.Errorf("forward: reading rows %d..%d of tensor %q: %w", r0, r0+nr-1, w.name, err)
	}
	n := nr * w.cols
	if cap(s.vals) < n {
		s.vals = make([]float32, n)
	}
	if decode(w.typ, raw, s.vals[:n]) {
		return s.vals[:n], nil
	}
	vals, err := gguf.Dequantize(w.typ, raw, n)
	if err != nil {
		return nil, fmt.Errorf("forward: tensor %q: %w", w.name, err)
	}
	return vals, nil
}

// halfTable maps every half-precision bit pattern to its float32 value,
// from gguf.Float16ToFloat32.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = gguf.Float16ToFloat32(uint16(h))
	}
	return &t
})

// decode dequantizes raw into dst for the types most models store their
// weights in, F32, F16 and Q8_0, and reports false for the others, which
// gguf.Dequantize decodes. It gives gguf.Dequantize's values bit for bit
// (F16 through a table of them; Q8_0 as the same float32 product) but into
// a reused buffer and without a branch per value: it is where a matrix
// product spends its time besides the dot products themselves.
func decode(t gguf.TensorType, raw []byte, dst []float32) bool {
	le := binary.LittleEndian
	switch t {
	case gguf.TensorTypeF32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case gguf.TensorTypeF16:
		tab := halfTable()
		raw = raw[:2*len(dst)]
		for i := range dst {
			dst[i] = tab[le.Uint16(raw[2*i:])]
		}
	case gguf.TensorTypeQ8_0:
		tab := halfTable()
		for b := range len(dst) / 32 {
			blk := raw[34*b : 34*b+34]
			d := tab[le.Uint16(blk)]
			out := dst[32*b : 32*b+32]
			for j, q := range blk[2:34] {
				out[j] = float32(int8(q)) * d
			}
		}
	default:
		return false
	}
	return true
}

// addTo adds x to y element-wise.
func addTo(y, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += x[i]
	}
}

// rmsNorm sets dst = x / √(mean(x²) + eps) · w, in ggml's order of
// operations: squares in float32 summed in float64, the mean and the scale
// in float32, then the scaling and the weight as two float32 products.
func rmsNorm(dst, x, w []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	dst, w = dst[:len(x)], w[:len(x)]
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// ropeTable returns the cosines and sines of the rotary angles for
// positions 0..n-1: entry p·nRot/2+i is pair i at position p. The angle is
// p·base^(−2i/nRot), scaled by freqScale and divided by the pair's
// frequency factor, computed as ggml_rope_cache_init does: the power as a
// running float32 product.
func ropeTable(n, nRot int, base, freqScale float32, factors []float32) (cos, sin []float32) {
	half := nRot / 2
	cos, sin = make([]float32, n*half), make([]float32, n*half)
	thetaScale := float32(math.Pow(float64(base), float64(-2/float32(nRot))))
	for p := range n {
		theta := float32(p)
		for i := range half {
			t := theta
			if factors != nil {
				t /= factors[i]
			}
			t *= freqScale
			cos[p*half+i] = float32(math.Cos(float64(t)))
			sin[p*half+i] = float32(math.Sin(float64(t)))
			theta *= thetaScale
		}
	}
	return cos, sin
}

// rope rotates one head's vector x (2·len(cos) values) at a position whose
// angles are cos and sin. NORM mode rotates the pairs (2i, 2i+1); NEOX mode
// the pairs (i, i+len(x)/2).
func rope(x, cos, sin []float32, neox bool) {
	half := len(cos)
	for i := range half {
		a, b := 2*i, 2*i+1
		if neox {
			a, b = i, i+half
		}
		x0, x1 := x[a], x[b]
		c, s := cos[i], sin[i]
		x[a] = x0*c - x1*s
		x[b] = x0*s + x1*c
	}
}

// softmax replaces x by softmax(x) as ggml's soft_max does: exponentials
// of x − max in float32, summed in float64.
func softmax(x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// silu returns x·σ(x) as ggml computes it: x/(1+e^−x) in float32.
func silu(x float32) float32 {
	return x / (1 + float32(math.Exp(float64(-x))))
}

// LogSoftmax returns log(softmax(logits)) computed stably in float64.
func LogSoftmax(logits []float32) []float64 {
	out := make([]float64, len(logits))
	if len(logits) == 0 {
		return out
	}
	m := math.Inf(-1)
	for _, v := range logits {
		m = max(m, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	logSum := math.Log(sum)
	for i, v := range logits {
		out[i] = (float64(v) - m) - logSum
	}
	return out
}
