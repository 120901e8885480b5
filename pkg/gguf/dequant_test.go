// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runs expands (count, value) pairs into a slice.
func runs(pairs ...float32) []float32 {
	var out []float32
	for i := 0; i+1 < len(pairs); i += 2 {
		for range int(pairs[i]) {
			out = append(out, pairs[i+1])
		}
	}
	return out
}

func repeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDequantizePlain(t *testing.T) {
	tests := []struct {
		name string
		typ  TensorType
		data []byte
		want []float32
	}{
		{"F32", TensorTypeF32, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, []float32{1, -2}},
		{"F16", TensorTypeF16, []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b, 0x01, 0x00}, []float32{1, -2, 0.5, 65504, 5.960464477539063e-08}},
		{"BF16", TensorTypeBF16, []byte{0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40}, []float32{1, -2, 3.140625}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dequantize(tt.typ, tt.data, len(tt.want))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDequantizeQ8_0(t *testing.T) {
	// d = 0.5 (fp16 0x3800); qs[j] = j - 16, so x[j] = (j-16)/2.
	block := []byte{0x00, 0x38}
	for j := range 32 {
		block = append(block, byte(int8(j-16)))
	}
	want := []float32{
		-8, -7.5, -7, -6.5, -6, -5.5, -5, -4.5, -4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5,
		0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5,
	}
	got, err := Dequantize(TensorTypeQ8_0, block, 32)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestDequantizeQ4_0(t *testing.T) {
	// d = 0.25 (fp16 0x3400); qs[j] has low nibble j and high nibble 15-j.
	// x[j] = (j-8)/4 for the low nibbles, x[j+16] = (7-j)/4 for the high.
	block := []byte{0x00, 0x34}
	for j := range 16 {
		block = append(block, byte(j)|byte(15-j)<<4)
	}
	want := []float32{
		-2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75,
		1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25, 0, -0.25, -0.5, -0.75, -1, -1.25, -1.5, -1.75, -2,
	}
	got, err := Dequantize(TensorTypeQ4_0, block, 32)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// q4KScales packs the 6-bit scales sc = [1 2 3 4 17 18 35 63] and mins
// m = [0 1 2 3 4 20 36 50]: bytes 0-3 hold sc[0:4] with the top two bits
// of sc[4:8] in bits 6-7, bytes 4-7 hold m[0:4] with the top two bits of
// m[4:8], and bytes 8-11 hold the low nibbles of sc[4:8] and m[4:8].
var q4KScales = []byte{
	1 | 1<<6, 2 | 1<<6, 3 | 2<<6, 4 | 3<<6,
	0 | 0<<6, 1 | 1<<6, 2 | 2<<6, 3 | 3<<6,
	1 | 4<<4, 2 | 4<<4, 3 | 4<<4, 15 | 2<<4,
}

func TestScaleMinK4(t *testing.T) {
	var sc, m []uint8
	for j := range 8 {
		s, mm := scaleMinK4(j, q4KScales)
		sc, m = append(sc, s), append(m, mm)
	}
	assert.Equal(t, []uint8{1, 2, 3, 4, 17, 18, 35, 63}, sc)
	assert.Equal(t, []uint8{0, 1, 2, 3, 4, 20, 36, 50}, m)
}

func TestDequantizeQ4_K(t *testing.T) {
	// d = 1 (0x3c00), dmin = 0.5 (0x3800). Chunk c of 32 bytes is filled
	// with low nibble c+1 and high nibble 15-c; byte 7 of chunk 1 is 0x9e.
	qs := cat(repeat(0xf1, 32), repeat(0xe2, 32), repeat(0xd3, 32), repeat(0xc4, 32))
	qs[32+7] = 0x9e
	block := cat([]byte{0x00, 0x3c, 0x00, 0x38}, q4KScales, qs)
	require.Len(t, block, 144)
	// Value = d·sc·q − dmin·m:
	//   chunk 0: 1·1·1 − 0 = 1;        1·2·15 − 0.5·1 = 29.5
	//   chunk 1: 1·3·2 − 0.5·2 = 5;    1·4·14 − 0.5·3 = 54.5
	//            marker: 3·14 − 1 = 41; 4·9 − 1.5 = 34.5
	//   chunk 2: 17·3 − 0.5·4 = 49;    18·13 − 0.5·20 = 224
	//   chunk 3: 35·4 − 0.5·36 = 122;  63·12 − 0.5·50 = 731
	want := runs(32, 1, 32, 29.5, 7, 5, 1, 41, 24, 5, 7, 54.5, 1, 34.5, 24, 54.5, 32, 49, 32, 224, 32, 122, 32, 731)
	got, err := Dequantize(TensorTypeQ4_K, block, 256)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestDequantizeQ6_K(t *testing.T) {
	// Half 0: ql[0:32] = 0x21, ql[32:64] = 0x43, qh[0:32] = 0xe4 (high
	// bits 0,1,2,3 for the four quarters), so the 6-bit values are
	// 1, 3|1<<4 = 19, 2|2<<4 = 34, 4|3<<4 = 52, minus 32: -31, -13, 2, 20.
	// Half 1: ql[64:96] = 0xf0, ql[96:128] = 0x0f, qh[32:64] = 0x1b (high
	// bits 3,2,1,0): 0|3<<4 = 48, 15|2<<4 = 47, 15|1<<4 = 31, 0: 16, 15, -1, -32.
	// Marker: ql[5] = 0x7a gives value 5 the quant 10-32 = -22 and value
	// 69 the quant 7|2<<4 - 32 = 7.
	ql := cat(repeat(0x21, 32), repeat(0x43, 32), repeat(0xf0, 32), repeat(0x0f, 32))
	ql[5] = 0x7a
	qh := cat(repeat(0xe4, 32), repeat(0x1b, 32))
	// Scales 1, -1, 2, -2, ... 8, -8 as int8; d = 0.5 (fp16 0x3800).
	scales := []byte{1, 0xff, 2, 0xfe, 3, 0xfd, 4, 0xfc, 5, 0xfb, 6, 0xfa, 7, 0xf9, 8, 0xf8}
	block := cat(ql, qh, scales, []byte{0x00, 0x38})
	require.Len(t, block, 210)
	// Value i = d · scales[i/16] · quant.
	want := runs(
		5, -15.5, 1, -11, 10, -15.5, // 0.5·1·-31; marker 0.5·1·-22
		16, 15.5, // 0.5·-1·-31
		16, -13, 16, 13, // 0.5·±2·-13
		5, 3, 1, 10.5, 10, 3, // 0.5·3·2; marker 0.5·3·7
		16, -3, // 0.5·-3·2
		16, 40, 16, -40, // 0.5·±4·20
		16, 40, 16, -40, // 0.5·±5·16
		16, 45, 16, -45, // 0.5·±6·15
		16, -3.5, 16, 3.5, // 0.5·±7·-1
		16, -128, 16, 128, // 0.5·±8·-32
	)
	got, err := Dequantize(TensorTypeQ6_K, block, 256)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestDequantizeErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  TensorType
		data []byte
		n    int
		want string
	}{
		{"unsupported type", TensorTypeQ5_K, make([]byte, 176), 256, "gguf: dequantizing Q5_K is not supported"},
		{"unknown type", TensorType(31), nil, 0, "gguf: dequantizing TensorType(31) is not supported"},
		{"not a multiple of the block size", TensorTypeQ8_0, make([]byte, 34), 31, "cannot dequantize 31 values of Q8_0: not a multiple of the block size 32"},
		{"negative count", TensorTypeF32, nil, -1, "cannot dequantize -1 values of F32"},
		{"short data", TensorTypeQ4_0, make([]byte, 17), 32, "32 values of Q4_0 take 1 blocks of 18 bytes, got 17 bytes"},
		{"long data", TensorTypeF16, make([]byte, 6), 2, "2 values of F16 take 2 blocks of 2 bytes, got 6 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dequantize(tt.typ, tt.data, tt.n)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
