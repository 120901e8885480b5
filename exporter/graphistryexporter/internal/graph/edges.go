// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/llamatelemetry/otelcol-llt/pkg/spantree"
)

// writeEdges writes the child edges (in node order) and then the link edges.
// ids is the node table's id column.
func (b *builder) writeEdges(ids *array.String) (arrow.RecordBatch, error) {
	mem := b.mem
	spans := b.stats.SpanNodes
	rows := spans + len(b.links)
	srcBytes := spanIDLen * len(b.links)
	for _, p := range b.parent {
		if p >= 0 {
			srcBytes += spanIDLen
		} else {
			srcBytes += rootIDLen
		}
	}
	src := newStringColumn(mem, rows, srcBytes)
	dst := newStringColumn(mem, rows, spanIDLen*rows)
	typ := newStringColumn(mem, rows, len(EdgeChild)*spans+len(EdgeLink)*len(b.links))
	tr := newStringColumn(mem, rows, traceHexLen*rows)

	offs, data := ids.ValueOffsets(), ids.ValueBytes()
	id := func(n int32) []byte { return data[offs[n]:offs[n+1]] }
	traceHex := func(n int32) []byte {
		v := id(n)
		if len(v) < traceHexLen { // only when the id column was full
			return nil
		}
		return v[:traceHexLen]
	}
	for n, p := range b.parent {
		node := int32(n)
		th := traceHex(node)
		if p >= 0 {
			src.appendBytes(id(p))
		} else if s := src.slot(rootIDLen); len(s) == rootIDLen {
			copy(s, rootIDPrefix)
			copy(s[len(rootIDPrefix):], th)
		}
		dst.appendBytes(id(node))
		typ.append(EdgeChild)
		tr.appendBytes(th)
	}
	for _, l := range b.links {
		src.appendBytes(id(l[0]))
		dst.appendBytes(id(l[1]))
		typ.append(EdgeLink)
		tr.appendBytes(traceHex(l[0]))
	}
	b.stats.ChildEdges = spans
	b.stats.LinkEdges = len(b.links)

	cols := make([]arrow.Array, 0, 4)
	var err error
	for _, s := range []*stringColumn{src, dst, typ, tr} {
		if err != nil {
			s.release()
			continue
		}
		var a arrow.Array
		if a, err = s.finish(); err == nil {
			cols = append(cols, a)
		}
	}
	if err != nil {
		for _, a := range cols {
			a.Release()
		}
		return nil, err
	}
	return newRecord(EdgeSchema, cols, rows), nil
}

// newRecord makes a record of cols and releases the caller's references.
func newRecord(schema *arrow.Schema, cols []arrow.Array, rows int) arrow.RecordBatch {
	rec := array.NewRecordBatch(schema, cols, int64(rows))
	for _, a := range cols {
		a.Release()
	}
	return rec
}

// breakCycles cuts every loop in parent (a node index per node, -1 for
// none) by setting one parent per loop to -1, and returns how many it cut.
func breakCycles(parent []int32) int { return spantree.BreakCycles(parent, nil) }
