// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// errTooLarge is returned when one string column of a batch would pass the
// 2 GiB that Arrow's int32 offsets can address.
var errTooLarge = errors.New("graph: batch too large: a string column passes 2 GiB")

// Stats says what Build made of a batch.
type Stats struct {
	// Spans is the number of spans in the input.
	Spans int
	// SpanNodes is the number of spans that became nodes (Spans minus DuplicateSpans).
	SpanNodes int
	// DuplicateSpans counts spans dropped because a span with the same trace
	// id and span id came earlier in the batch.
	DuplicateSpans int
	// TraceRoots is the number of synthetic trace root nodes (one per trace id).
	TraceRoots int
	// ExternalSpans is the number of placeholder nodes for linked spans that
	// are not in the batch.
	ExternalSpans int
	// ChildEdges and LinkEdges count the edges by edge_type.
	ChildEdges, LinkEdges int
	// BrokenCycles counts parent loops that were cut (a span that is its own
	// parent counts as one).
	BrokenCycles int
}

// Graph is the node and edge tables built from one batch of spans. Both
// records use the Allocator given to Build; call Release when done.
type Graph struct {
	// Nodes has NodeSchema: one row per span node in batch order, then one
	// per trace root in order of first appearance, then one per external
	// (linked, not in the batch) span in order of first reference.
	Nodes arrow.RecordBatch
	// Edges has EdgeSchema: one "child" row per span node (in node order),
	// then one "link" row per span link (in batch order).
	Edges arrow.RecordBatch
	// Stats describes the batch.
	Stats Stats
}

// Release releases both records. It is safe to call more than once.
func (g *Graph) Release() {
	if g == nil {
		return
	}
	if g.Nodes != nil {
		g.Nodes.Release()
		g.Nodes = nil
	}
	if g.Edges != nil {
		g.Edges.Release()
		g.Edges = nil
	}
}

// Build turns a batch of spans into a graph. mem allocates the Arrow buffers
// (memory.DefaultAllocator when nil).
//
// The rules:
//
//   - Every span is a node with id "<trace id hex>:<span id hex>" (span ids
//     are only unique within a trace). A span whose trace id and span id were
//     already seen in the batch is dropped and counted in
//     Stats.DuplicateSpans: node ids are unique.
//   - Every trace id gets one synthetic root node: id "trace:<trace id hex>",
//     name "trace <first 8 hex digits>", empty span_id and kind, status
//     UNSET, is_root_placeholder true. Its start is the earliest span start
//     of the trace in the batch, its duration runs to the latest span end,
//     its service is that of the trace's first top-level span (else of its
//     first span).
//   - Every span node has exactly one "child" edge pointing at it: from its
//     parent when the parent is in the batch, otherwise (no parent, parent
//     not in the batch, parent is the span itself) from its trace root.
//     Top-level spans hang from the trace root too, so each trace is one
//     connected component with the root on top. Parent loops (A's parent is
//     B and B's is A) are cut so that this stays true: walking up from the
//     first span of the loop in batch order, the span at which the walk comes
//     back to itself hangs from the trace root instead (Stats.BrokenCycles).
//   - Every span link is a "link" edge from the span to the linked span, with
//     the linking span's trace_id. A linked span that is not in the batch
//     becomes one placeholder node with the id a span node would have,
//     name "external span <span id hex>", empty kind, status UNSET,
//     is_external true (is_root_placeholder false); it has no other edge.
//   - A span node's status is its outcome: ERROR for status ERROR or a
//     non-empty error.type attribute, OK for status OK, "ok" for status UNSET
//     without error.type (a successful server span is left UNSET).
//   - The attention sample's llt.attention.probs and llt.attention.token_labels
//     are never copied into the tables.
//   - Every string is valid UTF-8: invalid bytes are replaced with U+FFFD.
//
// Build reads the batch twice: once to index the spans (a parent may come
// after its child in a batch, and in another ResourceSpans), once to write
// the node rows; the edges are then written from the index and the node ids.
// Values go straight from the spans into Arrow buffers sized from the first
// read. Build does not modify td and never panics; it fails only when one
// string column would pass 2 GiB.
func Build(td ptrace.Traces, mem memory.Allocator) (*Graph, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	b := &builder{mem: mem}
	b.scan(td)
	b.resolve()
	nodes, err := b.writeNodes(td)
	if err != nil {
		return nil, err
	}
	b.stats.BrokenCycles += breakCycles(b.parent)
	edges, err := b.writeEdges(nodes.Column(0).(*array.String))
	if err != nil {
		nodes.Release()
		return nil, err
	}
	return &Graph{Nodes: nodes, Edges: edges, Stats: b.stats}, nil
}

// traceInfo is what the synthetic root of one trace needs, and where the
// trace's spans are in the index.
type traceInfo struct {
	id               pcommon.TraceID
	service          string // service of the trace's first top-level span, else its first span
	hasTop           bool   // service comes from a span without parent
	minStart, maxEnd uint64 // 0 when unknown
	first, kept      int32  // the trace's spans are byTrace[first : first+kept]
}

// spanRef is a span of the index: its span id as an integer and its position
// in the batch.
type spanRef struct {
	sid uint64
	pos int32
}

// builder holds the state of one Build call.
type builder struct {
	mem   memory.Allocator
	stats Stats

	services []string // valid UTF-8 service.name per ResourceSpans

	// Per span, by position in the batch.
	traceOf []int32  // trace slot
	sids    []uint64 // span id
	pids    []uint64 // parent span id, 0 for none
	nodeOf  []int32  // node, -1 for a dropped duplicate

	traces   []traceInfo               // by slot, in order of first appearance
	traceIdx map[pcommon.TraceID]int32 // trace id -> slot
	byTrace  []spanRef                 // per trace, its kept spans sorted by span id

	parent []int32    // parent node per span node, -1: hangs from its trace root
	links  [][2]int32 // (from, to) node pairs

	external    []spanKey
	externalIdx map[spanKey]int32

	// Data sizes gathered by scan, used to size the columns.
	nameBytes, msgBytes, svcBytes, kindBytes, statusBytes, linkCount int
}

// spanKey identifies a span: trace id then span id.
type spanKey [24]byte

func makeKey(t pcommon.TraceID, s pcommon.SpanID) (k spanKey) {
	copy(k[:16], t[:])
	copy(k[16:], s[:])
	return k
}

func idNum(s pcommon.SpanID) uint64 { return binary.BigEndian.Uint64(s[:]) }

// scan reads the ids of every span, numbers the traces and measures the
// string data.
func (b *builder) scan(td ptrace.Traces) {
	total := td.SpanCount()
	b.stats.Spans = total
	b.traceOf = make([]int32, 0, total)
	b.sids = make([]uint64, 0, total)
	b.pids = make([]uint64, 0, total)
	b.traceIdx = make(map[pcommon.TraceID]int32)
	var lastTrace pcommon.TraceID
	lastSlot := int32(-1)

	rss := td.ResourceSpans()
	b.services = make([]string, rss.Len())
	for i := range rss.Len() {
		rs := rss.At(i)
		svc := ""
		if v, ok := rs.Resource().Attributes().Get(attrServiceName); ok {
			svc = validUTF8(v.AsString())
		}
		b.services[i] = svc
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			b.svcBytes += len(svc) * spans.Len()
			for k := range spans.Len() {
				s := spans.At(k)
				tid := s.TraceID()
				if lastSlot < 0 || tid != lastTrace {
					slot, ok := b.traceIdx[tid]
					if !ok {
						slot = int32(len(b.traces))
						b.traceIdx[tid] = slot
						b.traces = append(b.traces, traceInfo{id: tid, service: svc})
					}
					lastTrace, lastSlot = tid, slot
				}
				b.traceOf = append(b.traceOf, lastSlot)
				b.sids = append(b.sids, idNum(s.SpanID()))
				b.pids = append(b.pids, idNum(s.ParentSpanID()))
				b.nameBytes += len(s.Name())
				st := s.Status()
				b.msgBytes += len(st.Message())
				b.kindBytes += len(kindString(s.Kind()))
				b.statusBytes += len(statusString(st.Code(), false)) // an error.type makes it ERROR: the column grows
				b.linkCount += s.Links().Len()
			}
		}
	}
	b.stats.TraceRoots = len(b.traces)
}

// resolve drops duplicate spans, numbers the span nodes and finds each
// one's parent. It works trace by trace: the spans are grouped by trace and
// sorted by span id, so lookups stay within a few cache lines.
func (b *builder) resolve() {
	n := len(b.sids)
	// Group span positions by trace (counting sort; batch order within a trace).
	starts := make([]int32, len(b.traces)+1)
	for _, t := range b.traceOf {
		starts[t+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	b.byTrace = make([]spanRef, n)
	for pos, t := range b.traceOf {
		b.byTrace[starts[t]] = spanRef{sid: b.sids[pos], pos: int32(pos)}
		starts[t]++
	}
	// starts[t] is now the end of trace t's group.
	b.nodeOf = make([]int32, n)
	first := int32(0)
	for t := range b.traces {
		group := b.byTrace[first:starts[t]]
		sortRefs(group)
		// Keep the first span (lowest position) of each span id.
		kept := 0
		for _, r := range group {
			if kept > 0 && group[kept-1].sid == r.sid {
				b.nodeOf[r.pos] = -1
				b.stats.DuplicateSpans++
				continue
			}
			group[kept] = r
			kept++
		}
		b.traces[t].first, b.traces[t].kept = first, int32(kept)
		first = starts[t]
	}
	// Number the span nodes in batch order.
	node := int32(0)
	for pos, v := range b.nodeOf {
		if v < 0 {
			continue
		}
		b.nodeOf[pos] = node
		node++
	}
	b.stats.SpanNodes = int(node)
	// Parents.
	b.parent = make([]int32, node)
	for pos, nd := range b.nodeOf {
		if nd < 0 {
			continue
		}
		p := int32(-1)
		if pid := b.pids[pos]; pid != 0 {
			if q := b.find(b.traceOf[pos], pid); q >= 0 {
				if q == int32(pos) {
					b.stats.BrokenCycles++ // its own parent
				} else {
					p = b.nodeOf[q]
				}
			}
		}
		b.parent[nd] = p
	}
}

// find returns the batch position of the kept span sid of trace slot t, or -1.
func (b *builder) find(t int32, sid uint64) int32 {
	tr := &b.traces[t]
	group := b.byTrace[tr.first : tr.first+tr.kept]
	lo, hi := 0, len(group)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if group[m].sid < sid {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(group) && group[lo].sid == sid {
		return group[lo].pos
	}
	return -1
}

// findSpan returns the node of span (t, s), or -1 when it is not in the batch.
func (b *builder) findSpan(t pcommon.TraceID, s pcommon.SpanID) int32 {
	slot, ok := b.traceIdx[t]
	if !ok {
		return -1
	}
	if q := b.find(slot, idNum(s)); q >= 0 {
		return b.nodeOf[q]
	}
	return -1
}

// sortRefs sorts by span id, then position.
func sortRefs(r []spanRef) {
	less := func(a, b spanRef) bool { return a.sid < b.sid || (a.sid == b.sid && a.pos < b.pos) }
	if len(r) <= 24 {
		for i := 1; i < len(r); i++ {
			for j := i; j > 0 && less(r[j], r[j-1]); j-- {
				r[j], r[j-1] = r[j-1], r[j]
			}
		}
		return
	}
	slices.SortFunc(r, func(a, b spanRef) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		default:
			return 0
		}
	})
}
