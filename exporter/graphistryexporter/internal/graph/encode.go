// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Table selects the node or the edge table of a Graph.
type Table int

const (
	// TableNodes is Graph.Nodes.
	TableNodes Table = iota
	// TableEdges is Graph.Edges.
	TableEdges
)

// String returns "nodes" or "edges".
func (t Table) String() string {
	switch t {
	case TableNodes:
		return "nodes"
	case TableEdges:
		return "edges"
	default:
		return fmt.Sprintf("Table(%d)", int(t))
	}
}

// Format is the file format of WriteFile and WriteFiles.
type Format string

const (
	// FormatArrow is the Arrow IPC file format (what Graphistry's
	// .../arrow upload routes take).
	FormatArrow Format = "arrow"
	// FormatParquet is Parquet (format 2.6, Snappy compressed, with the
	// Arrow schema stored so that readers get the same types back).
	FormatParquet Format = "parquet"
)

// Ext returns the file name extension for f, with its dot.
func (f Format) Ext() string {
	switch f {
	case FormatParquet:
		return ".parquet"
	default:
		return ".arrow"
	}
}

var (
	errNoGraph     = errors.New("graph: no graph (nil or released)")
	errBadTable    = errors.New("graph: unknown table")
	errBadFormat   = errors.New("graph: unknown file format")
	errSameOutputs = errors.New("graph: nodes and edges paths are the same file")
)

func (g *Graph) table(which Table) (arrow.RecordBatch, error) {
	if g == nil {
		return nil, errNoGraph
	}
	var rec arrow.RecordBatch
	switch which {
	case TableNodes:
		rec = g.Nodes
	case TableEdges:
		rec = g.Edges
	default:
		return nil, fmt.Errorf("%w: %d", errBadTable, int(which))
	}
	if rec == nil {
		return nil, errNoGraph
	}
	return rec, nil
}

// EncodeIPC writes one table to w in the Arrow IPC file format (not the
// stream format): the body that pygraphistry's ArrowUploader posts to
// /api/v2/upload/datasets/{id}/{nodes|edges}/arrow, written there with
// pyarrow's RecordBatchFileWriter (arrow_uploader.py, arrow_to_buffer). The
// table is one record batch, uncompressed.
func (g *Graph) EncodeIPC(w io.Writer, which Table) error {
	rec, err := g.table(which)
	if err != nil {
		return err
	}
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(rec.Schema()))
	if err != nil {
		return fmt.Errorf("graph: arrow %s: %w", which, err)
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return fmt.Errorf("graph: arrow %s: %w", which, err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("graph: arrow %s: %w", which, err)
	}
	return nil
}

// EncodeParquet writes one table to w as Parquet (see FormatParquet).
func (g *Graph) EncodeParquet(w io.Writer, which Table) error {
	rec, err := g.table(which)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(
		parquet.WithVersion(parquet.V2_6),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithAllocator(memory.DefaultAllocator),
	)
	// The writer closes w when it is an io.Closer: hide that.
	fw, err := pqarrow.NewFileWriter(rec.Schema(), struct{ io.Writer }{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("graph: parquet %s: %w", which, err)
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return fmt.Errorf("graph: parquet %s: %w", which, err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("graph: parquet %s: %w", which, err)
	}
	return nil
}

// Encode writes one table to w in format.
func (g *Graph) Encode(w io.Writer, which Table, format Format) error {
	switch format {
	case FormatArrow:
		return g.EncodeIPC(w, which)
	case FormatParquet:
		return g.EncodeParquet(w, which)
	default:
		return fmt.Errorf("%w %q", errBadFormat, string(format))
	}
}

// WriteFile writes one table to the file path in format. The write is
// atomic: the table goes to a temporary file in the same directory, which is
// synced and renamed over path; on failure path is left as it was and the
// temporary file is removed. The file gets mode 0644.
func (g *Graph) WriteFile(path string, which Table, format Format) error {
	if _, err := g.table(which); err != nil {
		return err
	}
	if format != FormatArrow && format != FormatParquet {
		return fmt.Errorf("%w %q", errBadFormat, string(format))
	}
	if err := writeAtomic(path, func(w io.Writer) error { return g.Encode(w, which, format) }); err != nil {
		return fmt.Errorf("graph: write %s: %w", which, err)
	}
	return nil
}

// writeAtomic writes path through write: a temporary file in the same
// directory, synced, then renamed over path.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// WriteFiles writes the node table to nodesPath and the edge table to
// edgesPath, each with WriteFile. The nodes are written first; if the edges
// then fail, the new nodes file stays.
func (g *Graph) WriteFiles(nodesPath, edgesPath string, format Format) error {
	if filepath.Clean(nodesPath) == filepath.Clean(edgesPath) {
		return errSameOutputs
	}
	if err := g.WriteFile(nodesPath, TableNodes, format); err != nil {
		return err
	}
	return g.WriteFile(edgesPath, TableEdges, format)
}
