// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Tensor returns the description of the named tensor. It reports false if
// the file has no such tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensIdx[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData returns a reader for the named tensor's data. It fails if the
// file has no such tensor ([ErrNoTensor]) or the tensor's type is unknown,
// since then its size is too.
func (f *File) TensorData(name string) (*io.SectionReader, error) {
	_, off, size, err := f.locate(name)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(f.r, off, size), nil
}

// ReadTensor reads the named tensor's data into memory.
func (f *File) ReadTensor(name string) ([]byte, error) {
	_, off, size, err := f.locate(name)
	if err != nil {
		return nil, err
	}
	return f.readAt(off, size, name)
}

// DequantizeRow decodes row row of the named tensor (the Dims[0] values
// starting at element row × Dims[0]) to float32. Row t of token_embd is the
// embedding of token t. See [Dequantize] for the supported types.
func (f *File) DequantizeRow(name string, row int) ([]float32, error) {
	t, off, _, err := f.locate(name)
	if err != nil {
		return nil, err
	}
	if !canDequantize(t.Type) {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, errUnsupportedType(t.Type))
	}
	if row < 0 || uint64(row) >= t.Rows() {
		return nil, fmt.Errorf("gguf: tensor %q: row %d out of range [0, %d)", name, row, t.Rows())
	}
	rowBytes := int64(t.RowLength()/uint64(t.Type.BlockSize())) * int64(t.Type.BlockBytes())
	data, err := f.readAt(off+int64(row)*rowBytes, rowBytes, name)
	if err != nil {
		return nil, err
	}
	return Dequantize(t.Type, data, int(t.RowLength()))
}

// locate returns the named tensor and the file offset and size of its data.
func (f *File) locate(name string) (t TensorInfo, off, size int64, err error) {
	t, ok := f.Tensor(name)
	if !ok {
		return t, 0, 0, fmt.Errorf("gguf: tensor %q: %w", name, ErrNoTensor)
	}
	size = t.Size()
	if size < 0 {
		return t, 0, 0, fmt.Errorf("gguf: tensor %q has unknown type %s", name, t.Type)
	}
	// Bounds were checked against the file size when it was known; without
	// it the offset may still be absurd.
	if size > math.MaxInt64-f.DataOffset || t.Offset > uint64(math.MaxInt64-f.DataOffset-size) {
		return t, 0, 0, fmt.Errorf("gguf: tensor %q data offset %d is out of range", name, t.Offset)
	}
	return t, f.DataOffset + int64(t.Offset), size, nil
}

// readAt reads n bytes at off. When the file size is unknown it allocates
// as data arrives, so a false size in a tensor description cannot make it
// allocate more than the file holds.
func (f *File) readAt(off, n int64, name string) ([]byte, error) {
	step := n
	if f.Size < 0 {
		step = readChunk
	}
	var buf []byte
	for int64(len(buf)) < n {
		start := len(buf)
		k := int(min(n-int64(start), step))
		buf = slices.Grow(buf, k)[:start+k]
		m, err := f.r.ReadAt(buf[start:], off+int64(start))
		if m == k {
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			return nil, &FormatError{Off: off + int64(start+m), Msg: fmt.Sprintf("unexpected end of file reading data of tensor %q", name)}
		}
		return nil, fmt.Errorf("gguf: reading data of tensor %q: %w", name, err)
	}
	return buf, nil
}
