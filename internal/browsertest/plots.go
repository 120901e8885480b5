// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Plot summarizes one plotly.js plot of a page: a div of class js-plotly-plot.
type Plot struct {
	// ID is the id attribute of the plot div ("" when it has none).
	ID string `json:"id"`
	// Title is the text of the layout's title.
	Title string `json:"title"`
	// Traces is the number of traces the plot was given: len(gd.data).
	Traces int `json:"traces"`
	// DrawnTraces counts what the browser actually drew: the elements of class "trace" in the
	// plot's SVG (g.trace.scatter, g.trace.bars, the traces of a pie, an indicator, a box, ...;
	// not the copies in a range slider), and the g.hm, g.contour, g.im, g.table and g.sankey
	// groups that heatmap, histogram2d, contour, image, table and sankey traces draw instead,
	// plus one for each WebGL canvas of the plot that has a size and received at least one draw
	// call (scatter3d, surface and other 3D plots: one; scattergl: one, for all its traces;
	// parcoords: up to three).
	DrawnTraces int `json:"drawnTraces"`
	// HasGL is true when the plot has a WebGL canvas.
	HasGL bool `json:"hasGL"`
	// Points is the number of data points over all traces of gd.data: for each trace, the
	// length of the first of x, y, values, z, r, lat, lon, locations, a, labels that it has (a
	// z of rows counts its cells; typed arrays and plotly's {dtype, bdata} arrays count their
	// elements), or 1 for a trace with only a scalar value (an indicator). A table counts its
	// cells, a sankey its links, a parcoords its rows.
	Points int `json:"points"`
	// Empty is true when the plot has no data points and an annotation that says "no data".
	Empty bool `json:"empty"`
	// Annotation is the text of the layout's annotations, joined with " | ".
	Annotation string `json:"annotation"`
	// Rendered is true when plotly.js finished the first draw (the div has _fullLayout).
	Rendered bool `json:"rendered"`
}

// String is a one-line summary for messages.
func (pl Plot) String() string {
	return fmt.Sprintf("plot %q (%q): traces=%d drawn=%d gl=%v points=%d empty=%v rendered=%v annotation=%q",
		pl.ID, pl.Title, pl.Traces, pl.DrawnTraces, pl.HasGL, pl.Points, pl.Empty, pl.Rendered, pl.Annotation)
}

// Plots returns a summary of every plotly.js plot on the page, in document order.
func (p *Page) Plots(tb testing.TB) []Plot {
	tb.Helper()
	plots, err := p.plots()
	if err != nil {
		p.fatalf(tb, "browsertest: reading the plots of %s: %v", p.url, p.explain(err))
	}
	return plots
}

// plots is Plots that returns its failure.
func (p *Page) plots() ([]Plot, error) {
	raw, err := p.evalRaw(plotsJS)
	if err != nil {
		return nil, err
	}
	var plots []Plot
	if err := json.Unmarshal(raw, &plots); err != nil {
		return nil, fmt.Errorf("decoding %.300s: %w", raw, err)
	}
	return plots, nil
}

// WaitForPlots waits until the page has at least n plot divs and plotly.js has rendered each
// of them (the div has _fullLayout). After timeout it fails the test with what it found.
func (p *Page) WaitForPlots(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	if err := p.waitForPlots(n, timeout); err != nil {
		p.fatalf(tb, "browsertest: %v", err)
	}
}

func (p *Page) waitForPlots(n int, timeout time.Duration) error {
	js := fmt.Sprintf(`(() => {
	const ps = document.querySelectorAll('.js-plotly-plot');
	return ps.length >= %d && Array.from(ps).every((gd) => !!gd._fullLayout);
})()`, n)
	err := p.waitFor(js, timeout)
	if err == nil {
		return nil
	}
	var state struct{ Divs, Rendered int }
	raw, evalErr := p.evalRaw(`(() => {
	const ps = Array.from(document.querySelectorAll('.js-plotly-plot'));
	return {Divs: ps.length, Rendered: ps.filter((gd) => !!gd._fullLayout).length};
})()`)
	if evalErr == nil && json.Unmarshal(raw, &state) == nil {
		return fmt.Errorf("timed out after %v waiting for %d rendered plotly.js plots: the page has %d plot divs, %d of them rendered (is plotly.js loaded? %s)",
			timeout, n, state.Divs, state.Rendered, p.plotlyState())
	}
	return err
}

// plotlyState says whether window.Plotly exists, for a failure message.
func (p *Page) plotlyState() string {
	raw, err := p.evalRaw(`typeof window.Plotly === 'undefined' ? 'window.Plotly is undefined' : 'plotly.js ' + (window.Plotly.version || '(no version)')`)
	if err != nil {
		return err.Error()
	}
	return strings.Trim(string(raw), `"`)
}

// glProbeJS runs in every document of a page before its own scripts. It notes each canvas that
// gets a WebGL context and counts the draw calls made on it, so that [Page.Plots] can tell a
// WebGL canvas that shows something from an empty one without touching the canvases itself
// (asking a canvas for a context would create one).
const glProbeJS = `(() => {
	if (window.__browsertestGL) return;
	const marks = new WeakMap();
	Object.defineProperty(window, '__browsertestGL', {value: marks});
	const getContext = HTMLCanvasElement.prototype.getContext;
	HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
		const ctx = getContext.call(this, type, ...rest);
		if (ctx && /webgl/i.test(String(type)) && !marks.has(this)) marks.set(this, {draws: 0});
		return ctx;
	};
	const note = (canvas) => { const m = canvas && marks.get(canvas); if (m) m.draws++; };
	const wrap = (obj, names, canvasOf) => {
		for (const name of names) {
			const f = obj && obj[name];
			if (typeof f !== 'function') continue;
			obj[name] = function (...args) { note(canvasOf(this)); return f.apply(this, args); };
		}
	};
	const draws = ['drawArrays', 'drawElements', 'drawArraysInstanced', 'drawElementsInstanced', 'drawRangeElements'];
	for (const C of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
		if (!C) continue;
		wrap(C.prototype, draws, (gl) => gl.canvas);
		const getExtension = C.prototype.getExtension;
		C.prototype.getExtension = function (name, ...rest) {
			const ext = getExtension.call(this, name, ...rest);
			if (ext && /instanced_arrays/i.test(String(name)) && !ext.__browsertestWrapped) {
				const gl = this;
				Object.defineProperty(ext, '__browsertestWrapped', {value: true});
				wrap(ext, ['drawArraysInstancedANGLE', 'drawElementsInstancedANGLE'], () => gl.canvas);
			}
			return ext;
		};
	}
})();`

// plotsJS summarizes the plots of the page; see [Plot].
const plotsJS = `(() => {
	const marks = window.__browsertestGL;
	const dtypeSize = {i1: 1, u1: 1, u1c: 1, i2: 2, u2: 2, i4: 4, u4: 4, f4: 4, f8: 8, float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4};
	// count returns the number of elements of a data array, or -1 when v is not one.
	const count = (v) => {
		if (v === null || v === undefined) return -1;
		if (Array.isArray(v)) {
			if (v.length > 0 && (Array.isArray(v[0]) || ArrayBuffer.isView(v[0]))) {
				return v.reduce((n, row) => n + (row ? row.length || 0 : 0), 0);
			}
			return v.length;
		}
		if (ArrayBuffer.isView(v)) return v.length;
		if (typeof v === 'object' && typeof v.bdata === 'string') {
			if (v.shape !== undefined) {
				const dims = Array.isArray(v.shape) ? v.shape : String(v.shape).split(',');
				return dims.reduce((n, d) => n * (parseInt(d, 10) || 0), 1);
			}
			const b = v.bdata.replace(/\s/g, '');
			const pad = b.endsWith('==') ? 2 : b.endsWith('=') ? 1 : 0;
			const bytes = Math.floor(b.length * 3 / 4) - pad;
			return Math.floor(bytes / (dtypeSize[v.dtype] || 8));
		}
		return -1;
	};
	// Most trace types draw a g.trace; heatmap (and histogram2d), contour, image, table and
	// sankey draw a group of their own class instead.
	const traceSelector = ['.trace', 'g.hm', 'g.contour', 'g.im', 'g.table', 'g.sankey'].map((c) => 'svg.main-svg ' + c).join(', ');
	const fields = ['x', 'y', 'values', 'z', 'r', 'lat', 'lon', 'locations', 'a', 'labels'];
	const points = (trace) => {
		if (!trace || typeof trace !== 'object') return 0;
		const special = {
			table: () => count(trace.cells && trace.cells.values),
			sankey: () => count(trace.link && trace.link.value),
			parcoords: () => count(trace.dimensions && trace.dimensions[0] && trace.dimensions[0].values),
		}[trace.type];
		if (special) return Math.max(special(), 0);
		for (const f of fields) {
			const n = count(trace[f]);
			if (n >= 0) return n;
		}
		return typeof trace.value === 'number' ? 1 : 0;
	};
	const text = (t) => {
		if (t === null || t === undefined) return '';
		if (typeof t === 'object') return t.text === undefined || t.text === null ? '' : String(t.text);
		return String(t);
	};
	return Array.from(document.querySelectorAll('.js-plotly-plot')).map((gd) => {
		const layout = gd._fullLayout || gd.layout || {};
		const data = Array.isArray(gd.data) ? gd.data : [];
		const svgTraces = Array.from(gd.querySelectorAll(traceSelector)).filter((el) =>
			!(el.parentElement && el.parentElement.closest(traceSelector)) && !el.closest('.rangeslider-container'));
		let drawnGL = 0;
		let hasGL = false;
		for (const c of gd.querySelectorAll('canvas')) {
			const m = marks ? marks.get(c) : undefined;
			if (!m) continue;
			hasGL = true;
			if (c.width > 0 && c.height > 0 && m.draws > 0) drawnGL++;
		}
		const annotations = (Array.isArray(layout.annotations) ? layout.annotations : [])
			.filter((a) => a && a.visible !== false)
			.map((a) => text(a.text))
			.filter((s) => s !== '');
		const total = data.reduce((n, t) => n + points(t), 0);
		const annotation = annotations.join(' | ');
		return {
			id: gd.id || '',
			title: text((gd._fullLayout && gd._fullLayout.title) || (gd.layout && gd.layout.title)),
			traces: data.length,
			drawnTraces: svgTraces.length + drawnGL,
			hasGL: hasGL,
			points: total,
			empty: total === 0 && /no\s+data/i.test(annotation),
			annotation: annotation,
			rendered: !!gd._fullLayout,
		};
	});
})()`
