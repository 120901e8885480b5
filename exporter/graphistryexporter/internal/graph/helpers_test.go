// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// peakAllocator counts the bytes a memory.Allocator has outstanding and the
// most it ever had. A reallocation counts both buffers while it copies.
type peakAllocator struct {
	mem       memory.Allocator
	cur, peak atomic.Int64
}

func newPeakAllocator() *peakAllocator {
	return &peakAllocator{mem: memory.NewGoAllocator()}
}

func (a *peakAllocator) add(n int) {
	c := a.cur.Add(int64(n))
	for {
		p := a.peak.Load()
		if c <= p || a.peak.CompareAndSwap(p, c) {
			return
		}
	}
}

func (a *peakAllocator) Allocate(size int) []byte {
	a.add(size)
	return a.mem.Allocate(size)
}

func (a *peakAllocator) Reallocate(size int, b []byte) []byte {
	a.add(size)
	out := a.mem.Reallocate(size, b)
	a.add(-len(b))
	return out
}

func (a *peakAllocator) Free(b []byte) {
	a.add(-len(b))
	a.mem.Free(b)
}

// Peak is the most bytes outstanding at once.
func (a *peakAllocator) Peak() int64 { return a.peak.Load() }

// Current is the bytes outstanding now.
func (a *peakAllocator) Current() int64 { return a.cur.Load() }

// countingWriter counts bytes and drops them.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// ---- trace construction ----

func tid(n uint64) pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[0:8], 0x0af7651916cd43dd)
	binary.BigEndian.PutUint64(t[8:16], n)
	return t
}

func sid(n uint64) pcommon.SpanID {
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], n)
	return s
}

// gatewayTraces makes spans traces of about 10 spans each, shaped like what
// the llamacpp gateway and llama-server report: a gateway SERVER span, a
// CLIENT span to llama-server, and its SERVER span with internal phases,
// children exported before their parents, the two services in two resources.
func gatewayTraces(spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	gw := td.ResourceSpans().AppendEmpty()
	gw.Resource().Attributes().PutStr("service.name", "llt-gateway")
	gw.Resource().Attributes().PutStr("service.version", "0.1.0")
	gw.Resource().Attributes().PutStr("host.name", "gpu-node-01")
	gws := gw.ScopeSpans().AppendEmpty()
	gws.Scope().SetName("github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver")
	srv := td.ResourceSpans().AppendEmpty()
	srv.Resource().Attributes().PutStr("service.name", "llama-server")
	srv.Resource().Attributes().PutStr("host.name", "gpu-node-01")
	srvs := srv.ScopeSpans().AppendEmpty()
	srvs.Scope().SetName("llama.cpp")
	gws.Spans().EnsureCapacity(spans / 5)
	srvs.Spans().EnsureCapacity(spans)

	models := []string{"qwen2.5-3b-instruct", "llama-3.1-8b-instruct-q4_k_m", "gemma-2-9b-it"}
	phases := []string{"tokenize", "prompt_eval", "sample", "decode", "detokenize", "kv_cache_update", "grammar"}
	base := uint64(1_780_000_000_000_000_000)
	n := 0
	for t := uint64(1); n < spans; t++ {
		trace := tid(t)
		start := base + t*1_000_000
		model := models[t%uint64(len(models))]
		in, out := int64(100+t%900), int64(10+t%500)
		span := func(ss ptrace.ScopeSpans, id, parent uint64, name string, kind ptrace.SpanKind, off, dur uint64) ptrace.Span {
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(trace)
			s.SetSpanID(sid(t<<8 | id))
			if parent != 0 {
				s.SetParentSpanID(sid(t<<8 | parent))
			}
			s.SetName(name)
			s.SetKind(kind)
			s.SetStartTimestamp(pcommon.Timestamp(start + off))
			s.SetEndTimestamp(pcommon.Timestamp(start + off + dur))
			n++
			return s
		}
		genAI := func(s ptrace.Span) {
			a := s.Attributes()
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.provider.name", "llama.cpp")
			a.PutStr("gen_ai.request.model", model)
			a.PutStr("gen_ai.response.model", model+".gguf")
			a.PutInt("gen_ai.usage.input_tokens", in)
			a.PutInt("gen_ai.usage.output_tokens", out)
			a.PutStr("server.address", "127.0.0.1")
			a.PutInt("server.port", 8080)
			a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%d", t))
			a.PutStr("gen_ai.response.finish_reasons", "stop")
			a.PutBool("gen_ai.request.stream", t%2 == 0)
			a.PutDouble("gen_ai.request.temperature", 0.7)
		}
		// llama-server: phases (children) first, then its SERVER span.
		for i, p := range phases {
			if n >= spans-3 {
				break
			}
			s := span(srvs, uint64(10+i), 3, p, ptrace.SpanKindInternal, 3000+uint64(i)*100_000, 90_000+t%1000)
			s.Attributes().PutStr("llt.phase", p)
			s.Attributes().PutInt("llt.slot.id", int64(t%4))
		}
		s := span(srvs, 3, 2, "chat "+model, ptrace.SpanKindServer, 2000, 800_000)
		genAI(s)
		if t%97 == 0 {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("context length exceeded")
			s.Attributes().PutStr("error.type", "context_length_exceeded")
		} else {
			s.Status().SetCode(ptrace.StatusCodeOk)
		}
		// Gateway: CLIENT then SERVER (the top-level span).
		c := span(gws, 2, 1, "chat "+model, ptrace.SpanKindClient, 1000, 850_000)
		genAI(c)
		g := span(gws, 1, 0, "POST /v1/chat/completions", ptrace.SpanKindServer, 0, 900_000)
		g.Attributes().PutStr("http.request.method", "POST")
		g.Attributes().PutStr("url.path", "/v1/chat/completions")
		g.Attributes().PutInt("http.response.status_code", 200)
		g.Attributes().PutStr("client.address", "10.0.0.7")
	}
	return td
}

var (
	benchOnce   sync.Once
	benchTraces ptrace.Traces
)

// millionSpans is gatewayTraces(1_000_000), made once per test binary.
func millionSpans() ptrace.Traces {
	benchOnce.Do(func() { benchTraces = gatewayTraces(1_000_000) })
	return benchTraces
}

// ---- reading tables back ----

// nodeRow is one row of the node table, nulls as nil pointers.
type nodeRow struct {
	ID, SpanID, TraceID, Name, Service, Kind, Status, StatusMessage string
	Start                                                           *int64
	DurationMs                                                      *float64
	Model                                                           string
	In, Out                                                         *int64
	ErrorType                                                       string
	Size                                                            float64
	IsRoot, IsExternal                                              bool
}

// edgeRow is one row of the edge table.
type edgeRow struct {
	Src, Dst, Type, TraceID string
}

func strCol(t testing.TB, rec arrow.RecordBatch, name string) *array.String {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	require.Len(t, idx, 1, name)
	c, ok := rec.Column(idx[0]).(*array.String)
	require.True(t, ok, "%s is %T", name, rec.Column(idx[0]))
	return c
}

func colOf[T arrow.Array](t testing.TB, rec arrow.RecordBatch, name string) T {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	require.Len(t, idx, 1, name)
	c, ok := rec.Column(idx[0]).(T)
	require.True(t, ok, "%s is %T", name, rec.Column(idx[0]))
	return c
}

func optInt(a interface {
	IsNull(int) bool
	Value(int) int64
}, i int) *int64 {
	if a.IsNull(i) {
		return nil
	}
	v := a.Value(i)
	return &v
}

func nodeRows(t testing.TB, rec arrow.RecordBatch) []nodeRow {
	t.Helper()
	requireSchema(t, NodeSchema, rec.Schema())
	id, spanID, traceID := strCol(t, rec, ColID), strCol(t, rec, ColSpanID), strCol(t, rec, ColTraceID)
	name, service, kind := strCol(t, rec, ColName), strCol(t, rec, ColService), strCol(t, rec, ColKind)
	status, msg := strCol(t, rec, ColStatus), strCol(t, rec, ColStatusMessage)
	start := colOf[*array.Timestamp](t, rec, ColStart)
	dur := colOf[*array.Float64](t, rec, ColDurationMs)
	model, errType := strCol(t, rec, ColGenAIModel), strCol(t, rec, ColErrorType)
	in, out := colOf[*array.Int64](t, rec, ColInputTokens), colOf[*array.Int64](t, rec, ColOutputTokens)
	size := colOf[*array.Float64](t, rec, ColSize)
	isRoot, isExt := colOf[*array.Boolean](t, rec, ColIsRootPlaceholder), colOf[*array.Boolean](t, rec, ColIsExternal)
	rows := make([]nodeRow, rec.NumRows())
	for i := range rows {
		r := nodeRow{
			ID: id.Value(i), SpanID: spanID.Value(i), TraceID: traceID.Value(i),
			Name: name.Value(i), Service: service.Value(i), Kind: kind.Value(i),
			Status: status.Value(i), StatusMessage: msg.Value(i),
			Model: model.Value(i), ErrorType: errType.Value(i),
			In: optInt(in, i), Out: optInt(out, i),
			Size: size.Value(i), IsRoot: isRoot.Value(i), IsExternal: isExt.Value(i),
		}
		if !start.IsNull(i) {
			v := int64(start.Value(i))
			r.Start = &v
		}
		if !dur.IsNull(i) {
			v := dur.Value(i)
			r.DurationMs = &v
		}
		rows[i] = r
	}
	return rows
}

func edgeRows(t testing.TB, rec arrow.RecordBatch) []edgeRow {
	t.Helper()
	requireSchema(t, EdgeSchema, rec.Schema())
	src, dst := strCol(t, rec, ColSrc), strCol(t, rec, ColDst)
	typ, tr := strCol(t, rec, ColEdgeType), strCol(t, rec, ColTraceID)
	rows := make([]edgeRow, rec.NumRows())
	for i := range rows {
		rows[i] = edgeRow{Src: src.Value(i), Dst: dst.Value(i), Type: typ.Value(i), TraceID: tr.Value(i)}
	}
	return rows
}

// decodeIPC reads an Arrow IPC file holding one table and returns its single
// record (released by t.Cleanup).
func decodeIPC(t testing.TB, b []byte) arrow.RecordBatch {
	t.Helper()
	r, err := ipc.NewFileReader(bytes.NewReader(b))
	require.NoError(t, err)
	defer func() { _ = r.Close() }()
	require.Equal(t, 1, r.NumRecords())
	rec, err := r.RecordBatch(0)
	require.NoError(t, err)
	rec.Retain()
	t.Cleanup(rec.Release)
	return rec
}

// roundTrip encodes both tables with EncodeIPC and decodes them.
func roundTrip(t testing.TB, g *Graph) (nodes []nodeRow, edges []edgeRow) {
	t.Helper()
	var nb, eb bytes.Buffer
	require.NoError(t, g.EncodeIPC(&nb, TableNodes))
	require.NoError(t, g.EncodeIPC(&eb, TableEdges))
	return nodeRows(t, decodeIPC(t, nb.Bytes())), edgeRows(t, decodeIPC(t, eb.Bytes()))
}

func ptr[T any](v T) *T { return &v }

// refSize mirrors sizeFor for expected rows.
func refSize(ms *float64) float64 {
	if ms == nil || *ms <= 0 {
		return 1
	}
	return math.Min(10, 1+1.5*math.Log10(1+*ms))
}

// requireSchema checks names, types and nullability (Parquet readers add
// field metadata).
func requireSchema(t testing.TB, want, got *arrow.Schema) {
	t.Helper()
	require.Equal(t, want.NumFields(), got.NumFields(), "schema %s", got)
	for i, f := range want.Fields() {
		g := got.Field(i)
		require.Equal(t, f.Name, g.Name)
		require.True(t, arrow.TypeEqual(f.Type, g.Type), "%s: %s, want %s", f.Name, g.Type, f.Type)
		require.Equal(t, f.Nullable, g.Nullable, f.Name)
	}
}

// requireRows compares rows one by one (nil and empty are the same). It
// reports a mismatch briefly: testify's diff of rows holding long strings
// takes too long.
func requireRows[R fmt.Stringer](t testing.TB, want, got []R) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Fatalf("row %d:\nwant %s\ngot  %s", i, want[i], got[i])
		}
	}
	require.Len(t, got, len(want))
}

func (r nodeRow) String() string {
	opt := func(v any) string {
		switch p := v.(type) {
		case *int64:
			if p != nil {
				return fmt.Sprint(*p)
			}
		case *float64:
			if p != nil {
				return fmt.Sprint(*p)
			}
		}
		return "null"
	}
	return fmt.Sprintf("{id=%s span=%s trace=%s name=%q service=%q kind=%s status=%s msg=%q start=%s dur=%s model=%q in=%s out=%s err=%q size=%v root=%v ext=%v}",
		r.ID, r.SpanID, r.TraceID, short(r.Name), short(r.Service), r.Kind, r.Status, short(r.StatusMessage),
		opt(r.Start), opt(r.DurationMs), short(r.Model), opt(r.In), opt(r.Out), short(r.ErrorType), r.Size, r.IsRoot, r.IsExternal)
}

func (r edgeRow) String() string {
	return fmt.Sprintf("%+v", struct{ Src, Dst, Type, TraceID string }(r))
}

// short cuts long strings for messages.
func short(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%s...(%d bytes)", s[:64], len(s))
	}
	return s
}
