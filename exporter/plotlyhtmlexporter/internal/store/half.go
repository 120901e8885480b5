// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import "math"

// HalfToFloat decodes an IEEE 754 half-precision value (binary16) from its bits: subnormals,
// infinities and NaN included.
func HalfToFloat(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		// Zero or subnormal: mant × 2^-24, exact in a float32.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// HalfBits encodes f as the nearest IEEE 754 half-precision value (round half to even; too
// large: infinity; NaN stays NaN). The dashboards only decode; tests and fixtures encode.
func HalfBits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if b&0x7fffffff > 0x7f800000 {
		return sign | 0x7e00
	}
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign // rounds to zero
		}
		full := mant | 0x800000
		shift := uint32(14 - exp)
		h := uint16(full >> shift)
		rem, mid := full&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > mid || (rem == mid && h&1 == 1) {
			h++
		}
		return sign | h
	}
	h := uint16(exp)<<10 | uint16(mant>>13)
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the right result, up to infinity
	}
	return sign | h
}
