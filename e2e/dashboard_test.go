// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/browsertest"
)

// TestMakeRunLeavesDashboard runs `make run RUN_FOR=60s` as a newcomer would (launcher, real
// llama-server on the demo model, receivers, lltload at 2 requests/s) and opens the
// out/dashboard.html it leaves in headless Chromium with the network off: the request, token and
// slot panels must show that run's requests.
func TestMakeRunLeavesDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a minute")
	}
	browsertest.Require(t)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	otelcolBin(t)
	binary(t, "LLTLOAD_BIN", "../bin/lltload", "make build")
	dashboard := filepath.Join(root, "out", "dashboard.html")
	_ = os.Remove(dashboard)
	_ = os.RemoveAll(filepath.Join(root, "out", "graphs"))

	started := time.Now()
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "run", "RUN_FOR=60s")
	cmd.Env = withoutMake(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "make run RUN_FOR=60s failed:\n%s", tail(out.String(), 60))
	log := out.String()

	// lltload's summary (stdout) says how many requests it sent and got answers for.
	m := regexp.MustCompile(`(?m)^ok\s*[:=]?\s*(\d+)`).FindStringSubmatch(log)
	require.NotNil(t, m, "no lltload summary in the make run output:\n%s", tail(log, 60))
	okCount, _ := strconv.Atoi(m[1])
	require.Positive(t, okCount, "lltload got no answers:\n%s", tail(log, 60))

	info, err := os.Stat(dashboard)
	require.NoError(t, err, "make run left no dashboard")
	require.True(t, info.ModTime().After(started), "the dashboard is older than this run")

	b := browsertest.New(t, browsertest.Offline())
	page := b.Open(t, browsertest.FileURL(dashboard))
	page.WaitForPlots(t, 17, 60*time.Second)
	page.AssertNoErrors(t)
	plots := map[string]browsertest.Plot{}
	for _, p := range page.Plots(t) {
		plots[p.ID] = p
	}
	// Requests, tokens and slots of this run (the gateway's spans and the llamacpp receiver).
	for _, id := range []string{
		"overview-latency-histogram", "overview-token-usage", "overview-token-scatter", "overview-cumulative-requests", "overview-errors",
		"live-generation-rate", "live-request-latency", "live-active-slots", "live-statistics",
		"unified-trace-graph", "unified-waterfall", "unified-performance", "unified-embeddings-3d", "unified-model",
		"unified-attention", "unified-indicators", "unified-statistics", "unified-logs",
	} {
		p, ok := plots[id]
		if assert.True(t, ok, "panel %s missing", id) {
			assert.False(t, p.Empty, "panel %s is empty: %s", id, p)
			assert.Positive(t, p.DrawnTraces, "panel %s drew nothing: %s", id, p)
			assert.Positive(t, p.Points, "panel %s has no points: %s", id, p)
		}
	}
	// The GPU panels need an NVIDIA GPU; without one they must say so.
	if !hasNVIDIAGPU() {
		for _, id := range []string{"live-gpu-utilization", "live-gpu-memory", "live-temperature-power"} {
			assert.Contains(t, plots[id].Annotation, "nvml", id)
		}
	}

	// The page's numbers are this run's: its requests as the summary counts them.
	var summary struct {
		Total     int   `json:"requests_total"`
		TokensIn  int64 `json:"tokens_in"`
		TokensOut int64 `json:"tokens_out"`
	}
	var raw string
	page.Eval(t, `JSON.stringify(JSON.parse(document.getElementById("llt-data").textContent).sections.find(s => s.name === "unified").summary)`, &raw)
	require.NoError(t, json.Unmarshal([]byte(raw), &summary))
	t.Logf("lltload ok=%d; dashboard: %d requests, %d tokens in, %d out", okCount, summary.Total, summary.TokensIn, summary.TokensOut)
	assert.GreaterOrEqual(t, summary.Total, okCount, "every answered request is on the page")
	assert.LessOrEqual(t, summary.Total, okCount+20, "the page shows more requests than this run sent")
	assert.Positive(t, summary.TokensIn)
	assert.Positive(t, summary.TokensOut)
	// The graphistry exporter's file mode left this run's trace graphs.
	graphs, err := filepath.Glob(filepath.Join(root, "out", "graphs", "traces-*.nodes.arrow"))
	require.NoError(t, err)
	fresh := 0
	for _, g := range graphs {
		if st, err := os.Stat(g); err == nil && st.ModTime().After(started) {
			fresh++
		}
	}
	assert.Positive(t, fresh, "no trace graph files from this run in out/graphs")
	var slotsPoints int
	page.Eval(t, `document.getElementById("live-active-slots").data[0].x.length`, &slotsPoints)
	assert.Greater(t, slotsPoints, 20, "about one slots scrape per second of the run")

	assertModelInternals(t, page, started, filepath.Join(root, "out", "telemetry.jsonl"))
}

// assertModelInternals checks the panels of the model's internals after `make run`: the newest
// attention sample drawn in both plots, its selector switching the drawn head, the waterfall of the
// newest requests, green nodes for successful spans, the statistics of every series, and, since
// config.yaml drops captured content, no token text anywhere in the page.
func assertModelInternals(t *testing.T, page *browsertest.Page, started time.Time, telemetry string) {
	t.Helper()
	// The attention samples the file exporter received: each a child of a gateway span of its
	// trace, without token labels (drop_content); the newest is the one the panel must draw.
	f, err := os.Open(telemetry)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	bySpan := map[string]fileSpan{}
	var samples []fileSpan
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		spans, err := fileSpansOf(sc.Bytes())
		require.NoError(t, err)
		for _, s := range spans {
			bySpan[s.SpanID] = s
			if s.Name == "llt.attention" {
				samples = append(samples, s)
			}
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, samples, "no llt.attention span in %s", telemetry)
	var newest int64
	for _, s := range samples {
		parent, ok := bySpan[s.ParentSpanID]
		if assert.True(t, ok, "the sampled span %s is not in the output", s.ParentSpanID) {
			assert.Equal(t, s.TraceID, parent.TraceID)
			assert.Contains(t, parent.Attrs, "gen_ai.operation.name", "a sample's parent is a request")
		}
		assert.NotContains(t, s.Attrs, "llt.attention.token_labels", "drop_content: no token labels")
		newest = max(newest, s.Attrs["llt.attention.request.start_time_unix_nano"].(int64))
	}
	t.Logf("%d attention samples; the newest for the request of %s", len(samples), time.Unix(0, newest).UTC().Format(time.RFC3339Nano))

	type attention struct {
		Title   string    `json:"title"`
		Surface []float64 `json:"surface"` // the drawn z's numbers (null above the diagonal left out)
		Heat    []float64 `json:"heat"`
		Options int       `json:"options"`
	}
	read := func() attention {
		var a attention
		page.Eval(t, `(function () {
  var gd = document.getElementById("unified-attention");
  function nums(z) { var out = []; (z || []).forEach(function (row) { (Array.isArray(row) ? row : [row]).forEach(function (v) { if (typeof v === "number") out.push(v); }); }); return out; }
  var um = gd._fullLayout.updatemenus || [];
  return {title: gd._fullLayout.title.text, surface: nums(gd._fullData[0].z), heat: nums(gd._fullData[1].z),
    options: um.length ? um[0].buttons.length : 0};
})()`, &a)
		return a
	}
	a := read()
	t.Logf("attention panel: %q, %d numbers drawn, %d layer/head options", a.Title, len(a.Surface), a.Options)
	require.NotEmpty(t, a.Surface, "the attention surface drew no numbers")
	require.NotEmpty(t, a.Heat, "the attention heatmap drew no numbers")
	assert.Equal(t, a.Surface, a.Heat, "both plots show the same layer and head")
	assert.Contains(t, a.Title, "llt-tiny", "titled with the model (the demo model's general.name)")
	m := regexp.MustCompile(`request at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC`).FindStringSubmatch(a.Title)
	if assert.NotNil(t, m, "titled with the sampled request's time: %q", a.Title) {
		at, err := time.Parse("2006-01-02 15:04:05", m[1])
		require.NoError(t, err)
		assert.False(t, at.Before(started.UTC().Truncate(time.Second)), "a request of this run")
		assert.Equal(t, time.Unix(0, newest).UTC().Format("2006-01-02 15:04:05"), m[1], "the newest sample is drawn")
	}
	// The demo model has 2 layers of 4 heads; layers [0, -1]: 8 options.
	assert.Equal(t, 8, a.Options, "a layer/head option per head of the two layers")
	page.Eval(t, `(function () {
  var gd = document.getElementById("unified-attention");
  gd.querySelector(".updatemenu-header").dispatchEvent(new MouseEvent("click", {bubbles: true}));
  var b = gd.querySelectorAll(".updatemenu-dropdown-button-group .updatemenu-dropdown-button");
  b[1].dispatchEvent(new MouseEvent("click", {bubbles: true}));
  return true;
})()`, nil)
	page.WaitFor(t, `document.getElementById("unified-attention")._fullLayout.updatemenus[0].active === 1`, 5*time.Second)
	b := read()
	assert.NotEqual(t, a.Surface, b.Surface, "the head selector did not change the surface's data")
	assert.NotEqual(t, a.Heat, b.Heat, "the head selector did not change the heatmap's data")
	assert.Contains(t, b.Title, "head 1")

	// The waterfall: the newest requests, each with its phases.
	var wf struct {
		Rows int            `json:"rows"`
		Bars map[string]int `json:"bars"`
	}
	page.Eval(t, `(function () {
  var gd = document.getElementById("unified-waterfall"), bars = {};
  gd._fullData.forEach(function (tr) { bars[tr.name] = tr.y ? tr.y.length : 0; });
  return {rows: gd._fullLayout.yaxis.ticktext.length, bars: bars};
})()`, &wf)
	t.Logf("waterfall: %d requests, bars %v", wf.Rows, wf.Bars)
	assert.Equal(t, 15, wf.Rows, "the newest 15 requests")
	for _, ph := range []string{"queue", "prompt", "generation"} {
		assert.Positive(t, wf.Bars[ph], "no %s bars", ph)
	}

	// Successful spans are green, and the legend says "ok".
	var ok struct {
		Points int    `json:"points"`
		Color  string `json:"color"`
	}
	page.Eval(t, `(function () {
  var tr = document.getElementById("unified-trace-graph")._fullData.find(function (d) { return d.name === "ok"; });
  return tr ? {points: tr.x.length, color: String(tr.marker.color)} : {points: 0, color: ""};
})()`, &ok)
	t.Logf("trace graph: %d ok nodes, colour %s", ok.Points, ok.Color)
	assert.Positive(t, ok.Points, "no node in the trace graph's ok series")
	assert.Equal(t, "#2ca02c", ok.Color, "ok is green")

	// The statistics of every series, on the live and the unified page.
	want := []string{"request latency", "time to first token", "output tokens/s per request", "server generation throughput", "server prompt throughput",
		"GPU utilization", "GPU memory used", "GPU temperature", "GPU power"}
	for _, sec := range []string{"live", "unified"} {
		var names []string
		page.Eval(t, `JSON.parse(document.getElementById("llt-data").textContent).sections.find(s => s.name === "`+sec+`").summary.stats.map(s => s.name)`, &names)
		for _, w := range want {
			assert.Contains(t, names, w, "%s statistics", sec)
		}
		var table string
		page.Eval(t, `document.getElementById("`+sec+`-statistics").textContent`, &table)
		for _, w := range []string{"mean", "P50", "P95", "max", "request latency", "GPU power"} {
			assert.Contains(t, table, w, "%s-statistics", sec)
		}
	}

	// drop_content (config.yaml): no token of any prompt on the page: SentencePiece pieces
	// start with U+2581, and lltload's prompts have these words.
	html := page.HTML(t)
	assert.NotContains(t, html, "\u2581", "a SentencePiece token label is on the page")
	for _, w := range []string{"morning train", "mountains in early spring", "quiet birthday dinner", "tomatoes and basil"} {
		assert.NotContains(t, html, w, "prompt text on the page")
	}
}

func withoutMake(env []string) []string {
	var out []string
	for _, e := range env {
		if strings.HasPrefix(e, "MAKEFLAGS=") || strings.HasPrefix(e, "MFLAGS=") || strings.HasPrefix(e, "MAKELEVEL=") {
			continue
		}
		out = append(out, e)
	}
	return out
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func hasNVIDIAGPU() bool {
	out, err := exec.Command("nvidia-smi", "-L").Output()
	return err == nil && strings.Contains(string(out), "GPU 0")
}
