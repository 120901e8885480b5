// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		name string
		h    uint16
		want float32
	}{
		{"zero", 0x0000, 0},
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"one third", 0x3555, 0.333251953125},
		{"largest normal", 0x7bff, 65504},
		{"smallest normal", 0x0400, 6.103515625e-05},
		{"smallest subnormal", 0x0001, 5.960464477539063e-08},
		{"largest subnormal", 0x03ff, 6.097555160522461e-05},
		{"negative subnormal", 0x8002, -1.1920928955078125e-07},
		{"infinity", 0x7c00, float32(math.Inf(1))},
		{"minus infinity", 0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, math.Float32bits(tt.want), math.Float32bits(Float16ToFloat32(tt.h)))
		})
	}
	t.Run("negative zero", func(t *testing.T) {
		assert.Equal(t, uint32(0x80000000), math.Float32bits(Float16ToFloat32(0x8000)))
	})
	t.Run("NaN", func(t *testing.T) {
		for _, h := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
			assert.True(t, math.IsNaN(float64(Float16ToFloat32(h))), "%#x", h)
		}
	})
}

func TestFloat32ToFloat16(t *testing.T) {
	tests := []struct {
		name string
		f    float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"largest normal", 65504, 0x7bff},
		{"rounds up to infinity", 65520, 0x7c00},
		{"rounds down to largest normal", 65519, 0x7bff},
		{"overflow", 1e10, 0x7c00},
		{"infinity", float32(math.Inf(1)), 0x7c00},
		{"minus infinity", float32(math.Inf(-1)), 0xfc00},
		{"tie rounds to even (down)", 1 + 1.0/2048, 0x3c00},
		{"tie rounds to even (up)", 1 + 3.0/2048, 0x3c02},
		{"above tie rounds up", 1 + 1.0/2048 + 1.0/65536, 0x3c01},
		{"smallest normal", 6.103515625e-05, 0x0400},
		{"smallest subnormal", 5.960464477539063e-08, 0x0001},
		{"largest subnormal", 6.097555160522461e-05, 0x03ff},
		{"half the smallest subnormal rounds to even zero", 2.9802322387695312e-08, 0x0000},
		{"just above half the smallest subnormal", 2.9802326e-08, 0x0001},
		{"1.5 subnormal units round to even 2", 8.940696716308594e-08, 0x0002},
		{"subnormal tie rounds to even into normal", 6.1005353927612305e-05, 0x0400},
		{"below the tie stays subnormal", 6.1e-05, 0x03ff},
		{"far below the subnormals", 1e-30, 0x0000},
		{"float32 subnormal", -1e-40, 0x8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Float32ToFloat16(tt.f), "got %#04x", Float32ToFloat16(tt.f))
		})
	}
	t.Run("NaN", func(t *testing.T) {
		h := Float32ToFloat16(float32(math.NaN()))
		assert.True(t, h&0x7c00 == 0x7c00 && h&0x3ff != 0, "%#x", h)
		// A payload that lives only in the low bits must not become infinity.
		h = Float32ToFloat16(math.Float32frombits(0x7f800001))
		assert.True(t, h&0x7c00 == 0x7c00 && h&0x3ff != 0, "%#x", h)
	})
}

// TestFloat16RoundTrip checks every half value: converting to float32 and
// back is the identity, except that NaNs only stay NaN.
func TestFloat16RoundTrip(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := Float16ToFloat32(h)
		if math.IsNaN(float64(f)) {
			if !math.IsNaN(float64(Float16ToFloat32(Float32ToFloat16(f)))) {
				t.Fatalf("%#04x: NaN did not stay NaN", h)
			}
			continue
		}
		if got := Float32ToFloat16(f); got != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, got)
		}
	}
}

func TestBFloat16ToFloat32(t *testing.T) {
	assert.Equal(t, float32(1), BFloat16ToFloat32(0x3f80))
	assert.Equal(t, float32(-2), BFloat16ToFloat32(0xc000))
	assert.Equal(t, float32(3.140625), BFloat16ToFloat32(0x4049))
	assert.True(t, math.IsInf(float64(BFloat16ToFloat32(0x7f80)), 1))
}
