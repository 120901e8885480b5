// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize encodes src as tensor type t: F32, F16, Q8_0, Q4_K or Q6_K.
// len(src) must be a multiple of t's block size (32 for Q8_0, 256 for the
// K-quants), and the quantized types need finite values. [Dequantize]
// decodes the result.
//
// The block encodings are simple direct ones, not ggml's iterative
// searches for the scales that minimise the squared error, so they are a
// little less accurate than llama-quantize's; every value is within half a
// quantization step of its source. For a block (or, for the K-quants, a
// super-block of 256 values) whose values have maximum magnitude A and,
// for Q4_K, range R = max − min(min, 0), the error is at most:
//
//	Q8_0:  0.51·A/127 + 2⁻²⁴
//	Q4_K:  0.55·R/15  + 2⁻²⁴
//	Q6_K:  0.51·A/31  + 2⁻²⁴
//
// (the 2⁻²⁴ only matters when a scale is a subnormal half). The block
// scales are half-precision, which bounds the magnitudes a type can hold:
// up to 8.3e6 for Q8_0, 4e6 for Q4_K and 2.5e8 for Q6_K; larger values are an
// error. F16 rounds to nearest even, as ggml does; F32 is the IEEE bits.
func Quantize(t TensorType, src []float32) ([]byte, error) {
	switch t {
	case TensorTypeF32, TensorTypeF16, TensorTypeQ8_0, TensorTypeQ4_K, TensorTypeQ6_K:
	default:
		return nil, fmt.Errorf("gguf: quantizing to %s is not supported (want F32, F16, Q8_0, Q4_K or Q6_K)", t)
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	if len(src)%bs != 0 {
		return nil, fmt.Errorf("gguf: cannot quantize %d values to %s: not a multiple of the block size %d", len(src), t, bs)
	}
	if limit := quantLimit[t]; limit > 0 {
		for i, x := range src {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("gguf: cannot quantize value %d (%v) to %s: not finite", i, x, t)
			}
			if abs32(x) > limit {
				return nil, fmt.Errorf("gguf: cannot quantize value %d (%v) to %s: magnitude above %g", i, x, t, limit)
			}
		}
	}
	blocks := len(src) / bs
	out := make([]byte, blocks*bb)
	le := binary.LittleEndian
	switch t {
	case TensorTypeF32:
		for i, x := range src {
			le.PutUint32(out[4*i:], math.Float32bits(x))
		}
	case TensorTypeF16:
		for i, x := range src {
			le.PutUint16(out[2*i:], Float32ToFloat16(x))
		}
	case TensorTypeQ8_0:
		for b := range blocks {
			quantQ8_0(out[b*34:b*34+34], src[b*32:b*32+32])
		}
	case TensorTypeQ4_K:
		for b := range blocks {
			quantQ4_K(out[b*144:b*144+144], src[b*256:b*256+256])
		}
	case TensorTypeQ6_K:
		for b := range blocks {
			quantQ6_K(out[b*210:b*210+210], src[b*256:b*256+256])
		}
	}
	return out, nil
}

// maxHalf is the largest finite half-precision value.
const maxHalf = 65504

// quantLimit is the largest magnitude each block type can encode: the
// value that needs the largest half-precision scale (for Q4_K the scale of
// the minima, dmin = −min/63, slightly less so that rounding it up stays
// finite).
var quantLimit = map[TensorType]float32{
	TensorTypeQ8_0: 127 * maxHalf,
	TensorTypeQ4_K: 63 * maxHalf * 0.99,
	TensorTypeQ6_K: 31 * 127 * maxHalf,
}

// halfUp returns the smallest non-negative half-precision value that is at
// least x (x ≥ 0 and finite), as bits and as float32. Scales are rounded
// up so that the largest value of a block stays within the range of its
// quants.
func halfUp(x float32) (uint16, float32) {
	h := Float32ToFloat16(x)
	if Float16ToFloat32(h) < x && h < 0x7bff /* maxHalf */ {
		h++ // the next larger half: positive halves order like their bits
	}
	return h, Float16ToFloat32(h)
}

// roundClamp rounds x to the nearest integer, halves away from zero (as C's
// roundf), and clamps it to [lo, hi].
func roundClamp(x float32, lo, hi int) int {
	q := int(math.Round(float64(x)))
	return min(max(q, lo), hi)
}

// quantQ8_0 encodes block_q8_0: fp16 d, int8 qs[32], x ≈ qs·d, with d the
// largest magnitude over 127, rounded to half precision before the quants
// are computed from it.
func quantQ8_0(b []byte, x []float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	h, d := halfUp(amax / 127)
	binary.LittleEndian.PutUint16(b, h)
	if d == 0 {
		clear(b[2:34])
		return
	}
	for j, v := range x {
		b[2+j] = byte(int8(roundClamp(v/d, -127, 127)))
	}
}

// quantQ4_K encodes block_q4_K (see dequantQ4_K): each 32-value sub-block j
// gets x ≈ d·sc_j·q − dmin·m_j with q in 0..15 and 6-bit sc_j and m_j. The
// sub-block's minimum (or 0, whichever is lower) is covered by m_j rounded
// up, its maximum by sc_j rounded up, so no value is clamped.
func quantQ4_K(b []byte, x []float32) {
	var lo, hi [8]float32 // per sub-block: min(min x, 0) and max x
	var maxNegLo float32
	for j := range 8 {
		sub := x[32*j : 32*j+32]
		lo[j], hi[j] = 0, sub[0]
		for _, v := range sub {
			lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
		}
		hi[j] = max(hi[j], lo[j])
		maxNegLo = max(maxNegLo, -lo[j])
	}
	hmin, dmin := halfUp(maxNegLo / 63)
	var lm [8]int
	var m, span [8]float32
	var maxSpan float32
	for j := range 8 {
		if dmin > 0 {
			lm[j] = min(int(math.Ceil(float64(-lo[j]/dmin))), 63)
		}
		m[j] = dmin * float32(lm[j])
		span[j] = (hi[j] + m[j]) / 15 // the sub-block scale d·sc_j must reach this
		maxSpan = max(maxSpan, span[j])
	}
	hd, d := halfUp(maxSpan / 63)
	binary.LittleEndian.PutUint16(b[0:], hd)
	binary.LittleEndian.PutUint16(b[2:], hmin)
	scales, qs := b[4:16], b[16:144]
	clear(scales)
	var ls [8]int
	for j := range 8 {
		if d > 0 {
			ls[j] = min(int(math.Ceil(float64(span[j]/d))), 63)
		}
		if j < 4 {
			scales[j] = byte(ls[j])
			scales[j+4] = byte(lm[j])
		} else {
			scales[j+4] = byte(ls[j]&0x0f | (lm[j]&0x0f)<<4)
			scales[j-4] |= byte(ls[j]>>4) << 6
			scales[j] |= byte(lm[j]>>4) << 6
		}
	}
	for c := range 4 {
		q := qs[32*c : 32*c+32]
		for half := range 2 {
			j := 2*c + half
			ds := d * float32(ls[j])
			for l := range 32 {
				v := 0
				if ds > 0 {
					v = roundClamp((x[32*j+l]+m[j])/ds, 0, 15)
				}
				if half == 0 {
					q[l] = byte(v)
				} else {
					q[l] |= byte(v) << 4
				}
			}
		}
	}
}

// quantQ6_K encodes block_q6_K (see dequantQ6_K): each 16-value sub-block j
// gets x ≈ d·sc_j·q with q in −32..31 and an int8 sc_j, the sub-block's
// largest magnitude over 31 rounded up to a multiple of d.
func quantQ6_K(b []byte, x []float32) {
	var s [16]float32
	var maxS float32
	for j := range 16 {
		for _, v := range x[16*j : 16*j+16] {
			s[j] = max(s[j], abs32(v))
		}
		s[j] /= 31
		maxS = max(maxS, s[j])
	}
	hd, d := halfUp(maxS / 127)
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	clear(b)
	binary.LittleEndian.PutUint16(b[208:], hd)
	var ds [16]float32
	for j := range 16 {
		if d > 0 {
			k := min(int(math.Ceil(float64(s[j]/d))), 127)
			sc[j] = byte(int8(k))
			ds[j] = d * float32(k)
		}
	}
	// Value i of half h (i = 128h + 32k + l, k the quarter, l < 32) keeps
	// its low nibble in ql[64h + 32(k&1) + l] (high nibble when k ≥ 2) and
	// its top two bits in qh[32h + l] at bit 2k.
	for i, v := range x {
		q := 32
		if ds[i/16] > 0 {
			q = roundClamp(v/ds[i/16], -32, 31) + 32
		}
		h, k, l := i/128, i%128/32, i%32
		lo := &ql[64*h+32*(k&1)+l]
		if k < 2 {
			*lo |= byte(q & 0x0f)
		} else {
			*lo |= byte(q&0x0f) << 4
		}
		qh[32*h+l] |= byte(q>>4) << (2 * k)
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
