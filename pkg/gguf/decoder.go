// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	// maxStringLen and maxArrayLen are the limits llama.cpp applies to
	// strings (bytes) and arrays (elements).
	maxStringLen = 1 << 30
	maxArrayLen  = 1 << 30
	// maxArrayDepth bounds arrays of arrays; llama.cpp reads none at all.
	maxArrayDepth = 8
	// readChunk is how much is allocated at a time when reading a run of
	// bytes whose length could not be checked against the file size.
	readChunk = 1 << 20
)

// decoder reads the sequential part of a file (header, metadata, tensor
// infos) and tracks the offset for error messages. size is the file size,
// or -1 if unknown.
type decoder struct {
	r    *bufio.Reader
	off  int64
	size int64
}

func newDecoder(r io.ReaderAt, size int64) *decoder {
	n := size
	if n < 0 {
		n = math.MaxInt64
	}
	return &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, n), 64<<10), size: size}
}

// remaining returns the bytes left in the file, or MaxInt64 if the size is
// unknown.
func (d *decoder) remaining() int64 {
	if d.size < 0 {
		return math.MaxInt64
	}
	return max(d.size-d.off, 0)
}

func (d *decoder) errorf(off int64, format string, args ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}

// full fills buf, turning a short read into a FormatError that names what
// was being read.
func (d *decoder) full(buf []byte, what string) error {
	start := d.off
	n, err := io.ReadFull(d.r, buf)
	d.off += int64(n)
	return readError(err, start, what)
}

func readError(err error, off int64, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FormatError{Off: off, Msg: "unexpected end of file reading " + what}
	}
	return fmt.Errorf("gguf: reading %s at byte %#x: %w", what, off, err)
}

func (d *decoder) u8(what string) (uint8, error) {
	var b [1]byte
	err := d.full(b[:], what)
	return b[0], err
}

func (d *decoder) u32(what string) (uint32, error) {
	var b [4]byte
	err := d.full(b[:], what)
	return binary.LittleEndian.Uint32(b[:]), err
}

func (d *decoder) u64(what string) (uint64, error) {
	var b [8]byte
	err := d.full(b[:], what)
	return binary.LittleEndian.Uint64(b[:]), err
}

// bytes reads n bytes. The caller has checked n against remaining; when
// the file size is unknown the buffer grows with the data actually read,
// so a false length cannot make it allocate more than the file holds.
func (d *decoder) bytes(n int64, what string) ([]byte, error) {
	if d.size >= 0 || n <= readChunk {
		buf := make([]byte, n)
		return buf, d.full(buf, what)
	}
	start := d.off
	var buf []byte
	for int64(len(buf)) < n {
		k := min(n-int64(len(buf)), readChunk)
		buf = append(buf, make([]byte, k)...)
		if err := d.full(buf[int64(len(buf))-k:], what); err != nil {
			return nil, readError(io.ErrUnexpectedEOF, start, what)
		}
	}
	return buf, nil
}

// count checks a claimed element count n, each element taking at least
// elemSize bytes, against limit and against the bytes left in the file.
// It returns a capacity that is safe to preallocate.
func (d *decoder) count(off int64, n uint64, elemSize int64, limit uint64, what string) (int, error) {
	if n > limit {
		return 0, d.errorf(off, "%s %d exceeds the limit of %d", what, n, limit)
	}
	if left := d.remaining(); n > uint64(left/elemSize) {
		return 0, d.errorf(off, "%s %d does not fit in the %d bytes left in the file", what, n, left)
	}
	if d.size < 0 {
		return int(min(n, 4096)), nil
	}
	return int(n), nil
}

// string reads a GGUF string: a uint64 length and that many bytes.
func (d *decoder) string(what string) (string, error) {
	start := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if _, err := d.count(start, n, 1, maxStringLen, what+" length"); err != nil {
		return "", err
	}
	b, err := d.bytes(int64(n), what)
	return string(b), err
}

// value reads a metadata value of type t.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	start := d.off
	switch t {
	case ValueTypeUint8:
		x, err := d.u8("value")
		return Value{x}, err
	case ValueTypeInt8:
		x, err := d.u8("value")
		return Value{int8(x)}, err
	case ValueTypeUint16:
		var b [2]byte
		err := d.full(b[:], "value")
		return Value{binary.LittleEndian.Uint16(b[:])}, err
	case ValueTypeInt16:
		var b [2]byte
		err := d.full(b[:], "value")
		return Value{int16(binary.LittleEndian.Uint16(b[:]))}, err
	case ValueTypeUint32:
		x, err := d.u32("value")
		return Value{x}, err
	case ValueTypeInt32:
		x, err := d.u32("value")
		return Value{int32(x)}, err
	case ValueTypeFloat32:
		x, err := d.u32("value")
		return Value{math.Float32frombits(x)}, err
	case ValueTypeBool:
		x, err := d.u8("value")
		return Value{x != 0}, err
	case ValueTypeString:
		s, err := d.string("string value")
		return Value{s}, err
	case ValueTypeArray:
		return d.array(depth)
	case ValueTypeUint64:
		x, err := d.u64("value")
		return Value{x}, err
	case ValueTypeInt64:
		x, err := d.u64("value")
		return Value{int64(x)}, err
	case ValueTypeFloat64:
		x, err := d.u64("value")
		return Value{math.Float64frombits(x)}, err
	}
	return Value{}, d.errorf(start, "invalid value type %d", uint32(t))
}

// array reads an array value: element type, count, elements.
func (d *decoder) array(depth int) (Value, error) {
	start := d.off
	if depth >= maxArrayDepth {
		return Value{}, d.errorf(start, "arrays nested more than %d deep", maxArrayDepth)
	}
	et32, err := d.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	et := ValueType(et32)
	if !et.valid() {
		return Value{}, d.errorf(start, "invalid array element type %d", et32)
	}
	n, err := d.u64("array length")
	if err != nil {
		return Value{}, err
	}
	capHint, err := d.count(start+4, n, et.minSize(), maxArrayLen, "array length")
	if err != nil {
		return Value{}, err
	}
	switch et {
	case ValueTypeString:
		s := make([]string, 0, capHint)
		for range n {
			x, err := d.string("string element")
			if err != nil {
				return Value{}, err
			}
			s = append(s, x)
		}
		return Value{s}, nil
	case ValueTypeArray:
		s := make([]Value, 0, capHint)
		for range n {
			x, err := d.array(depth + 1)
			if err != nil {
				return Value{}, err
			}
			s = append(s, x)
		}
		return Value{s}, nil
	}
	raw, err := d.bytes(int64(n)*et.minSize(), "array elements")
	if err != nil {
		return Value{}, err
	}
	return Value{decodeFixed(et, raw)}, nil
}

// decodeFixed turns the little-endian encoding of an array of fixed-size
// elements into the matching Go slice.
func decodeFixed(et ValueType, raw []byte) any {
	le := binary.LittleEndian
	switch et {
	case ValueTypeUint8:
		return raw
	case ValueTypeInt8:
		return decodeEach(raw, 1, func(b []byte) int8 { return int8(b[0]) })
	case ValueTypeBool:
		return decodeEach(raw, 1, func(b []byte) bool { return b[0] != 0 })
	case ValueTypeUint16:
		return decodeEach(raw, 2, le.Uint16)
	case ValueTypeInt16:
		return decodeEach(raw, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
	case ValueTypeUint32:
		return decodeEach(raw, 4, le.Uint32)
	case ValueTypeInt32:
		return decodeEach(raw, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
	case ValueTypeFloat32:
		return decodeEach(raw, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case ValueTypeUint64:
		return decodeEach(raw, 8, le.Uint64)
	case ValueTypeInt64:
		return decodeEach(raw, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
	case ValueTypeFloat64:
		return decodeEach(raw, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	}
	return nil
}

func decodeEach[T any](raw []byte, size int, f func([]byte) T) []T {
	out := make([]T, len(raw)/size)
	for i := range out {
		out[i] = f(raw[i*size:])
	}
	return out
}
