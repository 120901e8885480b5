// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"math"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Overview is the metrics dashboard: request latency histogram, token usage over time, input vs
// output tokens, cumulative requests and errors.
func Overview(d *Data) *Section {
	return &Section{Name: "overview", Title: "Overview: requests, tokens, errors", Figures: []*Figure{
		latencyHistogram(d, "overview-latency-histogram"),
		tokenUsage(d),
		tokenScatter(d, "overview-token-scatter"),
		cumulativeRequests(d),
		errorCount(d),
	}}
}

const needSpans = "spans from the llamacpp receiver's gateway (traces pipeline)"

// latencyHistogram bins request latencies (ms); without spans it falls back to the buckets of
// the gateway's gen_ai.server.request.duration histogram.
func latencyHistogram(d *Data, id string) *Figure {
	const title = "Request latency distribution"
	lay := Obj{"xaxis": Obj{"title": Obj{"text": "latency (ms)"}}, "yaxis": Obj{"title": Obj{"text": "requests"}}, "bargap": 0.05}
	if len(d.Requests) > 0 {
		lat := make([]float64, len(d.Requests))
		for i, r := range d.Requests {
			lat[i] = r.Latency * 1000
		}
		c, n, w := bins(lat, 30)
		q := quantiles(lat, 0.5, 0.95)
		lay["title"] = Obj{"text": fmt.Sprintf("%d requests · p50 %.0f ms · p95 %.0f ms", len(lat), q[0], q[1]), "font": Obj{"size": 12}}
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: []Obj{{
			"type": "bar", "name": "requests", "x": Nums(c), "y": Nums(n), "width": w * 0.95,
			"marker":        Obj{"color": colorInput},
			"hovertemplate": "%{x:.0f} ms: %{y} requests<extra></extra>",
		}}}
	}
	for _, h := range d.Snap.Hists[conventions.MetricGenAIServerRequestDuration] {
		if h.Count == 0 || len(h.Counts) != len(h.Bounds)+1 {
			continue
		}
		labels := make([]string, len(h.Counts))
		counts := make(Nums, len(h.Counts))
		for i := range h.Counts {
			switch {
			case i == 0:
				labels[i] = fmt.Sprintf("≤ %g ms", h.Bounds[0]*1000)
			case i == len(h.Bounds):
				labels[i] = fmt.Sprintf("> %g ms", h.Bounds[i-1]*1000)
			default:
				labels[i] = fmt.Sprintf("%g–%g ms", h.Bounds[i-1]*1000, h.Bounds[i]*1000)
			}
			counts[i] = float64(h.Counts[i])
		}
		lay["xaxis"] = Obj{"title": Obj{"text": "gen_ai.server.request.duration bucket"}, "type": "category"}
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: []Obj{{
			"type": "bar", "name": "requests", "x": labels, "y": counts, "marker": Obj{"color": colorInput},
		}}}
	}
	return emptyFig(id, title, needs(needSpans, "gen_ai.server.request.duration from the gateway"))
}

// tokenUsage draws input and output tokens per request over time; without spans, the tokens
// llama-server processed between scrapes (llamacpp.prompt.tokens, llamacpp.generation.tokens).
func tokenUsage(d *Data) *Figure {
	const id, title = "overview-token-usage", "Token usage over time"
	var in, out []float64
	var t []int64
	for _, r := range d.Requests {
		if r.In < 0 && r.Out < 0 {
			continue
		}
		t = append(t, r.EndMs)
		in = append(in, float64(max(r.In, 0)))
		out = append(out, float64(max(r.Out, 0)))
	}
	if len(t) > 0 {
		lay := timeLayout("tokens per request")
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: []Obj{
			line("input tokens", d.thin(t, in, 1), colorInput),
			line("output tokens", d.thin(t, out, 1), colorOutput),
		}}
	}
	var traces []Obj
	for _, m := range []struct{ metric, name, color string }{
		{conventions.MetricLlamacppPromptTokens, "prompt tokens", colorInput},
		{conventions.MetricLlamacppGenerationTokens, "generated tokens", colorOutput},
	} {
		ss := d.series(m.metric, nil)
		for _, s := range ss {
			tt, vv := increments(s)
			if len(tt) == 0 {
				continue
			}
			xy := d.thin(tt, vv, 1)
			traces = append(traces, Obj{"type": "bar", "name": Text(seriesName(m.name, s, len(ss) > 1)), "x": xy.X, "y": xy.Y,
				"marker": Obj{"color": m.color}})
		}
	}
	if len(traces) > 0 {
		lay := timeLayout("tokens between scrapes")
		lay["barmode"] = "group"
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: traces}
	}
	return emptyFig(id, title, needs(needSpans, "llamacpp.prompt.tokens and llamacpp.generation.tokens from the llamacpp receiver"))
}

// tokenScatter plots input vs output tokens per request, marker size by latency.
func tokenScatter(d *Data, id string) *Figure {
	const title = "Input vs output tokens (size: latency)"
	var rs []*Request
	maxLat := 0.0
	for i := range d.Requests {
		r := &d.Requests[i]
		if r.In >= 0 && r.Out >= 0 {
			rs = append(rs, r)
			maxLat = max(maxLat, r.Latency)
		}
	}
	if len(rs) == 0 {
		return emptyFig(id, title, "spans with gen_ai.usage.input_tokens and gen_ai.usage.output_tokens (the gateway's spans)")
	}
	var traces []Obj
	for _, group := range []struct {
		failed bool
		name   string
		color  string
	}{{false, "succeeded", colorOK}, {true, "failed", colorError}} {
		var sel []*Request
		for _, r := range rs {
			if r.Failed == group.failed {
				sel = append(sel, r)
			}
		}
		if len(sel) == 0 {
			continue
		}
		idx := stride(len(sel), d.Opts.MaxPoints)
		x, y, size := make(Nums, len(idx)), make(Nums, len(idx)), make(Nums, len(idx))
		text := make([]string, len(idx))
		for i, k := range idx {
			r := sel[k]
			x[i], y[i] = float64(r.In), float64(r.Out)
			size[i] = 6
			if maxLat > 0 {
				size[i] = 6 + 24*math.Sqrt(r.Latency/maxLat)
			}
			text[i] = requestHover(r)
		}
		traces = append(traces, Obj{"type": "scatter", "mode": "markers", "name": group.name, "x": x, "y": y,
			"text": text, "hoverinfo": "text",
			"marker": Obj{"size": size, "color": group.color, "opacity": 0.7, "line": Obj{"width": 0.5, "color": "#333"}}})
	}
	lay := Obj{"xaxis": Obj{"title": Obj{"text": "input tokens"}, "rangemode": "tozero"},
		"yaxis": Obj{"title": Obj{"text": "output tokens"}, "rangemode": "tozero"}, "legend": Obj{"orientation": "h", "y": -0.25}}
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: traces}
}

// cumulativeRequests counts requests over time (all and failed); without spans it draws the
// gateway's llamacpp.gateway.requests counter.
func cumulativeRequests(d *Data) *Figure {
	const id, title = "overview-cumulative-requests", "Cumulative requests"
	if len(d.Requests) > 0 {
		t := requestTimes(d.Requests)
		all := make([]float64, len(t))
		failed := make([]float64, len(t))
		nf := 0.0
		for i, r := range d.Requests {
			all[i] = float64(i + 1)
			if r.Failed {
				nf++
			}
			failed[i] = nf
		}
		traces := []Obj{line("all requests", d.thin(t, all, 1), colorInput)}
		traces[0]["line"] = Obj{"color": colorInput, "shape": "hv"}
		if nf > 0 {
			f := line("failed", d.thin(t, failed, 1), colorError)
			f["line"] = Obj{"color": colorError, "shape": "hv"}
			traces = append(traces, f)
		}
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("requests"), Data: traces}
	}
	ss := d.series(conventions.MetricLlamacppGatewayRequests, nil)
	var traces []Obj
	for _, s := range ss {
		name := "requests"
		if o := s.Attrs["outcome"]; o != "" {
			name = o
		}
		color := colorInput
		if s.Attrs["outcome"] == "error" {
			color = colorError
		}
		traces = append(traces, line(seriesName(name, s, false), d.thin(s.T, s.V, 1), color))
	}
	if len(traces) > 0 {
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("requests (since start)"), Data: traces}
	}
	return emptyFig(id, title, needs(needSpans, "llamacpp.gateway.requests from the gateway"))
}

// errorCount counts failed requests and error log records per time bucket.
func errorCount(d *Data) *Figure {
	const id, title = "overview-errors", "Errors over time"
	var errLogs []int64
	for _, l := range d.Snap.Logs {
		if l.SeverityNumber >= 17 { // ERROR and above (OTLP SeverityNumber)
			errLogs = append(errLogs, l.TimeNs/1e6)
		}
	}
	if len(d.Requests) == 0 && len(d.Snap.Logs) == 0 {
		return emptyFig(id, title, needs(needSpans, "log records (logs pipeline)"))
	}
	from, to := d.Snap.From.UnixMilli(), d.Snap.Now.UnixMilli()
	if len(d.Requests) > 0 {
		from = max(from, d.Requests[0].EndMs)
	} else if len(d.Snap.Logs) > 0 {
		from = max(from, d.Snap.Logs[0].TimeNs/1e6)
	}
	const n = 40
	width := max((to-from)/n, 1000)
	bucket := func(t int64) int { return int(min(max((t-from)/width, 0), n-1)) }
	x := make([]int64, n)
	for i := range x {
		x[i] = from + int64(i)*width + width/2
	}
	reqErr, logErr := make(Nums, n), make(Nums, n)
	for _, r := range d.Requests {
		if r.Failed {
			reqErr[bucket(r.EndMs)]++
		}
	}
	for _, t := range errLogs {
		logErr[bucket(t)]++
	}
	lay := timeLayout("errors per bucket")
	lay["barmode"] = "stack"
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: []Obj{
		{"type": "bar", "name": "failed requests", "x": x, "y": reqErr, "marker": Obj{"color": colorError}},
		{"type": "bar", "name": "error log records", "x": x, "y": logErr, "marker": Obj{"color": "#9467bd"}},
	}}
}
