// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"math"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// ggmlCPUInputs rounds the inputs of a product with a matrix of type t as
// ggml's CPU backend does before its dot products (its vec_dot_type): to
// F16 for F16 weights, to Q8_0 blocks for Q8_0 weights and to Q8_K blocks
// for the K-quants; F32 inputs stay. What remains between Run with it and
// llama-server is float rounding, and the rare input whose rounding goes
// the other way because the float32 value before it differed in its last
// bit (more often for F16, whose steps are fine, than for the 8-bit
// quants).
func ggmlCPUInputs(t gguf.TensorType, x []float32) []float32 {
	out := make([]float32, len(x))
	switch t {
	case gguf.TensorTypeF16:
		for i, v := range x {
			out[i] = gguf.Float16ToFloat32(gguf.Float32ToFloat16(v))
		}
	case gguf.TensorTypeQ8_0, gguf.TensorTypeQ4_0:
		// quantize_row_q8_0 (AVX2): d = amax/127 stored as F16, quants
		// round(x·127/amax) to nearest even.
		for b := 0; b+32 <= len(x); b += 32 {
			var amax float32
			for _, v := range x[b : b+32] {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			d := gguf.Float16ToFloat32(gguf.Float32ToFloat16(amax / 127))
			var id float32
			if amax != 0 {
				id = 127 / amax
			}
			for i := b; i < b+32; i++ {
				out[i] = float32(math.RoundToEven(float64(x[i]*id))) * d
			}
		}
	case gguf.TensorTypeQ4_K, gguf.TensorTypeQ6_K:
		// quantize_row_q8_K_ref: iscale = −127/max (max the value of largest
		// magnitude), quants min(127, nearest(iscale·x)), d = 1/iscale.
		for b := 0; b+256 <= len(x); b += 256 {
			var amax, mx float32
			for _, v := range x[b : b+256] {
				if a := float32(math.Abs(float64(v))); a > amax {
					amax, mx = a, v
				}
			}
			if amax == 0 {
				continue
			}
			iscale := -127 / mx
			d := 1 / iscale
			for i := b; i < b+256; i++ {
				out[i] = float32(min(127, math.RoundToEven(float64(iscale*x[i])))) * d
			}
		}
	default:
		copy(out, x)
	}
	return out
}
