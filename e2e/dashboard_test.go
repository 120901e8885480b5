// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
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
		"live-generation-rate", "live-request-latency", "live-active-slots",
		"unified-trace-graph", "unified-performance", "unified-embeddings-3d", "unified-latency-surface", "unified-indicators", "unified-logs",
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
