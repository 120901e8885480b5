// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raw assembles GGUF bytes by hand, for inputs the Builder refuses to make.
type raw struct{ bytes.Buffer }

func header(version uint32, nTensors, nKV uint64) *raw {
	r := &raw{}
	r.WriteString("GGUF")
	return r.u32(version).u64(nTensors).u64(nKV)
}

func (r *raw) u32(v uint32) *raw {
	r.Write(binary.LittleEndian.AppendUint32(nil, v))
	return r
}

func (r *raw) u64(v uint64) *raw {
	r.Write(binary.LittleEndian.AppendUint64(nil, v))
	return r
}

func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }

// kvU32 appends a uint32 metadata entry.
func (r *raw) kvU32(key string, v uint32) *raw {
	return r.str(key).u32(uint32(ValueTypeUint32)).u32(v)
}

// tensor appends a tensor description.
func (r *raw) tensor(name string, typ TensorType, off uint64, dims ...uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(off)
}

// padTo appends zeros up to a multiple of a.
func (r *raw) padTo(a int) *raw {
	for r.Len()%a != 0 {
		r.WriteByte(0)
	}
	return r
}

// text appends s without a length.
func (r *raw) text(s string) *raw { r.WriteString(s); return r }

func (r *raw) zeros(n int) *raw { r.Write(make([]byte, n)); return r }

// nested appends an array value nested depth levels deep.
func (r *raw) nested(depth int) *raw {
	for range depth {
		r.u32(uint32(ValueTypeArray)).u64(1)
	}
	return r.u32(uint32(ValueTypeUint8)).u64(0)
}

// onlyReaderAt hides every method but ReadAt, so NewFile cannot learn the
// size.
type onlyReaderAt struct{ r io.ReaderAt }

func (o onlyReaderAt) ReadAt(p []byte, off int64) (int, error) { return o.r.ReadAt(p, off) }

func TestNewFileMalformed(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "gguf: unexpected end of file reading magic number at byte 0x0"},
		{"bad magic", []byte("GGJT\x03\x00\x00\x00"), `gguf: bad magic number "GGJT", want "GGUF" at byte 0x0`},
		{"elf", []byte("\x7fELF\x02\x01\x01"), `bad magic number "\x7fELF"`},
		{"truncated version", []byte("GGUF\x03"), "gguf: unexpected end of file reading version at byte 0x4"},
		{"version 1", header(1, 0, 0).Bytes(), "gguf: unsupported version 1 (GGUF v1 is obsolete; versions 2 and 3 are supported) at byte 0x4"},
		{"version 0", header(0, 0, 0).Bytes(), "unsupported version 0 (versions 2 and 3 are supported)"},
		{"version 4", header(4, 0, 0).Bytes(), "gguf: unsupported version 4 (versions 2 and 3 are supported) at byte 0x4"},
		{"big-endian v3", header(0x03000000, 0, 0).Bytes(), "unsupported version 0x3000000: the file is big-endian (byte-swapped) or corrupt at byte 0x4"},
		{"truncated tensor count", []byte("GGUF\x03\x00\x00\x00\x00\x00"), "gguf: unexpected end of file reading tensor count at byte 0x8"},
		{"truncated metadata count", header(3, 0, 0).Bytes()[:20], "gguf: unexpected end of file reading metadata count at byte 0x10"},
		{"2^60 tensors", header(3, 1<<60, 0).Bytes(), "gguf: tensor count 1152921504606846976 exceeds the limit of 1073741824 at byte 0x8"},
		{"2^60 metadata entries", header(3, 0, 1<<60).Bytes(), "gguf: metadata count 1152921504606846976 exceeds the limit of 1073741824 at byte 0x10"},
		{"more tensors than bytes", header(3, 1000, 0).zeros(64).Bytes(), "gguf: tensor count 1000 does not fit in the 64 bytes left in the file at byte 0x8"},
		{"more entries than bytes", header(3, 0, 1000).zeros(64).Bytes(), "gguf: metadata count 1000 does not fit in the 64 bytes left in the file at byte 0x10"},
		{"tensors and entries together too many", header(3, 2, 2).zeros(70).Bytes(), "gguf: 2 tensors and 2 metadata entries do not fit in the 70 bytes left in the file at byte 0x8"},
		{"1 TB key", header(3, 0, 1).u64(1 << 40).zeros(16).Bytes(), "gguf: metadata key length 1099511627776 exceeds the limit of 1073741824 at byte 0x18"},
		{"key longer than file", header(3, 0, 1).u64(1000).zeros(16).Bytes(), "gguf: metadata key length 1000 does not fit in the 16 bytes left in the file at byte 0x18"},
		{"truncated key, size known", header(3, 0, 1).u64(5).text("ab").Bytes(), "gguf: metadata count 1 does not fit in the 10 bytes left in the file at byte 0x10"},
		{"1 TB string value", header(3, 0, 1).str("k").u32(uint32(ValueTypeString)).u64(1 << 40).zeros(8).Bytes(), "gguf: string value length 1099511627776 exceeds the limit of 1073741824 at byte 0x25"},
		{"invalid value type", header(3, 0, 1).str("k").u32(13).zeros(8).Bytes(), `gguf: metadata key "k" has invalid value type 13 at byte 0x21`},
		{"truncated value", header(3, 0, 1).str("k").u32(uint32(ValueTypeUint64)).zeros(3).Bytes(), "gguf: unexpected end of file reading value at byte 0x25"},
		{"array of 2^40 elements", header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeUint8)).u64(1 << 40).zeros(8).Bytes(), "gguf: array length 1099511627776 exceeds the limit of 1073741824 at byte 0x29"},
		{"array longer than file", header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeUint32)).u64(1000).zeros(8).Bytes(), "gguf: array length 1000 does not fit in the 8 bytes left in the file at byte 0x29"},
		{"string array longer than file", header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeString)).u64(2).zeros(15).Bytes(), "array length 2 does not fit in the 15 bytes left"},
		{"invalid array element type", header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(99).u64(0).Bytes(), "gguf: invalid array element type 99 at byte 0x25"},
		{"arrays nested too deep", header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).nested(8).Bytes(), "gguf: arrays nested more than 8 deep"},
		{"duplicate key", header(3, 0, 2).kvU32("a", 1).kvU32("a", 2).Bytes(), "gguf: duplicate metadata key 'a' at byte 0x29"},
		{"alignment of the wrong type", header(3, 0, 1).str(KeyAlignment).u32(uint32(ValueTypeUint64)).u64(64).Bytes(), "gguf: general.alignment has type uint64, want uint32 at byte 0x35"},
		{"alignment not a power of two", header(3, 0, 1).kvU32(KeyAlignment, 48).Bytes(), "gguf: general.alignment 48 is not a power of two at byte 0x35"},
		{"alignment zero", header(3, 0, 1).kvU32(KeyAlignment, 0).Bytes(), "gguf: general.alignment 0 is not a power of two"},
		{"tensor name too long", header(3, 1, 0).tensor(long, TensorTypeF32, 0, 1).Bytes(), "gguf: tensor name is 64 bytes long, the limit is 63 '" + long + "' at byte 0x18"},
		{"duplicate tensor", header(3, 2, 0).tensor("x", TensorTypeF32, 0, 8).tensor("x", TensorTypeF32, 32, 8).padTo(32).zeros(64).Bytes(), "gguf: duplicate tensor name 'x' at byte 0x39"},
		{"five dimensions", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 1, 1, 1, 1, 1).Bytes(), `gguf: tensor "x" has 5 dimensions, the limit is 4 at byte 0x21`},
		{"2^31 dimensions", header(3, 1, 0).str("x").u32(1 << 31).zeros(64).Bytes(), `tensor "x" has 2147483648 dimensions, the limit is 4`},
		{"dimensions overflow", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 1<<32, 1<<32).Bytes(), `gguf: tensor "x" dimensions [4294967296 4294967296] overflow at byte 0x2d`},
		{"size overflows", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 1<<31, 1<<31).Bytes(), `gguf: tensor "x" of type F32 with dimensions [2147483648 2147483648] is too large at byte 0x35`},
		{"row not a multiple of the block size", header(3, 1, 0).tensor("x", TensorTypeQ4_0, 0, 33).Bytes(), `gguf: tensor "x" of type Q4_0 has row length 33, not a multiple of the block size 32 at byte 0x2d`},
		{"truncated tensor info, size known", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 8).Bytes()[:50], "gguf: unexpected end of file reading data offset of tensor x at byte 0x31"},
		{"misaligned offset", header(3, 1, 0).tensor("x", TensorTypeF32, 4, 1).padTo(32).zeros(64).Bytes(), `gguf: tensor "x" data offset 4 is not a multiple of the alignment 32 at byte 0x31`},
		{"data past the end", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 8).padTo(32).zeros(31).Bytes(), `gguf: tensor "x" data (32 bytes at data offset 0) extends past the end of the file (data section is 31 bytes) at byte 0x31`},
		{"offset past the end", header(3, 1, 0).tensor("x", TensorTypeF32, 1<<40, 8).padTo(32).zeros(32).Bytes(), `tensor "x" data (32 bytes at data offset 1099511627776) extends past the end of the file`},
		{"huge tensor in a small file", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 1<<30, 1<<30).padTo(32).Bytes(), `tensor "x" data (4611686018427387904 bytes at data offset 0) extends past the end of the file (data section is 0 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFile(bytes.NewReader(tt.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestNewFileTruncatedWithoutSize covers truncation that only a reader of
// unknown size reaches: with the size known, the counts fail first.
func TestNewFileTruncatedWithoutSize(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"truncated key", header(3, 0, 1).u64(5).text("ab").Bytes(), "gguf: unexpected end of file reading metadata key at byte 0x20"},
		{"truncated tensor info", header(3, 1, 0).tensor("x", TensorTypeF32, 0, 8).Bytes()[:50], `gguf: unexpected end of file reading data offset of tensor x at byte 0x31`},
		{"truncated string array, size unknown", header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeString)).u64(3).str("a").u64(9).Bytes(), "gguf: unexpected end of file reading string element at byte 0x42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFile(onlyReaderAt{bytes.NewReader(tt.input)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestFormatErrorType(t *testing.T) {
	_, err := NewFile(bytes.NewReader(header(1, 0, 0).Bytes()))
	var fe *FormatError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, int64(4), fe.Off)
	assert.Equal(t, "gguf: x '7' at byte 0x10", (&FormatError{Off: 16, Msg: "x", Val: 7}).Error())
}

// TestHostileClaimsFailFast checks that a count or length the file cannot
// hold fails without allocating in proportion to the claim, whether or not
// NewFile can learn the file size.
func TestHostileClaimsFailFast(t *testing.T) {
	inputs := map[string][]byte{
		"2^30 tensors":         header(3, 1<<30, 0).zeros(100).Bytes(),
		"2^30 entries":         header(3, 0, 1<<30).zeros(100).Bytes(),
		"1 GiB key":            header(3, 0, 1).u64(1 << 30).zeros(100).Bytes(),
		"1 GiB string value":   header(3, 0, 1).str("k").u32(uint32(ValueTypeString)).u64(1 << 30).zeros(100).Bytes(),
		"2^30 uint64 array":    header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeUint64)).u64(1 << 30).zeros(100).Bytes(),
		"2^30 string array":    header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeString)).u64(1 << 30).zeros(100).Bytes(),
		"2^30 array of arrays": header(3, 0, 1).str("k").u32(uint32(ValueTypeArray)).u32(uint32(ValueTypeArray)).u64(1 << 30).zeros(100).Bytes(),
	}
	for name, input := range inputs {
		for _, sized := range []bool{true, false} {
			var r io.ReaderAt = bytes.NewReader(input)
			if !sized {
				r = onlyReaderAt{r}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := NewFile(r)
			runtime.ReadMemStats(&after)
			require.Error(t, err, "%s (sized %v)", name, sized)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "%s (sized %v) allocated too much", name, sized)
		}
	}
}

func TestReaderSize(t *testing.T) {
	data := tinyFile(t)
	want := int64(len(data))
	path := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	osf, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, osf.Close()) })

	readers := map[string]io.ReaderAt{
		"bytes.Reader":  bytes.NewReader(data),
		"SectionReader": io.NewSectionReader(bytes.NewReader(data), 0, want),
		"os.File":       osf,
		"Seeker":        &seekerAt{r: bytes.NewReader(data)},
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			f, err := NewFile(r)
			require.NoError(t, err)
			assert.Equal(t, want, f.Size)
		})
	}
	t.Run("unknown", func(t *testing.T) {
		f, err := NewFile(onlyReaderAt{bytes.NewReader(data)})
		require.NoError(t, err)
		assert.Equal(t, int64(-1), f.Size)
		assert.Equal(t, int64(-1), f.Facts().Size)
		row, err := f.DequantizeRow("w", 1)
		require.NoError(t, err)
		assert.Equal(t, []float32{4, 5, 6, 7}, row)
	})
}

// seekerAt offers ReadAt and Seek but no Size.
type seekerAt struct{ r *bytes.Reader }

func (s *seekerAt) ReadAt(p []byte, off int64) (int, error) { return s.r.ReadAt(p, off) }

func (s *seekerAt) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }

// tinyFile returns a file with one metadata entry and one 4×2 F32 tensor
// "w" holding 0..7.
func tinyFile(t *testing.T) []byte {
	t.Helper()
	var b Builder
	require.NoError(t, b.AddKV(KeyArchitecture, "llama"))
	data := make([]byte, 0, 32)
	for i := range 8 {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(i)))
	}
	require.NoError(t, b.AddTensor("w", TensorTypeF32, []uint64{4, 2}, data))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(path, tinyFile(t), 0o644))
	f, err := Open(path)
	require.NoError(t, err)
	arch, ok := f.Architecture()
	assert.True(t, ok)
	assert.Equal(t, "llama", arch)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "a second Close is a no-op")

	_, err = Open(filepath.Join(t.TempDir(), "missing.gguf"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(t.TempDir(), "bad.gguf")
	require.NoError(t, os.WriteFile(bad, []byte("not a model"), 0o644))
	_, err = Open(bad)
	assert.EqualError(t, err, `gguf: bad magic number "not ", want "GGUF" at byte 0x0`)
}

func TestTensorAccess(t *testing.T) {
	f, err := NewFile(bytes.NewReader(tinyFile(t)))
	require.NoError(t, err)

	ti, ok := f.Tensor("w")
	require.True(t, ok)
	assert.Equal(t, uint64(8), ti.Elements())
	assert.Equal(t, uint64(4), ti.RowLength())
	assert.Equal(t, uint64(2), ti.Rows())
	assert.Equal(t, int64(32), ti.Size())

	sr, err := f.TensorData("w")
	require.NoError(t, err)
	assert.Equal(t, int64(32), sr.Size())
	data, err := f.ReadTensor("w")
	require.NoError(t, err)
	assert.Len(t, data, 32)

	row, err := f.DequantizeRow("w", 0)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 1, 2, 3}, row)

	_, err = f.DequantizeRow("w", 2)
	assert.EqualError(t, err, `gguf: tensor "w": row 2 out of range [0, 2)`)
	_, err = f.DequantizeRow("w", -1)
	assert.EqualError(t, err, `gguf: tensor "w": row -1 out of range [0, 2)`)
	_, err = f.DequantizeRow("nope", 0)
	assert.ErrorIs(t, err, ErrNoTensor)
	assert.EqualError(t, err, `gguf: tensor "nope": no such tensor`)
	_, err = f.TensorData("nope")
	assert.ErrorIs(t, err, ErrNoTensor)
}

func TestUnknownTensorType(t *testing.T) {
	// Types ggml removed (31 was Q4_0_4_4) are read but their data is not.
	input := header(3, 2, 0).tensor("odd", TensorType(31), 0, 7).tensor("w", TensorTypeF32, 64, 2).padTo(32).zeros(72).Bytes()
	f, err := NewFile(bytes.NewReader(input))
	require.NoError(t, err)
	ti, _ := f.Tensor("odd")
	assert.Equal(t, "TensorType(31)", ti.Type.String())
	assert.Equal(t, int64(-1), ti.Size())
	_, err = f.TensorData("odd")
	assert.EqualError(t, err, `gguf: tensor "odd" has unknown type TensorType(31)`)
	_, err = f.DequantizeRow("odd", 0)
	assert.EqualError(t, err, `gguf: tensor "odd" has unknown type TensorType(31)`)
	_, err = f.DequantizeRow("w", 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(9), f.Facts().ParameterCount)
	assert.Equal(t, int64(8), f.Facts().TensorBytes)
}

func TestVersion2(t *testing.T) {
	data := tinyFile(t)
	data[4] = 2
	f, err := NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, uint32(2), f.Version)
}

func TestTruncatedTensorDataWithoutSize(t *testing.T) {
	data := tinyFile(t)
	f, err := NewFile(onlyReaderAt{bytes.NewReader(data[:len(data)-8])})
	require.NoError(t, err)
	_, err = f.DequantizeRow("w", 1)
	assert.ErrorContains(t, err, `gguf: unexpected end of file reading data of tensor "w"`)
	_, err = f.ReadTensor("w")
	assert.ErrorContains(t, err, `unexpected end of file reading data of tensor "w"`)
}
