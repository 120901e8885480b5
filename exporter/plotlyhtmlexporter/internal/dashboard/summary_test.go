// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"encoding/json"
	"math"
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
