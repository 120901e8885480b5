package dashboard

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/tracelayout"
)

// Sizes and limits of the unified dashboard.
const (
	uGraphHeight     = 560
	uPerfHeight      = 760
	u3DHeight        = 520
	uIndicatorHeight = 300
	uLogsHeight      = 360
	// uGLNodes is the node count above which the trace graph draws with WebGL.
	uGLNodes = 2000
	// uLogRows is how many log records the table shows.
	uLogRows = 200
	// uSurfaceTimeBuckets and uSurfacePromptBuckets are the latency surface's grid.
	uSurfaceTimeBuckets   = 20
	uSurfacePromptBuckets = 12
	// uMaxCategories bounds the embedding plot's traces; rarer categories share one.
	uMaxCategories = 24
	// uPreviewRunes bounds a prompt preview in hover text.
	uPreviewRunes = 120
)

const (
	uNeedProjection = "spans with llt.embedding.projection (the genaienrich processor with embeddings enabled)"
	uNeedSurface    = "requests with gen_ai.usage.input_tokens over at least two time and prompt-length buckets"
	uNeedLogs       = "log records (logs pipeline: the llamacpp receiver forwards llama-server's log)"
)

// Unified is the unified production observability dashboard: a trace graph, a performance
// grid, model internals in 3D (embedding projections, a latency surface), key indicators, recent
// logs, and a text summary with bottleneck verdicts.
func Unified(d *Data) *Section {
	return &Section{Name: "unified", Title: "Unified: traces, performance, model internals", Figures: []*Figure{
		uTraceGraph(d),
		uPerformance(d),
		uEmbeddings(d),
		uLatencySurface(d),
		uIndicators(d),
		uLogs(d),
	}, Summary: Summarize(d)}
}

// uEmpty is an empty panel (of the usual panel height: an empty panel need not be tall).
func uEmpty(id, title, need string, wide bool) *Figure {
	f := emptyFig(id, title, need)
	f.Wide = wide
	return f
}

// uClip shortens s to at most n runes (before escaping), marking the cut.
func uClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ---- trace graph ----------------------------------------------------------------------------

type uSpanKey struct {
	trace [16]byte
	span  [8]byte
}

// uSelectSpans takes whole traces, newest first, until budget spans are taken; a newest trace
// larger than the budget alone gives its first budget spans by start time. Spans come out trace
// by trace, each trace's spans by start time.
func uSelectSpans(d *Data, budget int) []*store.Span {
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

// uParents gives each selected span the index of its parent among the selected spans, -1 for a
// root (no parent, or a parent not selected).
func uParents(sel []*store.Span) []int32 {
	index := make(map[uSpanKey]int32, len(sel))
	for i, s := range sel {
		k := uSpanKey{s.TraceID, s.SpanID}
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
		if p, ok := index[uSpanKey{s.TraceID, s.ParentID}]; ok {
			parents[i] = p
		}
	}
	return parents
}

func uStatusName(st int8) string {
	switch st {
	case statusOK:
		return "OK"
	case statusError:
		return "ERROR"
	default:
		return "UNSET"
	}
}

// uSpanHover is a span's hover text; every telemetry string goes through Text.
func uSpanHover(s *store.Span) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<b>%s</b><br>duration %s<br>status %s", Text(s.Name), fmtDuration(s.DurationSeconds()), uStatusName(s.Status))
	if s.Service != "" {
		fmt.Fprintf(&b, "<br>service %s", Text(s.Service))
	}
	if s.Model != "" {
		fmt.Fprintf(&b, "<br>model %s", Text(s.Model))
	}
	if s.InputTokens >= 0 || s.OutputTokens >= 0 {
		fmt.Fprintf(&b, "<br>tokens in %d / out %d", max(s.InputTokens, 0), max(s.OutputTokens, 0))
	}
	if uFinite(s.TTFTSeconds) && s.TTFTSeconds >= 0 {
		fmt.Fprintf(&b, "<br>time to first token %s", fmtDuration(s.TTFTSeconds))
	}
	if s.ErrorType != "" {
		fmt.Fprintf(&b, "<br>error %s", Text(s.ErrorType))
	}
	if s.Preview != "" {
		fmt.Fprintf(&b, "<br>prompt: %s", Text(uClip(s.Preview, uPreviewRunes)))
	}
	return b.String()
}

// uTraceGraph draws spans as a tree per trace: parent->child edges, colour by status, size by
// duration.
func uTraceGraph(d *Data) *Figure {
	const id, title = "unified-trace-graph", "Trace graph (colour: status, size: duration)"
	sel := uSelectSpans(d, d.Opts.MaxPoints)
	if len(sel) == 0 {
		return uEmpty(id, title, needSpans, true)
	}
	order := make([]int64, len(sel))
	for i, s := range sel {
		order[i] = s.StartNs
	}
	parents := uParents(sel)
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
	if len(sel) > uGLNodes {
		kind = "scattergl"
	}
	for _, st := range []struct {
		code        int8
		name, color string
	}{{statusOK, "OK", colorOK}, {statusError, "ERROR", colorError}, {statusUnset, "UNSET", colorUnset}} {
		var x, y, size Nums
		var text []string
		for i, s := range sel {
			code := s.Status
			if code != statusOK && code != statusError {
				code = statusUnset
			}
			if code != st.code {
				continue
			}
			x = append(x, xs[i])
			y = append(y, ys[i])
			sz := 8 * scale
			if maxDur > 0 {
				sz = (8 + 22*math.Sqrt(s.DurationSeconds()/maxDur)) * scale
			}
			size = append(size, sz)
			text = append(text, uSpanHover(s))
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
	return &Figure{ID: id, Title: title, Height: uGraphHeight, Wide: true, Layout: lay, Data: traces}
}

// ---- performance grid ---------------------------------------------------------------------

// uSubplot is one cell of the performance grid; Need, when set, says what would fill it.
type uSubplot struct {
	Title  string
	Traces []Obj
	XAxis  Obj
	YAxis  Obj
	Need   string
	// Right is a second y axis on the right (the power axis of the temperature cell).
	Right Obj
}

// uPerformance is one figure of six subplots in a 3x2 grid.
func uPerformance(d *Data) *Figure {
	const id, title = "unified-performance", "Performance: latency, GPU, tokens, memory, success, temperature"
	cells := []uSubplot{
		uSubplotOf(latencyHistogram(d, "")), uSubplotOf(gpuUtilization(d, "")),
		uSubplotOf(tokenScatter(d, "")), uSubplotOf(gpuMemory(d, "")),
		uPerfSuccess(d), uSubplotOf(temperaturePower(d, "")),
	}
	empty := true
	for _, c := range cells {
		if c.Need == "" {
			empty = false
		}
	}
	if empty {
		return uEmpty(id, title, needs(needSpans, "the llamacpp receiver's and nvml receiver's metrics"), true)
	}
	cols := [2][2]float64{{0, 0.44}, {0.56, 1}}
	rows := [3][2]float64{{0.76, 1}, {0.38, 0.62}, {0, 0.24}}
	lay := Obj{
		"showlegend": true, "legend": Obj{"orientation": "h", "y": -0.07},
		"margin": Obj{"l": 60, "r": 60, "t": 40, "b": 50}, "hovermode": "closest", "bargap": 0.05,
	}
	var notes []Obj
	var traces []Obj
	for i, c := range cells {
		suffix := ""
		if i > 0 {
			suffix = strconv.Itoa(i + 1)
		}
		xd, yd := cols[i%2], rows[i/2]
		xa := Obj{}
		for k, v := range c.XAxis {
			xa[k] = v
		}
		ya := Obj{}
		for k, v := range c.YAxis {
			ya[k] = v
		}
		xa["domain"], xa["anchor"] = []float64{xd[0], xd[1]}, "y"+suffix
		ya["domain"], ya["anchor"] = []float64{yd[0], yd[1]}, "x"+suffix
		notes = append(notes, Obj{
			"text": c.Title, "showarrow": false, "xref": "paper", "yref": "paper",
			"x": (xd[0] + xd[1]) / 2, "y": yd[1], "xanchor": "center", "yanchor": "bottom", "font": Obj{"size": 12},
		})
		if c.Need != "" {
			for _, a := range []Obj{xa, ya} {
				a["showgrid"], a["zeroline"], a["showticklabels"] = false, false, false
				delete(a, "type")
			}
			notes = append(notes, Obj{
				"text": "no data: needs<br>" + c.Need, "showarrow": false, "xref": "paper", "yref": "paper",
				"x": (xd[0] + xd[1]) / 2, "y": (yd[0] + yd[1]) / 2, "font": Obj{"size": 11, "color": "#666"},
				"align": "center",
			})
		}
		lay["xaxis"+suffix], lay["yaxis"+suffix] = xa, ya
		for _, t := range c.Traces {
			t["xaxis"] = "x" + suffix
			if _, ok := t["yaxis"]; !ok {
				t["yaxis"] = "y" + suffix
			}
			traces = append(traces, t)
		}
		if c.Right != nil && c.Need == "" {
			r := Obj{"overlaying": "y" + suffix, "side": "right", "anchor": "x" + suffix}
			for k, v := range c.Right {
				r[k] = v
			}
			lay["yaxis"+strconv.Itoa(len(cells)+1)] = r
		}
	}
	lay["annotations"] = notes
	return &Figure{ID: id, Title: title, Height: uPerfHeight, Wide: true, Layout: lay, Data: traces}
}

// uSubplot of a panel the other dashboards draw: the same traces and axes, so the grid and the
// standalone panels cannot drift apart. A second y axis ("y2") becomes the grid's right axis.
func uSubplotOf(f *Figure) uSubplot {
	c := uSubplot{Title: f.Title}
	if t, ok := f.Layout["title"].(Obj); ok {
		if text, ok := t["text"].(string); ok && text != "" {
			c.Title = text
		}
	}
	if f.Empty != "" {
		c.Need = strings.TrimPrefix(f.Empty, "No data yet: ")
		return c
	}
	c.XAxis, _ = f.Layout["xaxis"].(Obj)
	c.YAxis, _ = f.Layout["yaxis"].(Obj)
	for _, t := range f.Data {
		if t["yaxis"] == "y2" {
			t["yaxis"] = "y7"
			if r, ok := f.Layout["yaxis2"].(Obj); ok && c.Right == nil {
				c.Right = Obj{}
				for k, v := range r {
					if k != "overlaying" && k != "side" {
						c.Right[k] = v
					}
				}
			}
		}
		t["showlegend"] = t["showlegend"] != false && t["type"] != "bar"
		c.Traces = append(c.Traces, t)
	}
	return c
}

func uPerfSuccess(d *Data) uSubplot {
	c := uSubplot{Title: "Request outcomes", XAxis: Obj{"type": "category"}, YAxis: Obj{"title": Obj{"text": "requests"}, "rangemode": "tozero"}}
	if len(d.Requests) == 0 {
		c.Need = needSpans
		return c
	}
	failed := 0
	for _, r := range d.Requests {
		if r.Failed {
			failed++
		}
	}
	ok := len(d.Requests) - failed
	c.Title = fmt.Sprintf("Request outcomes: %.1f%% succeeded of %d", 100*float64(ok)/float64(len(d.Requests)), len(d.Requests))
	c.Traces = []Obj{{
		"type": "bar", "name": "outcomes", "x": []string{"succeeded", "failed"}, "y": Nums{float64(ok), float64(failed)},
		"text": []string{strconv.Itoa(ok), strconv.Itoa(failed)}, "textposition": "auto", "showlegend": false,
		"marker": Obj{"color": []string{colorOK, colorError}}, "hovertemplate": "%{x}: %{y}<extra></extra>",
	}}
	return c
}

// ---- model internals in 3D ----------------------------------------------------------------

// uEmbeddings is a 3D scatter of the spans' embedding projections, one trace per category.
func uEmbeddings(d *Data) *Figure {
	const id, title = "unified-embeddings-3d", "Prompt embeddings (3D projection, colour: category)"
	var pts []*store.Span
	d.Snap.Spans.Each(func(s *store.Span) bool {
		if s.HasProjection && uFinite(s.Projection[0]) && uFinite(s.Projection[1]) && uFinite(s.Projection[2]) {
			pts = append(pts, s)
		}
		return true
	})
	if len(pts) == 0 {
		return uEmpty(id, title, uNeedProjection, false)
	}
	slices.SortStableFunc(pts, func(a, b *store.Span) int { return cmp.Compare(a.StartNs, b.StartNs) })
	if len(pts) > d.Opts.MaxPoints {
		pts = pts[len(pts)-d.Opts.MaxPoints:]
	}
	// Categories by frequency (then name); beyond uMaxCategories they share one trace.
	count := map[string]int{}
	for _, s := range pts {
		count[s.Category]++
	}
	cats := make([]string, 0, len(count))
	for c := range count {
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b)) })
	const other = "\x00other"
	group := map[string]string{}
	for i, c := range cats {
		if i < uMaxCategories-1 || len(cats) <= uMaxCategories {
			group[c] = c
		} else {
			group[c] = other
		}
	}
	if len(cats) > uMaxCategories {
		cats = append(cats[:uMaxCategories-1], other)
	}
	var traces []Obj
	for _, cat := range cats {
		var x, y, z Nums
		var text []string
		for _, s := range pts {
			if group[s.Category] != cat {
				continue
			}
			x = append(x, s.Projection[0])
			y = append(y, s.Projection[1])
			z = append(z, s.Projection[2])
			h := "<b>" + Text(s.Name) + "</b>"
			if s.Category != "" {
				h += "<br>category " + Text(s.Category)
			}
			if s.Preview != "" {
				h += "<br>" + Text(uClip(s.Preview, uPreviewRunes))
			}
			text = append(text, h)
		}
		name := Text(cat)
		switch cat {
		case "":
			name = "(no category)"
		case other:
			name = "other categories"
		}
		traces = append(traces, Obj{
			"type": "scatter3d", "mode": "markers", "name": name, "x": x, "y": y, "z": z,
			"text": text, "hoverinfo": "text", "marker": Obj{"size": 4, "opacity": 0.8},
		})
	}
	lay := Obj{
		"scene": Obj{
			"xaxis": Obj{"title": Obj{"text": "projection 1"}},
			"yaxis": Obj{"title": Obj{"text": "projection 2"}},
			"zaxis": Obj{"title": Obj{"text": "projection 3"}},
		},
		"legend": Obj{"orientation": "h", "y": -0.05},
		"margin": Obj{"l": 0, "r": 0, "t": 30, "b": 30},
	}
	return &Figure{ID: id, Title: title, Height: u3DHeight, Layout: lay, Data: traces}
}

// uLatencySurface is the mean request latency over (time bucket, prompt-length bucket).
func uLatencySurface(d *Data) *Figure {
	const id, title = "unified-latency-surface", "Latency surface: mean latency by time and prompt length"
	var rs []*Request
	for i := range d.Requests {
		r := &d.Requests[i]
		if r.In >= 0 && uFinite(r.Latency) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return uEmpty(id, title, uNeedSurface, false)
	}
	tmin, tmax := rs[0].EndMs, rs[0].EndMs
	pmin, pmax := rs[0].In, rs[0].In
	for _, r := range rs {
		tmin, tmax = min(tmin, r.EndMs), max(tmax, r.EndMs)
		pmin, pmax = min(pmin, r.In), max(pmax, r.In)
	}
	const nt, np = uSurfaceTimeBuckets, uSurfacePromptBuckets
	tw := float64(tmax-tmin) / nt
	pw := float64(pmax-pmin) / np
	bucket := func(v, lo, w float64, n int) int {
		if w <= 0 {
			return 0
		}
		return min(max(int((v-lo)/w), 0), n-1)
	}
	var sum, cnt [np][nt]float64
	tSeen, pSeen := map[int]bool{}, map[int]bool{}
	for _, r := range rs {
		ti := bucket(float64(r.EndMs-tmin), 0, tw, nt)
		pi := bucket(float64(r.In-pmin), 0, pw, np)
		tSeen[ti], pSeen[pi] = true, true
		sum[pi][ti] += r.Latency * 1000
		cnt[pi][ti]++
	}
	if len(tSeen) < 2 || len(pSeen) < 2 {
		return uEmpty(id, title, uNeedSurface, false)
	}
	x := make([]int64, nt)
	for i := range x {
		x[i] = tmin + int64((float64(i)+0.5)*tw)
	}
	y := make(Nums, np)
	for j := range y {
		y[j] = float64(pmin) + (float64(j)+0.5)*pw
	}
	z := make([]Nums, np)
	text := make([][]string, np)
	// The bucket means also as markers: a cell without a neighbouring cell draws no surface.
	var mx []int64
	var my, mz Nums
	var mt []string
	for j := range z {
		z[j] = make(Nums, nt)
		text[j] = make([]string, nt)
		for i := range z[j] {
			z[j][i] = math.NaN()
			text[j][i] = fmt.Sprintf("%.0f requests", cnt[j][i])
			if cnt[j][i] > 0 {
				z[j][i] = sum[j][i] / cnt[j][i]
				mx, my, mz, mt = append(mx, x[i]), append(my, y[j]), append(mz, z[j][i]), append(mt, text[j][i])
			}
		}
	}
	lay := Obj{
		"scene": Obj{
			"xaxis": Obj{"title": Obj{"text": "time (UTC)"}, "type": "date"},
			"yaxis": Obj{"title": Obj{"text": "prompt tokens"}},
			"zaxis": Obj{"title": Obj{"text": "mean latency (ms)"}},
		},
		"margin": Obj{"l": 0, "r": 0, "t": 30, "b": 10},
	}
	return &Figure{ID: id, Title: title, Height: u3DHeight, Layout: lay, Data: []Obj{{
		"type": "surface", "x": x, "y": y, "z": z, "text": text, "connectgaps": false,
		"colorscale": "Viridis", "colorbar": Obj{"title": Obj{"text": "ms"}},
		"hovertemplate": "%{x}<br>prompt ≈ %{y:.0f} tokens<br>mean latency %{z:.0f} ms<br>%{text}<extra></extra>",
	}, {
		"type": "scatter3d", "mode": "markers", "name": "bucket means", "x": mx, "y": my, "z": mz, "text": mt,
		"marker": Obj{"size": 3, "color": "#333"}, "showlegend": false,
		"hovertemplate": "%{x}<br>prompt ≈ %{y:.0f} tokens<br>mean latency %{z:.0f} ms<br>%{text}<extra></extra>",
	}}}
}

// ---- indicators ---------------------------------------------------------------------------

// uHalves splits the requests at the middle of their time span: older and newer.
func uHalves(rs []Request) (older, newer []Request) {
	if len(rs) == 0 {
		return nil, nil
	}
	mid := rs[0].EndMs + (rs[len(rs)-1].EndMs-rs[0].EndMs)/2
	if rs[0].EndMs == rs[len(rs)-1].EndMs {
		return nil, rs
	}
	i := sort.Search(len(rs), func(i int) bool { return rs[i].EndMs > mid })
	return rs[:i], rs[i:]
}

func uSuccessPct(rs []Request) float64 {
	if len(rs) == 0 {
		return math.NaN()
	}
	ok := 0
	for _, r := range rs {
		if !r.Failed {
			ok++
		}
	}
	return 100 * float64(ok) / float64(len(rs))
}

func uMeanLatencyMs(rs []Request) float64 {
	var v []float64
	for _, r := range rs {
		if uFinite(r.Latency) {
			v = append(v, r.Latency*1000)
		}
	}
	return mean(v)
}

// uNA is an indicator without a value: a drawn number trace whose title says why.
func uNA(title, why string, domain Obj) Obj {
	return Obj{
		"type": "indicator", "mode": "number", "value": Num(math.NaN()), "domain": domain,
		"title":  Obj{"text": title + "<br><span style=\"font-size:0.8em;color:#666\">n/a: " + why + "</span>"},
		"number": Obj{"font": Obj{"color": "rgba(0,0,0,0)"}},
	}
}

// uIndicators are four indicators: GPU utilization, success rate, average latency, temperature.
func uIndicators(d *Data) *Figure {
	const id, title = "unified-indicators", "Indicators"
	dom := func(i int) Obj {
		return Obj{"x": []float64{float64(i)*0.25 + 0.02, float64(i)*0.25 + 0.23}, "y": []float64{0, 1}}
	}
	var traces []Obj

	// GPU utilization: mean over GPUs of each one's newest value.
	var newest []float64
	for _, s := range d.series(uGPUUtil, gpuSeries) {
		if _, v, ok := s.Last(); ok && uFinite(v) {
			newest = append(newest, v*100)
		}
	}
	if len(newest) > 0 {
		traces = append(traces, Obj{
			"type": "indicator", "mode": "gauge+number", "value": Num(mean(newest)), "domain": dom(0),
			"title":  Obj{"text": fmt.Sprintf("GPU utilization (%d GPU(s))", len(newest))},
			"number": Obj{"suffix": "%", "valueformat": ".1f"},
			"gauge":  Obj{"axis": Obj{"range": []float64{0, 100}}, "bar": Obj{"color": colorInput}},
		})
	} else {
		traces = append(traces, uNA("GPU utilization", "no GPU data", dom(0)))
	}

	older, newer := uHalves(d.Requests)
	if len(d.Requests) == 0 {
		traces = append(traces, uNA("Success rate", "no requests", dom(1)))
		traces = append(traces, uNA("Average latency", "no requests", dom(2)))
	} else {
		sr := Obj{
			"type": "indicator", "mode": "gauge+number", "value": Num(uSuccessPct(newer)), "domain": dom(1),
			"title":  Obj{"text": "Success rate (newer half)"},
			"number": Obj{"suffix": "%", "valueformat": ".1f"},
			"gauge": Obj{"axis": Obj{"range": []float64{0, 100}}, "bar": Obj{"color": colorOK},
				"steps": []Obj{{"range": []float64{0, 90}, "color": "#fbe3e3"}, {"range": []float64{90, 99}, "color": "#fff4d6"}}},
		}
		lat := Obj{
			"type": "indicator", "mode": "number", "value": Num(uMeanLatencyMs(newer)), "domain": dom(2),
			"title":  Obj{"text": "Average latency (newer half)"},
			"number": Obj{"suffix": " ms", "valueformat": ".0f"},
		}
		if ref := uSuccessPct(older); uFinite(ref) {
			sr["mode"] = "gauge+number+delta"
			sr["delta"] = Obj{"reference": Num(ref), "valueformat": ".1f", "suffix": " pp"}
		}
		if ref := uMeanLatencyMs(older); uFinite(ref) {
			lat["mode"] = "number+delta"
			lat["delta"] = Obj{"reference": Num(ref), "valueformat": ".0f", "suffix": " ms",
				"increasing": Obj{"color": colorError}, "decreasing": Obj{"color": colorOK}}
		}
		traces = append(traces, sr, lat)
	}

	// Temperature: the hottest GPU's newest value.
	hot := math.NaN()
	for _, s := range d.series(uTemperature, nil) {
		if _, v, ok := s.Last(); ok && uFinite(v) && (math.IsNaN(hot) || v > hot) {
			hot = v
		}
	}
	thr := d.Opts.TemperatureThreshold
	if uFinite(hot) {
		top := max(100.0, hot+5)
		if uFinite(thr) && thr > 0 {
			top = max(top, thr+10)
		}
		gauge := Obj{"axis": Obj{"range": []float64{0, top}}, "bar": Obj{"color": colorOutput}}
		if uFinite(thr) && thr > 0 {
			gauge["threshold"] = Obj{"line": Obj{"color": "red", "width": 4}, "thickness": 0.75, "value": thr}
		}
		traces = append(traces, Obj{
			"type": "indicator", "mode": "gauge+number", "value": Num(hot), "domain": dom(3),
			"title":  Obj{"text": "GPU temperature (hottest)"},
			"number": Obj{"suffix": " °C", "valueformat": ".0f"},
			"gauge":  gauge,
		})
	} else {
		traces = append(traces, uNA("GPU temperature", "no GPU data", dom(3)))
	}
	lay := Obj{"margin": Obj{"l": 30, "r": 30, "t": 60, "b": 20}}
	return &Figure{ID: id, Title: title, Height: uIndicatorHeight, Wide: true, Layout: lay, Data: traces}
}

// ---- logs ---------------------------------------------------------------------------------

// uSeverity names a record's severity: its text, else the OTLP severity number's range.
func uSeverity(l *store.Log) string {
	if l.Severity != "" {
		return l.Severity
	}
	switch n := l.SeverityNumber; {
	case n <= 0:
		return ""
	case n < 5:
		return "TRACE"
	case n < 9:
		return "DEBUG"
	case n < 13:
		return "INFO"
	case n < 17:
		return "WARN"
	case n < 21:
		return "ERROR"
	default:
		return "FATAL"
	}
}

// uLogs is a table of the newest log records, newest first.
func uLogs(d *Data) *Figure {
	const id, title = "unified-logs", "Recent logs (newest first)"
	logs := d.Snap.Logs
	if len(logs) == 0 {
		return uEmpty(id, title, uNeedLogs, true)
	}
	n := min(len(logs), uLogRows)
	when, sev, svc, body, trace, fill := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		l := &logs[len(logs)-1-i]
		when[i] = time.Unix(0, l.TimeNs).UTC().Format("15:04:05.000")
		sev[i] = Text(uSeverity(l))
		svc[i] = Text(l.Service)
		body[i] = Text(l.Body)
		if l.TraceID != ([16]byte{}) {
			trace[i] = hex.EncodeToString(l.TraceID[:4])
		}
		switch {
		case l.SeverityNumber >= 17:
			fill[i] = "#fbe3e3"
		case l.SeverityNumber >= 13:
			fill[i] = "#fff4d6"
		default:
			fill[i] = "#ffffff"
		}
	}
	fills := [][]string{fill, fill, fill, fill, fill}
	return &Figure{ID: id, Title: title, Height: uLogsHeight, Wide: true, Layout: Obj{"margin": Obj{"l": 10, "r": 10, "t": 10, "b": 10}},
		Data: []Obj{{
			"type":        "table",
			"columnwidth": []int{90, 60, 110, 600, 70},
			"header": Obj{"values": []string{"time (UTC)", "severity", "service", "body", "trace"},
				"align": "left", "fill": Obj{"color": "#eef1f4"}, "font": Obj{"size": 12}},
			"cells": Obj{"values": [][]string{when, sev, svc, body, trace}, "align": "left",
				"fill": Obj{"color": fills}, "font": Obj{"size": 11}},
		}}}
}
