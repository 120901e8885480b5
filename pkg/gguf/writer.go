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
	"math/bits"
)

// Builder assembles a GGUF version 3 file: metadata entries and tensors are
// added in the order they are to appear, and WriteTo emits the file. The
// zero value is ready to use.
//
// Tensor data offsets are the running sum of the previous tensors' sizes,
// each padded to the alignment, which is what llama.cpp requires; the data
// section, including the last tensor, is zero-padded to the alignment.
//
// Integer metadata is written with exactly the Go type given, so pass
// uint32 for the counts llama.cpp reads (context length, block count, head
// counts, token ids): llama.cpp rejects a uint64 there.
type Builder struct {
	kvs       []KV
	keys      map[string]bool
	tensors   []builderTensor
	names     map[string]bool
	alignment uint32
}

type builderTensor struct {
	info  TensorInfo
	size  int64
	data  []byte
	write func(io.Writer) error
}

// AddKV appends the metadata entry key = x, where x is a [Value] or any Go
// type [ValueOf] accepts. Setting general.alignment (a uint32 power of two)
// also sets the alignment the file is written with.
func (b *Builder) AddKV(key string, x any) error {
	if key == "" {
		return errors.New("gguf: empty metadata key")
	}
	if b.keys[key] {
		return fmt.Errorf("gguf: duplicate metadata key %q", key)
	}
	v, err := ValueOf(x)
	if err != nil {
		return fmt.Errorf("%w (metadata key %q)", err, key)
	}
	if key == KeyAlignment {
		a, ok := v.Any().(uint32)
		if !ok {
			return fmt.Errorf("gguf: %s has type %s, want uint32", KeyAlignment, v.Type())
		}
		if a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf: %s %d is not a power of two", KeyAlignment, a)
		}
		b.alignment = a
	}
	if b.keys == nil {
		b.keys = map[string]bool{}
	}
	b.keys[key] = true
	b.kvs = append(b.kvs, KV{Key: key, Value: v})
	return nil
}

// AddTensor appends a tensor with the given name, type and dimensions (in
// ggml order, row length first) and its encoded data, which must be
// exactly the tensor's size. The data is not copied; it must not change
// before WriteTo.
func (b *Builder) AddTensor(name string, typ TensorType, dims []uint64, data []byte) error {
	t, size, err := b.newTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q of type %s and dimensions %v takes %d bytes, got %d", name, typ, dims, size, len(data))
	}
	b.add(builderTensor{info: t, size: size, data: data})
	return nil
}

// AddTensorFunc is like AddTensor, but the data is produced during WriteTo
// by write, which must write exactly the tensor's size in bytes. It lets a
// large file be written without holding all its data in memory.
func (b *Builder) AddTensorFunc(name string, typ TensorType, dims []uint64, write func(w io.Writer) error) error {
	t, size, err := b.newTensor(name, typ, dims)
	if err != nil {
		return err
	}
	b.add(builderTensor{info: t, size: size, write: write})
	return nil
}

func (b *Builder) newTensor(name string, typ TensorType, dims []uint64) (TensorInfo, int64, error) {
	t := TensorInfo{Name: name, Type: typ, Dims: append([]uint64(nil), dims...)}
	switch {
	case name == "":
		return t, 0, errors.New("gguf: empty tensor name")
	case len(name) > MaxTensorNameLen:
		return t, 0, fmt.Errorf("gguf: tensor name %q is %d bytes long, the limit is %d", name, len(name), MaxTensorNameLen)
	case b.names[name]:
		return t, 0, fmt.Errorf("gguf: duplicate tensor name %q", name)
	case len(dims) > MaxDims:
		return t, 0, fmt.Errorf("gguf: tensor %q has %d dimensions, the limit is %d", name, len(dims), MaxDims)
	case !typ.Known():
		return t, 0, fmt.Errorf("gguf: tensor %q has unknown type %s", name, typ)
	case t.RowLength()%uint64(typ.BlockSize()) != 0:
		return t, 0, fmt.Errorf("gguf: tensor %q of type %s has row length %d, not a multiple of the block size %d", name, typ, t.RowLength(), typ.BlockSize())
	}
	elems := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(elems, d)
		if hi != 0 || lo > math.MaxInt64 {
			return t, 0, fmt.Errorf("gguf: tensor %q dimensions %v overflow", name, dims)
		}
		elems = lo
	}
	hi, lo := bits.Mul64(elems/uint64(typ.BlockSize()), uint64(typ.BlockBytes()))
	if hi != 0 || lo > math.MaxInt64/2 {
		return t, 0, fmt.Errorf("gguf: tensor %q of type %s with dimensions %v is too large", name, typ, dims)
	}
	return t, int64(lo), nil
}

func (b *Builder) add(t builderTensor) {
	if b.names == nil {
		b.names = map[string]bool{}
	}
	b.names[t.info.Name] = true
	b.tensors = append(b.tensors, t)
}

func (b *Builder) align() int64 {
	if b.alignment == 0 {
		return DefaultAlignment
	}
	return int64(b.alignment)
}

// WriteTo writes the file to w and returns the number of bytes written. It
// may be called more than once if the tensors' data (and write functions)
// allow it.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	e := &encoder{w: bw}
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(b.tensors)))
	e.u64(uint64(len(b.kvs)))
	for _, kv := range b.kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type()))
		e.value(kv.Value)
	}
	a := b.align()
	var off int64
	for _, t := range b.tensors {
		e.str(t.info.Name)
		e.u32(uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.info.Type))
		e.u64(uint64(off))
		off += alignUp(t.size, a)
	}
	if e.err != nil {
		return cw.n, e.err
	}
	if err := pad(bw, cw.n+int64(bw.Buffered()), a); err != nil {
		return cw.n, err
	}
	for _, t := range b.tensors {
		if err := writeTensor(bw, t); err != nil {
			return cw.n, err
		}
		if err := pad(bw, t.size, a); err != nil {
			return cw.n, err
		}
	}
	err := bw.Flush()
	return cw.n, err
}

func writeTensor(w io.Writer, t builderTensor) error {
	if t.write == nil {
		_, err := w.Write(t.data)
		return err
	}
	tw := &countWriter{w: w}
	if err := t.write(tw); err != nil {
		return fmt.Errorf("gguf: writing tensor %q: %w", t.info.Name, err)
	}
	if tw.n != t.size {
		return fmt.Errorf("gguf: tensor %q: write function wrote %d bytes, want %d", t.info.Name, tw.n, t.size)
	}
	return nil
}

var zeros [256]byte

// pad writes the zeros that take n up to a multiple of a.
func pad(w io.Writer, n, a int64) error {
	for k := alignUp(n, a) - n; k > 0; {
		m := min(k, int64(len(zeros)))
		if _, err := w.Write(zeros[:m]); err != nil {
			return err
		}
		k -= m
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

// Write writes p to the underlying writer and counts the bytes written.
func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian values and remembers the first error.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) raw(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u8(x uint8) { e.buf[0] = x; e.raw(e.buf[:1]) }

func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], x)
	e.raw(e.buf[:2])
}

func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], x)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], x)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *encoder) bool(x bool) {
	if x {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// value writes the encoding of v (without its type).
func (e *encoder) value(v Value) {
	switch x := v.Any().(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.bool(x)
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		e.array(v)
	}
}

func (e *encoder) array(v Value) {
	e.u32(uint32(v.ElemType()))
	e.u64(uint64(v.Len()))
	if s, ok := v.Any().([]uint8); ok {
		e.raw(s)
		return
	}
	for i := range v.Len() {
		x, _ := v.Index(i)
		e.value(x)
	}
}
