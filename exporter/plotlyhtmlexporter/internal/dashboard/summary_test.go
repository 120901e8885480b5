// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

func TestSummarizeRequests(t *testing.T) {
	st := utStore(100)
	b := utBase()
	var spans []store.Span
	for i := 1; i <= 100; i++ {
		s := utRequest(i, b.Add(time.Duration(i)*time.Second), time.Duration(i)*10*time.Millisecond, int64(i), 2*int64(i), i%10 == 0)
		if i <= 4 {
			s.TTFTSeconds = float64(i) / 10 // 0.1..0.4: mean 0.25
		}
		spans = append(spans, s)
		// A child request span of the same operation does not count twice.
		c := utSpan(i, 2, 1, "inner", statusOK, b, time.Millisecond)
		c.GenAI = true
		spans = append(spans, c)
	}
	st.AddSpans(spans)
	s := Summarize(utData(st, 500))
	near := func(a Num, b float64) bool { return math.Abs(float64(a)-b) < 1e-9 }
	if !near(s.LatencyP50, 0.5) || !near(s.LatencyP95, 0.95) || !near(s.LatencyP99, 0.99) {
		t.Errorf("p50 %v p95 %v p99 %v", s.LatencyP50, s.LatencyP95, s.LatencyP99)
	}
	if s.RequestsTotal != 100 || s.RequestsSucceeded != 90 || s.RequestsFailed != 10 || !near(s.SuccessRate, 0.9) {
		t.Errorf("requests %d/%d/%d rate %v", s.RequestsTotal, s.RequestsSucceeded, s.RequestsFailed, s.SuccessRate)
	}
	if s.TokensIn != 5050 || s.TokensOut != 10100 {
		t.Errorf("tokens %d / %d", s.TokensIn, s.TokensOut)
	}
	if !near(s.TTFTMean, 0.25) {
		t.Errorf("ttft %v", s.TTFTMean)
	}
	if s.GPUCount != 0 || !math.IsNaN(float64(s.GPUUtilMean)) {
		t.Errorf("gpu %d %v", s.GPUCount, s.GPUUtilMean)
	}
	b2, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"latency_p50_s":0.5`, `"requests_total":100`, `"success_rate":0.9`, `"tokens_in":5050`,
		`"ttft_mean_s":0.25`, `"gpu_util_mean_pct":null`, `"gpu_count":0`, `"verdicts":[`} {
		if !strings.Contains(string(b2), key) {
			t.Errorf("JSON lacks %s: %s", key, b2)
		}
	}
}

func TestSummarizeGPU(t *testing.T) {
	st := utStore(100)
	t0 := utBase().UnixMilli()
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 0", map[string]string{"hw.gpu.task": "general"}, t0, 1000, 0.2, 0.4))
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 1", nil, t0, 1000, 0.6, 0.8))
	// A per-task stream is not a whole GPU.
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 0 decoder", map[string]string{"hw.gpu.task": "decoder"}, t0, 1000, 1, 1))
	s := Summarize(utData(st, 500))
	if s.GPUCount != 2 || math.Abs(float64(s.GPUUtilMean)-50) > 1e-9 || math.Abs(float64(s.GPUUtilMax)-80) > 1e-9 {
		t.Errorf("gpus %d mean %v max %v", s.GPUCount, s.GPUUtilMean, s.GPUUtilMax)
	}
}

func TestVerdicts(t *testing.T) {
	const step = 1000
	gpu := map[string]string{"hw.gpu.task": "general"}
	type series struct {
		metric, label string
		attrs         map[string]string
		offset, step  int64
		vals          []float64
	}
	cases := []struct {
		name   string
		series []series
		kinds  []string
		texts  []string // substrings of the first verdict's text
	}{
		{
			name: "queue-bound",
			series: []series{
				{"llamacpp.requests.deferred", "", nil, 0, step, []float64{0, 0, 2, 5, 0, 0, 0, 0, 0, 0}},
				{"llamacpp.slots.busy", "", nil, 0, step, []float64{1, 1, 2, 2, 1, 1, 1, 1, 1, 1}},
				{"llamacpp.slots.total", "", nil, 0, step, utRepeat(4, 10)},
			},
			kinds: []string{VerdictQueueBound},
			texts: []string{"20%", "10 scrapes", "max 5 deferred"},
		},
		{
			name: "slot-bound, totals scraped a little later",
			series: []series{
				{"llamacpp.slots.busy", "", nil, 0, step, []float64{4, 4, 4, 4, 1, 1, 1, 1, 1, 1}},
				{"llamacpp.slots.total", "", nil, 100, step, utRepeat(4, 10)},
			},
			kinds: []string{VerdictSlotBound},
			texts: []string{"all 4 slots", "40%", "10 scrapes"},
		},
		{
			name: "queue and slot at once",
			series: []series{
				{"llamacpp.requests.deferred", "", nil, 0, step, []float64{1, 3, 0, 0}},
				{"llamacpp.slots.busy", "", nil, 0, step, []float64{2, 2, 2, 1}},
				{"llamacpp.slots.total", "", nil, 0, step, utRepeat(2, 4)},
			},
			kinds: []string{VerdictQueueBound, VerdictSlotBound},
			texts: []string{"50%", "4 scrapes", "max 3 deferred"},
		},
		{
			name: "gpu-bound",
			series: []series{
				{"hw.gpu.utilization", "GPU 0", gpu, 0, step, []float64{0.92, 0.94, 0.96, 0.98, 1.0}},
			},
			kinds: []string{VerdictGPUBound},
			texts: []string{"96.0%", "max 100.0%", "5 samples", "1 GPU"},
		},
		{
			name: "host-bound",
			series: []series{
				{"hw.gpu.utilization", "GPU 0", gpu, 0, step, []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9}},
				{"llamacpp.requests.processing", "", nil, 200, step, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
			},
			kinds: []string{VerdictHostBound},
			texts: []string{"under 30% busy", "80%", "10 moments", "mean utilization 26.0%"},
		},
		{
			name: "GPU samples too far from the busy moments",
			series: []series{
				{"hw.gpu.utilization", "GPU 0", gpu, 0, step, []float64{0.1, 0.1, 0.1, 0.1, 0.1}},
				{"llamacpp.requests.processing", "", nil, 60_000, step, []float64{1, 1, 1, 1, 1}},
			},
			kinds: []string{VerdictNone},
			texts: []string{"no bottleneck found", "mean GPU utilization 10.0%"},
		},
		{
			name: "none",
			series: []series{
				{"hw.gpu.utilization", "GPU 0", gpu, 0, step, utRepeat(0.5, 10)},
				{"llamacpp.slots.busy", "", nil, 0, step, utRepeat(1, 10)},
				{"llamacpp.slots.total", "", nil, 0, step, utRepeat(4, 10)},
				{"llamacpp.requests.deferred", "", nil, 0, step, utRepeat(0, 10)},
				{"llamacpp.requests.processing", "", nil, 0, step, utRepeat(1, 10)},
			},
			kinds: []string{VerdictNone},
			texts: []string{"no bottleneck found", "mean GPU utilization 50.0%", "all 4 slots busy in 0% of 10 scrapes",
				"no deferred requests in 10 scrapes", "0% of 10 moments"},
		},
		{
			name: "insufficient data",
			series: []series{
				{"llamacpp.generation.tokens", "", nil, 0, step, []float64{1, 2, 3}},
			},
			kinds: []string{VerdictInsufficientData},
			texts: []string{"llamacpp.slots.busy", "llamacpp.slots.total", "hw.gpu.utilization"},
		},
		{
			name: "too few scrapes",
			series: []series{
				{"llamacpp.slots.busy", "", nil, 0, step, []float64{4, 4}},
				{"llamacpp.slots.total", "", nil, 0, step, []float64{4, 4}},
				{"hw.gpu.utilization", "GPU 0", gpu, 0, step, []float64{0.5, 0.5}},
			},
			kinds: []string{VerdictInsufficientData},
			texts: []string{"too few scrapes", "2 with slot data", "2 GPU samples"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := utStore(100)
			t0 := utBase().UnixMilli()
			for _, s := range c.series {
				st.AddPoints(utGauge(s.metric, s.label, s.attrs, t0+s.offset, s.step, s.vals...))
			}
			v := Summarize(utData(st, 500)).Verdicts
			var kinds []string
			for _, x := range v {
				kinds = append(kinds, x.Kind)
				if x.Text == "" || strings.ContainsAny(x.Text, "<>") {
					t.Errorf("verdict text %q", x.Text)
				}
				for k, n := range x.Numbers {
					if math.IsNaN(n) || math.IsInf(n, 0) {
						t.Errorf("number %s = %v", k, n)
					}
				}
			}
			if strings.Join(kinds, ",") != strings.Join(c.kinds, ",") {
				t.Fatalf("kinds %v, want %v (%+v)", kinds, c.kinds, v)
			}
			for _, want := range c.texts {
				if !strings.Contains(v[0].Text, want) {
					t.Errorf("text %q lacks %q", v[0].Text, want)
				}
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUNearest(t *testing.T) {
	ts := []int64{10, 20, 30}
	for _, c := range []struct {
		t    int64
		want int
	}{{0, 0}, {14, 0}, {15, 0}, {16, 1}, {30, 2}, {99, 2}} {
		if got := nearestIdx(ts, c.t); got != c.want {
			t.Errorf("nearest %d: %d, want %d", c.t, got, c.want)
		}
	}
	if nearestIdx(nil, 5) != -1 {
		t.Error("nearest in nothing")
	}
}

// TestStatisticsEverySeries: mean, P50, P95 and max of every series, on the live and the unified
// page alike.
func TestStatisticsEverySeries(t *testing.T) {
	st := utStore(100)
	b := utBase()
	t0 := b.UnixMilli()
	var spans []store.Span
	for i := 1; i <= 100; i++ {
		// Latency i*10 ms, 2i output tokens: 200 output tokens/s each.
		s := utRequest(i, b.Add(time.Duration(i)*time.Second), time.Duration(i)*10*time.Millisecond, int64(i), 2*int64(i), false)
		if i <= 4 {
			s.TTFTSeconds = float64(i) / 10
		}
		spans = append(spans, s)
	}
	st.AddSpans(spans)
	gpu := map[string]string{"hw.gpu.task": "general"}
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 0", gpu, t0, 1000, 0.2, 0.4))
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 1", nil, t0, 1000, 0.6, 0.8))
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 0 decoder", map[string]string{"hw.gpu.task": "decoder"}, t0, 1000, 1, 1))
	st.AddPoints(utGauge("hw.gpu.memory.usage", "GPU 0", nil, t0, 1000, 1<<30, 2<<30))
	st.AddPoints(utGauge("hw.temperature", "GPU 0", nil, t0, 1000, 60, 70, 80))
	st.AddPoints(utGauge("hw.power", "GPU 0", nil, t0, 1000, 100, 300))
	// The generation rate comes from the counter (no receiver gauge); the prompt rate from the
	// receiver's gauge, which wins over the counter; llama-server's own gauges count for nothing.
	st.AddPoints(utCounter(metricGenerationTokens, "", nil, t0, 1000, 0, 100, 300))
	st.AddPoints(utGauge(metricGenerationWindowThroughput, "", nil, t0, 1000, 157.008, 157.008, 157.008))
	st.AddPoints(utCounter(metricPromptTokens, "", nil, t0, 1000, 0, 1000, 5000))
	st.AddPoints(utGauge(metricPromptThroughput, "", nil, t0+1000, 1000, 50, 70))
	st.AddPoints(utGauge(metricPromptWindowThroughput, "", nil, t0, 1000, 1421.8, 1421.8, 1421.8))
	d := utData(st, 500)

	want := map[string][4]float64{ // mean, P50, P95, max
		StatRequestLatency:         {0.505, 0.5, 0.95, 1},
		StatTTFT:                   {0.25, 0.2, 0.4, 0.4},
		StatOutputTokensPerRequest: {200, 200, 200, 200},
		StatServerGenerationRate:   {150, 100, 200, 200},
		StatServerPromptRate:       {60, 50, 70, 70},
		StatGPUUtilization:         {50, 40, 80, 80},
		StatGPUMemoryUsed:          {1536, 1024, 2048, 2048},
		StatGPUTemperature:         {70, 70, 80, 80},
		StatGPUPower:               {200, 100, 300, 300},
	}
	names := []string{"request latency", "time to first token", "output tokens/s per request", "server generation throughput",
		"server prompt throughput", "GPU utilization", "GPU memory used", "GPU temperature", "GPU power"}
	for _, sec := range []*Section{Live(d), Unified(d)} {
		stats := sec.Summary.Stats
		if len(stats) != len(names) {
			t.Fatalf("%s: %d statistics, want %d", sec.Name, len(stats), len(names))
		}
		for i, s := range stats {
			if s.Name != names[i] {
				t.Errorf("%s: row %d is %q, want %q", sec.Name, i, s.Name, names[i])
			}
			if s.NoData != "" || s.Samples == 0 || s.Source == "" || s.Unit == "" {
				t.Errorf("%s: %+v", s.Name, s)
			}
			w := want[s.Name]
			for j, got := range []Num{s.Mean, s.P50, s.P95, s.Max} {
				if math.Abs(float64(got)-w[j]) > 1e-9 {
					t.Errorf("%s: statistic %d is %v, want %v", s.Name, j, got, w[j])
				}
			}
		}
	}
	raw := string(utMarshal(t, Live(d).Summary))
	for _, key := range []string{`"stats":[`, `"name":"server generation throughput"`, `"mean":150`, `"p95":0.95`} {
		if !strings.Contains(raw, key) {
			t.Errorf("JSON lacks %s: %s", key, raw)
		}
	}

	// The live page draws them as a table, one row per series.
	f := utFigure(t, Live(d), "live-statistics")
	if f.Empty != "" || !f.Wide || len(f.Data) != 1 || f.Data[0]["type"] != "table" {
		t.Fatalf("statistics figure %+v", f)
	}
	cols := f.Data[0]["cells"].(Obj)["values"].([][]string)
	if len(cols) != 7 || strings.Join(cols[0], "|") != strings.Join(names, "|") {
		t.Fatalf("table columns %v", cols)
	}
	row := map[string][]string{}
	for i, n := range cols[0] {
		for _, c := range cols[1:] {
			row[n] = append(row[n], c[i])
		}
	}
	for n, w := range map[string][]string{
		StatRequestLatency:       {"505 ms", "500 ms", "950 ms", "1.00 s", "100"},
		StatServerGenerationRate: {"150.0 tokens/s", "100.0 tokens/s", "200.0 tokens/s", "200.0 tokens/s", "2"},
		StatGPUUtilization:       {"50.0%", "40.0%", "80.0%", "80.0%", "4"},
		StatGPUMemoryUsed:        {"1536 MiB", "1024 MiB", "2048 MiB", "2048 MiB", "2"},
		StatGPUPower:             {"200.0 W", "100.0 W", "300.0 W", "300.0 W", "2"},
	} {
		if got := row[n][:5]; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("%s row %v, want %v", n, got, w)
		}
	}
}

// A series without data says "no data" and what produces it; with no data at all the table is an
// empty panel that says what would fill it.
func TestStatisticsNoData(t *testing.T) {
	d := utData(utStore(100), 500)
	produces := map[string]string{
		StatRequestLatency:         "spans from the llamacpp receiver's gateway",
		StatTTFT:                   "gen_ai.response.time_to_first_chunk",
		StatOutputTokensPerRequest: "gen_ai.usage.output_tokens",
		StatServerGenerationRate:   "llamacpp.generation.throughput or llamacpp.generation.tokens from the llamacpp receiver",
		StatServerPromptRate:       "llamacpp.prompt.throughput or llamacpp.prompt.tokens from the llamacpp receiver",
		StatGPUUtilization:         "hw.gpu.utilization from the nvml receiver",
		StatGPUMemoryUsed:          "hw.gpu.memory.usage from the nvml receiver",
		StatGPUTemperature:         "hw.temperature from the nvml receiver",
		StatGPUPower:               "hw.power from the nvml receiver",
	}
	stats := Summarize(d).Stats
	if len(stats) != len(produces) {
		t.Fatalf("%d statistics", len(stats))
	}
	for _, s := range stats {
		if s.Samples != 0 || !math.IsNaN(float64(s.Mean)) || !strings.Contains(s.NoData, produces[s.Name]) {
			t.Errorf("%+v", s)
		}
	}
	if raw := string(utMarshal(t, stats)); !strings.Contains(raw, `"mean":null`) || !strings.Contains(raw, `"no_data":"hw.power from`) {
		t.Errorf("JSON %s", raw)
	}
	f := statisticsTable(d, "live-statistics")
	if !strings.HasPrefix(f.Empty, "No data yet: ") || !strings.Contains(f.Empty, "nvml") {
		t.Errorf("empty table %q", f.Empty)
	}

	// Only GPU data: the request and server rows say no data and what gives it.
	st := utStore(100)
	st.AddPoints(utGauge("hw.power", "GPU 0", nil, utBase().UnixMilli(), 1000, 100, 300))
	f = statisticsTable(utData(st, 500), "live-statistics")
	if f.Empty != "" {
		t.Fatalf("table empty: %s", f.Empty)
	}
	cols := f.Data[0]["cells"].(Obj)["values"].([][]string)
	for i, n := range cols[0] {
		noData := cols[1][i] == "no data"
		if noData != (n != StatGPUPower) {
			t.Errorf("row %s: %v", n, cols[1][i])
		}
		if noData && (!strings.HasPrefix(cols[6][i], "needs ") || !strings.Contains(cols[6][i], produces[n])) {
			t.Errorf("row %s says %q, not what produces it", n, cols[6][i])
		}
	}
}

// The statistics come in the documented order, one per series, with data or without.
func TestStatisticsOrder(t *testing.T) {
	for _, d := range []*Data{utData(utStore(10), 500), utData(utFull(t), 500)} {
		var names []string
		for _, s := range statistics(d) {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, statisticsSeries) {
			t.Errorf("statistics %v, want %v", names, statisticsSeries)
		}
	}
}
