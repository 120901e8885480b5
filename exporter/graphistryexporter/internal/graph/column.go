// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The column writers below append values straight into Arrow buffers taken
// from one memory.Allocator. They do what array.StringBuilder and friends do,
// minus the per-value bookkeeping, and they never panic: a string column that
// would pass the 2 GiB limit of Arrow's int32 offsets stops growing and
// reports errTooLarge from finish instead.

// maxColumnBytes is the most data one utf8 column can hold (int32 offsets).
// A variable so that tests can lower it.
var maxColumnBytes = math.MaxInt32

// growCap returns a new capacity of at least need, growing old by half.
func growCap(old, need int) int {
	c := old + old/2
	if c < need {
		c = need
	}
	if c < 64 {
		c = 64
	}
	return c
}

// bitmap is an Arrow bit-packed buffer (validity or bool values).
type bitmap struct {
	buf  *memory.Buffer
	bits []byte
}

// ensure makes room for n bits; new bits are cleared.
func (b *bitmap) ensure(mem memory.Allocator, n int) {
	need := (n + 7) / 8
	if need <= len(b.bits) {
		return
	}
	if b.buf == nil {
		b.buf = memory.NewResizableBuffer(mem)
	}
	old := len(b.bits)
	b.buf.Reserve(growCap(old, need))
	b.bits = b.buf.Buf()
	clear(b.bits[old:])
}

func (b *bitmap) set(i int)   { b.bits[i>>3] |= 1 << (uint(i) & 7) }
func (b *bitmap) unset(i int) { b.bits[i>>3] &^= 1 << (uint(i) & 7) }

// setAll sets bits [0, n).
func (b *bitmap) setAll(n int) {
	full := n / 8
	for i := 0; i < full; i++ {
		b.bits[i] = 0xff
	}
	for i := full * 8; i < n; i++ {
		b.set(i)
	}
}

// finish returns the buffer sized for n bits (nil when never used).
func (b *bitmap) finish(n int) *memory.Buffer {
	if b.buf == nil {
		return nil
	}
	b.buf.ResizeNoShrink((n + 7) / 8)
	buf := b.buf
	b.buf, b.bits = nil, nil
	return buf
}

func (b *bitmap) release() {
	if b.buf != nil {
		b.buf.Release()
		b.buf, b.bits = nil, nil
	}
}

// validity tracks nulls for a nullable column; the bitmap exists only once a
// null has been appended.
type validity struct {
	bm    bitmap
	nulls int
}

// valid records row i as valid.
func (v *validity) valid(mem memory.Allocator, i int) {
	if v.nulls > 0 {
		v.bm.ensure(mem, i+1)
		v.bm.set(i)
	}
}

// null records row i as null.
func (v *validity) null(mem memory.Allocator, i int) {
	if v.nulls == 0 {
		v.bm.ensure(mem, i+1)
		v.bm.setAll(i)
	} else {
		v.bm.ensure(mem, i+1)
	}
	v.bm.unset(i)
	v.nulls++
}

// stringColumn writes an Arrow utf8 column.
type stringColumn struct {
	mem     memory.Allocator
	offsets *memory.Buffer
	data    *memory.Buffer
	o       []int32 // view over offsets, capacity rows+1
	d       []byte  // view over data, full capacity
	n       int     // rows written
	size    int     // data bytes written
	full    bool    // the column hit maxColumnBytes
}

func newStringColumn(mem memory.Allocator, rows, bytes int) *stringColumn {
	c := &stringColumn{mem: mem, offsets: memory.NewResizableBuffer(mem), data: memory.NewResizableBuffer(mem)}
	c.reserveRows(rows)
	c.reserveBytes(bytes)
	c.o[0] = 0
	return c
}

// reserveRows makes room for rows more rows.
func (c *stringColumn) reserveRows(rows int) {
	need := (c.n + rows + 1) * 4
	if need <= len(c.o)*4 {
		return
	}
	c.offsets.Reserve(growCap(len(c.o)*4, need))
	c.o = castSlice[int32](c.offsets.Buf())
}

// reserveBytes makes room for n more data bytes.
func (c *stringColumn) reserveBytes(n int) {
	need := c.size + n
	if need <= len(c.d) {
		return
	}
	c.data.Reserve(growCap(len(c.d), need))
	c.d = c.data.Buf()
}

// slot appends a row of n bytes and returns them to be filled in.
func (c *stringColumn) slot(n int) []byte {
	if c.size+n > maxColumnBytes {
		c.full = true
		n = 0
	}
	if c.n+2 > len(c.o) {
		c.reserveRows(1)
	}
	c.reserveBytes(n)
	s := c.d[c.size : c.size+n : c.size+n]
	c.size += n
	c.n++
	c.o[c.n] = int32(c.size)
	return s
}

// append appends s as is; s must be valid UTF-8.
func (c *stringColumn) append(s string) {
	copy(c.slot(len(s)), s)
}

// appendBytes appends b as is; b must be valid UTF-8.
func (c *stringColumn) appendBytes(b []byte) {
	copy(c.slot(len(b)), b)
}

// appendUTF8 appends s, replacing each run of invalid UTF-8 bytes with U+FFFD
// as strings.ToValidUTF8 does.
func (c *stringColumn) appendUTF8(s string) {
	if utf8.ValidString(s) {
		c.append(s)
		return
	}
	// Worst case: every byte becomes a 3-byte U+FFFD.
	if len(s) > (maxColumnBytes-c.size)/3 {
		c.append(toValidUTF8(s))
		return
	}
	c.reserveBytes(3 * len(s))
	start := c.size
	out := c.d[start:start]
	invalid := false
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			if !invalid {
				out = append(out, "\uFFFD"...)
				invalid = true
			}
			i++
			continue
		}
		invalid = false
		out = append(out, s[i:i+w]...)
		i += w
	}
	// out aliases c.d: the capacity was reserved above, so nothing moved.
	c.slot(len(out))
}

func toValidUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// finish returns the column as an array and hands its buffers over.
func (c *stringColumn) finish() (arrow.Array, error) {
	if c.full {
		c.release()
		return nil, errTooLarge
	}
	c.offsets.ResizeNoShrink((c.n + 1) * 4)
	c.data.ResizeNoShrink(c.size)
	d := array.NewData(arrow.BinaryTypes.String, c.n, []*memory.Buffer{nil, c.offsets, c.data}, nil, 0, 0)
	c.release()
	defer d.Release()
	return array.MakeFromData(d), nil
}

func (c *stringColumn) release() {
	c.offsets.Release()
	c.data.Release()
	c.o, c.d = nil, nil
}

// fixedColumn writes a fixed-width Arrow column of int64 or float64 values
// (also timestamps, which are int64).
type fixedColumn[T int64 | float64] struct {
	mem  memory.Allocator
	buf  *memory.Buffer
	v    []T
	n    int
	null validity
}

func newFixedColumn[T int64 | float64](mem memory.Allocator, rows int) *fixedColumn[T] {
	c := &fixedColumn[T]{mem: mem, buf: memory.NewResizableBuffer(mem)}
	c.reserve(rows)
	return c
}

func (c *fixedColumn[T]) reserve(rows int) {
	var zero T
	w := int(unsafe.Sizeof(zero))
	need := (c.n + rows) * w
	if need <= len(c.v)*w {
		return
	}
	c.buf.Reserve(growCap(len(c.v)*w, need))
	c.v = castSlice[T](c.buf.Buf())
}

func (c *fixedColumn[T]) append(x T) {
	if c.n >= len(c.v) {
		c.reserve(1)
	}
	c.v[c.n] = x
	c.null.valid(c.mem, c.n)
	c.n++
}

func (c *fixedColumn[T]) appendNull() {
	if c.n >= len(c.v) {
		c.reserve(1)
	}
	c.v[c.n] = 0
	c.null.null(c.mem, c.n)
	c.n++
}

func (c *fixedColumn[T]) finish(dt arrow.DataType) arrow.Array {
	var zero T
	c.buf.ResizeNoShrink(c.n * int(unsafe.Sizeof(zero)))
	valid := c.null.bm.finish(c.n)
	d := array.NewData(dt, c.n, []*memory.Buffer{valid, c.buf}, nil, c.null.nulls, 0)
	c.release()
	if valid != nil {
		valid.Release()
	}
	defer d.Release()
	return array.MakeFromData(d)
}

func (c *fixedColumn[T]) release() {
	if c.buf != nil {
		c.buf.Release()
		c.buf, c.v = nil, nil
	}
	c.null.bm.release()
}

// boolColumn writes a non-nullable Arrow bool column.
type boolColumn struct {
	mem memory.Allocator
	bm  bitmap
	n   int
}

func newBoolColumn(mem memory.Allocator, rows int) *boolColumn {
	c := &boolColumn{mem: mem}
	c.bm.ensure(mem, rows)
	return c
}

func (c *boolColumn) append(x bool) {
	c.bm.ensure(c.mem, c.n+1)
	if x {
		c.bm.set(c.n)
	}
	c.n++
}

func (c *boolColumn) finish() arrow.Array {
	buf := c.bm.finish(c.n)
	if buf == nil { // a zero-row column still gets a buffer
		buf = memory.NewResizableBuffer(c.mem)
	}
	d := array.NewData(arrow.FixedWidthTypes.Boolean, c.n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

func (c *boolColumn) release() { c.bm.release() }

// castSlice views b as a slice of T (b comes from an Arrow allocator and is
// 64-byte aligned).
func castSlice[T any](b []byte) []T {
	var zero T
	w := int(unsafe.Sizeof(zero))
	if len(b) < w {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/w)
}
