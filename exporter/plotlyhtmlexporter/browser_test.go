// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/plotlyjs"
	"github.com/llamatelemetry/otelcol-llt/internal/browsertest"
)

// These tests open the exporter's pages in a real headless Chromium (browsertest.Require fails
// them under `make test` when Chromium is missing).

// allPanels lists every panel ID, so a panel that disappears fails the tests.
var allPanels = []string{
	"overview-latency-histogram", "overview-token-usage", "overview-token-scatter", "overview-cumulative-requests", "overview-errors",
	"live-generation-rate", "live-gpu-utilization", "live-request-latency", "live-gpu-memory", "live-active-slots", "live-temperature-power",
	"live-energy-per-token", "live-gpu-time", "live-statistics",
	"unified-trace-graph", "unified-waterfall", "unified-performance", "unified-embeddings-3d", "unified-model", "unified-attention",
	"unified-indicators", "unified-statistics", "unified-logs",
}

func checkAllPanelsDrawn(t *testing.T, page *browsertest.Page) {
	t.Helper()
	page.WaitForPlots(t, len(allPanels), 30*time.Second)
	plots := page.Plots(t)
	byID := map[string]browsertest.Plot{}
	for _, p := range plots {
		byID[p.ID] = p
	}
	for _, id := range allPanels {
		p, ok := byID[id]
		if !assert.True(t, ok, "panel %s missing from the page", id) {
			continue
		}
		assert.True(t, p.Rendered, "panel %s not rendered: %s", id, p)
		assert.False(t, p.Empty, "panel %s is empty: %s", id, p)
		assert.Positive(t, p.Traces, "panel %s has no traces: %s", id, p)
		assert.Positive(t, p.DrawnTraces, "panel %s drew nothing: %s", id, p)
		assert.Positive(t, p.Points, "panel %s has no points: %s", id, p)
	}
	page.AssertNoErrors(t)
}

// shown is how the page prints a summary number: the JSON's value (five significant digits, see
// dashboard.Num) with JavaScript's toFixed(digits). (The summary's textContent runs a row's
// label and value together.)
func shown(t *testing.T, v float64, digits int) string {
	t.Helper()
	b, err := json.Marshal(dashboard.Num(v))
	require.NoError(t, err)
	var rounded float64
	require.NoError(t, json.Unmarshal(b, &rounded))
	return strconv.FormatFloat(rounded, 'f', digits, 64)
}

func TestPagesRenderOfflineInChromium(t *testing.T) {
	browsertest.Require(t)
	for _, mode := range []string{PlotlyJSInline, PlotlyJSDirectory} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.PlotlyJS = mode
			e := startExporter(t, cfg)
			fd := newFeed(t)
			fd.Projections = true
			fd.GPUEnergy = true
			fd.run(e, 120)
			e.ingestTraces(attentionSpan("qwen-q4km.gguf", []int64{3, 20}, 4, 12, attentionTokens, time.Now().Add(-time.Minute)))
			require.NoError(t, e.writeFile())

			b := browsertest.New(t, browsertest.Offline())
			page := b.Open(t, browsertest.FileURL(cfg.Path))
			checkAllPanelsDrawn(t, page)
			assert.Empty(t, page.FailedRequests(), "the page loads nothing from the network")
			assert.Empty(t, page.BlockedRequests(), "the page asks for nothing from the network")
			// Every request is a point of the GPU panels: one line for the requests on one GPU,
			// one for those on two (hw.id as a string and as an array).
			for _, p := range page.Plots(t) {
				if p.ID == "live-energy-per-token" || p.ID == "live-gpu-time" {
					assert.Equal(t, 2, p.Traces, "%s", p)
					assert.Equal(t, 2, p.DrawnTraces, "%s", p)
					assert.Equal(t, 240, p.Points, "%s", p)
				}
			}
			// The summary is drawn from the same data, with a verdict.
			var summary string
			page.Eval(t, `document.getElementById("unified-summary").textContent`, &summary)
			assert.Contains(t, summary, "Latency P50 / P95 / P99")
			assert.Contains(t, summary, "240 / ") // 120 scrapes x 2 requests
			assert.Contains(t, summary, "GPU energy per 1k output tokens"+shown(t, 1000*fd.EnergyJ/float64(fd.EnergyOutputTokens), 1)+" J")
			assert.Contains(t, summary, "GPU energy / GPU time (total)"+shown(t, fd.EnergyJ, 1)+" J over 240 request(s) / "+
				shown(t, fd.GPUSeconds, 2)+" s over 240 request(s)")
			shot := filepath.Join(t.TempDir(), "dashboard.png")
			if dir := os.Getenv("LLT_SCREENSHOT_DIR"); dir != "" {
				shot = filepath.Join(dir, "dashboard-"+mode+".png")
			}
			page.Screenshot(t, shot)
		})
	}
}

func TestEmptyPanelsSayWhatIsMissing(t *testing.T) {
	browsertest.Require(t)
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	require.NoError(t, e.writeFile())
	b := browsertest.New(t, browsertest.Offline())
	page := b.Open(t, browsertest.FileURL(cfg.Path))
	page.WaitForPlots(t, len(allPanels), 30*time.Second)
	for _, p := range page.Plots(t) {
		if p.ID == "unified-indicators" {
			// Indicators still draw, showing "n/a" with the reason in their titles.
			continue
		}
		assert.True(t, p.Empty, "panel %s without data must say so: %s", p.ID, p)
		assert.Contains(t, p.Annotation, "No data yet: ", p.ID)
	}
	page.AssertNoErrors(t)
}

func TestHostileTelemetryDoesNotExecute(t *testing.T) {
	browsertest.Require(t)
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	fd.Projections = true
	fd.GPUEnergy = true // hw.id carries the hostile strings into the GPU panels' legends
	for _, h := range hostileStrings() {
		fd.Hostile = h
		fd.run(e, 4)
	}
	require.NoError(t, e.writeFile())
	b := browsertest.New(t, browsertest.Offline())
	page := b.Open(t, browsertest.FileURL(cfg.Path))
	page.WaitForPlots(t, len(allPanels), 30*time.Second)
	// Hover texts and the logs table are drawn: give onerror/onload handlers a chance to fire.
	page.Eval(t, `(function(){var gd=document.getElementById("unified-trace-graph"); Plotly.Fx.hover(gd, [{curveNumber:1, pointNumber:0}]); return true})()`, nil)
	time.Sleep(500 * time.Millisecond)
	var pwned any
	page.Eval(t, `window.__pwned === undefined ? null : window.__pwned`, &pwned)
	assert.Nil(t, pwned, "a hostile string ran in the page")
	assert.Empty(t, page.Dialogs())
	page.AssertNoErrors(t)
	// The strings are shown as text: the logs table carries them literally.
	var cells string
	page.Eval(t, `document.getElementById("unified-logs").textContent`, &cells)
	assert.Contains(t, cells, `<img src=x onerror=`)
	var injected int
	page.Eval(t, `document.querySelectorAll("main img, main svg a[href^='javascript'], main script").length`, &injected)
	assert.Zero(t, injected, "telemetry created elements in the page")
}

func TestLivePageShowsNewDataWithin5s(t *testing.T) {
	browsertest.Require(t)
	cfg, base := serveConfig(t)
	cfg.Serve.Get().Refresh = time.Second
	e := startExporter(t, cfg)
	fd := newFeed(t)
	fd.run(e, 10)

	b := browsertest.New(t, browsertest.Offline(), browsertest.AllowOrigin(base))
	page := b.Open(t, base+"/live")
	page.WaitForPlots(t, 8, 30*time.Second)
	countJS := `document.getElementById("live-request-latency").data.reduce(function(n, tr){ return n + tr.x.length }, 0)`
	var before int
	page.Eval(t, countJS, &before)
	require.Positive(t, before)

	// One new request reaches the exporter; the page must show it within 5 s.
	e.ingestTraces(fd.request(time.Now(), 123*time.Millisecond, 7, 3, false))
	start := time.Now()
	page.WaitFor(t, fmt.Sprintf("(%s) > %d", countJS, before), 5*time.Second)
	t.Logf("new point drawn %v after it reached the exporter", time.Since(start).Round(time.Millisecond))
	var status string
	page.Eval(t, `document.getElementById("llt-status").textContent`, &status)
	assert.True(t, strings.HasPrefix(status, "live · "), status)
	page.AssertNoErrors(t)
	require.NoError(t, e.Shutdown(context.Background()))
}

func TestCDNPageFailsVisiblyOffline(t *testing.T) {
	browsertest.Require(t)
	cfg := testConfig(t)
	cfg.PlotlyJS = PlotlyJSCDN
	e := startExporter(t, cfg)
	require.NoError(t, e.writeFile())
	b := browsertest.New(t, browsertest.Offline())
	page := b.Open(t, browsertest.FileURL(cfg.Path))
	time.Sleep(300 * time.Millisecond)
	assert.NotEmpty(t, page.BlockedRequests(), "a cdn page asks the network for plotly.js")
	assert.Contains(t, strings.Join(page.BlockedRequests(), " "), plotlyjs.CDNURL)
}

// zOf reads the z of a trace of a plot as the page holds it (gd.data) and as plotly drew it
// (gd._fullData): the numbers of the lower triangle, null above the diagonal.
const zOfJS = `(function (id, i) {
  var gd = document.getElementById(id);
  var flat = function (z) { return z ? [].concat.apply([], Array.from(z, function (r) { return Array.from(r); })) : []; };
  return {data: flat(gd.data[i].z), full: flat(gd._fullData[i].z), title: gd._fullLayout.title.text,
    active: gd._fullLayout.updatemenus[0].active};
})`

type drawnZ struct {
	Data   []*float64 `json:"data"`
	Full   []*float64 `json:"full"`
	Title  string     `json:"title"`
	Active int        `json:"active"`
}

func readZ(t *testing.T, page *browsertest.Page, trace int) drawnZ {
	t.Helper()
	var z drawnZ
	page.Eval(t, zOfJS+`("unified-attention", `+strconv.Itoa(trace)+`)`, &z)
	return z
}

// numbers counts the numbers of a z (and checks they are probabilities).
func numbers(t *testing.T, z []*float64) int {
	t.Helper()
	n := 0
	for _, v := range z {
		if v != nil {
			assert.True(t, *v >= 0 && *v <= 1, "z value %v", *v)
			n++
		}
	}
	return n
}

// The model internals of the unified page: the attention surface and heatmap with their one
// selector, the request waterfall and the model's facts, in a real browser.
func TestModelInternalsInChromium(t *testing.T) {
	browsertest.Require(t)
	for _, labelled := range []bool{true, false} {
		t.Run(map[bool]string{true: "token-labels", false: "drop-content"}[labelled], func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Dashboards = []string{"unified"}
			e := startExporter(t, cfg)
			fd := newFeed(t)
			fd.run(e, 12) // 24 gateway requests with queue, prompt and generation; the golden model facts
			var labels []string
			if labelled {
				labels = attentionTokens
			}
			requestStart := time.Now().Add(-30 * time.Second)
			e.ingestTraces(attentionSpan("qwen-q4km.gguf", []int64{3, 20}, 4, 12, labels, requestStart))
			require.NoError(t, e.writeFile())

			b := browsertest.New(t, browsertest.Offline())
			page := b.Open(t, browsertest.FileURL(cfg.Path))
			page.WaitForPlots(t, 8, 30*time.Second)
			byID := map[string]browsertest.Plot{}
			for _, p := range page.Plots(t) {
				byID[p.ID] = p
			}
			for _, id := range []string{"unified-attention", "unified-waterfall", "unified-model"} {
				p := byID[id]
				assert.True(t, p.Rendered && !p.Empty && p.Points > 0 && p.DrawnTraces > 0, "%s", p)
			}
			att := byID["unified-attention"]
			assert.True(t, att.HasGL, "the surface draws with WebGL: %s", att)
			assert.Equal(t, 2, att.DrawnTraces, "surface and heatmap drawn: %s", att)

			// Both plots draw the lower triangle of layer 3 head 0: 78 numbers of 144 cells.
			surface, heat := readZ(t, page, 0), readZ(t, page, 1)
			for _, z := range []drawnZ{surface, heat} {
				require.Len(t, z.Data, 144)
				require.Len(t, z.Full, 144)
				assert.Equal(t, 78, numbers(t, z.Data))
				assert.Equal(t, 78, numbers(t, z.Full))
			}
			assert.Equal(t, surface.Data, heat.Data)
			want := "Attention — qwen-q4km.gguf, layer 3 head 0 — request at " + requestStart.UTC().Format("2006-01-02 15:04:05") + " UTC"
			assert.Equal(t, want, surface.Title)

			// The selector's second option: both plots switch to layer 3 head 1.
			page.Eval(t, `(function () {
  var gd = document.getElementById("unified-attention");
  gd.querySelector(".updatemenu-header").dispatchEvent(new MouseEvent("click", {bubbles: true}));
  var buttons = gd.querySelectorAll(".updatemenu-dropdown-button-group .updatemenu-dropdown-button");
  if (buttons.length !== 8) throw new Error(buttons.length + " options in the selector");
  buttons[1].dispatchEvent(new MouseEvent("click", {bubbles: true}));
  return true;
})()`, nil)
			page.WaitFor(t, `document.getElementById("unified-attention")._fullLayout.updatemenus[0].active === 1 &&
  document.getElementById("unified-attention")._fullLayout.title.text.indexOf("head 1") > 0`, 5*time.Second)
			surface2, heat2 := readZ(t, page, 0), readZ(t, page, 1)
			assert.NotEqual(t, surface.Data, surface2.Data, "the surface's z did not change")
			assert.NotEqual(t, heat.Full, heat2.Full, "the heatmap's drawn z did not change")
			assert.Equal(t, surface2.Data, heat2.Data, "both plots show the same layer and head")
			assert.Equal(t, 78, numbers(t, surface2.Full))
			assert.Contains(t, surface2.Title, "layer 3 head 1")

			// The waterfall: one row per newest request (15), each with its three phases and
			// its total's outline; the failed ones marked.
			var wf struct {
				Rows   int            `json:"rows"`
				Bars   map[string]int `json:"bars"`
				Paths  int            `json:"paths"`
				Failed int            `json:"failed"`
			}
			page.Eval(t, `(function () {
  var gd = document.getElementById("unified-waterfall"), bars = {};
  gd._fullData.forEach(function (tr) { bars[tr.name] = tr.y ? tr.y.length : 0; });
  return {rows: gd._fullLayout.yaxis.ticktext.length, bars: bars, paths: gd.querySelectorAll("g.trace.bars g.point path").length,
    failed: gd._fullLayout.yaxis.ticktext.filter(function (t) { return t.indexOf("✕") === 0; }).length};
})()`, &wf)
			assert.Equal(t, 15, wf.Rows)
			for _, ph := range []string{"queue", "prompt", "generation", "request (total)"} {
				assert.Equal(t, 15, wf.Bars[ph], "%s bars: %v", ph, wf.Bars)
			}
			assert.Equal(t, 60, wf.Paths, "bars drawn")
			assert.Equal(t, wf.Failed, wf.Bars["failed"])

			// The model's facts, from the llamacpp receiver's resource attributes.
			var model string
			page.Eval(t, `document.getElementById("unified-model").textContent`, &model)
			for _, fact := range []string{"qwen-q4km.gguf", "3.09 B", "32,768 tokens", "2,048", "151,936 tokens", "1.79 GiB", "heads (kv)"} {
				assert.Contains(t, model, fact)
			}

			// Token labels on the axes when the span carries them; otherwise not a word of the
			// prompt anywhere in the page.
			html := page.HTML(t)
			for _, w := range attentionWords {
				assert.Equal(t, labelled, strings.Contains(html, w), "%q in the page (labels sent: %v)", w, labelled)
			}
			var ticks string
			page.Eval(t, `Array.from(document.querySelectorAll("#unified-attention .xtick text")).map(function (e) { return e.textContent; }).join(" ")`, &ticks)
			if labelled {
				assert.Contains(t, ticks, "▁Ptarmigan")
			} else {
				assert.Contains(t, ticks, "11")
			}
			page.AssertNoErrors(t)
			shot := filepath.Join(t.TempDir(), "internals.png")
			if dir := os.Getenv("LLT_SCREENSHOT_DIR"); dir != "" {
				shot = filepath.Join(dir, "internals-"+t.Name()[len("TestModelInternalsInChromium/"):]+".png")
			}
			page.Screenshot(t, shot)
		})
	}
}
