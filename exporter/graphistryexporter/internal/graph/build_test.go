// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// sp describes a span for makeTraces. Ids are small numbers (see tid, sid);
// 0 means empty.
type sp struct {
	trace, span, parent uint64
	name                string
	kind                ptrace.SpanKind
	code                ptrace.StatusCode
	msg                 string
	start, end          uint64
	attrs               map[string]any
	links               [][2]uint64 // (trace, span)
}

// res is one ResourceSpans.
type res struct {
	service any // nil: no service.name
	spans   []sp
}

func makeTraces(t testing.TB, rs ...res) ptrace.Traces {
	t.Helper()
	td := ptrace.NewTraces()
	for _, r := range rs {
		out := td.ResourceSpans().AppendEmpty()
		if r.service != nil {
			require.NoError(t, out.Resource().Attributes().FromRaw(map[string]any{"service.name": r.service}))
		}
		ss := out.ScopeSpans().AppendEmpty()
		for _, in := range r.spans {
			s := ss.Spans().AppendEmpty()
			if in.trace != 0 {
				s.SetTraceID(tid(in.trace))
			}
			if in.span != 0 {
				s.SetSpanID(sid(in.span))
			}
			if in.parent != 0 {
				s.SetParentSpanID(sid(in.parent))
			}
			s.SetName(in.name)
			s.SetKind(in.kind)
			s.Status().SetCode(in.code)
			s.Status().SetMessage(in.msg)
			s.SetStartTimestamp(pcommon.Timestamp(in.start))
			s.SetEndTimestamp(pcommon.Timestamp(in.end))
			if in.attrs != nil {
				require.NoError(t, s.Attributes().FromRaw(in.attrs))
			}
			for _, l := range in.links {
				link := s.Links().AppendEmpty()
				if l[0] != 0 {
					link.SetTraceID(tid(l[0]))
				}
				if l[1] != 0 {
					link.SetSpanID(sid(l[1]))
				}
			}
		}
	}
	return td
}

// thex and nid give the hex trace id and the node id of small-number ids.
func thex(trace uint64) string {
	t := tid(trace)
	return hex.EncodeToString(t[:])
}

func shex(span uint64) string {
	s := sid(span)
	return hex.EncodeToString(s[:])
}

func nid(trace, span uint64) string { return thex(trace) + ":" + shex(span) }

func rootID(trace uint64) string { return "trace:" + thex(trace) }

// build runs Build with a checked allocator, decodes both IPC files and
// checks that releasing the graph frees every Arrow buffer.
func build(t *testing.T, td ptrace.Traces) ([]nodeRow, []edgeRow, Stats) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	g, err := Build(td, mem)
	require.NoError(t, err)
	nodes, edges := roundTrip(t, g)
	stats := g.Stats
	require.EqualValues(t, len(nodes), stats.SpanNodes+stats.TraceRoots+stats.ExternalSpans)
	require.EqualValues(t, len(edges), stats.ChildEdges+stats.LinkEdges)
	g.Release()
	g.Release()
	mem.AssertSize(t, 0)
	return nodes, edges, stats
}

// checkAgainstRef compares Build with refGraph row by row and checks the
// graph invariants.
func checkAgainstRef(t *testing.T, td ptrace.Traces) ([]nodeRow, []edgeRow, Stats) {
	t.Helper()
	nodes, edges, stats := build(t, td)
	wantNodes, wantEdges, wantStats := refGraph(td)
	if wantStats != stats {
		t.Fatalf("stats %+v, want %+v", stats, wantStats)
	}
	requireRows(t, wantNodes, nodes)
	requireRows(t, wantEdges, edges)
	checkInvariants(t, nodes, edges)
	return nodes, edges, stats
}

// checkInvariants: unique node ids, valid UTF-8, every edge endpoint is a
// node, every span node has exactly one incoming child edge, and following
// child edges up from any span reaches its own trace root.
func checkInvariants(t *testing.T, nodes []nodeRow, edges []edgeRow) {
	t.Helper()
	byID := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if _, dup := byID[n.ID]; dup {
			t.Fatalf("duplicate node id %q", n.ID)
		}
		byID[n.ID] = i
		for _, s := range []string{n.ID, n.SpanID, n.TraceID, n.Name, n.Service, n.Kind, n.Status, n.StatusMessage, n.Model, n.ErrorType} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in node %d: %q", i, short(s))
			}
		}
	}
	up := map[string]string{}
	for i, e := range edges {
		_, okSrc := byID[e.Src]
		_, okDst := byID[e.Dst]
		if !okSrc || !okDst {
			t.Fatalf("edge %d %s: an endpoint is not a node", i, e)
		}
		switch e.Type {
		case EdgeChild:
			if _, twice := up[e.Dst]; twice {
				t.Fatalf("two parents for %s", e.Dst)
			}
			up[e.Dst] = e.Src
		case EdgeLink:
		default:
			t.Fatalf("edge %d: type %q", i, e.Type)
		}
	}
	for _, n := range nodes {
		_, hasParent := up[n.ID]
		if n.IsRoot || n.IsExternal {
			if hasParent {
				t.Fatalf("placeholder %s has a parent", n.ID)
			}
			continue
		}
		if !hasParent {
			t.Fatalf("span %s has no parent edge", n.ID)
		}
		cur := n.ID
		for steps := 0; ; steps++ {
			if steps > len(nodes) {
				t.Fatalf("loop above %s", n.ID)
			}
			p, ok := up[cur]
			if !ok {
				break
			}
			cur = p
		}
		if cur != "trace:"+n.TraceID {
			t.Fatalf("%s reaches %s, not its trace root", n.ID, cur)
		}
	}
}

const t0 = uint64(1_780_000_000_000_000_000) // 2026-05-28

func TestBuildOneTrace(t *testing.T) {
	td := makeTraces(t,
		res{service: "llt-gateway", spans: []sp{
			{trace: 1, span: 2, parent: 1, name: "chat qwen", kind: ptrace.SpanKindClient, code: ptrace.StatusCodeOk,
				start: t0 + 1_000_000, end: t0 + 5_000_000,
				attrs: map[string]any{"gen_ai.request.model": "qwen", "gen_ai.usage.input_tokens": 12}},
			{trace: 1, span: 1, name: "POST /v1/chat/completions", kind: ptrace.SpanKindServer, start: t0, end: t0 + 6_000_000},
		}},
		res{service: "llama-server", spans: []sp{
			{trace: 1, span: 3, parent: 2, name: "chat qwen", kind: ptrace.SpanKindServer, code: ptrace.StatusCodeError,
				msg: "boom", start: t0 + 2_000_000, end: t0 + 4_500_000,
				attrs: map[string]any{
					"gen_ai.request.model": "qwen", "gen_ai.response.model": "qwen2.5.gguf",
					"gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": int64(34),
					"error.type": "context_length_exceeded", "other": "x",
				}},
		}},
	)
	nodes, edges, stats := checkAgainstRef(t, td)

	want := []nodeRow{
		{ID: nid(1, 2), SpanID: shex(2), TraceID: thex(1), Name: "chat qwen", Service: "llt-gateway", Kind: "CLIENT",
			Status: "OK", Start: ptr(int64(t0 + 1_000_000)), DurationMs: ptr(4.0), Model: "qwen", In: ptr(int64(12)),
			Size: 1 + 1.5*math.Log10(5)},
		{ID: nid(1, 1), SpanID: shex(1), TraceID: thex(1), Name: "POST /v1/chat/completions", Service: "llt-gateway",
			Kind: "SERVER", Status: "ok", Start: ptr(int64(t0)), DurationMs: ptr(6.0), Size: 1 + 1.5*math.Log10(7)},
		{ID: nid(1, 3), SpanID: shex(3), TraceID: thex(1), Name: "chat qwen", Service: "llama-server", Kind: "SERVER",
			Status: "ERROR", StatusMessage: "boom", Start: ptr(int64(t0 + 2_000_000)), DurationMs: ptr(2.5),
			Model: "qwen2.5.gguf", In: ptr(int64(12)), Out: ptr(int64(34)), ErrorType: "context_length_exceeded",
			Size: 1 + 1.5*math.Log10(3.5)},
		{ID: rootID(1), TraceID: thex(1), Name: "trace " + thex(1)[:8], Service: "llt-gateway", Status: "UNSET",
			Start: ptr(int64(t0)), DurationMs: ptr(6.0), Size: 1 + 1.5*math.Log10(7), IsRoot: true},
	}
	require.Len(t, nodes, len(want))
	for i := range want {
		assert.Equal(t, want[i].ID, nodes[i].ID)
		assert.InDelta(t, want[i].Size, nodes[i].Size, 1e-12)
		want[i].Size = nodes[i].Size
		assert.Equal(t, want[i], nodes[i], "row %d", i)
	}
	assert.Equal(t, []edgeRow{
		{Src: nid(1, 1), Dst: nid(1, 2), Type: "child", TraceID: thex(1)},
		{Src: rootID(1), Dst: nid(1, 1), Type: "child", TraceID: thex(1)},
		{Src: nid(1, 2), Dst: nid(1, 3), Type: "child", TraceID: thex(1)},
	}, edges)
	assert.Equal(t, Stats{Spans: 3, SpanNodes: 3, TraceRoots: 1, ChildEdges: 3}, stats)
}

func TestBuildMissingParentsHangFromTraceRoot(t *testing.T) {
	td := makeTraces(t, res{service: "svc", spans: []sp{
		{trace: 1, span: 10, parent: 99, name: "orphan", start: t0 + 5, end: t0 + 10},
		{trace: 1, span: 11, parent: 10, name: "child of orphan", start: t0 + 6, end: t0 + 7},
		{trace: 2, span: 10, parent: 11, name: "parent is in trace 1 only", start: t0 + 1, end: t0 + 2},
		{trace: 2, span: 12, name: "top", start: t0, end: t0 + 3},
	}})
	nodes, edges, stats := checkAgainstRef(t, td)
	assert.Equal(t, []edgeRow{
		{Src: rootID(1), Dst: nid(1, 10), Type: "child", TraceID: thex(1)},
		{Src: nid(1, 10), Dst: nid(1, 11), Type: "child", TraceID: thex(1)},
		{Src: rootID(2), Dst: nid(2, 10), Type: "child", TraceID: thex(2)},
		{Src: rootID(2), Dst: nid(2, 12), Type: "child", TraceID: thex(2)},
	}, edges)
	require.Len(t, nodes, 6)
	assert.Equal(t, rootID(1), nodes[4].ID)
	assert.True(t, nodes[4].IsRoot)
	assert.Equal(t, int64(t0+5), *nodes[4].Start)
	assert.Equal(t, rootID(2), nodes[5].ID)
	assert.Equal(t, "trace "+thex(2)[:8], nodes[5].Name)
	assert.Equal(t, 2, stats.TraceRoots)
}

func TestBuildLinks(t *testing.T) {
	td := makeTraces(t, res{service: "svc", spans: []sp{
		{trace: 1, span: 1, name: "a", links: [][2]uint64{{1, 2}, {3, 7}}},
		{trace: 1, span: 2, name: "b", links: [][2]uint64{{3, 7}, {2, 1}, {0, 0}}},
		{trace: 2, span: 1, name: "c", links: [][2]uint64{{1, 1}}},
	}})
	nodes, edges, stats := checkAgainstRef(t, td)
	// 3 spans, 2 roots, externals (3,7) and (0,0).
	require.Len(t, nodes, 7)
	assert.Equal(t, nodeRow{ID: nid(3, 7), SpanID: shex(7), TraceID: thex(3), Name: "external span " + shex(7),
		Status: "UNSET", Size: 1, IsExternal: true}, nodes[5])
	zero := strings.Repeat("0", 32) + ":" + strings.Repeat("0", 16)
	assert.Equal(t, zero, nodes[6].ID)
	assert.True(t, nodes[6].IsExternal)
	assert.Equal(t, []edgeRow{
		{Src: rootID(1), Dst: nid(1, 1), Type: "child", TraceID: thex(1)},
		{Src: rootID(1), Dst: nid(1, 2), Type: "child", TraceID: thex(1)},
		{Src: rootID(2), Dst: nid(2, 1), Type: "child", TraceID: thex(2)},
		{Src: nid(1, 1), Dst: nid(1, 2), Type: "link", TraceID: thex(1)},
		{Src: nid(1, 1), Dst: nid(3, 7), Type: "link", TraceID: thex(1)},
		{Src: nid(1, 2), Dst: nid(3, 7), Type: "link", TraceID: thex(1)},
		{Src: nid(1, 2), Dst: nid(2, 1), Type: "link", TraceID: thex(1)},
		{Src: nid(1, 2), Dst: zero, Type: "link", TraceID: thex(1)},
		{Src: nid(2, 1), Dst: nid(1, 1), Type: "link", TraceID: thex(2)},
	}, edges)
	assert.Equal(t, 2, stats.ExternalSpans)
	assert.Equal(t, 6, stats.LinkEdges)
}

func TestBuildDuplicateSpanIDs(t *testing.T) {
	td := makeTraces(t,
		res{service: "a", spans: []sp{
			{trace: 1, span: 1, name: "first"},
			{trace: 1, span: 2, parent: 1, name: "child"},
			{trace: 1, span: 1, name: "second copy"},
			{trace: 2, span: 1, name: "same span id, other trace"},
		}},
		res{service: "b", spans: []sp{
			{trace: 1, span: 1, name: "third copy", links: [][2]uint64{{1, 2}}},
			{trace: 1, span: 2, parent: 1, name: "child copy"},
		}},
	)
	nodes, edges, stats := checkAgainstRef(t, td)
	assert.Equal(t, 3, stats.DuplicateSpans)
	assert.Equal(t, 3, stats.SpanNodes)
	require.Len(t, nodes, 5)
	assert.Equal(t, "first", nodes[0].Name)
	assert.Equal(t, "child", nodes[1].Name)
	assert.Equal(t, "same span id, other trace", nodes[2].Name)
	assert.Len(t, edges, 3) // the copies' links are dropped with them
}

func TestBuildParentLoops(t *testing.T) {
	td := makeTraces(t, res{service: "svc", spans: []sp{
		{trace: 1, span: 1, parent: 2, name: "a"}, // a <-> b
		{trace: 1, span: 2, parent: 1, name: "b"},
		{trace: 1, span: 3, parent: 3, name: "self"},
		{trace: 1, span: 4, parent: 1, name: "under a"},
		{trace: 2, span: 5, parent: 6, name: "tail"}, // tail -> x -> y -> z -> x
		{trace: 2, span: 6, parent: 7, name: "x"},
		{trace: 2, span: 7, parent: 8, name: "y"},
		{trace: 2, span: 8, parent: 6, name: "z"},
	}})
	_, edges, stats := checkAgainstRef(t, td)
	assert.Equal(t, 3, stats.BrokenCycles)
	assert.Equal(t, []edgeRow{
		{Src: rootID(1), Dst: nid(1, 1), Type: "child", TraceID: thex(1)}, // loop re-entered at a
		{Src: nid(1, 1), Dst: nid(1, 2), Type: "child", TraceID: thex(1)},
		{Src: rootID(1), Dst: nid(1, 3), Type: "child", TraceID: thex(1)},
		{Src: nid(1, 1), Dst: nid(1, 4), Type: "child", TraceID: thex(1)},
		{Src: nid(2, 6), Dst: nid(2, 5), Type: "child", TraceID: thex(2)},
		{Src: rootID(2), Dst: nid(2, 6), Type: "child", TraceID: thex(2)}, // walk from tail re-enters at x
		{Src: nid(2, 8), Dst: nid(2, 7), Type: "child", TraceID: thex(2)},
		{Src: nid(2, 6), Dst: nid(2, 8), Type: "child", TraceID: thex(2)},
	}, edges)
}

func TestBuildInvalidUTF8(t *testing.T) {
	bad := "ok\xff\xfe-\xc3(\xed\xa0\x80end\xef\xbf\xbd"
	want := "ok\uFFFD-\uFFFD(\uFFFDend\uFFFD"
	td := makeTraces(t, res{service: "svc\x80", spans: []sp{
		{trace: 1, span: 1, name: bad, msg: bad, attrs: map[string]any{
			"gen_ai.request.model": bad, "error.type": bad,
		}},
	}})
	nodes, _, _ := checkAgainstRef(t, td)
	n := nodes[0]
	assert.Equal(t, want, n.Name)
	assert.Equal(t, want, n.StatusMessage)
	assert.Equal(t, want, n.Model)
	assert.Equal(t, want, n.ErrorType)
	assert.Equal(t, "svc\uFFFD", n.Service)
	assert.Equal(t, "svc\uFFFD", nodes[1].Service) // the trace root
}

func TestBuildEmpty(t *testing.T) {
	for name, td := range map[string]ptrace.Traces{
		"no resources": ptrace.NewTraces(),
		"no spans":     makeTraces(t, res{service: "svc"}, res{}),
	} {
		t.Run(name, func(t *testing.T) {
			nodes, edges, stats := checkAgainstRef(t, td)
			assert.Empty(t, nodes)
			assert.Empty(t, edges)
			assert.Equal(t, Stats{}, stats)
		})
	}
}

func TestBuildValues(t *testing.T) {
	td := makeTraces(t, res{service: int64(42), spans: []sp{
		{trace: 1, span: 1, name: "no times"},
		{trace: 1, span: 2, name: "ends before it starts", start: t0 + 10, end: t0},
		{trace: 1, span: 3, name: "no end", start: t0},
		{trace: 1, span: 4, name: "start past int64", start: math.MaxUint64 - 1, end: math.MaxUint64},
		{trace: 1, span: 5, name: "long", start: 1, end: math.MaxUint64},
		{trace: 1, span: 6, kind: ptrace.SpanKind(42), code: ptrace.StatusCode(7), attrs: map[string]any{
			"gen_ai.usage.input_tokens": 12.0, "gen_ai.usage.output_tokens": 12.5,
			"gen_ai.response.model": "", "gen_ai.request.model": "req",
		}},
		{trace: 1, span: 7, kind: ptrace.SpanKindProducer, attrs: map[string]any{
			"gen_ai.usage.input_tokens": " 77 ", "gen_ai.usage.output_tokens": true,
			"gen_ai.response.model": 3, "error.type": 500,
		}},
		{trace: 1, span: 8, kind: ptrace.SpanKindConsumer, attrs: map[string]any{
			"gen_ai.usage.input_tokens": math.Inf(1), "gen_ai.usage.output_tokens": "x",
		}},
		{trace: 1, span: 9, kind: ptrace.SpanKindInternal, attrs: map[string]any{
			"gen_ai.usage.input_tokens": -1e300, "gen_ai.usage.output_tokens": math.NaN(),
		}},
	}})
	nodes, _, _ := checkAgainstRef(t, td)
	assert.Equal(t, "42", nodes[0].Service)
	assert.Nil(t, nodes[0].Start)
	assert.Nil(t, nodes[0].DurationMs)
	assert.Equal(t, 1.0, nodes[0].Size)
	assert.Equal(t, 0.0, *nodes[1].DurationMs)
	assert.Nil(t, nodes[2].DurationMs)
	assert.Nil(t, nodes[3].Start)
	assert.Equal(t, 1e-6, *nodes[3].DurationMs)
	assert.Equal(t, 10.0, nodes[4].Size)
	assert.Equal(t, "UNSPECIFIED", nodes[5].Kind)
	assert.Equal(t, "ok", nodes[5].Status, "an unknown status code without error.type")
	assert.Equal(t, "ERROR", nodes[6].Status, "status UNSET with an error.type")
	assert.Equal(t, ptr(int64(12)), nodes[5].In)
	assert.Nil(t, nodes[5].Out)
	assert.Equal(t, "req", nodes[5].Model)
	assert.Equal(t, "PRODUCER", nodes[6].Kind)
	assert.Equal(t, ptr(int64(77)), nodes[6].In)
	assert.Nil(t, nodes[6].Out)
	assert.Equal(t, "3", nodes[6].Model)
	assert.Equal(t, "500", nodes[6].ErrorType)
	assert.Equal(t, "CONSUMER", nodes[7].Kind)
	assert.Nil(t, nodes[7].In)
	assert.Nil(t, nodes[8].In)
	assert.Nil(t, nodes[8].Out)
	// The root: the earliest start is 1, the latest end MaxUint64.
	root := nodes[9]
	assert.True(t, root.IsRoot)
	assert.Equal(t, int64(1), *root.Start)
	assert.Equal(t, "42", root.Service)
}

func TestBuildGatewayMatchesReference(t *testing.T) {
	td := gatewayTraces(5000)
	// A few links and duplicates on top.
	s := td.ResourceSpans().At(1).ScopeSpans().At(0).Spans()
	for i := 0; i < s.Len(); i += 97 {
		l := s.At(i).Links().AppendEmpty()
		l.SetTraceID(tid(uint64(i/3 + 1)))
		l.SetSpanID(sid(uint64(i/3+1)<<8 | 3))
	}
	s.At(5).CopyTo(s.AppendEmpty())
	_, _, stats := checkAgainstRef(t, td)
	assert.Equal(t, 5001, stats.Spans)
	assert.Equal(t, 1, stats.DuplicateSpans)
}

func TestBuildNilAllocatorAndErrors(t *testing.T) {
	g, err := Build(makeTraces(t, res{spans: []sp{{trace: 1, span: 1}}}), nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.ErrorIs(t, g.EncodeIPC(&buf, Table(9)), errBadTable)
	g.Release()
	require.ErrorIs(t, g.EncodeIPC(&buf, TableNodes), errNoGraph)
	var none *Graph
	require.ErrorIs(t, none.EncodeIPC(&buf, TableEdges), errNoGraph)
	none.Release()
	assert.Equal(t, "nodes", TableNodes.String())
	assert.Equal(t, "edges", TableEdges.String())
	assert.Equal(t, "Table(9)", Table(9).String())
}

func TestBuildTooLarge(t *testing.T) {
	old := maxColumnBytes
	t.Cleanup(func() { maxColumnBytes = old })
	for _, tc := range []struct {
		name  string
		limit int
		spans []sp
	}{
		{"name column", 1000, []sp{{trace: 1, span: 1, name: strings.Repeat("n", 1001)}}},
		{"invalid utf-8 name", 1000, []sp{{trace: 1, span: 1, name: strings.Repeat("\xffa", 400)}}},
		{"invalid utf-8 names", 1000, []sp{
			{trace: 1, span: 1, name: strings.Repeat("\xffa", 150)},
			{trace: 1, span: 2, name: strings.Repeat("\xffa", 150)},
		}},
		{"model column", 1000, []sp{{trace: 1, span: 1, attrs: map[string]any{"gen_ai.request.model": strings.Repeat("m", 1001)}}}},
		{"id column", 100, []sp{{trace: 1, span: 1}, {trace: 1, span: 2}, {trace: 1, span: 3}}},
		{"edge src column", 200, []sp{
			{trace: 1, span: 1}, {trace: 1, span: 2, parent: 1}, {trace: 1, span: 3, parent: 2},
			{trace: 1, span: 4, parent: 3}, {trace: 1, span: 5, parent: 4},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxColumnBytes = tc.limit
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			g, err := Build(makeTraces(t, res{spans: tc.spans}), mem)
			require.ErrorIs(t, err, errTooLarge)
			require.Nil(t, g)
			mem.AssertSize(t, 0)
		})
	}
}

func TestBuildLargeShuffledTrace(t *testing.T) {
	// One trace of 3000 spans, a tree with fan-out 3, in a scrambled order,
	// with every 50th span repeated: exercises the large-trace sort.
	var spans []sp
	for i := uint64(1); i <= 3000; i++ {
		s := sp{trace: 7, span: i*7919%100003 + 1, name: "s", start: t0 + i, end: t0 + 2*i}
		if i > 1 {
			s.parent = (i/3)*7919%100003 + 1
		}
		spans = append(spans, s)
	}
	order := make([]sp, 0, len(spans)+60)
	for i := range spans {
		order = append(order, spans[(i*1237)%len(spans)])
		if i%50 == 0 {
			order = append(order, spans[i])
		}
	}
	_, _, stats := checkAgainstRef(t, makeTraces(t, res{service: "a", spans: order[:1500]}, res{service: "b", spans: order[1500:]}))
	assert.Equal(t, 3000, stats.SpanNodes)
	assert.Equal(t, 1, stats.TraceRoots)
	assert.Positive(t, stats.DuplicateSpans)
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestEncodeWriterErrors(t *testing.T) {
	g, err := Build(gatewayTraces(100), nil)
	require.NoError(t, err)
	defer g.Release()
	for _, format := range []Format{FormatArrow, FormatParquet} {
		for _, after := range []int{0, 10, 1000} {
			err := g.Encode(&failingWriter{after: after}, TableNodes, format)
			require.Error(t, err, "%s after %d", format, after)
			assert.Contains(t, err.Error(), "graph: "+string(format)+" nodes")
		}
	}
}

// TestBuildStatusIsTheOutcome: the status column is the span's outcome. A server span left UNSET
// succeeded ("ok", green like OK); status ERROR or an error.type is ERROR; only the trace roots
// and external spans, which are not spans of the batch, stay UNSET.
func TestBuildStatusIsTheOutcome(t *testing.T) {
	td := makeTraces(t, res{service: "llt-gateway", spans: []sp{
		{trace: 1, span: 1, name: "chat qwen", kind: ptrace.SpanKindServer, start: t0, end: t0 + 1_000_000,
			links: [][2]uint64{{9, 9}}},
		{trace: 1, span: 2, parent: 1, name: "ok", code: ptrace.StatusCodeOk, start: t0, end: t0 + 1},
		{trace: 1, span: 3, parent: 1, name: "error", code: ptrace.StatusCodeError, start: t0, end: t0 + 1},
		{trace: 1, span: 4, parent: 1, name: "unset with error.type", start: t0, end: t0 + 1,
			attrs: map[string]any{"error.type": "timeout"}},
		{trace: 1, span: 5, parent: 1, name: "ok with error.type", code: ptrace.StatusCodeOk, start: t0, end: t0 + 1,
			attrs: map[string]any{"error.type": "500"}},
		{trace: 1, span: 6, parent: 1, name: "unset with an empty error.type", start: t0, end: t0 + 1,
			attrs: map[string]any{"error.type": ""}},
	}})
	nodes, _, _ := checkAgainstRef(t, td)
	got := map[string]string{}
	for _, n := range nodes {
		got[n.Name] = n.Status
	}
	assert.Equal(t, map[string]string{
		"chat qwen": StatusOKUnset, "ok": StatusOK, "error": StatusError, "unset with error.type": StatusError,
		"ok with error.type": StatusError, "unset with an empty error.type": StatusOKUnset,
		"trace " + thex(1)[:8]: StatusUnset, "external span " + shex(9): StatusUnset,
	}, got)
	// Both successes are drawn green, the failures red.
	nodeEnc, _ := Encodings()
	fixed := nodeEnc["complex"].(map[string]any)["default"].(map[string]any)["pointColorEncoding"].(map[string]any)["mapping"].(map[string]any)["categorical"].(map[string]any)["fixed"].(map[string]any)
	assert.Equal(t, ColorOK, fixed[StatusOKUnset])
	assert.Equal(t, ColorOK, fixed[StatusOK])
	assert.Equal(t, ColorError, fixed[StatusError])
}

// TestBuildDropsAttentionSample: the attention sample's probabilities and token pieces (large,
// possibly prompt content) reach no column of either table.
func TestBuildDropsAttentionSample(t *testing.T) {
	const secret = "SECRET-PROMPT-PIECE"
	probs := bytes.Repeat([]byte{0x00, 0x3c}, 4096) // half-precision 1.0s
	td := makeTraces(t, res{service: "genaienrich", spans: []sp{
		{trace: 1, span: 1, name: "chat qwen", kind: ptrace.SpanKindServer, start: t0, end: t0 + 1_000_000},
		{trace: 1, span: 2, parent: 1, name: "llt.attention", start: t0, end: t0 + 1_000_000, attrs: map[string]any{
			"llt.attention.probs":        probs,
			"llt.attention.token_labels": []any{"<s>", secret, secret + "-2"},
			"llt.attention.model":        "qwen",
			"llt.attention.tokens":       3,
		}},
	}})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	g, err := Build(td, mem)
	require.NoError(t, err)
	defer func() { g.Release(); mem.AssertSize(t, 0) }()
	requireSchema(t, NodeSchema, g.Nodes.Schema())
	var dump strings.Builder
	for _, rec := range []arrow.RecordBatch{g.Nodes, g.Edges} {
		for i := range int(rec.NumCols()) {
			assert.NotContains(t, rec.ColumnName(i), "attention")
			dump.WriteString(rec.Column(i).String())
		}
	}
	assert.NotContains(t, dump.String(), secret)
	assert.Less(t, dump.Len(), len(probs), "the probabilities are not in the tables")
	nodes, _, _ := checkAgainstRef(t, td)
	assert.Len(t, nodes, 3)
}
