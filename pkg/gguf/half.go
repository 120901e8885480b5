// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import "math"

// The IEEE 754 binary16 conversions below are written out rather than
// imported: they are about twenty lines each, exact by construction, and
// keep this package free of dependencies.

// Float16ToFloat32 converts an IEEE 754 half-precision value, given as its
// bits, to float32. Every half value, subnormals, infinities and NaN
// payloads included, is exactly representable as a float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // infinity or NaN; the payload moves to the top mantissa bits
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant × 2^-24, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	// Normal: rebias the exponent from 15 to 127.
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToFloat16 converts f to IEEE 754 half precision, rounding to the
// nearest representable value with ties to even, as the F16C instruction
// and ggml's GGML_FP32_TO_FP16 do. Values too large become infinity, values
// too small become (signed) zero, and NaN stays NaN.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7c00 | 0x200 | uint16(mant>>13) // quiet NaN
	}
	e := exp - 127 + 15 // half exponent field
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e <= 0:
		// Subnormal in half precision (or zero): the result is
		// round(m × 2^(exp-150) / 2^-24) with m the 24-bit significand.
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		return sign | uint16(roundShift(m, shift))
	}
	// Normal: drop 13 mantissa bits. A carry out of the mantissa bumps the
	// exponent, which is the correct result, up to infinity.
	return sign | uint16(roundShift(uint32(e)<<23|mant, 13))
}

// roundShift returns x >> shift rounded to nearest, ties to even.
func roundShift(x, shift uint32) uint32 {
	q := x >> shift
	rem := x & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// BFloat16ToFloat32 converts a bfloat16 value, given as its bits, to
// float32; bfloat16 is the top half of a float32.
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
