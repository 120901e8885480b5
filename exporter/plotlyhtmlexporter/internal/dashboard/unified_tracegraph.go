// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/tracelayout"
)

// selectTraceSpans takes whole traces, newest first, until budget spans are taken; a newest trace
// larger than the budget alone gives its first budget spans by start time. Spans come out trace
// by trace, each trace's spans by start time.
func selectTraceSpans(d *Data, budget int) []*store.Span {
	type group struct {
		id     [16]byte
		newest int64
		spans  []*store.Span
	}
	byID := map[[16]byte]*group{}
	var groups []*group
	d.Snap.Spans.Each(func(s *store.Span) bool {
		g := byID[s.TraceID]
		if g == nil {
			g = &group{id: s.TraceID, newest: math.MinInt64}
			byID[s.TraceID] = g
			groups = append(groups, g)
		}
		g.spans = append(g.spans, s)
		g.newest = max(g.newest, s.StartNs, s.EndNs)
		return true
	})
	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].newest != groups[j].newest {
			return groups[i].newest > groups[j].newest
		}
		return bytes.Compare(groups[i].id[:], groups[j].id[:]) < 0
	})
	var out []*store.Span
	for _, g := range groups {
		if budget <= 0 {
			break
		}
		if len(g.spans) > budget && len(out) > 0 {
			break
		}
		slices.SortStableFunc(g.spans, func(a, b *store.Span) int {
			return cmp.Or(cmp.Compare(a.StartNs, b.StartNs), bytes.Compare(a.SpanID[:], b.SpanID[:]))
		})
		take := g.spans[:min(len(g.spans), budget)]
		out = append(out, take...)
		budget -= len(take)
	}
	return out
}

// parentIndexes gives each selected span the index of its parent among the selected spans, -1 for a
// root (no parent, or a parent not selected).
func parentIndexes(sel []*store.Span) []int32 {
	index := make(map[spanKey]int32, len(sel))
	for i, s := range sel {
		k := spanKey{s.TraceID, s.SpanID}
		if _, dup := index[k]; !dup {
			index[k] = int32(i)
		}
	}
	parents := make([]int32, len(sel))
	for i, s := range sel {
		parents[i] = -1
		if s.ParentID == ([8]byte{}) {
			continue
		}
		if p, ok := index[spanKey{s.TraceID, s.ParentID}]; ok {
			parents[i] = p
		}
	}
	return parents
}

func statusName(st int8) string {
	switch st {
	case statusOK:
		return "OK"
	case statusError:
		return "ERROR"
	default:
		return "UNSET"
	}
}

// Outcomes of a span in the trace graph's legend.
const (
	outcomeOK    = "ok"
	outcomeError = "error"
)

// spanFailed is true when a span says it failed: status ERROR, or an error.type attribute. A
// span with status UNSET and no error.type succeeded: instrumentations leave server spans UNSET
// on success, as the OpenTelemetry specification asks.
func spanFailed(s *store.Span) bool {
	return s.Status == statusError || s.ErrorType != ""
}

// spanOutcome is outcomeError for a failed span, else outcomeOK.
func spanOutcome(s *store.Span) string {
	if spanFailed(s) {
		return outcomeError
	}
	return outcomeOK
}

// spanHover is a span's hover text; every telemetry string goes through Text.
func spanHover(s *store.Span) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<b>%s</b><br>duration %s<br>%s (status %s)", Text(s.Name), fmtDuration(s.DurationSeconds()), spanOutcome(s), statusName(s.Status))
	if s.Service != "" {
		fmt.Fprintf(&b, "<br>service %s", Text(s.Service))
	}
	if s.Model != "" {
		fmt.Fprintf(&b, "<br>model %s", Text(s.Model))
	}
	if s.InputTokens >= 0 || s.OutputTokens >= 0 {
		fmt.Fprintf(&b, "<br>tokens in %d / out %d", max(s.InputTokens, 0), max(s.OutputTokens, 0))
	}
	if finite(s.TTFTSeconds) && s.TTFTSeconds >= 0 {
		fmt.Fprintf(&b, "<br>time to first token %s", fmtDuration(s.TTFTSeconds))
	}
	if s.ErrorType != "" {
		fmt.Fprintf(&b, "<br>error %s", Text(s.ErrorType))
	}
	if s.Preview != "" {
		fmt.Fprintf(&b, "<br>prompt: %s", Text(clipRunes(s.Preview, previewRunes)))
	}
	return b.String()
}

// traceGraph draws spans as a tree per trace: parent->child edges, colour by outcome (ok green:
// status OK, or UNSET without error.type; error red: status ERROR or an error.type), size by
// duration.
func traceGraph(d *Data) *Figure {
	const id, title = "unified-trace-graph", "Trace graph (colour: ok / error, size: duration)"
	sel := selectTraceSpans(d, d.Opts.MaxPoints)
	if len(sel) == 0 {
		return emptyPanel(id, title, needSpans, true)
	}
	order := make([]int64, len(sel))
	for i, s := range sel {
		order[i] = s.StartNs
	}
	parents := parentIndexes(sel)
	xs, ys := tracelayout.Layout(parents, order)
	// The edges drawn are those of the layout (cycles in hostile input are cut there).
	parents = tracelayout.EffectiveParents(parents, order)
	// Many small traces wrap into rows that fill the panel (about 1300 x 520 px).
	tracelayout.Pack(xs, ys, parents, 2.5)

	var ex, ey Nums
	for i, p := range parents {
		if p < 0 {
			continue
		}
		ex = append(ex, xs[p], xs[i], math.NaN())
		ey = append(ey, ys[p], ys[i], math.NaN())
	}
	traces := []Obj{{
		"type": "scatter", "mode": "lines", "name": "parent → child", "x": ex, "y": ey,
		"line": Obj{"color": "#b0b0b0", "width": 1}, "hoverinfo": "skip", "showlegend": false,
	}}
	maxDur := 0.0
	for _, s := range sel {
		maxDur = max(maxDur, s.DurationSeconds())
	}
	// Markers shrink as the graph fills up, so neighbours stay apart.
	scale := math.Min(1, math.Max(0.35, math.Sqrt(200/float64(len(sel)))))
	kind := "scatter"
	if len(sel) > webGLNodes {
		kind = "scattergl"
	}
	for _, st := range []struct{ name, color string }{{outcomeOK, colorOK}, {outcomeError, colorError}} {
		var x, y, size Nums
		var text []string
		for i, s := range sel {
			if spanOutcome(s) != st.name {
				continue
			}
			x = append(x, xs[i])
			y = append(y, ys[i])
			sz := 8 * scale
			if maxDur > 0 {
				sz = (8 + 22*math.Sqrt(s.DurationSeconds()/maxDur)) * scale
			}
			size = append(size, sz)
			text = append(text, spanHover(s))
		}
		if len(x) == 0 {
			continue
		}
		traces = append(traces, Obj{
			"type": kind, "mode": "markers", "name": st.name, "x": x, "y": y, "text": text, "hoverinfo": "text",
			"marker": Obj{"size": size, "color": st.color, "opacity": 0.9, "line": Obj{"width": 0.5, "color": "#333"}},
		})
	}
	hidden := Obj{"showgrid": false, "zeroline": false, "showticklabels": false}
	lay := Obj{
		"xaxis": hidden, "yaxis": Obj{"showgrid": false, "zeroline": false, "showticklabels": false},
		"hovermode": "closest", "legend": Obj{"orientation": "h", "y": -0.05},
		"title": Obj{"text": fmt.Sprintf("%d spans", len(sel)), "font": Obj{"size": 12}},
	}
	return &Figure{ID: id, Title: title, Height: traceGraphHeight, Wide: true, Layout: lay, Data: traces}
}
