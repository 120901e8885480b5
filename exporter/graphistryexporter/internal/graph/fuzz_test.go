// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fuzzReader hands out the fuzz input a byte at a time (zeros once used up).
type fuzzReader struct{ b []byte }

func (r *fuzzReader) more() bool { return len(r.b) > 0 }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns up to n bytes.
func (r *fuzzReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// str is a short string of the input's bytes (any bytes, so often invalid
// UTF-8); one in 16 is stretched past 64 KiB.
func (r *fuzzReader) str() string {
	c := r.byte()
	s := string(r.bytes(int(c & 0x0f)))
	if c&0xf0 == 0xf0 && s != "" {
		s = strings.Repeat(s, 70_000/len(s)+1)
	}
	return s
}

// traceID picks from a few small ids (0: empty) or takes 16 raw bytes.
func (r *fuzzReader) traceID() pcommon.TraceID {
	c := r.byte()
	if c >= 0xf0 {
		var t pcommon.TraceID
		copy(t[:], r.bytes(16))
		return t
	}
	if c%5 == 0 {
		return pcommon.TraceID{}
	}
	return tid(uint64(c % 5))
}

// spanID picks from a few small ids (0: empty) so that duplicates, parents,
// loops and self-parents are frequent, or takes 8 raw bytes.
func (r *fuzzReader) spanID() pcommon.SpanID {
	c := r.byte()
	if c >= 0xf0 {
		var s pcommon.SpanID
		copy(s[:], r.bytes(8))
		return s
	}
	if c%9 == 0 {
		return pcommon.SpanID{}
	}
	return sid(uint64(c % 9))
}

// fuzzTraces builds traces from fuzz input.
func fuzzTraces(data []byte) ptrace.Traces {
	r := &fuzzReader{b: data}
	td := ptrace.NewTraces()
	var ss ptrace.SpanSlice
	haveResource := false
	for r.more() {
		op := r.byte()
		if op%8 == 0 || !haveResource {
			haveResource = true
			rs := td.ResourceSpans().AppendEmpty()
			switch op % 3 {
			case 0:
				rs.Resource().Attributes().PutStr("service.name", r.str())
			case 1:
				rs.Resource().Attributes().PutInt("service.name", int64(r.byte()))
			}
			ss = rs.ScopeSpans().AppendEmpty().Spans()
			continue
		}
		s := ss.AppendEmpty()
		s.SetTraceID(r.traceID())
		s.SetSpanID(r.spanID())
		if op&1 == 1 {
			s.SetParentSpanID(r.spanID())
		}
		s.SetName(r.str())
		s.SetKind(ptrace.SpanKind(r.byte() % 8))
		s.Status().SetCode(ptrace.StatusCode(r.byte() % 4))
		if op&2 == 2 {
			s.Status().SetMessage(r.str())
		}
		ts := func() pcommon.Timestamp {
			c := r.byte()
			switch c % 4 {
			case 0:
				return 0
			case 1:
				return pcommon.Timestamp(^uint64(0) - uint64(c))
			default:
				return pcommon.Timestamp(1_780_000_000_000_000_000 + uint64(c)*1_000_000)
			}
		}
		s.SetStartTimestamp(ts())
		s.SetEndTimestamp(ts())
		attrs := s.Attributes()
		for n := r.byte() % 6; n > 0; n-- {
			key := []string{
				"gen_ai.response.model", "gen_ai.request.model", "gen_ai.usage.input_tokens",
				"gen_ai.usage.output_tokens", "error.type", "other",
			}[r.byte()%6]
			// A trailing space makes a near-miss key that must be ignored.
			v := attrs.PutEmpty(key + strings.Repeat(" ", int(r.byte()%2)))
			switch r.byte() % 5 {
			case 0:
				v.SetStr(r.str())
			case 1:
				v.SetInt(int64(r.byte()) - 128)
			case 2:
				v.SetDouble(float64(r.byte()) / 3)
			case 3:
				v.SetBool(true)
			case 4:
				v.SetStr(" 42 ")
			}
		}
		for n := r.byte() % 3; n > 0; n-- {
			l := s.Links().AppendEmpty()
			l.SetTraceID(r.traceID())
			l.SetSpanID(r.spanID())
		}
	}
	return td
}

// FuzzBuild builds graphs from arbitrary small batches (odd and empty ids,
// duplicates, parent loops, self-parents, links in and out of the batch,
// invalid UTF-8, long strings) and checks that Build does not fail, that it
// agrees with refGraph row by row, and the invariants: unique node ids,
// every edge endpoint a node, one parent per span, every span reaching its
// trace root, no leaked Arrow buffers.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(bytes.Repeat([]byte{3, 1, 1, 2}, 20))
	f.Add([]byte("\x00\x05llt\xff\x01\x01\x02\x01\x03ab\xc3\x01\x01\x02\x02\x05\x02\x01\x02\x01\x02\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		td := fuzzTraces(data)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		g, err := Build(td, mem)
		require.NoError(t, err)
		nodes, edges := roundTrip(t, g)
		wantNodes, wantEdges, wantStats := refGraph(td)
		if wantStats != g.Stats {
			t.Fatalf("stats %+v, want %+v", g.Stats, wantStats)
		}
		requireRows(t, wantNodes, nodes)
		requireRows(t, wantEdges, edges)
		checkInvariants(t, nodes, edges)
		g.Release()
		mem.AssertSize(t, 0)
	})
}
