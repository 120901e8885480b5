// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quantBound returns the error bound Quantize documents for a block of
// type t holding x.
func quantBound(t TensorType, x []float32) float64 {
	var amax, lo, hi float64
	for _, v := range x {
		amax = max(amax, math.Abs(float64(v)))
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	const sub = 1.0 / (1 << 24)
	switch t {
	case TensorTypeQ8_0:
		return 0.51*amax/127 + sub
	case TensorTypeQ4_K:
		return 0.55*(hi-lo)/15 + sub
	case TensorTypeQ6_K:
		return 0.51*amax/31 + sub
	}
	return 0
}

// blocksOf returns test inputs: random normal values at several scales,
// and blocks that are constant, all zero, one-signed or have one outlier.
func blocksOf(n int) map[string][]float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(f func(i int) float32) []float32 {
		x := make([]float32, 4*n)
		for i := range x {
			x[i] = f(i)
		}
		return x
	}
	return map[string][]float32{
		"normal 0.02": gen(func(int) float32 { return float32(rng.NormFloat64() * 0.02) }),
		"normal 1":    gen(func(int) float32 { return float32(rng.NormFloat64()) }),
		"normal 1e3":  gen(func(int) float32 { return float32(rng.NormFloat64() * 1e3) }),
		"tiny 1e-6":   gen(func(int) float32 { return float32(rng.NormFloat64() * 1e-6) }),
		"zero":        gen(func(int) float32 { return 0 }),
		"constant":    gen(func(int) float32 { return 0.75 }),
		"negative":    gen(func(int) float32 { return -1 - float32(rng.Float64()) }),
		"positive":    gen(func(int) float32 { return 3 + float32(rng.Float64()) }),
		"outlier": gen(func(i int) float32 {
			if i%97 == 5 {
				return -40
			}
			return float32(rng.NormFloat64() * 0.1)
		}),
		"uniform wide": gen(func(i int) float32 { return float32(rng.Float64()*2-1) * 5e4 }),
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	for _, typ := range []TensorType{TensorTypeQ8_0, TensorTypeQ4_K, TensorTypeQ6_K} {
		bs := typ.BlockSize()
		for name, x := range blocksOf(bs) {
			t.Run(typ.String()+"/"+name, func(t *testing.T) {
				data, err := Quantize(typ, x)
				require.NoError(t, err)
				require.Len(t, data, len(x)/bs*typ.BlockBytes())
				y, err := Dequantize(typ, data, len(x))
				require.NoError(t, err)
				var worst float64 // largest error as a fraction of the bound
				for b := 0; b < len(x); b += bs {
					bound := quantBound(typ, x[b:b+bs])
					for i := b; i < b+bs; i++ {
						e := math.Abs(float64(x[i]) - float64(y[i]))
						require.LessOrEqual(t, e, bound, "value %d: %v decoded as %v", i, x[i], y[i])
						if bound > 0 {
							worst = max(worst, e/bound)
						}
					}
				}
				t.Logf("largest error: %.2f of the bound", worst)
			})
		}
	}
}

func TestQuantizeExactValues(t *testing.T) {
	// Values on the quantization grid come back exactly.
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i-16) / 8 // amax 2, d = 2/127 is not a half: use a power of two grid
	}
	x[0] = -127.0 / 64 // amax 127/64 makes d = 1/64, exact in half precision
	data, err := Quantize(TensorTypeQ8_0, x)
	require.NoError(t, err)
	y, err := Dequantize(TensorTypeQ8_0, data, 32)
	require.NoError(t, err)
	for i := 1; i < 32; i++ {
		assert.Equal(t, x[i], y[i], "value %d", i)
	}
	assert.Equal(t, x[0], y[0])

	zero, err := Quantize(TensorTypeQ6_K, make([]float32, 256))
	require.NoError(t, err)
	z, err := Dequantize(TensorTypeQ6_K, zero, 256)
	require.NoError(t, err)
	assert.Equal(t, make([]float32, 256), z)
}

func TestQuantizePlain(t *testing.T) {
	x := []float32{1, -2, 0.1, 65504, 1e-8, float32(math.Inf(1)), float32(math.NaN())}
	data, err := Quantize(TensorTypeF32, x)
	require.NoError(t, err)
	y, err := Dequantize(TensorTypeF32, data, len(x))
	require.NoError(t, err)
	for i := range x {
		assert.Equal(t, math.Float32bits(x[i]), math.Float32bits(y[i]), "F32 keeps the bits of value %d", i)
	}
	data, err = Quantize(TensorTypeF16, x)
	require.NoError(t, err)
	for i := range x {
		assert.Equal(t, Float32ToFloat16(x[i]), uint16(data[2*i])|uint16(data[2*i+1])<<8, "F16 value %d", i)
	}
}

func TestQuantizeErrors(t *testing.T) {
	big := make([]float32, 256)
	big[7] = 1e9
	nan := make([]float32, 32)
	nan[3] = float32(math.NaN())
	tests := []struct {
		name string
		typ  TensorType
		x    []float32
		want string
	}{
		{"unsupported", TensorTypeQ5_K, make([]float32, 256), "gguf: quantizing to Q5_K is not supported (want F32, F16, Q8_0, Q4_K or Q6_K)"},
		{"partial block", TensorTypeQ4_K, make([]float32, 255), "gguf: cannot quantize 255 values to Q4_K: not a multiple of the block size 256"},
		{"NaN", TensorTypeQ8_0, nan, "gguf: cannot quantize value 3 (NaN) to Q8_0: not finite"},
		{"too large", TensorTypeQ4_K, big, "gguf: cannot quantize value 7 (1e+09) to Q4_K: magnitude above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Quantize(tt.typ, tt.x)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	// The limits themselves are encodable.
	for typ, limit := range quantLimit {
		x := make([]float32, typ.BlockSize())
		x[0], x[1] = limit, -limit
		data, err := Quantize(typ, x)
		require.NoError(t, err, "%s", typ)
		y, err := Dequantize(typ, data, len(x))
		require.NoError(t, err)
		assert.InDelta(t, limit, y[0], quantBound(typ, x), "%s", typ)
		assert.InDelta(t, -limit, y[1], quantBound(typ, x), "%s", typ)
	}
}
