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
	"live-energy-per-token", "live-gpu-time",
	"unified-trace-graph", "unified-performance", "unified-embeddings-3d", "unified-latency-surface", "unified-indicators", "unified-logs",
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
