// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Colours used across the dashboards.
const (
	colorOK      = "#2ca02c"
	colorError   = "#d62728"
	colorUnset   = "#9e9e9e"
	colorInput   = "#1f77b4"
	colorOutput  = "#ff7f0e"
	colorLimit   = "#7f7f7f"
	panelHeight  = 340
	sectionWidth = 2 // panels per row
)

// emptyFig is a panel without data: it says what would fill it.
func emptyFig(id, title, need string) *Figure {
	return &Figure{ID: id, Title: title, Empty: "No data yet: " + need, Data: []Obj{}, Layout: Obj{}, Height: panelHeight}
}

// timeLayout is the layout of a time-series panel.
func timeLayout(ytitle string) Obj {
	return Obj{
		"xaxis":  Obj{"type": "date", "title": Obj{"text": "time (UTC)"}},
		"yaxis":  Obj{"title": Obj{"text": ytitle}, "rangemode": "tozero"},
		"legend": Obj{"orientation": "h", "y": -0.25},
	}
}

// line is a scatter trace drawn as a line through a time series.
func line(name string, s xy, color string) Obj {
	t := Obj{"type": "scatter", "mode": "lines", "name": Text(name), "x": s.X, "y": s.Y}
	if len(s.X) < 60 {
		t["mode"] = "lines+markers"
	}
	if color != "" {
		t["line"] = Obj{"color": color}
	}
	return t
}

// seriesName is a legend entry: the metric's display name plus the stream's label.
func seriesName(base string, s *store.Series, many bool) string {
	if !many || s.Label == "" {
		return base
	}
	return base + " · " + s.Label
}

// gpuSeries keeps the whole-GPU streams of an hw.* metric (hw.gpu.task general or absent).
func gpuSeries(s *store.Series) bool {
	task, ok := s.Attrs[conventions.AttrHWGPUTask]
	return !ok || task == "general"
}

// needs formats an empty panel's explanation.
func needs(what ...string) string {
	return strings.Join(what, ", or ")
}

// msTimes converts request end times for a trace.
func requestTimes(rs []Request) []int64 {
	t := make([]int64, len(rs))
	for i := range rs {
		t[i] = rs[i].EndMs
	}
	return t
}

// stride picks at most n evenly spaced indices of 0..total-1, always including the last.
func stride(total, n int) []int {
	if total <= n {
		idx := make([]int, total)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, 0, n)
	step := float64(total-1) / float64(n-1)
	for i := range n {
		idx = append(idx, int(float64(i)*step+0.5))
	}
	return slices.Compact(idx)
}

// fmtDuration prints seconds with a unit that suits them.
func fmtDuration(sec float64) string {
	switch {
	case sec != sec:
		return "n/a"
	case sec < 1:
		return fmt.Sprintf("%.0f ms", sec*1000)
	default:
		return fmt.Sprintf("%.2f s", sec)
	}
}

// requestHover is the hover text of one request.
func requestHover(r *Request) string {
	s := r.Span
	var b strings.Builder
	fmt.Fprintf(&b, "%s<br>latency %s", Text(s.Name), fmtDuration(r.Latency))
	if s.Model != "" {
		fmt.Fprintf(&b, "<br>model %s", Text(s.Model))
	}
	if r.In >= 0 || r.Out >= 0 {
		fmt.Fprintf(&b, "<br>tokens in %d / out %d", max(r.In, 0), max(r.Out, 0))
	}
	if r.Failed {
		fmt.Fprintf(&b, "<br>error %s", Text(s.ErrorType))
	}
	return b.String()
}

// seriesPalette colours one series per model (Plotly's default colour sequence).
var seriesPalette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"}

func seriesColor(i int) string { return seriesPalette[i%len(seriesPalette)] }

// modelGroup is the requests of one model, in the order of d.Requests.
type modelGroup struct {
	Model    string
	Requests []Request
}

// maxModelGroups bounds the lines a panel draws per model; the rest are one "other models" line.
const maxModelGroups = 8

// byModel groups requests by the model their outermost span names (gen_ai.response.model, else
// gen_ai.request.model; "unknown model" when neither), in order of first appearance.
func byModel(rs []Request) []modelGroup {
	var groups []modelGroup
	index := map[string]int{}
	for _, r := range rs {
		m := "unknown model"
		if r.Span != nil && r.Span.Model != "" {
			m = r.Span.Model
		}
		i, ok := index[m]
		if !ok {
			if len(groups) >= maxModelGroups-1 {
				m = "other models"
				i, ok = index[m]
			}
			if !ok {
				i = len(groups)
				index[m] = i
				groups = append(groups, modelGroup{Model: m})
			}
		}
		groups[i].Requests = append(groups[i].Requests, r)
	}
	return groups
}
