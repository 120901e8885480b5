// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plotlyJS is the plotly.js bundle that TestRealPlotly loads: $LLT_PLOTLYJS, else the copy that
// `make build` puts next to the HTML exporter. The test skips when neither exists.
func plotlyJS(t *testing.T) string {
	t.Helper()
	p := os.Getenv("LLT_PLOTLYJS")
	if p == "" {
		p = filepath.Join("..", "..", "exporter", "plotlyhtmlexporter", "internal", "plotlyjs", "dist", "plotly.min.js")
	}
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("no plotly.js bundle (%v): set LLT_PLOTLYJS or run `make build`", err)
	}
	return abs
}

// TestRealPlotly checks Plots against the DOM that the real plotly.js draws, SVG and WebGL,
// which the fake page of TestPlots only imitates.
func TestRealPlotly(t *testing.T) {
	js := plotlyJS(t)
	url := writePage(t, `<!doctype html><html><head><script src="`+FileURL(js)+`"></script></head><body>
<div id="sc"></div><div id="bar"></div><div id="pie"></div><div id="ind"></div><div id="hm"></div>
<div id="gl"></div><div id="s3"></div><div id="rs"></div><div id="empty"></div>
<script>
const L = (t) => ({title: {text: t}, width: 500, height: 300});
Plotly.newPlot("sc", [{x: [1, 2, 3], y: [1, 3, 2]}, {x: [1, 2], y: [2, 2], mode: "lines"}], L("scatter"));
Plotly.newPlot("bar", [{x: ["a", "b"], y: [1, 2], type: "bar"}, {x: ["a", "b"], y: [3, 1], type: "bar"}], L("bar"));
Plotly.newPlot("pie", [{values: [1, 2, 3], labels: ["a", "b", "c"], type: "pie"}], L("pie"));
Plotly.newPlot("ind", [{type: "indicator", mode: "number", value: 42}], L("indicator"));
Plotly.newPlot("hm", [{z: [[1, 2], [3, 4]], type: "heatmap"}], L("heatmap"));
Plotly.newPlot("gl", [{x: [1, 2, 3, 4], y: [1, 2, 3, 4], type: "scattergl", mode: "markers"}], L("scattergl"));
Plotly.newPlot("s3", [{x: [1, 2, 3], y: [1, 2, 3], z: [1, 2, 3], type: "scatter3d", mode: "markers"}], L("3d"));
Plotly.newPlot("rs", [{x: [1, 2, 3], y: [1, 2, 3]}], Object.assign(L("rangeslider"), {xaxis: {rangeslider: {}}}));
Plotly.newPlot("empty", [], Object.assign(L("empty"), {annotations: [{text: "no data", showarrow: false}]}));
</script></body></html>`)
	p := New(t, Offline()).Open(t, url)
	p.WaitForPlots(t, 9, 20*time.Second)

	want := map[string]Plot{
		"sc":    {Title: "scatter", Traces: 2, DrawnTraces: 2, Points: 5},
		"bar":   {Title: "bar", Traces: 2, DrawnTraces: 2, Points: 4},
		"pie":   {Title: "pie", Traces: 1, DrawnTraces: 1, Points: 3},
		"ind":   {Title: "indicator", Traces: 1, DrawnTraces: 1, Points: 1},
		"hm":    {Title: "heatmap", Traces: 1, DrawnTraces: 1, Points: 4},
		"gl":    {Title: "scattergl", Traces: 1, DrawnTraces: 1, HasGL: true, Points: 4},
		"s3":    {Title: "3d", Traces: 1, DrawnTraces: 1, HasGL: true, Points: 3},
		"rs":    {Title: "rangeslider", Traces: 1, DrawnTraces: 1, Points: 3},
		"empty": {Title: "empty", Empty: true, Annotation: "no data"},
	}
	// WebGL plots draw in animation frames after newPlot resolves, so look until all are drawn.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		plots, err := p.plots()
		require.NoError(c, err)
		require.Len(c, plots, len(want))
		for _, got := range plots {
			w := want[got.ID]
			w.ID, w.Rendered = got.ID, true
			assert.Equal(c, w, got, got.String())
		}
	}, 10*time.Second, 100*time.Millisecond)
	p.AssertNoErrors(t)
}
