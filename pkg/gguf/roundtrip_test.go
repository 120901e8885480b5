// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustValue(t *testing.T, x any) Value {
	t.Helper()
	v, err := ValueOf(x)
	require.NoError(t, err)
	return v
}

// everyValue returns one entry per scalar type, one array per element
// type, an empty array and arrays of arrays.
func everyValue(t *testing.T) []KV {
	return []KV{
		{"u8", mustValue(t, uint8(200))},
		{"i8", mustValue(t, int8(-100))},
		{"u16", mustValue(t, uint16(60000))},
		{"i16", mustValue(t, int16(-30000))},
		{"u32", mustValue(t, uint32(4_000_000_000))},
		{"i32", mustValue(t, int32(-2_000_000_000))},
		{"f32", mustValue(t, float32(3.5))},
		{"bool", mustValue(t, true)},
		{"string", mustValue(t, "héllo ▁world")},
		{"empty string", mustValue(t, "")},
		{"u64", mustValue(t, uint64(1<<63+5))},
		{"i64", mustValue(t, int64(-1<<62))},
		{"f64", mustValue(t, math.Pi)},
		{"[]u8", mustValue(t, []uint8{0, 1, 255})},
		{"[]i8", mustValue(t, []int8{-128, 0, 127})},
		{"[]u16", mustValue(t, []uint16{0, 65535})},
		{"[]i16", mustValue(t, []int16{-32768, 32767})},
		{"[]u32", mustValue(t, []uint32{0, math.MaxUint32})},
		{"[]i32", mustValue(t, []int32{math.MinInt32, 1})},
		{"[]f32", mustValue(t, []float32{-0.5, float32(math.Inf(1))})},
		{"[]bool", mustValue(t, []bool{true, false, true})},
		{"[]string", mustValue(t, []string{"<unk>", "", "▁the"})},
		{"[]u64", mustValue(t, []uint64{math.MaxUint64})},
		{"[]i64", mustValue(t, []int64{math.MinInt64, math.MaxInt64})},
		{"[]f64", mustValue(t, []float64{1e300, -1e-300})},
		{"empty []u16", mustValue(t, []uint16{})},
		{"[][]", mustValue(t, []Value{
			mustValue(t, []int32{1, 2}),
			mustValue(t, []string{"a"}),
			mustValue(t, []Value{mustValue(t, []uint8{7})}),
			mustValue(t, []Value{}),
		})},
	}
}

func f32bytes(xs ...float32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, alignment := range []uint32{0, 1, 64} {
		var b Builder
		kvs := everyValue(t)
		if alignment != 0 {
			kvs = append(kvs, KV{KeyAlignment, mustValue(t, alignment)})
		}
		for _, kv := range kvs {
			require.NoError(t, b.AddKV(kv.Key, kv.Value))
		}
		q8 := append([]byte{0x00, 0x3c}, make([]byte, 32)...) // d = 1, all zero
		q8[2] = 5
		tensors := []struct {
			info TensorInfo
			data []byte
		}{
			{TensorInfo{Name: "vec", Type: TensorTypeF32, Dims: []uint64{3}}, f32bytes(1, 2, 3)},
			{TensorInfo{Name: "half", Type: TensorTypeF16, Dims: []uint64{2, 2}}, []byte{0, 0x3c, 0, 0xc0, 0, 0x38, 0, 0}},
			{TensorInfo{Name: "q8", Type: TensorTypeQ8_0, Dims: []uint64{32, 1, 1}}, q8},
			{TensorInfo{Name: "scalar", Type: TensorTypeF32, Dims: []uint64{}}, f32bytes(9)},
			{TensorInfo{Name: "empty", Type: TensorTypeF32, Dims: []uint64{0}}, nil},
		}
		for _, tt := range tensors {
			require.NoError(t, b.AddTensor(tt.info.Name, tt.info.Type, tt.info.Dims, tt.data))
		}
		var buf bytes.Buffer
		n, err := b.WriteTo(&buf)
		require.NoError(t, err)
		require.Equal(t, int64(buf.Len()), n)

		f, err := NewFile(bytes.NewReader(buf.Bytes()))
		require.NoError(t, err, "alignment %d", alignment)
		assert.Equal(t, uint32(Version), f.Version)
		assert.Equal(t, kvs, f.Metadata)
		wantAlign := uint32(DefaultAlignment)
		if alignment != 0 {
			wantAlign = alignment
		}
		assert.Equal(t, wantAlign, f.Alignment)
		assert.Zero(t, f.DataOffset%int64(wantAlign))

		var off uint64
		require.Len(t, f.Tensors, len(tensors))
		for i, tt := range tensors {
			got := f.Tensors[i]
			assert.Equal(t, tt.info.Name, got.Name)
			assert.Equal(t, tt.info.Type, got.Type)
			assert.Equal(t, tt.info.Dims, got.Dims)
			assert.Equal(t, off, got.Offset, "offsets are cumulative sizes padded to the alignment")
			off += uint64(alignUp(int64(len(tt.data)), int64(wantAlign)))
			data, err := f.ReadTensor(tt.info.Name)
			require.NoError(t, err)
			assert.Equal(t, len(tt.data), len(data))
			if len(tt.data) > 0 {
				assert.Equal(t, tt.data, data)
			}
		}
		assert.Equal(t, f.DataOffset+int64(off), int64(buf.Len()), "the data section is padded to the alignment")

		row, err := f.DequantizeRow("half", 1)
		require.NoError(t, err)
		assert.Equal(t, []float32{0.5, 0}, row)
		row, err = f.DequantizeRow("q8", 0)
		require.NoError(t, err)
		assert.Equal(t, float32(5), row[0])
		row, err = f.DequantizeRow("scalar", 0)
		require.NoError(t, err)
		assert.Equal(t, []float32{9}, row)
		row, err = f.DequantizeRow("empty", 0)
		require.NoError(t, err)
		assert.Empty(t, row)

		// Writing again gives the same bytes.
		var again bytes.Buffer
		_, err = b.WriteTo(&again)
		require.NoError(t, err)
		assert.Equal(t, buf.Bytes(), again.Bytes())
	}
}

func TestBuilderErrors(t *testing.T) {
	var b Builder
	require.NoError(t, b.AddKV("a", uint32(1)))
	require.NoError(t, b.AddTensor("t", TensorTypeF32, []uint64{1}, make([]byte, 4)))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"empty key", b.AddKV("", uint32(1)), "gguf: empty metadata key"},
		{"duplicate key", b.AddKV("a", uint32(2)), `gguf: duplicate metadata key "a"`},
		{"Go int", b.AddKV("n", 5), `gguf: unsupported Go type int for a metadata value (metadata key "n")`},
		{"invalid Value", b.AddKV("v", Value{}), `gguf: invalid Value (metadata key "v")`},
		{"array of scalars as []Value", b.AddKV("v", []Value{mustValue(t, uint8(1))}), `gguf: element 0 of a []Value is uint8, want an array (metadata key "v")`},
		{"alignment type", b.AddKV(KeyAlignment, uint64(64)), "gguf: general.alignment has type uint64, want uint32"},
		{"alignment value", b.AddKV(KeyAlignment, uint32(24)), "gguf: general.alignment 24 is not a power of two"},
		{"empty name", b.AddTensor("", TensorTypeF32, []uint64{1}, make([]byte, 4)), "gguf: empty tensor name"},
		{"long name", b.AddTensor(strings.Repeat("n", 64), TensorTypeF32, []uint64{1}, make([]byte, 4)), `gguf: tensor name "` + strings.Repeat("n", 64) + `" is 64 bytes long, the limit is 63`},
		{"duplicate tensor", b.AddTensor("t", TensorTypeF32, []uint64{1}, make([]byte, 4)), `gguf: duplicate tensor name "t"`},
		{"too many dims", b.AddTensor("u", TensorTypeF32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4)), `gguf: tensor "u" has 5 dimensions, the limit is 4`},
		{"unknown type", b.AddTensor("u", TensorType(99), []uint64{1}, nil), `gguf: tensor "u" has unknown type TensorType(99)`},
		{"block size", b.AddTensor("u", TensorTypeQ4_K, []uint64{128}, nil), `gguf: tensor "u" of type Q4_K has row length 128, not a multiple of the block size 256`},
		{"overflow", b.AddTensor("u", TensorTypeF32, []uint64{1 << 40, 1 << 40}, nil), `gguf: tensor "u" dimensions [1099511627776 1099511627776] overflow`},
		{"too large", b.AddTensor("u", TensorTypeF32, []uint64{1 << 31, 1 << 31}, nil), `gguf: tensor "u" of type F32 with dimensions [2147483648 2147483648] is too large`},
		{"wrong data size", b.AddTensor("u", TensorTypeQ8_0, []uint64{64}, make([]byte, 34)), `gguf: tensor "u" of type Q8_0 and dimensions [64] takes 68 bytes, got 34`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, tt.err, tt.want)
		})
	}
}

func TestBuilderTensorFunc(t *testing.T) {
	var b Builder
	require.NoError(t, b.AddTensorFunc("ok", TensorTypeF32, []uint64{2}, func(w io.Writer) error {
		_, err := w.Write(f32bytes(1, 2))
		return err
	}))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	f, err := NewFile(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	row, err := f.DequantizeRow("ok", 0)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2}, row)

	require.NoError(t, b.AddTensorFunc("short", TensorTypeF32, []uint64{2}, func(w io.Writer) error {
		_, err := w.Write(f32bytes(1))
		return err
	}))
	_, err = b.WriteTo(io.Discard)
	assert.EqualError(t, err, `gguf: tensor "short": write function wrote 4 bytes, want 8`)
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, io.ErrShortWrite
	}
	w.after -= len(p)
	return len(p), nil
}

func TestBuilderWriteError(t *testing.T) {
	var b Builder
	require.NoError(t, b.AddKV("k", make([]string, 10_000)))
	require.NoError(t, b.AddTensor("t", TensorTypeF32, []uint64{1}, make([]byte, 4)))
	for _, after := range []int{0, 100, 80_000} {
		_, err := b.WriteTo(&failWriter{after: after})
		assert.ErrorIs(t, err, io.ErrShortWrite, "after %d", after)
	}
}
