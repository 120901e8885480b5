// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileTestGraph is a graph with every kind of row and value: gateway traces,
// a duplicate, links inside and outside the batch, nulls, invalid UTF-8.
func fileTestGraph(t *testing.T) *Graph {
	td := gatewayTraces(3000)
	extra := makeTraces(t, res{service: "x\xff", spans: []sp{
		{trace: 9000, span: 1, name: "bad \xc3", links: [][2]uint64{{9001, 2}, {1, 1<<8 | 1}}},
		{trace: 9000, span: 1, name: "dup"},
		{trace: 9000, span: 2, parent: 1, start: t0},
	}})
	extra.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	g, err := Build(td, memory.NewGoAllocator())
	require.NoError(t, err)
	t.Cleanup(g.Release)
	require.Equal(t, 1, g.Stats.DuplicateSpans)
	require.Equal(t, 1, g.Stats.ExternalSpans)
	return g
}

// tableRows reads every record of tbl (parquet may split it into chunks).
func tableRows(t *testing.T, tbl arrow.Table, nodes bool) (n []nodeRow, e []edgeRow) {
	tr := array.NewTableReader(tbl, tbl.NumRows()+1)
	defer tr.Release()
	for tr.Next() {
		if nodes {
			n = append(n, nodeRows(t, tr.RecordBatch())...)
		} else {
			e = append(e, edgeRows(t, tr.RecordBatch())...)
		}
	}
	require.NoError(t, tr.Err())
	return n, e
}

func readArrowFile(t *testing.T, path string) arrow.Table {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	r, err := ipc.NewFileReader(f)
	require.NoError(t, err)
	defer func() { _ = r.Close() }()
	var recs []arrow.RecordBatch
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	t.Cleanup(tbl.Release)
	return tbl
}

func readParquetFile(t *testing.T, path string) arrow.Table {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(nil), pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	require.NoError(t, err)
	t.Cleanup(tbl.Release)
	return tbl
}

func TestWriteFiles(t *testing.T) {
	g := fileTestGraph(t)
	wantNodes, wantEdges := nodeRows(t, g.Nodes), edgeRows(t, g.Edges)
	for _, tc := range []struct {
		format Format
		read   func(*testing.T, string) arrow.Table
	}{
		{FormatArrow, readArrowFile},
		{FormatParquet, readParquetFile},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			dir := t.TempDir()
			np := filepath.Join(dir, "nodes"+tc.format.Ext())
			ep := filepath.Join(dir, "edges"+tc.format.Ext())
			// Writing over existing files replaces them.
			require.NoError(t, os.WriteFile(np, []byte("old"), 0o600))
			require.NoError(t, g.WriteFiles(np, ep, tc.format))

			nt := tc.read(t, np)
			requireSchema(t, NodeSchema, nt.Schema())
			nodes, _ := tableRows(t, nt, true)
			require.Len(t, nodes, len(wantNodes))
			for i := range nodes {
				require.Equal(t, wantNodes[i], nodes[i], "node row %d", i)
			}
			et := tc.read(t, ep)
			requireSchema(t, EdgeSchema, et.Schema())
			_, edges := tableRows(t, et, false)
			require.Equal(t, wantEdges, edges)

			// Only the two files are left, readable by all.
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 2)
			info, err := os.Stat(np)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
		})
	}
}

func TestWriteParquetIsParquet(t *testing.T) {
	g := fileTestGraph(t)
	path := filepath.Join(t.TempDir(), "edges.parquet")
	require.NoError(t, g.WriteFile(path, TableEdges, FormatParquet))
	r, err := file.OpenParquetFile(path, false)
	require.NoError(t, err)
	defer func() { _ = r.Close() }()
	assert.EqualValues(t, g.Edges.NumRows(), r.NumRows())
	assert.Equal(t, parquet.V2_6, r.MetaData().Version())
}

func TestWriteFileErrors(t *testing.T) {
	g := fileTestGraph(t)
	dir := t.TempDir()

	err := g.WriteFile(filepath.Join(dir, "missing", "nodes.arrow"), TableNodes, FormatArrow)
	require.Error(t, err)

	require.ErrorIs(t, g.WriteFile(filepath.Join(dir, "n.csv"), TableNodes, Format("csv")), errBadFormat)
	require.ErrorIs(t, g.WriteFile(filepath.Join(dir, "n.arrow"), Table(7), FormatArrow), errBadTable)
	require.ErrorIs(t, g.WriteFiles(filepath.Join(dir, "a"), filepath.Join(dir, ".", "a"), FormatArrow), errSameOutputs)

	// A failed write leaves no temporary file and the old file in place.
	old := filepath.Join(dir, "keep.arrow")
	require.NoError(t, os.WriteFile(old, []byte("old"), 0o600))
	boom := errors.New("boom")
	require.ErrorIs(t, writeAtomic(old, func(w io.Writer) error {
		_, _ = w.Write(make([]byte, 3<<20)) // past the buffer: the temporary file has data
		return boom
	}), boom)
	require.ErrorIs(t, (&Graph{}).WriteFile(old, TableNodes, FormatArrow), errNoGraph)
	b, err := os.ReadFile(old)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	var bad Graph
	require.ErrorIs(t, bad.Encode(nil, TableNodes, Format("xml")), errBadFormat)

	// A path with no directory part goes to the working directory.
	t.Chdir(dir)
	require.NoError(t, g.WriteFile("plain.parquet", TableNodes, FormatParquet))
	_, err = os.Stat(filepath.Join(dir, "plain.parquet"))
	require.NoError(t, err)
}
