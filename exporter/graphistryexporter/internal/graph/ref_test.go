// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// refGraph is a plain, slow restatement of Build's rules (maps and strings,
// no Arrow) that the tests compare Build against row by row.
func refGraph(td ptrace.Traces) (nodes []nodeRow, edges []edgeRow, st Stats) {
	type kept struct {
		span ptrace.Span
		svc  string
		id   string
	}
	spanID := func(t pcommon.TraceID, s pcommon.SpanID) string {
		return hex.EncodeToString(t[:]) + ":" + hex.EncodeToString(s[:])
	}
	fix := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

	var spans []kept
	byID := map[string]int{}
	var traceOrder []pcommon.TraceID
	traceSeen := map[pcommon.TraceID]bool{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		svc := ""
		if v, ok := rss.At(i).Resource().Attributes().Get("service.name"); ok {
			svc = fix(v.AsString())
		}
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				s := ss.At(k)
				st.Spans++
				id := spanID(s.TraceID(), s.SpanID())
				if _, dup := byID[id]; dup {
					st.DuplicateSpans++
					continue
				}
				byID[id] = len(spans)
				spans = append(spans, kept{span: s, svc: svc, id: id})
				if !traceSeen[s.TraceID()] {
					traceSeen[s.TraceID()] = true
					traceOrder = append(traceOrder, s.TraceID())
				}
			}
		}
	}
	st.SpanNodes = len(spans)
	st.TraceRoots = len(traceOrder)

	optTime := func(ts uint64) *int64 {
		if ts == 0 || ts > math.MaxInt64 {
			return nil
		}
		v := int64(ts)
		return &v
	}
	optDur := func(start, end uint64) *float64 {
		if start == 0 || end == 0 {
			return nil
		}
		if end <= start {
			return ptr(0.0)
		}
		return ptr(float64(end-start) / 1e6)
	}
	kinds := map[ptrace.SpanKind]string{
		ptrace.SpanKindServer: "SERVER", ptrace.SpanKindClient: "CLIENT", ptrace.SpanKindInternal: "INTERNAL",
		ptrace.SpanKindProducer: "PRODUCER", ptrace.SpanKindConsumer: "CONSUMER",
	}
	statuses := map[ptrace.StatusCode]string{ptrace.StatusCodeOk: "OK", ptrace.StatusCodeError: "ERROR"}
	tokens := func(m pcommon.Map, key string) *int64 {
		var out *int64
		m.Range(func(k string, v pcommon.Value) bool {
			if k != key {
				return true
			}
			out = nil // the last occurrence wins
			switch v.Type() {
			case pcommon.ValueTypeInt:
				out = ptr(v.Int())
			case pcommon.ValueTypeDouble:
				d := v.Double()
				if d == math.Trunc(d) && d >= -9.223372036854775808e18 && d < 9.223372036854775808e18 {
					out = ptr(int64(d))
				}
			case pcommon.ValueTypeStr:
				if n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64); err == nil {
					out = ptr(n)
				}
			}
			return true
		})
		return out
	}
	str := func(m pcommon.Map, key string) string {
		out := ""
		m.Range(func(k string, v pcommon.Value) bool {
			if k == key {
				out = v.AsString()
			}
			return true
		})
		return out
	}

	// Span nodes.
	for _, k := range spans {
		s := k.span
		a := s.Attributes()
		kind, ok := kinds[s.Kind()]
		if !ok {
			kind = "UNSPECIFIED"
		}
		status, ok := statuses[s.Status().Code()]
		if !ok {
			status = "ok" // UNSET (or unknown) without error.type succeeded
		}
		if str(a, "error.type") != "" {
			status = "ERROR"
		}
		model := str(a, "gen_ai.response.model")
		if model == "" {
			model = str(a, "gen_ai.request.model")
		}
		start, end := uint64(s.StartTimestamp()), uint64(s.EndTimestamp())
		dur := optDur(start, end)
		t, sp := s.TraceID(), s.SpanID()
		nodes = append(nodes, nodeRow{
			ID: k.id, SpanID: hex.EncodeToString(sp[:]), TraceID: hex.EncodeToString(t[:]),
			Name: fix(s.Name()), Service: k.svc, Kind: kind, Status: status,
			StatusMessage: fix(s.Status().Message()),
			Start:         optTime(start), DurationMs: dur,
			Model: fix(model), In: tokens(a, "gen_ai.usage.input_tokens"), Out: tokens(a, "gen_ai.usage.output_tokens"),
			ErrorType: fix(str(a, "error.type")), Size: refSize(dur),
		})
	}

	// Trace roots.
	for _, t := range traceOrder {
		var minStart, maxEnd uint64
		svc, first, top := "", true, false
		for _, k := range spans {
			s := k.span
			if s.TraceID() != t {
				continue
			}
			if first {
				svc, first = k.svc, false
			}
			if s.ParentSpanID().IsEmpty() && !top {
				svc, top = k.svc, true
			}
			if st := uint64(s.StartTimestamp()); st != 0 && (minStart == 0 || st < minStart) {
				minStart = st
			}
			maxEnd = max(maxEnd, uint64(s.EndTimestamp()))
		}
		th := hex.EncodeToString(t[:])
		dur := optDur(minStart, maxEnd)
		nodes = append(nodes, nodeRow{
			ID: "trace:" + th, TraceID: th, Name: "trace " + th[:8], Service: svc,
			Status: "UNSET", Start: optTime(minStart), DurationMs: dur, Size: refSize(dur), IsRoot: true,
		})
	}

	// Parents, with loops cut where the walk from the earliest span re-enters.
	parent := make([]int, len(spans))
	for i, k := range spans {
		parent[i] = -1
		s := k.span
		if s.ParentSpanID().IsEmpty() {
			continue
		}
		if p, ok := byID[spanID(s.TraceID(), s.ParentSpanID())]; ok {
			if p == i {
				st.BrokenCycles++
			} else {
				parent[i] = p
			}
		}
	}
	for i := range spans {
		seen := map[int]bool{}
		for j := i; j >= 0; j = parent[j] {
			if seen[j] {
				parent[j] = -1
				st.BrokenCycles++
				break
			}
			seen[j] = true
		}
	}

	// Child edges, then links (with external placeholders).
	for i, k := range spans {
		th := k.id[:32]
		src := "trace:" + th
		if parent[i] >= 0 {
			src = spans[parent[i]].id
		}
		edges = append(edges, edgeRow{Src: src, Dst: k.id, Type: "child", TraceID: th})
	}
	st.ChildEdges = len(spans)
	external := map[string]bool{}
	for _, k := range spans {
		ls := k.span.Links()
		for l := 0; l < ls.Len(); l++ {
			lk := ls.At(l)
			to := spanID(lk.TraceID(), lk.SpanID())
			if _, ok := byID[to]; !ok && !external[to] {
				external[to] = true
				nodes = append(nodes, nodeRow{
					ID: to, SpanID: to[33:], TraceID: to[:32], Name: "external span " + to[33:],
					Status: "UNSET", Size: 1, IsExternal: true,
				})
				st.ExternalSpans++
			}
			edges = append(edges, edgeRow{Src: k.id, Dst: to, Type: "link", TraceID: k.id[:32]})
			st.LinkEdges++
		}
	}
	return nodes, edges, st
}
