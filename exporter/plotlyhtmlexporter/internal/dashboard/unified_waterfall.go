// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// Sizes of the request waterfall.
const (
	// waterfallRows is how many requests it shows (the newest).
	waterfallRows = 15
	// waterfallRowPx and waterfallBasePx size the panel by its rows.
	waterfallRowPx  = 24
	waterfallBasePx = 140
)

// Phase colours: waiting grey, the prompt as input, the generation as output.
const (
	colorQueue      = "#8c8c8c"
	colorPrompt     = colorInput
	colorGeneration = colorOutput
	colorTotal      = "#333333"
)

const needWaterfall = "request spans (the llamacpp receiver's gateway, traces pipeline); its queue, prompt and generation " +
	"phases need llama-server's timings in the response"

// waterfallRow is one request of the waterfall.
type waterfallRow struct {
	req    *Request
	span   *store.Span // the span drawn: the gateway's server span, else the outermost
	phases []*store.Span
}

// requestWaterfall draws the newest requests as horizontal bars, one row each: the gateway's
// queue, prompt and generation phases (child spans joined by parent span id) in ms since the
// request's start, the request span's total as an outline, failed requests marked.
func requestWaterfall(d *Data) *Figure {
	const id, title = "unified-waterfall", "Request waterfall: queue, prompt and generation of the newest requests"
	if len(d.Requests) == 0 {
		return emptyPanel(id, title, needWaterfall, true)
	}
	first := max(0, len(d.Requests)-waterfallRows)
	rows := make([]waterfallRow, 0, len(d.Requests)-first)
	for i := first; i < len(d.Requests); i++ {
		r := &d.Requests[i]
		sp := r.Server
		if sp == nil {
			sp = r.Span
		}
		rows = append(rows, waterfallRow{req: r, span: sp, phases: d.Phases(sp)})
	}
	// Row i is drawn at y = i: the newest on top.
	tickVals := make(Nums, len(rows))
	tickText := make([]string, len(rows))
	type bars struct {
		y, x, base Nums
	}
	byPhase := map[string]*bars{phaseQueue: {}, phasePrompt: {}, phaseGeneration: {}}
	var ty, tx Nums
	var tHover []string
	var outline []string
	var ey, ex Nums
	var eText []string
	withPhases := 0
	for i, row := range rows {
		y := float64(i)
		tickVals[i] = y
		tickText[i] = waterfallLabel(row)
		startNs := row.span.StartNs
		total := float64(max(row.span.EndNs-startNs, 0)) / 1e6
		if len(row.phases) > 0 {
			withPhases++
		}
		for _, p := range row.phases {
			b := byPhase[p.Name]
			b.y = append(b.y, y)
			b.base = append(b.base, float64(p.StartNs-startNs)/1e6)
			b.x = append(b.x, float64(max(p.EndNs-p.StartNs, 0))/1e6)
		}
		ty, tx = append(ty, y), append(tx, total)
		tHover = append(tHover, requestHover(row.req))
		c := colorTotal
		if row.req.Failed {
			c = colorError
			ey, ex = append(ey, y), append(ex, total)
			eText = append(eText, "failed: "+Text(waterfallError(row.req)))
		}
		outline = append(outline, c)
	}
	var traces []Obj
	for _, ph := range []struct{ name, color string }{
		{phaseQueue, colorQueue}, {phasePrompt, colorPrompt}, {phaseGeneration, colorGeneration},
	} {
		b := byPhase[ph.name]
		traces = append(traces, Obj{
			"type": "bar", "orientation": "h", "name": ph.name, "y": b.y, "x": b.x, "base": b.base, "customdata": b.base,
			"width": 0.5, "marker": Obj{"color": ph.color}, "legendgroup": ph.name, "showlegend": true,
			"hovertemplate": ph.name + " %{x:.1f} ms, from %{customdata:.1f} ms<extra></extra>",
		})
	}
	traces = append(traces, Obj{
		"type": "bar", "orientation": "h", "name": "request (total)", "y": ty, "x": tx, "base": make(Nums, len(tx)),
		"width": 0.8, "text": tHover, "textposition": "none",
		"marker":        Obj{"color": "rgba(0,0,0,0)", "line": Obj{"color": outline, "width": 1.5}},
		"hovertemplate": "%{text}<br>total %{x:.1f} ms<extra></extra>",
	})
	if len(ey) > 0 {
		traces = append(traces, Obj{
			"type": "scatter", "mode": "markers", "name": "failed", "y": ey, "x": ex, "text": eText,
			"marker":        Obj{"symbol": "x", "size": 11, "color": colorError, "line": Obj{"width": 1, "color": colorError}},
			"hovertemplate": "%{text}<extra></extra>",
		})
	}
	t := title
	if withPhases < len(rows) {
		t += fmt.Sprintf(" (%d of %d without phase spans)", len(rows)-withPhases, len(rows))
	}
	lay := Obj{
		"barmode": "overlay",
		"xaxis":   Obj{"title": Obj{"text": "ms since the request's start"}, "rangemode": "tozero", "zeroline": true},
		"yaxis": Obj{"tickmode": "array", "tickvals": tickVals, "ticktext": tickText, "automargin": true,
			"range": []float64{-0.6, float64(len(rows)) - 0.4}, "tickfont": Obj{"size": 10}},
		"legend": Obj{"orientation": "h", "y": -0.18},
		"margin": Obj{"l": 10, "r": 20, "t": 20, "b": 60},
	}
	return &Figure{ID: id, Title: t, Height: waterfallBasePx + waterfallRowPx*waterfallRows, Wide: true, Layout: lay, Data: traces}
}

// waterfallLabel names a row: the request's start (UTC, ms) and its model.
func waterfallLabel(row waterfallRow) string {
	label := time.Unix(0, row.span.StartNs).UTC().Format("15:04:05.000")
	model := row.span.Model
	if model == "" {
		model = row.req.Span.Model
	}
	if model != "" {
		label += " · " + Text(clipRunes(model, 32))
	}
	if row.req.Failed {
		label = "✕ " + label
	}
	return label
}

// waterfallError is what failed in a request: its error type, else "error status".
func waterfallError(r *Request) string {
	for _, s := range []*store.Span{r.Server, r.Span} {
		if s != nil && strings.TrimSpace(s.ErrorType) != "" {
			return s.ErrorType
		}
	}
	return "error status"
}
