// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// buildEncode builds the graph of td with mem and encodes both tables as
// Arrow IPC files into w.
func buildEncode(tb testing.TB, td ptrace.Traces, mem *peakAllocator, w *countingWriter) *Graph {
	g, err := Build(td, mem)
	require.NoError(tb, err)
	require.NoError(tb, g.EncodeIPC(w, TableNodes))
	require.NoError(tb, g.EncodeIPC(w, TableEdges))
	return g
}

// BenchmarkBuildEncode1M builds and encodes (nodes and edges, Arrow IPC
// files) the graph of one million gateway-like spans. Metrics: encoded-B is
// the bytes of both files, peak-arrow-B the most Arrow bytes allocated at
// once, peak/encoded their ratio, heap-B/op the Go allocations of the whole
// operation (Arrow buffers included, since the Go allocator backs them).
func BenchmarkBuildEncode1M(b *testing.B) {
	td := millionSpans()
	runtime.GC() // settle the garbage left by making the spans
	b.ReportAllocs()
	b.ResetTimer()
	var w countingWriter
	var peak int64
	for b.Loop() {
		w = countingWriter{}
		mem := newPeakAllocator()
		g := buildEncode(b, td, mem, &w)
		g.Release()
		peak = mem.Peak()
	}
	b.ReportMetric(float64(w.n), "encoded-B")
	b.ReportMetric(float64(peak), "peak-arrow-B")
	b.ReportMetric(float64(peak)/float64(w.n), "peak/encoded")
	b.ReportMetric(float64(td.SpanCount())*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkProtoMarshal1M is the baseline: serializing the same spans as
// OTLP protobuf with ptrace's ProtoMarshaler.
func BenchmarkProtoMarshal1M(b *testing.B) {
	td := millionSpans()
	runtime.GC()
	m := &ptrace.ProtoMarshaler{}
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		buf, err := m.MarshalTraces(td)
		require.NoError(b, err)
		n = len(buf)
	}
	b.ReportMetric(float64(n), "encoded-B")
	b.ReportMetric(float64(td.SpanCount())*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// TestPeakMemoryWithinThreeTimesEncoded builds and encodes 200k gateway-like
// spans and checks the memory it takes against the size of the two IPC
// files: the most Arrow bytes allocated at once (tracked by peakAllocator),
// and everything the Go heap handed out meanwhile (TotalAlloc, which counts
// the Arrow buffers too, since the Go allocator backs them, plus Build's
// index and the IPC writer). TotalAlloc only grows, so it bounds the peak
// heap growth from above.
func TestPeakMemoryWithinThreeTimesEncoded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 200k spans")
	}
	td := gatewayTraces(200_000)
	mem := newPeakAllocator()
	var w countingWriter
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g := buildEncode(t, td, mem, &w)
	runtime.ReadMemStats(&after)
	heap := after.TotalAlloc - before.TotalAlloc
	t.Logf("encoded %d B (%d nodes, %d edges), peak Arrow %d B (%.2fx), Go heap allocated %d B (%.2fx)",
		w.n, g.Nodes.NumRows(), g.Edges.NumRows(), mem.Peak(), float64(mem.Peak())/float64(w.n),
		heap, float64(heap)/float64(w.n))
	assert.LessOrEqual(t, mem.Peak(), 3*w.n)
	assert.LessOrEqual(t, heap, uint64(3*w.n))
	g.Release()
	assert.Zero(t, mem.Current())
}
