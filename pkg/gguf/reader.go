// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
)

const (
	// Magic is the four bytes every GGUF file starts with.
	Magic = "GGUF"
	// Version is the format version Builder writes.
	Version = 3
	// DefaultAlignment is the data alignment used when general.alignment
	// is absent.
	DefaultAlignment = 32
	// MaxTensorNameLen is the longest tensor name llama.cpp accepts
	// (GGML_MAX_NAME - 1).
	MaxTensorNameLen = 63
	// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
	MaxDims = 4
	// KeyAlignment is the metadata key that sets the data alignment.
	KeyAlignment = "general.alignment"
)

// minKVSize and minTensorInfoSize are the fewest bytes one metadata entry
// and one tensor description can take; they bound the header's counts.
const (
	minKVSize         = 8 + 4 + 1     // key length, type, one-byte value
	minTensorInfoSize = 8 + 4 + 4 + 8 // name length, n_dims, type, offset
)

// KV is one metadata entry.
type KV struct {
	Key   string // such as "general.architecture"
	Value Value  // the typed value
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	// Name is the tensor's name, such as "blk.0.attn_q.weight".
	Name string
	// Dims are the sizes of the dimensions in ggml order: Dims[0] is the
	// row length, the fastest-varying dimension. A numpy array of shape
	// (rows, cols) has Dims [cols, rows].
	Dims []uint64
	// Type is the element type; it may be one this package does not know
	// (see TensorType.Known).
	Type TensorType
	// Offset is where the tensor's data starts, relative to the start of
	// the data section (File.DataOffset).
	Offset uint64
}

// Elements returns the number of values in the tensor: the product of
// Dims, or 1 for a tensor with no dimensions.
func (t *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// RowLength returns Dims[0], the number of values in one row, or 1 for a
// tensor with no dimensions.
func (t *TensorInfo) RowLength() uint64 {
	if len(t.Dims) == 0 {
		return 1
	}
	return t.Dims[0]
}

// Rows returns the number of rows: the product of all dimensions but the
// first.
func (t *TensorInfo) Rows() uint64 {
	n := uint64(1)
	for _, d := range t.Dims[min(1, len(t.Dims)):] {
		n *= d
	}
	return n
}

// Size returns the size in bytes of the tensor's data, or -1 if its type
// is unknown.
func (t *TensorInfo) Size() int64 {
	ti, ok := t.Type.info()
	if !ok {
		return -1
	}
	return int64(t.Elements()/uint64(ti.blockSize)) * int64(ti.blockBytes)
}

// File is an open GGUF file. Its exported fields are filled in by
// [NewFile] and must not be modified.
type File struct {
	// Version is the format version, 2 or 3.
	Version uint32
	// Metadata holds the key/value entries in file order.
	Metadata []KV
	// Tensors holds the tensor descriptions in file order.
	Tensors []TensorInfo
	// Alignment is the data alignment in bytes (general.alignment, or 32).
	Alignment uint32
	// DataOffset is the offset in the file of the data section.
	DataOffset int64
	// Size is the size of the file in bytes, or -1 if it could not be
	// determined (see NewFile).
	Size int64

	r       io.ReaderAt
	closer  io.Closer
	kvIdx   map[string]int
	tensIdx map[string]int
}

// Open opens the named file and parses it as GGUF.
func Open(name string) (*File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	ff, err := NewFile(f)
	if err != nil {
		_ = f.Close() // the parse error is the one worth reporting
		return nil, err
	}
	ff.closer = f
	return ff, nil
}

// Close closes the file if it was opened by [Open]. If the File was
// created by NewFile, Close does nothing.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// NewFile parses a GGUF file read from r. It reads the header, all
// metadata and all tensor descriptions, and validates them, but no tensor
// data.
//
// NewFile learns the file size from r's Size method (as on *bytes.Reader,
// *strings.Reader and *io.SectionReader), its Stat method (as on *os.File)
// or by seeking to the end (an io.Seeker; the position is restored), and
// uses it to reject counts and lengths the file cannot hold before
// allocating anything, and to check that tensor data lies within the file.
// For a reader with none of these, wrap it: io.NewSectionReader(r, 0, size).
// Without a size the checks on tensor data bounds are skipped and reads
// past the end fail later.
func NewFile(r io.ReaderAt) (*File, error) {
	size, err := readerSize(r)
	if err != nil {
		return nil, fmt.Errorf("gguf: determining file size: %w", err)
	}
	f := &File{r: r, Size: size, Alignment: DefaultAlignment}
	d := newDecoder(r, size)
	if err := f.readHeader(d); err != nil {
		return nil, err
	}
	return f, nil
}

func readerSize(r io.ReaderAt) (int64, error) {
	switch r := r.(type) {
	case interface{ Size() int64 }:
		return r.Size(), nil
	case interface{ Stat() (fs.FileInfo, error) }:
		fi, err := r.Stat()
		if err != nil {
			return -1, err
		}
		if !fi.Mode().IsRegular() {
			return -1, nil
		}
		return fi.Size(), nil
	case io.Seeker:
		cur, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1, err
		}
		end, err := r.Seek(0, io.SeekEnd)
		if err != nil {
			return -1, err
		}
		if _, err := r.Seek(cur, io.SeekStart); err != nil {
			return -1, err
		}
		return end, nil
	}
	return -1, nil
}

func (f *File) readHeader(d *decoder) error {
	var magic [4]byte
	if err := d.full(magic[:], "magic number"); err != nil {
		return err
	}
	if string(magic[:]) != Magic {
		return d.errorf(0, "bad magic number %q, want %q", magic[:], Magic)
	}
	v, err := d.u32("version")
	if err != nil {
		return err
	}
	switch {
	case v == 1:
		return d.errorf(4, "unsupported version 1 (GGUF v1 is obsolete; versions 2 and 3 are supported)")
	case v != 0 && v&0xffff == 0:
		return d.errorf(4, "unsupported version %#x: the file is big-endian (byte-swapped) or corrupt", v)
	case v != 2 && v != 3:
		return d.errorf(4, "unsupported version %d (versions 2 and 3 are supported)", v)
	}
	f.Version = v
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return err
	}
	nKV, err := d.u64("metadata count")
	if err != nil {
		return err
	}
	tensorCap, err := d.count(8, nTensors, minTensorInfoSize, maxArrayLen, "tensor count")
	if err != nil {
		return err
	}
	kvCap, err := d.count(16, nKV, minKVSize, maxArrayLen, "metadata count")
	if err != nil {
		return err
	}
	if left := d.remaining(); nTensors*minTensorInfoSize+nKV*minKVSize > uint64(left) {
		return d.errorf(8, "%d tensors and %d metadata entries do not fit in the %d bytes left in the file", nTensors, nKV, left)
	}
	alignOff, err := f.readMetadata(d, nKV, kvCap)
	if err != nil {
		return err
	}
	if err := f.setAlignment(alignOff); err != nil {
		return err
	}
	infoOffs, err := f.readTensorInfos(d, nTensors, tensorCap)
	if err != nil {
		return err
	}
	f.DataOffset = alignUp(d.off, int64(f.Alignment))
	return f.checkTensorData(infoOffs)
}

// readMetadata reads nKV entries and returns the offset of the value of
// general.alignment, or -1.
func (f *File) readMetadata(d *decoder, nKV uint64, capHint int) (alignOff int64, err error) {
	alignOff = -1
	f.Metadata = make([]KV, 0, capHint)
	f.kvIdx = make(map[string]int, capHint)
	for range nKV {
		keyOff := d.off
		key, err := d.string("metadata key")
		if err != nil {
			return 0, err
		}
		if _, dup := f.kvIdx[key]; dup {
			return 0, &FormatError{Off: keyOff, Msg: "duplicate metadata key", Val: key}
		}
		t, err := d.u32("value type of " + key)
		if err != nil {
			return 0, err
		}
		if !ValueType(t).valid() {
			return 0, d.errorf(d.off-4, "metadata key %q has invalid value type %d", key, t)
		}
		if key == KeyAlignment {
			alignOff = d.off
		}
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			return 0, err
		}
		f.kvIdx[key] = len(f.Metadata)
		f.Metadata = append(f.Metadata, KV{Key: key, Value: v})
	}
	return alignOff, nil
}

func (f *File) setAlignment(off int64) error {
	v, ok := f.KV(KeyAlignment)
	if !ok {
		return nil
	}
	a, isU32 := v.Any().(uint32)
	if !isU32 {
		return &FormatError{Off: off, Msg: fmt.Sprintf("%s has type %s, want uint32", KeyAlignment, v.Type())}
	}
	if a == 0 || a&(a-1) != 0 {
		return &FormatError{Off: off, Msg: fmt.Sprintf("%s %d is not a power of two", KeyAlignment, a)}
	}
	f.Alignment = a
	return nil
}

// readTensorInfos reads the tensor descriptions and returns the file
// offset of each one's offset field, for error messages.
func (f *File) readTensorInfos(d *decoder, n uint64, capHint int) ([]int64, error) {
	f.Tensors = make([]TensorInfo, 0, capHint)
	f.tensIdx = make(map[string]int, capHint)
	offs := make([]int64, 0, capHint)
	for range n {
		nameOff := d.off
		name, err := d.string("tensor name")
		if err != nil {
			return nil, err
		}
		if len(name) > MaxTensorNameLen {
			return nil, &FormatError{Off: nameOff, Msg: fmt.Sprintf("tensor name is %d bytes long, the limit is %d", len(name), MaxTensorNameLen), Val: name}
		}
		if _, dup := f.tensIdx[name]; dup {
			return nil, &FormatError{Off: nameOff, Msg: "duplicate tensor name", Val: name}
		}
		t := TensorInfo{Name: name}
		nDims, err := d.u32("dimension count of tensor " + name)
		if err != nil {
			return nil, err
		}
		if nDims > MaxDims {
			return nil, d.errorf(d.off-4, "tensor %q has %d dimensions, the limit is %d", name, nDims, MaxDims)
		}
		t.Dims = make([]uint64, nDims)
		elems := uint64(1)
		for i := range t.Dims {
			dimOff := d.off
			if t.Dims[i], err = d.u64("dimensions of tensor " + name); err != nil {
				return nil, err
			}
			hi, lo := bits.Mul64(elems, t.Dims[i])
			if hi != 0 || lo > math.MaxInt64 {
				return nil, d.errorf(dimOff, "tensor %q dimensions %v overflow", name, t.Dims[:i+1])
			}
			elems = lo
		}
		typOff := d.off
		typ, err := d.u32("type of tensor " + name)
		if err != nil {
			return nil, err
		}
		t.Type = TensorType(typ)
		if ti, ok := t.Type.info(); ok {
			if t.RowLength()%uint64(ti.blockSize) != 0 {
				return nil, d.errorf(typOff, "tensor %q of type %s has row length %d, not a multiple of the block size %d", name, t.Type, t.RowLength(), ti.blockSize)
			}
			if hi, lo := bits.Mul64(elems/uint64(ti.blockSize), uint64(ti.blockBytes)); hi != 0 || lo > math.MaxInt64 {
				return nil, d.errorf(typOff, "tensor %q of type %s with dimensions %v is too large", name, t.Type, t.Dims)
			}
		}
		offs = append(offs, d.off)
		if t.Offset, err = d.u64("data offset of tensor " + name); err != nil {
			return nil, err
		}
		f.tensIdx[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	return offs, nil
}

// checkTensorData checks that every tensor's data is aligned and, when the
// file size is known, lies within the file.
func (f *File) checkTensorData(infoOffs []int64) error {
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset%uint64(f.Alignment) != 0 {
			return &FormatError{Off: infoOffs[i], Msg: fmt.Sprintf("tensor %q data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)}
		}
		size := t.Size()
		if f.Size < 0 || size < 0 {
			continue
		}
		avail := f.Size - f.DataOffset // may be negative
		if avail < 0 || t.Offset > uint64(avail) || uint64(size) > uint64(avail)-t.Offset {
			return &FormatError{Off: infoOffs[i], Msg: fmt.Sprintf("tensor %q data (%d bytes at data offset %d) extends past the end of the file (data section is %d bytes)", t.Name, size, t.Offset, max(avail, 0))}
		}
	}
	return nil
}

func alignUp(n, a int64) int64 {
	return (n + a - 1) / a * a
}
