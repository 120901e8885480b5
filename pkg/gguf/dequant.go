// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dequantize decodes n values of type t from data to float32. n must be a
// multiple of t's block size and data must hold exactly n/BlockSize blocks.
//
// Supported types are F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K. The
// results are bit-identical to ggml's reference dequantize_row_* functions
// (ggml-quants.c): the same float32 operations in the same order, with
// explicit conversions that keep Go from fusing a multiply and subtract
// into one FMA, which ggml's portable C code does not do either.
func Dequantize(t TensorType, data []byte, n int) ([]float32, error) {
	if !canDequantize(t) {
		return nil, fmt.Errorf("gguf: %w", errUnsupportedType(t))
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	if n < 0 || n%bs != 0 {
		return nil, fmt.Errorf("gguf: cannot dequantize %d values of %s: not a multiple of the block size %d", n, t, bs)
	}
	blocks := n / bs
	if blocks > math.MaxInt/bb || blocks*bb != len(data) {
		return nil, fmt.Errorf("gguf: %d values of %s take %d blocks of %d bytes, got %d bytes", n, t, blocks, bb, len(data))
	}
	out := make([]float32, n)
	le := binary.LittleEndian
	switch t {
	case TensorTypeF32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
	case TensorTypeF16:
		for i := range out {
			out[i] = Float16ToFloat32(le.Uint16(data[2*i:]))
		}
	case TensorTypeBF16:
		for i := range out {
			out[i] = BFloat16ToFloat32(le.Uint16(data[2*i:]))
		}
	case TensorTypeQ8_0:
		for b := range blocks {
			dequantQ8_0(out[b*32:b*32+32], data[b*34:b*34+34])
		}
	case TensorTypeQ4_0:
		for b := range blocks {
			dequantQ4_0(out[b*32:b*32+32], data[b*18:b*18+18])
		}
	case TensorTypeQ4_K:
		for b := range blocks {
			dequantQ4_K(out[b*256:b*256+256], data[b*144:b*144+144])
		}
	case TensorTypeQ6_K:
		for b := range blocks {
			dequantQ6_K(out[b*256:b*256+256], data[b*210:b*210+210])
		}
	}
	return out, nil
}

func canDequantize(t TensorType) bool {
	switch t {
	case TensorTypeF32, TensorTypeF16, TensorTypeBF16,
		TensorTypeQ8_0, TensorTypeQ4_0, TensorTypeQ4_K, TensorTypeQ6_K:
		return true
	}
	return false
}

func errUnsupportedType(t TensorType) error {
	return fmt.Errorf("dequantizing %s is not supported", t)
}

func half(b []byte) float32 {
	return Float16ToFloat32(binary.LittleEndian.Uint16(b))
}

// dequantQ8_0 decodes block_q8_0: fp16 d, int8 qs[32]; y = qs·d.
func dequantQ8_0(y []float32, b []byte) {
	d := half(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

// dequantQ4_0 decodes block_q4_0: fp16 d, uint8 qs[16] holding values
// 0..15 in nibbles, offset by 8; low nibbles are the first 16 values.
func dequantQ4_0(y []float32, b []byte) {
	d := half(b)
	for j, q := range b[2:18] {
		y[j] = float32(int(q&0x0f)-8) * d
		y[j+16] = float32(int(q>>4)-8) * d
	}
}

// scaleMinK4 unpacks scale and min j (0..7) of a Q4_K or Q5_K block from
// its 12 bytes of packed 6-bit values (ggml's get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0x0f | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// dequantQ4_K decodes block_q4_K: fp16 d, fp16 dmin, uint8 scales[12],
// uint8 qs[128]. Each 64-value chunk uses two sub-block scales and mins;
// its 32 bytes give the low nibbles to the first 32 values and the high
// nibbles to the next 32.
func dequantQ4_K(y []float32, b []byte) {
	d, dmin := half(b[0:]), half(b[2:])
	scales, qs := b[4:16], b[16:144]
	for c := range 4 {
		sc, m := scaleMinK4(2*c, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(2*c+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		q := qs[32*c : 32*c+32]
		out := y[64*c : 64*c+64]
		for l := range 32 {
			out[l] = float32(d1*float32(q[l]&0x0f)) - m1
			out[l+32] = float32(d2*float32(q[l]>>4)) - m2
		}
	}
}

// dequantQ6_K decodes block_q6_K: uint8 ql[128] (low 4 bits), uint8
// qh[64] (high 2 bits), int8 scales[16], fp16 d. Values are 6-bit, offset
// by 32, in two halves of 128.
func dequantQ6_K(y []float32, b []byte) {
	d := half(b[208:])
	for h := range 2 {
		ql := b[64*h : 64*h+64]
		qh := b[128+32*h : 128+32*h+32]
		sc := b[192+8*h : 192+8*h+8]
		out := y[128*h : 128*h+128]
		for l := range 32 {
			is := l / 16
			q1 := int(ql[l]&0x0f|(qh[l]>>0&3)<<4) - 32
			q2 := int(ql[l+32]&0x0f|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			out[l] = d * float32(int8(sc[is])) * float32(q1)
			out[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			out[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			out[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}
